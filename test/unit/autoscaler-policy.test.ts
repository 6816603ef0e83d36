/**
 * The policy, table-driven: for each situation of Nova, Slurm, Salt and the service's memory,
 * the exact actions and the worker's reported phase. Plus properties: the policy never launches
 * a node twice, never touches the static floor, and never launches beyond the burst pool.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { NodeRequest, ServerView, WorkerRecord } from "../../autoscaler/model";
import {
    type Action,
    decide,
    decideActions,
    type Decision,
    FIRST_KEYS_MAX,
    obsoleteRecords,
    type PolicyInput,
    REASONS,
    REPLACED_DELETE_REASON,
    RETIRED_DELETE_REASON,
} from "../../autoscaler/policy";
import type { KeyListing } from "../../autoscaler/salt/keys";
import type { NodeBaseState, NodeFlag, SchedulerNode } from "../../autoscaler/scheduler/types";
import type { UnavailableEntry } from "../../autoscaler/store";

const NOW = 1_800_000_000_000;
const MIN = 60_000;
const minion = (node: string) => `${node}-${"a".repeat(26)}`;

/** A scheduler node from `state+flag+flag` text. */
function sched(name: string, text: string, address = name): SchedulerNode {
    const [state, ...flags] = text.split("+") as [NodeBaseState, ...NodeFlag[]];
    return {
        name,
        state,
        flags: new Set(flags),
        address,
        reason: "",
        cpus: 1,
        allocatedCpus: state === "allocated" || state === "mixed" ? 1 : 0,
    };
}

function server(node: string, over: Partial<ServerView> = {}): ServerView {
    return {
        id: `srv-${node}`,
        name: node,
        status: "ACTIVE",
        address: `192.0.2.${Number(node.split("-").pop()) + 10}`,
        node,
        minionId: minion(node),
        pool: node.includes("-st-") ? "static" : "burst",
        createdAt: NOW - 2 * MIN,
        ...over,
    };
}

function keys(accepted: string[] = [], pending: string[] = []): KeyListing {
    return {
        accepted: new Set(accepted),
        pending: new Set(pending),
        rejected: new Set(),
        denied: new Set(),
    };
}

/** A key listing with every state. */
function keyDirs(k: Partial<Record<keyof KeyListing, string[]>>): KeyListing {
    return {
        accepted: new Set(k.accepted ?? []),
        pending: new Set(k.pending ?? []),
        rejected: new Set(k.rejected ?? []),
        denied: new Set(k.denied ?? []),
    };
}

/** The head node's minion ID in these situations. */
const HEAD = "dc-head";

interface Situation {
    nodes?: Record<string, string>;
    servers?: ServerView[];
    keys?: KeyListing;
    /** Minion IDs with a remembered first key (state.json), oldest first. */
    firstKeys?: string[];
    firstKeysMax?: number;
    records?: WorkerRecord[];
    requests?: Record<string, NodeRequest>;
    autoMode?: boolean;
    breakerOpen?: boolean;
    backoffUntil?: number;
    held?: string[];
    unavailable?: Record<string, UnavailableEntry>;
    /** First seen as an orphan, by server ID. */
    orphanSince?: Record<string, number>;
    /** Slurm's reason text of nodes, by name. */
    reasons?: Record<string, string>;
    /** Slurm's address of nodes, by name (default: the ACTIVE server's, once registered). */
    addresses?: Record<string, string>;
    /** When each node's slurmd started, by name (default: a minute ago, once registered). */
    slurmdStarted?: Record<string, number>;
}

function input(s: Situation): PolicyInput {
    const nodes = new Map<string, SchedulerNode>();
    const defaults: Record<string, string> = {
        "compute-st-1": "idle+cloud",
        "compute-dy-1": "idle+cloud+powered_down",
        "compute-dy-2": "idle+cloud+powered_down",
        "compute-dy-3": "idle+cloud+powered_down",
    };
    const servers = s.servers ?? [server("compute-st-1")];
    for (const [name, text] of Object.entries({ ...defaults, ...s.nodes })) {
        if (text === "absent") continue;
        const addr =
            s.addresses?.[name] ??
            servers.find((x) => x.node === name && x.status === "ACTIVE")?.address ??
            name;
        // Slurm keeps NodeAddr = name until the node registers (or is told its address).
        const unregistered = /powered_down|powering_up/.test(text);
        const node = sched(name, text, unregistered ? name : addr);
        node.reason = s.reasons?.[name] ?? "";
        node.slurmdStartedAt = unregistered ? undefined : (s.slurmdStarted?.[name] ?? NOW - MIN);
        nodes.set(name, node);
    }
    return {
        now: NOW,
        config: {
            names: {
                static: ["compute-st-1"],
                burst: ["compute-dy-1", "compute-dy-2", "compute-dy-3"],
            },
            launchTimeoutMs: 20 * MIN,
            downTimeoutMs: 8 * MIN,
            orphanGraceMs: 5 * MIN,
            burstPrefixes: ["compute-dy"],
            staticPrefixes: ["compute-st"],
            headMinionId: HEAD,
            firstKeysMax: s.firstKeysMax,
        },
        observation: {
            at: NOW - 1000,
            servers,
            scheduler: { takenAt: NOW - 1000, nodes, jobs: [] },
            keys: s.keys ?? keys(servers.map((x) => x.minionId!).filter(Boolean)),
        },
        records: new Map((s.records ?? []).map((r) => [r.node, r])),
        requests: new Map(Object.entries(s.requests ?? {})),
        autoMode: s.autoMode ?? true,
        breakerOpen: s.breakerOpen ?? false,
        backoffUntil: s.backoffUntil,
        held: new Set(s.held ?? []),
        unavailable: new Map(Object.entries(s.unavailable ?? {})),
        orphanSince: new Map(Object.entries(s.orphanSince ?? {})),
        firstKeys: s.firstKeys,
    };
}

