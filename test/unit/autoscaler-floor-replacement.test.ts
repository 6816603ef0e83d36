/**
 * A floor server replaced under the same node name, through the service's real round, policy,
 * Salt bridge and key directory (the cloud and Slurm are scripted listings): the old server,
 * handed over (`dc-retiring`) and drained idle, is deleted, and the delete is the old server's,
 * never the node's: the replacement's first key, which arrives while the old server is still
 * listed (Nova takes a while to delete it), is accepted. Before, the node's memory was marked
 * "deleting" by the old server's delete and the replacement's key was rejected as "being
 * deleted", so the new worker never joined (seen in test/integration/autoscaler-ownership.test.ts).
 * A delete Nova took is not asked again while the server is still listed.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { WorkerCloud } from "../../autoscaler/cloud";
import type { ServerView } from "../../autoscaler/model";
import { REASONS } from "../../autoscaler/policy";
import { SlurmAdapter } from "../../autoscaler/scheduler/slurm";
import { SaltKeyStore } from "../../autoscaler/salt/keys";
import { DynamicClusterService, type Logger } from "../../autoscaler/service";
import { StateStore } from "../../autoscaler/store";
import { unitSettings } from "../helpers/serviceSettings";

const NODE = "compute-st-1";
const OLD_MINION = `${NODE}-${"a".repeat(26)}`;
const NEW_MINION = `${NODE}-${"b".repeat(26)}`;
const PUB = "-----BEGIN PUBLIC KEY-----\nMIIBIjANnew\n-----END PUBLIC KEY-----\n";

function serverView(id: string, minionId: string, retiring: boolean): ServerView {
    return {
        id,
        name: NODE,
        status: "ACTIVE",
        address: retiring ? "192.0.2.11" : "192.0.2.12",
        node: NODE,
        minionId,
        pool: "static",
        retiring: retiring || undefined,
        createdAt: Date.now() - 60_000,
    };
}

describe("a floor server replaced under the same name", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-floor-replace-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("deletes the old server once, and admits the new one's first key while the old is still listed", async () => {
        const pkiDir = path.join(dir, "pki");
        for (const sub of ["minions", "minions_pre", "minions_rejected", "minions_denied"])
            fs.mkdirSync(path.join(pkiDir, sub), { recursive: true });
        const old = serverView("11111111-0000-4000-8000-000000000001", OLD_MINION, true);
        const next = serverView("22222222-0000-4000-8000-000000000002", NEW_MINION, false);
        let listed: ServerView[] = [old];
        const deleted: string[] = [];
        const cloud = {
            list: async () => listed,
            delete: async (id: string) => void deleted.push(id),
        } as unknown as WorkerCloud;
        // The node as Slurm shows it once drained for the replacement: idle, drain, our reason.
        const scheduler = new SlurmAdapter(async (command) => ({
            stdout:
                command === "sinfo"
                    ? JSON.stringify({
                          nodes: [
                              {
                                  name: NODE,
                                  state: "idle",
                                  state_flags: ["DRAIN"],
                                  address: old.address,
                                  reason: REASONS.replaced,
                                  cpus: 1,
                              },
                          ],
                      })
                    : command === "squeue"
                      ? JSON.stringify({ jobs: [] })
                      : "",
            stderr: "",
        }));
        const quiet: Logger = {
            info: () => undefined,
            warn: () => undefined,
            error: () => undefined,
            debug: () => undefined,
        };
        const service = new DynamicClusterService({
            settings: unitSettings({ stateDir: path.join(dir, "state"), pkiDir, floor: 1 }),
            cloud,
            scheduler,
            keys: new SaltKeyStore(pkiDir),
            store: new StateStore(path.join(dir, "state")),
            log: quiet,
        });

        await service.round();
        await service.settle();
        assert.deepEqual(deleted, [old.id], "the drained, idle old server is deleted");
        // Nova still lists the old server (deleting), and the WorkerPool booted the next one.
        listed = [old, next];
        await service.round();
        await service.settle();
        assert.deepEqual(deleted, [old.id], "not asked twice while it is still listed");

        // The replacement's minion authenticates: its key waits in minions_pre.
        fs.writeFileSync(path.join(pkiDir, "minions_pre", NEW_MINION), PUB);
        const decision = await service.salt.handleAuth({ id: NEW_MINION, act: "pend", pub: PUB });
        assert.deepEqual(decision, { action: "accept", node: NODE });
        assert.ok(fs.existsSync(path.join(pkiDir, "minions", NEW_MINION)));
    });
});
