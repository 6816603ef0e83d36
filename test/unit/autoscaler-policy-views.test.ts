/**
 * The worker views `decide()` reports, in the details its per-node hot path builds (the replay
 * calls it for every node of every round, so these are written for speed): the scheduler state
 * text (the state, then the flags sorted, whatever order the scheduler gave them in), the Salt
 * silence notes with their minutes and causes, the note of a node kept waiting, and the server
 * kept among duplicates (accepted key, then ACTIVE, then oldest; ERROR last).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServerView, WorkerRecord, WorkerView } from "../../autoscaler/model";
import { decide, SALT_SILENCE_CAUSES, type PolicyInput } from "../../autoscaler/policy";
import type { KeyListing } from "../../autoscaler/salt/keys";
import type { NodeBaseState, NodeFlag, SchedulerNode } from "../../autoscaler/scheduler/types";

const NOW = 1_800_000_000_000;
const MIN = 60_000;
const NODE = "compute-dy-1";
const MINION = `${NODE}-${"a".repeat(26)}`;

function schedulerNode(state: NodeBaseState, flags: NodeFlag[]): SchedulerNode {
    return {
        name: NODE,
        state,
        flags: new Set(flags),
        address: NODE,
        reason: "",
        cpus: 1,
        allocatedCpus: state === "allocated" ? 1 : 0,
    };
}

function server(over: Partial<ServerView> = {}): ServerView {
    return {
        id: "srv-1",
        name: NODE,
        status: "ACTIVE",
        address: "192.0.2.11",
        node: NODE,
        minionId: MINION,
        pool: "burst",
        createdAt: NOW - 2 * MIN,
        ...over,
    };
}

function keys(accepted: string[] = []): KeyListing {
    return {
        accepted: new Set(accepted),
        pending: new Set(),
        rejected: new Set(),
        denied: new Set(),
    };
}

/** One burst node and what is known of it; the view `decide()` reports for it. */
function viewOf(
    sched: SchedulerNode,
    servers: ServerView[] = [],
    over: { keys?: KeyListing; record?: WorkerRecord; backoffUntil?: number } = {},
): { view: WorkerView; input: PolicyInput } {
    const input: PolicyInput = {
        now: NOW,
        config: {
            names: { static: [], burst: [NODE] },
            launchTimeoutMs: 20 * MIN,
            downTimeoutMs: 8 * MIN,
            orphanGraceMs: 5 * MIN,
            saltSilenceMs: 3 * MIN,
            burstPrefixes: ["compute-dy"],
        },
        observation: {
            at: NOW,
            servers,
            scheduler: { takenAt: NOW, nodes: new Map([[NODE, sched]]), jobs: [] },
            keys: over.keys ?? keys(),
        },
        records: new Map(over.record ? [[NODE, over.record]] : []),
        requests: new Map(),
        autoMode: true,
        breakerOpen: false,
        backoffUntil: over.backoffUntil,
        held: new Set(),
        unavailable: new Map(),
    };
    const view = decide(input).workers.find((w) => w.node === NODE);
    assert.ok(view, "a view of the node");
    return { view, input };
}

describe("decide(): the scheduler state text of a view", () => {
    const cases: Array<[NodeBaseState, NodeFlag[], string]> = [
        ["idle", [], "idle"],
        ["idle", ["cloud"], "idle+cloud"],
        ["idle", ["powered_down", "cloud"], "idle+cloud+powered_down"],
        ["idle", ["cloud", "powered_down"], "idle+cloud+powered_down"],
        [
            "allocated",
            ["powering_up", "not_responding", "cloud"],
            "allocated+cloud+not_responding+powering_up",
        ],
        [
            "down",
            ["drain", "cloud", "powered_down", "maintenance"],
            "down+cloud+drain+maintenance+powered_down",
        ],
    ];
    for (const [state, flags, text] of cases) {
        it(`${state} with [${flags.join(", ")}] reads ${text}`, () => {
            assert.equal(viewOf(schedulerNode(state, flags)).view.schedulerState, text);
        });
    }
});

