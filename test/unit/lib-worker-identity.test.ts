/**
 * What makes a Nova server a worker (lib/tags.ts `workerIdentity`), and the service's one delete
 * path (autoscaler/cloud.ts `WorkerCloud.delete`) that refuses anything it does not own: the head
 * node carries the cluster's tag, and a service that took it for an orphan deleted its own head
 * node five minutes after it started (issue 17, item 1).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { NotOwnedError, toServerView, WorkerCloud } from "../../autoscaler/cloud";
import type { ComputeClient, Server } from "../../lib/openstack";
import {
    HEAD_TAG,
    RETIRING_TAG,
    retiringWorkerTags,
    workerIdentity,
    workerMetadata,
    workerTags,
} from "../../lib/tags";
import { unitSettings } from "../helpers/serviceSettings";

const settings = unitSettings({ stateDir: "/nonexistent" });
const CLUSTER = settings.cluster.id;
const MINION = `compute-dy-1-${"a".repeat(26)}`;

function serverWith(tags: string[], metadata: Record<string, string>): Server {
    return {
        id: "srv-1",
        name: "some-server",
        status: "ACTIVE",
        tags,
        metadata,
        created: "2026-12-01T00:00:00Z",
    };
}

const worker = workerMetadata(MINION, "compute-dy-1");
const CASES: Array<[string, Server, ReturnType<typeof workerIdentity>]> = [
    [
        "a burst worker",
        serverWith(workerTags(CLUSTER, "burst"), worker),
        { pool: "burst", node: "compute-dy-1", minionId: MINION, retiring: false },
    ],
    [
        "a static worker the WorkerPool handed over",
        serverWith(retiringWorkerTags(CLUSTER), worker),
        { pool: "static", node: "compute-dy-1", minionId: MINION, retiring: true },
    ],
    [
        "the head node (its tags and metadata as components/headNode.ts sets them)",
        serverWith(["dc", `dc-cluster-${CLUSTER}`, HEAD_TAG], {
            "dc:role": "head",
            "dc:cluster": CLUSTER,
        }),
        undefined,
    ],
    [
        "a server carrying the head's tag, whatever else it carries",
        serverWith([...workerTags(CLUSTER, "burst"), HEAD_TAG], worker),
        undefined,
    ],
    [
        "a server a user tagged with the cluster's tag by hand",
        serverWith(["dc", `dc-cluster-${CLUSTER}`], {}),
        undefined,
    ],
    [
        "a pool tag but no node name",
        serverWith(workerTags(CLUSTER, "burst"), { "dc:minion": MINION }),
        undefined,
    ],
    [
        "a pool tag and a node name but no minion ID (a stray: still a worker, so an orphan)",
        serverWith(workerTags(CLUSTER, "burst"), { "dc:node": "compute-dy-1" }),
        { pool: "burst", node: "compute-dy-1", minionId: undefined, retiring: false },
    ],
    [
        "both pool tags",
        serverWith([...workerTags(CLUSTER, "burst"), "dc-pool-static"], worker),
        undefined,
    ],
    ["another cluster's worker", serverWith(workerTags("zzzz9999", "burst"), worker), undefined],
    ["no product tag", serverWith(workerTags(CLUSTER, "burst").slice(1), worker), undefined],
];

describe("workerIdentity", () => {
    for (const [name, server, expected] of CASES) {
        it(name, () => {
            assert.deepEqual(workerIdentity(server, CLUSTER), expected);
            assert.equal(toServerView(server, CLUSTER) === undefined, expected === undefined);
        });
    }
});

/** A WorkerCloud over a compute client that serves one server and records deletes. */
function cloudOver(server: Server | undefined) {
    const deleted: string[] = [];
    const nova = {
        getServer: async (id: string) => (server?.id === id ? server : undefined),
        deleteServer: async (id: string) => {
            deleted.push(id);
        },
    } as unknown as ComputeClient;
    const template = readFileSync(path.resolve(__dirname, "../../cloud-init/worker.yaml"), "utf8");
    return { cloud: new WorkerCloud(nova, settings, template), deleted };
}

describe("WorkerCloud.delete deletes only what the service owns", () => {
    const owned: Array<[string, string[]]> = [
        ["a burst worker", workerTags(CLUSTER, "burst")],
        ["a static worker handed over (retiring)", retiringWorkerTags(CLUSTER)],
    ];
    for (const [name, tags] of owned) {
        it(`deletes ${name}`, async () => {
            const { cloud, deleted } = cloudOver(serverWith(tags, worker));
            await cloud.delete("srv-1");
            assert.deepEqual(deleted, ["srv-1"]);
        });
    }

    const refused: Array<[string, string[], Record<string, string>]> = [
        ["the head node", ["dc", `dc-cluster-${CLUSTER}`, HEAD_TAG], { "dc:role": "head" }],
        ["a static worker Pulumi still owns", workerTags(CLUSTER, "static"), worker],
        ["a server tagged by hand", ["dc", `dc-cluster-${CLUSTER}`], {}],
        ["another cluster's worker", workerTags("zzzz9999", "burst"), worker],
    ];
    for (const [name, tags, metadata] of refused) {
        it(`refuses ${name}, naming the server and what it would take`, async () => {
            const { cloud, deleted } = cloudOver(serverWith(tags, metadata));
            await assert.rejects(cloud.delete("srv-1"), (err: Error) => {
                assert.ok(err instanceof NotOwnedError);
                assert.match(err.message, /refusing to delete server some-server \(srv-1\)/);
                assert.ok(err.message.includes(RETIRING_TAG));
                return true;
            });
            assert.deepEqual(deleted, []);
        });
    }

    it("counts a server already gone as deleted (no call)", async () => {
        const { cloud, deleted } = cloudOver(undefined);
        await cloud.delete("srv-1");
        assert.deepEqual(deleted, []);
    });
});
