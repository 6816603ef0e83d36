/**
 * Mock test of the whole program with the minimal configuration: key name, users' CIDR and an
 * existing network by name (no floating IP). Asserts the exact resource set, every security-group
 * rule, the head node's inputs and the outputs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { saltPemFinger } from "../../lib/saltKey";
import {
    actualRules,
    COMMON_RESOURCES,
    expectedRules,
    expectedSet,
    NEW_VOLUME_RESOURCES,
    REMOTE_COMMAND,
    resourceSet,
} from "../helpers/expected";
import {
    isSecretInput,
    MOCK_RSA_PUBLIC_PEM,
    MOCK_VALUES,
    named,
    type ProgramRun,
    runProgram,
    unwrap,
    unwrapSecret,
} from "../helpers/program";

describe("program: minimal config (existing network by name, slurm)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({
            keyName: "hpc-key",
            allowedCidr: "203.0.113.0/24",
            network: "private",
        });
    });

    it("registers exactly the expected resources", () => {
        assert.deepEqual(
            resourceSet(
                run.resources.filter(
                    (r) => r.type !== "openstack:networking/secGroupRule:SecGroupRule",
                ),
            ),
            expectedSet(COMMON_RESOURCES, NEW_VOLUME_RESOURCES, [
                ["random:index/randomPassword:RandomPassword", "dc-dashboard-password"],
            ]),
        );
    });

    it("opens exactly SSH and HTTPS to users and the cluster ports between groups", () => {
        assert.deepEqual(actualRules(run.resources), expectedRules("slurm", ["203.0.113.0/24"]));
    });

    it("removes Neutron's default rules from both groups", () => {
        for (const name of ["dc-network-head", "dc-network-worker"]) {
            assert.equal(named(run, name).inputs["deleteDefaultRules"], true, name);
        }
    });

    it("looks up the network by name, its IPv4 subnet and the worker flavor", () => {
        assert.deepEqual(run.invokes.map((i) => [i.token, i.inputs]).sort(), [
            ["openstack:compute/getFlavor:getFlavor", { name: "m1.large" }],
            ["openstack:networking/getNetwork:getNetwork", { name: "private" }],
            [
                "openstack:networking/getSubnet:getSubnet",
                { ipVersion: 4, networkId: MOCK_VALUES.existingNetworkId },
            ],
        ]);
    });

    it("boots the head node from its port with the defaults", () => {
        const head = named(run, "dc-head-server").inputs;
        assert.equal(head["name"], "dc-head");
        assert.equal(head["flavorName"], "m1.large");
        assert.equal(head["imageName"], "Rocky-9");
        assert.equal(head["keyPair"], "hpc-key");
        assert.deepEqual(head["networks"], [{ port: "dc-head-port-id" }]);
        assert.match(String(head["userData"]), /^#cloud-config\nhostname: dc-head\n/);
        assert.deepEqual(named(run, "dc-head-port").inputs["securityGroupIds"], [
            "dc-network-head-id",
        ]);
        assert.deepEqual(named(run, "dc-head-data-attach").inputs, {
            instanceId: "dc-head-server-id",
            volumeId: "dc-data-id",
        });
    });

    it("registers the static worker pool with no server when workers.min is 0", () => {
        assert.equal(named(run, "dc-workers").inputs["count"], 0);
    });

    it("creates a 100 GiB data volume named after the cluster", () => {
        assert.equal(named(run, "dc-data").inputs["size"], 100);
        assert.equal(named(run, "dc-data").inputs["name"], "test-data");
    });

    it("restricts the service's application credential to compute and image calls", () => {
        const credential = named(run, "dc-service-credential").inputs;
        assert.equal(credential["unrestricted"], false);
        const rules = credential["accessRules"] as Array<{ service: string }>;
        // Exactly the client's calls, for both compute endpoint shapes (with a project ID).
        assert.deepEqual(rules, [
            { service: "compute", method: "POST", path: "/v2.1/servers" },
            { service: "compute", method: "POST", path: "/v2.1/*/servers" },
            { service: "compute", method: "GET", path: "/v2.1/servers/detail" },
            { service: "compute", method: "GET", path: "/v2.1/*/servers/detail" },
            { service: "compute", method: "GET", path: "/v2.1/servers/*" },
            { service: "compute", method: "GET", path: "/v2.1/*/servers/*" },
            { service: "compute", method: "DELETE", path: "/v2.1/servers/*" },
            { service: "compute", method: "DELETE", path: "/v2.1/*/servers/*" },
            { service: "compute", method: "GET", path: "/v2.1/flavors/detail" },
            { service: "compute", method: "GET", path: "/v2.1/*/flavors/detail" },
            { service: "image", method: "GET", path: "/v2/images" },
        ]);
    });

    it("exports the addresses, the ssh command, the dashboard and a secret password", async () => {
        const o = run.outputs;
        assert.equal(await unwrap(o["headAddress"] as pulumi.Output<string>), MOCK_VALUES.fixedIp);
        assert.equal(
            await unwrap(o["ssh"] as pulumi.Output<string>),
            `ssh rocky@${MOCK_VALUES.fixedIp}`,
        );
        assert.equal(
            await unwrap(o["dashboardUrl"] as pulumi.Output<string>),
            `https://${MOCK_VALUES.fixedIp}/dashboard/`,
        );
        assert.equal(await pulumi.isSecret(o["dashboardPassword"] as pulumi.Output<string>), true);
        assert.equal(o["scheduler"], "slurm");
        assert.equal((o["workerPolicy"] as { max: number }).max, 8);
        assert.equal(await unwrap(o["clusterId"] as pulumi.Output<string>), MOCK_VALUES.clusterId);
    });

    it("pins the generated Salt master key by Salt's fingerprint", () => {
        const pillar = String(named(run, "dc-provisioner-file-dynamic-cluster").inputs["stdin"]);
        assert.ok(pillar.includes(`master_finger: ${saltPemFinger(MOCK_RSA_PUBLIC_PEM)}`), pillar);
    });

    it("keeps every generated secret out of user-data and out of plain-text inputs", () => {
        const userData = String(named(run, "dc-head-server").inputs["userData"]);
        for (const secret of [
            "mock-password-",
            "mock-application-credential-secret",
            "mock-rsa-private-key",
            "mock-ecdsa-private",
        ]) {
            assert.ok(!userData.includes(secret), secret);
        }
        for (const name of [
            "dc-provisioner-file-dynamic-cluster-head-secrets",
            "dc-provisioner-file-dynamic-cluster-cluster-secrets",
            "dc-provisioner-file-salt-master-pem",
        ]) {
            assert.equal(isSecretInput(named(run, name).inputs["stdin"]), true, name);
        }
        assert.equal(
            isSecretInput(named(run, "dc-provisioner-file-dynamic-cluster").inputs["stdin"]),
            false,
        );
    });

    it("gives each local-API caller its own generated token, only in the head's secret pillar", () => {
        const stdin = named(run, "dc-provisioner-file-dynamic-cluster-head-secrets").inputs[
            "stdin"
        ];
        assert.equal(isSecretInput(stdin), true);
        const pillar = yaml.load(String(unwrapSecret(stdin))) as {
            dynamic_cluster_head_secrets: Record<string, unknown>;
        };
        assert.deepEqual(pillar.dynamic_cluster_head_secrets["local_api_tokens"], {
            slurm: "mock-password-dc-slurm-token",
            salt: "mock-password-dc-salt-token",
            admin: "mock-password-dc-admin-token",
        });
        assert.equal(pillar.dynamic_cluster_head_secrets["service_token"], undefined);
        const everywhere = String(
            named(run, "dc-provisioner-file-dynamic-cluster").inputs["stdin"],
        );
        assert.doesNotMatch(everywhere, /mock-password-dc-(slurm|salt|admin)-token/);
    });

    it("runs provisioning commands that pass shellcheck", () => {
        const commands = run.resources.filter((r) => r.type === REMOTE_COMMAND);
        assert.equal(commands.length, 8);
        const dir = mkdtempSync(path.join(tmpdir(), "dc-commands-"));
        try {
            for (const command of commands) {
                const file = path.join(dir, `${command.name}.sh`);
                writeFileSync(file, `#!/bin/bash\n${String(command.inputs["command"])}\n`);
                const result = spawnSync("shellcheck", [file], { encoding: "utf8" });
                assert.equal(result.status, 0, `${command.name}: ${result.stdout}`);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
