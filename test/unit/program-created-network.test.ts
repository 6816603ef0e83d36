/**
 * Mock test: the program creates network, subnet and router on an external network, the
 * scheduler is set explicitly to Slurm (Torque is refused by the loader until it works end to
 * end: test/unit/program-bad-config.test.ts), the floating IP comes from the external network,
 * and /data is an existing volume (`data.volumeId`), which the program attaches and never creates.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
    actualRules,
    COMMON_RESOURCES,
    CREATED_NETWORK_RESOURCES,
    expectedRules,
    expectedSet,
    FLOATING_IP_RESOURCES,
    resourceSet,
} from "../helpers/expected";
import { MOCK_VALUES, named, type ProgramRun, runProgram } from "../helpers/program";

/** A volume a destroyed stack left, named with `data.volumeId`. */
const EXISTING_VOLUME = "4f1d2c3b-5a6e-4b7c-8d9e-0a1b2c3d4e5f";

describe("program: created network, scheduler set to slurm, an existing /data volume", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({
            keyName: "k",
            allowedCidr: "198.51.100.0/24",
            externalNetwork: "ext-net",
            subnetCidr: "10.77.0.0/24",
            dnsNameservers: ["192.0.2.53"],
            scheduler: "slurm",
            clusterName: "physics",
            data: { volumeId: EXISTING_VOLUME },
        });
    });

    it("registers exactly the expected resources", () => {
        assert.deepEqual(
            resourceSet(
                run.resources.filter(
                    (r) => r.type !== "openstack:networking/secGroupRule:SecGroupRule",
                ),
            ),
            expectedSet(COMMON_RESOURCES, FLOATING_IP_RESOURCES, CREATED_NETWORK_RESOURCES, [
                ["random:index/randomPassword:RandomPassword", "dc-dashboard-password"],
            ]),
        );
    });

    it("opens the Slurm ports", () => {
        assert.deepEqual(actualRules(run.resources), expectedRules("slurm", ["198.51.100.0/24"]));
    });

    it("creates network, subnet and router on the external network", () => {
        assert.deepEqual(named(run, "dc-network-net").inputs, {
            adminStateUp: true,
            name: "physics-net",
        });
        assert.deepEqual(named(run, "dc-network-subnet").inputs, {
            cidr: "10.77.0.0/24",
            dnsNameservers: ["192.0.2.53"],
            enableDhcp: true,
            ipVersion: 4,
            name: "physics-subnet",
            networkId: "dc-network-net-id",
        });
        assert.deepEqual(named(run, "dc-network-router").inputs, {
            externalNetworkId: MOCK_VALUES.externalNetworkId,
            name: "physics-router",
        });
        assert.deepEqual(named(run, "dc-network-router-interface").inputs, {
            routerId: "dc-network-router-id",
            subnetId: "dc-network-subnet-id",
        });
        assert.deepEqual(
            run.invokes
                .filter((i) => i.token !== "openstack:compute/getFlavor:getFlavor")
                .map((i) => [i.token, i.inputs]),
            [["openstack:networking/getNetwork:getNetwork", { external: true, name: "ext-net" }]],
        );
        assert.equal(named(run, "dc-head-floating-ip").inputs["pool"], "ext-net");
    });

    it("names OpenStack resources after the cluster and tells the pillar the scheduler", () => {
        assert.equal(named(run, "dc-network-head").inputs["name"], "physics-head");
        const pillar = String(named(run, "dc-provisioner-file-dynamic-cluster").inputs["stdin"]);
        assert.match(pillar, /scheduler:\n\s+kind: slurm/);
        assert.match(pillar, /cluster_cidr: 10.77.0.0\/24/);
    });
    it("attaches the existing /data volume instead of creating one", () => {
        assert.deepEqual(named(run, "dc-head-data-attach").inputs, {
            instanceId: "dc-head-server-id",
            volumeId: EXISTING_VOLUME,
        });
        const pillar = String(named(run, "dc-provisioner-file-dynamic-cluster").inputs["stdin"]);
        assert.match(pillar, new RegExp(`volume_id: ${EXISTING_VOLUME}`));
    });
});
