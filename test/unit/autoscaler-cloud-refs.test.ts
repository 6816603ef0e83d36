/**
 * The image, flavor and network IDs a burst launch needs (autoscaler/cloud.ts) are looked up once
 * and reused, but not forever: an image rotated under the same name (or a flavor replaced) must
 * not make every launch fail until the service restarts. The real WorkerCloud runs against a
 * stand-in compute client whose look-ups and create call the test scripts, with a test clock:
 * a create answered 400 with one of Nova's texts for an unusable image or flavor looks the IDs up
 * again (and boots once more only when they changed), and the IDs expire after a TTL.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { BOOT_REFS_TTL_MS, namesStaleBootRef, WorkerCloud } from "../../autoscaler/cloud";
import { unitSettings } from "../helpers/serviceSettings";
import { type BootRequest, type ComputeClient, OpenStackApiError } from "../../lib/openstack";

const NODE = "compute-dy-1";
const MINION = `${NODE}-${"a".repeat(26)}`;
const T0 = 1_800_000_000_000;

const settings = unitSettings({ stateDir: "/nonexistent" });
const template = readFileSync(path.resolve(__dirname, "../../cloud-init/worker.yaml"), "utf8");

/** Nova's 400 for a create call, as the client raises it. */
const badRequest = (message: string): OpenStackApiError =>
    new OpenStackApiError(400, message, "POST", "http://nova.example:8774/v2.1/servers");

/** A WorkerCloud over a scripted compute client and a settable clock. */
function harness() {
    const calls: string[] = [];
    /** What the look-ups answer now (the test rotates them). */
    const cloud = { image: "img-1", flavor: "flv-1", imageLookupFails: false };
    /** Errors the next create calls throw, in order; then they succeed. */
    const createErrors: Error[] = [];
    const clock = { now: T0 };
    const nova = {
        flavorId: async (name: string) => {
            calls.push(`flavor ${name}`);
            return cloud.flavor;
        },
        imageId: async (name: string) => {
            calls.push(`image ${name}`);
            if (cloud.imageLookupFails) throw new Error("Glance unavailable");
            return cloud.image;
        },
        networkId: async (name: string) => {
            calls.push(`network ${name}`);
            return "net-id";
        },
        createServer: async (request: BootRequest) => {
            calls.push(`create ${request.imageId} ${request.flavorId} ${request.networkIds}`);
            const error = createErrors.shift();
            if (error) throw error;
            return `srv-${calls.length}`;
        },
    } as unknown as ComputeClient;
    const workers = new WorkerCloud(nova, settings, template, () => clock.now);
    const launch = () => workers.launch(NODE, MINION);
    const lookups = ["flavor m1.small", "image debian-12", "network net"];
    return { calls, cloud, createErrors, clock, launch, lookups };
}

