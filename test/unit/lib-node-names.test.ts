/**
 * Worker node names (lib/nodeNames.ts), the one scheme the program, the service and (through the
 * pillar's prefixes) slurm.conf use: pool prefixes, names, ranges, and reading an index back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { indexOfNodeName, nodeName, nodeRange, poolNodePrefix } from "../../lib/nodeNames";

describe("node names", () => {
    it("pool prefixes, names and ranges", () => {
        assert.equal(poolNodePrefix("compute", "static"), "compute-st");
        assert.equal(poolNodePrefix("compute", "burst"), "compute-dy");
        assert.equal(nodeName("compute-dy", 7), "compute-dy-7");
        assert.deepEqual(nodeRange("compute-st", 3), [
            "compute-st-1",
            "compute-st-2",
            "compute-st-3",
        ]);
        assert.deepEqual(nodeRange("compute-st", 0), []);
    });

    const cases: Array<[string | undefined, number | undefined]> = [
        ["compute-dy-1", 1],
        ["compute-dy-42", 42],
        ["compute-dy-999999", 999999],
        ["compute-dy-1000000", undefined], // more digits than any pool has
        ["compute-dy-0", undefined],
        ["compute-dy-01", undefined],
        ["compute-dy-", undefined],
        ["compute-dy-1a", undefined],
        ["compute-dy-1-x", undefined],
        ["compute-st-1", undefined], // another pool
        ["compute-dyx-1", undefined],
        [undefined, undefined],
    ];
    for (const [name, expected] of cases) {
        it(`index of ${String(name)}: ${String(expected)}`, () => {
            assert.equal(indexOfNodeName("compute-dy", name), expected);
        });
    }

    it("round-trips", () => {
        for (const n of [1, 2, 10, 512])
            assert.equal(indexOfNodeName("a-b", nodeName("a-b", n)), n);
    });
});
