/**
 * The Dynamic Cluster service, measured on real parts (test/helpers/serviceHarness.ts: the
 * built service, Debian's Slurm with the generated slurm.conf, the local Nova, real Salt, worker
 * hosts in namespaces), each figure against a baseline measured in the same run:
 * 1. from a job's submission to the service's first Nova create call, 20 runs (median, worst),
 *    split into Slurm's share (submission -> ResumeProgram reached the service) and the
 *    service's (request -> create call started), with slurm.conf as deployed
 *    (`power_save_interval=2`); baseline: the same with Slurm's default power-save interval
 *    (10 s: the generated SlurmctldParameters without `power_save_*`);
 * 2. 50 jobs at once on 50 powered-down nodes, twice. First with the worker hosts held back
 *    (none starts; nothing lists Nova but the service, every 10 s as deployed, and the
 *    benchmark's own wait, once a second as in the baseline): Slurm's resume requests, the service's create calls and 50
 *    servers ACTIVE, in ABBA order against 50 servers booted to ACTIVE with bare HTTP
 *    (bench/lib/rawNova.ts, the service's launch concurrency of 10), with the machine's CPU
 *    use in each; this is the service's path to Nova, as on a cloud whose VMs run elsewhere.
 *    Then as the tests run it, each host starting its real salt-minion, key admission and
 *    highstate as its server turns ACTIVE, on the same 2 cores as Nova: time until 50 create
 *    calls, 50 servers ACTIVE, 50 jobs running, 50 jobs done;
 * 3. the service idle with 50 workers: resident memory and CPU over 60 s; baseline: the same
 *    service idle with no worker, measured before the jobs;
 * 4. scale-down: Slurm's suspend requests come over a spread (nodes go idle at different times);
 *    from its last request to every server deleted, against the bare deletes of the baseline of
 *    2.; and jobs killed by it (must be 0).
 * 1b. the same with the nodes in 1, 2 and 10 worker pools (each in its own partition, the jobs
 *    sent to them in turn), against the one pool of the same run;
 * `npm run bench -- autoscaler` starts the local OpenStack and installs Salt when needed
 * (bench/run.sh); `node --import tsx bench/autoscaler-scale.ts [latency|pools|fifty|held|full]` expects them
 * (`held`: the held-back runs of 2. only; `full`: the run with hosts only).
 * The harness's directories are removed at the end (DC_KEEP_TEST_DIRS=1 keeps them).
 */
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { ServiceHarness, type HarnessOptions } from "../test/helpers/serviceHarness";
import { waitFor } from "../test/helpers/waitFor";
import { demoEnv } from "../test/helpers/osbox";
import { median } from "./lib/stats";
import { rawCreateDelete } from "./lib/rawNova";
import { TUNING_DEFAULTS } from "../lib/serviceSettings";

interface LogLine {
    time: number;
    msg: string;
    ms?: number;
    node?: string;
    nodes?: string[];
    want?: string;
}

function logLines(h: ServiceHarness): LogLine[] {
    return h
        .log()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LogLine);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (value: number, baseline: number) =>
    baseline > 0 ? `${(value / baseline).toFixed(2)}x` : "n/a";

function cpuAndRss(pid: number): { cpuTicks: number; rssKb: number } {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    return { cpuTicks, rssKb };
}

/** The service's resident memory (MiB) at the end and CPU (% of one core) over `windowMs`. */
async function idleFigures(h: ServiceHarness, windowMs: number) {
    const pid = h.process!.pid!;
    const ticksPerSecond = 100; // USER_HZ on Linux
    const before = cpuAndRss(pid);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = cpuAndRss(pid);
    return {
        rssMiB: after.rssKb / 1024,
        cpuPercent: ((after.cpuTicks - before.cpuTicks) / ticksPerSecond / (windowMs / 1000)) * 100,
    };
}

