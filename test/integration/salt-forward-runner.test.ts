/**
 * The reactors' forwarder, salt/_runners/dc_forward.py, run by real Salt (3006.28 from PyPI,
 * test/env/salt/install.sh): `salt-run dc_forward.post ...` with a master config whose root_dir
 * is a temp dir and whose runner_dirs is the repo's salt/_runners, as the head's master config
 * has /srv/salt/_runners. salt-run executes runners in its own process, so no master runs.
 * Against an HTTP server this test starts on 127.0.0.1 (it checks the bearer token as the
 * service does):
 * - a forward arrives as a POST with the header file's Authorization header and the JSON body,
 *   and is logged at INFO only;
 * - every way it can fail is logged at WARNING in salt-run's log (the master's log on the head)
 *   with the reason, and returned, never raised: a header file the master's user cannot read
 *   (salt-run as the unprivileged user `nobody` when this runs as root), connection refused, a
 *   401 answer (a stale token), a 403 from the service's own local API (another caller's token
 *   on the reactors' routes), no answer within the timeout, a dropped connection; and without
 *   the test-only arguments the production constants (/etc/dynamic-cluster/..., port 8081) are
 *   what it uses.
 * The whole path, reactors included, runs under a real master in the service's end-to-end tests.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import pino from "pino";
import { buildLocalApi } from "../../autoscaler/api/local";
import type { DynamicClusterService } from "../../autoscaler/service";
import { freePort } from "../helpers/ports";
import { API, HEADER, MINION } from "../helpers/reactorCases";
import { SALT_TREE } from "../helpers/salt";
import { saltVenv } from "../helpers/saltCall";

const RUNNER_DIR = path.join(SALT_TREE, "_runners");
const TOKEN = "TEST-TOKEN-0123456789abcdef";
const HEADER_TEXT = `Authorization: Bearer ${TOKEN}\nContent-Type: application/json\n`;
const PUB =
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A'quote'\n-----END PUBLIC KEY-----\n";
const AUTH_DATA = { id: MINION, act: "pend", pub: PUB };

interface Received {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}

interface SaltRun {
    status: number | null;
    /** salt-run's return value (`--out json`). */
    result: { ok: boolean; url: string; status: number | null; answer: string; reason?: string };
    /** salt-run's log file (log_file, the master's log on the head node). */
    log: string;
    stderr: string;
    seconds: number;
}

/** `nobody` from /etc/passwd (uid, gid). */
function nobody(): { uid: number; gid: number } {
    const line = fs
        .readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((l) => l.startsWith("nobody:"));
    if (!line) throw new Error("no user nobody in /etc/passwd");
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
}

/** Lines salt-run logged at WARNING (or above) from the runner module. */
function runnerWarnings(log: string): string[] {
    return [
        ...log.matchAll(
            /^.*\[salt\.loaded\.ext\.runners\.dc_forward:\d+\s*\]\[(WARNING|ERROR|CRITICAL)\s*\]\[\d+\] (.*)$/gm,
        ),
    ].map((m) => m[2]!);
}

