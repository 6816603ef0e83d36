/**
 * Worker pools (`workers` as the default pool, `pools[*]` beside it): the config loader's
 * defaults and refusals, the one node-name parser, the pillar's per-pool Slurm sizes, the
 * service's view of the pools (lib/workerPools.ts), the head's slurm.conf and gres.conf for
 * several pools (rendered by the Salt emulation; test/integration/salt-generated-configs.test.ts
 * loads the same files into a real slurmctld), the nodes in use per pool, and the hand-off,
 * which never hands a job to another pool's nodes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { planHandOffs } from "../../autoscaler/handOff";
import { nodesInUseByPool } from "../../autoscaler/nodesInUse";
import type { SchedulerJob, SchedulerNode } from "../../autoscaler/scheduler/types";
import { ConfigError, parseClusterConfig, workerPools } from "../../components/config";
import { buildServiceSettings, buildSlurmPools, poolNodeSize } from "../../components/pillar";
import { parseNodeName } from "../../lib/nodeNames";
import { programServiceSettingsSchema } from "../../lib/serviceSettings";
import { WorkerPoolIndex, workerPoolsOf } from "../../lib/workerPools";
import {
    configFrom,
    PILLAR_RESOURCES,
    renderHighstateWithPaths,
    THREE_POOLS,
} from "../helpers/salt";

const BASE = { keyName: "hpc-key", allowedCidr: "203.0.113.0/24", network: "private" };
const tmp = mkdtempSync(path.join(tmpdir(), "dc-unit-pools-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A GPU pool and a large-memory pool beside the default one. */
const TWO_POOLS = { ...BASE, ...THREE_POOLS };

function problemsOf(values: Record<string, unknown>): [string, string][] {
    try {
        configFrom(values);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => [p.path, p.message]);
        throw err;
    }
    return [];
}

describe("node names", () => {
    const cases: [string | undefined, ReturnType<typeof parseNodeName>][] = [
        ["compute-st-1", { pool: "compute", kind: "static", index: 1 }],
        ["gpu-dy-12", { pool: "gpu", kind: "burst", index: 12 }],
        ["a1b2-dy-999999", { pool: "a1b2", kind: "burst", index: 999999 }],
        ["gpu-dy-0", undefined],
        ["gpu-dy-01", undefined],
        ["gpu-xx-1", undefined],
        ["gpu-dy-1-2", undefined],
        ["Gpu-dy-1", undefined],
        ["my-pool-dy-1", undefined],
        ["dc-head", undefined],
        [undefined, undefined],
    ];
    for (const [name, expected] of cases) {
        it(`reads ${String(name)}`, () => assert.deepEqual(parseNodeName(name), expected));
    }
});

