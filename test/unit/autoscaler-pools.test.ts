/**
 * The service with several worker pools: a node's launch boots its own pool's flavor, image and
 * zone; a capacity or quota fault backs that flavor off and the next launch of the pool falls
 * back to the next flavor in its list (the failed one stays backed off, the other pools are
 * untouched); with every flavor of a pool backing off, its nodes wait and say why. The real
 * service core with stand-in Nova, scheduler and Salt keys (the real Nova's refusal is in
 * test/integration/autoscaler-pools.test.ts).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { LaunchChoice, WorkerCloud } from "../../autoscaler/cloud";
import { releasesForBlockedJobs } from "../../autoscaler/launchGroups";
import { decide, type PolicyInput } from "../../autoscaler/policy";
import type { NodeFlag, SchedulerJob, SchedulerNode } from "../../autoscaler/scheduler/types";
import { DynamicClusterService, type ServiceDeps } from "../../autoscaler/service";
import { StateStore } from "../../autoscaler/store";
import { OpenStackApiError, OpenStackConfigError } from "../../lib/openstack";
import { unitSettings } from "../helpers/serviceSettings";
import { noKeys, poweringUp, standInScheduler } from "../helpers/standIns";
import { waitFor } from "../helpers/waitFor";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-unit-pools-service-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const QUOTA = "Quota exceeded for cores: Requested 16, but already used 48 of 64 cores";

/** A service whose scheduler has resumed `resumed`, and whose Nova refuses `refused` flavors. */
function harness(
    name: string,
    resumed: string[],
    refused: ReadonlySet<string>,
    now?: () => number,
    broken: ReadonlySet<string> = new Set(),
) {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    const settings = unitSettings({
        stateDir: dir,
        burst: 2,
        tuning: { breaker_threshold: 2, failure_cooldown: 0 },
        extraPools: [
            {
                name: "gpu",
                flavors: ["g1.large", "g1.xlarge", "g1.huge"],
                image: "cuda-12",
                availability_zone: "gpu-zone",
                min: 0,
                max: 2,
                static_prefix: "gpu-st",
                burst_prefix: "gpu-dy",
            },
        ],
    });
    const noop = async () => undefined;
    const scheduler = standInScheduler(() => resumed.map((n) => poweringUp(n)));
    const launches: { node: string; choice: LaunchChoice }[] = [];
    const cloud = {
        list: async () => [],
        newMinionId: (node: string) => `${node}-${"a".repeat(26)}`,
        launch: async (node: string, _minion: string, choice: LaunchChoice) => {
            launches.push({ node, choice });
            if (refused.has(choice.flavor))
                throw new OpenStackApiError(403, QUOTA, "POST", "https://nova.example/servers");
            if (broken.has(choice.image))
                throw new OpenStackConfigError(`Image "${choice.image}" does not exist.`);
            // Created, but never listed: the test looks only at the create calls.
            return `server-${launches.length}`;
        },
        delete: noop,
    } as unknown as WorkerCloud;
    const keys = noKeys();
    const quiet = () => undefined;
    const store = new StateStore(path.join(dir, "state"));
    const sent = new Map<string, number>();
    const metrics = {
        send: (name: string, value: number) => void sent.set(name, value),
        dropped: 0,
        prefix: "dynamic_cluster.dev.service",
    };
    const service = new DynamicClusterService({
        metrics: metrics as unknown as ServiceDeps["metrics"],
        settings,
        cloud,
        scheduler,
        keys,
        store,
        log: { info: quiet, warn: quiet, error: quiet, debug: quiet },
        ...(now ? { now } : {}),
    });
    return { service, launches, store, sent };
}

