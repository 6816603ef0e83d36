/**
 * The Dynamic Cluster service under real faults (test/helpers/serviceHarness.ts): workers that
 * never join or fail their highstate, quota too low, servers that go to ERROR, repeated
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
import { waitFor } from "../helpers/waitFor";

interface Status {
    breaker: { open: boolean; consecutiveFailures: number; reason?: string };
    backoffs: Record<string, { until: number; reason: string }>;
    unavailable: Record<string, { cause: string; reason: string }>;
    errors: Record<string, { message: string }>;
}

async function status(h: ServiceHarness): Promise<Status> {
    return (await h.api("GET", "/status")) as Status;
}

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

describe("autoscaler faults: workers that never join", () => {
    it("cleans up a worker that never comes up and one whose highstate fails, cools them down, and runs the job elsewhere", async () => {
        const h = await startHarness({
            burst: 4,
            // Long enough for a healthy worker to join through real Salt on a loaded machine.
            launchTimeout: 90,
            tuning: { failure_cooldown: 60 },
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
        const s = await status(h);
        const hung = [...h.hosts.hosts.values()].find((x) => x.node === "compute-dy-1")!;
        assert.equal(hung.state, "off", "the hung worker's server was deleted");
        assert.equal(s.breaker.open, false);
        // After the cooldown the nodes are given back to Slurm.
        await waitFor(
            "the cooldown to end",
            async () =>
                Object.keys((await status(h)).unavailable).length === 0 ? true : undefined,
            { timeoutMs: 120_000, intervalMs: 1000 },
        );
        const states = await h.slurm.run("sinfo", "-h", "-N", "-o", "%N|%T");
        assert.doesNotMatch(states, /compute-dy-[12]\|down/);
        await h.waitForNoServers();
    });
});

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