describe("WorkerCloud boot IDs", () => {
    it("are looked up once for many launches within the TTL", async () => {
        const h = harness();
        await h.launch();
        h.clock.now = T0 + BOOT_REFS_TTL_MS - 1;
        await h.launch();
        assert.deepEqual(h.calls, [
            ...h.lookups,
            "create img-1 flv-1 net-id",
            "create img-1 flv-1 net-id",
        ]);
    });

    it("expire after BOOT_REFS_TTL_MS (10 minutes): a rotated image is used without a failure", async () => {
        assert.equal(BOOT_REFS_TTL_MS, 600_000);
        const h = harness();
        await h.launch();
        h.cloud.image = "img-2";
        h.clock.now = T0 + BOOT_REFS_TTL_MS;
        await h.launch();
        assert.deepEqual(h.calls, [
            ...h.lookups,
            "create img-1 flv-1 net-id",
            ...h.lookups,
            "create img-2 flv-1 net-id",
        ]);
    });

    it("stay in use when the look-up at expiry fails (a Glance outage stops no launch)", async () => {
        const h = harness();
        await h.launch();
        h.cloud.imageLookupFails = true;
        h.clock.now = T0 + BOOT_REFS_TTL_MS + 1;
        assert.match(await h.launch(), /^srv-/);
        assert.equal(h.calls.at(-1), "create img-1 flv-1 net-id");
    });

    const stale: Array<[string, string, "image" | "flavor"]> = [
        ["ImageNotFound at create", "Can not find requested image", "image"],
        ["ImageNotActive (deactivated)", "Image img-1 is not active.", "image"],
        ["ImageNotAuthorized (unshared)", "Not authorized for image img-1.", "image"],
        ["FlavorNotFound (deleted or disabled)", "Flavor 7 could not be found.", "flavor"],
    ];
    for (const [why, message, rotated] of stale) {
        it(`a create answered 400 "${message}" (${why}) looks the IDs up again and boots once more`, async () => {
            const h = harness();
            await h.launch();
            if (rotated === "image") h.cloud.image = "img-2";
            else h.cloud.flavor = "flv-2";
            h.createErrors.push(badRequest(message));
            assert.match(await h.launch(), /^srv-/);
            const fresh = rotated === "image" ? "img-2 flv-1" : "img-1 flv-2";
            assert.deepEqual(h.calls.slice(4), [
                "create img-1 flv-1 net-id",
                ...h.lookups,
                `create ${fresh} net-id`,
            ]);
            await h.launch();
            assert.equal(h.calls.at(-1), `create ${fresh} net-id`, "the fresh IDs are cached");
            assert.equal(h.calls.length, 4 + 1 + 3 + 2);
        });
    }

    it("a stale-ID 400 whose look-up gives the same IDs is the launch's error, with one create", async () => {
        const h = harness();
        const error = badRequest("Can not find requested image");
        h.createErrors.push(error);
        await assert.rejects(h.launch(), (err) => err === error);
        assert.deepEqual(h.calls, [...h.lookups, "create img-1 flv-1 net-id", ...h.lookups]);
    });

    it("a stale-ID 400 whose look-up fails is the launch's error, and the next launch looks up", async () => {
        const h = harness();
        await h.launch();
        h.cloud.imageLookupFails = true;
        const error = badRequest("Image img-1 is not active.");
        h.createErrors.push(error);
        await assert.rejects(h.launch(), (err) => err === error);
        h.cloud.imageLookupFails = false;
        h.cloud.image = "img-3";
        await h.launch();
        assert.equal(h.calls.at(-1), "create img-3 flv-1 net-id");
    });

    it("any other 400 leaves the IDs cached", async () => {
        const h = harness();
        await h.launch();
        const error = badRequest("Invalid key_name provided.");
        h.createErrors.push(error);
        await assert.rejects(h.launch(), (err) => err === error);
        await h.launch();
        assert.deepEqual(h.calls, [
            ...h.lookups,
            "create img-1 flv-1 net-id",
            "create img-1 flv-1 net-id",
            "create img-1 flv-1 net-id",
        ]);
    });
});

describe("namesStaleBootRef", () => {
    const cases: Array<[Error, boolean]> = [
        [badRequest("Can not find requested image"), true],
        [badRequest("Image 6f1c2a9e-0000-4000-8000-000000000000 is not active."), true],
        [badRequest("Not authorized for image 6f1c2a9e-0000-4000-8000-000000000000."), true],
        [badRequest("Flavor 42 could not be found."), true],
        [badRequest("Invalid key_name provided."), false],
        [badRequest("Security group dc-sg not found."), false],
        // The texts only mean a stale ID in a 400 of the create call.
        [new OpenStackApiError(404, "Flavor 42 could not be found.", "GET", "u"), false],
        [new Error("Can not find requested image"), false],
    ];
    for (const [err, expected] of cases) {
        it(`${expected ? "matches" : "ignores"} ${err instanceof OpenStackApiError ? err.status : "plain"} "${err instanceof OpenStackApiError ? err.apiMessage : err.message}"`, () => {
            assert.equal(namesStaleBootRef(err), expected);
        });
    }
});