const st1 = server("compute-st-1");

interface Case {
    name: string;
    situation: Situation;
    actions: Action[];
    phase?: [string, string];
}

const CASES: Case[] = [
    {
        name: "nothing to do: floor ready, burst powered down",
        situation: {},
        actions: [],
        phase: ["compute-st-1", "ready"],
    },
    {
        name: "Slurm powers a node up: it is launched",
        situation: { nodes: { "compute-dy-2": "allocated+cloud+powering_up+not_responding" } },
        actions: [{ type: "launch", node: "compute-dy-2" }],
        phase: ["compute-dy-2", "launching"],
    },
    {
        name: "a resume request newer than the snapshot also launches",
        situation: { requests: { "compute-dy-1": { want: "up", at: NOW } } },
        actions: [{ type: "launch", node: "compute-dy-1" }],
    },
    {
        name: "a launch that returned while the listing was in flight is not launched again",
        situation: {
            nodes: { "compute-dy-1": "allocated+cloud+powering_up" },
            records: [
                {
                    node: "compute-dy-1",
                    launchStartedAt: NOW - 3000,
                    launchReturnedAt: NOW - 500,
                    serverId: "srv-new",
                    minionId: minion("compute-dy-1"),
                },
            ],
        },
        actions: [],
        phase: ["compute-dy-1", "launching"],
    },
    {
        name: "auto mode off: no launch, Slurm stops waiting, the node is kept out",
        situation: { nodes: { "compute-dy-1": "idle+cloud+powering_up" }, autoMode: false },
        actions: [
            {
                type: "mark-gone",
                nodes: ["compute-dy-1"],
                reason: REASONS.autoOff,
                unavailable: "auto-off",
            },
        ],
    },
    {
        name: "breaker open: no launch, Slurm stops waiting, the node is kept out",
        situation: { nodes: { "compute-dy-1": "idle+cloud+powering_up" }, breakerOpen: true },
        actions: [
            {
                type: "mark-gone",
                nodes: ["compute-dy-1"],
                reason: REASONS.breaker,
                unavailable: "breaker",
            },
        ],
    },
    {
        name: "flavor backing off: the node waits (Slurm's ResumeTimeout still applies)",
        situation: { nodes: { "compute-dy-1": "idle+cloud+powering_up" }, backoffUntil: NOW + MIN },
        actions: [],
        phase: ["compute-dy-1", "absent"],
    },
    {
        name: "a node in its cooldown after a failed boot is not launched",
        situation: {
            nodes: { "compute-dy-1": "idle+cloud+powering_up" },
            unavailable: {
                "compute-dy-1": {
                    cause: "cooldown",
                    reason: "dynamic-cluster: boot failed",
                    since: NOW - MIN,
                    until: NOW + MIN,
                },
            },
        },
        actions: [
            { type: "mark-gone", nodes: ["compute-dy-1"], reason: "dynamic-cluster: boot failed" },
        ],
    },
    {
        name: "a server in ERROR with no host is a capacity failure",
        situation: {
            nodes: { "compute-dy-1": "allocated+cloud+powering_up" },
            servers: [
                st1,
                server("compute-dy-1", { status: "ERROR", fault: "No valid host was found." }),
            ],
        },
        actions: [
            {
                type: "fail",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                kind: "capacity",
                reason: "server compute-dy-1 went to ERROR: No valid host was found.",
            },
        ],
        phase: ["compute-dy-1", "failed"],
    },
    {
        name: "a server in ERROR because Nova's quota recheck failed is a quota failure (back off, no breaker)",
        situation: {
            nodes: { "compute-dy-1": "allocated+cloud+powering_up" },
            servers: [
                st1,
                server("compute-dy-1", {
                    status: "ERROR",
                    // Nova's words, from a real run (test/integration/autoscaler-faults.test.ts).
                    fault: "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances",
                }),
            ],
        },
        actions: [
            {
                type: "fail",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                kind: "quota",
                reason: "server compute-dy-1 went to ERROR: Quota exceeded for instances: Requested 1, but already used 1 of 1 instances",
            },
        ],
        phase: ["compute-dy-1", "failed"],
    },
    {
        name: "a server in ERROR for another reason is a boot failure",
        situation: {
            nodes: { "compute-dy-1": "allocated+cloud+powering_up" },
            servers: [st1, server("compute-dy-1", { status: "ERROR", fault: "Image is corrupt" })],
        },
        actions: [
            {
                type: "fail",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                kind: "boot-error",
                reason: "server compute-dy-1 went to ERROR: Image is corrupt",
            },
        ],
    },
    {
        name: "a worker still booting past its launch deadline fails",
        situation: {
            nodes: { "compute-dy-1": "allocated+cloud+powering_up" },
            servers: [st1, server("compute-dy-1", { createdAt: NOW - 21 * MIN })],
            keys: keys([st1.minionId!]),
        },
        actions: [
            {
                type: "fail",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                kind: "launch-timeout",
                reason: "not ready 1200 s after launch (booting)",
            },
        ],
    },
    {
        name: "a worker booting within its deadline waits; Slurm is told its address",
        situation: {
            nodes: { "compute-dy-1": "allocated+cloud+powering_up" },
            servers: [st1, server("compute-dy-1")],
            keys: keys([st1.minionId!], [minion("compute-dy-1")]),
        },
        actions: [{ type: "set-address", node: "compute-dy-1", address: "192.0.2.11" }],
        phase: ["compute-dy-1", "booting"],
    },
    {
        name: "a highstate that failed fails the worker",
        situation: {
            nodes: { "compute-dy-1": "allocated+cloud+powering_up" },
            servers: [st1, server("compute-dy-1")],
            records: [{ node: "compute-dy-1", configFailedAt: NOW - 1000 }],
        },
        actions: [
            {
                type: "fail",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                kind: "config-failed",
                reason: "the worker highstate failed",
            },
        ],
    },
    {
        name: "Slurm suspends a node: its server is deleted",
        situation: {
            nodes: { "compute-dy-1": "idle+cloud+powering_down" },
            servers: [st1, server("compute-dy-1")],
        },
        actions: [
            {
                type: "delete",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                reason: "the scheduler released it (suspend)",
            },
        ],
        phase: ["compute-dy-1", "deleting"],
    },
    {
        name: "a held node keeps its server even when released",
        situation: {
            nodes: { "compute-dy-1": "idle+cloud+powering_down" },
            servers: [st1, server("compute-dy-1")],
            held: ["compute-dy-1"],
        },
        actions: [],
    },
    {
        name: "ResumeFailProgram: the server is deleted as a failed boot",
        situation: {
            nodes: { "compute-dy-1": "down+cloud+powered_down+not_responding" },
            servers: [st1, server("compute-dy-1")],
            requests: { "compute-dy-1": { want: "down", at: NOW, failed: true } },
        },
        actions: [
            {
                type: "fail",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                kind: "launch-timeout",
                reason: "the scheduler gave up waiting for it (ResumeFailProgram)",
            },
        ],
    },
    {
        name: "ResumeFailProgram before any launch (held by a backoff): the node is resumed, not left DOWN for good",
        situation: {
            nodes: { "compute-dy-1": "down+cloud+powered_down" },
            requests: { "compute-dy-1": { want: "down", at: NOW, failed: true } },
        },
        actions: [{ type: "restore", nodes: [], resume: ["compute-dy-1"] }],
    },
    {
        name: "... but a held node the scheduler gave up on stays as the admin left it",
        situation: {
            nodes: { "compute-dy-1": "down+cloud+powered_down" },
            requests: { "compute-dy-1": { want: "down", at: NOW, failed: true } },
            held: ["compute-dy-1"],
        },
        actions: [],
    },
    {
        name: "Slurm thinks a node is up but its server is gone: Slurm is told",
        situation: { nodes: { "compute-dy-3": "idle+cloud" } },
        actions: [{ type: "mark-gone", nodes: ["compute-dy-3"], reason: REASONS.serverGone }],
    },
    {
        name: "a ready worker that stops answering is given downTimeout, then replaced",
        situation: {
            nodes: { "compute-dy-1": "down+cloud+not_responding" },
            servers: [st1, server("compute-dy-1", { createdAt: NOW - 60 * MIN })],
            records: [{ node: "compute-dy-1", unreachableSince: NOW - 9 * MIN }],
        },
        actions: [
            {
                type: "fail",
                node: "compute-dy-1",
                serverId: "srv-compute-dy-1",
                kind: "unreachable",
                reason: "the scheduler could not reach it for 480 s",
            },
        ],
    },
    {
        name: "... and first it only notes when the worker became unreachable",
        situation: {
            nodes: { "compute-dy-1": "idle+cloud+not_responding" },
            servers: [st1, server("compute-dy-1", { createdAt: NOW - 60 * MIN })],
        },
        actions: [{ type: "track-unreachable", node: "compute-dy-1", since: NOW }],
    },
    {
        name: "two servers for one node: the one without an accepted key goes",
        situation: {
            nodes: { "compute-dy-1": "idle+cloud" },
            servers: [
                st1,
                server("compute-dy-1"),
                server("compute-dy-1", {
                    id: "srv-dup",
                    minionId: minion("compute-dy-1").replace("aaa", "bbb"),
                    createdAt: NOW - MIN,
                }),
            ],
            keys: keys([st1.minionId!, minion("compute-dy-1")]),
        },
        actions: [
            {
                type: "delete",
                node: "compute-dy-1",
                serverId: "srv-dup",
                reason: "duplicate: compute-dy-1 already has server srv-compute-dy-1",
            },
        ],
    },
    {
        name: "a worker no node accounts for is deleted once an orphan for the grace period, counted from when first seen so",
        situation: {
            servers: [
                st1,
                server("compute-dy-70", {
                    id: "srv-old",
                    name: "someone-renamed-it",
                    createdAt: NOW - 60 * MIN,
                }),
                // Created long ago, an orphan only since this round: not yet.
                server("compute-dy-71", {
                    id: "srv-new-orphan",
                    createdAt: NOW - 60 * MIN,
                }),
                server("compute-st-7", {
                    id: "srv-static",
                    pool: "static",
                    createdAt: NOW - 60 * MIN,
                }),
            ],
            keys: keys([st1.minionId!]),
            orphanSince: { "srv-old": NOW - 6 * MIN },
        },
        actions: [
            {
                type: "delete",
                serverId: "srv-old",
                reason: "orphan: server someone-renamed-it belongs to no worker of this cluster",
            },
        ],
    },
    {
        name: "a server that is no worker (the head node: no pool tag, no node name; or a pool tag without a node name) is never an orphan, however long it has been seen",
        situation: {
            servers: [
                st1,
                server("x-1", {
                    id: "srv-head",
                    name: "dc-head",
                    node: undefined,
                    minionId: undefined,
                    pool: undefined,
                    createdAt: NOW - 600 * MIN,
                }),
                server("x-2", {
                    id: "srv-tagged-by-hand",
                    name: "my-vm",
                    node: undefined,
                    pool: "burst",
                    createdAt: NOW - 600 * MIN,
                }),
            ],
            keys: keys([st1.minionId!]),
            orphanSince: { "srv-head": NOW - 500 * MIN, "srv-tagged-by-hand": NOW - 500 * MIN },
        },
        actions: [],
    },
    {
        name: "workers.max lowered: a busy node it no longer covers is drained, its server kept",
        situation: {
            nodes: { "compute-dy-5": "allocated+cloud" },
            servers: [st1, server("compute-dy-5")],
        },
        actions: [{ type: "drain", nodes: ["compute-dy-5"], reason: REASONS.retired }],
        phase: ["compute-dy-5", "draining"],
    },
    {
        name: "workers.max lowered: a drained retired node still running jobs keeps its server",
        situation: {
            nodes: { "compute-dy-5": "mixed+cloud+drain" },
            servers: [st1, server("compute-dy-5")],
        },
        actions: [],
        phase: ["compute-dy-5", "draining"],
    },
    {
        name: "workers.max lowered: a drained retired node whose jobs ended loses its server, and Slurm stops waiting for it",
        situation: {
            nodes: { "compute-dy-5": "idle+cloud+drain" },
            servers: [st1, server("compute-dy-5")],
        },
        actions: [
            {
                type: "delete",
                node: "compute-dy-5",
                serverId: "srv-compute-dy-5",
                reason: RETIRED_DELETE_REASON,
            },
            { type: "mark-gone", nodes: ["compute-dy-5"], reason: REASONS.retired },
        ],
        phase: ["compute-dy-5", "deleting"],
    },
    {
        name: "workers.max lowered: an idle retired node is drained before its server goes (a job could still land)",
        situation: {
            nodes: { "compute-dy-5": "idle+cloud" },
            servers: [st1, server("compute-dy-5")],
        },
        actions: [{ type: "drain", nodes: ["compute-dy-5"], reason: REASONS.retired }],
    },
    {
        name: "workers.min lowered: a floor server handed to the service (burst tag) running jobs is drained, kept",
        situation: {
            nodes: { "compute-st-2": "allocated+cloud" },
            servers: [st1, server("compute-st-2", { pool: "burst" })],
        },
        actions: [{ type: "drain", nodes: ["compute-st-2"], reason: REASONS.retired }],
        phase: ["compute-st-2", "draining"],
    },
    {
        name: "workers.min lowered: a handed-over floor server goes once drained and idle",
        situation: {
            nodes: { "compute-st-2": "idle+cloud+drain" },
            servers: [st1, server("compute-st-2", { pool: "burst" })],
        },
        actions: [
            {
                type: "delete",
                node: "compute-st-2",
                serverId: "srv-compute-st-2",
                reason: RETIRED_DELETE_REASON,
            },
            { type: "mark-gone", nodes: ["compute-st-2"], reason: REASONS.retired },
        ],
        phase: ["compute-st-2", "deleting"],
    },
    {
        name: "workers.min lowered: the key of a retired floor node goes once its server is gone",
        situation: {
            servers: [st1],
            keys: keys([st1.minionId!, minion("compute-st-2")]),
        },
        actions: [{ type: "remove-keys", minionIds: [minion("compute-st-2")] }],
    },
    {
        name: "a static server the WorkerPool handed over to replace it (dc-retiring) is drained while it runs a job, never deleted",
        situation: {
            nodes: { "compute-st-1": "allocated+cloud" },
            servers: [server("compute-st-1", { retiring: true })],
        },
        actions: [{ type: "drain", nodes: ["compute-st-1"], reason: REASONS.replaced }],
        phase: ["compute-st-1", "draining"],
    },
    {
        name: "a replaced static server goes once drained and idle; the node stays drained (no power-down) for its next server",
        situation: {
            nodes: { "compute-st-1": "idle+cloud+drain" },
            servers: [server("compute-st-1", { retiring: true })],
        },
        actions: [
            {
                type: "delete",
                node: "compute-st-1",
                serverId: "srv-compute-st-1",
                reason: REPLACED_DELETE_REASON,
                serverOnly: true,
            },
        ],
        phase: ["compute-st-1", "deleting"],
    },
    {
        name: "a handed-over server that still runs a job at the node's address keeps it when the node's next server exists: no drain, no delete, no new address",
        situation: {
            nodes: { "compute-st-1": "allocated+cloud" },
            servers: [
                server("compute-st-1", { retiring: true }),
                server("compute-st-1", { id: "srv-next", address: "192.0.2.99" }),
            ],
            addresses: { "compute-st-1": "192.0.2.11" },
        },
        actions: [],
    },
    {
        name: "a handed-over server that does not hold the node goes at once when the node's next server exists, and the node learns the new address",
        situation: {
            nodes: { "compute-st-1": "allocated+cloud" },
            servers: [
                server("compute-st-1", { retiring: true }),
                server("compute-st-1", { id: "srv-next", address: "192.0.2.99" }),
            ],
            addresses: { "compute-st-1": "192.0.2.50" },
        },
        actions: [
            {
                type: "delete",
                node: "compute-st-1",
                serverId: "srv-compute-st-1",
                reason: REPLACED_DELETE_REASON,
                serverOnly: true,
            },
            { type: "set-address", node: "compute-st-1", address: "192.0.2.99" },
        ],
    },
    {
        name: "workers.min raised again: a floor server the WorkerPool took back (no dc-retiring) is undrained, its job untouched",
        situation: {
            nodes: { "compute-st-1": "allocated+cloud+drain" },
            reasons: { "compute-st-1": REASONS.retired },
        },
        actions: [{ type: "undrain", nodes: ["compute-st-1"] }],
    },
    {
        name: "workers.max raised again: a retired burst node the policy covers again is undrained",
        situation: {
            nodes: { "compute-dy-2": "allocated+cloud+drain" },
            servers: [st1, server("compute-dy-2")],
            reasons: { "compute-dy-2": REASONS.retired },
        },
        actions: [{ type: "undrain", nodes: ["compute-dy-2"] }],
    },
    {
        name: "a replaced static node's next server registered: the node the service drained for the replacement is undrained",
        situation: {
            nodes: { "compute-st-1": "idle+cloud+drain" },
            reasons: { "compute-st-1": REASONS.replaced },
        },
        actions: [{ type: "undrain", nodes: ["compute-st-1"] }],
    },
    {
        name: "a replaced static node Slurm still thinks up on the old server's slurmd (started before the new server existed) stays drained",
        situation: {
            nodes: { "compute-st-1": "idle+cloud+drain" },
            reasons: { "compute-st-1": REASONS.replaced },
            slurmdStarted: { "compute-st-1": NOW - 60 * MIN },
        },
        actions: [],
    },
    {
        name: "a replaced static node whose next server has not registered yet stays drained",
        situation: {
            nodes: { "compute-st-1": "down+cloud+drain+not_responding" },
            reasons: { "compute-st-1": REASONS.replaced },
        },
        actions: [],
    },
    {
        name: "a node an admin drained (another reason) is never undrained by the service",
        situation: {
            nodes: { "compute-st-1": "idle+cloud+drain" },
            reasons: { "compute-st-1": "disk failing" },
        },
        actions: [],
    },
    {
        name: "a handed-over static server whose node Slurm does not have is an orphan (grace first), not a static server to leave alone",
        situation: {
            nodes: { "compute-st-1": "absent" },
            servers: [server("compute-st-1", { retiring: true })],
            orphanSince: { "srv-compute-st-1": NOW - 6 * MIN },
        },
        actions: [
            {
                type: "delete",
                serverId: "srv-compute-st-1",
                reason: "orphan: server compute-st-1 belongs to no worker of this cluster",
            },
        ],
    },
    {
        name: "a burst server for a node neither workers.max nor Slurm has is an orphan (grace first)",
        situation: {
            servers: [st1, server("compute-dy-9"), server("compute-dy-8")],
            orphanSince: { "srv-compute-dy-9": NOW - 6 * MIN },
        },
        actions: [
            {
                type: "delete",
                serverId: "srv-compute-dy-9",
                reason: "orphan: server compute-dy-9 belongs to no worker of this cluster",
            },
        ],
    },
    {
        name: "workers.max lowered: a powered-down retired node still in slurm.conf is drained, nothing else",
        situation: { nodes: { "compute-dy-5": "idle+cloud+powered_down" } },
        actions: [{ type: "drain", nodes: ["compute-dy-5"], reason: REASONS.retired }],
    },
    {
        name: "a burst node missing from the scheduler's listing keeps its server (a listing is no proof of idleness)",
        situation: {
            nodes: { "compute-dy-2": "absent" },
            servers: [st1, server("compute-dy-2")],
        },
        actions: [],
    },
    {
        name: "the accepted key of a burst node workers.max retired goes once its server is gone; a live one stays",
        situation: {
            servers: [st1, server("compute-dy-8")],
            nodes: { "compute-dy-8": "allocated+cloud+drain" },
            keys: keys([st1.minionId!, minion("compute-dy-7"), minion("compute-dy-8")]),
        },
        actions: [{ type: "remove-keys", minionIds: [minion("compute-dy-7")] }],
    },
    {
        name: "keys of workers that are gone are removed; the head's and unknown ones are not",
        situation: {
            keys: keys(
                [st1.minionId!, minion("compute-dy-2"), "dc-head", "someone-else"],
                [minion("compute-dy-3")],
            ),
        },
        actions: [
            { type: "remove-keys", minionIds: [minion("compute-dy-2"), minion("compute-dy-3")] },
        ],
    },
    {
        name: "rejected and denied keys of IDs not of this cluster's naming are removed (garbage from anyone who reaches 4506)",
        situation: {
            keys: keyDirs({
                accepted: [st1.minionId!],
                rejected: ["evil", "../evil2", minion("other-dy-1"), minion("compute-dy-9")],
                denied: ["intruder", "Upper_Case.x"],
            }),
        },
        actions: [
            {
                type: "remove-keys",
                // "../evil2" is no file name the key store would touch: never listed.
                minionIds: [
                    "Upper_Case.x",
                    "evil",
                    "intruder",
                    minion("compute-dy-9"),
                    minion("other-dy-1"),
                ].sort(),
            },
        ],
    },
    {
        name: "accepted and pending keys of unknown IDs are kept (an admin may have added them), rejected ones go",
        situation: {
            keys: keyDirs({
                accepted: [st1.minionId!, "admin-box", minion("other-dy-1")],
                pending: ["stranger", minion("other-dy-2")],
                rejected: ["stranger-2"],
            }),
        },
        actions: [{ type: "remove-keys", minionIds: ["stranger-2"] }],
    },
    {
        name: "the head's own ID is never cleaned up, whatever the state of its keys",
        situation: {
            keys: keyDirs({ accepted: [st1.minionId!], rejected: [HEAD], denied: [HEAD] }),
        },
        actions: [],
    },
    {
        name: "a denied key of an ID with an accepted key is kept (Salt keeps one per ID: an impersonation the admin may look at)",
        situation: {
            keys: keyDirs({ accepted: [st1.minionId!, "admin-box"], denied: ["admin-box"] }),
        },
        actions: [],
    },
    {
        name: "a rejected or denied key of a live worker's ID is kept (it keeps the impostor out)",
        situation: {
            servers: [st1, server("compute-dy-1")],
            nodes: { "compute-dy-1": "idle+cloud" },
            keys: keyDirs({
                accepted: [st1.minionId!],
                rejected: [minion("compute-dy-1")],
                denied: [st1.minionId!],
            }),
        },
        actions: [],
    },
    {
        name: "remembered first keys of IDs with no key left and no worker are forgotten (keys deleted out of band)",
        situation: {
            servers: [st1],
            records: [{ node: "compute-dy-3", minionId: minion("compute-dy-3") }],
            keys: keyDirs({ accepted: [st1.minionId!, minion("other-dy-1")] }),
            firstKeys: [
                minion("compute-dy-1"),
                st1.minionId!,
                minion("other-dy-1"),
                minion("compute-dy-3"),
                minion("compute-dy-2"),
            ],
        },
        actions: [
            {
                type: "forget-first-keys",
                minionIds: [minion("compute-dy-1"), minion("compute-dy-2")],
            },
        ],
    },
    {
        name: "remembered first keys whose key the same round removes are left to remove-keys",
        situation: {
            keys: keyDirs({ accepted: [st1.minionId!, minion("compute-dy-2")] }),
            firstKeys: [st1.minionId!, minion("compute-dy-2")],
        },
        actions: [{ type: "remove-keys", minionIds: [minion("compute-dy-2")] }],
    },
    {
        name: "remembered first keys beyond the bound: the oldest are forgotten first, never a live worker's",
        situation: {
            firstKeysMax: 3,
            servers: [st1],
            keys: keyDirs({
                accepted: [st1.minionId!, ...[1, 2, 3, 4].map((i) => minion(`old-dy-${i}`))],
            }),
            firstKeys: [
                st1.minionId!,
                minion("old-dy-1"),
                minion("old-dy-2"),
                minion("old-dy-3"),
                minion("old-dy-4"),
            ],
        },
        actions: [
            {
                type: "forget-first-keys",
                minionIds: [minion("old-dy-1"), minion("old-dy-2")],
            },
        ],
    },
    {
        name: "the static floor is never launched or deleted, even when its server is gone",
        situation: { nodes: { "compute-st-1": "down+cloud+not_responding" }, servers: [] },
        actions: [],
        phase: ["compute-st-1", "absent"],
    },
    {
        name: "a node kept out of use is set down once powered down",
        situation: {
            breakerOpen: true,
            unavailable: {
                "compute-dy-2": { cause: "breaker", reason: REASONS.breaker, since: NOW - MIN },
            },
        },
        actions: [{ type: "mark-unavailable", nodes: ["compute-dy-2"], reason: REASONS.breaker }],
    },
    {
        name: "when the breaker is reset, kept-out nodes go back (down ones resumed)",
        situation: {
            nodes: {
                "compute-dy-2": "down+cloud+powered_down",
                "compute-dy-3": "idle+cloud+powered_down",
            },
            unavailable: {
                "compute-dy-2": { cause: "breaker", reason: REASONS.breaker, since: NOW - MIN },
                "compute-dy-3": {
                    cause: "cooldown",
                    reason: "x",
                    since: NOW - 9 * MIN,
                    until: NOW - MIN,
                },
            },
        },
        actions: [
            { type: "restore", nodes: ["compute-dy-2", "compute-dy-3"], resume: ["compute-dy-2"] },
        ],
    },
];

