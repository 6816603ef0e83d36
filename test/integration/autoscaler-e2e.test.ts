/**
 * The Dynamic Cluster service end to end, on real parts (test/helpers/serviceHarness.ts): the
 * built service, Debian's Slurm with the generated slurm.conf and power-saving programs, the
 * local Nova with an application credential restricted by the program's access rules, worker
 * hosts in network namespaces running slurmd, Salt events through the project's reactors.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { loadSettings } from "../../autoscaler/settings";
import { workerTags } from "../../lib/tags";
import { fireReactor } from "../helpers/saltEvents";
import { harnessForSuite, serviceBundle } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

describe("autoscaler: a burst of jobs", () => {
    const harness = harnessForSuite({ burst: 4, launchTimeout: 90, suspendTime: 15 });
    const jobIds: string[] = [];

    it("launches one worker per job, admits its minion, and runs the jobs on them", async () => {
        const h = harness();
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

    it("holds an idle worker past the idle time, and releases it", async () => {
        const h = harness();
        const node = (await h.jobs()).get(jobIds[0]!)!.nodes;
        const held = (await h.api("POST", `/workers/${node}/actions/hold`)) as {
            worker: { held: boolean };
        };
        assert.equal(held.worker.held, true);
        // Longer than SuspendTime: an unheld idle worker would be released by now.
        await new Promise((resolve) => setTimeout(resolve, 25_000));
        const servers = await h.servers();
        assert.deepEqual(
            servers.map((s) => s.name),
            [node],
            "only the held worker is still there",
        );
        const sinfo = await h.slurm.run("sinfo", "-h", "-n", node, "-o", "%T");
        assert.match(sinfo.trim(), /allocated|maint/, "held: no user job can start on it");
        await h.api("POST", `/workers/${node}/actions/release`);
    });

    it("suspends the idle workers and deletes their servers", async () => {
        const h = harness();
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

describe("autoscaler: Salt admission and the APIs, end to end", () => {
    const harness = harnessForSuite({ burst: 2, launchTimeout: 60, suspendTime: 15 });

    /** Presents a key for `id` as the master would and fires salt/auth through the reactor. */
    async function presentKey(id: string, pub: string) {
        const h = harness();
        fs.writeFileSync(path.join(h.dir, "pki", "minions_pre", id), pub);
        const [call] = await fireReactor(h.hosts.reactorTarget, "reactor/auth.sls", "salt/auth", {
            result: true,
            act: "pend",
            id,
            pub,
        });
        return call!;
    }
    const newKey = () =>
        generateKeyPairSync("rsa", { modulusLength: 2048 })
            .publicKey.export({ type: "spki", format: "pem" })
            .toString();

    it("rejects a key for an ID no worker has, and moves it to the rejected keys", async () => {
        const h = harness();
        const id = `compute-dy-1-${"q".repeat(26)}`;
        const call = await presentKey(id, newKey());
        assert.equal(call.status, 200);
        assert.equal((call.body as { action: string }).action, "reject");
        assert.ok(fs.existsSync(path.join(h.dir, "pki", "minions_rejected", id)));
    });

    it("admits a real worker once (a second key for it, or a key after acceptance, is refused) and writes its stats to Graphite", async () => {
        const h = harness();
        const job = await h.submit("--exclusive", "--wrap", "sleep 2");
        const host = await waitFor(
            "a worker to be admitted",
            () => [...h.hosts.hosts.values()].find((x) => x.state === "configured"),
            { timeoutMs: 120_000, intervalMs: 500 },
        );
        assert.equal(host.authAttempts, 1, "accepted on its first auth event");
        // The same ID presents another key: Salt denies it (different from the accepted one).
        const denied = await fireReactor(h.hosts.reactorTarget, "reactor/auth.sls", "salt/auth", {
            result: false,
            act: "denied",
            id: host.minionId,
            pub: newKey(),
        });
        assert.equal((denied[0]!.body as { action: string }).action, "ignore");
        // A pending key under the accepted ID (e.g. a clone of the VM): rejected.
        const again = await presentKey(host.minionId, newKey());
        assert.deepEqual(again.body, {
            action: "reject",
            reason: `a key for ${host.minionId} is already accepted`,
        });
        assert.ok(
            fs.existsSync(path.join(h.dir, "pki", "minions", host.minionId)),
            "the accepted key stays",
        );
        // The worker's collector event, as the master hands it to the reactor: the figures land
        // in the real carbon under the worker's node name; a spoofed ID in the payload is ignored.
        const measuredAt = Math.floor(Date.now() / 1000) - 30;
        const [forwarded] = await fireReactor(
            h.hosts.reactorTarget,
            "reactor/stats.sls",
            "dynamic-cluster/stats",
            {
                id: host.minionId,
                cmd: "_minion_event",
                tag: "dynamic-cluster/stats",
                data: {
                    time: measuredAt,
                    metrics: { "load.1m": 0.75, "memory.used_percent": 8.5 },
                    id: "spoofed",
                },
            },
        );
        assert.deepEqual(forwarded!.body, { node: host.node, written: 2 });
        const { graphite } = loadSettings(h.settingsFile);
        const nodeMetrics = `${graphite.prefix}.dev.nodes.${host.node}`;
        const load = await h.carbon.waitForValue(`${nodeMetrics}.load.1m`, 0.75);
        assert.ok(
            load.some(([at, v]) => v === 0.75 && at <= measuredAt && at > measuredAt - 10),
            "stored at the time the worker measured it",
        );
        await h.carbon.waitForValue(`${nodeMetrics}.memory.used_percent`, 8.5);
        // The service's own figures arrive every round.
        assert.ok(await h.carbon.fetch(`${graphite.prefix}.dev.workers.ready_idle`));
        await waitFor(
            "the job to complete",
            async () => ((await h.jobs()).get(job)?.state === "COMPLETED" ? true : undefined),
            { timeoutMs: 120_000, intervalMs: 1000 },
        );
    });

    it("refuses every API call without credentials, and answers with them", async () => {
        const h = harness();
        for (const url of [`${h.localUrl}/local/v1/status`, `${h.publicUrl}/api/v1/status`]) {
            assert.equal((await fetch(url)).status, 401, url);
        }
        const wrong = await fetch(`${h.publicUrl}/api/v1/workers`, {
            headers: {
                Authorization: `Basic ${Buffer.from("admin:wrong-password").toString("base64")}`,
            },
        });
        assert.equal(wrong.status, 401);
        const basic = Buffer.from(`${h.dashboard.username}:${h.dashboard.password}`).toString(
            "base64",
        );
        const workers = await fetch(`${h.publicUrl}/api/v1/workers`, {
            headers: { Authorization: `Basic ${basic}` },
        });
        assert.equal(workers.status, 200);
        const body = (await workers.json()) as { workers: Array<{ node: string; pool: string }> };
        assert.deepEqual(
            body.workers.map((w) => [w.node, w.pool]),
            [
                ["compute-dy-1", "burst"],
                ["compute-dy-2", "burst"],
            ],
        );
        const bad = await fetch(`${h.publicUrl}/api/v1/workers/compute-dy-1/actions/explode`, {
            method: "POST",
            headers: { Authorization: `Basic ${basic}` },
        });
        assert.equal(bad.status, 400, "schemas validate every route");
    });

    it("the dynamic-cluster command reports status with the slurm header file", async () => {
        const h = harness();
        const out = execFileSync(
            process.execPath,
            [
                path.join(serviceBundle(), "autoscaler", "cli.js"),
                "--url",
                h.localUrl,
                "--token-file",
                path.join(h.dir, "slurm-local-api.header"),
                "status",
            ],
            { encoding: "utf8" },
        );
        const status = JSON.parse(out) as { cluster: { id: string }; autoMode: boolean };
        assert.equal(status.cluster.id, h.clusterId);
        assert.equal(status.autoMode, true);
    });

    it("refuses to delete a busy worker, drains it instead, and the job still completes", async () => {
        const h = harness();
        const job = await h.submit("--exclusive", "--wrap", "sleep 20");
        const node = await h.waitForRunning(job);
        await assert.rejects(
            h.api("POST", `/workers/${node}/actions/delete`),
            (err: Error & { status: number }) =>
                err.status === 409 && /runs 1 job\(s\).*drain it instead/.test(err.message),
        );
        await h.api("POST", `/workers/${node}/actions/drain`);
        const jobs = await h.waitForJobs([job], 120_000);
        assert.equal(jobs.get(job)!.state, "COMPLETED", "draining never kills a job");
        await h.waitForNoServers();
    });
});

