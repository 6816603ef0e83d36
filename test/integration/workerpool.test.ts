/**
 * The WorkerPool provider's methods against the real local OpenStack (Keystone + Nova with the
 * fake virt driver): create, grow, shrink, rolling replace, refresh after an out-of-band delete,
 * reconcile, delete; a quota that forces a partial failure; a boot that goes to ERROR; a deadline
 * that expires. Every test runs on its own cluster tag and proves nothing is left behind.
 */
import assert from "node:assert/strict";
import { RETIRING_TAG, retiringWorkerTags, workerTags } from "../../lib/tags";
import { after, before, describe, it } from "node:test";
import {
    workerPoolProvider,
    type WorkerPoolInputs,
    type WorkerPoolOutputs,
} from "../../components/workerPool";
import {
    DEFAULT_INSTANCE_QUOTA,
    demoClient,
    demoEnv,
    impossibleFlavor,
    instancesInUse,
    setInstanceQuota,
    testClusterId,
    testPoolInputs,
} from "../helpers/osbox";

const provider = workerPoolProvider as Required<typeof workerPoolProvider>;
const nova = demoClient();

function inputs(
    clusterId: string,
    overrides: Partial<WorkerPoolInputs> = {},
): WorkerPoolInputs & { __provider: string } {
    return { ...testPoolInputs(clusterId, overrides), __provider: "serialized-provider-text" };
}

async function serversOf(clusterId: string) {
    return nova.listServersByTags([`dc-cluster-${clusterId}`]);
}

/** Deletes whatever a test left with its tag; returns how many there were. */
async function sweep(clusterId: string): Promise<number> {
    const left = await serversOf(clusterId);
    await Promise.all(left.map((s) => nova.deleteServer(s.id)));
    await nova.waitForDeleted(
        left.map((s) => s.id),
        [`dc-cluster-${clusterId}`],
        Date.now() + 120_000,
    );
    return left.length;
}

const liveIds = (outs: WorkerPoolOutputs): string[] =>
    outs.servers.filter((s) => !s.retiring).map((s) => s.id);
const retiringIds = (outs: WorkerPoolOutputs): string[] =>
    outs.servers
        .filter((s) => s.retiring)
        .map((s) => s.id)
        .sort();

/**
 * The head-node service's part in a replacement, played by the test (the service itself does it
 * in test/integration/autoscaler-ownership.test.ts): every server the pool hands over (tag
 * dc-retiring) is deleted, and every listing is checked for two servers under one name.
 */
function actAsService(clusterId: string) {
    const deleted: string[] = [];
    const overlaps: string[] = [];
    let running = true;
    const loop = (async () => {
        while (running) {
            const servers = await serversOf(clusterId);
            const names = servers.map((s) => s.name);
            for (const name of new Set(names)) {
                if (names.filter((n) => n === name).length > 1) overlaps.push(name);
            }
            for (const server of servers) {
                if (server.tags.includes(RETIRING_TAG) && !deleted.includes(server.id)) {
                    deleted.push(server.id);
                    await nova.deleteServer(server.id);
                }
            }
            await new Promise((resolve) => setTimeout(resolve, 300));
        }
    })();
    return {
        deleted,
        overlaps,
        async stop() {
            running = false;
            await loop;
        },
    };
}

interface InitError extends Error {
    id: string;
    properties: WorkerPoolOutputs & { __provider: string };
    reasons: string[];
}

before(async () => {
    Object.assign(process.env, demoEnv());
    await provider.configure({
        config: {
            get: () => undefined,
            require: () => {
                throw new Error("unset");
            },
        },
    } as never);
});

