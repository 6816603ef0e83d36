/**
 * Server listing against the real local Nova (test/env/openstack) walks every page: five servers
 * booted with a tag of their own are listed by a client whose page size is 2, so Nova answers
 * three pages (2, 2, 1) and links each full page to the next with `servers_links` (rel "next");
 * all five must come back, in exactly those three requests, each asking `limit=2` and the two
 * later ones carrying the previous page's last server as `marker`. A page cap below the needed
 * pages fails the listing instead of returning part of it.
 *
 * The servers carry the product tag `dc` as well, so the suite's no-leaks check
 * (zz-no-leaks.test.ts) would report any this file failed to delete; the `after` hook deletes
 * everything with the file's tag and waits until Nova no longer lists it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
    ComputeClient,
    type ComputeClientOptions,
    resolveCredentials,
    Session,
} from "../../lib/openstack";
import { PRODUCT_TAG } from "../../lib/tags";
import { demoClient, demoEnv, testClusterId, testPoolInputs } from "../helpers/osbox";

const COUNT = 5;
const PAGE_SIZE = 2;
/** This file's own tag: nothing else in the cloud carries it. */
const TAG = `dc-pagination-${testClusterId()}`;
const TAGS = [PRODUCT_TAG, TAG];
const BOOT_DEADLINE_MS = 180_000;

const nova = demoClient();

/** A client of the demo project with `options`, recording the path of every request it sends. */
function recordingClient(options: ComputeClientOptions): {
    client: ComputeClient;
    paths: string[];
} {
    const session = new Session(resolveCredentials({}, demoEnv(), []));
    const paths: string[] = [];
    const send = session.request.bind(session);
    session.request = (type, request) => {
        paths.push(`${type} ${request.method} ${request.path}`);
        return send(type, request);
    };
    return { client: new ComputeClient(session, 500, options), paths };
}

/** Deletes every server with this file's tag and waits until Nova lists none. */
async function sweep(): Promise<number> {
    const left = await nova.listServersByTags([TAG]);
    await Promise.all(left.map((s) => nova.deleteServer(s.id)));
    await nova.waitForDeleted(
        left.map((s) => s.id),
        [TAG],
        Date.now() + BOOT_DEADLINE_MS,
    );
    return left.length;
}

describe("listing servers against the real Nova in pages of 2", () => {
    const booted: string[] = [];

    before(async () => {
        const { flavor, image, network } = testPoolInputs(testClusterId());
        const [flavorId, imageId, networkId] = await Promise.all([
            nova.flavorId(flavor),
            nova.imageId(image),
            nova.networkId(network),
        ]);
        const started = Date.now();
        for (let i = 1; i <= COUNT; i++) {
            booted.push(
                await nova.createServer({
                    name: `${TAG}-${i}`,
                    flavorId,
                    imageId,
                    networkIds: [networkId],
                    tags: TAGS,
                }),
            );
        }
        const states = await nova.waitForBoot(booted, TAGS, Date.now() + BOOT_DEADLINE_MS);
        console.log(`# ${COUNT} servers ACTIVE after ${Date.now() - started} ms`);
        assert.deepEqual(
            booted.map((id) => states.get(id)?.status),
            booted.map(() => "ACTIVE"),
        );
    });

    after(async () => {
        const started = Date.now();
        const deleted = await sweep();
        console.log(`# deleted ${deleted} server(s) in ${Date.now() - started} ms`);
        assert.deepEqual(await nova.listServersByTags([TAG]), [], "servers left behind");
    });

    it("returns all 5 servers from three requests that follow Nova's next links", async () => {
        const { client, paths } = recordingClient({ pageSize: PAGE_SIZE });
        const listed = await client.listServersByTags([TAG]);
        assert.deepEqual(listed.map((s) => s.id).sort(), [...booted].sort());
        assert.ok(listed.every((s) => s.status === "ACTIVE" && s.tags.includes(TAG)));
        const lists = paths
            .filter((p) => p.startsWith("compute GET /servers/detail?"))
            .map((p) => new URLSearchParams(p.slice(p.indexOf("?") + 1)));
        console.log(`# pages of ${PAGE_SIZE} for ${listed.length} servers: ${lists.length}`);
        assert.deepEqual(
            lists.map((q) => [q.get("tags"), q.get("limit"), q.get("marker")]),
            [
                [TAG, "2", null],
                [TAG, "2", listed[1]!.id],
                [TAG, "2", listed[3]!.id],
            ],
        );
    });

    it("fails, rather than returning 4 of 5, when the page cap (2) is below the pages needed", async () => {
        const { client } = recordingClient({ pageSize: PAGE_SIZE, maxPages: 2 });
        await assert.rejects(client.listServersByTags([TAG]), {
            message:
                `Nova's list of servers tagged ${TAG} did not end within 2 pages of 2 ` +
                "(the client's page cap); refusing to act on a partial list.",
        });
    });

    it("the default page size (200) lists the same 5 in one request", async () => {
        const { client, paths } = recordingClient({});
        const listed = await client.listServersByTags([TAG]);
        assert.deepEqual(listed.map((s) => s.id).sort(), [...booted].sort());
        assert.deepEqual(
            paths.filter((p) => p.startsWith("compute GET /servers/detail?")),
            [`compute GET /servers/detail?tags=${TAG}&limit=200`],
        );
    });
});