/** Starts a harness, runs `body`, stops it and removes its directory whatever happened. */
async function withHarness<T>(
    options: HarnessOptions,
    body: (h: ServiceHarness) => Promise<T>,
): Promise<T> {
    const h = await ServiceHarness.start(options);
    try {
        return await body(h);
    } finally {
        const left = await h.stop();
        if (left) console.log(`  servers the harness deleted at the end: ${left}`);
        // stop() keeps the directory when servers were left (a test wants to read it); here the
        // workers are left on purpose (SuspendTime is an hour in the latency runs).
        if (process.env["DC_KEEP_TEST_DIRS"] === "1") console.log(`  kept ${h.dir}`);
        else rmSync(h.dir, { recursive: true, force: true });
    }
}

/** SlurmctldParameters as deployed, minus the power-save settings: Slurm's defaults. */
function slurmDefaultPowerSave(): string {
    const template = readFileSync(
        path.resolve(__dirname, "../salt/dynamic_cluster/files/head/slurm.conf.jinja"),
        "utf8",
    );
    const line = /^SlurmctldParameters=(.*)$/m.exec(template);
    if (!line) throw new Error("slurm.conf.jinja has no SlurmctldParameters line");
    return line[1]!
        .split(",")
        .filter((p) => !p.startsWith("power_save_"))
        .join(",");
}

interface Latency {
    total: number[];
    slurm: number[];
    service: number[];
    duplicates: number;
}

async function latencyRuns(
    runs: number,
    slurmOverrides?: Record<string, string>,
    poolCount = 1,
): Promise<Latency> {
    // Further pools, each in its own partition (named after it), as large as the default one;
    // the jobs go to the partitions in turn.
    const pools = Array.from({ length: poolCount - 1 }, (_, i) => ({
        name: `pool${i + 1}`,
        max: runs,
        flavor: "m1.tiny",
        image: "tiny",
    }));
    const partitions = ["batch", ...pools.map((p) => p.name)];
    return withHarness(
        { burst: runs, launchTimeout: 300, suspendTime: 3600, slurmOverrides, pools },
        async (h) => {
            const result: Latency = { total: [], slurm: [], service: [], duplicates: 0 };
            for (let i = 1; i <= runs; i++) {
                const submitted = Date.now();
                const partition = partitions[(i - 1) % partitions.length]!;
                await h.submit("-p", partition, "--exclusive", "--wrap", "sleep 3600");
                const launched = await waitFor(
                    `launch ${i}`,
                    () => {
                        const lines = logLines(h).filter((l) => l.msg === "launched");
                        return lines.length >= i ? lines[i - 1] : undefined;
                    },
                    { timeoutMs: 120_000, intervalMs: 20 },
                );
                const createStarted = launched.time - (launched.ms ?? 0);
                const request = logLines(h)
                    .filter(
                        (l) =>
                            l.msg === "scheduler request" &&
                            l.want === "up" &&
                            l.nodes?.includes(launched.node!),
                    )
                    .pop();
                result.total.push(createStarted - submitted);
                if (request) {
                    result.slurm.push(request.time - submitted);
                    result.service.push(createStarted - request.time);
                }
            }
            result.duplicates = logLines(h).filter((l) => l.msg === "launched").length - runs;
            await h.slurm.run("scancel", "--user=root");
            return result;
        },
    );
}

async function latency(): Promise<void> {
    const runs = 20;
    const defaults = slurmDefaultPowerSave();
    const deployed = await latencyRuns(runs);
    const baseline = await latencyRuns(runs, { SlurmctldParameters: defaults });
    console.log(`submission -> first Nova create call, ${runs} runs each (median / worst):`);
    console.log(
        "  slurm.conf                             | total           | Slurm's share   | service's share | duplicate creates",
    );
    const row = (label: string, l: Latency) =>
        console.log(
            `  ${label.padEnd(38)} | ${seconds(median(l.total))} / ${seconds(Math.max(...l.total))} | ` +
                `${seconds(median(l.slurm))} / ${seconds(Math.max(...l.slurm))} | ` +
                `${seconds(median(l.service))} / ${seconds(Math.max(...l.service))} | ${l.duplicates}`,
        );
    row("as deployed (power_save_interval=2)", deployed);
    row("baseline: Slurm's default (10 s)", baseline);
    console.log(
        `  ratio deployed / baseline (median total): ${ratio(median(deployed.total), median(baseline.total))}`,
    );
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, total: busy + idle! + iowait! };
}

