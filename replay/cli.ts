/**
 * `npm run replay -- TRACE [options]`: what a worker policy costs and how long jobs wait, from a
 * workload trace (SWF, `sacct --parsable2`, Torque accounting), before paying for it. Prints the
 * user's point under every policy, a sweep over workers.max x workers.idleTimeout with its
 * Pareto front, writes the plot (SVG) and the results (JSON), and prints the `pulumi config`
 * commands for the recommended point. Usage errors exit 2 with a message saying what to fix.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SingleBar } from "cli-progress";
import { DEFAULT_SHAPE, MEASURED_CLOUD } from "./defaults";
import type { CloudModel, PolicyResult, WorkerShape } from "./model";
import {
    defaultThreads,
    pointAndSweepTasks,
    replayBatch,
    sweepIdleTimeouts,
    POINT_POLICIES,
} from "./batch";
import { foresight } from "./simulate";
import {
    againstNaive,
    choose,
    configCommands,
    defaultGrid,
    markPareto,
    type NaivePoint,
    type SweepPoint,
} from "./sweep";
import { sweepSvg } from "./plot";
import { naiveTable, policyTable, splitTable, sweepTable, traceSummary } from "./table";
import { jobsOfPartition, readTraceFile } from "./trace";
import { PoolsFileError, readPoolsFile } from "./pools";
import { replayPools } from "./poolsReport";
import { TraceError, type Trace } from "./trace/types";

const USAGE = `usage: npm run replay -- TRACE [options]

TRACE: a workload trace: SWF (Parallel Workloads Archive), \`sacct --parsable2\` output, or a
Torque accounting log (the format is detected; --format forces it).

Worker policy (defaults: a new stack's):
  --min N               workers.min (static floor)                 [${DEFAULT_SHAPE.min}]
  --max N               workers.max                                [${DEFAULT_SHAPE.max}]
  --idle-timeout S      workers.idleTimeout, seconds               [${DEFAULT_SHAPE.idleTimeout}]
  --launch-timeout S    workers.launchTimeout, seconds             [${DEFAULT_SHAPE.launchTimeout}]
  --cores-per-node N    vCPUs of the workers' flavor               [${DEFAULT_SHAPE.coresPerNode}]
Simulated cloud (defaults measured on the project's test cloud; a real cloud is slower):
  --boot-median S --boot-p95 S             create call to ACTIVE   [${MEASURED_CLOUD.bootMedian} / ${MEASURED_CLOUD.bootP95}]
  --configure-median S --configure-p95 S   ACTIVE to usable (Salt) [${MEASURED_CLOUD.configureMedian} / ${MEASURED_CLOUD.configureP95}]
  --delete-time S                          delete call to gone     [${MEASURED_CLOUD.deleteTime}]
  --failure-rate P      share of boots that end in ERROR, 0..1     [0]
  --quota N             Nova instances quota                       [none]
  --seed N              random seed (same seed, same result)       [1]
Sweep and output:
  --sweep-max LIST      workers.max values, e.g. 16,32,64          [around --max]
  --sweep-idle LIST     idleTimeout values, seconds                [60,300,600,1800,3600]
  --no-sweep            only the given point
  --wait-target S       recommend the cheapest point with p95 wait <= S
  --plot FILE           SVG plot of the sweep                      [replay-sweep.svg]
  --json FILE           all results as JSON
  --format swf|sacct|torque
  --limit N             replay only the first N jobs
  --partition NAME      replay only the jobs of one partition (Slurm), queue (Torque) or
                        partition number (SWF): size one worker pool (pools[*]) from its jobs
  --pools FILE          replay several worker pools at once: FILE holds \`workers\` and
                        \`pools\` as pulumi config does, each with coresPerNode (docs/replay.md);
                        replaces --min/--max/--idle-timeout/--cores-per-node, sweeps each pool
  --threads N           replays run at once (worker threads)       [cores]
  -h, --help`;

/** A usage error: exit 2 with the message. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
    let args;
    try {
        args = parseArgs({
            args: argv,
            allowPositionals: true,
            options: {
                min: { type: "string" },
                max: { type: "string" },
                "idle-timeout": { type: "string" },
                "launch-timeout": { type: "string" },
                "cores-per-node": { type: "string" },
                "boot-median": { type: "string" },
                "boot-p95": { type: "string" },
                "configure-median": { type: "string" },
                "configure-p95": { type: "string" },
                "delete-time": { type: "string" },
                "failure-rate": { type: "string" },
                quota: { type: "string" },
                seed: { type: "string" },
                "sweep-max": { type: "string" },
                "sweep-idle": { type: "string" },
                "no-sweep": { type: "boolean" },
                "wait-target": { type: "string" },
                plot: { type: "string" },
                json: { type: "string" },
                format: { type: "string" },
                limit: { type: "string" },
                partition: { type: "string" },
                pools: { type: "string" },
                threads: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (err) {
        throw new UsageError(`${(err as Error).message}\n\n${USAGE}`);
    }
    const o = args.values;
    if (o.help) {
        console.log(USAGE);
        return 0;
    }
    if (args.positionals.length !== 1) {
        throw new UsageError(
            `give exactly one trace file (got ${args.positionals.length})\n\n${USAGE}`,
        );
    }
    const poolsFile = o.pools === undefined ? undefined : readPoolsFile(o.pools);
    const shape: WorkerShape = {
        min: int(o.min, "--min", DEFAULT_SHAPE.min, 0),
        max: int(o.max, "--max", DEFAULT_SHAPE.max, 1),
        idleTimeout: num(o["idle-timeout"], "--idle-timeout", DEFAULT_SHAPE.idleTimeout, 1),
        launchTimeout: num(
            o["launch-timeout"],
            "--launch-timeout",
            poolsFile?.launchTimeout ?? DEFAULT_SHAPE.launchTimeout,
            1,
        ),
        coresPerNode: int(o["cores-per-node"], "--cores-per-node", DEFAULT_SHAPE.coresPerNode, 1),
    };
    if (shape.min > shape.max) {
        throw new UsageError(
            `--min (${shape.min}) is above --max (${shape.max}); workers.min <= workers.max`,
        );
    }
    const cloud: CloudModel = {
        bootMedian: num(o["boot-median"], "--boot-median", MEASURED_CLOUD.bootMedian, 0),
        bootP95: num(
            o["boot-p95"],
            "--boot-p95",
            o["boot-median"] ? Number(o["boot-median"]) * 2 : MEASURED_CLOUD.bootP95,
            0,
        ),
        configureMedian: num(
            o["configure-median"],
            "--configure-median",
            MEASURED_CLOUD.configureMedian,
            0,
        ),
        configureP95: num(
            o["configure-p95"],
            "--configure-p95",
            o["configure-median"]
                ? Number(o["configure-median"]) * 1.6
                : MEASURED_CLOUD.configureP95,
            0,
        ),
        deleteTime: num(o["delete-time"], "--delete-time", MEASURED_CLOUD.deleteTime, 0),
        failureRate: num(o["failure-rate"], "--failure-rate", 0, 0),
        quota: o.quota === undefined ? undefined : int(o.quota, "--quota", 0, 1),
        suspendTimeout: MEASURED_CLOUD.suspendTimeout,
    };
    if (cloud.quota !== undefined && cloud.quota < shape.min) {
        throw new UsageError(
            `--quota (${cloud.quota}) is below --min (${shape.min}): the static floor would not fit the instances quota`,
        );
    }
    if (cloud.failureRate >= 1)
        throw new UsageError("--failure-rate must be below 1 (a share of boots, e.g. 0.02)");
    if (cloud.bootP95 < cloud.bootMedian || cloud.configureP95 < cloud.configureMedian) {
        throw new UsageError(
            "a p95 must be at least its median (--boot-p95 >= --boot-median, --configure-p95 >= --configure-median)",
        );
    }
    const seed = int(o.seed, "--seed", 1, 0);
    const threadsWanted = o.threads === undefined ? undefined : int(o.threads, "--threads", 1, 1);
    const format = o.format as Trace["format"] | undefined;
    if (format !== undefined && !["swf", "sacct", "torque"].includes(format)) {
        throw new UsageError(`--format must be swf, sacct or torque (got "${format}")`);
    }
    if (poolsFile) {
        const clash = [
            "min",
            "max",
            "idle-timeout",
            "cores-per-node",
            "partition",
            "sweep-max",
        ].filter((flag) => o[flag as keyof typeof o] !== undefined);
        if (clash.length) {
            throw new UsageError(
                `with --pools, each pool's min, max, idleTimeout and coresPerNode come from the file, its partition's jobs from the mapping, and its sweep from its max: drop ${clash.map((f) => `--${f}`).join(", ")}`,
            );
        }
        const floor = poolsFile.pools.reduce((sum, p) => sum + p.min, 0);
        if (cloud.quota !== undefined && cloud.quota < floor) {
            throw new UsageError(
                `--quota (${cloud.quota}) is below the pools' floors (${floor} static workers): they would not fit the instances quota`,
            );
        }
    }
    const trace = readTraceFile(args.positionals[0]!, format);
    const limit = o.limit === undefined ? undefined : int(o.limit, "--limit", 0, 1);
    const ofPartition =
        o.partition === undefined ? trace.jobs : jobsOfPartition(trace, o.partition);
    const jobs = limit === undefined ? ofPartition : ofPartition.slice(0, limit);
    console.log(traceSummary(trace, jobs.length));
    console.log(
        `\nsimulated cloud: boot median ${cloud.bootMedian} s (p95 ${cloud.bootP95}), configure median ${cloud.configureMedian} s (p95 ${cloud.configureP95}), delete ${cloud.deleteTime} s, failure rate ${cloud.failureRate}${cloud.quota ? `, quota ${cloud.quota}` : ""}; seed ${seed}` +
            (o["boot-median"]
                ? ""
                : "\n  (measured on the project's test cloud; a real cloud boots slower: set --boot-median/--boot-p95)"),
    );

    const sweep = !o["no-sweep"];
    const waitTarget =
        o["wait-target"] === undefined ? undefined : num(o["wait-target"], "--wait-target", 0, 0);
    if (poolsFile) {
        const poolsBar = progress(1);
        return replayPools({
            jobs,
            pools: poolsFile.pools,
            launchTimeout: shape.launchTimeout,
            cloud,
            seed,
            sweepIdle: o["sweep-idle"]
                ? list(o["sweep-idle"], "--sweep-idle", 1, false)
                : undefined,
            sweep,
            waitTarget,
            plot: o.plot ?? "replay-sweep.svg",
            json: o.json,
            threads: threadsWanted,
            onProgress: (finished, total) => {
                poolsBar?.setTotal(total);
                poolsBar?.update(finished);
            },
            log: (line) => console.log(line),
        }).finally(() => poolsBar?.stop());
    }
    const defaults = defaultGrid(shape);
    const sweepMax = o["sweep-max"]
        ? list(o["sweep-max"], "--sweep-max", shape.min, true)
        : defaults.max;
    const sweepIdle = o["sweep-idle"]
        ? list(o["sweep-idle"], "--sweep-idle", 1, false)
        : defaults.idle;
    const grid: Array<Pick<WorkerShape, "max" | "idleTimeout">> = sweep
        ? sweepMax.flatMap((max) => sweepIdle.map((idleTimeout) => ({ max, idleTimeout })))
        : [];
    const tasks = pointAndSweepTasks({ shape, cloud, seed }, grid);
    const threads = threadsWanted ?? defaultThreads(tasks.length);
    const bar = progress(tasks.length * jobs.length);
    const results = await replayBatch(jobs, tasks, {
        threads,
        onProgress: (finished) => bar?.update(finished),
    });
    bar?.stop();
    const [service, fixed, original, naive] = results as [
        PolicyResult,
        PolicyResult,
        PolicyResult,
        PolicyResult,
    ];
    const limitRow = foresight(fixed);
    const points: SweepPoint[] = grid.map((point, i) => ({
        ...point,
        result: results[POINT_POLICIES.length + i]!,
        pareto: false,
    }));
    const naiveResults = results.slice(POINT_POLICIES.length + grid.length);
    let naiveCurve: NaivePoint[] = [];
    const rows = [service, fixed, original, naive, limitRow];
    console.log(
        `\nworkers.min ${shape.min}, workers.max ${shape.max}, idleTimeout ${shape.idleTimeout} s, ${shape.coresPerNode} cores per node:`,
    );
    console.log(policyTable(rows));
    console.log(`\nwhere the node-hours and the mean wait went:`);
    console.log(splitTable(rows));
    const speed = (r: PolicyResult) => Math.round(r.jobs / Math.max(r.wallMs / 1000, 1e-6));
    console.log(
        `\nreplay speed: service ${speed(service).toLocaleString("en-US")} jobs/s (decide() ${Math.round(service.decideMs ?? 0)} ms of ${Math.round(service.wallMs)} ms, ${service.rounds} rounds), original ${speed(original).toLocaleString("en-US")} jobs/s, static ${speed(fixed).toLocaleString("en-US")} jobs/s`,
    );
    let chosen: SweepPoint | undefined;
    if (sweep) {
        markPareto(points);
        const target = waitTarget;
        chosen = choose(points, target);
        console.log(
            `\nsweep (service policy; * = Pareto front, > = recommended; not run = never fit + never ran):`,
        );
        console.log(sweepTable(points, chosen));
        naiveCurve = againstNaive(
            points,
            sweepIdleTimeouts(grid).map((idleTimeout, i) => ({
                idleTimeout,
                result: naiveResults[i]!,
            })),
        );
        const beaten = naiveCurve.filter((n) => n.beatenBy).length;
        console.log(
            `\nnaive reference (no queue, no maximum, most recently freed node first; a lower bound on waits for its idle timeout):`,
        );
        console.log(naiveTable(naiveCurve));
        console.log(
            beaten === naiveCurve.length
                ? `the sweep beats every point of the naive curve (${beaten} of ${naiveCurve.length})`
                : `the sweep beats ${beaten} of ${naiveCurve.length} naive points: where it does not, a thinking policy loses to one that does not think`,
        );
        const plotFile = o.plot ?? "replay-sweep.svg";
        writeFileSync(
            plotFile,
            sweepSvg(
                `${trace.source}: cost and wait by workers.max / idleTimeout`,
                points,
                [fixed, original, limitRow],
                chosen,
                naiveCurve,
            ),
        );
        console.log(`\nplot: ${plotFile}`);
        if (chosen) {
            console.log(
                target === undefined
                    ? `\nrecommended (cheapest Pareto point within 10 % of the best mean wait):`
                    : `\nrecommended (cheapest Pareto point with p95 wait <= ${target} s):`,
            );
            for (const line of configCommands({
                min: shape.min,
                max: chosen.max,
                idleTimeout: chosen.idleTimeout,
            })) {
                console.log(`  ${line}`);
            }
        } else {
            console.log(
                target === undefined
                    ? "\nno point to recommend: every sweep point left jobs unrun or unfit (raise --sweep-max)"
                    : `\nno sweep point meets a p95 wait of ${target} s: raise --sweep-max or the target`,
            );
        }
    }
    if (o.json) {
        writeFileSync(
            o.json,
            JSON.stringify(
                {
                    trace: { source: trace.source, format: trace.format, jobs: jobs.length },
                    shape,
                    cloud,
                    seed,
                    policies: rows,
                    sweep: points,
                    naive: naiveCurve,
                    chosen,
                },
                null,
                2,
            ) + "\n",
        );
        console.log(`results: ${o.json}`);
    }
    return 0;
}

/** A progress bar on stderr when it is a terminal (none in logs and CI). */
function progress(total: number): SingleBar | undefined {
    if (!process.stderr.isTTY) return undefined;
    const bar = new SingleBar({
        format: "replaying [{bar}] {percentage}% | {value}/{total} job-runs | ETA {eta_formatted}",
        stream: process.stderr,
        hideCursor: true,
    });
    bar.start(total, 0);
    return bar;
}

function num(text: string | undefined, flag: string, fallback: number, min: number): number {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value) || value < min) {
        throw new UsageError(`${flag} must be a number >= ${min} (got "${text}")`);
    }
    return value;
}

function int(text: string | undefined, flag: string, fallback: number, min: number): number {
    const value = num(text, flag, fallback, min);
    if (!Number.isInteger(value))
        throw new UsageError(`${flag} must be a whole number (got "${text}")`);
    return value;
}

function list(text: string, flag: string, min: number, integer: boolean): number[] {
    const values = text
        .split(",")
        .map((part) => (integer ? int : num)(part.trim(), flag, 0, Math.max(min, 1)));
    return [...new Set(values)].sort((a, b) => a - b);
}

main(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        if (
            err instanceof UsageError ||
            err instanceof TraceError ||
            err instanceof PoolsFileError
        ) {
            console.error(`replay: ${err.message}`);
            process.exitCode = 2;
        } else {
            throw err;
        }
    },
);
