/**
 * Worker pools in the replay (replay/pools.ts, simulate.ts's `pools`): the pools file (defaults as
 * the stack's config gives them, every mistake named), the jobs' mapping to partitions (the
 * trace's partition, a pool's selector, the default partition), and the simulation of several
 * pools in one cluster: one pool through `pools` replays exactly as without, a job runs only on
 * its partition's pools' nodes, no pool exceeds its max, pools of one partition share its jobs,
 * a two-pool trace whose figures are derived by hand, and properties over random traces.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { PolicyResult, PoolShape } from "../../replay/model";
import {
    NO_PARTITION,
    PoolsFileError,
    mapJobsToPools,
    parsePoolsFile,
    partitionView,
    poolConfigCommands,
} from "../../replay/pools";
import { replay } from "../../replay/simulate";
import { readTraceFile } from "../../replay/trace";
import type { TraceJob } from "../../replay/trace/types";
import { SHORT_BOOT_CLOUD } from "../helpers/fixedCloud";

/** Boots take exactly 20 s to ACTIVE and 10 s more to register; deletes 5 s. */
const FIXED_CLOUD = SHORT_BOOT_CLOUD;

describe("replay: the pools file", () => {
    it("defaults each pool as the stack's config does", () => {
        const file = parsePoolsFile(
            `workers: {coresPerNode: 8, max: 16, idleTimeout: 300}
pools:
  - {name: gpu, coresPerNode: 4, max: 2}
  - {name: big, coresPerNode: 32, min: 1, max: 3, partition: batch, idleTimeout: 300, flavor: m1.xlarge}
`,
            "pools.yaml",
        );
        assert.deepEqual(file.pools, [
            {
                name: "compute",
                configPath: "workers",
                coresPerNode: 8,
                min: 0,
                max: 16,
                idleTimeout: 300,
                partition: "batch",
                minIdle: 0,
                jobs: undefined,
            },
            {
                name: "gpu",
                configPath: "pools[0]",
                coresPerNode: 4,
                min: 0,
                max: 2,
                idleTimeout: 300,
                partition: "gpu",
                minIdle: 0,
                jobs: undefined,
            },
            {
                name: "big",
                configPath: "pools[1]",
                coresPerNode: 32,
                min: 1,
                max: 3,
                idleTimeout: 300,
                partition: "batch",
                minIdle: 0,
                jobs: undefined,
            },
        ]);
        assert.equal(file.launchTimeout, undefined);
        // JSON is YAML too.
        const json = parsePoolsFile(
            JSON.stringify({
                workers: { coresPerNode: 2, max: 4, minIdle: 1, launchTimeout: 600 },
            }),
            "pools.json",
        );
        assert.equal(json.launchTimeout, 600);
        assert.equal(json.pools[0]!.minIdle, 1);
    });

    for (const [what, text, message] of [
        ["a file that is not YAML", "workers: [", /is not YAML or JSON/],
        ["a pool without its cores", "workers: {max: 4}", /workers\.coresPerNode: /],
        [
            "a setting that is not a pool's",
            "workers: {coresPerNode: 2}\npools: [{name: gpu, coresPerNode: 2, maxx: 3}]",
            /pools\.0: Unrecognized key: "maxx"/,
        ],
        [
            "a name two pools have",
            "workers: {coresPerNode: 2, namePrefix: gpu}\npools: [{name: gpu, coresPerNode: 2}]",
            /pools\[0\]: the name "gpu" is workers's too/,
        ],
        [
            "min above max",
            "workers: {coresPerNode: 2, min: 5, max: 4}",
            /workers: min \(5\) is above max \(4\)/,
        ],
        [
            "two idle timeouts in one partition",
            "workers: {coresPerNode: 2, idleTimeout: 60}\npools: [{name: big, coresPerNode: 8, partition: batch, idleTimeout: 600}]",
            /pools\[0\]: idleTimeout 600 differs from workers's \(60\) in the same partition "batch"/,
        ],
        [
            "more warm workers than burst workers",
            "workers: {coresPerNode: 2, min: 1, max: 3, minIdle: 3}",
            /workers: minIdle \(3\) is above its burst workers \(max - min = 2\)/,
        ],
        [
            "a selector with minCores above maxCores",
            "workers: {coresPerNode: 2}\npools: [{name: big, coresPerNode: 8, jobs: {minCores: 9, maxCores: 4}}]",
            /minCores must be at most maxCores/,
        ],
    ] as const) {
        it(`refuses ${what}, saying what to fix`, () => {
            assert.throws(
                () => parsePoolsFile(text, "pools.yaml"),
                (err: unknown) => err instanceof PoolsFileError && message.test(err.message),
            );
        });
    }
});

