/**
 * Lowering `workers.max` or `workers.min` under running jobs, through the steps a `pulumi up`
 * triggers on the head node (test/helpers/serviceHarness.ts `reconfigure`: the head's states rendered again, slurm.conf
 * rewritten and slurmctld restarted if it changed, the service's settings rewritten and the
 * service restarted), with real Slurm, the real service, the real Salt master and minions and the
 * local Nova, and for the floor the real WorkerPool provider. No job is killed or requeued: the
 * surplus nodes stay in slurm.conf while they have servers, are drained with the reason, lose
 * their servers once idle, and leave slurm.conf at the next state run.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REASONS } from "../../autoscaler/policy";
import { clusterTag, RETIRING_TAG } from "../../lib/tags";
import { harnessPerTest } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

const startHarness = harnessPerTest();

describe("autoscaler: lowering workers.max under running jobs", () => {
    it("kills no job: the surplus nodes are drained, deleted once idle, and leave slurm.conf at the next state run", async () => {
        const h = await startHarness({ burst: 6, launchTimeout: 150 });
        const upper = ["compute-dy-5", "compute-dy-6"];
        const jobs: string[] = [];
        for (const node of upper) {
            jobs.push(await h.submit("-w", node, "--exclusive", "--wrap", "sleep 75"));
        }
        for (const job of jobs) await h.waitForRunning(job, 180_000);

        // `pulumi config set --path workers.max 4 && pulumi up`, as the head node sees it.
        const first = await h.reconfigure(4);
        assert.deepEqual(
            first,
            { slurmRestarted: false, serviceRestarted: true },
            "slurm.conf keeps the nodes that run jobs; the service takes the new maximum",
        );
        await waitFor(
            "the surplus nodes to be drained with the reason, their jobs still running",
            async () => {
                const reasons = await h.slurm.run("sinfo", "-h", "-N", "-o", "%n|%T|%E");
                const lines = reasons.split("\n").filter((l) => upper.includes(l.split("|")[0]!));
                return lines.length === upper.length &&
                    lines.every(
                        (l) => /\|(draining|drng)[^|]*\|/.test(l) && l.endsWith(REASONS.retired),
                    )
                    ? true
                    : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 1000 },
        );
        const running = await h.jobs();
        for (const job of jobs) assert.equal(running.get(job)?.state, "RUNNING");

        // The jobs finish where they run; then the servers go.
        const done = await h.waitForJobs(jobs, 300_000);
        for (const [i, job] of jobs.entries()) {
            assert.equal(done.get(job)!.nodes, upper[i], `job ${job} stayed on its node`);
            assert.equal(await h.restartsOf(job), 0, `job ${job} was never requeued`);
        }
        await h.waitForNoServers(180_000);
        // A round that saw them gone (the service then records the burst nodes it still uses).
        await waitFor(
            "the service to report the retired workers gone",
            async () => {
                const { workers } = (await h.api("GET", "/workers")) as {
                    workers: Array<{ node: string; phase: string }>;
                };
                return workers.some((w) => upper.includes(w.node)) ? undefined : true;
            },
            { timeoutMs: 30_000, intervalMs: 500 },
        );

        // The next state run (the next `pulumi up`) removes them from slurm.conf.
        const second = await h.reconfigure(4);
        assert.deepEqual(second, { slurmRestarted: true, serviceRestarted: false });
        const nodes = await h.slurm.run("sinfo", "-h", "-N", "-o", "%n");
        assert.deepEqual(
            [...new Set(nodes.split("\n").filter((n) => n.startsWith("compute-dy-")))].sort(),
            ["compute-dy-1", "compute-dy-2", "compute-dy-3", "compute-dy-4"],
        );
    });
});

describe("autoscaler: lowering workers.min under a running job", () => {
    it("kills no job: the WorkerPool hands the floor server to the service, which drains it and deletes it once idle", async () => {
        const h = await startHarness({ floor: 1, burst: 2, launchTimeout: 150 });
        const node = "compute-st-1";
        await waitFor(
            "the floor worker (booted by the WorkerPool) to join Slurm",
            async () => {
                const state = await h.slurm.run("sinfo", "-h", "-N", "-n", node, "-o", "%T");
                return /^idle/.test(state.trim()) ? true : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 1000 },
        );
        const job = await h.submit("-w", node, "--exclusive", "--wrap", "sleep 60");
        await h.waitForRunning(job, 60_000);

        // `pulumi config set --path workers.min 0 && pulumi up`: the state run, then the pool.
        const first = await h.reconfigure(2, 0);
        assert.deepEqual(
            first,
            { slurmRestarted: false, serviceRestarted: true },
            "slurm.conf keeps the floor node that runs a job; the service takes the new floor",
        );
        const [server] = (await h.nova.listServersByTags([clusterTag(h.clusterId)])).filter(
            (s) => s.name === node,
        );
        assert.ok(server, "the WorkerPool deleted no server");
        assert.ok(server.tags.includes(RETIRING_TAG), "handed to the service");
        await waitFor(
            "the floor node to be drained with the reason, its job still running",
            async () => {
                const line = await h.slurm.run("sinfo", "-h", "-N", "-n", node, "-o", "%n|%T|%E");
                return /\|(draining|drng)[^|]*\|/.test(line.trim()) &&
                    line.trim().endsWith(REASONS.retired)
                    ? true
                    : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 1000 },
        );
        assert.equal((await h.jobs()).get(job)?.state, "RUNNING");

        const done = await h.waitForJobs([job], 240_000);
        assert.equal(done.get(job)!.nodes, node, "the job stayed on its node");
        assert.equal(await h.restartsOf(job), 0, "the job was never requeued");
        await h.waitForNoServers(180_000);
        await waitFor(
            "the service to report the retired floor worker gone",
            async () => {
                const { workers } = (await h.api("GET", "/workers")) as {
                    workers: Array<{ node: string }>;
                };
                return workers.some((w) => w.node === node) ? undefined : true;
            },
            { timeoutMs: 30_000, intervalMs: 500 },
        );

        // The next state run removes it from slurm.conf.
        const second = await h.reconfigure(2, 0);
        assert.deepEqual(second, { slurmRestarted: true, serviceRestarted: false });
        const nodes = await h.slurm.run("sinfo", "-h", "-N", "-o", "%n");
        assert.ok(!nodes.split("\n").includes(node), `${node} left slurm.conf: ${nodes}`);
    });
});
