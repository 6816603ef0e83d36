/**
 * Runs last (the integration stage runs files in name order, one at a time): after the whole
 * suite, the local Nova holds no Dynamic Cluster server (tag `dc`), Neutron no floating IP and
 * Cinder no volume of the project's tests, and no test left a worker host, an emulated head, a
 * Slurm or carbon daemon, a service or Pulumi process or a test directory behind.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { leftByThisRun } from "../helpers/leaks";
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

    it("no floating IP and no test volume is left", async () => {
        const session = demoClient().session;
        const floating = (
            await session.request("network", { method: "GET", path: "/v2.0/floatingips" })
        ).json as { floatingips: Array<{ floating_ip_address: string }> };
        assert.deepEqual(
            floating.floatingips.map((f) => f.floating_ip_address),
            [],
        );
        const volumes = (await session.request("volumev3", { method: "GET", path: "/volumes" }))
            .json as { volumes: Array<{ name: string }> };
        assert.deepEqual(
            volumes.volumes.map((v) => v.name),
            [],
        );
    });

    it("no worker host namespace and no test daemon is left running", () => {
        const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
            .split("\n")
            .map((l) => l.split(" ")[0] ?? "")
            .filter((n) => /^(dcw|dcslurm|dch)-/.test(n));
        assert.deepEqual(namespaces, []);
        const processes = execFileSync("ps", ["-eo", "comm,args"], { encoding: "utf8" })
            .split("\n")
            .filter(
                (l) =>
                    /^(slurmctld|slurmd|munged)\s/.test(l) ||
                    /carbon-cache .*--config=/.test(l) ||
                    /autoscaler\/main\.js --settings/.test(l) ||
                    /^pulumi(-language-nodejs|-resource-\S+)?\s/.test(l) ||
                    /sshd .*dc-emulated-head/.test(l),
            );
        assert.deepEqual(processes, []);
    });

    it("no test directory is left behind", { skip: !!process.env["DC_KEEP_TEST_DIRS"] }, () => {
        // Only this run's (a run killed earlier is not ours): npm test lists the temporary
        // directory at its start (DC_TEST_TMP_BEFORE) and sets DC_TEST_RUN_STARTED; the rule,
        // which counts a directory when in doubt, is in test/helpers/leaks.ts.
        const pattern = /^dc-(e2e|carbon|salt-configs|salt-real|program-up|ssh-it|node-lts)-/;
        const listed = process.env["DC_TEST_TMP_BEFORE"];
        const before = listed
            ? new Set(fs.readFileSync(listed, "utf8").split("\n").filter(Boolean))
            : undefined;
        const started = Number(process.env["DC_TEST_RUN_STARTED"] ?? 0) * 1000;
        const entries = fs
            .readdirSync(os.tmpdir())
            .filter((name) => pattern.test(name))
            .map((name) => {
                const { birthtimeMs, ctimeMs, mtimeMs } = fs.statSync(path.join(os.tmpdir(), name));
                return { name, birthtimeMs, ctimeMs, mtimeMs };
            });
        const left = leftByThisRun(entries, pattern, {
            sinceMs: Number.isFinite(started) && started > 0 ? started : undefined,
            before,
        });
        assert.deepEqual(left, []);
    });
});
