/**
 * The Glance upload of the built image (lib/openstack/images.ts) against a recording session:
 * the kernel and initramfs first, the root image naming them; an image of the same name and
 * build hash reused; an upload that fails leaves nothing behind. The real Glance upload is in
 * test/integration/vm-cluster.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OpenStackApiError, type Session } from "../../lib/openstack";
import { uploadBuiltImage, type BuiltImage } from "../../lib/openstack/images";

interface Call {
    method: string;
    path: string;
    body?: Record<string, unknown>;
    upload?: string;
}

/** A session whose Glance holds `images` and fails the upload of `failUpload` (a file). */
function glance(existing: Array<Record<string, unknown>> = [], failUpload?: string) {
    const calls: Call[] = [];
    const store = new Map<string, Record<string, unknown>>();
    for (const image of existing) store.set(image["id"] as string, image);
    let next = 1;
    const session = {
        async request(
            _type: string,
            request: { method: string; path: string; body?: unknown; upload?: { path: string } },
        ) {
            calls.push({
                method: request.method,
                path: request.path,
                body: request.body as Record<string, unknown> | undefined,
                upload: request.upload?.path,
            });
            const list = /^\/v2\/images\?name=([^&]+)&status=active$/.exec(request.path);
            if (list) {
                const name = decodeURIComponent(list[1]!);
                const images = [...store.values()].filter(
                    (i) => i["name"] === name && i["status"] === "active",
                );
                return { status: 200, headers: new Headers(), json: { images } };
            }
            if (request.method === "POST") {
                const id = `img-${next++}`;
                store.set(id, { ...(request.body as object), id, status: "queued" });
                return { status: 201, headers: new Headers(), json: store.get(id) };
            }
            const one = /^\/v2\/images\/([^/]+)(\/file)?$/.exec(request.path)!;
            if (request.method === "PUT") {
                if (request.upload?.path === failUpload) {
                    throw new OpenStackApiError(
                        413,
                        "PUT",
                        request.path,
                        "Request Entity Too Large",
                    );
                }
                store.get(one[1]!)!["status"] = "active";
                return { status: 204, headers: new Headers(), json: undefined };
            }
            if (request.method === "DELETE") {
                store.delete(one[1]!);
                return { status: 204, headers: new Headers(), json: undefined };
            }
            return { status: 200, headers: new Headers(), json: store.get(one[1]!) };
        },
    };
    return { session: session as unknown as Session, calls, store };
}

const BUILT: BuiltImage = {
    name: "dc-debian12-abc",
    hash: "abc",
    kernelPath: "/img/vmlinuz",
    initrdPath: "/img/initrd.img",
    rootQcow2Path: "/img/root.qcow2",
    commandLine: "root=LABEL=dc-root rw",
    properties: { os_distro: "debian" },
};

describe("uploadBuiltImage", () => {
    it("uploads the kernel and initramfs, then the root image that names them", async () => {
        const { session, calls } = glance();
        const { image, uploaded } = await uploadBuiltImage(session, BUILT);
        assert.equal(uploaded, true);
        const creates = calls.filter((c) => c.method === "POST").map((c) => c.body!);
        assert.deepEqual(
            creates.map((b) => [b["name"], b["container_format"], b["disk_format"]]),
            [
                ["dc-debian12-abc-kernel", "aki", "aki"],
                ["dc-debian12-abc-initrd", "ari", "ari"],
                ["dc-debian12-abc", "bare", "qcow2"],
            ],
        );
        assert.deepEqual(
            calls.filter((c) => c.method === "PUT").map((c) => c.upload),
            ["/img/vmlinuz", "/img/initrd.img", "/img/root.qcow2"],
        );
        assert.equal(image["kernel_id"], "img-1");
        assert.equal(image["ramdisk_id"], "img-2");
        assert.equal(image["os_command_line"], "root=LABEL=dc-root rw");
        assert.equal(image["dc_image_hash"], "abc");
        assert.equal(image["os_distro"], "debian");
        assert.equal(image["visibility"], "private");
    });

    it("reuses an active image of the same name and build, and only that", async () => {
        const same = { id: "old", name: "dc-debian12-abc", status: "active", dc_image_hash: "abc" };
        const reused = await uploadBuiltImage(glance([same]).session, BUILT);
        assert.deepEqual(reused, { image: same, uploaded: false });
        const other = { ...same, dc_image_hash: "older-build" };
        const { session, calls } = glance([other]);
        assert.equal((await uploadBuiltImage(session, BUILT)).uploaded, true);
        assert.equal(calls.filter((c) => c.method === "POST").length, 3);
    });

    it("deletes what it created when an upload fails, and says why", async () => {
        const { session, store } = glance([], "/img/root.qcow2");
        await assert.rejects(uploadBuiltImage(session, BUILT), /Request Entity Too Large/);
        assert.deepEqual([...store.keys()], []);
    });
});