describe("pools in the configuration", () => {
    it("makes workers.* the default pool and defaults each pool from it", () => {
        const config = configFrom(TWO_POOLS);
        assert.deepEqual(
            workerPools(config).map((p) => [
                p.name,
                p.min,
                p.max,
                p.flavor,
                p.image,
                p.idleTimeout,
                p.partition,
                p.minIdle,
            ]),
            [
                ["compute", 1, 4, "m1.small", "Rocky-9", 600, "batch", 1],
                ["gpu", 0, 2, "g1.large", "Rocky-9", 600, "gpu", 0],
                ["bigmem", 1, 3, "r1.huge", "Rocky-9", 1800, "bigmem", 0],
            ],
        );
        assert.deepEqual(config.extraPools[0]!.fallbackFlavors, ["g1.xlarge"]);
        assert.equal(config.extraPools[0]!.gres, "gpu:2");
    });

    it("gives an older stack exactly one pool, the default one", () => {
        const config = configFrom({ ...BASE, workers: { min: 2, max: 8 } });
        assert.deepEqual(config.extraPools, []);
        assert.equal(workerPools(config)[0]!.name, "compute");
    });

    const refusals: [string, Record<string, unknown>, string, RegExp][] = [
        [
            "a pool named like the default pool",
            { ...BASE, pools: [{ name: "compute", max: 1, flavor: "f" }] },
            "pools[0].name",
            /default pool's name \(workers.namePrefix\)/,
        ],
        [
            "two pools of one name",
            {
                ...BASE,
                pools: [
                    { name: "gpu", max: 1, flavor: "f" },
                    { name: "gpu", max: 1, flavor: "f" },
                ],
            },
            "pools[1].name",
            /names two pools/,
        ],
        [
            "a pool without max",
            { ...BASE, pools: [{ name: "gpu", flavor: "f" }] },
            "pools[0].max",
            /is required; set it with `pulumi config set --path 'pools\[0\].max' <value>`/,
        ],
        [
            "a pool name with a dash",
            { ...BASE, pools: [{ name: "my-gpu", max: 1, flavor: "f" }] },
            "pools[0].name",
            /lower-case letters or digits/,
        ],
        [
            "min above max",
            { ...BASE, pools: [{ name: "gpu", min: 3, max: 1, flavor: "f" }] },
            "pools[0].min",
            /larger than the pool's max \(1\)/,
        ],
        [
            "more warm workers than burst ones",
            { ...BASE, workers: { min: 1, max: 3, minIdle: 3 } },
            "workers.minIdle",
            /more than the pool's burst workers \(max - min = 2\)/,
        ],
        [
            "device files without a GRES",
            { ...BASE, pools: [{ name: "gpu", max: 1, flavor: "f", gresFile: "/dev/nvidia0" }] },
            "pools[0].gresFile",
            /no gres/,
        ],
        [
            "a malformed GRES",
            { ...BASE, pools: [{ name: "gpu", max: 1, flavor: "f", gres: "gpu" }] },
            "pools[0].gres",
            /name\[:type\]:count/,
        ],
        [
            "the cluster's own feature",
            { ...BASE, pools: [{ name: "gpu", max: 1, flavor: "f", features: ["burst"] }] },
            "pools[0].features.0",
            /cluster's own features/,
        ],
        [
            "its own flavor as a fallback",
            { ...BASE, pools: [{ name: "gpu", max: 1, flavor: "f", fallbackFlavors: ["f"] }] },
            "pools[0].fallbackFlavors",
            /lists the pool's own flavor/,
        ],
        [
            "two idle timeouts in one partition",
            {
                ...BASE,
                pools: [
                    { name: "more", max: 1, flavor: "f", partition: "batch", idleTimeout: 900 },
                ],
            },
            "pools[0].idleTimeout",
            /shares partition "batch"/,
        ],
        [
            "more workers than a cluster may have",
            {
                ...BASE,
                workers: { max: 600 },
                pools: [{ name: "gpu", max: 600, flavor: "f" }],
            },
            "pools",
            /add up to 1200, above the limit of 1000/,
        ],
        [
            "an unknown setting",
            { ...BASE, pools: [{ name: "gpu", max: 1, flavor: "f", gpus: 2 }] },
            "pools[0].gpus",
            /is not a setting of a pool; remove it with `pulumi config rm --path 'pools\[0\].gpus'`/,
        ],
    ];
    for (const [what, values, key, message] of refusals) {
        it(`refuses ${what}`, () => {
            const problems = problemsOf(values);
            const found = problems.find(([p]) => p === key);
            assert.ok(found, `no problem at ${key}: ${JSON.stringify(problems)}`);
            assert.match(found[1], message);
        });
    }

    it("refuses pools that are not a list", () => {
        assert.throws(
            () =>
                parseClusterConfig({
                    values: { ...BASE, pools: '{"name":"gpu"}' },
                    secretKeys: new Set(),
                    stack: "dev",
                    sshAgentAvailable: true,
                }),
            /pools: must be a list of pools/,
        );
    });
});