describe("replay: jobs to partitions", () => {
    const pools = parsePoolsFile(
        `workers: {coresPerNode: 4}
pools:
  - {name: gpu, coresPerNode: 4, jobs: {partitions: [3, 4]}}
  - {name: big, coresPerNode: 32, jobs: {minCores: 17}}
  - {name: wide, coresPerNode: 32, jobs: {minCores: 9}}
`,
        "pools.yaml",
    ).pools;
    const job = (id: string, processors: number, partition?: string): TraceJob => ({
        id,
        submit: 0,
        runtime: 60,
        processors,
        partition,
    });

    it("takes the trace's partition, else the first selector that matches, else the default", () => {
        const mapping = mapJobsToPools(
            [
                job("named", 64, "gpu"), // a partition a pool has: kept, whatever its size
                job("swf3", 2, "3"), // SWF partition numbers through a selector
                job("huge", 64), // minCores 17 (big) before minCores 9 (wide)
                job("mid", 12, "debug"), // wide
                job("small", 2, "debug"), // no pool, no selector: the default partition
                job("plain", 1),
            ],
            pools,
        );
        assert.deepEqual(
            mapping.jobs.map((j) => [j.id, j.partition]),
            [
                ["named", "gpu"],
                ["swf3", "gpu"],
                ["huge", "big"],
                ["mid", "wide"],
                ["small", "batch"],
                ["plain", "batch"],
            ],
        );
        assert.deepEqual(mapping.partitions, [
            { partition: "batch", byTrace: 0, bySelector: 0, byDefault: 2 },
            { partition: "gpu", byTrace: 1, bySelector: 1, byDefault: 0 },
            { partition: "big", byTrace: 0, bySelector: 1, byDefault: 0 },
            { partition: "wide", byTrace: 0, bySelector: 1, byDefault: 0 },
        ]);
        assert.deepEqual(
            [...mapping.unmatched],
            [
                ["debug", 1],
                [NO_PARTITION, 1],
            ],
        );
    });

    it("gives the config commands of a pool's point, the idle timeout to every pool of its partition", () => {
        assert.deepEqual(
            poolConfigCommands({ configPath: "pools[1]" }, [{ configPath: "workers" }], {
                max: 6,
                idleTimeout: 120,
            }),
            [
                "pulumi config set --path 'pools[1].max' 6",
                "pulumi config set --path 'pools[1].idleTimeout' 120",
                "pulumi config set --path 'workers.idleTimeout' 120",
            ],
        );
    });
});

/** The first `count` jobs of the Lublin model trace, each given a partition by `partitionOf`. */
function lublin(count: number, partitionOf?: (job: TraceJob) => string): TraceJob[] {
    const jobs = readTraceFile(
        path.join(__dirname, "../fixtures/replay/lublin_256.swf"),
    ).jobs.slice(0, count);
    return partitionOf ? jobs.map((j) => ({ ...j, partition: partitionOf(j) })) : jobs;
}

/** Fields that do not depend on where the replay ran. */
function comparable(r: PolicyResult) {
    const { wallMs: _w, decideMs: _d, pools: _p, ...rest } = r;
    return rest;
}

