/**
 * Worker pools end to end, on the real parts of test/helpers/serviceHarness.ts (the built
 * service, Debian's Slurm with the generated slurm.conf and gres.conf, the local Nova, worker
 * hosts in network namespaces with a real salt-minion, a real Salt master): a GPU pool beside
 * the default pool, in its own partition, declaring one GPU per node. This machine has no GPU:
 * the GRES's device file is a stand-in character device (/dev/dc-test-gpu0, the null device's
 * numbers) that slurmd on the worker hosts checks and hands to the job. The pool's first flavor is
 * one no Nova host has room for, so its first server goes to ERROR ("No valid host was found"):
 * the service backs that flavor off and boots the pool's next flavor, and the job runs there.
 * The GPU pool keeps one warm worker (`minIdle: 1`, Slurm's `SuspendExcNodes=gpu-dy-[1-2]:1`):
 * idle past its SuspendTime, it stays powered while a default-pool worker idle as long is
 * suspended and deleted.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { impossibleFlavor } from "../helpers/osbox";
import { harnessPerTest, type ServiceHarness } from "../helpers/serviceHarness";
import { serviceStatus as status } from "../helpers/serviceStatus";
import { waitFor } from "../helpers/waitFor";

const GPU_DEVICE = "/dev/dc-test-gpu0";
const startHarness = harnessPerTest();

/**
 * A harness with one burst node in the default pool and `pool` beside it, whose first flavor is
 * one no Nova host has room for (image tiny, idle 60 s; m1.small, 1 vCPU and 1 GiB, if it
 * falls back to it).
 */
async function withPoolWithNoRoom(
    pool: Record<string, unknown>,
): Promise<{ h: ServiceHarness; noRoom: string }> {
    const noRoom = await impossibleFlavor();
    const h = await startHarness({
        burst: 1,
        launchTimeout: 90,
        suspendTime: 15,
        pools: [{ flavor: noRoom, image: "tiny", idleTimeout: 60, ...pool }],
        flavorSizes: {
            [noRoom]: { vcpus: 1, ramMb: 64 },
            "m1.small": { vcpus: 1, ramMb: 1024 },
        },
    });
    return { h, noRoom };
}

