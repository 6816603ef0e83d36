/**
 * Replay speed (`npm run bench -- replay`), in two parts:
 * 1. jobs per second of `npm run replay`'s simulation per policy on the provided trace
 *    (test/fixtures/replay/lublin_256.swf) and on a 100,000-job trace resampled from it, 32
 *    workers of 8 cores. The baseline, run in the same process, is the static cluster: the
 *    simulated Slurm alone, with no controller. The service's ratio to it is the cost of running
 *    the real `decide()` round by round (its own share is printed too); the original
 *    allocator's, the cost of its 10 s ticks.
 * 2. a larger fleet: the NASA Ames iPSC/860 trace (the Parallel Workloads Archive's cleaned
 *    NASA-iPSC-1993-3.1-cln.swf, gzipped in test/fixtures/replay/: 18,066 replayable
 *    jobs over 92 days) on 128 one-core workers. Seconds for one replay of the user's point
 *    (workers.max 128, idleTimeout 600 s), then the whole batch `npm run replay -- TRACE --max
 *    128 --cores-per-node 1` runs (the point under the three policies and the 25 points of the
 *    default sweep, each distinct replay once) in this thread, against the same batch on worker
 *    threads (one per core): wall time, job replays per second, and the seconds of its median
 *    and slowest replay.
 * 3. worker pools (`npm run replay -- --pools`) on the same fleet: the one pool given as a pools
 *    file (the same replay through the multi-pool path: same result, its overhead), and the
 *    fleet split into three pools by job size (jobs of up to 8 cores on 64 one-core nodes, 9 to
 *    32 on 8 four-core nodes, more on 16 eight-core nodes; each pool in its own partition, every
 *    job fits), against the one-pool replay run in the same process.
 */
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { POINT_POLICIES, pointAndSweepTasks, replayBatch, type ReplayTask } from "../replay/batch";
import { replay, type PolicyKind } from "../replay/simulate";
import { defaultGrid } from "../replay/sweep";
import { resampledTrace } from "../replay/synthetic";
import { readTrace, readTraceFile } from "../replay/trace";
import { mapJobsToPools, parsePoolsFile } from "../replay/pools";
import type { TraceJob } from "../replay/trace/types";
import { DEFAULT_SHAPE, MEASURED_CLOUD } from "../replay/defaults";

const fixtures = path.join(__dirname, "../test/fixtures/replay");
const lublinPath = path.join(fixtures, "lublin_256.swf");
const lublin = readTraceFile(lublinPath);
// 32 workers of 8 cores: the 256 processors the Lublin model was made for.
const shape = { ...DEFAULT_SHAPE, max: 32 };

function measure(name: string, jobs: readonly TraceJob[]): void {
    console.log(
        `\n${name}: ${jobs.length.toLocaleString("en-US")} jobs, workers.max ${shape.max} x ${shape.coresPerNode} cores`,
    );
    const rows: Array<[PolicyKind, number, number, number | undefined, number]> = [];
    for (const policy of ["static", "service", "original"] as const) {
        const r = replay(jobs, policy, { shape, cloud: MEASURED_CLOUD, seed: 1 });
        rows.push([policy, r.wallMs, jobs.length / (r.wallMs / 1000), r.decideMs, r.rounds]);
    }
    const base = rows[0]![1];
    console.log("policy    wall (s)   jobs/s     x static   rounds     decide() share");
    for (const [policy, ms, jps, decideMs, rounds] of rows) {
        console.log(
            `${policy.padEnd(9)} ${(ms / 1000).toFixed(2).padStart(8)}   ${Math.round(jps).toLocaleString("en-US").padStart(8)}   ${(ms / base).toFixed(2).padStart(8)}x   ${String(rounds).padStart(8)}   ${decideMs === undefined ? "-" : `${((decideMs / ms) * 100).toFixed(0)} %`}`,
        );
    }
}

/** Seconds, 2 decimals. */
const s = (ms: number): string => (ms / 1000).toFixed(2);

/** The larger fleet: one point, then the CLI's whole batch in this thread and on threads. */
const nasaFile = "NASA-iPSC-1993-3.1-cln.swf.gz";

function nasaJobs(): TraceJob[] {
    return readTrace(
        gunzipSync(readFileSync(path.join(fixtures, nasaFile))).toString("utf8"),
        nasaFile,
    ).jobs;
}

