/**
 * How many nodes of each pool are in use (autoscaler/nodesInUse.ts), the numbers the head's
 * slurm.conf keeps declaring while workers.max or workers.min is lowered, and the Salt state
 * that reads them: slurm.conf declares max(workers.max - workers.min, burst in use) burst nodes
 * and max(workers.min, static in use) static nodes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import {
    BURST_NODES_IN_USE_FILE,
    burstNodesInUse,
    NodesInUseFiles,
    STATIC_NODES_IN_USE_FILE,
    staticNodesInUse,
} from "../../autoscaler/nodesInUse";
import { configFrom, renderHighstateWithPaths } from "../helpers/salt";

const tmp = mkdtempSync(path.join(os.tmpdir(), "dc-nodes-in-use-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("burstNodesInUse", () => {
    const cases: Array<{
        name: string;
        servers: Array<{ node?: string; pool?: "static" | "burst" }>;
        inFlight?: string[];
        expected: number;
    }> = [
        { name: "none", servers: [], expected: 0 },
        {
            name: "the highest burst number with a server",
            servers: [
                { node: "compute-dy-2", pool: "burst" },
                { node: "compute-dy-7", pool: "burst" },
                { node: "compute-dy-3", pool: "burst" },
            ],
            expected: 7,
        },
        {
            name: "the static floor does not count",
            servers: [
                { node: "compute-st-9", pool: "static" },
                { node: "compute-dy-1", pool: "burst" },
            ],
            expected: 1,
        },
        {
            name: "a launch in flight counts (its server may not be listed yet)",
            servers: [{ node: "compute-dy-1", pool: "burst" }],
            inFlight: ["compute-dy-5"],
            expected: 5,
        },
        {
            name: "names that are not <prefix>-<n> are ignored",
            servers: [
                { node: "other-dy-9", pool: "burst" },
                { node: "compute-dy-x", pool: "burst" },
                { node: "compute-dy-03", pool: "burst" },
                { node: undefined, pool: "burst" },
            ],
            expected: 0,
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const records = new Map(
                (c.inFlight ?? []).map((node) => [node, { launchInFlight: true }]),
            );
            assert.equal(burstNodesInUse("compute-dy", c.servers, records), c.expected);
        });
    }
});

describe("staticNodesInUse", () => {
    it("counts the floor's servers whichever pool tag they carry now", () => {
        const servers = [
            { node: "compute-st-1", pool: "static" as const },
            { node: "compute-st-4", pool: "burst" as const }, // handed over by a lowered min
            { node: "compute-dy-9", pool: "burst" as const },
            { node: "compute-st-x" },
            {},
        ];
        assert.equal(staticNodesInUse("compute-st", servers), 4);
        assert.equal(staticNodesInUse("compute-st", []), 0);
    });
});

describe("NodesInUseFiles", () => {
    it("writes both numbers, readable by the head's state run, and only when they change", () => {
        const dir = mkdtempSync(path.join(tmp, "state-"));
        const files = new NodesInUseFiles(dir);
        files.write(new Map([["compute", { burst: 6, static: 3 }]]));
        assert.equal(readFileSync(path.join(dir, STATIC_NODES_IN_USE_FILE), "utf8"), "3\n");
        const file = {
            write: (n: number) => files.write(new Map([["compute", { burst: n, static: 3 }]])),
        };
        file.write(6);
        const target = path.join(dir, BURST_NODES_IN_USE_FILE);
        assert.equal(readFileSync(target, "utf8"), "6\n");
        assert.equal(statSync(target).mode & 0o777, 0o644);
        const written = statSync(target).mtimeMs;
        writeFileSync(target, "tampered\n");
        file.write(6);
        assert.equal(readFileSync(target, "utf8"), "tampered\n", "no write for the same number");
        file.write(2);
        assert.equal(readFileSync(target, "utf8"), "2\n");
        assert.ok(statSync(target).mtimeMs >= written);
    });
});

describe("the head's slurm.conf while workers.max is lowered", () => {
    const burstLine = (conf: string): string | undefined =>
        conf.split("\n").find((line) => line.includes("Feature=burst"));
    const render = (stateDir: string, max: number): string => {
        const config = configFrom({
            keyName: "hpc-key",
            allowedCidr: "203.0.113.0/24",
            network: "private",
            workers: { min: 0, max, flavor: "m1.small", image: "Rocky-9" },
        });
        const head = renderHighstateWithPaths(config, "head", { service_state_dir: stateDir });
        assert.deepEqual(head.errors, []);
        return head.files["/etc/slurm/slurm.conf"]!.content;
    };

    it("declares workers.max - workers.min burst nodes when the service has written nothing", () => {
        const conf = render(path.join(tmp, "nothing-here"), 6);
        assert.match(burstLine(conf)!, /^NodeName=\S+-dy-\[1-6\] /);
    });

    it("keeps the floor's nodes the service still retires after workers.min was lowered", () => {
        const staticLine = (conf: string): string | undefined =>
            conf.split("\n").find((line) => line.includes("Feature=static"));
        const excluded = (conf: string): string | undefined =>
            conf.split("\n").find((line) => line.startsWith("SuspendExcNodes="));
        const renderMin = (stateDir: string, min: number): string => {
            const config = configFrom({
                keyName: "hpc-key",
                allowedCidr: "203.0.113.0/24",
                network: "private",
                workers: { min, max: 8, flavor: "m1.small", image: "Rocky-9" },
            });
            const head = renderHighstateWithPaths(config, "head", { service_state_dir: stateDir });
            assert.deepEqual(head.errors, []);
            return head.files["/etc/slurm/slurm.conf"]!.content;
        };
        const dir = mkdtempSync(path.join(tmp, "state-"));
        assert.equal(staticLine(renderMin(dir, 0)), undefined, "no floor, nothing in use");
        writeFileSync(path.join(dir, STATIC_NODES_IN_USE_FILE), "3\n");
        const lowered = renderMin(dir, 1);
        assert.match(staticLine(lowered)!, /^NodeName=\S+-st-\[1-3\] /);
        assert.match(excluded(lowered)!, /-st-\[1-3\]$/);
        writeFileSync(path.join(dir, STATIC_NODES_IN_USE_FILE), "1\n");
        assert.match(staticLine(renderMin(dir, 1))!, /^NodeName=\S+-st-\[1-1\] /);
    });

    it("keeps the nodes the service still uses, and drops them once it uses fewer", () => {
        const dir = mkdtempSync(path.join(tmp, "state-"));
        const lowered = 2;
        writeFileSync(path.join(dir, BURST_NODES_IN_USE_FILE), "9\n");
        assert.match(burstLine(render(dir, lowered))!, /-dy-\[1-9\] /);
        writeFileSync(path.join(dir, BURST_NODES_IN_USE_FILE), "0\n");
        assert.match(burstLine(render(dir, lowered))!, /-dy-\[1-2\] /);
    });
});
