/**
 * The hand-off (autoscaler/handOff.ts), table-driven on Slurm's nodes and jobs: which waiting
 * jobs go back to the queue for idle nodes, which launches wait for nodes that free sooner than a
 * boot; and through decide(): the actions, the deferred launch, and the resumed node powered
 * down once its job left it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planHandOffs, type HandOffInput } from "../../autoscaler/handOff";
import { type Action, decide, type PolicyInput } from "../../autoscaler/policy";
import {
    HAND_OFF_WEIGHT,
    type NodeBaseState,
    type NodeFlag,
    type SchedulerJob,
    type SchedulerNode,
} from "../../autoscaler/scheduler/types";

const NOW = 1_800_000_000_000;
const S = 1000;

/** A node from `state+flag+flag` text, 1 CPU, all of it allocated when busy. */
function node(name: string, text: string, cpus = 1): SchedulerNode {
    const [state, ...flags] = text.split("+") as [NodeBaseState, ...NodeFlag[]];
    const busy = state === "allocated" || state === "mixed";
    return {
        name,
        state,
        flags: new Set(flags),
        address: name,
        reason: "",
        cpus,
        allocatedCpus: busy ? cpus : 0,
    };
}

function nodes(spec: Record<string, string>): Map<string, SchedulerNode> {
    return new Map(Object.entries(spec).map(([name, text]) => [name, node(name, text)]));
}

function job(
    id: string,
    state: SchedulerJob["state"],
    on: string[],
    over: Partial<SchedulerJob> = {},
): SchedulerJob {
    return {
        id,
        name: `job-${id}`,
        user: "fred",
        partition: "batch",
        state,
        reason: "",
        nodes: on,
        cpus: on.length || 1,
        nodeCount: on.length || 1,
        submittedAt: NOW - 60 * S,
        startedAt: state === "running" ? NOW - 30 * S : 0,
        requeueable: true,
        constrained: false,
        ...over,
    };
}

function plan(over: Partial<HandOffInput> & Pick<HandOffInput, "nodes" | "jobs">) {
    return planHandOffs({
        eligible: () => true,
        launched: () => false,
        now: NOW,
        roundMs: 10 * S,
        ...over,
    });
}

const BOOTING = "allocated+cloud+powering_up";

