/**
 * The rounds where a replay does not ask the policy (replay/sim/service.ts): a round where only
 * jobs moved (cores given to jobs or given back), or nothing, since a round whose decision
 * repeats (nothing asked, no orphan, no node in transit, no cooldown or backoff) runs and counts,
 * but the policy would decide the same again. With `checkSkippedRounds`, the replay asks it
 * anyway and fails if it decided anything new: on the provided trace and on synthetic ones,
 * under shapes, floors, a quota and failure rates that exercise launches, quota refusals and
 * backoff, failed boots, cooldowns, requeues and an open breaker, it never does, and the results
 * are the same with and without the check.
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
    stallLimit?: number;
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
    {
        // 5 failed boots in a row open the breaker (the jobs left never run); the service then
        // waits for an admin, round after round, until the replay gives up a day later.
        name: "synthetic, a floor of 2, 10 % failed boots, 30 s launch timeout: the breaker opens",
        jobs: resampledTrace(lublin, 1000, 4),
        shape: { min: 2, max: 32, launchTimeout: 30 },
        cloud: { failureRate: 0.1 },
        seed: 2,
        stallLimit: 86_400,
    },
];

describe("replay: rounds where only jobs moved since a decision that repeats", () => {
    for (const c of cases) {
        it(`${c.name}: the policy would decide nothing new in them`, () => {
            const options = {
                shape: { ...DEFAULT_SHAPE, ...c.shape },
                cloud: { ...MEASURED_CLOUD, ...c.cloud },
                seed: c.seed,
                stallLimit: c.stallLimit,
            };
            const skipping = replay(c.jobs, "service", options);
            const checked = replay(c.jobs, "service", { ...options, checkSkippedRounds: true });
            assert.deepEqual(simulated(skipping), simulated(checked));
            assert.ok(skipping.rounds > 0 && skipping.neverRan < skipping.jobs, "the trace ran");
        });
    }
});
