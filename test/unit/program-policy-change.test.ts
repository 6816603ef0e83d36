/**
 * Changing worker policy (`pulumi config set --path workers.max 20 && pulumi up`) must update the
 * running cluster in place: between the two configurations the head node's inputs are identical
 * and only the provisioning step's inputs (the pillar file and the state run's triggers) differ.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { REMOTE_COMMAND, WORKER_POOL } from "../helpers/expected";
import type { Registration } from "../helpers/program";

const ROOT = path.resolve(__dirname, "../..");

function registrations(config: Record<string, unknown>): Map<string, Registration> {
    const out = execFileSync(process.execPath, ["--import", "tsx", "test/helpers/dumpProgram.ts"], {
        cwd: ROOT,
        env: { ...process.env, DC_TEST_CONFIG: JSON.stringify(config) },
        encoding: "utf8",
    });
    const list = JSON.parse(out) as Registration[];
    return new Map(list.map((r) => [`${r.type} ${r.name}`, r]));
}

describe("program: a worker-policy change", () => {
    const base = { keyName: "k", allowedCidr: "203.0.113.0/24", externalNetwork: "public" };
    let before_: Map<string, Registration>;
    let after: Map<string, Registration>;
    let raisedFloor: Map<string, Registration>;
    before(() => {
        before_ = registrations({ ...base, workers: { max: 8, idleTimeout: 600 } });
        after = registrations({ ...base, workers: { max: 20, idleTimeout: 900 } });
        raisedFloor = registrations({ ...base, workers: { min: 2, max: 8, idleTimeout: 600 } });
    });

    const changedKeys = (a: Map<string, Registration>, b: Map<string, Registration>): string[] =>
        [...b.keys()]
            .filter(
                (key) => JSON.stringify(b.get(key)?.inputs) !== JSON.stringify(a.get(key)?.inputs),
            )
            .sort();

    it("registers the same resources", () => {
        assert.deepEqual([...after.keys()].sort(), [...before_.keys()].sort());
    });

    it("leaves the head node's server, port, volume and network inputs identical", () => {
        for (const key of [
            "openstack:compute/instance:Instance dc-head-server",
            "openstack:networking/port:Port dc-head-port",
            "openstack:blockstorage/volume:Volume dc-data",
            "openstack:compute/volumeAttach:VolumeAttach dc-head-data-attach",
        ]) {
            assert.deepEqual(after.get(key)?.inputs, before_.get(key)?.inputs, key);
        }
    });

    it("changes only the pillar file and the state run", () => {
        assert.deepEqual(changedKeys(before_, after), [
            `${REMOTE_COMMAND} dc-provisioner-file-dynamic-cluster`,
            `${REMOTE_COMMAND} dc-provisioner-state-apply`,
        ]);
        const pillar = String(
            after.get(`${REMOTE_COMMAND} dc-provisioner-file-dynamic-cluster`)?.inputs["stdin"],
        );
        assert.match(pillar, /max: 20/);
        assert.match(pillar, /idle_timeout: 900/);
    });
    it("resizes the static pool in place when workers.min changes", () => {
        assert.deepEqual([...raisedFloor.keys()].sort(), [...before_.keys()].sort());
        assert.deepEqual(changedKeys(before_, raisedFloor), [
            `${REMOTE_COMMAND} dc-provisioner-file-dynamic-cluster`,
            `${REMOTE_COMMAND} dc-provisioner-state-apply`,
            `${WORKER_POOL} dc-workers`,
        ]);
        const pool = raisedFloor.get(`${WORKER_POOL} dc-workers`)!.inputs;
        const old = before_.get(`${WORKER_POOL} dc-workers`)!.inputs;
        assert.equal(pool["count"], 2);
        assert.deepEqual({ ...pool, count: 0 }, old, "only the count differs");
    });
});
