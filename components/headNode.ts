/**
 * `dynamic-cluster:index:HeadNode`: the head node's port, server, floating IP and the attachment
 * of the `/data` volume.
 *
 * The server boots with `cloud-init/head.yaml` only; everything else is configured by the
 * {@link HeadProvisioner} child over SSH, so changing worker policy or the Salt tree never
 * replaces this server. The server is replaced delete-first (its port and volume can only be
 * attached to one server at a time); the volume itself lives in the parent component and
 * survives the replacement.
 */
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { HEAD_TAG, PRODUCT_TAG } from "../lib/tags";
import type { HeadNodeConfig } from "./config";
import type { Network } from "./network";

/** Arguments of {@link HeadNode}. */
export interface HeadNodeArgs {
    /** Server settings. */
    headNode: HeadNodeConfig;
    /** Nova key pair name. */
    keyName: string;
    /** Network and security groups. */
    network: Network;
    /** Raw (not base64) cloud-init user-data. */
    userData: string;
    /** Cinder volume mounted at `/data`. */
    dataVolumeId: pulumi.Input<string>;
    /** Random cluster ID, stored in the server's metadata. */
    clusterId: pulumi.Input<string>;
    /**
     * Resources the server is created after and deleted before (the burst-worker sweep, which
     * must run once the server's service can no longer launch workers).
     */
    serverDependsOn?: pulumi.Resource[];
}

/** The head node server and its addresses. */
export class HeadNode extends pulumi.ComponentResource {
    /** The Nova server. */
    readonly instance: openstack.compute.Instance;
    /** Address on the cluster network (workers reach the Salt master here). */
    readonly clusterAddress: pulumi.Output<string>;
    /** Address users and the provisioning step reach (floating IP, or the cluster address). */
    readonly publicAddress: pulumi.Output<string>;
    /**
     * Resources that must exist before the provisioning step runs: the server, the floating IP
     * association (SSH answers at {@link publicAddress} only then) and the `/data` attachment
     * (the state run formats and mounts the attached volume).
     */
    readonly provisionAfter: pulumi.Resource[];

    /**
     * @param name The _unique_ name of this component.
     * @param args Server settings and what it attaches to.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: HeadNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dynamic-cluster:index:HeadNode", name, {}, opts);
        const parent = { parent: this };

        const port = new openstack.networking.Port(
            `${name}-port`,
            {
                name: `${args.headNode.name}-port`,
                networkId: args.network.networkId,
                adminStateUp: true,
                securityGroupIds: [args.network.headSecurityGroup.id],
                fixedIps: [{ subnetId: args.network.subnetId }],
            },
            parent,
        );
        this.clusterAddress = port.allFixedIps.apply((ips) => {
            const ipv4 = ips.find((ip) => !ip.includes(":"));
            if (!ipv4)
                throw new pulumi.ResourceError("The head node's port has no IPv4 address.", this);
            return ipv4;
        });

        this.instance = new openstack.compute.Instance(
            `${name}-server`,
            {
                name: args.headNode.name,
                flavorName: args.headNode.flavor,
                imageName: args.headNode.image,
                keyPair: args.keyName,
                availabilityZone: args.headNode.availabilityZone,
                networks: [{ port: port.id }],
                userData: args.userData,
                metadata: { "dc:role": "head", "dc:cluster": args.clusterId },
                // The cluster's tag (the whole cluster in one listing) and the head's own, which
                // lib/tags.ts `workerIdentity` refuses: nothing ever takes the head for a worker.
                tags: [PRODUCT_TAG, pulumi.interpolate`dc-cluster-${args.clusterId}`, HEAD_TAG],
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: args.serverDependsOn },
        );

        const dataAttachment = new openstack.compute.VolumeAttach(
            `${name}-data-attach`,
            { instanceId: this.instance.id, volumeId: args.dataVolumeId },
            { parent: this, deleteBeforeReplace: true },
        );

        const pool = args.network.floatingIpPool;
        if (pool) {
            const floatingIp = new openstack.networking.FloatingIp(
                `${name}-floating-ip`,
                { pool, description: `${args.headNode.name} (Dynamic Cluster head node)` },
                {
                    parent: this,
                    dependsOn: args.network.routerInterface ? [args.network.routerInterface] : [],
                },
            );
            const associate = new openstack.networking.FloatingIpAssociate(
                `${name}-floating-ip-associate`,
                { floatingIp: floatingIp.address, portId: port.id },
                parent,
            );
            this.publicAddress = floatingIp.address;
            this.provisionAfter = [this.instance, associate, dataAttachment];
        } else {
            this.publicAddress = this.clusterAddress;
            this.provisionAfter = [this.instance, dataAttachment];
        }

        this.registerOutputs({
            instanceId: this.instance.id,
            clusterAddress: this.clusterAddress,
            publicAddress: this.publicAddress,
        });
    }
}