describe("autoscaler: orphans in both directions", () => {
    const harness = harnessForSuite({ burst: 2, launchTimeout: 60, suspendTime: 15 });

    it("deletes a tagged server that no worker accounts for, after the grace period", async () => {
        const h = harness();
        const nova = h.nova;
        const [flavorId, imageId, networkId] = await Promise.all([
            nova.flavorId("m1.tiny"),
            nova.imageId("tiny"),
            nova.networkId("dc-test-net"),
        ]);
        const id = await nova.createServer({
            name: "stray",
            flavorId,
            imageId,
            networkIds: [networkId],
            tags: workerTags(h.clusterId, "burst"),
            metadata: { "dc:node": "compute-dy-99" },
        });
        const created = Date.now();
        await h.waitForNoServers(120_000);
        const tookSeconds = (Date.now() - created) / 1000;
        assert.ok(tookSeconds >= 25, `deleted after ${tookSeconds} s, before the 30 s grace`);
        const events = (await h.api("GET", "/events")) as { events: Array<{ message: string }> };
        assert.ok(events.events.some((e) => e.message.includes(`deleting ${id}: orphan`)));
    });

    it("tells Slurm a node is gone when its server disappears under a job, and the job runs again", async () => {
        const h = harness();
        const job = await h.submit("--exclusive", "--wrap", "sleep 15");
        const first = await h.waitForRunning(job);
        const server = (await h.servers()).find((s) => s.name === first)!;
        await h.nova.deleteServer(server.id); // out of band: the cloud lost the VM
        const jobs = await h.waitForJobs([job], 300_000);
        assert.equal(jobs.get(job)!.state, "COMPLETED", "requeued and run again, not lost");
        const events = (await h.api("GET", "/events")) as { events: Array<{ message: string }> };
        assert.ok(
            events.events.some((e) =>
                e.message.includes(`stop waiting for ${first}: dynamic-cluster: server gone`),
            ),
            JSON.stringify(events.events.map((e) => e.message)),
        );
        await h.waitForNoServers();
    });
});
