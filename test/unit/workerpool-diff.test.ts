/**
 * When the WorkerPool asks the engine for an update with unchanged inputs (components/workerPool.ts
 * `diff`): only when a name of the floor lacks its ACTIVE server. A retiring server the pool
 * handed to the head-node service (workers.min lowered) is the service's to drain and delete;
 * reporting it as a change made `pulumi preview --expect-no-changes` fail after every lowering
 * (the deployment test caught it).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    WORKER_POOL_PROVIDER_VERSION,
    type WorkerPoolOutputs,
    workerPoolProvider,
} from "../../components/workerPool";
import type { WorkerRecord } from "../../components/workerPoolPlan";
import { floorWorker } from "../helpers/floorWorker";
import { testPoolInputs } from "../helpers/osbox";

const CLUSTER = "unit1234";

function worker(index: number, extra: Partial<WorkerRecord> = {}): WorkerRecord {
    return floorWorker(index, "g1", extra);
}

function outputsWith(count: number, servers: WorkerRecord[]): WorkerPoolOutputs {
    return {
        ...testPoolInputs(CLUSTER, { count }),
        servers,
        providerVersion: WORKER_POOL_PROVIDER_VERSION,
    };
}

describe("WorkerPool diff with unchanged inputs", () => {
    const cases: Array<[string, number, WorkerRecord[], boolean]> = [
        ["every name has its ACTIVE server", 2, [worker(1), worker(2)], false],
        [
            "a surplus server handed to the service (min lowered 2 -> 1)",
            1,
            [worker(1), worker(2, { retiring: true })],
            false,
        ],
        [
            "a replaced server still draining beside its successor",
            2,
            [worker(1), worker(2), worker(2, { retiring: true, generation: "g0" })],
            false,
        ],
        [
            "a replacement still waiting for the retiring server of its name",
            2,
            [worker(1), worker(2, { retiring: true, generation: "g0" })],
            true,
        ],
        ["a server still building", 2, [worker(1), worker(2, { status: "BUILD" })], true],
        ["a server in ERROR", 2, [worker(1), worker(2, { status: "ERROR" })], true],
        ["a name without a server", 2, [worker(1)], true],
        ["two live servers of one name", 2, [worker(1), worker(1)], true],
    ];
    for (const [name, count, servers, changes] of cases) {
        it(`${name}: ${changes ? "an update" : "no change"}`, async () => {
            const result = await workerPoolProvider.diff!(
                `pool-${CLUSTER}-compute-st`,
                outputsWith(count, servers),
                testPoolInputs(CLUSTER, { count }),
            );
            assert.equal(result.changes, changes);
            assert.deepEqual(result.replaces, []);
        });
    }

    it("an older provider version always updates (to adopt the new tags)", async () => {
        const result = await workerPoolProvider.diff!(
            `pool-${CLUSTER}-compute-st`,
            { ...outputsWith(1, [worker(1)]), providerVersion: WORKER_POOL_PROVIDER_VERSION - 1 },
            testPoolInputs(CLUSTER, { count: 1 }),
        );
        assert.equal(result.changes, true);
    });
});