/** Share of the machine's CPU (all cores) used between two readings, in %. */
function cpuShare(before: ReturnType<typeof machineCpu>, after: ReturnType<typeof machineCpu>) {
    return (100 * (after.busy - before.busy)) / (after.total - before.total || 1);
}

/** Share of the machine's CPU (all cores) used while `body` ran, in %. */
async function withCpuShare<T>(body: () => Promise<T>): Promise<{ result: T; cpu: number }> {
    const before = machineCpu();
    const result = await body();
    return { result, cpu: cpuShare(before, machineCpu()) };
}

/** Waits until the harness's Nova lists `n` ACTIVE servers, polling every `intervalMs`. */
async function untilActive(h: ServiceHarness, n: number, intervalMs: number): Promise<void> {
    await waitFor(
        `${n} servers ACTIVE`,
        async () =>
            (await h.servers()).filter((s) => s.status === "ACTIVE").length >= n ? true : undefined,
        { timeoutMs: 600_000, intervalMs },
    );
}

interface HeldBackRun {
    /** From the first submission, ms: Slurm's first and last resume request. */
    firstRequest: number;
    lastRequest: number;
    /** The service's first create call started, the last one answered. */
    firstCall: number;
    lastCall: number;
    /** Median and longest create call. */
    callMedian: number;
    callMax: number;
    /** 50 servers ACTIVE. */
    active: number;
}

/**
 * 50 jobs on 50 powered-down nodes with no worker host (no minion starts, so no job runs): how
 * long Slurm, the service and Nova take to bring 50 servers to ACTIVE. The service reconciles
 * every 10 s as deployed, and this polls Nova once a second, as the bare baseline does; nothing
 * else lists servers.
 */
async function heldBack(n: number): Promise<HeldBackRun> {
    return withHarness(
        {
            burst: n,
            launchTimeout: 600,
            suspendTime: 3600,
            hosts: false,
            tuning: { reconcile_interval: TUNING_DEFAULTS.reconcile_interval },
        },
        async (h) => {
            const start = Date.now();
            for (let i = 0; i < n; i++) await h.submit("--exclusive", "--wrap", "sleep 5");
            await untilActive(h, n, 1000);
            const active = Date.now() - start;
            const lines = logLines(h);
            const requests = lines
                .filter((l) => l.msg === "scheduler request" && l.want === "up")
                .map((l) => l.time - start);
            const calls = lines.filter((l) => l.msg === "launched");
            const callStarts = calls.map((l) => l.time - (l.ms ?? 0) - start);
            const callEnds = calls.map((l) => l.time - start);
            const callMs = calls.map((l) => l.ms ?? 0);
            await h.slurm.run("scancel", "--user=root");
            return {
                firstRequest: Math.min(...requests),
                lastRequest: Math.max(...requests),
                firstCall: Math.min(...callStarts),
                lastCall: Math.max(...callEnds),
                callMedian: median(callMs),
                callMax: Math.max(...callMs),
                active,
            };
        },
    );
}

