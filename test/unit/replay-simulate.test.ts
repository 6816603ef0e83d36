/**
 * The replay's simulation (replay/simulate.ts): a two-job trace whose figures are derived by
 * hand below for every policy, and properties over random traces: the cluster never exceeds
 * workers.max, scale-down never sends a running job back to the queue, and every job that fits
 * runs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { WorkerShape } from "../../replay/model";
import { foresight, percentile, replay } from "../../replay/simulate";
import { resampledTrace } from "../../replay/synthetic";
import type { TraceJob } from "../../replay/trace/types";
import { SHORT_BOOT_CLOUD } from "../helpers/fixedCloud";

/** Boots take exactly 20 s to ACTIVE and 10 s more to register; deletes 5 s. */
const FIXED_CLOUD = SHORT_BOOT_CLOUD;
/** Two 2-core workers at most, none static, 100 s idle timeout. */
const SHAPE: WorkerShape = {
    min: 0,
    max: 2,
    idleTimeout: 100,
    launchTimeout: 1200,
    coresPerNode: 2,
};
/** A: 2 cores for 100 s at t=0. B: 4 cores for 60 s at t=50. */
const TRACE: TraceJob[] = [
    { id: "A", submit: 0, runtime: 100, processors: 2 },
    { id: "B", submit: 50, runtime: 60, processors: 4 },
];
/** Used: (2 x 100 + 4 x 60) core-s / 2 cores per node = 220 node-s. */
const USED = 220 / 3600;

const close = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

