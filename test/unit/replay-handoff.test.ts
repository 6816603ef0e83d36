/**
 * The service's hand-off in the replay (autoscaler/handOff.ts through the simulated Slurm and the
 * real decide()): two- and three-job traces whose figures are derived by hand below, each against
 * the same trace with `tuning.hand_off` off (Slurm's own binding: the job waits for its boot).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultTuning } from "../../lib/serviceSettings";
import type { WorkerShape } from "../../replay/model";
import { replay } from "../../replay/simulate";
import type { TraceJob } from "../../replay/trace/types";
import { FIXED_CLOUD } from "../helpers/fixedCloud";

function shape(min: number, max: number): WorkerShape {
    return { min, max, idleTimeout: 60, launchTimeout: 1200, coresPerNode: 1 };
}

function job(id: string, submit: number, runtime: number): TraceJob {
    return { id, submit, runtime, processors: 1 };
}

function run(jobs: TraceJob[], min: number, max: number, handOff: boolean) {
    return replay(jobs, "service", {
        shape: shape(min, max),
        cloud: FIXED_CLOUD,
        seed: 1,
        tuning: { ...defaultTuning(), hand_off: handOff },
    });
}

const close = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} != ${expected}`);

describe("replay: the hand-off, hand-derived", () => {
    it("a job bound to a booting node starts on the static node freed meanwhile", () => {
        // Static st-1 runs A (t=0, 30 s). B (t=10, 10 s) finds it busy: Slurm binds B to
        // burst-1 and resumes it; the service launches it (no boot measured yet, so no reason to
        // wait). A ends at 30; the round at 30 (every 10 s from B's request at 10) sees st-1 idle
        // and hands B off: B runs 30-40 on st-1 (wait 20). burst-1 still boots (usable at 130),
        // idles 60 s, is deleted at 190, gone at 200: 190 s. st-1 is billed 0-40 (the span).
        const on = run([job("A", 0, 30), job("B", 10, 10)], 1, 2, true);
        assert.deepEqual([on.handOffs, on.launches, on.requeues, on.waitMax], [1, 1, 0, 20]);
        close(on.nodeHours * 3600, 40 + 190, "billed seconds");
        // Off: B waits for burst-1, runs 130-140 (wait 120); st-1 0-140, burst-1 10-200.
        const off = run([job("A", 0, 30), job("B", 10, 10)], 1, 2, false);
        assert.deepEqual([off.handOffs, off.launches, off.waitMax], [0, 1, 120]);
        close(off.nodeHours * 3600, 140 + 200, "billed seconds");
    });

    it("a boot that would take longer than a node's freeing is not started at all", () => {
        // st-1 runs A (t=0, 1000 s). B (t=1, 100 s) boots burst-1: usable at 121 (the first
        // measured boot: 120 s), runs 121-221. C (t=200, 10 s): Slurm binds it to burst-2. B's
        // end by its limit (221) comes before a boot would (200 + 120 - one 10 s round), so the
        // launch waits. Rounds run every 10 s from C's request at 200; the one at 230 is the
        // first to see burst-1 idle and hands C off: runs 230-240 (wait 30). burst-2, resumed
        // for C and never launched, is powered down: one launch.
        const jobs = [job("A", 0, 1000), job("B", 1, 100), job("C", 200, 10)];
        const on = run(jobs, 1, 3, true);
        assert.deepEqual([on.handOffs, on.launches, on.neverRan], [1, 1, 0]);
        close(on.waitMean, (0 + 120 + 30) / 3, "mean wait");
        // Off: C boots burst-2 and waits 120 s for it; two launches.
        const off = run(jobs, 1, 3, false);
        assert.deepEqual([off.handOffs, off.launches], [0, 2]);
        close(off.waitMean, (0 + 120 + 120) / 3, "mean wait");
        assert.ok(on.nodeHours < off.nodeHours, `${on.nodeHours} < ${off.nodeHours}`);
    });
});