describe("WorkerPool provider: lifecycle", () => {
    const clusterId = testClusterId();
    let state: WorkerPoolOutputs;
    const id = `pool-${clusterId}-compute-st`;
    after(async () => assert.equal(await sweep(clusterId), 0, "servers left behind"));

    it("create boots count servers to ACTIVE with tags, metadata and unique minion IDs", async () => {
        const created = await provider.create(inputs(clusterId));
        state = created.outs as WorkerPoolOutputs;
        assert.equal(created.id, id);
        assert.deepEqual(
            state.servers.map((s) => [s.name, s.index, s.status]),
            [
                ["compute-st-1", 1, "ACTIVE"],
                ["compute-st-2", 2, "ACTIVE"],
                ["compute-st-3", 3, "ACTIVE"],
            ],
        );
        assert.equal(new Set(state.servers.map((s) => s.minionId)).size, 3);
        for (const worker of state.servers)
            assert.match(worker.minionId, new RegExp(`^${worker.name}-[a-z2-7]{26}$`));
        assert.ok(state.servers.every((s) => s.address.startsWith("192.0.2.")));
        const live = await serversOf(clusterId);
        assert.equal(live.length, 3);
        for (const server of live) {
            assert.deepEqual(server.tags.sort(), [
                "dc",
                `dc-cluster-${clusterId}`,
                "dc-pool-static",
            ]);
            assert.equal(server.metadata["dc:node"], server.name);
            assert.equal(
                server.metadata["dc:minion"],
                state.servers.find((s) => s.id === server.id)?.minionId,
            );
        }
        assert.equal(
            (state as unknown as Record<string, unknown>)["__provider"],
            undefined,
            "outs never echo __provider",
        );
    });

    it("diff: a count change is an update, a cluster ID change a replacement, nothing else a no-op", async () => {
        assert.deepEqual(await provider.diff(id, state, inputs(clusterId)), {
            changes: false,
            replaces: [],
            deleteBeforeReplace: true,
        });
        assert.deepEqual(await provider.diff(id, state, inputs(clusterId, { count: 5 })), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: true,
        });
        assert.deepEqual(
            await provider.diff(id, state, inputs(clusterId, { flavor: "m1.small" })),
            { changes: true, replaces: [], deleteBeforeReplace: true },
        );
        assert.deepEqual(
            (await provider.diff(id, state, inputs(clusterId, { clusterId: "other123" }))).replaces,
            ["clusterId"],
        );
    });

    it("grow keeps the existing servers and fills the next indexes", async () => {
        const before_ = state.servers.map((s) => s.id);
        state = (await provider.update(id, state, inputs(clusterId, { count: 5 })))
            .outs as WorkerPoolOutputs;
        assert.deepEqual(
            state.servers.map((s) => s.index),
            [1, 2, 3, 4, 5],
        );
        assert.deepEqual(
            state.servers.slice(0, 3).map((s) => s.id),
            before_,
        );
        assert.equal((await serversOf(clusterId)).length, 5);
    });

    it("shrink hands the highest indexes to the head-node service, deleting none", async () => {
        const keep = state.servers.slice(0, 2).map((s) => s.id);
        const handed = state.servers.slice(2).map((s) => s.id);
        state = (await provider.update(id, state, inputs(clusterId, { count: 2 })))
            .outs as WorkerPoolOutputs;
        // Every server still exists; the three surplus ones now carry dc-retiring (the service
        // drains them and deletes each once idle), the kept ones the floor's tags only.
        const live = new Map((await serversOf(clusterId)).map((s) => [s.id, s]));
        assert.deepEqual([...live.keys()].sort(), [...keep, ...handed].sort());
        for (const sid of keep) {
            assert.deepEqual(live.get(sid)!.tags.sort(), workerTags(clusterId, "static").sort());
        }
        for (const sid of handed) {
            assert.deepEqual(live.get(sid)!.tags.sort(), retiringWorkerTags(clusterId).sort());
        }
        assert.deepEqual(liveIds(state), keep);
        assert.deepEqual(retiringIds(state), [...handed].sort());
        // A refresh sees the same: the floor, and the servers still draining.
        const read = (await provider.read!(id, state)).props as WorkerPoolOutputs;
        assert.deepEqual(liveIds(read), keep);
        assert.deepEqual(retiringIds(read), [...handed].sort());
        // Nothing left for the pool to do: the retiring servers are the service's, and
        // `pulumi preview --expect-no-changes` passes.
        assert.equal(
            (await provider.diff(id, read, inputs(clusterId, { count: 2 }))).changes,
            false,
        );
    });

    it("raising the count again takes a retiring server back (same server, no second one under its name)", async () => {
        const handed = state.servers.filter((s) => s.retiring);
        const st3 = handed.find((s) => s.name === "compute-st-3")!;
        state = (await provider.update(id, state, inputs(clusterId, { count: 3 })))
            .outs as WorkerPoolOutputs;
        assert.deepEqual(
            state.servers.filter((s) => !s.retiring).map((s) => [s.name, s.id]),
            [
                ["compute-st-1", state.servers[0]!.id],
                ["compute-st-2", state.servers[1]!.id],
                ["compute-st-3", st3.id],
            ],
        );
        const live = new Map((await serversOf(clusterId)).map((s) => [s.id, s]));
        assert.deepEqual(live.get(st3.id)!.tags.sort(), workerTags(clusterId, "static").sort());
        assert.equal(
            (await serversOf(clusterId)).filter((s) => s.name === "compute-st-3").length,
            1,
        );
        // What the service does with the other handed-over servers once idle; then back to 2.
        const others = handed.filter((s) => s.id !== st3.id).map((s) => s.id);
        await Promise.all(others.map((sid) => nova.deleteServer(sid)));
        await nova.waitForDeleted(others, [`dc-cluster-${clusterId}`], Date.now() + 120_000);
        state = (await provider.update(id, state, inputs(clusterId, { count: 2 })))
            .outs as WorkerPoolOutputs;
        await nova.deleteServer(st3.id);
        await nova.waitForDeleted([st3.id], [`dc-cluster-${clusterId}`], Date.now() + 120_000);
        state = (await provider.read!(id, state)).props as WorkerPoolOutputs;
        assert.deepEqual(retiringIds(state), []);
    });

    it("a flavor change hands each batch over and boots each replacement, under the same name, only once its predecessor is gone", async () => {
        const old = new Set(state.servers.map((s) => s.id));
        // The head-node service's part (autoscaler/policy.ts retire): delete what is handed over.
        const service = actAsService(clusterId);
        try {
            state = (
                await provider.update(
                    id,
                    state,
                    inputs(clusterId, { count: 2, flavor: "m1.small" }),
                )
            ).outs as WorkerPoolOutputs;
        } finally {
            await service.stop();
        }
        assert.deepEqual(
            state.servers.map((s) => s.name),
            ["compute-st-1", "compute-st-2"],
        );
        assert.ok(
            state.servers.every((s) => !old.has(s.id) && !s.retiring),
            "every server is new",
        );
        assert.deepEqual(service.deleted.sort(), [...old].sort(), "each old one was handed over");
        assert.deepEqual(service.overlaps, [], "never two servers under one name");
        const live = await serversOf(clusterId);
        assert.deepEqual(
            live.map((s) => s.id).sort(),
            state.servers.map((s) => s.id).sort(),
            "old servers are gone",
        );
    });

    it("a replacement whose predecessor still drains at workers.drainTimeout is an init error naming the node; the next update carries on", async () => {
        const before_ = state.servers.map((s) => s.id);
        let failure: InitError | undefined;
        try {
            await provider.update(
                id,
                state,
                inputs(clusterId, { count: 2, flavor: "m1.tiny", drainTimeoutSeconds: 2 }),
            );
        } catch (err) {
            failure = err as InitError;
        }
        assert.ok(failure, "the update failed");
        assert.equal(failure.reasons.length, 1, failure.message);
        assert.match(
            failure.reasons[0]!,
            /^compute-st-1: the server it replaces still runs jobs after 2 s \(workers.drainTimeout\)/,
        );
        assert.match(failure.reasons[0]!, /Run `pulumi up` again/);
        const carried = failure.properties;
        assert.deepEqual(retiringIds(carried), [before_[0]!], "the first batch is handed over");
        assert.deepEqual(liveIds(carried), [before_[1]!], "the second is untouched");
        assert.equal(
            (await provider.diff(id, carried, inputs(clusterId, { count: 2, flavor: "m1.tiny" })))
                .changes,
            true,
        );
        const service = actAsService(clusterId);
        try {
            state = (
                await provider.update(
                    id,
                    carried,
                    inputs(clusterId, { count: 2, flavor: "m1.tiny" }),
                )
            ).outs as WorkerPoolOutputs;
        } finally {
            await service.stop();
        }
        assert.deepEqual(service.overlaps, []);
        assert.ok(state.servers.every((s) => !before_.includes(s.id) && !s.retiring));
        assert.deepEqual(
            state.servers.map((s) => s.name),
            ["compute-st-1", "compute-st-2"],
        );
    });

    it("read sees a server deleted out of band, and the next update reconciles", async () => {
        const victim = state.servers[1]!;
        await nova.deleteServer(victim.id);
        await nova.waitForDeleted([victim.id], [`dc-cluster-${clusterId}`], Date.now() + 60_000);
        const read = await provider.read(id, state);
        assert.equal(read.id, id);
        const refreshed = read.props as WorkerPoolOutputs;
        assert.deepEqual(
            refreshed.servers.map((s) => s.name),
            ["compute-st-1"],
        );
        assert.equal(
            (await provider.diff(id, refreshed, inputs(clusterId, { count: 2 }))).changes,
            true,
        );
        state = (await provider.update(id, refreshed, inputs(clusterId, { count: 2 })))
            .outs as WorkerPoolOutputs;
        assert.deepEqual(
            state.servers.map((s) => s.name),
            ["compute-st-1", "compute-st-2"],
        );
    });

    it("delete removes every server it owns, including strays with its tag", async () => {
        await provider.delete(id, { ...state, servers: state.servers.slice(0, 1) });
        assert.deepEqual(await serversOf(clusterId), []);
    });
});