describe("dc_forward under real Salt (salt-run with the repo's runner_dirs)", () => {
    let dir: string;
    let server: http.Server;
    let port: number;
    let received: Received[] = [];
    /** How the server misbehaves: read the request and never answer, or close the connection. */
    let misbehave: "hang" | "drop" | undefined;
    const hung: http.ServerResponse[] = [];
    let headerFile: string;
    let wrongHeaderFile: string;
    let runs = 0;
    /**
     * How salt-run runs as a user that cannot read the header file: as `nobody` (this runs as
     * root, and nobody can read the repo's runner and the Salt venv), else with the file at mode
     * 0000, as root without the capabilities that bypass file modes, or as this non-root user.
     */
    let unprivileged: "nobody" | "root without DAC capabilities" | "this user, file mode 0000";

    before(async () => {
        saltVenv();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-salt-forward-"));
        fs.chmodSync(dir, 0o755);
        headerFile = path.join(dir, "reactor-local-api.header");
        // root:root 0600 (or the test user's): not readable by the master's user, `nobody`.
        fs.writeFileSync(headerFile, HEADER_TEXT, { mode: 0o600 });
        wrongHeaderFile = path.join(dir, "stale.header");
        fs.writeFileSync(wrongHeaderFile, "Authorization: Bearer STALE\n", { mode: 0o644 });
        server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                received.push({
                    method: req.method ?? "",
                    url: req.url ?? "",
                    headers: req.headers,
                    body: Buffer.concat(chunks),
                });
                if (misbehave === "hang") {
                    hung.push(res);
                    return;
                }
                if (misbehave === "drop") {
                    req.socket.destroy();
                    return;
                }
                res.setHeader("Content-Type", "application/json");
                if (req.headers.authorization !== `Bearer ${TOKEN}`) {
                    res.statusCode = 401;
                    res.end(JSON.stringify({ error: "missing or wrong service token" }));
                    return;
                }
                res.end(JSON.stringify({ action: "accept", reason: "a worker that is starting" }));
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as AddressInfo).port;
        if (process.getuid!() !== 0) {
            unprivileged = "this user, file mode 0000";
        } else {
            const { uid, gid } = nobody();
            const readable = (p: string, flag: string) =>
                spawnSync("test", [flag, p], { uid, gid }).status === 0;
            unprivileged =
                readable(path.join(RUNNER_DIR, "dc_forward.py"), "-r") &&
                readable(path.join(saltVenv(), "bin", "python"), "-x")
                    ? "nobody"
                    : "root without DAC capabilities";
        }
    });

    after(async () => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    /**
     * `salt-run --config-dir <own dir> --out json dc_forward.post path=... data=...` with its own
     * root_dir and log file; as `nobody` when `unprivileged` (and this runs as root).
     */
    async function saltRun(
        kwargs: Record<string, string>,
        options: { unprivileged?: boolean } = {},
    ): Promise<SaltRun> {
        const runDir = path.join(dir, `run-${++runs}`);
        const configDir = path.join(runDir, "config");
        const rootDir = path.join(runDir, "root");
        fs.mkdirSync(configDir, { recursive: true });
        fs.mkdirSync(rootDir);
        const how = options.unprivileged ? unprivileged : undefined;
        const asNobody = how === "nobody";
        const user = asNobody ? nobody() : undefined;
        if (user) {
            fs.chmodSync(runDir, 0o755);
            fs.chownSync(rootDir, user.uid, user.gid);
        }
        const logFile = path.join(rootDir, "master.log");
        const master = {
            root_dir: rootDir,
            user: asNobody ? "nobody" : os.userInfo().username,
            runner_dirs: [RUNNER_DIR],
            log_file: logFile,
            log_level_logfile: "info",
        };
        fs.writeFileSync(path.join(configDir, "master"), yaml.dump(master));
        const args = Object.entries(kwargs).map(([k, v]) => `${k}=${v}`);
        const started = Date.now();
        const saltRunArgs = [
            "--config-dir",
            configDir,
            "--out",
            "json",
            "dc_forward.post",
            ...args,
        ];
        // Without the capabilities that let root read any file, the file's mode applies to root.
        const [command, commandArgs] =
            how === "root without DAC capabilities"
                ? [
                      "setpriv",
                      [
                          "--inh-caps=-dac_override,-dac_read_search",
                          "--bounding-set=-dac_override,-dac_read_search",
                          path.join(saltVenv(), "bin", "salt-run"),
                          ...saltRunArgs,
                      ],
                  ]
                : [path.join(saltVenv(), "bin", "salt-run"), saltRunArgs];
        // Asynchronous: this process's HTTP server must answer while salt-run waits.
        const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
            (resolve, reject) => {
                execFile(
                    command,
                    commandArgs,
                    {
                        encoding: "utf8",
                        cwd: runDir,
                        timeout: 120_000,
                        env: {
                            ...process.env,
                            HOME: runDir,
                            PYTHONWARNINGS: "ignore::DeprecationWarning",
                        },
                        ...(user ? { uid: user.uid, gid: user.gid } : {}),
                    },
                    (error, stdout, stderr) => {
                        if (error && typeof error.code !== "number") reject(error);
                        else resolve({ status: error ? Number(error.code) : 0, stdout, stderr });
                    },
                );
            },
        );
        let parsed: SaltRun["result"];
        try {
            parsed = JSON.parse(result.stdout) as SaltRun["result"];
        } catch {
            throw new Error(
                `salt-run gave no JSON (${result.status}):\n${result.stdout}\n${result.stderr}`,
            );
        }
        return {
            status: result.status,
            result: parsed,
            log: fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "",
            stderr: result.stderr,
            seconds: (Date.now() - started) / 1000,
        };
    }

    const localApi = () => `http://127.0.0.1:${port}/local/v1`;

    it("POSTs the data as JSON with the header file's Authorization header; INFO only", async () => {
        received = [];
        const run = await saltRun({
            path: "/salt/auth",
            data: JSON.stringify(AUTH_DATA),
            header_file: headerFile,
            local_api: localApi(),
        });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(received.length, 1);
        const [req] = received;
        assert.equal(req!.method, "POST");
        assert.equal(req!.url, "/local/v1/salt/auth");
        assert.equal(req!.headers.authorization, `Bearer ${TOKEN}`);
        assert.equal(req!.headers["content-type"], "application/json");
        assert.deepEqual(JSON.parse(req!.body.toString("utf8")), AUTH_DATA);
        assert.deepEqual(run.result, {
            ok: true,
            url: `${localApi()}/salt/auth`,
            status: 200,
            answer: JSON.stringify({ action: "accept", reason: "a worker that is starting" }),
        });
        assert.deepEqual(runnerWarnings(run.log), []);
        // Logged by the module salt-run loaded from runner_dirs.
        assert.ok(
            run.log.includes(`[INFO    ][`) &&
                /\[salt\.loaded\.ext\.runners\.dc_forward:\d+\s*\]\[INFO\s*\]\[\d+\] dc_forward: POST \S+\/salt\/auth: 200$/m.test(
                    run.log,
                ),
            run.log,
        );
    });

    it("(a) a header file the master's user cannot read: WARNING with the file, the error and the user", async () => {
        received = [];
        if (unprivileged !== "nobody") fs.chmodSync(headerFile, 0o000);
        let run: SaltRun;
        try {
            run = await saltRun(
                {
                    path: "/salt/start",
                    data: JSON.stringify({ id: MINION }),
                    header_file: headerFile,
                    local_api: localApi(),
                },
                { unprivileged: true },
            );
        } finally {
            fs.chmodSync(headerFile, 0o600);
        }
        assert.equal(run.status, 0, run.stderr);
        assert.equal(received.length, 0, "nothing sent without the token");
        const [warning, ...more] = runnerWarnings(run.log);
        assert.deepEqual(more, []);
        const user = unprivileged === "nobody" ? "nobody" : os.userInfo().username;
        assert.equal(
            warning,
            `dc_forward: POST ${localApi()}/salt/start not delivered: cannot read the header file ` +
                `${headerFile} (PermissionError: [Errno 13] Permission denied: '${headerFile}'); ` +
                `it must be readable by the user the salt-master runs as (this process runs as ${user}): ` +
                "root:salt, mode 0640, as the head node's state dynamic_cluster.head.salt_master writes it",
        );
        assert.equal(run.result.ok, false);
        assert.equal(run.result.status, null);
        assert.match(String(run.result.reason), /^cannot read the header file /);
        assert.match(
            run.stderr,
            /\[WARNING \] dc_forward: POST .* not delivered: cannot read the header file/,
        );
    });

    it("(b) connection refused: WARNING that the service cannot be reached", async () => {
        const closed = await freePort();
        const api = `http://127.0.0.1:${closed}/local/v1`;
        const run = await saltRun({
            path: "/salt/stats",
            data: JSON.stringify({
                id: MINION,
                time: 1,
                metrics: { "load.1m": 0.5 },
                signature: "",
            }),
            header_file: wrongHeaderFile,
            local_api: api,
        });
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(runnerWarnings(run.log), [
            `dc_forward: POST ${api}/salt/stats not delivered: cannot connect to the Dynamic Cluster ` +
                "service ([Errno 111] Connection refused); is it running? (systemctl status dynamic-cluster)",
        ]);
        assert.equal(run.result.status, null);
        assert.equal(run.result.ok, false);
    });

    it("(c) a 401 answer: WARNING with the status, the start of the answer and what to do", async () => {
        received = [];
        const run = await saltRun({
            path: "/salt/worker/ready",
            data: JSON.stringify({ id: MINION, node_name: "compute-dy-3" }),
            header_file: wrongHeaderFile,
            local_api: localApi(),
        });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(received.length, 1);
        assert.equal(received[0]!.headers.authorization, "Bearer STALE");
        assert.deepEqual(runnerWarnings(run.log), [
            `dc_forward: POST ${localApi()}/salt/worker/ready not delivered: the service answered 401 ` +
                `Unauthorized (the token in ${wrongHeaderFile} is not the service's; re-run the head's ` +
                'state.apply): {"error":"missing or wrong service token"}',
        ]);
        assert.deepEqual(run.result, {
            ok: false,
            url: `${localApi()}/salt/worker/ready`,
            status: 401,
            answer: '{"error":"missing or wrong service token"}',
            reason:
                `the service answered 401 Unauthorized (the token in ${wrongHeaderFile} is not the ` +
                `service's; re-run the head's state.apply): {"error":"missing or wrong service token"}`,
        });
    });

    it("(d) against the service's own local API: the reactors' token is accepted on /salt/, another caller's gets a 403 and a WARNING that says so", async () => {
        // The real route guard (autoscaler/api/local.ts) with a stand-in service behind it.
        const tokens = { slurm: "SLURM-TOKEN-0123456789", salt: TOKEN, admin: "ADMIN-TOKEN-0123" };
        const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");
        const started: unknown[] = [];
        const service = {
            salt: { handleStart: async (id: string) => (started.push(id), { counted: true }) },
        } as unknown as DynamicClusterService;
        const app = buildLocalApi(
            service,
            { slurm: sha256(tokens.slurm), salt: sha256(tokens.salt), admin: sha256(tokens.admin) },
            pino({ level: "silent" }),
        );
        const url = await app.listen({ host: "127.0.0.1", port: 0 });
        const slurmHeader = path.join(dir, "slurm-local-api.header");
        fs.writeFileSync(slurmHeader, `Authorization: Bearer ${tokens.slurm}`, { mode: 0o600 });
        try {
            const ok = await saltRun({
                path: "/salt/start",
                data: JSON.stringify({ id: MINION }),
                header_file: headerFile,
                local_api: `${url}/local/v1`,
            });
            assert.equal(ok.result.status, 200, JSON.stringify(ok.result));
            assert.deepEqual(started, [MINION]);
            assert.deepEqual(runnerWarnings(ok.log), []);

            const refused = await saltRun({
                path: "/salt/start",
                data: JSON.stringify({ id: MINION }),
                header_file: slurmHeader,
                local_api: `${url}/local/v1`,
            });
            assert.equal(refused.status, 0, refused.stderr);
            assert.equal(refused.result.ok, false);
            assert.equal(refused.result.status, 403);
            assert.match(
                refused.result.answer,
                /needs the token of the Salt reactors \(\/etc\/dynamic-cluster\/reactor-local-api\.header\); the token sent is that of Slurm's power-saving programs/,
            );
            const warnings = runnerWarnings(refused.log);
            assert.equal(warnings.length, 1, warnings.join("\n"));
            assert.ok(
                warnings[0]!.startsWith(
                    `dc_forward: POST ${url}/local/v1/salt/start not delivered: the service answered ` +
                        `403 Forbidden (the token in ${slurmHeader} is not the Salt reactors' token, ` +
                        "the only one the service accepts on /local/v1/salt/; re-run the head's " +
                        'state.apply): {"error":"POST /local/v1/salt/start needs the token of the Salt reactors',
                ),
                warnings[0],
            );
            assert.deepEqual(started, [MINION], "the refused forward did not reach the service");
        } finally {
            await app.close();
        }
    });

    it("a service that never answers: WARNING after the runner's timeout, not a hung reactor", async () => {
        misbehave = "hang";
        try {
            const run = await saltRun({
                path: "/salt/job-return",
                data: JSON.stringify({
                    jid: "20261125100200123456",
                    id: MINION,
                    fun: "state.apply",
                }),
                header_file: headerFile,
                local_api: localApi(),
            });
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(runnerWarnings(run.log), [
                `dc_forward: POST ${localApi()}/salt/job-return not delivered: no answer from the ` +
                    "Dynamic Cluster service within 5 s (TimeoutError: timed out)",
            ]);
            assert.ok(run.seconds < 60, `${run.seconds} s`);
        } finally {
            misbehave = undefined;
        }
    });

    it("a service that drops the connection: WARNING that the connection failed", async () => {
        misbehave = "drop";
        try {
            const run = await saltRun({
                path: "/salt/start",
                data: JSON.stringify({ id: MINION }),
                header_file: headerFile,
                local_api: localApi(),
            });
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(runnerWarnings(run.log), [
                `dc_forward: POST ${localApi()}/salt/start not delivered: the connection to the ` +
                    "Dynamic Cluster service failed (RemoteDisconnected: Remote end closed " +
                    "connection without response)",
            ]);
        } finally {
            misbehave = undefined;
        }
    });

    it("without the test-only arguments it uses the production header file and local API", async () => {
        if (fs.existsSync(HEADER)) return; // a head node: nothing to show here
        const run = await saltRun({ path: "/salt/start", data: JSON.stringify({ id: MINION }) });
        assert.equal(run.status, 0, run.stderr);
        const warnings = runnerWarnings(run.log);
        assert.equal(warnings.length, 1, run.log);
        assert.ok(
            warnings[0]!.startsWith(
                `dc_forward: POST ${API}/salt/start not delivered: cannot read the header file ` +
                    `${HEADER} (FileNotFoundError: `,
            ),
            warnings[0],
        );
    });
});
