/**
 * The replay CLI's pools mode (`--pools FILE`): the trace's jobs mapped to the pools'
 * partitions, the whole cluster replayed under the service policy and as a static cluster, a row
 * per pool, then each pool's sweep (its max x its partition's idle timeout, the other pools at
 * their point) with its Pareto front, plot and the `pulumi config` commands for its recommended
 * point. The simulation is simulate.ts's; the file and the mapping are pools.ts's.
 */
import { writeFileSync } from "node:fs";
import type { CloudModel, PolicyResult, PoolResult, PoolShape, WorkerShape } from "./model";
import { defaultThreads, replayBatch, type ReplayTask } from "./batch";
import { foresight } from "./simulate";
import { choose, defaultGrid, markPareto, type SweepPoint } from "./sweep";
import { sweepSvg } from "./plot";
import {
    NO_PARTITION,
    mapJobsToPools,
    partitionView,
    poolConfigCommands,
    type PoolMapping,
    type ReplayPool,
} from "./pools";
import { duration, policyTable, ratioText, splitTable, sweepTable, table } from "./table";
import type { TraceJob } from "./trace/types";

/** What the pools mode needs from the CLI. */
export interface PoolsRun {
    jobs: readonly TraceJob[];
    pools: readonly ReplayPool[];
    launchTimeout: number;
    cloud: CloudModel;
    seed: number;
    /** Idle timeouts of the sweep; undefined: each pool's default grid. */
    sweepIdle?: number[];
    sweep: boolean;
    waitTarget?: number;
    /** Plot file name: one per pool, `<stem>-<pool>.svg`. */
    plot: string;
    json?: string;
    /** Replays at once; default one per core. */
    threads?: number;
    onProgress?: (finished: number, total: number) => void;
    log: (line: string) => void;
}

/** One pool's sweep. */
interface PoolSweep {
    pool: ReplayPool;
    points: SweepPoint[];
    chosen?: SweepPoint;
}

/** Runs the pools mode; returns the exit code. */
export async function replayPools(run: PoolsRun): Promise<number> {
    const { pools, log } = run;
    const mapping = mapJobsToPools(run.jobs, pools);
    log(mappingSummary(mapping, pools));
    const shape: WorkerShape = { ...pools[0]!, launchTimeout: run.launchTimeout };
    const base = { shape, cloud: run.cloud, seed: run.seed, pools: pools.map(poolShape) };
    const grids = pools.map((pool) => {
        const defaults = defaultGrid({ ...shape, ...pool });
        const idle = run.sweepIdle ?? defaults.idle;
        return run.sweep
            ? defaults.max.flatMap((max) => idle.map((idleTimeout) => ({ max, idleTimeout })))
            : [];
    });
    const tasks: ReplayTask[] = [
        { policy: "service", options: base },
        { policy: "static", options: base },
        ...grids.flatMap((grid, i) =>
            grid.map((point): ReplayTask => ({
                policy: "service",
                options: { ...base, pools: withPoint(base.pools, i, point) },
            })),
        ),
    ];
    const total = tasks.length * mapping.jobs.length;
    const results = await replayBatch(mapping.jobs, tasks, {
        threads: run.threads ?? defaultThreads(tasks.length),
        onProgress: (finished) => run.onProgress?.(finished, total),
    });
    const [service, fixed] = results as [PolicyResult, PolicyResult];
    const limit = foresight(fixed);
    log(`\nthe whole cluster, ${pools.length} pools (launchTimeout ${run.launchTimeout} s):`);
    log(policyTable([service, fixed, limit]));
    log(`\nwhere the node-hours and the mean wait went:`);
    log(splitTable([service, fixed, limit]));
    log(`\nper pool, under the service policy (waits are those of the pool's partition's jobs):`);
    log(poolTable(pools, service.pools!, fixed.pools!));

    const sweeps: PoolSweep[] = [];
    let offset = 2;
    for (const [i, pool] of pools.entries()) {
        const grid = grids[i]!;
        const points: SweepPoint[] = grid.map((point, k) => ({
            ...point,
            result: partitionView(results[offset + k]!, i),
            pareto: false,
        }));
        offset += grid.length;
        if (!points.length) continue;
        markPareto(points);
        const chosen = choose(points, run.waitTarget);
        sweeps.push({ pool, points, chosen });
        const mates = pools.filter((p) => p.partition === pool.partition && p !== pool);
        log(
            `\nsweep of pool ${pool.name} (${pool.configPath}; partition ${pool.partition}` +
                (mates.length
                    ? `, shared with ${mates.map((p) => p.name).join(", ")}: their node-hours included, the idle timeout theirs too`
                    : "") +
                `; the other pools at their point):`,
        );
        log(sweepTable(points, chosen));
        const file = plotFile(run.plot, pool.name);
        writeFileSync(
            file,
            sweepSvg(
                `pool ${pool.name} (partition ${pool.partition}): cost and wait by max / idleTimeout`,
                points,
                [partitionView(fixed, i, "static"), partitionView(limit, i, "foresight")],
                chosen,
            ),
        );
        log(`plot: ${file}`);
        if (chosen) {
            log(
                run.waitTarget === undefined
                    ? `recommended (cheapest Pareto point within 10 % of the best mean wait):`
                    : `recommended (cheapest Pareto point with p95 wait <= ${run.waitTarget} s):`,
            );
            for (const line of poolConfigCommands(pool, mates, chosen)) log(`  ${line}`);
        } else {
            log(
                run.waitTarget === undefined
                    ? "no point to recommend: every sweep point left jobs of this partition unrun or unfit"
                    : `no sweep point meets a p95 wait of ${run.waitTarget} s`,
            );
        }
    }
    if (run.json) {
        writeFileSync(
            run.json,
            JSON.stringify(
                {
                    pools,
                    launchTimeout: run.launchTimeout,
                    cloud: run.cloud,
                    seed: run.seed,
                    mapping: {
                        partitions: mapping.partitions,
                        unmatched: Object.fromEntries(mapping.unmatched),
                    },
                    policies: [service, fixed, limit],
                    sweeps: sweeps.map((s) => ({
                        pool: s.pool.name,
                        points: s.points,
                        chosen: s.chosen,
                    })),
                },
                null,
                2,
            ) + "\n",
        );
        log(`results: ${run.json}`);
    }
    return 0;
}

