/**
 * The Dynamic Cluster service end to end, on real parts (test/helpers/serviceHarness.ts): the
 * built service, Debian's Slurm with the generated slurm.conf and power-saving programs, the
 * local Nova with an application credential restricted by the program's access rules, worker
 * hosts in network namespaces running a real salt-minion, and a real Salt master with the
 * generated configuration, reactors and pillar; the highstate starts each worker's slurmd.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { workerTags } from "../../lib/tags";
import { harnessForSuite, serviceBundle, type ServiceHarness } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

describe("autoscaler: a burst of jobs", () => {
    const harness = harnessForSuite({ burst: 4, launchTimeout: 90, suspendTime: 15 });
    const jobIds: string[] = [];

    it("launches one worker per job, admits its minion, and runs the jobs on them", async () => {
        const h = harness();
        // The jobs wait at a gate (the worker hosts share this machine's files) so all three end
        // together: on a loaded machine a job that ended early would see its worker idle out
        // (SuspendTime 15 s) before the others ran, and the next test needs an idle worker.
        const gate = path.join(h.dir, "jobs-may-end");
        const script = `hostname; until [ -e ${gate} ]; do sleep 0.2; done`;
        for (let i = 0; i < 3; i++) jobIds.push(await h.submit("--exclusive", "--wrap", script));
        const LIVE = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "COMPLETED"];
        const statesOf = async () => {
            const jobs = await h.jobs();
            const states = jobIds.map((id) => jobs.get(id)?.state);
            if (states.some((s) => s && !LIVE.includes(s))) {
                throw new Error(`a job ended badly: ${JSON.stringify([...jobs])}`);
            }
            return { jobs, states };
        };
        await waitFor(
            "all three jobs to run",
            async () =>
                (await statesOf()).states.every((s) => s === "RUNNING") ? true : undefined,
            { timeoutMs: 240_000, intervalMs: 1000 },
        );
        // A host's record follows its slurmd and the master's job cache a poll later.
        await waitFor(
            "the hosts running the jobs to show as configured",
            () =>
                [...h.hosts.hosts.values()].every((x) => x.state === "configured")
                    ? true
                    : undefined,
            { timeoutMs: 60_000, intervalMs: 250 },
        );
        assert.equal(h.hosts.hosts.size, 3, "one server per job, no duplicate launch");
        fs.writeFileSync(gate, "");
        const done = await waitFor(
            "all three jobs to complete",
            async () => {
                const { jobs, states } = await statesOf();
                return states.every((s) => s === "COMPLETED") ? jobs : undefined;
            },
            { timeoutMs: 240_000, intervalMs: 1000 },
        );
        const nodes = jobIds.map((id) => done.get(id)!.nodes).sort();
        assert.equal(new Set(nodes).size, 3, `three different workers: ${nodes}`);
        for (const node of nodes) assert.match(node, /^compute-dy-[1-4]$/);
        assert.equal(h.hosts.hosts.size, 3, "still one server per job");
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

    it("runs a Torque user's #PBS job script submitted with qsub from the data directory", async () => {
        const h = harness();
        // A Torque user's script as the original system ran them: the size, time, name and
        // output paths in #PBS directives, `cd $PBS_O_WORKDIR` first. Submitted from the data
        // directory as nobody with the head's qsub: its front (/usr/local/bin/qsub, which keeps
        // the script's -N, -o, -e and -j) before Slurm's (slurm-wlm-torque, as the head has it).
        const data = path.join(h.dir, "data", "torque-user");
        fs.mkdirSync(data, { recursive: true, mode: 0o777 });
        fs.chmodSync(data, 0o777);
        const out = path.join(data, "hello.out");
        const err = path.join(data, "hello.err");
        fs.writeFileSync(
            path.join(data, "hello.pbs"),
            [
                "#!/bin/bash",
                "#PBS -N torque-hello",
                "#PBS -l nodes=2:ppn=1",
                "#PBS -l walltime=00:07:00",
                `#PBS -o ${out}`,
                `#PBS -e ${err}`,
                'cd "$PBS_O_WORKDIR"',
                'echo "workdir=$PWD jobid=$PBS_JOBID name=$PBS_JOBNAME"',
                'echo "nodes=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sort | paste -sd,)"',
                "",
            ].join("\n"),
            { mode: 0o644 },
        );
        const submitted = await h.slurm.run(
            "runuser",
            "-u",
            "nobody",
            "--",
            "sh",
            "-c",
            `cd ${data} && exec ${h.slurm.qsub} hello.pbs`,
        );
        const jobId = submitted.trim();
        assert.match(jobId, /^\d+$/, `qsub printed the job ID: ${submitted}`);
        // The directives reached Slurm: two nodes, seven minutes, the name.
        const queued = await h.slurm.run("squeue", "-h", "-j", jobId, "-o", "%D|%l|%j|%u");
        assert.equal(queued.trim(), "2|7:00|torque-hello|nobody");
        const qstat = await h.slurm.run("qstat", jobId);
        assert.match(qstat, new RegExp(`^${jobId}\\s+torque-hello\\s+nobody\\s`, "m"), qstat);
        const done = await waitFor(
            "the qsub job to complete on two workers the service launched",
            async () => {
                const job = (await h.jobs()).get(jobId);
                if (
                    job &&
                    !["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "COMPLETED"].includes(
                        job.state,
                    )
                ) {
                    throw new Error(`the qsub job ended ${job.state} (${job.reason})`);
                }
                return job?.state === "COMPLETED" ? job : undefined;
            },
            { timeoutMs: 300_000, intervalMs: 1000 },
        );
        const nodes = done.nodes;
        assert.match(nodes, /^compute-dy-\[\d+-\d+\]$|^compute-dy-\[\d+,\d+\]$/, nodes);
        const output = fs.readFileSync(out, "utf8");
        const expanded = (await h.slurm.run("scontrol", "show", "hostnames", nodes))
            .trim()
            .split("\n")
            .sort()
            .join(",");
        assert.equal(
            output,
            `workdir=${data} jobid=${jobId} name=torque-hello\nnodes=${expanded}\n`,
        );
        assert.equal(fs.readFileSync(err, "utf8"), "");
        assert.deepEqual(h.hosts.errors, []);
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

describe("autoscaler: Salt admission through a real master, and the APIs", () => {
    const harness = harnessForSuite({ burst: 2, launchTimeout: 90, suspendTime: 15 });

    /** Waits until the master holds `id`'s key in `dir` (minions, minions_rejected, ...). */
    const keyIn = (h: ServiceHarness, dir: string, id: string, timeoutMs = 60_000) =>
        waitFor(
            `${id}'s key in ${dir}`,
            () => (fs.existsSync(path.join(h.master.pkiDir, dir, id)) ? true : undefined),
            { timeoutMs, intervalMs: 250 },
        );

    it("admits a worker the cluster launched through real Salt: auth, start, highstate, Slurm runs its job", async () => {
        const h = harness();
        const job = await h.submit("--exclusive", "--wrap", "hostname; sleep 2");
        const host = await waitFor(
            "a worker to be configured by its highstate",
            () => [...h.hosts.hosts.values()].find((x) => x.state === "configured"),
            { timeoutMs: 150_000, intervalMs: 500 },
        );
        const usable = await waitFor(
            `${host.node} to be usable in Slurm`,
            async () => {
                const state = (
                    await h.slurm.run("sinfo", "-h", "-n", host.node, "-o", "%T")
                ).trim();
                return /^(idle|mixed|allocated)/.test(state) ? Date.now() : undefined;
            },
            { timeoutMs: 120_000, intervalMs: 200 },
        );
        console.log(
            `${host.node}: server ACTIVE to usable in Slurm through real Salt: ${((usable - host.activeAt) / 1000).toFixed(1)} s`,
        );
        await h.waitForJobs([job], 120_000);
        // Each step is in the event log whatever order they came in (Slurm may call the worker
        // ready before the service has read the highstate's return from the job cache).
        const expected = [
            `accepted the Salt key of ${host.node} (${host.minionId})`,
            `${host.node}: minion started, highstate queued`,
            `${host.node}: highstate done (job `,
            `${host.node} is ready`,
        ];
        let messages: string[] = [];
        await waitFor(
            "the event log to hold every step of the admission",
            async () => {
                const events = (await h.api("GET", "/events")) as {
                    events: Array<{ message: string }>;
                };
                messages = events.events.map((e) => e.message);
                return expected.every((x) => messages.some((m) => m.startsWith(x)))
                    ? true
                    : undefined;
            },
            { timeoutMs: 90_000, intervalMs: 500 },
        ).catch((err: Error) => {
            throw new Error(`${err.message}: ${JSON.stringify(messages)}`);
        });
        // One worker, one highstate: the service started it, and no other.
        const status = (await h.api("GET", "/status")) as {
            salt: { highstatesStarted: number; jobLookups: number };
        };
        assert.equal(status.salt.highstatesStarted, 1, "one highstate for one worker");
        assert.doesNotMatch(
            h.master.log(),
            /\[WARNING.*dc_forward/,
            "every forward reached the service",
        );
        assert.deepEqual(h.hosts.errors, []);
    });

    it("refuses an ID no worker has, and a second key for a known ID", async () => {
        const h = harness();
        const admitted = [...h.hosts.hosts.values()].find((x) => x.state === "configured")!;
        // A minion with a well-formed ID the cluster never gave out.
        const unknown = `compute-dy-2-${"q".repeat(26)}`;
        await h.hosts.startStranger({
            name: "stranger-1",
            address: "192.0.2.201",
            minionId: unknown,
            masterFinger: admitted.masterFinger,
        });
        await keyIn(h, "minions_rejected", unknown);
        // The admitted worker's ID with another key (a clone of the VM): the master itself
        // denies a key that differs from the accepted one; the accepted key stays.
        await h.hosts.startStranger({
            name: "stranger-2",
            address: "192.0.2.202",
            minionId: admitted.minionId,
            masterFinger: admitted.masterFinger,
        });
        await keyIn(h, "minions_denied", admitted.minionId);
        assert.ok(fs.existsSync(path.join(h.master.pkiDir, "minions", admitted.minionId)));
        const events = (await h.api("GET", "/events")) as { events: Array<{ message: string }> };
        assert.ok(
            events.events.some((e) =>
                e.message.includes(`rejected the Salt key of ${unknown}: unknown minion ID`),
            ),
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

    it("the dynamic-cluster command reports status with root's header file, and Slurm's header opens no admin route", async () => {
        const h = harness();
        const cli = (header: string, ...words: string[]) =>
            spawnSync(
                process.execPath,
                [
                    path.join(serviceBundle(), "autoscaler", "cli.js"),
                    "--url",
                    h.localUrl,
                    "--token-file",
                    path.join(h.dir, header),
                    ...words,
                ],
                { encoding: "utf8" },
            );
        const run = cli("admin-local-api.header", "status");
        assert.equal(run.status, 0, run.stderr);
        const status = JSON.parse(run.stdout) as { cluster: { id: string }; autoMode: boolean };
        assert.equal(status.cluster.id, h.clusterId);
        assert.equal(status.autoMode, true);
        for (const words of [["status"], ["worker", "delete", "compute-dy-1"], ["auto", "off"]]) {
            const refused = cli("slurm-local-api.header", ...words);
            assert.equal(refused.status, 3, words.join(" "));
            assert.match(
                refused.stderr,
                /^dynamic-cluster: 403: .* needs the token of root's dynamic-cluster command/,
            );
        }
        assert.equal(((await h.api("GET", "/status")) as { autoMode: boolean }).autoMode, true);
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