describe("replay: a hand-derived trace", () => {
    it("static cluster of max nodes", () => {
        // Both nodes up from the start. A runs 0-100 on one node. B (4 cores) cannot start at
        // 50 (2 free) and has the reservation at A's end: runs 100-160. Waits 0 and 50 s.
        // Billed: 2 nodes x 160 s (first submit to last job end).
        const r = replay(TRACE, "static", { shape: SHAPE, cloud: FIXED_CLOUD, seed: 1 });
        close(r.nodeHours, (2 * 160) / 3600, "node-hours");
        close(r.usedNodeHours, USED, "used node-hours");
        // Nothing boots or is deleted: the 320 node-s billed are 220 used and 100 idle.
        assert.deepEqual([r.split.booting, r.split.deleting], [0, 0]);
        close(r.split.idle, 100 / 3600, "idle");
        assert.deepEqual(
            [r.waitMean, r.waitP95, r.waitMax, r.launches, r.peakWorkers, r.neverRan, r.span],
            [25, 50, 50, 0, 2, 0, 160],
        );
    });

    it("the service (the real decide()) with Slurm power saving", () => {
        // t=0 A is allocated to powered-down burst-1: Slurm's resume request makes a round at
        // once, which launches it: ACTIVE at 20, registered at 30, A runs 30-130 (wait 30).
        // t=50 B needs 4 cores, 2 are free (burst-2, powered down): it waits for A's end.
        // t=130 B gets burst-1 (up) and burst-2 (resumed: launched at 130, registered at 160):
        // B runs 160-220 (wait 110). At 220 both nodes are idle; at 320 (idle timeout 100 s)
        // Slurm suspends them, the round deletes both servers, gone at 325.
        // Billed: burst-1 0-325 and burst-2 130-325 = 520 server-s.
        const r = replay(TRACE, "service", { shape: SHAPE, cloud: FIXED_CLOUD, seed: 1 });
        close(r.nodeHours, 520 / 3600, "node-hours");
        close(r.usedNodeHours, USED, "used node-hours");
        assert.deepEqual(
            [r.waitMean, r.waitP95, r.waitMax, r.launches, r.peakWorkers, r.neverRan, r.span],
            [70, 110, 110, 2, 2, 0, 220],
        );
        // Waits: A 0 in the queue + 30 booting; B 80 (50-130) + 30 (130-160).
        assert.deepEqual(r.waitSplit, { queue: 40, boot: 30 });
        // Bill: each server boots 30 s and is deleted in 5 s; 220 node-s used; usable and
        // unused: burst-1 130 s (of 30-320), burst-2 100 s (of 160-320).
        close(r.split.booting, 60 / 3600, "booting");
        close(r.split.deleting, 10 / 3600, "deleting");
        close(r.split.idle, 230 / 3600, "idle");
        assert.equal(r.requeues, 0);
        assert.equal(r.failures, 0);
    });

    it("the original allocator (Torque + MAUI, 10 s ticks)", () => {
        // Tick 0: A queued, no worker: one VM launched (burst-1, ACTIVE 20, ready 30). Ticks
        // 10-40: it is starting, the allocator waits. Tick 50 (one 20 s cloud poll after ready)
        // it joins; the allocator, which ignores capacity that exists, still sees A and B
        // queued: A fits one new VM (launched: burst-2 at 50), B (2 x ppn=2) no longer fits the
        // headroom. MAUI then runs A on burst-1, 50-150 (wait 50). burst-2 ready at 80, joins at
        // tick 100. B runs 150-210 (wait 100). Both idle from 210; tick 320 (idle > 100 s) puts
        // both offline, tick 330 destroys them, gone at 335.
        // Billed: burst-1 0-335 and burst-2 50-335 = 620 server-s.
        const r = replay(TRACE, "original", { shape: SHAPE, cloud: FIXED_CLOUD, seed: 1 });
        close(r.nodeHours, 620 / 3600, "node-hours");
        assert.deepEqual(
            [r.waitMean, r.waitP95, r.waitMax, r.launches, r.peakWorkers, r.neverRan, r.span],
            [75, 100, 100, 2, 2, 0, 210],
        );
    });

    it("perfect foresight: the used node-hours, with the static cluster's waits", () => {
        const r = foresight(replay(TRACE, "static", { shape: SHAPE, cloud: FIXED_CLOUD, seed: 1 }));
        close(r.nodeHours, USED, "node-hours");
        assert.deepEqual([r.waitMean, r.waitMax, r.launches], [25, 50, 0]);
    });

    it("a job larger than max nodes never fits and is counted, not replayed", () => {
        const jobs = [...TRACE, { id: "C", submit: 60, runtime: 10, processors: 5 }];
        for (const policy of ["static", "service", "original"] as const) {
            const r = replay(jobs, policy, { shape: SHAPE, cloud: FIXED_CLOUD, seed: 1 });
            assert.deepEqual([r.jobs, r.neverFits, r.neverRan], [2, 1, 0], policy);
        }
    });

    it("the original never launches for a job that needs more new VMs than max minus its VMs", () => {
        // resource_allocator.py can_fit counts the headroom as (max - current VMs) x cores: with
        // min 1 VM up, a 7-core job on 3-core VMs (nodes=3:ppn=3, 9 cores) exceeds (3 - 1) x 3.
        // The job fits the cluster (3 x 3 cores) but never runs; the service runs it.
        const shape = { min: 1, max: 3, idleTimeout: 60, launchTimeout: 1200, coresPerNode: 3 };
        const jobs = [{ id: "big", submit: 0, runtime: 10, processors: 7 }];
        const original = replay(jobs, "original", {
            shape,
            cloud: FIXED_CLOUD,
            seed: 1,
            stallLimit: 86_400,
        });
        assert.deepEqual([original.jobs, original.neverRan, original.launches], [1, 1, 1]);
        const service = replay(jobs, "service", { shape, cloud: FIXED_CLOUD, seed: 1 });
        assert.deepEqual([service.jobs, service.neverRan, service.launches], [1, 0, 2]);
    });

    it(
        "ends when the breaker stopped launches, although Slurm keeps requeueing the jobs",
        { timeout: 30_000 },
        () => {
            // Every boot fails: the breaker opens after its threshold and stays open (an admin
            // resets it). Slurm still hands the jobs to burst nodes that never resume and requeues
            // them at ResumeTimeout, forever; the replay must stop and count them as never ran.
            const result = replay(TRACE, "service", {
                shape: SHAPE,
                cloud: { ...FIXED_CLOUD, failureRate: 1 },
                seed: 1,
                stallLimit: 86_400,
            });
            assert.equal(result.neverRan, 2);
            assert.ok(result.requeues > 0, `requeues ${result.requeues}`);
            assert.equal(result.launches, result.failures);
        },
    );

    it("nearest-rank percentile", () => {
        assert.equal(percentile([], 0.95), 0);
        assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
        assert.equal(percentile([1, 2, 3, 4], 0.95), 4);
    });
});

