/**
 * A real graphite-web (Debian's `graphite-web` package, served by Debian's `gunicorn`) for the
 * tests, run from the `local_settings.py` the head highstate renders from the Salt tree, with
 * only the host-specific values swapped (storage paths, carbon's cache-query port) and asserted
 * present in the generated text. It runs as Debian's `_graphite` user. graphite-web imports its
 * local settings from the module GRAPHITE_SETTINGS_MODULE names (`local_settings`, as on the head
 * node, where the state writes it to /opt/graphite/conf and the unit puts that on PYTHONPATH):
 * here the generated file is that module in a private directory on PYTHONPATH, so the machine's
 * /etc/graphite is never read or touched.
 * It reads the whisper files a real carbon-cache (./carbon.ts) writes.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "./ports";
import { waitFor } from "./waitFor";

/** Where the head highstate writes graphite-web's settings (salt/dynamic_cluster/head/graphite.sls). */
export const LOCAL_SETTINGS = "/opt/graphite/conf/local_settings.py";
/** The user Debian's graphite packages run as. */
const GRAPHITE_USER = "_graphite";

/** A running graphite-web. */
/** gunicorn's access log line: the path and the two credential headers (`-` when absent). */
const ACCESS_LOG_FORMAT = "%(U)s authorization=%({authorization}i)s cookie=%({cookie}i)s";

export class GraphiteWeb {
    private constructor(
        readonly dir: string,
        /** gunicorn's port on 127.0.0.1. */
        readonly port: number,
        private readonly process: ChildProcess,
        private readonly exited: Promise<unknown>,
    ) {}

    /**
     * Writes the generated settings with private paths under `dir` and starts graphite-web.
     *
     * @param files the head highstate's rendered files by path.
     * @param carbon where carbon keeps its whisper files and its cache-query port.
     */
    static async start(
        dir: string,
        files: Record<string, { content: string }>,
        carbon: { whisperDir: string; queryPort: number },
    ): Promise<GraphiteWeb> {
        const generated = files[LOCAL_SETTINGS]?.content;
        if (!generated) throw new Error(`the head highstate renders no ${LOCAL_SETTINGS}`);
        const storage = path.join(dir, "storage");
        for (const sub of ["log/webapp"])
            fs.mkdirSync(path.join(storage, sub), { recursive: true });
        let settings = generated;
        const swap = (key: string, value: string) => {
            const pattern = new RegExp(`^${key} = .*$`, "m");
            if (!pattern.test(settings)) throw new Error(`${key} is not in the generated file`);
            settings = settings.replace(pattern, `${key} = ${value}`);
        };
        // The install's directories: Debian's package instead of the head's virtualenv.
        swap("GRAPHITE_ROOT", JSON.stringify(dir));
        swap("WEBAPP_DIR", JSON.stringify("/usr/share/graphite-web"));
        swap("CONF_DIR", JSON.stringify(path.join(dir, "conf")));
        fs.mkdirSync(path.join(dir, "conf"));
        swap("STORAGE_DIR", JSON.stringify(storage));
        swap("WHISPER_DIR", JSON.stringify(carbon.whisperDir));
        swap("LOG_DIR", JSON.stringify(path.join(storage, "log", "webapp")));
        swap("CARBONLINK_HOSTS", JSON.stringify([`127.0.0.1:${String(carbon.queryPort)}`]));
        const dbPattern = /"NAME": ".*graphite\.db",/;
        if (!dbPattern.test(settings)) throw new Error("the database path is not in the file");
        settings = settings.replace(
            dbPattern,
            `"NAME": ${JSON.stringify(path.join(storage, "graphite.db"))},`,
        );
        const moduleDir = path.join(dir, "python");
        fs.mkdirSync(moduleDir);
        const settingsFile = path.join(moduleDir, "local_settings.py");
        // As the head's state writes it: root:graphite 0640.
        fs.writeFileSync(settingsFile, settings, { mode: 0o640 });
        execFileSync("chown", [`root:${GRAPHITE_USER}`, settingsFile]);
        execFileSync("chown", ["-R", `${GRAPHITE_USER}:${GRAPHITE_USER}`, storage]);
        fs.chmodSync(dir, 0o755);
        fs.chmodSync(moduleDir, 0o755);

        const port = await freePort();
        const logFile = path.join(dir, "graphite-web.log");
        const log = fs.openSync(logFile, "a");
        // As the state and the unit do: migrate, then gunicorn, as the graphite user.
        const script = [
            "set -e",
            `setpriv --reuid=${GRAPHITE_USER} --regid=${GRAPHITE_USER} --init-groups ` +
                "django-admin migrate --settings=graphite.settings --noinput",
            `exec setpriv --reuid=${GRAPHITE_USER} --regid=${GRAPHITE_USER} --init-groups ` +
                `gunicorn --bind 127.0.0.1:${String(port)} --workers 2 ` +
                // The unit's command, plus an access log of what reached it (accessLog()).
                `--access-logfile ${path.join(storage, "log", "access.log")} ` +
                `--access-logformat '${ACCESS_LOG_FORMAT}' graphite.wsgi:application`,
        ].join("\n");
        const child = spawn("sh", ["-c", script], {
            stdio: ["ignore", log, log],
            env: {
                ...process.env,
                PYTHONPATH: moduleDir,
                // As the head's unit sets it.
                GRAPHITE_SETTINGS_MODULE: "local_settings",
                HOME: storage,
            },
        });
        fs.closeSync(log);
        const exited = new Promise((resolve) => child.once("exit", resolve));
        const web = new GraphiteWeb(dir, port, child, exited);
        await waitFor(
            "graphite-web to answer",
            async () => {
                if (child.exitCode !== null) {
                    throw Object.assign(
                        new Error(
                            `graphite-web exited ${String(child.exitCode)}:\n` +
                                fs.readFileSync(logFile, "utf8").slice(-3000),
                        ),
                        { fatal: true },
                    );
                }
                const answer = await fetch(
                    `http://127.0.0.1:${String(port)}/graphite/metrics/find?query=*`,
                ).catch(() => undefined);
                return answer?.ok ? true : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 200 },
        );
        return web;
    }

    /**
     * What reached graphite-web, one line per request: `<path> authorization=<header>
     * cookie=<header>` (`-` for a header that did not arrive).
     */
    accessLog(): string[] {
        const file = path.join(this.dir, "storage", "log", "access.log");
        if (!fs.existsSync(file)) return [];
        return fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
    }

    /** Stops gunicorn and waits for it to exit. */
    async stop(): Promise<void> {
        if (this.process.exitCode === null) {
            this.process.kill("SIGTERM");
            await this.exited;
        }
    }
}