describe("hand-off: a job waiting for booting nodes and idle nodes beside it", () => {
    const cases: Array<{
        name: string;
        nodes: Record<string, string>;
        jobs: SchedulerJob[];
        eligible?: (n: string) => boolean;
        handed: Array<[string, string[]]>;
    }> = [
        {
            name: "one node boots for the job while another is idle: handed to the idle one",
            nodes: { "dy-1": BOOTING, "dy-2": "idle+cloud" },
            jobs: [job("7", "configuring", ["dy-1"])],
            handed: [["7", ["dy-2"]]],
        },
        {
            name: "no idle node: the job waits for its boot",
            nodes: { "dy-1": BOOTING, "dy-2": "allocated+cloud" },
            jobs: [job("7", "configuring", ["dy-1"]), job("8", "running", ["dy-2"])],
            handed: [],
        },
        {
            name: "a job that may not be requeued (--no-requeue, or interactive) is left alone",
            nodes: { "dy-1": BOOTING, "dy-2": "idle+cloud" },
            jobs: [job("7", "configuring", ["dy-1"], { requeueable: false })],
            handed: [],
        },
        {
            name: "a job that names its nodes, features or GRES (or a Slurm that does not say) is left alone",
            nodes: { "dy-1": BOOTING, "dy-2": BOOTING, "dy-3": "idle+cloud", "dy-4": "idle+cloud" },
            jobs: [
                job("7", "configuring", ["dy-1"], { constrained: true }),
                job("8", "configuring", ["dy-2"], { constrained: undefined }),
            ],
            handed: [],
        },
        {
            name: "an older job waits for resources: Slurm gives it the idle node first",
            nodes: { "dy-1": BOOTING, "dy-2": "idle+cloud" },
            jobs: [
                job("7", "configuring", ["dy-1"]),
                job("5", "pending", [], { reason: "Resources", submittedAt: NOW - 120 * S }),
            ],
            handed: [],
        },
        {
            name: "a younger pending job, or one held back, does not stop it",
            nodes: { "dy-1": BOOTING, "dy-2": "idle+cloud" },
            jobs: [
                job("7", "configuring", ["dy-1"]),
                job("9", "pending", [], { reason: "Resources", submittedAt: NOW }),
                job("4", "pending", [], { reason: "JobHeldUser", submittedAt: NOW - 900 * S }),
            ],
            handed: [["7", ["dy-2"]]],
        },
        {
            name: "two booting nodes and one idle: not enough to start it, it waits",
            nodes: { "dy-1": BOOTING, "dy-2": BOOTING, "dy-3": "idle+cloud" },
            jobs: [job("7", "configuring", ["dy-1", "dy-2"])],
            handed: [],
        },
        {
            name: "of its nodes only the booting ones need replacing",
            nodes: { "dy-1": BOOTING, "dy-2": "allocated+cloud", "dy-3": "idle+cloud" },
            jobs: [job("7", "configuring", ["dy-1", "dy-2"])],
            handed: [["7", ["dy-3"]]],
        },
        {
            name: "one idle node, two waiting jobs: the oldest gets it, counted once",
            nodes: { "dy-1": BOOTING, "dy-2": BOOTING, "dy-3": "idle+cloud" },
            jobs: [
                job("8", "configuring", ["dy-2"], { submittedAt: NOW - 10 * S }),
                job("7", "configuring", ["dy-1"], { submittedAt: NOW - 20 * S }),
            ],
            handed: [["7", ["dy-3"]]],
        },
        {
            name: "drained, reserved, leaving or powering-down nodes are no supply",
            nodes: {
                "dy-1": BOOTING,
                "dy-2": "idle+cloud+drain",
                "dy-3": "idle+cloud+reserved",
                "dy-4": "idle+cloud+power_down_pending",
                "dy-5": "idle+cloud+powering_down",
                "dy-6": "idle+cloud+powered_down",
            },
            jobs: [job("7", "configuring", ["dy-1"])],
            handed: [],
        },
        {
            name: "an idle node the policy does not count (held, kept out of use) is no supply",
            nodes: { "dy-1": BOOTING, "dy-2": "idle+cloud" },
            jobs: [job("7", "configuring", ["dy-1"])],
            eligible: (n) => n !== "dy-2",
            handed: [],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const result = plan({
                nodes: nodes(c.nodes),
                jobs: c.jobs,
                ...(c.eligible ? { eligible: c.eligible } : {}),
            });
            assert.deepEqual(
                result.handOffs.map((h) => [h.job, h.idle]),
                c.handed,
            );
        });
    }

    it("a job handed off before is not handed off again (no job goes round)", () => {
        const result = plan({
            nodes: nodes({ "dy-1": BOOTING, "dy-2": "idle+cloud" }),
            jobs: [job("7", "configuring", ["dy-1"])],
            handedOff: new Set(["7"]),
        });
        assert.deepEqual(result.handOffs, []);
    });

    it("an idle node with fewer cores than the booting node holds is no replacement", () => {
        const map = nodes({ "dy-1": BOOTING });
        map.set("dy-1", { ...node("dy-1", BOOTING, 4) });
        map.set("dy-2", node("dy-2", "idle+cloud", 2));
        assert.deepEqual(
            plan({ nodes: map, jobs: [job("7", "configuring", ["dy-1"])] }).handOffs,
            [],
        );
    });
});