describe("WorkerPool provider: failures", () => {
    const clusterId = testClusterId();
    after(async () => {
        await setInstanceQuota(DEFAULT_INSTANCE_QUOTA);
        assert.equal(await sweep(clusterId), 0, "servers left behind");
    });

    it("a quota that allows 2 of 4 gives an init error carrying the 2, with Nova's message", async () => {
        await setInstanceQuota((await instancesInUse()) + 2);
        let error: InitError | undefined;
        try {
            await provider.create(inputs(clusterId, { count: 4, maxConcurrency: 1 }));
        } catch (err) {
            error = err as InitError;
        } finally {
            await setInstanceQuota(DEFAULT_INSTANCE_QUOTA);
        }
        assert.ok(error, "create must fail");
        assert.equal(error.id, `pool-${clusterId}-compute-st`);
        assert.equal(error.properties.servers.length, 2);
        assert.equal(
            error.properties.__provider,
            "serialized-provider-text",
            "state keeps the provider code",
        );
        assert.equal(error.reasons.length, 2);
        // Nova refuses at the API (403), or, when the create raced its own count of the first
        // ones, accepts and fails the server at its quota recheck (ERROR, same message).
        for (const reason of error.reasons)
            assert.match(
                reason,
                /(create failed: 403|went to ERROR:) Quota exceeded for instances/,
            );
        assert.equal(
            (await serversOf(clusterId)).length,
            2,
            "the booted servers are kept, nothing else exists",
        );

        // The next `pulumi up` continues with update(olds = partial state): it reconciles.
        const { outs } = await provider.update(
            error.id,
            error.properties,
            inputs(clusterId, { count: 4 }),
        );
        assert.deepEqual(
            (outs as WorkerPoolOutputs).servers.map((s) => s.index),
            [1, 2, 3, 4],
        );
        await provider.delete(error.id, outs as WorkerPoolOutputs);
        assert.deepEqual(await serversOf(clusterId), []);
    });

    it("a boot that goes to ERROR is reported with Nova's fault and nothing is left", async () => {
        const flavor = await impossibleFlavor();
        await assert.rejects(
            provider.create(inputs(clusterId, { count: 2, flavor })),
            (err: Error) => {
                assert.equal(
                    (err as Partial<InitError>).id,
                    undefined,
                    "nothing booted: a plain error, not an init error",
                );
                assert.match(
                    err.message,
                    /No worker booted: compute-st-1: went to ERROR: No valid host was found/,
                );
                return true;
            },
        );
        assert.deepEqual(await serversOf(clusterId), []);
    });

    it("a deadline that expires deletes the late servers and says so", async () => {
        await assert.rejects(
            provider.create(inputs(clusterId, { count: 2, bootTimeoutSeconds: 1 })),
            (err: Error) => {
                assert.match(err.message, /still BUILD after 1s \(boot deadline\)/);
                return true;
            },
        );
        assert.deepEqual(await serversOf(clusterId), []);
    });

    it("check rejects bad inputs property by property", async () => {
        const result = await provider.check(
            {},
            { ...inputs(clusterId), count: -1, masterFinger: "nope", userDataTemplate: "x" },
        );
        assert.deepEqual(
            result.failures?.map((f) => f.property),
            ["count", "masterFinger", "userDataTemplate"],
        );
    });

    it("an unknown flavor fails before anything is created, with the choices", async () => {
        await assert.rejects(
            provider.create(inputs(clusterId, { flavor: "m9.huge" })),
            /Flavor "m9.huge" does not exist; available: .*m1.tiny/,
        );
        assert.deepEqual(await serversOf(clusterId), []);
    });
});