async function largerFleet(jobs: readonly TraceJob[]): Promise<void> {
    const fleet = { ...DEFAULT_SHAPE, max: 128, coresPerNode: 1 };
    const options = { shape: fleet, cloud: MEASURED_CLOUD, seed: 1 };
    console.log(
        `\nlarger fleet, ${nasaFile}: ${jobs.length.toLocaleString("en-US")} jobs, workers.max ${fleet.max} x 1 core, idleTimeout ${fleet.idleTimeout} s`,
    );
    const point = replay(jobs, "service", options);
    console.log(
        `one replay of the point (service): ${s(point.wallMs)} s, ${Math.round(jobs.length / (point.wallMs / 1000)).toLocaleString("en-US")} jobs/s, ${point.rounds} rounds, ${(((point.decideMs ?? 0) / point.wallMs) * 100).toFixed(0)} % in decide()`,
    );
    const grid = defaultGrid(fleet);
    const tasks = pointAndSweepTasks(
        options,
        grid.max.flatMap((max) => grid.idle.map((idleTimeout) => ({ max, idleTimeout }))),
    );
    const threads = availableParallelism();
    console.log(
        `the CLI's batch: ${tasks.length} replays (${POINT_POLICIES.length} policies, a ${grid.max.length} x ${grid.idle.length} sweep; the service's point is a sweep point, run once)`,
    );
    console.log(
        "run on       wall (s)   x 1 thread   jobs/s    median replay (s)   slowest replay (s)",
    );
    let oneThread = 0;
    for (const n of [1, threads]) {
        const started = performance.now();
        const results = await replayBatch(jobs, tasks, { threads: n });
        const wall = performance.now() - started;
        if (n === 1) oneThread = wall;
        const distinct = [...new Set(results)];
        const times = distinct.map((r) => r.wallMs).sort((a, b) => a - b);
        const slowest = distinct.reduce((a, b) => (b.wallMs > a.wallMs ? b : a));
        const jobsPerSecond = (distinct.length * jobs.length) / (wall / 1000);
        console.log(
            `${`${n} thread${n > 1 ? "s" : ""}`.padEnd(10)} ${s(wall).padStart(10)}   ${(wall / oneThread).toFixed(2).padStart(9)}x   ${Math.round(jobsPerSecond).toLocaleString("en-US").padStart(7)}   ${s(times[Math.floor(times.length / 2)]!).padStart(17)}   ${s(slowest.wallMs).padStart(9)} (${label(tasks[results.indexOf(slowest)]!)})`,
        );
    }
}

/** Which replay of the batch a task is. */
function label(task: ReplayTask): string {
    const { max, idleTimeout } = task.options.shape;
    return `${task.policy}, max ${max}, idle ${idleTimeout} s`;
}

/** The NASA fleet as one pool, as that pool through the pools path, and as three pools. */
function pools(jobs: readonly TraceJob[]): void {
    const fleet = { ...DEFAULT_SHAPE, max: 128, coresPerNode: 1 };
    const options = { shape: fleet, cloud: MEASURED_CLOUD, seed: 1 };
    const one = parsePoolsFile(
        "workers: {coresPerNode: 1, max: 128, idleTimeout: 600}",
        "one pool",
    ).pools;
    const three = parsePoolsFile(
        `workers: {coresPerNode: 1, max: 64, idleTimeout: 600}
pools:
  - {name: mid, coresPerNode: 4, max: 8, jobs: {minCores: 9, maxCores: 32}}
  - {name: wide, coresPerNode: 8, max: 16, jobs: {minCores: 33}}
`,
        "three pools",
    ).pools;
    console.log(
        `\nworker pools, ${nasaFile} on the same fleet (service policy, idleTimeout 600 s):`,
    );
    console.log(
        "replay                          wall (s)   x one pool   node-hours   mean wait (s)   never fit",
    );
    const base = replay(jobs, "service", options);
    const row = (
        name: string,
        { wallMs, nodeHours, waitMean, neverFits }: ReturnType<typeof replay>,
    ) =>
        console.log(
            `${name.padEnd(30)} ${s(wallMs).padStart(9)}   ${(wallMs / base.wallMs).toFixed(2).padStart(9)}x   ${nodeHours.toFixed(1).padStart(10)}   ${waitMean.toFixed(1).padStart(13)}   ${String(neverFits).padStart(9)}`,
        );
    row("one pool", base);
    for (const [name, list] of [
        ["the one pool as a pools file", one],
        ["three pools by job size", three],
    ] as const) {
        const mapped = mapJobsToPools(jobs, list).jobs;
        row(name, replay(mapped, "service", { ...options, pools: list }));
    }
}

async function main(): Promise<void> {
    measure(`provided trace ${path.basename(lublinPath)}`, lublin.jobs);
    measure("synthetic trace (resampled from it)", resampledTrace(lublin.jobs, 100_000, 1));
    const nasa = nasaJobs();
    await largerFleet(nasa);
    pools(nasa);
}

main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
});
