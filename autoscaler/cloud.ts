/**
 * The service's view of Nova, through the project's one OpenStack client (`lib/openstack`, shared
 * with the WorkerPool provider): lists the cluster's servers by tag, boots a burst worker with
 * the same tags, metadata and user-data renderer as the provider, and deletes servers.
 */
import { newMinionId } from "../lib/minionId";
import { type ComputeClient, type Server } from "../lib/openstack";
import {
    clusterTag,
    METADATA_MINION_ID,
    METADATA_NODE_NAME,
    poolTag,
    workerMetadata,
    workerTags,
} from "../lib/tags";
import { encodeUserData, renderWorkerUserData } from "../lib/userData";
import type { ServerView } from "./model";
import type { ServiceSettings } from "./settings";

/** A server as the policy sees it. */
export function toServerView(server: Server): ServerView {
    const pool = server.tags.includes(poolTag("burst"))
        ? "burst"
        : server.tags.includes(poolTag("static"))
          ? "static"
          : undefined;
    return {
        id: server.id,
        name: server.name,
        status: server.status,
        address: server.address,
        fault: server.fault,
        node: server.metadata[METADATA_NODE_NAME],
        minionId: server.metadata[METADATA_MINION_ID],
        pool,
        createdAt: Date.parse(server.created) || 0,
    };
}

/** IDs Nova needs for a boot, resolved once and cached until a boot fails on them. */
interface BootRefs {
    flavorId: string;
    imageId: string;
    networkId: string;
}

/** Launches, lists and deletes the cluster's workers. */
export class WorkerCloud {
    private refs?: Promise<BootRefs>;

    /**
     * @param nova the compute client (application credential of the service).
     * @param settings cluster settings: flavor, image, network, key, groups, master.
     * @param userDataTemplate the text of `cloud-init/worker.yaml`.
     */
    constructor(
        readonly nova: ComputeClient,
        private readonly settings: ServiceSettings,
        private readonly userDataTemplate: string,
    ) {}

    /** Every server tagged for this cluster (both pools). */
    async list(): Promise<ServerView[]> {
        const servers = await this.nova.listServersByTags([clusterTag(this.settings.cluster.id)]);
        return servers.map(toServerView);
    }

    private bootRefs(): Promise<BootRefs> {
        const w = this.settings.workers;
        this.refs ??= Promise.all([
            this.nova.flavorId(w.flavor),
            this.nova.imageId(w.image),
            this.nova.networkId(this.settings.network.network_id),
        ]).then(([flavorId, imageId, networkId]) => ({ flavorId, imageId, networkId }));
        this.refs.catch(() => (this.refs = undefined));
        return this.refs;
    }

    /** A fresh minion ID for a burst worker of `node`. */
    newMinionId(node: string): string {
        return newMinionId(node);
    }

    /** The base64 user-data of a burst worker (throws if the template cannot carry it). */
    userData(node: string, minionId: string): string {
        return encodeUserData(
            renderWorkerUserData(this.userDataTemplate, {
                minionId,
                nodeName: node,
                masterAddress: this.settings.head.address,
                masterFinger: this.settings.salt.master_finger,
            }),
        );
    }

    /** Boots the burst worker `node` with `minionId`; returns the server ID. */
    async launch(node: string, minionId: string): Promise<string> {
        const userData = this.userData(node, minionId);
        const refs = await this.bootRefs();
        const w = this.settings.workers;
        return this.nova.createServer({
            name: node,
            flavorId: refs.flavorId,
            imageId: refs.imageId,
            networkIds: [refs.networkId],
            securityGroups: [this.settings.network.worker_security_group],
            keyName: w.key_name || undefined,
            availabilityZone: w.availability_zone || undefined,
            userData,
            metadata: workerMetadata(minionId, node),
            tags: workerTags(this.settings.cluster.id, "burst"),
        });
    }

    /** Deletes a server (a server already gone counts as deleted). */
    async delete(serverId: string): Promise<void> {
        await this.nova.deleteServer(serverId);
    }
}
