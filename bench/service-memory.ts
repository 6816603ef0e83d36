/**
 * What the head-node service costs in memory and CPU, by how it is built and started, each
 * variant in its own process in the same run, on the head node's Node.js (DC_NODE_LTS):
 * - bare: Node.js with a timer and nothing else (the floor no service can go under);
 * - baseline: the bundle as it was built before (not minified) with the Node.js options it had
 *   (`--max-semi-space-size=1`);
 * - minified: the bundle as built now (components/serviceBundle.ts), the same options;
 * - deployed: the bundle as built now with the unit's options (`service.node_options` of the
 *   Salt tree's defaults.yaml, as test/helpers/serviceNode.ts reads them).
 * Each service runs its real loop against a cloud that refuses connections (so every round
 * observes, fails and logs, as a head whose cloud is down would) and answers its local API.
 * Figures: resident memory after an idle window, CPU over that window, and the CPU time and
 * wall time of 2,000 authenticated `GET /local/v1/status` calls (what the dashboard and the CLI
 * poll): the interpreter-only `--lite-mode` trades speed for memory, and this says how much.
 * Ratios are to the baseline. `npm run bench -- service-memory`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildServiceBundle } from "../components/serviceBundle";
import type {
    HeadLayoutSettings,
    ProgramServiceSettings,
    SecretServiceSettings,
} from "../lib/serviceSettings";
import { serviceNodeBinary, serviceNodeOptions } from "../test/helpers/serviceNode";
import { waitFor } from "../test/helpers/waitFor";
import { freePort } from "../test/helpers/ports";

const IDLE_MS = 40_000;
const CALLS = 2000;

interface Variant {
    name: string;
    bundle?: string;
    options: string[];
}

interface Figures {
    rssMiB: number;
    idleCpuPercent: number;
    callsCpuMs?: number;
    callsWallMs?: number;
}

function procFigures(pid: number): { cpuTicks: number; rssKb: number } {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
        cpuTicks: Number(fields[11]) + Number(fields[12]),
        rssKb: Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]),
    };
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

async function settingsFile(dir: string, token: string): Promise<[string, number]> {
    const localPort = await freePort();
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    const settings: ProgramServiceSettings & SecretServiceSettings & HeadLayoutSettings = {
        cluster: { name: "bench", id: "bench0001" },
        scheduler: "slurm",
        head: { name: "bench-head", minion_id: "bench-head", address: "192.0.2.1" },
        network: { network_id: "net", worker_security_group: "sg" },
        workers: {
            min: 0,
            max: 50,
            flavor: "m1.tiny",
            image: "Rocky-9",
            idle_timeout: 600,
            launch_timeout: 1200,
            static_prefix: "bench-st",
            burst_prefix: "bench-dy",
        },
        salt: {
            master_finger: Array.from({ length: 32 }, () => "ab").join(":"),
            pki_dir: path.join(dir, "pki"),
            config_dir: path.join(dir, "salt"),
            salt_run: "false",
        },
        listen: {
            local_api: { host: "127.0.0.1", port: localPort },
            http: { host: "127.0.0.1", port: await freePort() },
        },
        graphite: { host: "127.0.0.1", port: await freePort() },
        dashboard: { username: "admin" },
        // Nothing listens on port 1: every round's observation fails at once.
        openstack: { auth_url: "http://127.0.0.1:1/v3" },
        secrets: {
            openstack_application_credential: { id: "bench", secret: "bench" },
            dashboard_password: randomBytes(12).toString("base64url"),
            local_api_token_sha256: { slurm: sha("s1"), salt: sha("s2"), admin: sha(token) },
        },
        layout: {
            state_dir: path.join(dir, "state"),
            firewall: { worker_set: "bench", enabled: false },
        },
    };
    const file = path.join(dir, "service.json");
    writeFileSync(
        file,
        JSON.stringify({ ...settings, scheduler_command_prefix: ["false"] }, null, 2),
        { mode: 0o600 },
    );
    return [file, localPort];
}

async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
}

async function measure(variant: Variant, dir: string): Promise<Figures> {
    const node = serviceNodeBinary();
    const token = randomBytes(24).toString("hex");
    const vdir = mkdtempSync(path.join(dir, `${variant.name}-`));
    let child: ChildProcess;
    let localPort = 0;
    if (variant.bundle) {
        const [file, port] = await settingsFile(vdir, token);
        localPort = port;
        child = spawn(
            node,
            [
                ...variant.options,
                path.join(variant.bundle, "autoscaler", "main.js"),
                "--settings",
                file,
            ],
            { stdio: ["ignore", "ignore", "ignore"] },
        );
        const url = `http://127.0.0.1:${String(localPort)}/local/v1/status`;
        await waitFor(`${variant.name}: the service answers`, async () => {
            const answer = await fetch(url, {
                headers: { Authorization: `Bearer ${token}` },
            }).catch(() => undefined);
            return answer?.ok ? true : undefined;
        });
    } else {
        child = spawn(node, [...variant.options, "-e", "setInterval(() => {}, 10000)"], {
            stdio: "ignore",
        });
    }
    try {
        const pid = child.pid!;
        const before = procFigures(pid);
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        const after = procFigures(pid);
        const figures: Figures = {
            rssMiB: after.rssKb / 1024,
            idleCpuPercent:
                ((after.cpuTicks - before.cpuTicks) / TICKS_PER_SECOND / (IDLE_MS / 1000)) * 100,
        };
        if (variant.bundle) {
            const url = `http://127.0.0.1:${String(localPort)}/local/v1/status`;
            const headers = { Authorization: `Bearer ${token}` };
            const start = performance.now();
            for (let i = 0; i < CALLS; i++) {
                const answer = await fetch(url, { headers });
                if (!answer.ok) throw new Error(`${variant.name}: status ${String(answer.status)}`);
                await answer.arrayBuffer();
            }
            figures.callsWallMs = performance.now() - start;
            figures.callsCpuMs =
                ((procFigures(pid).cpuTicks - after.cpuTicks) / TICKS_PER_SECOND) * 1000;
        }
        return figures;
    } finally {
        await stop(child);
    }
}

async function main(): Promise<void> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "dc-bench-memory-"));
    try {
        const baselineBundle = buildServiceBundle(path.join(dir, "bundle-baseline"), {
            minify: false,
        });
        const bundle = buildServiceBundle(path.join(dir, "bundle"));
        const previousOptions = ["--max-semi-space-size=1"];
        const variants: Variant[] = [
            { name: "bare Node.js", options: [] },
            { name: "baseline", bundle: baselineBundle, options: previousOptions },
            { name: "minified", bundle, options: previousOptions },
            { name: "deployed", bundle, options: serviceNodeOptions() },
        ];
        console.log(
            `service memory: ${serviceNodeBinary()} (${process.env["DC_NODE_LTS"] ? "the head node's" : "this process's"} Node.js), idle ${String(IDLE_MS / 1000)} s, then ${String(CALLS)} status calls`,
        );
        const results = new Map<string, Figures>();
        for (const variant of variants) {
            const figures = await measure(variant, dir);
            results.set(variant.name, figures);
            const calls =
                figures.callsCpuMs === undefined
                    ? ""
                    : `, ${String(CALLS)} calls: CPU ${figures.callsCpuMs.toFixed(0)} ms, wall ${figures.callsWallMs!.toFixed(0)} ms`;
            console.log(
                `  ${variant.name} [${variant.options.join(" ")}]: RSS ${figures.rssMiB.toFixed(1)} MiB, idle CPU ${figures.idleCpuPercent.toFixed(2)} %${calls}`,
            );
        }
        const base = results.get("baseline")!;
        const ratio = (a: number | undefined, b: number | undefined) =>
            a !== undefined && b ? `${(a / b).toFixed(2)}x` : "n/a";
        for (const name of ["bare Node.js", "minified", "deployed"]) {
            const f = results.get(name)!;
            console.log(
                `  ${name} / baseline: RSS ${ratio(f.rssMiB, base.rssMiB)}` +
                    (f.callsCpuMs === undefined
                        ? ""
                        : `, calls CPU ${ratio(f.callsCpuMs, base.callsCpuMs)}, wall ${ratio(f.callsWallMs, base.callsWallMs)}`),
            );
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

void main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
