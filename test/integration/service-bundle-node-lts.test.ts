/**
 * The service bundle on the head node's Node.js. The workstation (and this machine) run Node 20;
 * the head node runs the AppStream module stream HEAD_NODEJS_STREAM (components/cluster.ts) and
 * the bundle is built for it (components/serviceBundle.ts). This test runs the real bundle on
 * that Node.js, the official build test/env/node-lts.sh installs (`DC_NODE_LTS` when test/run.sh
 * set it, else the script's answer):
 * - the bundle is built into a temp dir by buildServiceBundle, the function the Pulumi program
 *   calls before it copies the bundle to the head;
 * - the `dynamic-cluster` command (cli.js) prints its usage for `--help` (exit 2, as documented);
 * - the service (main.js, started as its systemd unit starts it: `node <service.node_options
 *   of the Salt tree's defaults.yaml> main.js --settings service.json`) comes up from a minimal valid settings file, with its
 *   OpenStack (Keystone) and carbon on dead loopback ports and no Slurm (every scheduler command
 *   fails at once), answers `/local/v1/status` with root's token (401 without a token, 403 with
 *   Slurm's), runs reconcile rounds that report Nova as unreachable, answers the same report
 *   through the bundled `dynamic-cluster status`, and stops cleanly on SIGTERM (exit 0).
 * Everything lives in a temp dir `dc-node-lts-*`, removed at the end (kept with DC_KEEP_TEST_DIRS=1).
 * The test is skipped, saying so, only when test/env/node-lts.sh is not there; a failing install
 * fails it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { HEAD_NODEJS_STREAM } from "../../components/cluster";
import { buildServiceBundle } from "../../components/serviceBundle";
import { freePort } from "../helpers/ports";
import { serviceNodeOptions } from "../helpers/serviceNode";
import { waitFor } from "../helpers/waitFor";

const ROOT = path.resolve(__dirname, "../..");
const INSTALL_SCRIPT = path.join(ROOT, "test/env/node-lts.sh");

const skip =
    process.env["DC_NODE_LTS"] || fs.existsSync(INSTALL_SCRIPT)
        ? false
        : `${path.relative(ROOT, INSTALL_SCRIPT)} is not available, so the head node's ` +
          `Node.js ${HEAD_NODEJS_STREAM} cannot be installed: the service bundle is NOT tested ` +
          `on it`;

/** The head's Node.js: DC_NODE_LTS, else what test/env/node-lts.sh prints (it installs once). */
function headNode(): string {
    let node = process.env["DC_NODE_LTS"];
    if (!node) {
        const out = execFileSync("bash", [INSTALL_SCRIPT], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            timeout: 600_000,
        });
        node = out.trim().split("\n").pop() ?? "";
    }
    if (!node || !fs.existsSync(node)) {
        throw new Error(`no Node.js binary at "${node}" (run bash test/env/node-lts.sh)`);
    }
    return node;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe(`the service bundle on the head node's Node.js ${HEAD_NODEJS_STREAM}`, () => {
    if (skip) {
        // A skipped test (counted in the summary as skipped, with the reason), not a passing one.
        it("runs the bundle on the head's Node.js", { skip }, () => undefined);
        return;
    }
    let node: string;
    let dir: string;
    let bundle: string;
    let settingsFile: string;
    let localUrl: string;
    let keystoneUrl: string;
    let logFile: string;
    let service: ChildProcess | undefined;
    let exited: Promise<number | null> | undefined;
    const tokens = {
        slurm: randomBytes(24).toString("hex"),
        salt: randomBytes(24).toString("hex"),
        admin: randomBytes(24).toString("hex"),
    };
    const clusterId = randomBytes(8).toString("hex");

    const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
    const logTail = () => log().trimEnd().split("\n").slice(-30).join("\n");

    async function get(apiPath: string, token?: string): Promise<Response> {
        return fetch(`${localUrl}/local/v1${apiPath}`, {
            headers: token ? { Authorization: `Bearer ${token}` } : {},
            signal: AbortSignal.timeout(10_000),
        });
    }

    before(async () => {
        node = headNode();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-node-lts-"));
        bundle = buildServiceBundle(path.join(dir, "bundle"));
        const [localPort, httpPort, keystonePort, carbonPort] = [
            await freePort(),
            await freePort(),
            await freePort(),
            await freePort(),
        ];
        localUrl = `http://127.0.0.1:${localPort}`;
        keystoneUrl = `http://127.0.0.1:${keystonePort}/v3`;
        const pkiDir = path.join(dir, "salt-pki");
        for (const sub of ["minions", "minions_pre", "minions_rejected", "minions_denied"]) {
            fs.mkdirSync(path.join(pkiDir, sub), { recursive: true });
        }
        // What Salt's service.sls writes, minus what this machine has not got: no worker_user_data
        // (the service takes the bundle's cloud-init/worker.yaml, as on the head), the firewall
        // off (no ipset), dead ports for Keystone and carbon, and no Slurm: the scheduler's
        // commands go through `false`, so each fails at once, as when slurmctld is down.
        const settings = {
            cluster: { name: "lts", id: clusterId },
            scheduler: "slurm",
            head: { name: "lts-head", minion_id: "lts-head", address: "192.0.2.1" },
            network: { network_id: "net", worker_security_group: "sg" },
            workers: {
                min: 0,
                max: 2,
                flavor: "m1.tiny",
                image: "Rocky-9",
                idle_timeout: 600,
                launch_timeout: 1200,
                static_prefix: "lts-st",
                burst_prefix: "lts-dy",
            },
            salt: {
                master_finger: Array.from({ length: 32 }, () => "ab").join(":"),
                pki_dir: pkiDir,
                config_dir: path.join(dir, "salt-config"),
                salt_run: "false",
            },
            listen: {
                local_api: { host: "127.0.0.1", port: localPort },
                http: { host: "127.0.0.1", port: httpPort },
            },
            graphite: { host: "127.0.0.1", port: carbonPort },
            dashboard: { username: "admin" },
            openstack: { auth_url: keystoneUrl, region: "RegionOne", interface: "public" },
            secrets: {
                openstack_application_credential: {
                    id: "lts-credential",
                    secret: randomBytes(12).toString("hex"),
                },
                dashboard_password: randomBytes(12).toString("base64url"),
                local_api_token_sha256: {
                    slurm: sha256(tokens.slurm),
                    salt: sha256(tokens.salt),
                    admin: sha256(tokens.admin),
                },
            },
            layout: {
                state_dir: path.join(dir, "state"),
                firewall: { worker_set: "dc-lts-workers", enabled: false },
            },
            scheduler_command_prefix: ["false"],
            tuning: { openstack_timeout: 2, round_budget: 10, reconcile_interval: 2 },
        };
        settingsFile = path.join(dir, "service.json");
        fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2), { mode: 0o600 });
        // Root's header file, as the head's service.sls writes it.
        fs.writeFileSync(
            path.join(dir, "admin-local-api.header"),
            `Authorization: Bearer ${tokens.admin}\n`,
            { mode: 0o600 },
        );
        logFile = path.join(dir, "service.log");
    });

    after(async () => {
        if (service && service.exitCode === null && service.signalCode === null) {
            service.kill("SIGKILL");
            await exited;
        }
        if (dir && !process.env["DC_KEEP_TEST_DIRS"]) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it(`runs the head's Node.js ${HEAD_NODEJS_STREAM}, not this machine's`, () => {
        const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
        console.log(`head node's Node.js: ${version} (${node}); tests run on ${process.version}`);
        assert.match(version, new RegExp(`^v${HEAD_NODEJS_STREAM}\\.\\d+\\.\\d+$`));
        assert.ok(fs.existsSync(path.join(bundle, "autoscaler", "main.js")));
        assert.ok(fs.existsSync(path.join(bundle, "autoscaler", "cli.js")));
        assert.ok(fs.existsSync(path.join(bundle, "cloud-init", "worker.yaml")));
    });

    it("the bundled dynamic-cluster command prints its usage for --help", () => {
        const result = spawnSync(node, [path.join(bundle, "autoscaler", "cli.js"), "--help"], {
            encoding: "utf8",
            timeout: 30_000,
        });
        assert.equal(result.error, undefined);
        assert.equal(result.status, 2, `exit ${result.status}; stderr:\n${result.stderr}`);
        assert.equal(result.stdout, "");
        assert.match(result.stderr, /^usage: dynamic-cluster \[--url URL \| --settings FILE\]/);
        assert.match(result.stderr, /status \| workers \| jobs \| pools \| events/);
    });

    it("the bundled service starts and answers /local/v1/status with root's token", async () => {
        const out = fs.openSync(logFile, "a");
        const child = spawn(
            node,
            [
                ...serviceNodeOptions(),
                path.join(bundle, "autoscaler", "main.js"),
                "--settings",
                settingsFile,
            ],
            { stdio: ["ignore", out, out] },
        );
        fs.closeSync(out);
        service = child;
        exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));

        interface Status {
            cluster: { name: string; id: string };
            scheduler: string;
            rounds: number;
            pools: { burst: { size: number } };
            errors: Record<string, { message: string }>;
        }
        let status: Status;
        try {
            status = await waitFor(
                "the service to answer and report a round that could not reach Nova",
                async () => {
                    if (child.exitCode !== null || child.signalCode !== null) {
                        throw Object.assign(
                            new Error(`service exited ${child.exitCode ?? child.signalCode}`),
                            { fatal: true },
                        );
                    }
                    const response = await get("/status", tokens.admin);
                    assert.equal(response.status, 200, await response.clone().text());
                    const body = (await response.json()) as Status;
                    return body.errors["nova"] ? body : undefined;
                },
                { timeoutMs: 60_000, intervalMs: 250 },
            );
        } catch (err) {
            (err as Error).message += `\n--- last lines of ${logFile}:\n${logTail()}`;
            throw err;
        }
        assert.deepEqual(status.cluster, { name: "lts", id: clusterId });
        assert.equal(status.scheduler, "slurm");
        assert.equal(status.pools.burst.size, 2);
        // Keystone refused the connection: the service's OpenStack client ran on this Node.js.
        const novaError = status.errors["nova"]!.message;
        assert.ok(novaError.includes(keystoneUrl) && novaError.includes("ECONNREFUSED"), novaError);
        assert.ok(status.errors["scheduler"], `no scheduler error in ${JSON.stringify(status)}`);
        assert.equal(status.errors["salt"], undefined, "Salt's key directory is there");
        assert.match(log(), /Dynamic Cluster service started/);
    });

    it("the local API refuses a missing token (401) and another caller's token (403)", async () => {
        assert.equal((await get("/status")).status, 401);
        assert.equal((await get("/status", randomBytes(24).toString("hex"))).status, 401);
        assert.equal((await get("/status", tokens.slurm)).status, 403);
    });

    it("the bundled `dynamic-cluster status` reads the same report", () => {
        const result = spawnSync(
            node,
            [
                path.join(bundle, "autoscaler", "cli.js"),
                "--settings",
                settingsFile,
                "--token-file",
                path.join(dir, "admin-local-api.header"),
                "status",
            ],
            { encoding: "utf8", timeout: 60_000 },
        );
        assert.equal(result.status, 0, `exit ${result.status}; stderr:\n${result.stderr}`);
        const status = JSON.parse(result.stdout) as { cluster: { id: string } };
        assert.equal(status.cluster.id, clusterId);
    });

    it("stops cleanly on SIGTERM, with no warning from Node.js in its log", async () => {
        assert.ok(service, "the service was not started");
        service.kill("SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const code = await Promise.race([
            exited!,
            new Promise<"timeout">((resolve) => {
                timer = setTimeout(() => resolve("timeout"), 30_000);
            }),
        ]).finally(() => clearTimeout(timer));
        assert.equal(code, 0, `exit ${code}\n--- last lines of ${logFile}:\n${logTail()}`);
        assert.match(log(), /"signal":"SIGTERM".*"msg":"stopping"/);
        // Node's own warnings (DeprecationWarning, ExperimentalWarning, ...) go to stderr as
        // "(node:PID) XxxWarning: ...": the service log must carry none on this Node.js.
        assert.doesNotMatch(log(), /\(node:\d+\) \w*Warning/);
    });
});
