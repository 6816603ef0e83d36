/**
 * The service applies the policy's `forget-first-keys` (remembered first keys of minion IDs whose
 * key vanished out of band and whose worker is gone): the entries leave state.json, on disk, and
 * the others stay. The real service core and state store with stand-in Nova, scheduler and keys.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { WorkerCloud } from "../../autoscaler/cloud";
import type { Action } from "../../autoscaler/policy";
import type { SaltKeyStore } from "../../autoscaler/salt/keys";
import type { SchedulerAdapter } from "../../autoscaler/scheduler/types";
import { DynamicClusterService } from "../../autoscaler/service";
import { unitSettings } from "../helpers/serviceSettings";
import { StateStore } from "../../autoscaler/store";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-unit-first-keys-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const settings = unitSettings({ stateDir: tmp, image: "img" });

const minion = (node: string) => `${node}-${"a".repeat(26)}`;

describe("forgetting remembered first keys", () => {
    it("drops exactly the listed entries from state.json, durably", async () => {
        const dir = path.join(tmp, "state");
        const store = new StateStore(dir);
        store.update((s) => {
            s.firstKeys[minion("compute-dy-1")] = "1".repeat(64);
            s.firstKeys[minion("compute-dy-2")] = "2".repeat(64);
            s.firstKeys[minion("old-dy-7")] = "7".repeat(64);
        });
        const quiet = () => undefined;
        const service = new DynamicClusterService({
            settings,
            cloud: {} as WorkerCloud,
            scheduler: {} as SchedulerAdapter,
            keys: {} as SaltKeyStore,
            store,
            log: { info: quiet, warn: quiet, error: quiet, debug: quiet },
        });
        const executeOne = (
            service as unknown as { executeOne(a: Action): Promise<void> }
        ).executeOne.bind(service);
        await executeOne({
            type: "forget-first-keys",
            minionIds: [minion("compute-dy-1"), minion("old-dy-7")],
        });
        assert.deepEqual(Object.keys(store.state.firstKeys), [minion("compute-dy-2")]);
        assert.deepEqual(Object.keys(new StateStore(dir).state.firstKeys), [
            minion("compute-dy-2"),
        ]);
    });
});