describe("decide(): notes of a worker waiting for Salt", () => {
    const up = schedulerNode("idle", ["cloud", "powering_up"]);
    it("no word from the minion 5 min after the server's creation", () => {
        const { view } = viewOf(up, [server({ createdAt: NOW - 5 * MIN })]);
        assert.equal(view.phase, "booting");
        assert.equal(view.note, `no progress for 5 min: ${SALT_SILENCE_CAUSES.auth}`);
    });
    it("within the silence: waiting for the minion", () => {
        const { view } = viewOf(up, [server({ createdAt: NOW - 2 * MIN })]);
        assert.equal(view.note, "waiting for the Salt minion");
    });
    it("key accepted, no start 4 min after the master authenticated it", () => {
        const { view } = viewOf(up, [server({ createdAt: NOW - 10 * MIN })], {
            keys: keys([MINION]),
            record: { node: NODE, minionId: MINION, authSeenAt: NOW - 4 * MIN },
        });
        assert.equal(view.phase, "configuring");
        assert.equal(view.note, `no progress for 4 min: ${SALT_SILENCE_CAUSES.start}`);
    });
    it("started, no highstate result 7 min later", () => {
        const { view } = viewOf(up, [server({ createdAt: NOW - 10 * MIN })], {
            keys: keys([MINION]),
            record: { node: NODE, minionId: MINION, startedAt: NOW - 7 * MIN },
        });
        assert.equal(view.note, `no progress for 7 min: ${SALT_SILENCE_CAUSES.highstate}`);
    });
    it("started 2 min ago: no note", () => {
        const { view } = viewOf(up, [server({ createdAt: NOW - 10 * MIN })], {
            keys: keys([MINION]),
            record: { node: NODE, minionId: MINION, startedAt: NOW - 2 * MIN },
        });
        assert.equal(view.phase, "configuring");
        assert.equal(view.note, undefined);
    });
});

describe("decide(): a node the scheduler wants up that is kept waiting", () => {
    it("the flavor backs off: the note says until when, and nothing is launched", () => {
        const until = NOW + 90_000;
        const { view, input } = viewOf(schedulerNode("idle", ["cloud", "powering_up"]), [], {
            backoffUntil: until,
        });
        assert.equal(view.phase, "absent");
        assert.equal(
            view.note,
            `waiting: flavor backing off until ${new Date(until).toISOString()}`,
        );
        assert.deepEqual(decide(input).actions, []);
    });
});

describe("decide(): the server kept among duplicates", () => {
    const ready = schedulerNode("idle", ["cloud"]);
    const cases: Array<[string, ServerView[], KeyListing, string]> = [
        [
            "the one whose key is accepted",
            [server({ id: "a", minionId: "x" }), server({ id: "b" })],
            keys([MINION]),
            "b",
        ],
        [
            "the ACTIVE one",
            [server({ id: "a", status: "BUILD" }), server({ id: "b", createdAt: NOW - 9 * MIN })],
            keys(),
            "b",
        ],
        [
            "the oldest, all else equal",
            [server({ id: "a" }), server({ id: "b", createdAt: NOW - 9 * MIN })],
            keys(),
            "b",
        ],
        [
            "not the one in ERROR, even with its key accepted",
            [server({ id: "a", status: "ERROR" }), server({ id: "b", status: "BUILD" })],
            keys([MINION]),
            "b",
        ],
    ];
    for (const [name, servers, listing, kept] of cases) {
        it(name, () => {
            const { view, input } = viewOf(ready, servers, { keys: listing });
            assert.equal(view.serverId, kept);
            const deleted = decide(input).actions.flatMap((a) =>
                a.type === "delete" ? [a.serverId] : [],
            );
            assert.deepEqual(
                deleted,
                servers.map((s) => s.id).filter((id) => id !== kept),
            );
        });
    }
});