describe("hand-off: a boot is weighed against nodes that free sooner", () => {
    const state = {
        nodes: { "dy-1": BOOTING, "dy-2": "allocated+cloud" },
        waiting: job("7", "configuring", ["dy-1"]),
    };
    const running = (endsIn: number) => job("8", "running", ["dy-2"], { endsAt: NOW + endsIn * S });

    const cases: Array<{
        name: string;
        over: Partial<HandOffInput>;
        endsIn: number;
        deferred: boolean;
    }> = [
        {
            name: "the busy node frees in 60 s, a boot takes 120 s: the launch waits",
            over: { expectedBootMs: 120 * S },
            endsIn: 60,
            deferred: true,
        },
        {
            name: "it frees in 115 s: not sooner than a boot and a round (110 s), launched",
            over: { expectedBootMs: 120 * S },
            endsIn: 115,
            deferred: false,
        },
        { name: "no boot measured yet: never deferred", over: {}, endsIn: 5, deferred: false },
        {
            name: "its boot is under way: it is not stopped for a maybe",
            over: { expectedBootMs: 120 * S, launched: () => true },
            endsIn: 5,
            deferred: false,
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const result = plan({
                nodes: nodes(state.nodes),
                jobs: [state.waiting, running(c.endsIn)],
                ...c.over,
            });
            assert.equal(result.deferred.has("dy-1"), c.deferred);
            assert.deepEqual(result.handOffs, []);
        });
    }

    it("a running job of unknown end (no time limit) frees nothing the plan can count", () => {
        const result = plan({
            nodes: nodes(state.nodes),
            jobs: [state.waiting, job("8", "running", ["dy-2"])],
            expectedBootMs: 120 * S,
        });
        assert.equal(result.deferred.size, 0);
    });

    it("a job promised a node last round goes first when it frees, before an older one", () => {
        const map = nodes({ "dy-1": BOOTING, "dy-2": BOOTING, "dy-3": "idle+cloud" });
        const jobs = [
            job("6", "configuring", ["dy-2"], { submittedAt: NOW - 300 * S }),
            job("7", "configuring", ["dy-1"], { submittedAt: NOW - 60 * S }),
        ];
        const promised = plan({ nodes: map, jobs, deferredBefore: new Set(["dy-1"]) });
        assert.deepEqual(
            promised.handOffs.map((h) => h.job),
            ["7"],
        );
        // Its node was resumed but never launched: it waits to be powered down, not booted.
        assert.ok(promised.deferred.has("dy-1"));
        const fifo = plan({ nodes: map, jobs });
        assert.deepEqual(
            fifo.handOffs.map((h) => h.job),
            ["6"],
        );
    });
});

/** decide() on burst nodes `dy-*` with no server, Slurm's nodes and jobs. */
function decideWith(over: {
    nodes: Record<string, string>;
    jobs: SchedulerJob[];
    deferred?: string[];
    handOff?: boolean;
    expectedBootMs?: number;
    request?: { node: string; at: number };
    weights?: Record<string, number>;
}): { actions: Action[]; deferred: string[] } {
    const names = Object.keys(over.nodes);
    // Powered-up nodes have their ACTIVE server and an accepted minion.
    const up = names.filter((n) => !/powered_down|powering_up/.test(over.nodes[n]!));
    const servers = up.map((n, i) => ({
        id: `srv-${n}`,
        name: n,
        status: "ACTIVE",
        address: n,
        node: n,
        minionId: `${n}-${"a".repeat(26)}`,
        pool: "burst" as const,
        createdAt: NOW - 600 * S - i,
    }));
    const input: PolicyInput = {
        now: NOW,
        config: {
            names: { static: [], burst: names },
            launchTimeoutMs: 1200 * S,
            downTimeoutMs: 480 * S,
            orphanGraceMs: 300 * S,
            handOff: over.handOff ?? true,
            expectedBootMs: over.expectedBootMs,
            roundMs: 10 * S,
        },
        observation: {
            at: NOW,
            servers,
            scheduler: {
                takenAt: NOW - S,
                nodes: new Map(
                    [...nodes(over.nodes)].map(([n, x]) => [
                        n,
                        { ...x, weight: over.weights?.[n] ?? 1 },
                    ]),
                ),
                jobs: over.jobs,
            },
            keys: {
                accepted: new Set(),
                pending: new Set(),
                rejected: new Set(),
                denied: new Set(),
            },
        },
        records: new Map(),
        requests: over.request
            ? new Map([[over.request.node, { want: "up" as const, at: over.request.at }]])
            : new Map(),
        autoMode: true,
        breakerOpen: false,
        held: new Set(),
        unavailable: new Map(),
        deferred: new Set(over.deferred ?? []),
    };
    const d = decide(input);
    // The actions of the hand-off's nodes (the powered-up ones' servers are only observed).
    const ofHandOff = new Set(["launch", "hand-off", "cancel-resume", "restore-weight"]);
    return { actions: d.actions.filter((a) => ofHandOff.has(a.type)), deferred: d.deferred };
}

