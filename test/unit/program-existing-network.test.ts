/**
 * Mock test: an existing network given by ID, a floating IP from a named pool, custom head node,
 * workers and users, an IPv6 users' range, a dashboard password set with --secret, and the
 * head node's own Keystone URL and catalog interface.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { saltPemFinger } from "../../lib/saltKey";
import {
    actualRules,
    COMMON_RESOURCES,
    expectedRules,
    expectedSet,
    NEW_VOLUME_RESOURCES,
    FLOATING_IP_RESOURCES,
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
} from "../helpers/program";

describe("program: existing network by ID with a floating IP", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(
            {
                keyName: "lab",
                allowedCidr: "198.51.100.0/24, 2001:db8:42::/48",
                network: MOCK_VALUES.existingNetworkId,
                floatingIpPool: "public",
                headNode: {
                    name: "lab-head",
                    flavor: "c4.large",
                    image: "AlmaLinux-9",
                    availabilityZone: "az1",
                },
                workers: { min: 2, max: 20, flavor: "c8.xlarge" },
                users: [
                    { name: "alice", uid: 20001 },
                    {
                        name: "bob",
                        uid: 20002,
                        sshKeys: [
                            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvbXJAl0jiGzk9VeUUwljGOdOMkZJuRSO6d37SV53mL bob@lab",
                        ],
                    },
                ],
                dashboardPassword: "correct horse battery staple",
                serviceAuthUrl: "https://keystone.internal.example.org:5000/v3",
                serviceInterface: "internal",
            },
            { secretKeys: ["dashboardPassword"] },
        );
    });

    it("registers exactly the expected resources (no generated dashboard password)", () => {
        assert.deepEqual(
            resourceSet(
                run.resources.filter(
                    (r) => r.type !== "openstack:networking/secGroupRule:SecGroupRule",
                ),
            ),
            expectedSet(COMMON_RESOURCES, NEW_VOLUME_RESOURCES, FLOATING_IP_RESOURCES),
        );
    });

    it("opens SSH and HTTPS to each users' range, IPv4 and IPv6, and no other", () => {
        assert.deepEqual(
            actualRules(run.resources),
            expectedRules("slurm", ["198.51.100.0/24", "2001:db8:42::/48"]),
        );
    });

    it("uses the network ID without a look-up, and looks up its subnet (and the worker flavor)", () => {
        assert.deepEqual(run.invokes.map((i) => i.token).sort(), [
            "openstack:compute/getFlavor:getFlavor",
            "openstack:networking/getSubnet:getSubnet",
        ]);
        assert.equal(named(run, "dc-head-port").inputs["networkId"], MOCK_VALUES.existingNetworkId);
    });

    it("associates a floating IP from the pool with the head node's port", () => {
        assert.equal(named(run, "dc-head-floating-ip").inputs["pool"], "public");
        assert.deepEqual(named(run, "dc-head-floating-ip-associate").inputs, {
            floatingIp: MOCK_VALUES.floatingIp,
            portId: "dc-head-port-id",
        });
    });

    it("boots the head node with the configured settings", () => {
        const head = named(run, "dc-head-server").inputs;
        assert.equal(head["name"], "lab-head");
        assert.equal(head["flavorName"], "c4.large");
        assert.equal(head["imageName"], "AlmaLinux-9");
        assert.equal(head["availabilityZone"], "az1");
    });

    it("provisions over the floating IP and keeps the dashboard password secret", async () => {
        const wait = named(run, "dc-provisioner-wait-for-cloud-init").inputs;
        const connection = wait["connection"] as Record<string, unknown>;
        assert.equal(unwrapConnection(connection)["host"], MOCK_VALUES.floatingIp);
        assert.equal(
            await unwrap(run.outputs["dashboardPassword"] as pulumi.Output<string>),
            "correct horse battery staple",
        );
        assert.equal(
            await pulumi.isSecret(run.outputs["dashboardPassword"] as pulumi.Output<string>),
            true,
        );
        const headSecrets = named(run, "dc-provisioner-file-dynamic-cluster-head-secrets").inputs[
            "stdin"
        ];
        assert.equal(isSecretInput(headSecrets), true);
    });

    it("puts the worker policy and users into the pillar", () => {
        const pillar = String(named(run, "dc-provisioner-file-dynamic-cluster").inputs["stdin"]);
        assert.match(pillar, /min: 2\n\s+max: 20\n\s+flavor: c8.xlarge/);
        assert.match(
            pillar,
            /static_prefix: compute-st\n\s+static_count: 2\n\s+burst_prefix: compute-dy\n\s+burst_count: 18/,
        );
        assert.match(
            pillar,
            /name: bob\n\s+uid: 20002\n\s+ssh_keys:\n\s+- ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvbXJAl0jiGzk9VeUUwljGOdOMkZJuRSO6d37SV53mL bob@lab/,
        );
        assert.match(pillar, /cluster_cidr: 10.20.0.0\/22/);
        // The service reaches the APIs where the head node can, not where the workstation does.
        assert.match(
            pillar,
            /openstack:\n\s+auth_url: https:\/\/keystone\.internal\.example\.org:5000\/v3\n\s+region: \S*\n\s+interface: internal\n/,
        );
        // Each users' range goes to its own family's firewall rules.
        assert.match(
            pillar,
            /users_cidr_v4:\n\s+- 198\.51\.100\.0\/24\n\s+users_cidr_v6:\n\s+- 2001:db8:42::\/48\n/,
        );
    });
    it("boots workers.min static workers that join the head node's Salt master", () => {
        const { __provider: provider, ...inputs } = named(run, "dc-workers").inputs;
        assert.equal(typeof provider, "string", "the provider's code is serialized");
        assert.deepEqual(inputs, {
            count: 2,
            flavor: "c8.xlarge",
            image: "AlmaLinux-9",
            network: MOCK_VALUES.existingNetworkId,
            keyName: "lab",
            securityGroups: ["dc-network-worker-id"],
            availabilityZone: "",
            namePrefix: "compute-st",
            clusterId: MOCK_VALUES.clusterId,
            masterAddress: MOCK_VALUES.fixedIp,
            masterFinger: saltPemFinger(MOCK_RSA_PUBLIC_PEM),
            userDataTemplate: readFileSync(
                path.resolve(__dirname, "../../cloud-init/worker.yaml"),
                "utf8",
            ),
            bootTimeoutSeconds: 1200,
            drainTimeoutSeconds: 3600,
            maxConcurrency: 10,
        });
    });
});

function unwrapConnection(connection: Record<string, unknown>): Record<string, unknown> {
    const value = (connection as { value?: unknown }).value ?? connection;
    return value as Record<string, unknown>;
}
