/**
 * Slurm host lists (table-driven and property round trips) and the parsing of real
 * `sinfo --json` / `squeue --json` output captured from Slurm 22.05 (test/fixtures/slurm).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
    compressHostList,
    expandHostList,
    HostListError,
} from "../../autoscaler/scheduler/hostlist";
import { parseSinfoJson, parseSqueueJson } from "../../autoscaler/scheduler/slurm";
import { isBusy, isUp } from "../../autoscaler/scheduler/types";

const fixture = (name: string) =>
    readFileSync(path.resolve(__dirname, "../fixtures/slurm", name), "utf8");

describe("Slurm host lists", () => {
    const cases: Array<[string, string[]]> = [
        ["", []],
        ["compute-dy-1", ["compute-dy-1"]],
        ["compute-dy-[1-3]", ["compute-dy-1", "compute-dy-2", "compute-dy-3"]],
        ["c-[1,3,5-6]", ["c-1", "c-3", "c-5", "c-6"]],
        ["n[01-03]", ["n01", "n02", "n03"]],
        ["rack[1-2]-n[1-2]", ["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"]],
        ["a,b[1-2],a", ["a", "b1", "b2"]],
        ["w-[9-11]", ["w-9", "w-10", "w-11"]],
    ];
    for (const [list, names] of cases) {
        it(`expands ${JSON.stringify(list)}`, () => assert.deepEqual(expandHostList(list), names));
    }

    for (const bad of ["c-[1-", "c-]1[", "c-[3-1]", "c-[a-b]", "a,,b", "c-[1-200000]"]) {
        it(`refuses ${JSON.stringify(bad)} with a message naming the problem`, () => {
            assert.throws(() => expandHostList(bad), HostListError);
        });
    }

    it("compresses runs and keeps other names", () => {
        assert.equal(
            compressHostList([
                "compute-dy-3",
                "compute-dy-1",
                "compute-dy-2",
                "compute-dy-7",
                "head",
            ]),
            "head,compute-dy-[1-3,7]",
        );
        assert.equal(compressHostList(["n01", "n02"]), "n[01-02]");
        assert.equal(compressHostList(["x-5"]), "x-5");
    });

    it("round-trips any set of node names (property)", () => {
        const name = fc
            .tuple(
                fc.constantFrom("compute-dy-", "compute-st-", "n", "rack1-n"),
                fc.integer({ min: 0, max: 300 }),
            )
            .map(([prefix, n]) => `${prefix}${n}`);
        fc.assert(
            fc.property(fc.uniqueArray(name, { maxLength: 60 }), (names) => {
                const back = expandHostList(compressHostList(names));
                assert.deepEqual([...back].sort(), [...names].sort());
            }),
        );
    });
});

describe("Slurm JSON output (real, 22.05)", () => {
    it("reads power-saving node states and flags", () => {
        const nodes = parseSinfoJson(fixture("sinfo-mixed.json"));
        const c1 = nodes.get("c1")!;
        const c2 = nodes.get("c2")!;
        const w2 = nodes.get("w2")!;
        assert.equal(c1.state, "mixed");
        assert.deepEqual([...c1.flags], ["cloud"]);
        assert.equal(c1.address, "10.250.0.20");
        assert.ok(isUp(c1) && isBusy(c1));
        assert.deepEqual([...c2.flags].sort(), ["cloud", "powered_down"]);
        assert.ok(!isUp(c2));
        assert.equal(c2.reason, "autoscaler scale-in");
        assert.deepEqual([...w2.flags], ["drain"]);
    });

    it("reads a node that stopped responding as down", () => {
        const w2 = parseSinfoJson(fixture("sinfo-down.json")).get("w2")!;
        assert.equal(w2.state, "down");
        assert.ok(w2.flags.has("not_responding"));
        assert.ok(!isUp(w2));
    });

    it("reads the 23.x list form of states too", () => {
        const nodes = parseSinfoJson(
            JSON.stringify({
                nodes: [
                    { name: "x", state: ["IDLE", "CLOUD", "POWERING_UP"], address: "x", cpus: 2 },
                ],
            }),
        );
        assert.equal(nodes.get("x")!.state, "idle");
        assert.deepEqual([...nodes.get("x")!.flags].sort(), ["cloud", "powering_up"]);
    });

    it("reads jobs: states, nodes, array tasks, pending reasons", () => {
        const jobs = parseSqueueJson(fixture("squeue-mixed.json"));
        const byId = new Map(jobs.map((j) => [j.id, j]));
        assert.equal(byId.get("6")!.state, "running");
        assert.deepEqual(byId.get("6")!.nodes, ["w1"]);
        assert.equal(byId.get("9")!.state, "configuring");
        assert.equal(byId.get("7")!.state, "pending");
        assert.equal(byId.get("7")!.reason, "PartitionConfig");
        assert.equal(byId.get("5")!.state, "finished");
        assert.ok(byId.get("6")!.submittedAt > 1_700_000_000_000);
        assert.ok(
            jobs.some((j) => j.id === "11_1" || j.id === "11"),
            "array job present",
        );
    });
});
