/**
 * Slurm host lists (table-driven and property round trips, and the bound on what one list may
 * name) and the parsing of real `sinfo --json` / `squeue --json` output captured from Slurm
 * 22.05 (test/fixtures/slurm).
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

/** Limit of the table cases: more names than any of them has. */
const LIMIT = 100;

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
        it(`expands ${JSON.stringify(list)}`, () =>
            assert.deepEqual(expandHostList(list, LIMIT), names));
    }

    for (const bad of [
        "c-[1-",
        "c-]1[",
        "c-[3-1]",
        "c-[a-b]",
        "a,,b",
        "c-[1-200000]",
        `c-[1-${"9".repeat(400)}]`,
    ]) {
        it(`refuses ${JSON.stringify(bad.slice(0, 40))} with a message naming the problem`, () => {
            assert.throws(() => expandHostList(bad, LIMIT), HostListError);
        });
    }

    it("expands a list naming exactly as many nodes as the cluster has", () => {
        assert.equal(expandHostList("compute-dy-[1-8],compute-st-[1-2]", 10).length, 10);
    });

    it("refuses a list naming more nodes than the cluster has, saying how many", () => {
        assert.throws(
            () => expandHostList("compute-dy-[1-20]", 10),
            (err: unknown) =>
                err instanceof HostListError &&
                err.message.includes("host list names 20 nodes, more than the cluster's 10"),
        );
        // Items add up, and bracket groups multiply: both count before anything is built.
        assert.throws(
            () => expandHostList("a-[1-6],b-[1-6]", 10),
            /host list names 12 nodes, more than the cluster's 10/,
        );
        assert.throws(
            () => expandHostList("r[1-4]-n[1-4]", 10),
            /host list names 16 nodes, more than the cluster's 10/,
        );
    });

    it("refuses a crafted 64 KB list of huge ranges at once, without building it", () => {
        // The local API accepts up to 64 KB of `nodes`; this one names 8,191 x 99,999 nodes.
        const parts = Math.floor((65_536 - "compute-dy-[]".length) / "1-99999,".length);
        const crafted = `compute-dy-[${Array(parts).fill("1-99999").join(",")}]`;
        assert.ok(crafted.length <= 65_536);
        const heapBefore = process.memoryUsage().heapUsed;
        const started = performance.now();
        assert.throws(
            () => expandHostList(crafted, 12),
            (err: unknown) =>
                err instanceof HostListError &&
                err.message.includes(
                    `host list names ${parts * 99_999} nodes, more than the cluster's 12`,
                ),
        );
        assert.ok(performance.now() - started < 1000, "refused within a second");
        const grown = process.memoryUsage().heapUsed - heapBefore;
        assert.ok(grown < 32 * 1024 * 1024, `heap grew by ${grown} bytes`);
    });

    it("refuses products of bracket groups too large for a number", () => {
        const crafted = Array(40).fill("[1-99999]").join("-");
        assert.throws(() => expandHostList(crafted, 12), /more than the cluster's 12/);
    });

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
                const back = expandHostList(compressHostList(names), names.length);
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
        const jobs = parseSqueueJson(fixture("squeue-mixed.json"), 8);
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

    it("reads what the hand-off needs: weights, completing nodes, requeueable jobs, ends", () => {
        const nodes = parseSinfoJson(fixture("sinfo-mixed.json"));
        assert.equal(nodes.get("c1")!.weight, 1);
        // An idle node still cleaning up a job's end takes no job yet.
        const completing = parseSinfoJson(
            JSON.stringify({
                nodes: [
                    {
                        name: "x",
                        state: "idle",
                        state_flags: ["CLOUD", "COMPLETING"],
                        weight: 60001,
                    },
                ],
            }),
        ).get("x")!;
        assert.equal(completing.state, "idle");
        assert.ok(completing.flags.has("completing"));
        assert.equal(completing.weight, 60001);

        const byId = new Map(
            parseSqueueJson(fixture("squeue-mixed.json"), 8).map((j) => [j.id, j]),
        );
        assert.equal(byId.get("9")!.requeueable, true);
        // Submitted with -w n0 (required_nodes): it may not go to any other worker.
        assert.equal(byId.get("1")!.constrained, true);
        assert.equal(byId.get("9")!.constrained, false);
        // Running: start plus the time limit (1795547276 + 525600 min).
        assert.equal(byId.get("6")!.endsAt, 1_827_083_276_000);
        assert.equal(byId.get("9")!.endsAt, undefined, "only a running job's end counts");
        const text = (fields: Record<string, unknown>) =>
            JSON.stringify({
                jobs: [{ job_id: 1, job_state: "CONFIGURING", nodes: "c1", ...fields }],
            });
        for (const [fields, expected] of [
            [{ requeue: true, batch_flag: true }, true],
            [{ requeue: false, batch_flag: true }, false], // --no-requeue
            [{ requeue: true, batch_flag: false }, false], // salloc/srun: not a batch job
            [{}, false], // a Slurm that does not say: never put back
        ] as const) {
            assert.equal(
                parseSqueueJson(text(fields), 8)[0]!.requeueable,
                expected,
                JSON.stringify(fields),
            );
        }
        const free = { required_nodes: "", excluded_nodes: "", features: "", tres_per_node: "" };
        for (const [fields, expected] of [
            [free, false],
            [{ ...free, required_nodes: "c1" }, true], // -w
            [{ ...free, excluded_nodes: "c2" }, true], // -x
            [{ ...free, features: "burst" }, true], // --constraint
            [{ ...free, tres_per_node: "gres:gpu:1" }, true], // --gres
            [{}, true], // a Slurm that does not say: never moved
        ] as const) {
            const job = parseSqueueJson(text(fields), 8)[0]!;
            assert.equal(job.constrained, expected, JSON.stringify(fields));
        }
    });

    it("reads a job whose host list names more nodes than Slurm has as on no node", () => {
        const text = JSON.stringify({
            jobs: [{ job_id: 1, job_state: "RUNNING", nodes: "c[1-99999]" }],
        });
        assert.deepEqual(parseSqueueJson(text, 8)[0]!.nodes, []);
        assert.equal(parseSqueueJson(text, 100_000)[0]!.nodes.length, 99_999);
    });
});