describe("pools in the pillar and the service's settings", () => {
    const config = configFrom(TWO_POOLS);
    const resources = {
        ...PILLAR_RESOURCES,
        flavorSizes: {
            "m1.small": { vcpus: 2, ramMb: 4096 },
            "g1.large": { vcpus: 8, ramMb: 65536 },
            "g1.xlarge": { vcpus: 16, ramMb: 32768 },
            "r1.huge": { vcpus: 4, ramMb: 262144 },
        },
    };

    it("declares each pool's nodes with the smallest of its flavors, CPUs and memory apart", () => {
        assert.deepEqual(poolNodeSize(config.extraPools[0]!, resources), {
            vcpus: 8,
            ramMb: 32768,
        });
        const pools = buildSlurmPools(config, resources);
        assert.deepEqual(
            pools.map((p) => [
                p.name,
                p.static_prefix,
                p.static_count,
                p.burst_prefix,
                p.burst_count,
                p.cpus,
                p.real_memory_mb,
            ]),
            [
                ["compute", "compute-st", 1, "compute-dy", 3, 2, 3768],
                ["gpu", "gpu-st", 0, "gpu-dy", 2, 8, 30146],
                ["bigmem", "bigmem-st", 1, "bigmem-dy", 2, 4, 241172],
            ],
        );
    });

    it("gives the service every pool, in a file its schema accepts", () => {
        const settings = buildServiceSettings(config, resources);
        const parsed = programServiceSettingsSchema.parse(settings);
        const pools = workerPoolsOf(parsed);
        assert.deepEqual(
            pools.map((p) => [p.name, p.flavors, p.min, p.max, p.staticPrefix, p.burstPrefix]),
            [
                ["compute", ["m1.small"], 1, 4, "compute-st", "compute-dy"],
                ["gpu", ["g1.large", "g1.xlarge"], 0, 2, "gpu-st", "gpu-dy"],
                ["bigmem", ["r1.huge"], 1, 3, "bigmem-st", "bigmem-dy"],
            ],
        );
        const index = new WorkerPoolIndex(pools);
        assert.deepEqual(index.nodeNames(), {
            static: ["compute-st-1", "bigmem-st-1"],
            burst: [
                "compute-dy-1",
                "compute-dy-2",
                "compute-dy-3",
                "gpu-dy-1",
                "gpu-dy-2",
                "bigmem-dy-1",
                "bigmem-dy-2",
            ],
        });
        assert.equal(
            index.poolOf("gpu-dy-7")?.name,
            "gpu",
            "a node beyond max is still its pool's",
        );
        assert.equal(index.poolOf("bigmem-st-1")?.name, "bigmem");
        assert.equal(index.poolOf("other-dy-1"), undefined);
    });

    it("reads an older service file (no extra_pools, no fallback_flavors) as one pool", () => {
        const settings = buildServiceSettings(
            configFrom({ ...BASE, workers: { max: 3 } }),
            PILLAR_RESOURCES,
        );
        const { extra_pools: _extra, ...older } = settings;
        const { fallback_flavors: _fallback, ...olderWorkers } = older.workers;
        const pools = workerPoolsOf(
            programServiceSettingsSchema.parse({ ...older, workers: olderWorkers }),
        );
        assert.deepEqual(
            pools.map((p) => [p.name, p.flavors]),
            [["compute", ["m1.large"]]],
        );
    });
});

describe("the head's slurm.conf and gres.conf with several pools", () => {
    const config = configFrom(TWO_POOLS);
    const resources = {
        ...PILLAR_RESOURCES,
        flavorSizes: {
            "g1.large": { vcpus: 8, ramMb: 65536 },
            "g1.xlarge": { vcpus: 16, ramMb: 65536 },
            "r1.huge": { vcpus: 4, ramMb: 262144 },
        },
    };
    const render = (stateDir: string): { slurm: string; gres: string } => {
        const head = renderHighstateWithPaths(
            config,
            "head",
            { service_state_dir: stateDir },
            resources,
        );
        assert.deepEqual(head.errors, []);
        return {
            slurm: head.files["/etc/slurm/slurm.conf"]!.content,
            gres: head.files["/etc/slurm/gres.conf"]!.content,
        };
    };
    const tail = (conf: string): string[] =>
        conf
            .split("\n")
            .filter((l) => /^(GresTypes|SuspendExcNodes|NodeName|NodeSet|PartitionName)=/.test(l));

    it("declares each pool's nodes, sets and partition, with GRES, features and warm workers", () => {
        const { slurm, gres } = render(path.join(tmp, "empty"));
        assert.deepEqual(tail(slurm), [
            "GresTypes=gpu",
            "SuspendExcNodes=compute-dy-[1-3]:1,compute-st-[1-1],bigmem-st-[1-1]",
            "NodeName=compute-st-[1-1] CPUs=4 RealMemory=7536 State=CLOUD Feature=static",
            "NodeName=compute-dy-[1-3] CPUs=4 RealMemory=7536 State=CLOUD Feature=burst",
            "NodeName=gpu-dy-[1-2] CPUs=8 RealMemory=60293 State=CLOUD Feature=burst,a100 Gres=gpu:2",
            "NodeName=bigmem-st-[1-1] CPUs=4 RealMemory=241172 State=CLOUD Feature=static",
            "NodeName=bigmem-dy-[1-2] CPUs=4 RealMemory=241172 State=CLOUD Feature=burst",
            "NodeSet=compute_nodes Nodes=compute-st-[1-1],compute-dy-[1-3]",
            "NodeSet=gpu_nodes Nodes=gpu-dy-[1-2]",
            "NodeSet=bigmem_nodes Nodes=bigmem-st-[1-1],bigmem-dy-[1-2]",
            "PartitionName=batch Nodes=compute_nodes Default=YES MaxTime=INFINITE State=UP SuspendTime=600",
            "PartitionName=gpu Nodes=gpu_nodes MaxTime=INFINITE State=UP SuspendTime=600",
            "PartitionName=bigmem Nodes=bigmem_nodes MaxTime=INFINITE State=UP SuspendTime=1800",
        ]);
        assert.deepEqual(
            gres.split("\n").filter((l) => l.startsWith("NodeName=")),
            ["NodeName=gpu-dy-[1-2] Name=gpu File=/dev/nvidia[0-1]"],
        );
    });

    it("keeps nodes the service still uses declared, and a pool taken out retired in no partition", () => {
        const dir = mkdtempSync(path.join(tmp, "state-"));
        writeFileSync(
            path.join(dir, "nodes-in-use.json"),
            JSON.stringify({
                gpu: { static: 0, burst: 5 },
                old: { static: 0, burst: 2 },
                gone: { static: 0, burst: 0 },
            }),
        );
        const { slurm, gres } = render(dir);
        const lines = tail(slurm);
        assert.ok(
            lines.includes(
                "NodeName=gpu-dy-[1-5] CPUs=8 RealMemory=60293 State=CLOUD Feature=burst,a100 Gres=gpu:2",
            ),
        );
        assert.ok(
            lines.includes(
                "NodeName=old-dy-[1-2] CPUs=1 RealMemory=1 State=CLOUD Feature=burst,retired",
            ),
        );
        assert.ok(
            !lines.some((l) => l.includes("gone-")),
            "a pool with nothing in use is not declared",
        );
        assert.ok(
            !lines.some((l) => l.startsWith("NodeSet=old")),
            "the retired pool is in no partition",
        );
        assert.ok(gres.includes("NodeName=gpu-dy-[1-5] Name=gpu File=/dev/nvidia[0-1]"));
    });
});