describe("replay: properties over random traces", () => {
    const job = fc.record({
        submit: fc.integer({ min: 0, max: 3000 }),
        runtime: fc.integer({ min: 1, max: 900 }),
        processors: fc.integer({ min: 1, max: 12 }),
    });
    const scenario = fc.record({
        jobs: fc.array(job, { minLength: 1, maxLength: 25 }),
        min: fc.integer({ min: 0, max: 2 }),
        extra: fc.integer({ min: 0, max: 3 }),
        cores: fc.integer({ min: 1, max: 4 }),
        idle: fc.integer({ min: 1, max: 600 }),
        boot: fc.integer({ min: 0, max: 120 }),
        seed: fc.integer({ min: 0, max: 1000 }),
    });

    it("never more than max servers, no running job killed, every job that fits runs, billed >= used, split adds up", () => {
        fc.assert(
            fc.property(scenario, (s) => {
                const trace: TraceJob[] = s.jobs
                    .map((j, i) => ({ id: String(i), ...j }))
                    .sort((a, b) => a.submit - b.submit);
                const shape: WorkerShape = {
                    min: s.min,
                    max: Math.max(1, s.min + s.extra),
                    idleTimeout: s.idle,
                    launchTimeout: 1200,
                    coresPerNode: s.cores,
                };
                const cloud = { ...FIXED_CLOUD, bootMedian: s.boot, bootP95: s.boot * 2 + 1 };
                const fits = trace.filter(
                    (j) => j.processors <= shape.max * shape.coresPerNode,
                ).length;
                for (const policy of ["service", "static", "original"] as const) {
                    const r = replay(trace, policy, { shape, cloud, seed: s.seed });
                    assert.ok(r.peakWorkers <= shape.max, `${policy}: ${r.peakWorkers} > max`);
                    assert.equal(r.requeues, 0, `${policy}: a job went back to the queue`);
                    assert.equal(r.jobs, fits, policy);
                    // The original allocator can leave a job that fits unrun for good (test below).
                    if (policy !== "original") {
                        assert.equal(r.neverRan, 0, `${policy}: jobs that fit did not run`);
                    }
                    // Jobs run only on billed servers.
                    assert.ok(r.nodeHours + 1e-9 >= r.usedNodeHours, `${policy}: billed < used`);
                    // The split of the bill adds up to it.
                    const { used, idle, booting, deleting } = r.split;
                    close(used + idle + booting + deleting, r.nodeHours, `${policy}: split`);
                    close(r.waitSplit.queue + r.waitSplit.boot, r.waitMean, `${policy}: waits`);
                    assert.ok(r.waitSplit.queue >= 0 && r.waitSplit.boot >= -1e-9, policy);
                }
            }),
            { numRuns: 150 },
        );
    });

    it("agrees with the static cluster where it must: min = max, and instant boots that never idle out", () => {
        const trace = resampledTrace(
            [
                { id: "a", submit: 0, runtime: 300, processors: 3 },
                { id: "b", submit: 40, runtime: 2000, processors: 8 },
                { id: "c", submit: 90, runtime: 50, processors: 1 },
                { id: "d", submit: 95, runtime: 700, processors: 6 },
            ],
            300,
            3,
        );
        const shape = { min: 4, max: 4, idleTimeout: 300, launchTimeout: 1200, coresPerNode: 4 };
        const fixed = replay(trace, "static", { shape, cloud: FIXED_CLOUD, seed: 1 });
        const all = replay(trace, "service", { shape, cloud: FIXED_CLOUD, seed: 1 });
        assert.deepEqual(
            [all.nodeHours, all.waitMean, all.waitMax, all.launches],
            [fixed.nodeHours, fixed.waitMean, fixed.waitMax, 0],
        );
        const instant = { ...FIXED_CLOUD, bootMedian: 0, configureMedian: 0, configureP95: 0 };
        const burst = replay(trace, "service", {
            shape: { ...shape, min: 0, idleTimeout: 1e7 },
            cloud: instant,
            seed: 1,
        });
        assert.deepEqual([burst.waitMean, burst.waitMax], [fixed.waitMean, fixed.waitMax]);
        assert.equal(burst.launches, 4);
    });

    it("is deterministic for a seed", () => {
        const trace: TraceJob[] = Array.from({ length: 40 }, (_, i) => ({
            id: String(i),
            submit: i * 37,
            runtime: 50 + ((i * 53) % 400),
            processors: 1 + (i % 6),
        }));
        const shape = { ...SHAPE, max: 4 };
        const cloud = { ...FIXED_CLOUD, bootP95: 90, failureRate: 0.1 };
        const a = replay(trace, "service", { shape, cloud, seed: 7 });
        const b = replay(trace, "service", { shape, cloud, seed: 7 });
        const strip = (r: typeof a) => ({ ...r, wallMs: 0, decideMs: 0 });
        assert.deepEqual(strip(a), strip(b));
    });
});
