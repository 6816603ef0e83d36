/**
 * The Dynamic Cluster service under real faults (test/helpers/serviceHarness.ts; workers that
 * never join are in autoscaler-faults-join.test.ts): quota too low, servers that go to ERROR, repeated
 * failures that trip the breaker, the Nova API paused and stopped mid-scale, and the service
 * killed with SIGKILL during a scale-up. After each: no leaked server, no duplicate launch, no
 * job lost or killed, and the service still answers.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import {
    DEFAULT_INSTANCE_QUOTA,
    impossibleFlavor,
    instancesInUse,
    OSBOX_DIR,
    setInstanceQuota,
} from "../helpers/osbox";
import { harnessPerTest, type ServiceHarness } from "../helpers/serviceHarness";
import { serviceStatus as status } from "../helpers/serviceStatus";
import { waitFor } from "../helpers/waitFor";

/** Every server the hosts saw, by node: a node with two servers alive at once is a duplicate. */
/** Fails when a node ever had two servers at once (seen by the emulated hosts' listings). */
function noOverlappingServers(h: ServiceHarness): void {
    assert.deepEqual(h.hosts.overlappingServers(), [], "no duplicate launch");
}

async function noDuplicates(h: ServiceHarness): Promise<void> {
    const names = (await h.servers()).map((s) => s.name);
    assert.equal(new Set(names).size, names.length, `two servers for one node: ${names}`);
}

const startHarness = harnessPerTest();

describe("autoscaler faults: quota and capacity", () => {
    after(() => setInstanceQuota(DEFAULT_INSTANCE_QUOTA));

    it("backs off while the quota is exhausted and launches the rest when it is raised", async () => {
        const h = await startHarness({ burst: 3, launchTimeout: 150 });
        await setInstanceQuota((await instancesInUse()) + 1);
        const ids = [];
        for (let i = 0; i < 3; i++) ids.push(await h.submit("--exclusive", "--wrap", "sleep 1"));
        const backedOff = await waitFor(
            "a quota error to back the flavor off",
            async () => (await status(h)).backoffs["m1.tiny"],
            { timeoutMs: 60_000, intervalMs: 500 },
        );
        // Nova refuses the create call (403), or accepts it and puts the server in ERROR when
        // its quota recheck fails (boots racing for the last slot): both back the flavor off.
        assert.match(backedOff.reason, /Quota exceeded for instances/);
        await setInstanceQuota(DEFAULT_INSTANCE_QUOTA);
        const jobs = await h.waitForJobs(ids, 300_000);
        // Every job ran on a burst worker (a worker may run two exclusive jobs in turn).
        for (const id of ids) assert.match(jobs.get(id)!.nodes, /^compute-dy-\d+$/);
        noOverlappingServers(h);
        assert.equal(
            (await status(h)).breaker.consecutiveFailures,
            0,
            "quota is not a boot failure",
        );
        await h.waitForNoServers();
    });

    it("deletes servers that go to ERROR (no valid host) and backs the flavor off", async () => {
        const h = await startHarness({
            burst: 2,
            launchTimeout: 60,
            flavor: await impossibleFlavor(),
        });
        const job = await h.submit("--exclusive", "--wrap", "true");
        const backedOff = await waitFor(
            "the ERROR server to back the flavor off",
            async () => (await status(h)).backoffs["dc-test-impossible"],
            { timeoutMs: 90_000, intervalMs: 500 },
        );
        assert.match(backedOff.reason, /went to ERROR: No valid host was found/);
        await h.waitForNoServers();
        const state = (await h.jobs()).get(job)!.state;
        assert.equal(state, "PENDING", "the job waits in the queue; it is not lost");
        await h.slurm.run("scancel", job);
    });
});

describe("autoscaler faults: the breaker", () => {
    it("stops launching after repeated boot failures, says so in Slurm, and resumes when reset", async () => {
        const h = await startHarness({
            burst: 3,
            launchTimeout: 60,
            tuning: { breaker_threshold: 2, failure_cooldown: 600 },
            behaviour: { failHighstate: ["compute-dy-1", "compute-dy-2", "compute-dy-3"] },
        });
        // Two jobs: compute-dy-1 and compute-dy-2 boot and fail together.
        const job = await h.submit("--exclusive", "--wrap", "hostname");
        const other = await h.submit("--exclusive", "--wrap", "hostname");
        const opened = await waitFor(
            "the breaker to open",
            async () => {
                const s = await status(h);
                return s.breaker.open ? s : undefined;
            },
            { timeoutMs: 300_000, intervalMs: 1000 },
        );
        assert.match(opened.breaker.reason!, /2 boot failures in a row/);
        await h.waitForNoServers();
        // The third node is kept out of use with the breaker's reason once Slurm asks for it.
        await waitFor(
            "Slurm to show the breaker's reason",
            async () => {
                const reasons = await h.slurm.run("sinfo", "-h", "-R", "-o", "%n|%E");
                return /compute-dy-3\|dynamic-cluster: launches stopped/.test(reasons)
                    ? true
                    : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 1000 },
        );
        const launchedWhileOpen = h.hosts.hosts.size;
        assert.equal(launchedWhileOpen, 2, "nothing launched after the breaker opened");
        // Fix the cause, reset: nodes come back and the job runs.
        h.master.setBehaviour({});
        await h.api("POST", "/breaker/reset");
        const s = await status(h);
        assert.equal(s.breaker.open, false);
        // Nodes in cooldown stay out; the breaker's node is given back.
        await waitFor(
            "compute-dy-3 to be given back",
            async () => ((await status(h)).unavailable["compute-dy-3"] ? undefined : true),
            { timeoutMs: 60_000, intervalMs: 1000 },
        );
        const jobs = await h.waitForJobs([job, other], 300_000);
        assert.equal(jobs.get(job)!.nodes, "compute-dy-3");
        assert.equal(
            jobs.get(other)!.nodes,
            "compute-dy-3",
            "one after the other on the only node left",
        );
        await h.waitForNoServers();
    });
});