describe("nodes in use by pool", () => {
    const pools = workerPoolsOf(
        programServiceSettingsSchema.parse(
            buildServiceSettings(configFrom(TWO_POOLS), PILLAR_RESOURCES),
        ),
    );
    it("counts each configured pool, and a pool taken out while its servers live", () => {
        const counts = nodesInUseByPool(
            pools,
            [
                { node: "compute-dy-3", pool: "burst" },
                { node: "gpu-dy-4", pool: "burst" },
                { node: "bigmem-st-2", pool: "static" },
                { node: "old-dy-2", pool: "burst" },
            ],
            new Map([["gpu-dy-6", { launchInFlight: true }]]),
        );
        assert.deepEqual(Object.fromEntries(counts), {
            compute: { static: 0, burst: 3 },
            gpu: { static: 0, burst: 6 },
            bigmem: { static: 2, burst: 0 },
            old: { static: 0, burst: 2 },
        });
        assert.equal([...counts.keys()][0], "compute", "the default pool first");
    });
});

describe("the hand-off with several pools", () => {
    const node = (name: string, over: Partial<SchedulerNode> = {}): SchedulerNode => ({
        name,
        state: "idle",
        flags: new Set(["cloud"]),
        address: name,
        reason: "",
        cpus: 4,
        allocatedCpus: 0,
        ...over,
    });
    const job = (id: string, nodes: string[]): SchedulerJob =>
        ({
            id,
            state: "configuring",
            nodes,
            submittedAt: 1,
            reason: "",
            requeueable: true,
            constrained: false,
            partition: "",
        }) as unknown as SchedulerJob;
    const poolOf = (n: string): string | undefined => parseNodeName(n)?.pool;

    it("hands a job only to idle nodes of its own pool", () => {
        const nodes = new Map(
            [
                node("compute-dy-1"),
                node("gpu-dy-1", { flags: new Set(["cloud", "powering_up"]), allocatedCpus: 4 }),
                node("compute-dy-2", {
                    flags: new Set(["cloud", "powering_up"]),
                    allocatedCpus: 4,
                }),
            ].map((n) => [n.name, n]),
        );
        const plan = planHandOffs({
            nodes,
            jobs: [job("10", ["gpu-dy-1"]), job("11", ["compute-dy-2"])],
            eligible: () => true,
            launched: () => true,
            now: 1000,
            roundMs: 10_000,
            poolOf,
        });
        assert.deepEqual(
            plan.handOffs.map((h) => [h.job, h.idle]),
            [["11", ["compute-dy-1"]]],
            "the GPU job is not handed to a compute node",
        );
    });
});
