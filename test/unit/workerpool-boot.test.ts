/**
 * The WorkerPool's boots when Nova's answer to a create call is lost (components/workerPool.ts
 * `bootWorkers`), against a scripted compute client: a loaded Nova API can create the server and
 * answer after the client's timeout (seen in `npm run bench`: 50 creates at once on the local
 * Nova, one "failed" with ETIMEDOUT and its server was ACTIVE a minute later). Such a create
 * counts as booted when the listing shows the server with the minion ID it was sent, so the pool
 * neither reports a failure nor leaves the server untracked; a 4xx answer (nothing created) and
 * a lost answer with no server behind it stay failures.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { bootWorkers } from "../../components/workerPool";
import {
    type BootRequest,
    type ComputeClient,
    OpenStackApiError,
    type Server,
} from "../../lib/openstack";
import { testPoolInputs } from "../helpers/osbox";

const CLUSTER = "unit1234";

function scriptedNova(outcomes: Record<string, "ok" | "lost-created" | "lost" | "400">) {
    const servers: Server[] = [];
    const creates: string[] = [];
    const nova = {
        createServer: async (request: BootRequest) => {
            creates.push(request.name);
            const outcome = outcomes[request.name] ?? "ok";
            if (outcome === "400") {
                throw new OpenStackApiError(
                    400,
                    "Invalid key_name provided.",
                    "POST",
                    "http://nova/servers",
                );
            }
            if (outcome !== "lost") {
                servers.push({
                    id: `srv-${request.name}`,
                    name: request.name,
                    status: "ACTIVE",
                    tags: request.tags ?? [],
                    metadata: request.metadata ?? {},
                    address: "192.0.2.50",
                    created: "2026-12-06T00:00:00Z",
                });
            }
            if (outcome === "lost" || outcome === "lost-created") {
                throw Object.assign(new Error("POST http://nova/servers failed: ETIMEDOUT"), {
                    code: "ETIMEDOUT",
                });
            }
            return `srv-${request.name}`;
        },
        listServersByTags: async () => servers,
        waitForBoot: async (ids: string[]) =>
            new Map(ids.map((id) => [id, servers.find((s) => s.id === id)])),
        deleteServer: async () => undefined,
        waitForDeleted: async () => undefined,
    } as unknown as ComputeClient;
    return { nova, creates };
}

const inputs = () => ({
    ...testPoolInputs(CLUSTER, { namePrefix: "compute-st" }),
    userDataTemplate: readFileSync(path.resolve(__dirname, "../../cloud-init/worker.yaml"), "utf8"),
});
const refs = { flavorId: "f", imageId: "i", networkId: "n" };

describe("WorkerPool boots with lost create answers", () => {
    it("a create whose answer was lost but whose server exists counts as booted, with its own minion ID", async () => {
        const { nova } = scriptedNova({ "compute-st-2": "lost-created" });
        const outcome = await bootWorkers(nova, inputs(), refs, [1, 2, 3]);
        assert.deepEqual(outcome.reasons, []);
        assert.deepEqual(outcome.booted.map((w) => [w.name, w.id]).sort(), [
            ["compute-st-1", "srv-compute-st-1"],
            ["compute-st-2", "srv-compute-st-2"],
            ["compute-st-3", "srv-compute-st-3"],
        ]);
        const second = outcome.booted.find((w) => w.name === "compute-st-2")!;
        assert.match(second.minionId, /^compute-st-2-[a-z2-7]{26}$/);
    });

    it("a lost answer with no server, and a 4xx, stay failures with their reasons", async () => {
        const { nova } = scriptedNova({ "compute-st-1": "lost", "compute-st-3": "400" });
        const outcome = await bootWorkers(nova, inputs(), refs, [1, 2, 3]);
        assert.deepEqual(
            outcome.booted.map((w) => w.name),
            ["compute-st-2"],
        );
        assert.deepEqual(outcome.reasons.sort(), [
            "compute-st-1: create failed: Error: POST http://nova/servers failed: ETIMEDOUT",
            "compute-st-3: create failed: 400 Invalid key_name provided.",
        ]);
    });
});
