/**
 * Worker pools in the Pulumi program (mocks):
 * - an older stack's configuration (only `workers.*`) yields the plan the last release before
 *   pools made (test/fixtures/program/before-pools.json, dumped from release 954fe0c with this
 *   configuration): the same resources with the same inputs, so `pulumi up` after the upgrade
 *   replaces nothing. What may differ is what every release changes (the dynamic providers' code,
 *   the copied Salt tree and service) and the pillar, which only gains keys (the pools list,
 *   `extra_pools`, `fallback_flavors`): the provisioning step runs the highstate again;
 * - each further pool gets its own WorkerPool resource for its floor (`<pool>-st-N`), with the
 *   pool's flavor, image and zone, and the default pool keeps its resource name.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import { REMOTE_COMMAND, WORKER_POOL } from "../helpers/expected";
import type { Registration } from "../helpers/program";

const ROOT = path.resolve(__dirname, "../..");
const PILLAR = `${REMOTE_COMMAND} dc-provisioner-file-dynamic-cluster`;
/** What every release changes: the state run's triggers and the copied trees. */
const RELEASE_DEPENDENT = new Set([
    PILLAR,
    `${REMOTE_COMMAND} dc-provisioner-state-apply`,
    "pulumi-nodejs:dynamic/dynamic-cluster:RemoteCopy dc-provisioner-copy-salt-tree",
    "pulumi-nodejs:dynamic/dynamic-cluster:RemoteCopy dc-provisioner-copy-service",
]);

interface BeforePools {
    release: string;
    config: Record<string, unknown>;
    registrations: Registration[];
    pillar: string;
}

function registrations(config: Record<string, unknown>): Map<string, Registration> {
    const out = execFileSync(process.execPath, ["--import", "tsx", "test/helpers/dumpProgram.ts"], {
        cwd: ROOT,
        env: { ...process.env, DC_TEST_CONFIG: JSON.stringify(config) },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    const list = JSON.parse(out) as Registration[];
    return new Map(list.map((r) => [`${r.type} ${r.name}`, r]));
}

/** The inputs without the dynamic provider's serialized code (new in every release). */
function withoutProviderCode(inputs: Record<string, unknown>): Record<string, unknown> {
    const { __provider: _code, ...rest } = inputs;
    return rest;
}

/** True when every key and list item of `older` is in `newer` with the same value. */
function assertSubset(older: unknown, newer: unknown, at: string): void {
    if (older !== null && typeof older === "object" && !Array.isArray(older)) {
        assert.ok(newer !== null && typeof newer === "object", `${at} is no longer a mapping`);
        for (const [key, value] of Object.entries(older))
            assertSubset(value, (newer as Record<string, unknown>)[key], `${at}.${key}`);
        return;
    }
    assert.deepEqual(newer, older, at);
}

describe("program: worker pools", () => {
    const fixture = JSON.parse(
        readFileSync(path.join(ROOT, "test/fixtures/program/before-pools.json"), "utf8"),
    ) as BeforePools;
    let older: Map<string, Registration>;
    let pooled: Map<string, Registration>;
    before(() => {
        older = registrations(fixture.config);
        pooled = registrations({
            ...fixture.config,
            pools: [
                {
                    name: "gpu",
                    min: 1,
                    max: 3,
                    flavor: "g1.large",
                    fallbackFlavors: ["g1.xlarge"],
                    image: "Rocky-9-cuda",
                    availabilityZone: "gpu-zone",
                    gres: "gpu:2",
                },
            ],
        });
    });

    it(`an older stack's configuration registers what release ${"954fe0c"} did, with the same inputs`, () => {
        const expected = new Map(fixture.registrations.map((r) => [`${r.type} ${r.name}`, r]));
        assert.deepEqual(
            [...older.keys()].filter((k) => !RELEASE_DEPENDENT.has(k)).sort(),
            [...expected.keys()].sort(),
        );
        for (const [key, registration] of expected) {
            assert.deepEqual(
                withoutProviderCode(older.get(key)!.inputs),
                registration.inputs,
                `${key} changed: pulumi up would update or replace it`,
            );
        }
    });

    it("and its pillar only gains keys: every value the older release wrote is unchanged", () => {
        // The service bundle's hash is new in every release (it restarts the service).
        const load = (text: string): unknown =>
            yaml.load(text.replace(/^(\s+bundle:) [0-9a-f]{16}$/m, "$1 <release>"));
        const before_ = load(fixture.pillar);
        const after_ = load(String(older.get(PILLAR)!.inputs["stdin"]));
        assertSubset(before_, after_, "pillar");
        const dc = (after_ as { dynamic_cluster: Record<string, unknown> }).dynamic_cluster;
        assert.deepEqual(
            (dc["pools"] as { name: string }[]).map((p) => p.name),
            ["compute"],
            "one pool, the default one",
        );
    });

    it("a further pool gets its own WorkerPool for its floor, with its flavor, image and zone", () => {
        assert.deepEqual(
            [...pooled.keys()].filter((k) => !older.has(k)),
            [`${WORKER_POOL} dc-workers-gpu`],
        );
        const gpu = withoutProviderCode(pooled.get(`${WORKER_POOL} dc-workers-gpu`)!.inputs);
        const base = withoutProviderCode(pooled.get(`${WORKER_POOL} dc-workers`)!.inputs);
        assert.deepEqual(gpu, {
            ...base,
            count: 1,
            flavor: "g1.large",
            image: "Rocky-9-cuda",
            availabilityZone: "gpu-zone",
            namePrefix: "gpu-st",
        });
        assert.deepEqual(
            withoutProviderCode(base),
            withoutProviderCode(older.get(`${WORKER_POOL} dc-workers`)!.inputs),
            "the default pool's floor is untouched",
        );
    });

    it("sizes the pool's Slurm nodes from its smallest flavor, and gives the service its flavors in order", () => {
        const pillar = yaml.load(String(pooled.get(PILLAR)!.inputs["stdin"])) as {
            dynamic_cluster: {
                pools: { name: string; cpus: number; real_memory_mb: number; gres: string }[];
                service: { settings: { extra_pools: { name: string; flavors: string[] }[] } };
            };
        };
        const gpu = pillar.dynamic_cluster.pools.find((p) => p.name === "gpu")!;
        // g1.large has 8 vCPUs and 64 GiB (the mock), g1.xlarge the default 4 and 8 GiB.
        assert.deepEqual([gpu.cpus, gpu.real_memory_mb, gpu.gres], [4, 7536, "gpu:2"]);
        assert.deepEqual(pillar.dynamic_cluster.service.settings.extra_pools, [
            {
                name: "gpu",
                flavors: ["g1.large", "g1.xlarge"],
                image: "Rocky-9-cuda",
                availability_zone: "gpu-zone",
                min: 1,
                max: 3,
                static_prefix: "gpu-st",
                burst_prefix: "gpu-dy",
            },
        ]);
    });
});
