/**
 * Worker pools in the replay (`npm run replay -- TRACE --pools FILE`): the pools file (the
 * stack's `workers` and `pools` settings, as `pulumi config` holds them, each with its flavor's
 * cores), which partition each of a trace's jobs goes to, each pool's view of a replay's result,
 * and the `pulumi config` commands that set a pool's point. The simulation itself is
 * simulate.ts's, with its `pools` option.
 */
import { readFileSync } from "node:fs";
import * as yaml from "js-yaml";
import { z } from "zod";
import { POOL_NAME_PATTERN } from "../lib/nodeNames";
import { WORKER_DEFAULTS, WORKERS_LIMIT } from "../lib/workerDefaults";
import type { PolicyResult, PoolResult, PoolShape } from "./model";
import type { TraceJob } from "./trace/types";

/** Which of a trace's jobs a pool's partition takes when the trace names no partition it has. */
export interface JobSelector {
    /** The trace's partitions (sacct), queues (Torque) or partition numbers (SWF) it takes. */
    partitions?: string[];
    /** Jobs of at least / at most this many cores. */
    minCores?: number;
    maxCores?: number;
}

/** One pool of the file, defaulted as the stack's config defaults it. */
export interface ReplayPool extends PoolShape {
    /** Where `pulumi config` keeps it: `workers` (the default pool) or `pools[i]`. */
    configPath: string;
    /** The jobs its partition takes besides those the trace puts in it. */
    jobs?: JobSelector;
    /** Warm workers (0 when the file sets none). */
    minIdle: number;
}

/** A pools file, read. */
export interface PoolsFile {
    /** The default pool first, then `pools[*]` in order. */
    pools: ReplayPool[];
    /** `workers.launchTimeout`, when the file sets it. */
    launchTimeout?: number;
}

/** The file cannot be used: the message says what to fix. */
export class PoolsFileError extends Error {
    override name = "PoolsFileError";
}

const PARTITION = /^[a-z][a-z0-9_-]{0,31}$/;

const selectorSchema = z
    .strictObject({
        partitions: z.array(z.coerce.string()).min(1).optional(),
        minCores: z.number().int().min(1).optional(),
        maxCores: z.number().int().min(1).optional(),
    })
    .refine(
        (s) => s.minCores === undefined || s.maxCores === undefined || s.minCores <= s.maxCores,
        {
            message: "minCores must be at most maxCores",
        },
    );

/** The settings every pool has in the replay, besides the default pool's and `pools[*]`'s own. */
const poolFields = {
    coresPerNode: z.number().int().min(1).max(4096),
    min: z.number().int().min(0).max(WORKERS_LIMIT).optional(),
    max: z.number().int().min(1).max(WORKERS_LIMIT).optional(),
    idleTimeout: z.number().positive().optional(),
    partition: z.string().regex(PARTITION, "must be a Slurm partition name").optional(),
    jobs: selectorSchema.optional(),
    // The stack's own settings a replay reads past (a pool pasted from `pulumi config`).
    flavor: z.string().optional(),
    fallbackFlavors: z.array(z.string()).optional(),
    image: z.string().optional(),
    availabilityZone: z.string().optional(),
    features: z.array(z.string()).optional(),
    gres: z.string().optional(),
    gresFile: z.string().optional(),
    minIdle: z.number().int().min(0).optional(),
};

const fileSchema = z.strictObject({
    workers: z.strictObject({
        ...poolFields,
        namePrefix: z
            .string()
            .regex(POOL_NAME_PATTERN, "must be lower-case letters and digits, 16 at most")
            .optional(),
        launchTimeout: z.number().positive().optional(),
        drainTimeout: z.number().optional(),
    }),
    pools: z
        .array(
            z.strictObject({
                ...poolFields,
                name: z
                    .string()
                    .regex(POOL_NAME_PATTERN, "must be lower-case letters and digits, 16 at most"),
            }),
        )
        .optional(),
});

