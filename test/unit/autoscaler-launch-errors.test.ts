/**
 * A launch that fails before any create call (the image or flavor cannot be found): nothing was
 * created, so the service counts a boot failure (toward the breaker) instead of assuming a
 * server may exist and waiting to find it. The real service core with stand-in Nova, scheduler
 * and Salt keys.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { WorkerCloud } from "../../autoscaler/cloud";
import { DynamicClusterService } from "../../autoscaler/service";
import { unitSettings } from "../helpers/serviceSettings";
import { noKeys, poweringUp, standInScheduler } from "../helpers/standIns";
import { StateStore } from "../../autoscaler/store";
import { OpenStackConfigError } from "../../lib/openstack";
import { waitFor } from "../helpers/waitFor";

const NODE = "compute-dy-1";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-unit-launch-errors-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const settings = unitSettings({ stateDir: tmp, burst: 1, image: "gone-image" });

describe("a launch refused before any create call", () => {
    it("counts a boot failure with the reason, and does not wait for a server that cannot exist", async () => {
        const noop = async () => undefined;
        const scheduler = standInScheduler(() => [poweringUp(NODE)]);
        let launches = 0;
        const cloud = {
            list: async () => [],
            newMinionId: () => `${NODE}-${"a".repeat(26)}`,
            launch: async () => {
                launches++;
                throw new OpenStackConfigError(
                    'Image "gone-image" does not exist in this project\'s view of Glance.',
                );
            },
            delete: noop,
        } as unknown as WorkerCloud;
        const keys = noKeys();
        const quiet = () => undefined;
        const store = new StateStore(path.join(tmp, "state"));
        const service = new DynamicClusterService({
            settings,
            cloud,
            scheduler,
            keys,
            store,
            log: { info: quiet, warn: quiet, error: quiet, debug: quiet },
        });
        await service.round();
        await waitFor("the failed launch to be counted", () =>
            store.state.breaker.consecutiveFailures > 0 ? true : undefined,
        );
        assert.equal(launches, 1);
        assert.ok(
            service
                .recentEvents()
                .some((e) =>
                    /compute-dy-1 failed: cannot launch: Image "gone-image"/.test(e.message),
                ),
            JSON.stringify(service.recentEvents().map((e) => e.message)),
        );
        await service.round();
        assert.notEqual(
            service.workerView(NODE).note,
            "create call outcome unknown",
            "no server is awaited",
        );
    });
});
