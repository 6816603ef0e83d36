/**
 * The rounds whose `decide()` call a replay skips (replay/sim/service.ts): after a settled round
 * without orphans, a round where only jobs moved (cores given to jobs or given back) runs and
 * counts, but the policy is not asked, because it would decide nothing. With
 * `checkSkippedRounds`, the replay asks it anyway and fails if it decided anything: on the
 * provided trace and on a synthetic one, under shapes, a floor, a quota and failure rates that
 * exercise launches, quota refusals and backoff, failed boots, cooldowns and requeues, it never
 * does, and the results are the same with and without the check.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_SHAPE, MEASURED_CLOUD } from "../../replay/defaults";
import type { CloudModel, PolicyResult, WorkerShape } from "../../replay/model";
import { replay } from "../../replay/simulate";
import { resampledTrace } from "../../replay/synthetic";
import { readTraceFile } from "../../replay/trace";
import type { TraceJob } from "../../replay/trace/types";

const lublin = readTraceFile(path.join(__dirname, "../fixtures/replay/lublin_256.swf")).jobs;

/** A result without its wall-clock times (they differ from run to run). */
function simulated(r: PolicyResult): Omit<PolicyResult, "wallMs" | "decideMs"> {
    const { wallMs: _wall, decideMs: _decide, ...rest } = r;
    return rest;
}

const cases: Array<{
    name: string;
    jobs: readonly TraceJob[];
    shape: Partial<WorkerShape>;
    cloud?: Partial<CloudModel>;
    seed: number;
}> = [
    {
        name: "provided trace, 32 x 8 cores, idle 600 s",
        jobs: lublin.slice(0, 1500),
        shape: { max: 32 },
        seed: 1,
    },
    {
        // 30 instances of 32 nodes: the jobs that need more than 30 nodes' cores never run.
        name: "provided trace, a floor of 4, a quota, 2 % failed boots, idle 60 s",
        jobs: lublin.slice(0, 1500),
        shape: { min: 4, max: 32, idleTimeout: 60 },
        cloud: { quota: 30, failureRate: 0.02 },
        seed: 5,
    },
    {
        name: "synthetic, 64 one-core nodes, slow boots, 5 % failed, 300 s launch timeout",
        jobs: resampledTrace(lublin, 1500, 3).map((j) => ({
            ...j,
            processors: Math.min(j.processors, 16),
        })),
        shape: { max: 64, coresPerNode: 1, idleTimeout: 300, launchTimeout: 300 },
        cloud: { bootMedian: 10, bootP95: 40, configureMedian: 20, failureRate: 0.05 },
        seed: 2,
    },
];

describe("replay: rounds where only jobs moved", () => {
    for (const c of cases) {
        it(`${c.name}: decide() would decide nothing in them`, () => {
            const options = {
                shape: { ...DEFAULT_SHAPE, ...c.shape },
                cloud: { ...MEASURED_CLOUD, ...c.cloud },
                seed: c.seed,
            };
            const skipping = replay(c.jobs, "service", options);
            const checked = replay(c.jobs, "service", { ...options, checkSkippedRounds: true });
            assert.deepEqual(simulated(skipping), simulated(checked));
            assert.ok(skipping.rounds > 0 && skipping.neverRan < skipping.jobs, "the trace ran");
        });
    }
});