describe("hand-off through decide()", () => {
    it("hands the waiting job off and neither launches nor powers down its resumed node yet", () => {
        const d = decideWith({
            nodes: { "dy-1": BOOTING, "dy-2": "idle+cloud" },
            jobs: [job("7", "configuring", ["dy-1"])],
        });
        assert.deepEqual(d.actions, [
            { type: "hand-off", jobs: [{ job: "7", booting: ["dy-1"], idle: ["dy-2"] }] },
        ]);
        assert.deepEqual(d.deferred, ["dy-1"]);
    });

    it("with the hand-off off, the resumed node is launched (Slurm's binding)", () => {
        const d = decideWith({
            nodes: { "dy-1": BOOTING, "dy-2": "idle+cloud" },
            jobs: [job("7", "configuring", ["dy-1"])],
            handOff: false,
        });
        assert.deepEqual(d.actions, [{ type: "launch", node: "dy-1" }]);
    });

    it("a deferred launch waits while a busy node frees sooner than a boot", () => {
        const d = decideWith({
            nodes: { "dy-1": BOOTING, "dy-2": "allocated+cloud" },
            jobs: [
                job("7", "configuring", ["dy-1"]),
                job("8", "running", ["dy-2"], { endsAt: NOW + 30 * S }),
            ],
            expectedBootMs: 120 * S,
        });
        assert.deepEqual(d.actions, []);
        assert.deepEqual(d.deferred, ["dy-1"]);
    });

    it("a node whose launch waited and that no job holds any more is powered down", () => {
        const d = decideWith({
            nodes: { "dy-1": "idle+cloud+powering_up", "dy-2": "allocated+cloud" },
            jobs: [job("7", "running", ["dy-2"])],
            deferred: ["dy-1"],
        });
        assert.deepEqual(d.actions, [
            {
                type: "cancel-resume",
                node: "dy-1",
                reason: "no job waits for it any more: powered down without booting",
            },
        ]);
    });

    it("a node powered up with no job that the service never deferred (an admin's power_up) boots", () => {
        const d = decideWith({
            nodes: { "dy-1": "idle+cloud+powering_up" },
            jobs: [job("7", "running", [])],
        });
        assert.deepEqual(d.actions, [{ type: "launch", node: "dy-1" }]);
    });

    it("a node made the last choice gets its weight back once it no longer boots, hand-off on or off", () => {
        for (const handOff of [true, false]) {
            const d = decideWith({
                nodes: { "dy-1": "idle+cloud", "dy-2": "idle+cloud+powering_up" },
                jobs: [],
                weights: { "dy-1": HAND_OFF_WEIGHT, "dy-2": HAND_OFF_WEIGHT },
                handOff,
            });
            // dy-2 still boots (for whichever job takes it): it keeps the weight.
            assert.deepEqual(
                d.actions.filter((a) => a.type === "restore-weight"),
                [{ type: "restore-weight", nodes: ["dy-1"] }],
            );
        }
    });

    it("a resume request newer than the snapshot is a new job's: launched, not powered down", () => {
        const d = decideWith({
            nodes: { "dy-1": "idle+cloud+powering_up" },
            jobs: [job("7", "running", [])],
            deferred: ["dy-1"],
            request: { node: "dy-1", at: NOW },
        });
        assert.deepEqual(d.actions, [{ type: "launch", node: "dy-1" }]);
    });
});