describe("launches with several pools", () => {
    it("boots each node as its own pool says: flavor, image and zone", async () => {
        const h = harness("own-pool", ["compute-dy-1", "gpu-dy-1"], new Set());
        assert.deepEqual(h.service.names, {
            static: [],
            burst: ["compute-dy-1", "compute-dy-2", "gpu-dy-1", "gpu-dy-2"],
        });
        await h.service.round();
        await waitFor("both launches", () => (h.launches.length === 2 ? true : undefined));
        await h.service.stop();
        // Graphite gets each pool's workers (the dashboard's "Workers per pool" graph).
        assert.deepEqual(
            [h.sent.get("pools.compute.workers"), h.sent.get("pools.gpu.workers")],
            [1, 1],
        );
        assert.deepEqual(h.launches.map((l) => [l.node, l.choice]).sort(), [
            ["compute-dy-1", { flavor: "m1.small", image: "debian-12", availabilityZone: "" }],
            ["gpu-dy-1", { flavor: "g1.large", image: "cuda-12", availabilityZone: "gpu-zone" }],
        ]);
    });

    it("falls back to the pool's next flavor after a quota fault, the failed one backed off", async () => {
        const h = harness("fallback", ["gpu-dy-1"], new Set(["g1.large"]));
        await h.service.round();
        await waitFor("the refused launch", () =>
            h.store.state.backoffs["g1.large"] ? true : undefined,
        );
        await h.service.round();
        await waitFor("the second launch", () => (h.launches.length === 2 ? true : undefined));
        await h.service.stop();
        assert.deepEqual(
            h.launches.map((l) => l.choice.flavor),
            ["g1.large", "g1.xlarge"],
        );
        assert.equal(h.store.state.backoffs["g1.xlarge"], undefined);
        assert.match(h.store.state.backoffs["g1.large"]!.reason, /Quota exceeded for cores/);
        const messages = h.service.recentEvents().map((e) => e.message);
        assert.ok(
            messages.some((m) => /launching gpu-dy-1 as g1.xlarge: g1.large backing off/.test(m)),
            JSON.stringify(messages),
        );
        assert.ok(messages.some((m) => /launched gpu-dy-1 \(server server-2, g1.xlarge\)/.test(m)));
    });

    it("waits, saying why, when every flavor of the pool backs off; other pools still launch", async () => {
        const h = harness(
            "all-refused",
            ["gpu-dy-1", "compute-dy-1"],
            new Set(["g1.large", "g1.xlarge", "g1.huge"]),
        );
        for (let round = 1; round <= 3; round++) {
            await h.service.round();
            await waitFor(`round ${round}'s gpu launch to fail`, () =>
                Object.keys(h.store.state.backoffs).length === round ? true : undefined,
            );
        }
        await h.service.round();
        await h.service.stop();
        assert.deepEqual(
            h.launches.filter((l) => l.node === "gpu-dy-1").map((l) => l.choice.flavor),
            ["g1.large", "g1.xlarge", "g1.huge"],
            "each flavor once, in order",
        );
        assert.match(
            h.service.workerView("gpu-dy-1").note ?? "",
            /^waiting: flavor backing off until /,
        );
        assert.ok(
            h.launches.some((l) => l.node === "compute-dy-1" && l.choice.flavor === "m1.small"),
            "the default pool is not held back by the GPU pool's flavors",
        );
    });

    it("keeps to the fallback after the failed flavor's backoff ends, and tries it first again after fallback_retry", async () => {
        let clock = Date.parse("2026-12-01T00:00:00Z");
        const refused = new Set(["g1.large"]);
        const h = harness("retry", ["gpu-dy-1"], refused, () => clock);
        await h.service.round();
        await waitFor("the refused launch", () =>
            h.store.state.backoffs["g1.large"] ? true : undefined,
        );
        // Past the backoff (60 s at first, the default tuning), within fallback_retry (600 s).
        clock += 120_000;
        refused.clear();
        await h.service.round();
        await waitFor("the second launch", () => (h.launches.length === 2 ? true : undefined));
        assert.equal(h.launches[1]!.choice.flavor, "g1.xlarge", "still the fallback");
        // The worker is gone again (never listed); after fallback_retry the first flavor leads.
        clock += 600_000;
        await h.service.round();
        await waitFor("the third launch", () => (h.launches.length === 3 ? true : undefined));
        await h.service.stop();
        assert.equal(h.launches[2]!.choice.flavor, "g1.large", "the preferred flavor again");
    });

    it("a pool whose workers keep failing stops only its own launches", async () => {
        const h = harness(
            "breaker",
            ["gpu-dy-1", "gpu-dy-2"],
            new Set(),
            undefined,
            new Set(["cuda-12"]),
        );
        await h.service.round();
        await waitFor("the GPU pool's breaker to open", () =>
            h.store.state.poolBreakers["gpu"]?.openedAt !== undefined ? true : undefined,
        );
        assert.match(h.store.state.poolBreakers["gpu"]!.reason!, /2 boot failures in a row/);
        assert.equal(h.store.state.breaker.openedAt, undefined, "the default pool's is closed");
        assert.equal(h.store.state.breaker.consecutiveFailures, 0);
        await h.service.round();
        assert.match(h.service.workerView("gpu-dy-1").note ?? "", /breaker open|launches stopped/);
        const report = h.service.status().workerPools;
        assert.deepEqual(
            report.map((p) => [p.name, p.breaker.open]),
            [
                ["compute", false],
                ["gpu", true],
            ],
        );
        assert.equal(h.service.status().breaker.open, false);
        await h.service.actions.resetBreaker("test");
        assert.deepEqual(h.store.state.poolBreakers, {}, "reset closes every pool's breaker");
        await h.service.stop();
    });
});

