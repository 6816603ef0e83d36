/**
 * The policy's round on a 1,000-node fleet split into worker pools (`npm run bench -- pools`):
 * the real `decide()` over one observation of 1,000 burst nodes (900 with a ready server: 600
 * running jobs, 300 idle; 100 booting for jobs waiting in CONFIGURING; every hand-off check
 * running against them) with the nodes in 1 pool (the baseline, as before pools), 2 pools and 10
 * pools. Prints each layout's median and 95th-percentile time per round and its ratio to the
 * one-pool baseline measured in the same process. Issue 19's bound: a round stays within 10 ms.
 */
import { performance } from "node:perf_hooks";
import type { Observation, ServerView } from "../autoscaler/model";
import { decide, type PolicyInput } from "../autoscaler/policy";
import type { SchedulerJob, SchedulerNode } from "../autoscaler/scheduler/types";
import { WorkerPoolIndex, type WorkerPoolSpec } from "../lib/workerPools";
import { median } from "./lib/stats";

const FLEET = 1000;
const ROUNDS = 200;
const NOW = Date.parse("2026-12-01T12:00:00Z");

function poolsOf(count: number): WorkerPoolSpec[] {
    return Array.from({ length: count }, (_, i) => ({
        name: i === 0 ? "compute" : `pool${i}`,
        flavors: [`flavor${i}`, `flavor${i}-big`],
        image: "Rocky-9",
        availabilityZone: "",
        min: 0,
        max: FLEET / count,
        staticPrefix: `${i === 0 ? "compute" : `pool${i}`}-st`,
        burstPrefix: `${i === 0 ? "compute" : `pool${i}`}-dy`,
    }));
}

/** One observation of the fleet, and the policy input around it. */
function inputFor(index: WorkerPoolIndex): PolicyInput {
    const names = index.nodeNames();
    const servers: ServerView[] = [];
    const nodes = new Map<string, SchedulerNode>();
    const jobs: SchedulerJob[] = [];
    const accepted = new Set<string>();
    names.burst.forEach((node, i) => {
        const minionId = `${node}-${"a".repeat(26)}`;
        const address = `10.0.${Math.floor(i / 250)}.${(i % 250) + 2}`;
        const booting = i % 10 === 9;
        const busy = !booting && i % 3 !== 2;
        if (!booting) {
            servers.push({
                id: `server-${i}`,
                name: node,
                status: "ACTIVE",
                address,
                node,
                minionId,
                pool: "burst",
                createdAt: NOW - 3_600_000,
            });
            accepted.add(minionId);
        }
        nodes.set(node, {
            name: node,
            state: booting ? "idle" : busy ? "allocated" : "idle",
            flags: new Set(booting ? ["cloud", "powering_up"] : ["cloud"]),
            address: booting ? node : address,
            reason: "",
            cpus: 4,
            allocatedCpus: busy || booting ? 4 : 0,
            slurmdStartedAt: booting ? undefined : NOW - 3_000_000,
        });
        if (busy || booting) {
            jobs.push({
                id: String(i + 1),
                name: "job",
                user: "fred",
                partition: index.poolOf(node)!.name,
                state: booting ? "configuring" : "running",
                reason: "",
                nodes: [node],
                cpus: 4,
                nodeCount: 1,
                submittedAt: NOW - 600_000 + i,
                startedAt: NOW - 500_000,
                requeueable: true,
                constrained: false,
                endsAt: NOW + 3_600_000,
            });
        }
    });
    const observation: Observation = {
        at: NOW,
        servers,
        scheduler: { takenAt: NOW, nodes, jobs },
        keys: { accepted, pending: new Set(), rejected: new Set(), denied: new Set() },
    };
    return {
        now: NOW,
        config: {
            names,
            launchTimeoutMs: 1_200_000,
            downTimeoutMs: 480_000,
            orphanGraceMs: 300_000,
            burstPrefixes: index.pools.map((p) => p.burstPrefix),
            staticPrefixes: index.pools.map((p) => p.staticPrefix),
            handOff: true,
            expectedBootMs: 120_000,
            roundMs: 10_000,
            poolOf: (node) => index.poolOf(node)?.name,
        },
        observation,
        records: new Map(),
        requests: new Map(),
        autoMode: true,
        breakerOpen: false,
        backoffUntil: () => undefined,
        held: new Set(),
        unavailable: new Map(),
    };
}

function measure(poolCount: number): { median: number; p95: number; actions: number } {
    const index = new WorkerPoolIndex(poolsOf(poolCount));
    const input = inputFor(index);
    let actions = 0;
    for (let i = 0; i < 20; i++) decide(input); // warm-up
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
        const started = performance.now();
        const decision = decide(input);
        times.push(performance.now() - started);
        actions = decision.actions.length;
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { median: median(times), p95: sorted[Math.floor(sorted.length * 0.95)]!, actions };
}

const baseline = measure(1);
console.log(`decide() on ${FLEET} burst nodes, ${ROUNDS} rounds each (ms per round)`);
console.log("pools   median    p95      x 1 pool   actions");
for (const count of [1, 2, 10]) {
    const r = count === 1 ? baseline : measure(count);
    console.log(
        `${String(count).padStart(5)}   ${r.median.toFixed(2).padStart(6)}   ${r.p95.toFixed(2).padStart(6)}   ${(r.median / baseline.median).toFixed(2).padStart(8)}x   ${r.actions}`,
    );
}