describe("policy: situations", () => {
    for (const c of CASES) {
        it(c.name, () => {
            const decision = decide(input(c.situation));
            assert.deepEqual(decision.actions, c.actions);
            if (c.phase) {
                const [node, phase] = c.phase;
                assert.equal(decision.workers.find((w) => w.node === node)?.phase, phase);
            }
        });
    }

    it("reports a ready worker's activity from the scheduler", () => {
        const decision = decide(
            input({
                nodes: { "compute-dy-1": "mixed+cloud" },
                servers: [st1, server("compute-dy-1")],
            }),
        );
        const w = decision.workers.find((x) => x.node === "compute-dy-1")!;
        assert.deepEqual([w.phase, w.activity, w.keyState], ["ready", "busy", "accepted"]);
    });
});

/** What decideActions() must give for an input decide() gave `decision` for. */
function withoutViews(decision: Decision): ReturnType<typeof decideActions> {
    return {
        actions: decision.actions,
        orphans: decision.orphans,
        // Deferred launches are in transit too (their views say absent: no server yet).
        inTransit:
            decision.workers.filter((w) => w.phase !== "absent" && w.phase !== "ready").length +
            decision.deferred.length,
        deferred: decision.deferred,
    };
}

describe("policy: decideActions() is decide() without the views", () => {
    it("in every situation above: the same actions and orphans, the nodes in transit counted", () => {
        let inTransit = 0;
        for (const c of CASES) {
            const decision = decide(input(c.situation));
            const actions = decideActions(input(c.situation));
            assert.deepEqual(actions, withoutViews(decision), c.name);
            inTransit += actions.inTransit;
        }
        assert.ok(inTransit > 0, "some situations have nodes in transit");
    });
});

