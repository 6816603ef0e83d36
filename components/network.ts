/**
 * `dynamic-cluster:index:Network`: where the cluster lives on the cloud's network.
 *
 * Either attaches to an existing network (by name or ID) or creates a network, subnet and router
 * on an external network; and always creates the head and worker security groups with Neutron's
 * default rules removed and exactly the rules of {@link securityGroupRules}.
 */
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkPlan, SchedulerKind } from "./config";
import { type GroupRole, securityGroupRules } from "./securityGroups";

/** Arguments of {@link Network}. */
export interface NetworkArgs {
    /** Existing network, or the network to create. */
    plan: NetworkPlan;
    /** The cluster's name, used for OpenStack resource names. */
    clusterName: string;
    /** Scheduler, which decides the ports between head and workers. */
    scheduler: SchedulerKind;
    /** Users' network ranges. */
    allowedCidrs: readonly string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The cluster network and its security groups. */
export class Network extends pulumi.ComponentResource {
    /** ID of the network the head node and workers attach to. */
    readonly networkId: pulumi.Output<string>;
    /** ID of the subnet the head node's port is on. */
    readonly subnetId: pulumi.Output<string>;
    /** CIDR of that subnet (NFS exports and firewall rules use it). */
    readonly subnetCidr: pulumi.Output<string>;
    /** Security group of the head node. */
    readonly headSecurityGroup: openstack.networking.SecGroup;
    /** Security group of the workers. */
    readonly workerSecurityGroup: openstack.networking.SecGroup;
    /** The rules, by suffix (exposed for tests and for other components' `dependsOn`). */
    readonly rules: openstack.networking.SecGroupRule[];
    /** Pool of the head node's floating IP, or undefined for none. */
    readonly floatingIpPool?: string;
    /** The router interface when the network is created (the floating IP needs it). */
    readonly routerInterface?: openstack.networking.RouterInterface;

    /**
     * @param name The _unique_ name of this component.
     * @param args The network plan and cluster settings.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dynamic-cluster:index:Network", name, {}, opts);
        const parent = { parent: this };
        const plan = args.plan;

        if (plan.kind === "existing") {
            this.networkId = UUID.test(plan.network)
                ? pulumi.output(plan.network)
                : openstack.networking
                      .getNetworkOutput({ name: plan.network }, parent)
                      .apply((n) => n.id);
            const subnet = openstack.networking.getSubnetOutput(
                { networkId: this.networkId, ipVersion: 4 },
                parent,
            );
            this.subnetId = subnet.apply((s) => s.id);
            this.subnetCidr = subnet.apply((s) => s.cidr);
            this.floatingIpPool = plan.floatingIpPool;
        } else {
            const external = openstack.networking.getNetworkOutput(
                { name: plan.externalNetwork, external: true },
                parent,
            );
            const network = new openstack.networking.Network(
                `${name}-net`,
                { name: `${args.clusterName}-net`, adminStateUp: true },
                parent,
            );
            const subnet = new openstack.networking.Subnet(
                `${name}-subnet`,
                {
                    name: `${args.clusterName}-subnet`,
                    networkId: network.id,
                    cidr: plan.subnetCidr,
                    ipVersion: 4,
                    enableDhcp: true,
                    dnsNameservers:
                        plan.dnsNameservers.length > 0 ? plan.dnsNameservers : undefined,
                },
                parent,
            );
            const router = new openstack.networking.Router(
                `${name}-router`,
                {
                    name: `${args.clusterName}-router`,
                    externalNetworkId: external.apply((n) => n.id),
                },
                parent,
            );
            this.routerInterface = new openstack.networking.RouterInterface(
                `${name}-router-interface`,
                { routerId: router.id, subnetId: subnet.id },
                parent,
            );
            this.networkId = network.id;
            this.subnetId = subnet.id;
            this.subnetCidr = subnet.cidr;
            this.floatingIpPool = plan.floatingIpPool;
        }

        const group = (role: GroupRole): openstack.networking.SecGroup =>
            new openstack.networking.SecGroup(
                `${name}-${role}`,
                {
                    name: `${args.clusterName}-${role}`,
                    description: `Dynamic Cluster ${args.clusterName}: ${role === "head" ? "head node" : "workers"}`,
                    deleteDefaultRules: true,
                },
                parent,
            );
        this.headSecurityGroup = group("head");
        this.workerSecurityGroup = group("worker");
        const groupId = (role: GroupRole): pulumi.Output<string> =>
            role === "head" ? this.headSecurityGroup.id : this.workerSecurityGroup.id;

        this.rules = securityGroupRules(args.scheduler, args.allowedCidrs).map(
            (rule) =>
                new openstack.networking.SecGroupRule(
                    `${name}-${rule.suffix}`,
                    {
                        securityGroupId: groupId(rule.group),
                        direction: rule.direction,
                        ethertype: rule.ethertype,
                        protocol: rule.protocol,
                        portRangeMin: rule.ports?.from,
                        portRangeMax: rule.ports?.to,
                        remoteIpPrefix: "cidr" in rule.remote ? rule.remote.cidr : undefined,
                        remoteGroupId:
                            "group" in rule.remote ? groupId(rule.remote.group) : undefined,
                        description: rule.description,
                    },
                    parent,
                ),
        );

        this.registerOutputs({
            networkId: this.networkId,
            subnetId: this.subnetId,
            subnetCidr: this.subnetCidr,
            headSecurityGroupId: this.headSecurityGroup.id,
            workerSecurityGroupId: this.workerSecurityGroup.id,
        });
    }
}