/** PIDs of the local Nova API (uwsgi master and its workers). */
function novaApiPids(): number[] {
    const master = Number(fs.readFileSync(path.join(OSBOX_DIR, "run", "nova-api.pid"), "utf8"));
    const children = execFileSync("pgrep", ["-P", String(master)], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .map(Number);
    return [master, ...children];
}

describe("autoscaler faults: the Nova API paused and stopped", () => {
    it("rides out a paused Nova API mid-scale with no duplicate and no lost job, answering all along", async () => {
        const h = await startHarness({
            burst: 4,
            launchTimeout: 180,
            tuning: { openstack_timeout: 8 },
        });
        const pids = novaApiPids();
        const ids = [];
        for (let i = 0; i < 2; i++) ids.push(await h.submit("--exclusive", "--wrap", "sleep 1"));
        await waitFor("a first launch", () => (h.hosts.hosts.size > 0 ? true : undefined), {
            timeoutMs: 60_000,
        });
        for (const pid of pids) process.kill(pid, "SIGSTOP");
        try {
            for (let i = 0; i < 2; i++)
                ids.push(await h.submit("--exclusive", "--wrap", "sleep 1"));
            // While Nova hangs, the service still answers and says what is wrong.
            const s = await waitFor(
                "the service to report Nova's failure",
                async () => {
                    const st = await status(h);
                    return st.errors["nova"] ? st : undefined;
                },
                { timeoutMs: 60_000, intervalMs: 500 },
            );
            assert.ok(s.errors["nova"]!.message.length > 0);
        } finally {
            for (const pid of pids) process.kill(pid, "SIGCONT");
        }
        const jobs = await h.waitForJobs(ids, 400_000);
        // Every job ran on a burst worker (a worker may run two exclusive jobs in turn).
        for (const id of ids) assert.match(jobs.get(id)!.nodes, /^compute-dy-\d+$/);
        await noDuplicates(h);
        await h.waitForNoServers(180_000);
    });

    it("rides out a stopped Nova API (connection refused) and resumes when it is back", async () => {
        const h = await startHarness({
            burst: 2,
            launchTimeout: 180,
            tuning: { openstack_timeout: 8 },
        });
        for (const pid of novaApiPids().reverse()) process.kill(pid, "SIGKILL");
        const job = await h.submit("--exclusive", "--wrap", "hostname");
        await waitFor(
            "the service to report Nova's failure",
            async () => ((await status(h)).errors["nova"] ? true : undefined),
            { timeoutMs: 60_000, intervalMs: 500 },
        );
        // Start the Nova API again (the environment script starts only what is not running).
        execFileSync("bash", [path.resolve(__dirname, "../env/openstack/up.sh")], {
            stdio: "ignore",
        });
        await h.waitForJobs([job], 300_000);
        await noDuplicates(h);
        await h.waitForNoServers(180_000);
    });
});

describe("autoscaler faults: the service killed", () => {
    it("survives SIGKILL during a scale-up: no duplicate launch, no leaked server, no lost job", async () => {
        const h = await startHarness({ burst: 5, launchTimeout: 180 });
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push(await h.submit("--exclusive", "--wrap", "sleep 2"));
        await waitFor(
            "launches to be under way",
            async () => ((await h.servers()).length >= 1 ? true : undefined),
            { timeoutMs: 60_000, intervalMs: 100 },
        );
        await h.killService("SIGKILL");
        const during = (await h.servers()).length;
        await h.startService();
        assert.equal(h.starts, 2);
        const jobs = await h.waitForJobs(ids, 400_000);
        // Every job ran on a burst worker (a worker may run two exclusive jobs in turn).
        for (const id of ids) assert.match(jobs.get(id)!.nodes, /^compute-dy-\d+$/);
        noOverlappingServers(h);
        assert.ok(during >= 1);
        await noDuplicates(h);
        await h.waitForNoServers(180_000);
    });
});