describe("replay: several pools in one cluster", () => {
    it("replays one pool given as `pools` exactly as the one-pool replay", () => {
        const jobs = lublin(400);
        const shape = { min: 2, max: 24, idleTimeout: 300, launchTimeout: 900, coresPerNode: 8 };
        for (const cloud of [
            { ...FIXED_CLOUD, bootP95: 90 },
            { ...FIXED_CLOUD, bootP95: 90, failureRate: 0.05, quota: 12 },
        ]) {
            for (const policy of ["service", "static"] as const) {
                const one = replay(jobs, policy, { shape, cloud, seed: 4 });
                const pooled = replay(
                    jobs.map((j) => ({ ...j, partition: "batch" })),
                    policy,
                    {
                        shape,
                        cloud,
                        seed: 4,
                        pools: [{ ...shape, name: "compute", partition: "batch" }],
                    },
                );
                assert.deepEqual(
                    comparable(pooled),
                    comparable(one),
                    `${policy}, quota ${cloud.quota}`,
                );
                assert.equal(pooled.pools!.length, 1);
                assert.ok(Math.abs(pooled.pools![0]!.nodeHours - one.nodeHours) < 1e-9);
            }
        }
    });

    it("a two-pool trace, by hand: each job boots its own pool's node and runs there", () => {
        // A: 2 cores for 100 s at t=0 in batch (2-core nodes); G: 4 cores for 60 s at t=0 in gpu
        // (4-core nodes). Each resume launches at once; 20 s boot + 10 s to register: both start
        // at t=30. A ends at 130, G at 90; each node is suspended 100 s later (SuspendTime).
        const pools: PoolShape[] = [
            { name: "cpu", min: 0, max: 2, idleTimeout: 100, coresPerNode: 2, partition: "batch" },
            { name: "gpu", min: 0, max: 1, idleTimeout: 100, coresPerNode: 4, partition: "gpu" },
        ];
        const jobs: TraceJob[] = [
            { id: "A", submit: 0, runtime: 100, processors: 2, partition: "batch" },
            { id: "G", submit: 0, runtime: 60, processors: 4, partition: "gpu" },
        ];
        const shape = { ...pools[0]!, launchTimeout: 1200 };
        const r = replay(jobs, "service", { shape, cloud: FIXED_CLOUD, seed: 1, pools });
        const [cpu, gpu] = r.pools!;
        assert.deepEqual(
            [
                cpu!.jobs,
                cpu!.waitMean,
                cpu!.launches,
                cpu!.peakWorkers,
                gpu!.jobs,
                gpu!.waitMean,
                gpu!.launches,
                gpu!.peakWorkers,
            ],
            [1, 30, 1, 1, 1, 30, 1, 1],
        );
        // Used: A's 2 cores x 100 s on a 2-core node; G's 4 x 60 s on a 4-core node.
        assert.ok(Math.abs(cpu!.usedNodeHours - 100 / 3600) < 1e-12);
        assert.ok(Math.abs(gpu!.usedNodeHours - 60 / 3600) < 1e-12);
        // Each pool's bill is its own job's, alone in a cluster of that one pool.
        for (const [i, job] of jobs.entries()) {
            const alone = replay([job], "service", {
                shape: { ...shape, ...pools[i]! },
                cloud: FIXED_CLOUD,
                seed: 1,
            });
            assert.ok(Math.abs(r.pools![i]!.nodeHours - alone.nodeHours) < 1e-12, job.id);
        }
        assert.ok(Math.abs(r.nodeHours - cpu!.nodeHours - gpu!.nodeHours) < 1e-12);
        assert.equal(r.peakBusyNodes, 2);
    });

    it("warm workers (minIdle): Slurm keeps the first idle ones powered, suspends the rest", () => {
        // A 4-core job at t=0 for 100 s on two 2-core nodes (30 s to boot), then a 2-core job at
        // t=1000. Without warm workers both nodes are suspended 100 s after the first job and
        // the second job waits for a boot; with minIdle 1, one node stays powered and the second
        // job starts at once, on it; the other node is suspended as before.
        const jobs: TraceJob[] = [
            { id: "C", submit: 0, runtime: 100, processors: 4, partition: "batch" },
            { id: "D", submit: 1000, runtime: 50, processors: 2, partition: "batch" },
        ];
        const run = (minIdle: number) => {
            const pools: PoolShape[] = [
                {
                    name: "cpu",
                    min: 0,
                    max: 2,
                    idleTimeout: 100,
                    coresPerNode: 2,
                    partition: "batch",
                    minIdle,
                },
            ];
            const shape = { ...pools[0]!, launchTimeout: 1200 };
            return replay(jobs, "service", { shape, cloud: FIXED_CLOUD, seed: 1, pools });
        };
        const cold = run(0);
        const warm = run(1);
        assert.deepEqual([cold.waitMean, cold.launches], [30, 3]);
        assert.deepEqual([warm.waitMean, warm.launches], [15, 2]);
        assert.ok(warm.nodeHours > cold.nodeHours, "a warm worker is paid for while it waits");
        assert.equal(run(2).launches, 2, "minIdle = max - min: every idle worker kept");
    });

    it("pools of one partition share its jobs: a job larger than one pool runs across both", () => {
        const pools: PoolShape[] = [
            {
                name: "small",
                min: 0,
                max: 1,
                idleTimeout: 100,
                coresPerNode: 2,
                partition: "batch",
            },
            {
                name: "large",
                min: 0,
                max: 1,
                idleTimeout: 100,
                coresPerNode: 4,
                partition: "batch",
            },
        ];
        const jobs: TraceJob[] = [
            { id: "W", submit: 0, runtime: 100, processors: 6, partition: "batch" },
            { id: "X", submit: 0, runtime: 100, processors: 7, partition: "batch" }, // never fits
        ];
        const shape = { ...pools[0]!, launchTimeout: 1200 };
        for (const policy of ["service", "static"] as const) {
            const r = replay(jobs, policy, { shape, cloud: FIXED_CLOUD, seed: 1, pools });
            assert.equal(r.neverFits, 1, policy);
            assert.equal(r.neverRan, 0, policy);
            // W held 2 cores of the small node and 4 of the large one, for 100 s: one node each.
            assert.ok(Math.abs(r.pools![0]!.usedNodeHours - 100 / 3600) < 1e-12, policy);
            assert.ok(Math.abs(r.pools![1]!.usedNodeHours - 100 / 3600) < 1e-12, policy);
            assert.deepEqual(
                r.pools!.map((p) => [p.jobs, p.neverFits]),
                [
                    [1, 1],
                    [1, 1],
                ],
            );
            // The partition's view adds both pools' bills.
            const view = partitionView(r, 1);
            assert.ok(Math.abs(view.nodeHours - r.nodeHours) < 1e-12);
        }
    });

    it("over random traces: no pool above its max, jobs only on their partition's nodes, every job that fits runs", () => {
        const scenario = fc.record({
            jobs: fc.array(
                fc.record({
                    submit: fc.integer({ min: 0, max: 3000 }),
                    runtime: fc.integer({ min: 1, max: 900 }),
                    processors: fc.integer({ min: 1, max: 10 }),
                    partition: fc.constantFrom("batch", "gpu", "big"),
                }),
                { minLength: 1, maxLength: 30 },
            ),
            pools: fc.array(
                fc.record({
                    min: fc.integer({ min: 0, max: 1 }),
                    extra: fc.integer({ min: 0, max: 3 }),
                    cores: fc.integer({ min: 1, max: 4 }),
                }),
                { minLength: 3, maxLength: 3 },
            ),
            idle: fc.integer({ min: 1, max: 600 }),
            seed: fc.integer({ min: 0, max: 1000 }),
        });
        fc.assert(
            fc.property(scenario, (s) => {
                // compute in batch, gpu in its own partition, big in batch beside compute.
                const pools: PoolShape[] = (["compute", "gpu", "big"] as const).map((name, i) => ({
                    name,
                    min: s.pools[i]!.min,
                    max: Math.max(1, s.pools[i]!.min + s.pools[i]!.extra),
                    idleTimeout: s.idle,
                    coresPerNode: s.pools[i]!.cores,
                    partition: name === "gpu" ? "gpu" : "batch",
                }));
                const trace: TraceJob[] = s.jobs
                    .map((j, i) => ({
                        id: String(i),
                        ...j,
                        partition: j.partition === "big" ? "batch" : j.partition,
                    }))
                    .sort((a, b) => a.submit - b.submit);
                const capacity = (partition: string) =>
                    pools
                        .filter((p) => p.partition === partition)
                        .reduce((sum, p) => sum + p.max * p.coresPerNode, 0);
                const shape = { ...pools[0]!, launchTimeout: 1200 };
                for (const policy of ["service", "static"] as const) {
                    const r = replay(trace, policy, {
                        shape,
                        cloud: FIXED_CLOUD,
                        seed: s.seed,
                        pools,
                    });
                    const fits = trace.filter((j) => j.processors <= capacity(j.partition!));
                    assert.equal(r.jobs, fits.length, policy);
                    assert.equal(r.neverRan, 0, `${policy}: jobs that fit did not run`);
                    assert.equal(r.requeues, 0, `${policy}: a job went back to the queue`);
                    for (const [i, pool] of pools.entries()) {
                        const p = r.pools![i]!;
                        assert.ok(
                            p.peakWorkers <= pool.max,
                            `${policy}: ${pool.name} above its max`,
                        );
                        assert.ok(
                            p.nodeHours + 1e-9 >= p.usedNodeHours,
                            `${policy}: ${pool.name} billed < used`,
                        );
                    }
                    // gpu's nodes ran exactly the gpu jobs (by the cores they held there).
                    const gpuUsed = fits
                        .filter((j) => j.partition === "gpu")
                        .reduce(
                            (sum, j) => sum + (j.processors * j.runtime) / pools[1]!.coresPerNode,
                            0,
                        );
                    assert.ok(Math.abs(r.pools![1]!.usedNodeHours * 3600 - gpuUsed) < 1e-6, policy);
                    const billed = r.pools!.reduce((sum, p) => sum + p.nodeHours, 0);
                    assert.ok(
                        Math.abs(billed - r.nodeHours) < 1e-9,
                        `${policy}: pools' bills add up`,
                    );
                }
            }),
            { numRuns: 120 },
        );
    });

    it("one Nova quota for every pool", () => {
        const jobs = lublin(300, (j) => (j.processors > 32 ? "big" : "batch"));
        const pools: PoolShape[] = [
            {
                name: "compute",
                min: 1,
                max: 12,
                idleTimeout: 300,
                coresPerNode: 8,
                partition: "batch",
            },
            { name: "big", min: 0, max: 8, idleTimeout: 300, coresPerNode: 32, partition: "big" },
        ];
        const shape = { ...pools[0]!, launchTimeout: 900 };
        // Unbounded, the pools would peak at 20 servers; 12 is room for the largest big job (8
        // nodes) beside the floor.
        const free = replay(jobs, "service", { shape, cloud: FIXED_CLOUD, seed: 2, pools });
        assert.equal(free.peakWorkers, 20);
        const cloud = { ...FIXED_CLOUD, bootP95: 60, quota: 12 };
        const r = replay(jobs, "service", { shape, cloud, seed: 2, pools });
        assert.ok(r.peakWorkers <= 12, `peak ${r.peakWorkers} above the quota`);
        assert.ok(
            r.pools!.every((p) => p.launches > 0),
            "each pool launched",
        );
        assert.equal(r.neverRan, 0);
    });
});
