/**
 * The naive elastic reference (replay/sim/naive.ts): two- and three-job traces whose figures are
 * derived by hand below, and properties over random traces: with fixed boot times no job waits
 * longer than one boot, every job runs, and nothing is billed below what jobs used.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { WorkerShape } from "../../replay/model";
import { replay } from "../../replay/simulate";
import { resampledTrace } from "../../replay/synthetic";
import type { TraceJob } from "../../replay/trace/types";
import { FIXED_BOOT, FIXED_CLOUD } from "../helpers/fixedCloud";

const BOOT = FIXED_BOOT;

/** `max` and `min` mean nothing to the naive reference; only T and cores per node do. */
function shape(idleTimeout: number, coresPerNode = 1): WorkerShape {
    return { min: 0, max: 1, idleTimeout, launchTimeout: 1200, coresPerNode };
}

function job(id: string, submit: number, runtime: number, processors = 1): TraceJob {
    return { id, submit, runtime, processors };
}

/** A model for random traces: sizes 1-8 cores, runtimes 50 s to 2000 s, gaps 5 s to 900 s. */
const MODEL: TraceJob[] = [
    job("a", 0, 300, 3),
    job("b", 40, 2000, 8),
    job("c", 90, 50, 1),
    job("d", 95, 700, 6),
    job("e", 995, 120, 1),
];
const randomTrace = (seed: number, count: number) => resampledTrace(MODEL, count, seed);

const close = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

describe("replay: the naive reference, hand-derived", () => {
    it("two jobs: the second reuses the first one's node before it idles out", () => {
        // T = 60. A (t=0, 100 s) boots n1: usable at 120, runs 120-220 (wait 120). B (t=250)
        // takes n1, idle since 220 and due to go at 280: runs 250-300 (wait 0). n1 idles from
        // 300, is deleted at 360 and gone at 370: billed 0-370.
        const r = replay([job("A", 0, 100), job("B", 250, 50)], "naive", {
            shape: shape(60),
            cloud: FIXED_CLOUD,
            seed: 1,
        });
        close(r.nodeHours, 370 / 3600, "node-hours");
        close(r.usedNodeHours, 150 / 3600, "used node-hours");
        // Booting 0-120, used 120-220 and 250-300, idle 220-250 and 300-360, deleting 360-370.
        close(r.split.booting, 120 / 3600, "booting");
        close(r.split.used, 150 / 3600, "used");
        close(r.split.idle, 90 / 3600, "idle");
        close(r.split.deleting, 10 / 3600, "deleting");
        assert.deepEqual(r.waitSplit, { queue: 0, boot: 60 });
        assert.deepEqual(
            [r.waitMean, r.waitP95, r.waitMax, r.launches, r.peakWorkers, r.neverRan, r.span],
            [60, 120, 120, 1, 1, 0, 300],
        );
    });

    it("three jobs: the most recently freed node is taken, the other idles out", () => {
        // T = 1000. A (t=0, 100 s) and B (t=0, 200 s) boot n1 and n2, both usable at 120: A
        // runs 120-220, B 120-320. C (t=330, 10 s) takes n2 (freed at 320, after n1 at 220):
        // runs 330-340. n1 goes at 1220 (gone 1230), n2 at 1340 (gone 1350). Billed
        // 1230 + 1350 s. Taking n1 instead would bill 1350 + 1330.
        const r = replay([job("A", 0, 100), job("B", 0, 200), job("C", 330, 10)], "naive", {
            shape: shape(1000),
            cloud: FIXED_CLOUD,
            seed: 1,
        });
        close(r.nodeHours, (1230 + 1350) / 3600, "node-hours");
        assert.deepEqual(
            [r.waitMean, r.waitMax, r.launches, r.peakWorkers, r.span],
            [80, 120, 2, 2, 340],
        );
    });

    it("three jobs: an idle node past its timeout is gone, so the next job boots", () => {
        // T = 60. A (t=0, 100 s) runs 120-220 on n1, which goes at 280 (gone 290). B (t=300)
        // boots n2: usable at 420, runs 420-430 (wait 120). C (t=440) takes n2: runs 440-445.
        // n2 goes at 505 (gone 515). Billed 290 + (515 - 300) s.
        const r = replay([job("A", 0, 100), job("B", 300, 10), job("C", 440, 5)], "naive", {
            shape: shape(60),
            cloud: FIXED_CLOUD,
            seed: 1,
        });
        close(r.nodeHours, (290 + 215) / 3600, "node-hours");
        assert.deepEqual([r.waitMean, r.launches, r.peakWorkers], [80, 2, 1]);
    });

    it("a node freed while a job waits for its boot serves that job; the boot then idles", () => {
        // T = 1000. A (t=0, 100 s) boots n1: runs 120-220. B (t=150, 10 s) finds no idle node
        // and boots n2 (usable at 270). A ends at 220: n1 goes to B, which runs 220-230 (wait
        // 70). n2 arrives at 270 with no job waiting: idle. n1 goes at 1230 (gone 1240), n2 at
        // 1270 (gone 1280). Billed 1240 + 1130 s.
        const r = replay([job("A", 0, 100), job("B", 150, 10)], "naive", {
            shape: shape(1000),
            cloud: FIXED_CLOUD,
            seed: 1,
        });
        close(r.nodeHours, (1240 + 1130) / 3600, "node-hours");
        assert.deepEqual([r.waitMean, r.waitMax, r.launches, r.peakWorkers], [95, 120, 2, 2]);
    });

    it("a multi-node job takes the idle node it finds and boots only the rest", () => {
        // 2 cores per node, T = 60. A (t=0, 2 cores, 100 s) boots n1: runs 120-220. B (t=230,
        // 3 cores = 2 nodes) takes n1 and boots n2 (usable at 350): runs 350-400 (wait 120),
        // holding n1 from 230. Both idle at 400, go at 460, gone at 470. Billed 470 + 240 s;
        // used (2 x 100 + 3 x 50) / 2 node-s.
        const r = replay([job("A", 0, 100, 2), job("B", 230, 50, 3)], "naive", {
            shape: shape(60, 2),
            cloud: FIXED_CLOUD,
            seed: 1,
        });
        close(r.nodeHours, (470 + 240) / 3600, "node-hours");
        close(r.usedNodeHours, 175 / 3600, "used node-hours");
        assert.deepEqual([r.waitMean, r.launches, r.peakWorkers, r.peakBusyNodes], [120, 2, 2, 2]);
    });

    it("has no maximum: ten jobs at once get ten nodes, and ignores the quota", () => {
        const jobs = Array.from({ length: 10 }, (_, i) => job(`J${i}`, 0, 100));
        const r = replay(jobs, "naive", {
            shape: shape(60),
            cloud: { ...FIXED_CLOUD, quota: 2 },
            seed: 1,
        });
        assert.deepEqual([r.launches, r.peakWorkers, r.waitMax, r.neverRan], [10, 10, 120, 0]);
    });

    it("replaces a failed boot for the same job", () => {
        const jobs = Array.from({ length: 20 }, (_, i) => job(`J${i}`, i * 1000, 100));
        const r = replay(jobs, "naive", {
            shape: shape(60),
            cloud: { ...FIXED_CLOUD, failureRate: 0.5 },
            seed: 3,
        });
        assert.ok(r.failures > 0, "some boots failed at a 50 % failure rate");
        assert.equal(r.launches, 20 + r.failures);
        assert.equal(r.neverRan, 0);
        // A failed boot is noticed at ACTIVE time (100 s), then a new one takes 120 s.
        assert.ok(r.waitMax >= 100 + BOOT, `a job waited for its replacement (${r.waitMax})`);
    });
});

