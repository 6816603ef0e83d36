/**
 * A batch of replays (replay/batch.ts) on worker threads gives the results the same replays give
 * one after another in this thread, in the order asked, whatever order they finish in (the
 * threads start the costliest first); identical tasks run once and share their result; progress
 * reaches every job of every replay; a replay that fails in a worker fails the batch with its
 * error (no hang).
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { replayBatch, type ReplayTask } from "../../replay/batch";
import { DEFAULT_SHAPE, MEASURED_CLOUD } from "../../replay/defaults";
import type { PolicyResult } from "../../replay/model";
import { readTraceFile } from "../../replay/trace";

const jobs = readTraceFile(path.join(__dirname, "../fixtures/replay/lublin_256.swf")).jobs.slice(
    0,
    400,
);
const shape = { ...DEFAULT_SHAPE, max: 32 };

/** The user's point under each policy, then a few sweep points (the CLI's batch, smaller). */
const tasks: ReplayTask[] = [
    { policy: "service", options: { shape, cloud: MEASURED_CLOUD, seed: 1 } },
    { policy: "static", options: { shape, cloud: MEASURED_CLOUD, seed: 1 } },
    { policy: "original", options: { shape, cloud: MEASURED_CLOUD, seed: 1 } },
    ...[16, 48].flatMap((max) =>
        [60, 3600].map((idleTimeout) => ({
            policy: "service" as const,
            options: {
                shape: { ...shape, max, idleTimeout },
                cloud: { ...MEASURED_CLOUD, failureRate: 0.05 },
                seed: 7,
            },
        })),
    ),
];

/** A result without its wall-clock times (they differ from run to run). */
function simulated(r: PolicyResult): Omit<PolicyResult, "wallMs" | "decideMs"> {
    const { wallMs: _wall, decideMs: _decide, ...rest } = r;
    return rest;
}

describe("replayBatch", () => {
    it("gives on 2 worker threads what one thread gives, in the order asked", async () => {
        let lastProgress = 0;
        const [inThread, inWorkers] = [
            await replayBatch(jobs, tasks, { threads: 1 }),
            await replayBatch(jobs, tasks, {
                threads: 2,
                onProgress: (finished) => {
                    lastProgress = finished;
                },
            }),
        ];
        assert.equal(inWorkers.length, tasks.length);
        assert.deepEqual(inWorkers.map(simulated), inThread.map(simulated));
        assert.deepEqual(
            inWorkers.map((r) => r.policy),
            tasks.map((t) => t.policy),
        );
        assert.equal(lastProgress, tasks.length * jobs.length);
    });

    it("runs identical tasks once, whatever their keys' order, and gives each the result", async () => {
        const first = tasks[3]!;
        const same: ReplayTask = {
            options: {
                seed: first.options.seed,
                cloud: { ...first.options.cloud },
                shape: { ...first.options.shape },
            },
            policy: first.policy,
        };
        let lastProgress = 0;
        const results = await replayBatch(jobs, [first, tasks[1]!, same], {
            threads: 2,
            onProgress: (finished) => {
                lastProgress = finished;
            },
        });
        assert.equal(results[0], results[2], "one replay for both");
        const alone = await replayBatch(jobs, [first], { threads: 1 });
        assert.deepEqual(simulated(results[0]!), simulated(alone[0]!));
        assert.equal(lastProgress, 3 * jobs.length);
    });

    it("fails with the error of a replay that failed in a worker", async () => {
        const broken: ReplayTask = {
            policy: "service",
            options: { shape: { ...shape, idleTimeout: NaN }, cloud: MEASURED_CLOUD, seed: 1 },
        };
        await assert.rejects(
            replayBatch(jobs, [tasks[1]!, broken, tasks[0]!], { threads: 2 }),
            /an event scheduled at NaN/,
        );
    });
});
