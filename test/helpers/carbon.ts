/**
 * A real carbon-cache (Debian's graphite-carbon) for the tests, run from the `carbon.conf` and
 * `storage-schemas.conf` the head highstate renders from the Salt tree, moved to a private
 * directory and free loopback ports (nothing else is changed, so the tests also prove carbon
 * accepts the generated files). What it stored is read back with `whisper-fetch`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import { setConfigKeys } from "./configText";
import { freePort } from "./ports";
import { waitFor } from "./waitFor";

const exec = promisify(execFile);

/** Where the head highstate puts the two files (salt/dynamic_cluster/head/graphite.sls). */
export const CARBON_CONF = "/opt/graphite/conf/carbon.conf";
export const STORAGE_SCHEMAS = "/opt/graphite/conf/storage-schemas.conf";

/** One series read back from whisper: `[epoch seconds, value or null]` per step. */
export type Series = Array<[number, number | null]>;

/** A running carbon-cache. */
export class CarbonCache {
    private process?: ChildProcess;
    private exited?: Promise<unknown>;

    private constructor(
        readonly dir: string,
        /** The plaintext line receiver (LINE_RECEIVER_PORT). */
        readonly port: number,
        /** The cache-query port graphite-web asks for points not yet on disk (CACHE_QUERY_PORT). */
        readonly queryPort: number,
        private readonly confPath: string,
    ) {}

    /** Where carbon writes its whisper files (LOCAL_DATA_DIR). */
    get whisperDir(): string {
        return path.join(this.dir, "whisper");
    }

    /**
     * Writes the generated files with private paths and ports under `dir` and starts carbon.
     *
     * @param files the head highstate's rendered files by path (must hold both carbon files).
     */
    static async start(dir: string, files: Record<string, { content: string }>) {
        const conf = files[CARBON_CONF]?.content;
        const schemas = files[STORAGE_SCHEMAS]?.content;
        if (!conf || !schemas) throw new Error("the head highstate renders no carbon files");
        for (const sub of ["conf", "whisper", "log", "run"])
            fs.mkdirSync(path.join(dir, sub), { recursive: true });
        const [line, query] = [await freePort(), await freePort()];
        const text = setConfigKeys(
            conf,
            {
                STORAGE_DIR: `${dir}/`,
                LOCAL_DATA_DIR: `${dir}/whisper/`,
                LOG_DIR: `${dir}/log/`,
                PID_DIR: `${dir}/run/`,
                USER: "", // the tests run as root; on the head node carbon runs as graphite
                LINE_RECEIVER_PORT: String(line),
                CACHE_QUERY_PORT: String(query),
            },
            { separator: " = ", file: "the generated carbon.conf" },
        );
        const confPath = path.join(dir, "conf", "carbon.conf");
        fs.writeFileSync(confPath, text);
        // carbon reads storage-schemas.conf from the directory of its carbon.conf.
        fs.writeFileSync(path.join(dir, "conf", "storage-schemas.conf"), schemas);
        const carbon = new CarbonCache(dir, line, query, confPath);
        await carbon.resume();
        return carbon;
    }

    /** Starts carbon-cache (again, after `pause`) and waits until it accepts connections. */
    async resume(): Promise<void> {
        const log = fs.openSync(path.join(this.dir, "log", "console.log"), "a");
        const child = spawn(
            "carbon-cache",
            [
                `--config=${this.confPath}`,
                `--logdir=${path.join(this.dir, "log")}`,
                `--pidfile=${path.join(this.dir, "run", "carbon-cache-a.pid")}`,
                "--nodaemon",
                "start",
            ],
            { stdio: ["ignore", log, log] },
        );
        fs.closeSync(log);
        this.process = child;
        this.exited = new Promise((resolve) => child.once("exit", resolve));
        await waitFor(
            "carbon-cache to accept connections",
            async () => {
                if (child.exitCode !== null) {
                    throw Object.assign(
                        new Error(`carbon-cache exited ${child.exitCode}: ${this.consoleTail()}`),
                        { fatal: true },
                    );
                }
                return (await canConnect(this.port)) ? true : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 100 },
        );
    }

    /** Stops carbon-cache (SIGTERM; it writes its cache out first) and waits for it to exit. */
    async pause(): Promise<void> {
        if (!this.process || this.process.exitCode !== null) return;
        this.process.kill("SIGTERM");
        await this.exited;
    }

    /** Stops carbon and removes its directory. */
    async stop(): Promise<void> {
        await this.pause();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /** Sends plaintext protocol lines (`path value timestamp`) to the line receiver. */
    async send(...lines: string[]): Promise<void> {
        await new Promise<void>((resolve, reject) => {
            const socket = net.connect(this.port, "127.0.0.1", () =>
                socket.end(lines.map((l) => `${l}\n`).join(""), resolve),
            );
            socket.once("error", reject);
        });
    }

    /** The whisper file of a dotted metric path. */
    fileOf(metric: string): string {
        return path.join(this.dir, "whisper", ...metric.split(".")) + ".wsp";
    }

    /** The series stored for `metric` over the last `seconds`, or undefined if it has no file. */
    async fetch(metric: string, seconds = 600): Promise<Series | undefined> {
        const file = this.fileOf(metric);
        if (!fs.existsSync(file)) return undefined;
        const from = Math.floor(Date.now() / 1000) - seconds;
        const { stdout } = await exec("whisper-fetch", ["--json", `--from=${from}`, file]);
        const doc = JSON.parse(stdout) as {
            start: number;
            step: number;
            values: (number | null)[];
        };
        return doc.values.map((v, i) => [doc.start + i * doc.step, v]);
    }

    /** Waits until `metric` holds `value` at some step; returns the series. */
    async waitForValue(metric: string, value: number, timeoutMs = 30_000): Promise<Series> {
        return waitFor(
            `${metric} = ${value} in whisper`,
            async () => {
                const series = await this.fetch(metric);
                return series?.some(([, v]) => v === value) ? series : undefined;
            },
            { timeoutMs, intervalMs: 200 },
        );
    }

    /** The addresses carbon listens on (from `ss`), e.g. `127.0.0.1:2003`. */
    async listening(): Promise<string[]> {
        const pid = this.process?.pid;
        const { stdout } = await exec("ss", ["-Hltnp"]);
        return stdout
            .split("\n")
            .filter((l) => pid !== undefined && l.includes(`pid=${pid},`))
            .map((l) => l.trim().split(/\s+/)[3]!);
    }

    private consoleTail(): string {
        const file = path.join(this.dir, "log", "console.log");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").slice(-2000) : "";
    }
}

async function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}