describe("replay: the naive reference, properties", () => {
    it("with fixed boot times no job waits longer than one boot; all run; billing covers use", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 1000 }),
                fc.integer({ min: 1, max: 4 }),
                fc.constantFrom(30, 300, 3000),
                (seed, coresPerNode, idleTimeout) => {
                    const jobs = randomTrace(seed, 60);
                    const r = replay(jobs, "naive", {
                        shape: shape(idleTimeout, coresPerNode),
                        cloud: FIXED_CLOUD,
                        seed,
                    });
                    assert.equal(r.neverRan, 0);
                    // A node booted for a job, or freed before, serves the oldest job short of
                    // nodes: with equal boots, every job holds its nodes one boot after it came.
                    assert.ok(r.waitMax >= 0 && r.waitMax <= BOOT, `max wait ${r.waitMax}`);
                    assert.ok(r.nodeHours >= r.usedNodeHours - 1e-9);
                    const { used, idle, booting, deleting } = r.split;
                    close(used + idle + booting + deleting, r.nodeHours, "the split's sum");
                    close(booting, (r.launches * BOOT) / 3600, "booting: one boot per launch");
                    // Every boot is for a job that found too few idle nodes.
                    assert.ok(r.launches >= r.peakWorkers);
                },
            ),
            { numRuns: 40 },
        );
    });

    it("a longer idle timeout never launches more", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
                const jobs = randomTrace(seed, 80);
                const run = (t: number) =>
                    replay(jobs, "naive", { shape: shape(t), cloud: FIXED_CLOUD, seed }).launches;
                assert.ok(run(600) <= run(60));
            }),
            { numRuns: 30 },
        );
    });
});
