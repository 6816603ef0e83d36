/**
 * Who owns which server, through the real service, the local Nova, the real WorkerPool provider
 * and the real Salt and Slurm of test/helpers/serviceHarness.ts (issue 17, items 1 to 4):
 * - the head node carries the cluster's tag (components/headNode.ts), as can any server a user
 *   tags by hand: the service must never take one for an orphan. Before the fix it deleted its
 *   own head node `orphan_grace` after it started. Here the grace is 2 s, a real orphan (a burst
 *   worker of a node the cluster does not have) proves the sweep ran, and the head-like servers
 *   must outlive it by several rounds;
 * - replacing the floor's servers (a new flavor) kills no job: the WorkerPool hands the old
 *   server over, the service drains it and deletes it once idle, and only then does the pool boot
 *   the new one under the same name (before: booted at once, the old one deleted under its job);
 * - lowering workers.min and raising it again while the handed-over worker runs a job takes the
 *   same server back (before: a second server under its name, the old one deleted as an orphan);
 * - a static worker whose minion first authenticates after workers.launchTimeout is admitted
 *   (before: rejected forever as past its launch deadline, as every static worker was after a
 *   head-node replacement).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REASONS } from "../../autoscaler/policy";
import {
    clusterTag,
    HEAD_TAG,
    PRODUCT_TAG,
    RETIRING_TAG,
    workerMetadata,
    workerTags,
} from "../../lib/tags";
import { harnessPerTest, type ServiceHarness } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

const startHarness = harnessPerTest();

/** Boots a bare server in the test project with these tags and metadata; returns its ID. */
async function bootTagged(
    harness: ServiceHarness,
    name: string,
    tags: string[],
    metadata: Record<string, string>,
): Promise<string> {
    const nova = harness.nova;
    const [flavorId, imageId, networkId] = await Promise.all([
        nova.flavorId("m1.tiny"),
        nova.imageId("tiny"),
        nova.networkId("dc-test-net"),
    ]);
    return nova.createServer({ name, flavorId, imageId, networkIds: [networkId], tags, metadata });
}

async function rounds(harness: ServiceHarness): Promise<number> {
    return ((await harness.api("GET", "/status")) as { rounds: number }).rounds;
}

describe("autoscaler ownership: the head node and servers tagged by hand", () => {
    it("are never orphans: a real orphan is deleted after the grace, they stay", async () => {
        const h = await startHarness({ burst: 1, tuning: { orphan_grace: 2 } });
        const id = h.clusterId;
        // As components/headNode.ts tags and labels the head node's server.
        const head = await bootTagged(h, "dc-head", [PRODUCT_TAG, clusterTag(id), HEAD_TAG], {
            "dc:role": "head",
            "dc:cluster": id,
        });
        // What a user may do: the cluster's tag on a server of their own.
        const byHand = await bootTagged(h, "my-analysis-vm", [PRODUCT_TAG, clusterTag(id)], {});
        // A worker of a node this cluster does not have: an orphan, deleted after the grace.
        const orphan = await bootTagged(
            h,
            "compute-dy-99",
            workerTags(id, "burst"),
            workerMetadata(`compute-dy-99-${"a".repeat(26)}`, "compute-dy-99"),
        );
        try {
            await waitFor(
                "the service to delete the real orphan",
                async () => ((await h.servers()).some((s) => s.id === orphan) ? undefined : true),
                { timeoutMs: 90_000, intervalMs: 500 },
            );
            // Several more rounds, each past the grace for the head-like servers too.
            const after = await rounds(h);
            await waitFor(
                "three more rounds",
                async () => ((await rounds(h)) >= after + 3 ? true : undefined),
                { timeoutMs: 60_000, intervalMs: 500 },
            );
            const left = new Map((await h.servers()).map((s) => [s.id, s]));
            assert.equal(left.get(head)?.status, "ACTIVE", "the head node's server still exists");
            assert.equal(left.get(byHand)?.status, "ACTIVE", "the server tagged by hand too");
            const deletes = h
                .log()
                .split("\n")
                .filter((line) => line.includes('"deleting server"'))
                .map((line) => (JSON.parse(line) as { serverId: string }).serverId);
            assert.ok(deletes.includes(orphan), "the log shows the orphan's delete");
            assert.deepEqual(
                deletes.filter((s) => s === head || s === byHand),
                [],
                "the service never asked to delete them",
            );
            const { workers } = (await h.api("GET", "/workers")) as {
                workers: Array<{ serverId?: string }>;
            };
            assert.ok(
                workers.every((w) => w.serverId !== head && w.serverId !== byHand),
                "the service does not report them as workers",
            );
        } finally {
            await Promise.all([head, byHand].map((s) => h.nova.deleteServer(s)));
            await h.nova.waitForDeleted([head, byHand], [clusterTag(id)], Date.now() + 60_000);
        }
    });
});

