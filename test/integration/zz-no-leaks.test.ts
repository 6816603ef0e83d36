/**
 * Runs last (the integration stage runs files in name order, one at a time): after the whole
 * suite, the local Nova holds no Dynamic Cluster server (tag `dc`) and no test left a worker
 * host, a Slurm daemon or a service process behind.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { demoClient } from "../helpers/osbox";

describe("after the whole integration suite", () => {
    it("no server with the tag dc is left in Nova", async () => {
        const left = await demoClient().listServersByTags(["dc"]);
        console.log(`# leaked servers after the suite: ${left.length}`);
        assert.deepEqual(
            left.map((s) => `${s.name} ${s.tags.join(",")}`),
            [],
        );
    });

    it("no worker host namespace and no test daemon is left running", () => {
        const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
            .split("\n")
            .map((l) => l.split(" ")[0] ?? "")
            .filter((n) => n.startsWith("dcw-") || n.startsWith("dcslurm-"));
        assert.deepEqual(namespaces, []);
        const processes = execFileSync("ps", ["-eo", "comm,args"], { encoding: "utf8" })
            .split("\n")
            .filter(
                (l) =>
                    /^(slurmctld|slurmd|munged)\s/.test(l) ||
                    /autoscaler\/main\.js --settings/.test(l),
            );
        assert.deepEqual(processes, []);
    });
});