/** The held-back runs in ABBA order with bare HTTP; returns the bare baseline's means. */
async function fiftyHeldBack(
    n: number,
): Promise<{ create: number; createCalls: number; del: number }> {
    // ABBA: bare, service, service, bare; the ratio is of the sums.
    const rawA = await withCpuShare(() => rawCreateDelete(n, 10));
    const heldB1 = await withCpuShare(() => heldBack(n));
    const heldB2 = await withCpuShare(() => heldBack(n));
    const rawA2 = await withCpuShare(() => rawCreateDelete(n, 10));
    const raws = [rawA.result, rawA2.result];
    const helds = [heldB1.result, heldB2.result];
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const raw = {
        create: mean(raws.map((r) => r.create)),
        createCalls: mean(raws.map((r) => r.createCalls)),
        del: mean(raws.map((r) => r.del)),
    };
    const held = (key: keyof HeldBackRun) => mean(helds.map((r) => r[key]));
    console.log(
        `${n} jobs at once, worker hosts held back (means of 2 runs, ABBA with bare HTTP):`,
    );
    console.log(
        `  Slurm's resume requests:   ${seconds(held("firstRequest"))} .. ${seconds(held("lastRequest"))} after the first submission`,
    );
    console.log(
        `  the service's create calls: ${seconds(held("firstCall"))} .. ${seconds(held("lastCall"))} ` +
            `(one call: median ${seconds(held("callMedian"))}, longest ${seconds(held("callMax"))}); ` +
            `bare HTTP's ${n} create calls: ${seconds(raw.createCalls)}`,
    );
    console.log(
        `  ${n} servers ACTIVE:         ${seconds(held("active"))} after the first submission, ` +
            `${seconds(held("active") - held("firstRequest"))} after Slurm's first request; ` +
            `bare HTTP: ${seconds(raw.create)}; ratio (from the first request) ` +
            `${ratio(held("active") - held("firstRequest"), raw.create)}`,
    );
    console.log(
        `  machine CPU busy: ${mean([heldB1.cpu, heldB2.cpu]).toFixed(0)} % (service runs), ` +
            `${mean([rawA.cpu, rawA2.cpu]).toFixed(0)} % (bare runs)`,
    );
    return raw;
}

