/**
 * The WorkerPool's plan (components/workerPoolPlan.ts), table-driven: one live server per node
 * name, nothing that may run a job deleted, retiring servers taken back only when booted with the
 * current settings, rolling batches of a quarter of the pool.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
    planPool,
    rollingBatches,
    rollingBatchSize,
    type WorkerRecord,
} from "../../components/workerPoolPlan";
import { floorWorker } from "../helpers/floorWorker";

const NEW = "gen-new";
const OLD = "gen-old";

function w(index: number, over: Partial<WorkerRecord> = {}): WorkerRecord {
    return floorWorker(index, NEW, over);
}

const ids = (list: readonly WorkerRecord[]) => list.map((x) => x.id);

describe("planPool", () => {
    it("an up-to-date floor of the right size: nothing to do", () => {
        assert.deepEqual(planPool([w(1), w(2)], 2, NEW), {
            broken: [],
            adopt: [],
            handOver: [],
            stale: [],
            missing: [],
        });
    });

    it("a raised count fills the lowest free indexes", () => {
        const plan = planPool([w(1), w(3)], 4, NEW);
        assert.deepEqual(plan.missing, [2, 4]);
    });

    it("a lowered count hands the highest indexes over, deleting none", () => {
        const plan = planPool([w(1), w(2), w(3)], 1, NEW);
        assert.deepEqual(ids(plan.handOver), ["srv-3", "srv-2"]);
        assert.deepEqual(plan.missing, []);
    });

    it("a raised count takes back a retiring server booted with the current settings instead of booting a second one under its name", () => {
        const plan = planPool([w(1), w(2), w(3, { retiring: true })], 3, NEW);
        assert.deepEqual(ids(plan.adopt), ["srv-3-r"]);
        assert.deepEqual(plan.missing, []);
    });

    it("a retiring server booted with other settings is not taken back: its index waits for it (missing)", () => {
        const plan = planPool([w(1), w(2, { retiring: true, generation: OLD })], 2, NEW);
        assert.deepEqual(plan.adopt, []);
        assert.deepEqual(plan.missing, [2]);
    });

    it("a server handed over by an older release (generation unknown) is never taken back", () => {
        const plan = planPool([w(1, { retiring: true, generation: "unknown" })], 1, NEW);
        assert.deepEqual(plan.adopt, []);
        assert.deepEqual(plan.missing, [1]);
    });

    it("out-of-date live servers are stale (replaced in batches), lowest index first", () => {
        const plan = planPool([w(3, { generation: OLD }), w(1, { generation: OLD }), w(2)], 3, NEW);
        assert.deepEqual(ids(plan.stale), ["srv-1", "srv-3"]);
        assert.deepEqual(plan.missing, []);
    });

    it("a second live server for one index is handed over, never deleted", () => {
        const plan = planPool([w(1), w(1, { id: "srv-1b" })], 1, NEW);
        assert.deepEqual(ids(plan.handOver), ["srv-1b"]);
    });

    it("servers in ERROR are broken (deleted) and their index missing", () => {
        const plan = planPool([w(1, { status: "ERROR" }), w(2)], 2, NEW);
        assert.deepEqual(ids(plan.broken), ["srv-1"]);
        assert.deepEqual(plan.missing, [1]);
    });

    it("property: after the plan, each index 1..count has exactly one live server or is missing, and nothing that may run a job is deleted", () => {
        const record = fc.record({
            index: fc.integer({ min: 1, max: 8 }),
            retiring: fc.boolean(),
            stale: fc.boolean(),
            error: fc.boolean(),
        });
        fc.assert(
            fc.property(fc.array(record, { maxLength: 12 }), fc.nat(8), (raw, count) => {
                const current = raw.map((r, i) =>
                    w(r.index, {
                        id: `srv-${i}`,
                        retiring: r.retiring || undefined,
                        generation: r.stale ? OLD : NEW,
                        status: r.error ? "ERROR" : "ACTIVE",
                    }),
                );
                const plan = planPool(current, count, NEW);
                const deleted = new Set(ids(plan.broken));
                for (const x of current) {
                    if (deleted.has(x.id)) assert.equal(x.status, "ERROR");
                }
                const handed = new Set(ids(plan.handOver));
                const adopted = new Set(ids(plan.adopt));
                const live = current.filter(
                    (x) =>
                        x.status !== "ERROR" &&
                        !handed.has(x.id) &&
                        (!x.retiring || adopted.has(x.id)),
                );
                for (let index = 1; index <= count; index++) {
                    const here = live.filter((x) => x.index === index).length;
                    const missing = plan.missing.includes(index) ? 1 : 0;
                    assert.equal(here + missing, 1, `index ${index}`);
                }
                assert.ok(live.every((x) => x.index <= count));
                for (const x of plan.adopt) assert.equal(x.generation, NEW);
            }),
        );
    });
});

describe("rollingBatches", () => {
    it("a quarter of the pool at a time, at least one", () => {
        assert.equal(rollingBatchSize(1), 1);
        assert.equal(rollingBatchSize(4), 1);
        assert.equal(rollingBatchSize(5), 2);
        assert.equal(rollingBatchSize(16), 4);
        const stale = [1, 2, 3, 4, 5].map((i) => w(i, { generation: OLD }));
        assert.deepEqual(
            rollingBatches(stale, 5).map((batch) => batch.map((x) => x.index)),
            [[1, 2], [3, 4], [5]],
        );
    });
});
