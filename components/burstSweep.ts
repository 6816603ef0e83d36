/**
 * `BurstSweep`: deletes the burst workers of a cluster when the stack is destroyed.
 *
 * Burst workers (tag `dc-pool-burst`) are started by the head-node service, not by Pulumi, so no
 * resource of the stack owns them; left alone they would keep running, billing and holding ports
 * on the cluster network (whose deletion would then fail). This resource owns nothing while the
 * stack lives (create and update touch nothing); its delete removes every server tagged
 * `dc-cluster-<id>` and `dc-pool-burst` and waits until Nova has removed them.
 *
 * When it runs: the cluster wires it so that the head server depends on it and it depends on the
 * network and security groups. `pulumi destroy` deletes in reverse dependency order, so the head
 * node (with the service that launches workers) is gone first, then this sweep runs, then the
 * network is deleted with no worker port left on it.
 *
 * Serialized by value into the stack's state; uses only `lib/` and `providerCloud`.
 */
import * as pulumi from "@pulumi/pulumi";
import { clusterTag, poolTag, workerIdentity } from "../lib/tags";
import { configureFromStack, novaClient } from "./providerCloud";
import { containsUnknown } from "./unknown";

/** How long the sweep waits for Nova to delete the servers, seconds. */
export const SWEEP_TIMEOUT_SECONDS = 600;

/** Inputs (and outputs) of the sweep. */
export interface BurstSweepInputs {
    clusterId: string;
}

/** Deletes every burst worker of `clusterId` and waits until they are gone; returns how many. */
export async function sweepBurstWorkers(clusterId: string): Promise<number> {
    const nova = novaClient();
    const tags = [clusterTag(clusterId), poolTag("burst")];
    // Workers only (lib/tags.ts): never a server that merely carries the tags.
    const servers = (await nova.listServersByTags(tags)).filter(
        (server) => workerIdentity(server, clusterId) !== undefined,
    );
    for (const server of servers) await nova.deleteServer(server.id);
    await nova.waitForDeleted(
        servers.map((s) => s.id),
        tags,
        Date.now() + SWEEP_TIMEOUT_SECONDS * 1000,
    );
    return servers.length;
}

/** The provider. Exported for tests. */
export const burstSweepProvider: pulumi.dynamic.ResourceProvider = {
    configure: configureFromStack,

    async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
        const id = news["clusterId"];
        if (!containsUnknown(id) && (typeof id !== "string" || !/^[a-z0-9]{4,32}$/.test(id))) {
            return {
                inputs: news,
                failures: [
                    { property: "clusterId", reason: "clusterId must be the cluster's ID." },
                ],
            };
        }
        return { inputs: news };
    },

    async diff(_id: string, olds: BurstSweepInputs, news: BurstSweepInputs) {
        // A new cluster ID is a new cluster: the old one's workers are swept by the replacement.
        const replaces = olds.clusterId === news.clusterId ? [] : ["clusterId"];
        return { changes: replaces.length > 0, replaces };
    },

    async create(inputs: BurstSweepInputs) {
        return { id: `burst-sweep-${inputs.clusterId}`, outs: { clusterId: inputs.clusterId } };
    },

    async delete(_id: string, props: BurstSweepInputs) {
        await sweepBurstWorkers(props.clusterId);
    },
};

/** Arguments of {@link BurstSweep}. */
export interface BurstSweepArgs {
    /** The cluster whose burst workers are deleted with the stack. */
    clusterId: pulumi.Input<string>;
}

/** Deletes the cluster's burst workers when the stack is destroyed (see the module header). */
export class BurstSweep extends pulumi.dynamic.Resource {
    /**
     * @param name The _unique_ name of this resource.
     * @param args The cluster ID.
     * @param opts Must make the head server depend on this and this on the network.
     */
    constructor(name: string, args: BurstSweepArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            burstSweepProvider,
            name,
            { clusterId: args.clusterId },
            opts,
            "dynamic-cluster",
            "BurstSweep",
        );
    }
}