describe("policy: the bound on remembered first keys", () => {
    it("is a documented constant, large enough for every worker a cluster can have", () => {
        assert.equal(FIRST_KEYS_MAX, 10_000);
    });

    it("a full store of live workers' first keys loses none of them", () => {
        const live = ["compute-dy-1", "compute-dy-2", "compute-dy-3"];
        const decision = decide(
            input({
                firstKeysMax: 1,
                servers: [st1, ...live.map((n) => server(n))],
                nodes: Object.fromEntries(live.map((n) => [n, "idle+cloud"])),
                firstKeys: [st1.minionId!, ...live.map(minion)],
            }),
        );
        assert.deepEqual(decision.actions, []);
    });
});

describe("policy: which memory an observation makes obsolete", () => {
    const at = NOW - 1000;
    const records = new Map<string, WorkerRecord>([
        ["in-flight", { node: "in-flight", launchStartedAt: at - 5000, launchInFlight: true }],
        [
            "returned-late",
            {
                node: "returned-late",
                launchStartedAt: at - 5000,
                launchReturnedAt: at + 10,
                serverId: "s1",
            },
        ],
        [
            "returned-early",
            {
                node: "returned-early",
                launchStartedAt: at - 5000,
                launchReturnedAt: at - 10,
                serverId: "s2",
            },
        ],
        ["listed", { node: "listed", deleteRequestedAt: at - 10 }],
        ["uncertain", { node: "uncertain", launchUncertainAt: at + 1 }],
        ["old-uncertain", { node: "old-uncertain", launchUncertainAt: at - 1 }],
        ["failed-gone", { node: "failed-gone", failedAt: at - 100 }],
    ]);
    it("drops only records whose server the observation had to list and did not", () => {
        const obsolete = obsoleteRecords(records, {
            at,
            servers: [server("compute-dy-1", { node: "listed" })],
        });
        assert.deepEqual(obsolete.sort(), ["failed-gone", "old-uncertain", "returned-early"]);
    });
});