/** The simulation's view of a pool (without the file's bookkeeping). */
function poolShape(pool: ReplayPool): Required<PoolShape> {
    return {
        name: pool.name,
        min: pool.min,
        max: pool.max,
        idleTimeout: pool.idleTimeout,
        coresPerNode: pool.coresPerNode,
        partition: pool.partition,
        minIdle: pool.minIdle,
    };
}

/**
 * The pools with pool `index` at a sweep point: its max, and the idle timeout of every pool of
 * its partition (Slurm keeps one per partition). A max below the pool's floor takes the floor.
 */
function withPoint(
    pools: ReadonlyArray<Required<PoolShape>>,
    index: number,
    point: { max: number; idleTimeout: number },
): Array<Required<PoolShape>> {
    const partition = pools[index]!.partition;
    return pools.map((p, i) => {
        const max = i === index ? Math.max(point.max, p.min) : p.max;
        return {
            ...p,
            max,
            // Slurm ignores a SuspendExcNodes count above the set's size.
            minIdle: Math.min(p.minIdle, max - p.min),
            idleTimeout: p.partition === partition ? point.idleTimeout : p.idleTimeout,
        };
    });
}

function plotFile(plot: string, pool: string): string {
    const stem = plot.endsWith(".svg") ? plot.slice(0, -4) : plot;
    return `${stem}-${pool}.svg`;
}

/** How the trace's jobs were given to the pools' partitions. */
export function mappingSummary(mapping: PoolMapping, pools: readonly ReplayPool[]): string {
    const lines = ["\njobs per partition:"];
    for (const p of mapping.partitions) {
        const owners = pools
            .filter((pool) => pool.partition === p.partition)
            .map((pool) => pool.name);
        const how = [
            p.byTrace && `${p.byTrace} the trace puts there`,
            p.bySelector && `${p.bySelector} taken by a pool's jobs selector`,
            p.byDefault && `${p.byDefault} by default (the default pool's partition)`,
        ].filter(Boolean);
        lines.push(
            `  ${p.partition} (pool ${owners.join(", ")}): ${p.byTrace + p.bySelector + p.byDefault} jobs` +
                (how.length ? `: ${how.join(", ")}` : ""),
        );
    }
    const named = [...mapping.unmatched].filter(([name]) => name !== NO_PARTITION);
    if (named.length) {
        const list = named
            .sort((a, b) => b[1] - a[1])
            .slice(0, 8)
            .map(([name, n]) => `${name} (${n} jobs)`)
            .join(", ");
        lines.push(
            `  note: no pool has the trace's partition ${list}${named.length > 8 ? ", ..." : ""}, and no selector ` +
                `took their jobs: they run in the default partition ${pools[0]!.partition} (give a pool that ` +
                `partition, or a \`jobs: {partitions: [...]}\` selector)`,
        );
    }
    return lines.join("\n");
}

/** One row per pool: its settings, bill and launches, its partition's waits. */
function poolTable(
    pools: readonly ReplayPool[],
    service: readonly PoolResult[],
    fixed: readonly PoolResult[],
): string {
    return table(
        [
            "pool",
            "partition",
            "cores",
            "min",
            "max",
            "idle",
            "warm",
            "node-hours",
            "÷ used",
            "static node-h",
            "jobs",
            "mean wait",
            "p95 wait",
            "not run",
            "peak",
            "launches",
        ],
        pools.map((pool, i) => {
            const r = service[i]!;
            return [
                pool.name,
                pool.partition,
                String(pool.coresPerNode),
                String(pool.min),
                String(pool.max),
                `${pool.idleTimeout} s`,
                String(pool.minIdle),
                r.nodeHours.toFixed(1),
                ratioText(r),
                fixed[i]!.nodeHours.toFixed(1),
                String(r.jobs),
                duration(r.waitMean),
                duration(r.waitP95),
                String(r.neverRan + r.neverFits),
                String(r.peakWorkers),
                String(r.launches),
            ];
        }),
    );
}
