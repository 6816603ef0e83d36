/**
 * The Dynamic Cluster service with workers that never join (test/helpers/serviceHarness.ts): one
 * whose minion never starts and one whose highstate fails are cleaned up, cooled down with the
 * reason in Slurm, and the jobs run on healthy workers. In its own file: with a cooldown long
 * enough for any machine load it takes minutes, and each file has 15 minutes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { harnessPerTest } from "../helpers/serviceHarness";
import { serviceStatus as status } from "../helpers/serviceStatus";
import { waitFor } from "../helpers/waitFor";

const startHarness = harnessPerTest();

describe("autoscaler faults: workers that never join", () => {
    it("cleans up a worker that never comes up and one whose highstate fails, cools them down, and runs the job elsewhere", async () => {
        const h = await startHarness({
            burst: 4,
            // Long enough for a healthy worker to join through real Salt on a loaded machine.
            launchTimeout: 90,
            // A failed node stays out of use until the other's failure is known (the hang only
            // after the 90 s launch timeout), so the requeued jobs go to the healthy nodes
            // rather than back to a failed one whose cooldown already ended.
            tuning: { failure_cooldown: 150 },
            behaviour: { hang: ["compute-dy-1"], failHighstate: ["compute-dy-2"] },
        });
        // Slurm gives the two jobs compute-dy-1 and compute-dy-2 first.
        const first = await h.submit("--exclusive", "--wrap", "hostname");
        const second = await h.submit("--exclusive", "--wrap", "hostname");
        // Both fail (one never joins, one fails its highstate): cleaned up and cooled down,
        // with the reason in Slurm. The highstate failure is found within seconds, the hang
        // only after the launch timeout, so one cooldown may end before the other begins:
        // each node is checked when it is seen cooling down.
        const expectedReason: Record<string, RegExp> = {
            "compute-dy-1":
                /^dynamic-cluster: boot failed \((not ready 90 s after launch|the scheduler gave up)/,
            "compute-dy-2":
                /^dynamic-cluster: boot failed \(the worker highstate failed \(job \d{20}: failed states: dc-test-worker-slurmd/,
        };
        const seenCoolingDown = new Set<string>();
        await waitFor(
            "both failed nodes to cool down, set down with the reason",
            async () => {
                const s = await status(h);
                // Keeps the harness's record of the jobs: one may finish (on a healthy worker)
                // long before the hung one's launch timeout ends this wait.
                await h.jobs();
                const reasons = new Map(
                    (await h.slurm.run("sinfo", "-h", "-N", "-R", "-o", "%n|%E"))
                        .split("\n")
                        .filter((line) => line.includes("|"))
                        .map((line) => line.split("|", 2) as [string, string]),
                );
                const lastSeen: Record<string, string> = {};
                for (const [node, pattern] of Object.entries(expectedReason)) {
                    const cause = s.unavailable[node]?.cause;
                    const reason = reasons.get(node) ?? "";
                    lastSeen[node] = `${cause ?? "available"}: ${reason}`;
                    if (cause === "cooldown" && pattern.test(reason)) seenCoolingDown.add(node);
                }
                if (seenCoolingDown.size === 2) return true;
                // Becomes the timeout's message.
                throw new Error(
                    `seen cooling down: [${[...seenCoolingDown].join(", ")}]; now: ${JSON.stringify(lastSeen)}`,
                );
            },
            { timeoutMs: 240_000, intervalMs: 1000 },
        );
        const jobs = await h.waitForJobs([first, second], 360_000);
        // On the healthy workers (one may run both exclusive jobs in turn).
        for (const id of [first, second]) assert.match(jobs.get(id)!.nodes, /^compute-dy-[34]$/);
        // The hung worker's server is deleted at its failure (the launch timeout). The jobs may
        // have ended long before: the hand-off moves the one bound to the hung node to a healthy
        // node that frees, so the delete is awaited, not assumed done.
        const hung = [...h.hosts.hosts.values()].find((x) => x.node === "compute-dy-1")!;
        await waitFor(
            "the hung worker's server deleted",
            () => (hung.state === "off" ? true : undefined),
            { timeoutMs: 120_000, intervalMs: 500 },
        ).catch((err: Error) => {
            throw new Error(`${err.message} (its host is ${hung.state})`);
        });
        const s = await status(h);
        assert.equal(s.breaker.open, false);
        // After the cooldown the nodes are given back to Slurm.
        await waitFor(
            "the cooldown to end",
            async () =>
                Object.keys((await status(h)).unavailable).length === 0 ? true : undefined,
            { timeoutMs: 240_000, intervalMs: 1000 },
        );
        const states = await h.slurm.run("sinfo", "-h", "-N", "-o", "%N|%T");
        assert.doesNotMatch(states, /compute-dy-[12]\|down/);
        await h.waitForNoServers();
    });
});