describe("launches grouped per job (all or nothing)", () => {
    const node = (name: string, flags: NodeFlag[]): SchedulerNode => ({
        name,
        state: "idle",
        flags: new Set(flags),
        address: name,
        reason: "",
        cpus: 1,
        allocatedCpus: 1,
    });
    const job = (id: string, nodes: string[], state = "configuring"): SchedulerJob =>
        ({
            id,
            state,
            nodes,
            submittedAt: 1,
            reason: "",
            partition: "batch",
        }) as unknown as SchedulerJob;
    const nodes = new Map(
        [
            node("a-dy-1", ["cloud", "powering_up"]),
            node("b-dy-1", ["cloud", "powering_up"]),
            node("a-dy-2", ["cloud"]),
            node("a-dy-3", ["cloud", "powering_up"]),
        ].map((n) => [n.name, n]),
    );
    const cases: {
        name: string;
        jobs: SchedulerJob[];
        blocked: [string, string][];
        launched: string[];
        releasable?: string[];
        expected: [string, string][];
        held?: [string, string][];
    }[] = [
        {
            name: "a node that cannot be created releases the job's booting nodes",
            jobs: [job("7", ["a-dy-1", "b-dy-1"])],
            blocked: [["b-dy-1", "waiting: flavor backing off until x"]],
            launched: ["a-dy-1"],
            expected: [
                [
                    "a-dy-1",
                    "released: job 7 cannot get all its nodes now (b-dy-1: waiting: flavor backing off until x); it waits in the queue",
                ],
                [
                    "b-dy-1",
                    "released: job 7 cannot get all its nodes now (b-dy-1: waiting: flavor backing off until x); it waits in the queue",
                ],
            ],
        },
        {
            name: "none of its other nodes launched yet: they wait, so the creates go out together",
            jobs: [job("7", ["a-dy-1", "b-dy-1"])],
            blocked: [["b-dy-1", "stopped"]],
            launched: [],
            expected: [],
            held: [["a-dy-1", "waiting: job 7's nodes are created together, and b-dy-1: stopped"]],
        },
        {
            name: "never a node that is up (ready or running a job), nor a held one",
            jobs: [job("8", ["a-dy-1", "a-dy-2", "a-dy-3", "b-dy-1"])],
            blocked: [["b-dy-1", "stopped"]],
            launched: ["a-dy-1", "a-dy-2", "a-dy-3"],
            releasable: ["a-dy-1", "a-dy-2", "b-dy-1"],
            expected: [
                [
                    "a-dy-1",
                    "released: job 8 cannot get all its nodes now (b-dy-1: stopped); it waits in the queue",
                ],
                [
                    "b-dy-1",
                    "released: job 8 cannot get all its nodes now (b-dy-1: stopped); it waits in the queue",
                ],
            ],
        },
        {
            name: "a one-node job waits as before",
            jobs: [job("9", ["b-dy-1"])],
            blocked: [["b-dy-1", "stopped"]],
            launched: ["b-dy-1"],
            expected: [],
        },
        {
            name: "a running job is never touched",
            jobs: [job("10", ["a-dy-1", "b-dy-1"], "running")],
            blocked: [["b-dy-1", "stopped"]],
            launched: ["a-dy-1"],
            expected: [],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const releases = releasesForBlockedJobs({
                jobs: c.jobs,
                nodes,
                blocked: new Map(c.blocked),
                releasable: (n) => (c.releasable ?? [...nodes.keys()]).includes(n),
                launched: (n) => c.launched.includes(n),
            });
            assert.deepEqual([...releases.release].sort(), c.expected);
            assert.deepEqual([...releases.hold].sort(), c.held ?? []);
        });
    }

    it("decide() releases a booting node whose job's other node waits for its flavors, and does not launch that one", () => {
        const NOW = Date.parse("2026-12-01T00:00:00Z");
        const input: PolicyInput = {
            now: NOW,
            config: {
                names: { static: [], burst: ["compute-dy-1", "gpu-dy-1"] },
                launchTimeoutMs: 1_200_000,
                downTimeoutMs: 480_000,
                orphanGraceMs: 300_000,
                allOrNothing: true,
            },
            observation: {
                at: NOW,
                servers: [
                    {
                        id: "s1",
                        name: "compute-dy-1",
                        status: "BUILD",
                        node: "compute-dy-1",
                        minionId: `compute-dy-1-${"a".repeat(26)}`,
                        pool: "burst",
                        createdAt: NOW - 30_000,
                    },
                ],
                scheduler: {
                    takenAt: NOW,
                    nodes: new Map([
                        ["compute-dy-1", node("compute-dy-1", ["cloud", "powering_up"])],
                        ["gpu-dy-1", node("gpu-dy-1", ["cloud", "powering_up"])],
                    ]),
                    jobs: [job("42", ["compute-dy-1", "gpu-dy-1"])],
                },
                keys: {
                    accepted: new Set(),
                    pending: new Set(),
                    rejected: new Set(),
                    denied: new Set(),
                },
            },
            records: new Map([
                ["compute-dy-1", { node: "compute-dy-1", launchStartedAt: NOW - 31_000 }],
            ]),
            requests: new Map(),
            autoMode: true,
            breakerOpen: false,
            backoffUntil: (n) => (n === "gpu-dy-1" ? NOW + 60_000 : undefined),
            held: new Set(),
            unavailable: new Map(),
        };
        const released = (allOrNothing: boolean) =>
            decide({ ...input, config: { ...input.config, allOrNothing } }).actions.filter(
                (a) => a.type === "cancel-resume" || a.type === "launch",
            );
        assert.deepEqual(
            released(true)
                .map((a) => [a.type, "node" in a ? a.node : ""])
                .sort(),
            [
                ["cancel-resume", "compute-dy-1"],
                ["cancel-resume", "gpu-dy-1"],
            ],
        );
        assert.deepEqual(released(false), [], "off: the job keeps its booting node and waits");

        // Before any of the job's nodes has a server: none is launched until all can be.
        const fresh = decide({
            ...input,
            observation: { ...input.observation, servers: [] },
            records: new Map(),
        });
        assert.deepEqual(
            fresh.actions.filter((a) => a.type === "launch" || a.type === "cancel-resume"),
            [],
        );
        const view = fresh.workers.find((w) => w.node === "compute-dy-1")!;
        assert.equal(view.phase, "absent");
        assert.match(
            view.note ?? "",
            /^waiting: job 42's nodes are created together, and gpu-dy-1: waiting: flavor backing off/,
        );
        const withoutGroups = decide({
            ...input,
            config: { ...input.config, allOrNothing: false },
            observation: { ...input.observation, servers: [] },
            records: new Map(),
        });
        assert.deepEqual(
            withoutGroups.actions.filter((a) => a.type === "launch").map((a) => a.node),
            ["compute-dy-1"],
            "off: the node boots and waits for the other",
        );
    });
});