/** Reads and checks a pools file (YAML or JSON). @throws PoolsFileError saying what to fix. */
export function readPoolsFile(path: string): PoolsFile {
    let text: string;
    try {
        text = readFileSync(path, "utf8");
    } catch (err) {
        throw new PoolsFileError(`cannot read the pools file ${path}: ${(err as Error).message}`);
    }
    return parsePoolsFile(text, path);
}

/** {@link readPoolsFile} of text. */
export function parsePoolsFile(text: string, source: string): PoolsFile {
    let raw: unknown;
    try {
        raw = yaml.load(text);
    } catch (err) {
        throw new PoolsFileError(`${source} is not YAML or JSON: ${(err as Error).message}`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
        const problems = parsed.error.issues.map(
            (issue) => `  ${issue.path.join(".") || "(the file)"}: ${issue.message}`,
        );
        throw new PoolsFileError(
            `${source} is not a pools file:\n${problems.join("\n")}\n` +
                `A pools file has \`workers\` (the default pool) and optionally \`pools\` (a list), as ` +
                `\`pulumi config\` holds them, each with coresPerNode (its flavor's vCPUs); see docs/replay.md.`,
        );
    }
    const { workers, pools = [] } = parsed.data;
    const idleTimeout = workers.idleTimeout ?? WORKER_DEFAULTS.idleTimeout;
    const all: ReplayPool[] = [
        {
            name: workers.namePrefix ?? WORKER_DEFAULTS.namePrefix,
            configPath: "workers",
            coresPerNode: workers.coresPerNode,
            min: workers.min ?? WORKER_DEFAULTS.min,
            max: workers.max ?? WORKER_DEFAULTS.max,
            idleTimeout,
            partition: workers.partition ?? "batch",
            minIdle: workers.minIdle ?? 0,
            jobs: workers.jobs,
        },
        ...pools.map((p, i) => ({
            name: p.name,
            configPath: `pools[${i}]`,
            coresPerNode: p.coresPerNode,
            min: p.min ?? 0,
            max: p.max ?? WORKER_DEFAULTS.max,
            idleTimeout: p.idleTimeout ?? idleTimeout,
            partition: p.partition ?? p.name,
            minIdle: p.minIdle ?? 0,
            jobs: p.jobs,
        })),
    ];
    const problems: string[] = [];
    const names = new Map<string, string>();
    const idleOf = new Map<string, ReplayPool>();
    for (const pool of all) {
        const other = names.get(pool.name);
        if (other) problems.push(`${pool.configPath}: the name "${pool.name}" is ${other}'s too`);
        names.set(pool.name, pool.configPath);
        if (pool.min > pool.max) {
            problems.push(`${pool.configPath}: min (${pool.min}) is above max (${pool.max})`);
        } else if (pool.minIdle > pool.max - pool.min) {
            problems.push(
                `${pool.configPath}: minIdle (${pool.minIdle}) is above its burst workers (max - min = ${pool.max - pool.min})`,
            );
        }
        const sharing = idleOf.get(pool.partition);
        if (sharing && sharing.idleTimeout !== pool.idleTimeout) {
            problems.push(
                `${pool.configPath}: idleTimeout ${pool.idleTimeout} differs from ${sharing.configPath}'s ` +
                    `(${sharing.idleTimeout}) in the same partition "${pool.partition}" (Slurm keeps one ` +
                    `SuspendTime per partition)`,
            );
        }
        if (!sharing) idleOf.set(pool.partition, pool);
    }
    const total = all.reduce((sum, p) => sum + p.max, 0);
    if (total > WORKERS_LIMIT) {
        problems.push(`the pools' max add up to ${total}, above ${WORKERS_LIMIT} workers`);
    }
    if (problems.length) {
        throw new PoolsFileError(`${source}: ${problems.join("; ")}`);
    }
    return { pools: all, launchTimeout: workers.launchTimeout };
}

/** {@link PoolMapping.unmatched}'s key for jobs the trace puts in no partition. */
export const NO_PARTITION = "";

/** How a trace's jobs were given partitions. */
export interface PoolMapping {
    /** The jobs, each with the partition it runs in. */
    jobs: TraceJob[];
    /** Jobs per partition, and how they got there. */
    partitions: Array<{
        partition: string;
        byTrace: number;
        bySelector: number;
        byDefault: number;
    }>;
    /**
     * The trace's partitions no pool has and no selector took ({@link NO_PARTITION} for jobs that
     * name none), with their jobs: they run in the default partition.
     */
    unmatched: Map<string, number>;
}

/**
 * Gives each job the partition it runs in: its own when a pool's partition has that name; else
 * the partition of the first pool whose `jobs` selector takes it; else the default pool's (the
 * cluster's default partition, where a job that names none goes).
 */
export function mapJobsToPools(
    jobs: readonly TraceJob[],
    pools: readonly ReplayPool[],
): PoolMapping {
    const served = new Set(pools.map((p) => p.partition));
    const counts = new Map(
        pools.map((p) => [
            p.partition,
            { partition: p.partition, byTrace: 0, bySelector: 0, byDefault: 0 },
        ]),
    );
    const unmatched = new Map<string, number>();
    const fallback = pools[0]!.partition;
    const mapped = jobs.map((job) => {
        let partition: string;
        if (job.partition !== undefined && served.has(job.partition)) {
            partition = job.partition;
            counts.get(partition)!.byTrace++;
        } else {
            const pool = pools.find((p) => p.jobs && selects(p.jobs, job));
            if (pool) {
                partition = pool.partition;
                counts.get(partition)!.bySelector++;
            } else {
                partition = fallback;
                counts.get(partition)!.byDefault++;
                const from = job.partition ?? NO_PARTITION;
                unmatched.set(from, (unmatched.get(from) ?? 0) + 1);
            }
        }
        return job.partition === partition ? job : { ...job, partition };
    });
    return { jobs: mapped, partitions: [...counts.values()], unmatched };
}

function selects(selector: JobSelector, job: TraceJob): boolean {
    if (
        selector.partitions &&
        (job.partition === undefined || !selector.partitions.includes(job.partition))
    )
        return false;
    if (selector.minCores !== undefined && job.processors < selector.minCores) return false;
    if (selector.maxCores !== undefined && job.processors > selector.maxCores) return false;
    return true;
}

/**
 * A replay's result as one pool's partition saw it: the node-hours of the pools in that
 * partition, the waits and unrun jobs of its jobs, its pools' peak and launches; the rest of the
 * whole replay's. What a pool's sweep compares.
 */
export function partitionView(
    result: PolicyResult,
    poolIndex: number,
    label = result.policy,
): PolicyResult {
    const pools = result.pools;
    const pool = pools?.[poolIndex];
    if (!pools || !pool) throw new Error("internal: a partition view needs a replay with pools");
    const mates = pools.filter((p) => p.partition === pool.partition);
    const sum = (f: (p: PoolResult) => number) => mates.reduce((t, p) => t + f(p), 0);
    const nodeHours = sum((p) => p.nodeHours);
    const usedNodeHours = sum((p) => p.usedNodeHours);
    return {
        ...result,
        policy: label,
        nodeHours,
        usedNodeHours,
        // Not split further per pool: used, and the rest.
        split: { used: usedNodeHours, idle: nodeHours - usedNodeHours, booting: 0, deleting: 0 },
        waitMean: pool.waitMean,
        waitP95: pool.waitP95,
        waitMax: pool.waitMax,
        jobs: pool.jobs,
        neverRan: pool.neverRan,
        neverFits: pool.neverFits,
        peakWorkers: sum((p) => p.peakWorkers),
        launches: sum((p) => p.launches),
        pools: undefined,
    };
}

/**
 * The exact commands that give a pool this point: its max, and the idle timeout of every pool of
 * its partition (`mates`: Slurm keeps one per partition, and the config must agree).
 */
export function poolConfigCommands(
    pool: Pick<ReplayPool, "configPath">,
    mates: ReadonlyArray<Pick<ReplayPool, "configPath">>,
    point: { max: number; idleTimeout: number },
): string[] {
    return [
        `pulumi config set --path '${pool.configPath}.max' ${point.max}`,
        ...[pool, ...mates].map(
            (p) => `pulumi config set --path '${p.configPath}.idleTimeout' ${point.idleTimeout}`,
        ),
    ];
}