/** `state|reason` of a node in Slurm. */
async function nodeState(harness: ServiceHarness, node: string): Promise<string> {
    return (await harness.slurm.run("sinfo", "-h", "-N", "-n", node, "-o", "%T|%E")).trim();
}

async function waitForIdle(harness: ServiceHarness, node: string, timeoutMs = 180_000) {
    let last = "";
    await waitFor(
        `${node} to be idle (not drained) in Slurm`,
        async () => {
            last = await nodeState(harness, node);
            return /^idle\|/.test(last) ? true : undefined;
        },
        { timeoutMs, intervalMs: 1000 },
    ).catch((err: Error) => {
        throw new Error(`${err.message} (last: ${last}; service log: ${harness.logFile})`);
    });
}

/**
 * Watches Nova's listings of the cluster until stopped: any two servers alive under one node name
 * at once is recorded (one live server per node name).
 */
function watchNames(harness: ServiceHarness) {
    const overlaps: string[] = [];
    let running = true;
    const loop = (async () => {
        while (running) {
            const names = (await harness.servers()).map((s) => s.name);
            for (const name of new Set(names)) {
                if (names.filter((n) => n === name).length > 1) overlaps.push(name);
            }
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    })();
    return {
        overlaps,
        async stop() {
            running = false;
            await loop;
        },
    };
}

describe("autoscaler ownership: the floor's servers", () => {
    it("a rolling replacement (new flavor) drains the old server, lets its job finish, and only then boots the new one under the same name", async () => {
        const h = await startHarness({ floor: 1, burst: 1, launchTimeout: 150 });
        const node = "compute-st-1";
        await waitForIdle(h, node);
        const [old] = (await h.servers()).filter((s) => s.name === node);
        const job = await h.submit("-w", node, "--exclusive", "--wrap", "sleep 40");
        await h.waitForRunning(job, 60_000);

        const names = watchNames(h);
        // `pulumi config set --path workers.flavor m1.small && pulumi up`, as the pool sees it.
        const update = h.updateFloor({ flavor: "m1.small" });
        try {
            await waitFor(
                "the old server to be handed over and its node drained, the job still running",
                async () => {
                    const servers = (await h.servers()).filter((s) => s.name === node);
                    const state = await nodeState(h, node);
                    return servers.length === 1 &&
                        servers[0]!.id === old!.id &&
                        servers[0]!.tags.includes(RETIRING_TAG) &&
                        /^(draining|drng)/.test(state) &&
                        state.endsWith(REASONS.replaced)
                        ? true
                        : undefined;
                },
                { timeoutMs: 60_000, intervalMs: 500 },
            );
            assert.equal((await h.jobs()).get(job)?.state, "RUNNING");
            const done = await h.waitForJobs([job], 240_000);
            assert.equal(done.get(job)!.nodes, node, "the job stayed on its node");
            assert.equal(await h.restartsOf(job), 0, "the job was never requeued");
            const outs = await update;
            const [replacement] = outs.servers;
            assert.equal(outs.servers.length, 1);
            assert.equal(replacement!.name, node);
            assert.notEqual(replacement!.id, old!.id, "a new server");
            assert.ok(!replacement!.retiring);
        } finally {
            await update.catch(() => undefined);
            await names.stop();
        }
        assert.deepEqual(names.overlaps, [], "never two servers under one node name");
        const now = (await h.servers()).filter((s) => s.name === node);
        assert.deepEqual(
            now.map((s) => s.id),
            [(await h.updateFloor({})).servers[0]!.id],
            "the old server is gone",
        );
        // The new server serves the node: it joins, and a job runs there.
        await waitForIdle(h, node);
        const next = await h.submit("-w", node, "--wrap", "true");
        await h.waitForJobs([next], 120_000);
    });

    it("workers.min lowered then raised again under a running job takes the same server back: one server under the name, the job untouched, the node undrained", async () => {
        const h = await startHarness({ floor: 2, burst: 1, launchTimeout: 150 });
        const node = "compute-st-2";
        await waitForIdle(h, node);
        const [server] = (await h.servers()).filter((s) => s.name === node);
        const job = await h.submit("-w", node, "--exclusive", "--wrap", "sleep 60");
        await h.waitForRunning(job, 60_000);
        const names = watchNames(h);
        try {
            await h.reconfigure(3, 1);
            await waitFor(
                `${node} to be drained as retired`,
                async () => {
                    const state = await nodeState(h, node);
                    return /^(draining|drng)/.test(state) && state.endsWith(REASONS.retired)
                        ? true
                        : undefined;
                },
                { timeoutMs: 60_000, intervalMs: 500 },
            );
            await h.reconfigure(3, 2);
            await waitFor(
                `${node} to accept jobs again, its job still running`,
                async () => (/^allocated\|/.test(await nodeState(h, node)) ? true : undefined),
                { timeoutMs: 60_000, intervalMs: 500 },
            );
            const servers = (await h.servers()).filter((s) => s.name === node);
            assert.deepEqual(
                servers.map((s) => [s.id, s.tags.includes(RETIRING_TAG)]),
                [[server!.id, false]],
                "the same server, taken back",
            );
            const done = await h.waitForJobs([job], 240_000);
            assert.equal(done.get(job)!.nodes, node);
            assert.equal(await h.restartsOf(job), 0, "the job was never requeued");
        } finally {
            await names.stop();
        }
        assert.deepEqual(names.overlaps, [], "never two servers under one node name");
        await waitForIdle(h, node, 60_000);
        assert.deepEqual(
            (await h.servers()).filter((s) => s.name === node).map((s) => s.id),
            [server!.id],
            "the server stays once its job is done",
        );
    });

    it("a static worker whose first key comes after workers.launchTimeout is admitted (no launch deadline for the floor)", async () => {
        const launchTimeout = 20;
        const h = await startHarness({
            floor: 1,
            burst: 1,
            launchTimeout,
            behaviour: { hang: ["compute-st-1"] },
        });
        const [server] = (await h.servers()).filter((s) => s.name === "compute-st-1");
        const created = Date.parse(server!.created);
        await waitFor(
            "the static server to be older than the launch deadline",
            () => (Date.now() - created > (launchTimeout + 5) * 1000 ? true : undefined),
            { timeoutMs: 120_000, intervalMs: 500 },
        );
        await h.hosts.release("compute-st-1");
        await waitForIdle(h, "compute-st-1");
        const events = (await h.api("GET", "/events")) as {
            events: Array<{ message: string }>;
        };
        assert.ok(
            events.events.some((e) => /accepted the Salt key of compute-st-1/.test(e.message)),
            "the service accepted its key",
        );
        assert.ok(
            !events.events.some((e) => /rejected the Salt key/.test(e.message)),
            "and rejected none",
        );
    });
});