async function fifty(only?: string): Promise<void> {
    const n = 50;
    // `full`: the run with hosts alone (ratios then print n/a).
    const raw = only === "full" ? { create: 0, createCalls: 0, del: 0 } : await fiftyHeldBack(n);
    if (only === "held") return;
    // SuspendTime 300 s: the first nodes go idle up to two minutes before the last job ends, and
    // all 50 workers must still be up through the 60 s idle window that follows.
    await withHarness({ burst: n, launchTimeout: 600, suspendTime: 300 }, async (h) => {
        const idleWindowMs = 60_000;
        const idleEmpty = await idleFigures(h, idleWindowMs);

        const cpuAtStart = machineCpu();
        const start = Date.now();
        const ids: string[] = [];
        for (let i = 0; i < n; i++) ids.push(await h.submit("--exclusive", "--wrap", "sleep 5"));
        const submittedIn = Date.now() - start;
        await waitFor(
            "50 create calls",
            () => (logLines(h).filter((l) => l.msg === "launched").length >= n ? true : undefined),
            { timeoutMs: 600_000, intervalMs: 100 },
        );
        const created = Date.now() - start;
        await untilActive(h, n, 500);
        const active = Date.now() - start;
        const cpuAtActive = machineCpu();
        await waitFor(
            "50 jobs running or done",
            async () => {
                const jobs = await h.jobs();
                return ids.every((id) =>
                    ["RUNNING", "COMPLETING", "COMPLETED"].includes(jobs.get(id)?.state ?? ""),
                )
                    ? true
                    : undefined;
            },
            { timeoutMs: 900_000, intervalMs: 1000 },
        );
        const running = Date.now() - start;
        const finished = await h.waitForJobs(ids, 900_000);
        const done = Date.now() - start;
        const busy = cpuShare(cpuAtStart, cpuAtActive);
        console.log(
            `50 jobs at once, each worker host starting its minion as its server turns ACTIVE ` +
                `(machine CPU busy until 50 ACTIVE: ${busy.toFixed(0)} %); ` +
                `submitted in ${(submittedIn / 1000).toFixed(1)} s; from the first submission:`,
        );
        console.log(`  50 create calls made:      ${seconds(created)}`);
        console.log(
            `  50 servers ACTIVE:         ${seconds(active)}   baseline (bare HTTP, 50 to ACTIVE): ` +
                `${seconds(raw.create)}, ratio ${ratio(active, raw.create)}`,
        );
        console.log(`  50 jobs running (or done): ${seconds(running)}`);
        console.log(`  50 jobs done:              ${seconds(done)}`);

        // Idle with 50 workers: no job, every worker up and idle.
        const idleFull = await idleFigures(h, idleWindowMs);
        const servers = (await h.servers()).length;
        console.log(
            `idle for ${idleWindowMs / 1000} s with ${servers} workers: RSS ${idleFull.rssMiB.toFixed(0)} MiB, ` +
                `CPU ${idleFull.cpuPercent.toFixed(2)} % of one core; baseline with no worker: ` +
                `RSS ${idleEmpty.rssMiB.toFixed(0)} MiB, CPU ${idleEmpty.cpuPercent.toFixed(2)} %; ` +
                `ratios ${ratio(idleFull.rssMiB, idleEmpty.rssMiB)} (RSS), ` +
                `${ratio(idleFull.cpuPercent, idleEmpty.cpuPercent)} (CPU)`,
        );

        await h.waitForNoServers(600_000);
        const gone = Date.now();
        const suspends = logLines(h).filter(
            (l) => l.msg === "scheduler request" && l.want === "down",
        );
        // A job counts as killed when it did not complete, or when Slurm lists it again in another
        // state after the scale-down (requeued). Slurm forgets finished jobs after MinJobAge
        // (300 s), so a job it no longer lists keeps the state it finished with.
        const jobs = await h.jobs();
        const killed = ids.filter(
            (id) =>
                finished.get(id)?.state !== "COMPLETED" ||
                (jobs.has(id) && jobs.get(id)!.state !== "COMPLETED"),
        );
        if (suspends.length) {
            const first = suspends[0]!.time;
            const last = suspends[suspends.length - 1]!.time;
            console.log(
                `scale-down: Slurm's suspend requests came over ${seconds(last - first)} (nodes go idle ` +
                    `at different times); first request -> every server deleted: ${seconds(gone - first)}; ` +
                    `last request -> every server deleted: ${seconds(gone - last)}; baseline (bare HTTP, ` +
                    `50 deletes at once): ${seconds(raw.del)}, ratio (last request -> deleted) ` +
                    `${ratio(gone - last, raw.del)}`,
            );
        }
        console.log(`  jobs killed by scale-down: ${killed.length}`);
    });
}

/** 1. again with the nodes in 2 and in 10 worker pools, against one pool in the same run. */
async function poolsLatency(): Promise<void> {
    const runs = 20;
    const rows: Array<[number, Latency]> = [];
    for (const pools of [1, 2, 10]) rows.push([pools, await latencyRuns(runs, undefined, pools)]);
    const base = median(rows[0]![1].total);
    console.log(
        `submission -> first Nova create call by worker pools, ${runs} runs each, jobs to the pools' partitions in turn (median / worst):`,
    );
    for (const [pools, l] of rows) {
        console.log(
            `  ${String(pools).padStart(2)} pool(s) | ${seconds(median(l.total))} / ${seconds(Math.max(...l.total))} | ` +
                `service's share ${seconds(median(l.service))} | x 1 pool ${ratio(median(l.total), base)} | duplicate creates ${l.duplicates}`,
        );
    }
}

async function main(): Promise<void> {
    Object.assign(process.env, demoEnv());
    const only = process.argv[2];
    if (!only || only === "latency") await latency();
    if (!only || only === "pools") await poolsLatency();
    if (!only || ["fifty", "held", "full"].includes(only)) await fifty(only);
}

main().catch((err: unknown) => {
    console.error(`autoscaler-scale failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
});
