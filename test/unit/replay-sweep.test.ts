/**
 * The sweep's comparisons (replay/sweep.ts): which point beats which, the Pareto front, the naive
 * curve against the sweep, and the batch the CLI runs for them (replay/batch.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pointAndSweepTasks, sweepIdleTimeouts } from "../../replay/batch";
import type { PolicyResult } from "../../replay/model";
import { againstNaive, dominates, markPareto, type SweepPoint } from "../../replay/sweep";

function result(nodeHours: number, waitMean: number, neverRan = 0): PolicyResult {
    return {
        policy: "service",
        nodeHours,
        usedNodeHours: 1,
        split: { used: 1, idle: nodeHours - 1, booting: 0, deleting: 0 },
        waitSplit: { queue: 0, boot: waitMean },
        waitMean,
        waitP95: waitMean,
        waitMax: waitMean,
        jobs: 10,
        neverFits: 0,
        neverRan,
        peakWorkers: 1,
        launches: 1,
        failures: 0,
        requeues: 0,
        handOffs: 0,
        span: 1,
        wallMs: 0,
        rounds: 0,
    };
}

function point(max: number, idleTimeout: number, r: PolicyResult): SweepPoint {
    return { max, idleTimeout, result: r, pareto: false };
}

describe("replay sweep: comparisons", () => {
    const cases: Array<[string, [number, number], [number, number], boolean]> = [
        ["cheaper, same wait", [9, 60], [10, 60], true],
        ["same cost, shorter wait", [10, 50], [10, 60], true],
        ["better on both", [9, 50], [10, 60], true],
        ["identical", [10, 60], [10, 60], false],
        ["cheaper but slower", [9, 70], [10, 60], false],
        ["faster but dearer", [11, 50], [10, 60], false],
    ];
    for (const [what, a, b, expected] of cases) {
        it(`dominates: ${what} -> ${expected}`, () => {
            assert.equal(dominates(result(...a), result(...b)), expected);
        });
    }

    it("marks the Pareto front among complete points only", () => {
        const points = markPareto([
            point(8, 60, result(10, 100)),
            point(16, 60, result(12, 50)),
            point(16, 600, result(13, 60)), // beaten by (16, 60)
            point(4, 60, result(5, 10, 3)), // cheap and quick because jobs never ran
        ]);
        assert.deepEqual(
            points.map((p) => p.pareto),
            [true, true, false, false],
        );
    });

    it("against the naive curve: each naive point gets the cheapest complete point beating it", () => {
        const sweep = [
            point(8, 60, result(10, 100)),
            point(16, 60, result(12, 50)),
            point(32, 60, result(14, 40)),
            point(4, 60, result(1, 1, 5)), // incomplete: never counts
        ];
        const curve = againstNaive(sweep, [
            { idleTimeout: 60, result: result(11, 120) }, // (8, 60) and (16, 60) beat it: (8, 60)
            { idleTimeout: 300, result: result(13, 45) }, // only (32, 60)? 14 > 13: none
            { idleTimeout: 600, result: result(15, 40) }, // (32, 60): cheaper, same wait
        ]);
        assert.deepEqual(
            curve.map((n) => (n.beatenBy ? [n.beatenBy.max, n.beatenBy.idleTimeout] : null)),
            [[8, 60], null, [32, 60]],
        );
    });
});

describe("replay sweep: the CLI's batch", () => {
    const shape = { min: 0, max: 16, idleTimeout: 600, launchTimeout: 1200, coresPerNode: 4 };
    const cloud = {
        bootMedian: 1,
        bootP95: 2,
        configureMedian: 1,
        configureP95: 2,
        deleteTime: 1,
        failureRate: 0,
        suspendTimeout: 120,
    };
    const grid = [
        { max: 8, idleTimeout: 600 },
        { max: 8, idleTimeout: 60 },
        { max: 16, idleTimeout: 600 },
        { max: 16, idleTimeout: 60 },
    ];

    it("runs the naive reference once per idle timeout of the sweep, in increasing order", () => {
        assert.deepEqual(sweepIdleTimeouts(grid), [60, 600]);
        const tasks = pointAndSweepTasks({ shape, cloud, seed: 1 }, grid);
        assert.deepEqual(
            tasks.map((t) => [t.policy, t.options.shape.max, t.options.shape.idleTimeout]),
            [
                ["service", 16, 600],
                ["static", 16, 600],
                ["original", 16, 600],
                ["naive", 0, 600],
                ["service", 8, 600],
                ["service", 8, 60],
                ["service", 16, 600],
                ["service", 16, 60],
                ["naive", 0, 60],
                ["naive", 0, 600],
            ],
        );
        // The naive reference at the user's point and at the sweep's same timeout is one task
        // (replayBatch runs identical tasks once): its shape keeps only what it reads.
        assert.deepEqual(tasks[3], tasks[9]);
        assert.equal(tasks[9]!.options.shape.coresPerNode, 4);
    });
});
