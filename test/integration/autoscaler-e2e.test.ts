/**
 * The Dynamic Cluster service end to end, on real parts (test/helpers/serviceHarness.ts): the
 * built service, Debian's Slurm with the generated slurm.conf and power-saving programs, the
 * local Nova with an application credential restricted by the program's access rules, worker
 * hosts in network namespaces running slurmd, Salt events through the project's reactors.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ServiceHarness } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

describe("autoscaler: a burst of jobs", () => {
    let h: ServiceHarness;
    const jobIds: string[] = [];

    before(async () => {
        h = await ServiceHarness.start({ burst: 4, launchTimeout: 90, suspendTime: 15 });
    });
    after(async () => {
        const leaked = await h?.stop();
        assert.equal(leaked, 0, "servers left behind");
    });

    it("launches one worker per job, admits its minion, and runs the jobs on them", async () => {
        for (let i = 0; i < 3; i++)
            jobIds.push(await h.submit("--exclusive", "--wrap", "hostname; sleep 3"));
        const done = await waitFor(
            "all three jobs to complete",
            async () => {
                const jobs = await h.jobs();
                const states = jobIds.map((id) => jobs.get(id)?.state);
                if (
                    states.some(
                        (s) =>
                            s &&
                            s !== "PENDING" &&
                            s !== "CONFIGURING" &&
                            s !== "RUNNING" &&
                            s !== "COMPLETING" &&
                            s !== "COMPLETED",
                    )
                ) {
                    throw new Error(`a job ended badly: ${JSON.stringify([...jobs])}`);
                }
                return states.every((s) => s === "COMPLETED") ? jobs : undefined;
            },
            { timeoutMs: 240_000, intervalMs: 1000 },
        );
        const nodes = jobIds.map((id) => done.get(id)!.nodes).sort();
        assert.equal(new Set(nodes).size, 3, `three different workers: ${nodes}`);
        for (const node of nodes) assert.match(node, /^compute-dy-[1-4]$/);
        const hosts = [...h.hosts.hosts.values()];
        assert.equal(hosts.length, 3, "one server per job, no duplicate launch");
        assert.ok(
            hosts.every((x) => x.state === "configured"),
            JSON.stringify(hosts),
        );
        assert.deepEqual(h.hosts.errors, []);
    });

    it("suspends the idle workers and deletes their servers", async () => {
        await waitFor(
            "every server to be deleted after the idle time",
            async () => ((await h.servers()).length === 0 ? true : undefined),
            { timeoutMs: 120_000, intervalMs: 1000 },
        );
        const status = (await h.api("GET", "/status")) as {
            breaker: { consecutiveFailures: number };
        };
        assert.equal(status.breaker.consecutiveFailures, 0);
    });
});