describe("policy: properties", () => {
    const burst = ["compute-dy-1", "compute-dy-2", "compute-dy-3"];
    const texts = [
        "idle+cloud+powered_down",
        "idle+cloud+powering_up",
        "allocated+cloud+powering_up",
        "idle+cloud",
        "mixed+cloud",
        "idle+cloud+powering_down",
        "down+cloud+not_responding",
        "down+cloud+powered_down",
    ];
    const situation = fc.record({
        states: fc.tuple(...burst.map(() => fc.constantFrom(...texts))),
        withServer: fc.tuple(...burst.map(() => fc.boolean())),
        inFlight: fc.tuple(...burst.map(() => fc.boolean())),
        autoMode: fc.boolean(),
        breakerOpen: fc.boolean(),
    });

    it("never launches a node that has a server or a launch in flight, nor a static node", () => {
        fc.assert(
            fc.property(situation, (s) => {
                const servers = [
                    st1,
                    ...burst.filter((_, i) => s.withServer[i]).map((n) => server(n)),
                ];
                const records = burst
                    .map((node, i) => ({
                        node,
                        launchStartedAt: NOW - 1000,
                        launchInFlight: true,
                        i,
                    }))
                    .filter((r) => s.inFlight[r.i])
                    .map(({ node, launchStartedAt, launchInFlight }) => ({
                        node,
                        launchStartedAt,
                        launchInFlight,
                    }));
                const situation = {
                    nodes: Object.fromEntries(burst.map((n, i) => [n, s.states[i]!])),
                    servers,
                    records,
                    autoMode: s.autoMode,
                    breakerOpen: s.breakerOpen,
                };
                const decision = decide(input(situation));
                assert.deepEqual(decideActions(input(situation)), withoutViews(decision));
                const launched = decision.actions
                    .filter((a) => a.type === "launch")
                    .map((a) => a.node);
                assert.equal(new Set(launched).size, launched.length, "a node launched twice");
                for (const node of launched) {
                    assert.ok(burst.includes(node), `${node} is not a burst node`);
                    assert.ok(
                        !servers.some((x) => x.node === node),
                        `${node} already has a server`,
                    );
                    assert.ok(
                        !records.some((r) => r.node === node),
                        `${node} has a launch in flight`,
                    );
                }
                if (!s.autoMode || s.breakerOpen) assert.deepEqual(launched, []);
                for (const a of decision.actions) {
                    if (a.type === "delete" || a.type === "fail") {
                        assert.notEqual(a.node, "compute-st-1", "the static floor was touched");
                    }
                }
            }),
        );
    });
});