describe("autoscaler: a GPU pool beside the default one", () => {
    before(() => {
        fs.rmSync(GPU_DEVICE, { force: true });
        execFileSync("mknod", ["-m", "0666", GPU_DEVICE, "c", "1", "3"]);
    });
    after(() => fs.rmSync(GPU_DEVICE, { force: true }));

    it("runs each job on its own pool's worker, falls back to the pool's next flavor when Nova has no room, and keeps the pool's warm worker", async () => {
        const { h, noRoom } = await withPoolWithNoRoom({
            name: "gpu",
            max: 2,
            minIdle: 1,
            fallbackFlavors: ["m1.small"],
            gres: "gpu:1",
            gresFile: GPU_DEVICE,
            features: ["fakegpu"],
        });
        // The GPU job holds its worker until the test has looked at it (a gate file: the hosts
        // share this machine's files).
        const gate = path.join(h.dir, "gpu-job-may-end");
        const gpuJob = await h.submit(
            "-p",
            "gpu",
            "--gres=gpu:1",
            "--wrap",
            `hostname; until [ -e ${gate} ]; do sleep 0.2; done`,
        );
        const plainJob = await h.submit("--wrap", "hostname");
        const running = await waitFor(
            "the GPU job to run",
            async () => {
                const job = (await h.jobs()).get(gpuJob);
                if (job && !["PENDING", "CONFIGURING", "RUNNING"].includes(job.state))
                    throw new Error(`the GPU job ended: ${JSON.stringify(job)}`);
                return job?.state === "RUNNING" ? job : undefined;
            },
            { timeoutMs: 360_000, intervalMs: 1000 },
        ).catch(async (err: unknown) => {
            // What Slurm and the service saw, for the failure's message.
            const nodes = await h.slurm.run("sinfo", "-N", "-h", "-o", "%N %T %E").catch(String);
            const queue = await h.slurm.run("squeue", "-h", "-o", "%i %P %T %N %r").catch(String);
            const { events } = (await h.api("GET", "/events").catch(() => ({ events: [] }))) as {
                events: { message: string }[];
            };
            throw new Error(
                `${String(err)}\nnodes:\n${nodes}\nqueue:\n${queue}\nevents:\n${events
                    .map((e) => e.message)
                    .join("\n")}`,
            );
        });
        assert.match(running.nodes, /^gpu-dy-[12]$/, "the GPU job on the GPU pool");

        const s = await status(h);
        assert.match(
            s.backoffs[noRoom]?.reason ?? "",
            /went to ERROR: No valid host was found/,
            "the full flavor backs off",
        );
        assert.equal(s.backoffs["m1.small"], undefined);
        assert.equal(s.breaker.consecutiveFailures, 0, "no room is not a boot failure");
        const { events } = (await h.api("GET", "/events")) as { events: { message: string }[] };
        const messages = events.map((e) => e.message);
        assert.ok(
            messages.some((m) =>
                new RegExp(`launching gpu-dy-\\d as m1.small: ${noRoom} backing off`).test(m),
            ),
            JSON.stringify(messages),
        );
        const launched = messages
            .map((m) => /^launched (gpu-dy-\d) \(server (\S+), m1\.small\)$/.exec(m))
            .find((m) => m !== null && m[1] === running.nodes);
        assert.ok(launched, `${running.nodes} launched as m1.small: ${JSON.stringify(messages)}`);
        // Nova agrees: the server running the job is an m1.small.
        const server = (
            await h.nova.session.request("compute", {
                method: "GET",
                path: `/servers/${launched[2]}`,
                headers: { "OpenStack-API-Version": "compute 2.47" },
            })
        ).json as { server: { flavor: { original_name: string } } };
        assert.equal(server.server.flavor.original_name, "m1.small");

        // What Slurm gave the job: the pool's GPU, on the node that runs it.
        const shown = await h.slurm.run("scontrol", "-o", "show", "job", gpuJob);
        assert.match(shown, /TresPerNode=gres:gpu:1/);
        const node = await h.slurm.run("scontrol", "-o", "show", "node", running.nodes);
        assert.match(node, /Gres=gpu:1/);
        assert.match(node, /AvailableFeatures=burst,fakegpu/);

        fs.writeFileSync(gate, "");
        const jobs = await h.waitForJobs([gpuJob, plainJob], 240_000);
        assert.equal(jobs.get(gpuJob)!.nodes, running.nodes);
        assert.equal(jobs.get(plainJob)!.nodes, "compute-dy-1", "the other on the default pool");

        // Warm workers: a default-pool job after the GPU job ended; once its worker has been
        // idle for SuspendTime and is gone (the positive control: the same SuspendTime applies
        // to both partitions), the GPU worker, idle longer, is still powered and still has its
        // server.
        const later = await h.submit("--wrap", "hostname");
        await h.waitForJobs([later], 240_000);
        await waitFor(
            "the default pool's idle worker to be suspended and deleted",
            async () =>
                (await h.servers()).some((s) => s.name === "compute-dy-1") ? undefined : true,
            { timeoutMs: 180_000, intervalMs: 1000 },
        );
        const warm = await h.slurm.run("scontrol", "-o", "show", "node", running.nodes);
        assert.match(warm, /State=IDLE[+A-Z_]*/, `the warm GPU worker is idle: ${warm}`);
        assert.doesNotMatch(
            warm,
            /POWER(ED|ING)_DOWN/,
            `the warm GPU worker stays powered: ${warm}`,
        );
        assert.ok(
            (await h.servers()).some((s) => s.name === running.nodes),
            "the warm GPU worker keeps its server",
        );
        // Released by hand, it goes as any suspended worker does.
        await h.slurm.run(
            "scontrol",
            "update",
            `nodename=${running.nodes}`,
            "state=power_down_force",
        );
        await h.waitForNoServers();
    });

    it("a two-node job one of whose nodes Nova has no room for: its other node is released, not kept booted, and the job waits in the queue", async () => {
        // The pool shares the default partition; its node has the feature the job asks for.
        const { h } = await withPoolWithNoRoom({
            name: "noroom",
            max: 1,
            partition: "batch",
            features: ["noroom"],
        });
        // One node of each pool: compute-dy-1 (it boots) and noroom-dy-1 (ERROR, no valid host).
        const job = await h.submit(
            "-N",
            "2",
            "--constraint=[burst*1&noroom*1]",
            "--wrap",
            "hostname",
        );
        const released = await waitFor(
            "the job's booting node to be released",
            async () => {
                const { events } = (await h.api("GET", "/events")) as {
                    events: { message: string; node?: string }[];
                };
                return events.find(
                    (e) =>
                        e.node === "compute-dy-1" &&
                        /^compute-dy-1: released: job /.test(e.message),
                );
            },
            { timeoutMs: 180_000, intervalMs: 1000 },
        );
        assert.match(
            released.message,
            new RegExp(`released: job ${job} cannot get all its nodes now \\(noroom-dy-1: `),
        );
        // Slurm powers it down with the reason and the service deletes its server: no server of
        // the job's is left running while the job cannot start.
        await waitFor(
            "compute-dy-1's server to be deleted",
            async () =>
                (await h.servers()).some((s) => s.name === "compute-dy-1") ? undefined : true,
            { timeoutMs: 120_000, intervalMs: 1000 },
        );
        const state = (await h.jobs()).get(job)!;
        assert.ok(
            ["PENDING", "CONFIGURING"].includes(state.state),
            `the job waits in the queue, not lost: ${JSON.stringify(state)}`,
        );
        assert.equal(
            (await status(h)).breaker.consecutiveFailures,
            0,
            "no room is not a boot failure",
        );
        await h.slurm.run("scancel", job);
        await h.waitForNoServers();
    });
});
