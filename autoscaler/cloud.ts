/**
 * The service's view of Nova, through the project's one OpenStack client (`lib/openstack`, shared
 * with the WorkerPool provider): lists the cluster's workers by tag, boots a burst worker with
 * the same tags, metadata and user-data renderer as the provider, and deletes workers.
 *
 * Only workers are ever seen or deleted: the listing keeps the servers {@link workerIdentity}
 * recognises (so the head node, which carries the cluster's tag, and servers a user tagged by
 * hand never reach the policy), and every delete first reads the server again and refuses unless
 * it is a server the service owns: a burst worker of this cluster, or a static one the WorkerPool
 * handed over ({@link RETIRING_TAG}). The application credential's access rules cannot say this
 * (Keystone's rules match a service, a method and a path, nothing about the server; see
 * components/accessRules.ts), so the check is here, in the one place every delete goes through.
 *
 * The flavor, image and network IDs a boot needs are looked up by name and reused, but not
 * forever: they expire after {@link BOOT_REFS_TTL_MS}, and a create call that Nova answers with
 * one of its 400s for an unusable image or flavor ({@link namesStaleBootRef}) looks them up at
 * once, so an image rotated under the same name costs at most one rejected create.
 */
import { newMinionId } from "../lib/minionId";
import {
    type BootRequest,
    type ComputeClient,
    OpenStackApiError,
    type Server,
} from "../lib/openstack";
import { clusterTag, RETIRING_TAG, workerIdentity, workerMetadata, workerTags } from "../lib/tags";
import { encodeUserData, renderWorkerUserData } from "../lib/userData";
import type { ServerView } from "./model";
import type { LaunchChoice } from "./poolLaunch";
export type { LaunchChoice } from "./poolLaunch";
import type { ServiceSettings } from "./settings";

/**
 * A worker of cluster `clusterId` as the policy sees it, or undefined for any other server (the
 * head node, a server tagged by hand): see {@link workerIdentity}.
 */
export function toServerView(server: Server, clusterId: string): ServerView | undefined {
    const identity = workerIdentity(server, clusterId);
    if (!identity) return undefined;
    return {
        id: server.id,
        name: server.name,
        status: server.status,
        address: server.address,
        fault: server.fault,
        node: identity.node,
        minionId: identity.minionId,
        pool: identity.pool,
        retiring: identity.retiring || undefined,
        createdAt: Date.parse(server.created) || 0,
    };
}

/** Why the service refuses to delete a server it does not own. */
export class NotOwnedError extends Error {
    override readonly name = "NotOwnedError";
}

/**
 * How long looked-up boot IDs are used before they are looked up again: 10 minutes. A lookup
 * that fails at expiry keeps the old IDs in use (a Glance outage must not stop launches).
 */
export const BOOT_REFS_TTL_MS = 10 * 60_000;

/*
 * Nova's 400 texts of a create call (POST /servers) that mean the image or flavor ID sent is no
 * longer usable, matched whole. Paths in github.com/openstack/nova (master at 00a0304, and the
 * same in the test cloud's Nova 26): the create handler in nova/api/openstack/compute/servers.py
 * turns ImageNotFound into the fixed text "Can not find requested image" (so its own "Image
 * %(image_id)s could not be found." never reaches a create's caller), and ImageNotActive,
 * ImageNotAuthorized and FlavorNotFound (among others) into HTTPBadRequest with the exception's
 * message from nova/exception.py. No create error says "Invalid imageRef": a malformed imageRef
 * fails schema validation, which a looked-up ID cannot. The flavor's number in FlavorNotFound
 * can be Nova's internal one (a disabled flavor), so the IDs in the texts are not compared.
 */
const STALE_REF_TEXTS: readonly RegExp[] = [
    // servers.py create: `except exception.ImageNotFound` (image deleted, or an ID never valid)
    /^Can not find requested image$/,
    // exception.py ImageNotActive: "Image %(image_id)s is not active." (deactivated, or not yet
    // imported; raised by nova/compute/api.py _validate_flavor_image)
    /^Image \S+ is not active\.$/,
    // exception.py ImageNotAuthorized: "Not authorized for image %(image_id)s." (Glance
    // answered 403: the image was made private or unshared; nova/image/glance.py)
    /^Not authorized for image \S+\.$/,
    // exception.py FlavorNotFound: "Flavor %(flavor_id)s could not be found." (deleted:
    // nova/compute/flavors.py get_flavor_by_flavor_id; disabled: nova/compute/api.py)
    /^Flavor \S+ could not be found\.$/,
];

/** True when `err` is Nova's 400 for an image or flavor ID that is no longer usable. */
export function namesStaleBootRef(err: unknown): boolean {
    return (
        err instanceof OpenStackApiError &&
        err.status === 400 &&
        STALE_REF_TEXTS.some((text) => text.test(err.apiMessage.trim()))
    );
}

/** IDs Nova needs for a boot, as looked up from the settings' names. */
interface BootRefs {
    flavorId: string;
    imageId: string;
    networkId: string;
}

/** Launches, lists and deletes the cluster's workers. */
export class WorkerCloud {
    /** The last looked-up IDs per flavor and image, and when; absent until looked up or stale. */
    private readonly refs = new Map<string, { value: BootRefs; at: number }>();
    /** The lookups in flight, shared by concurrent launches of the same flavor and image. */
    private readonly lookups = new Map<string, Promise<BootRefs>>();

    /**
     * @param nova the compute client (application credential of the service).
     * @param settings cluster settings: network, key, groups, master (and the default pool's
     *   flavor and image, what {@link launch} boots when given no choice).
     * @param userDataTemplate the text of `cloud-init/worker.yaml`.
     * @param now clock (tests), for the expiry of the boot IDs.
     */
    constructor(
        readonly nova: ComputeClient,
        private readonly settings: ServiceSettings,
        private readonly userDataTemplate: string,
        private readonly now: () => number = Date.now,
    ) {}

    /** Every worker of this cluster (both pools); other servers with the cluster's tag are left out. */
    async list(): Promise<ServerView[]> {
        const clusterId = this.settings.cluster.id;
        const servers = await this.nova.listServersByTags([clusterTag(clusterId)]);
        return servers.flatMap((server) => toServerView(server, clusterId) ?? []);
    }

    /** The boot IDs of `choice`: cached within the TTL, else looked up (the old ones if that fails). */
    private async bootRefs(choice: LaunchChoice): Promise<BootRefs> {
        const key = refsKey(choice);
        const cached = this.refs.get(key);
        if (cached && this.now() - cached.at < BOOT_REFS_TTL_MS) return cached.value;
        let lookup = this.lookups.get(key);
        if (!lookup) {
            lookup = this.lookUpRefs(choice).finally(() => this.lookups.delete(key));
            this.lookups.set(key, lookup);
        }
        try {
            return await lookup;
        } catch (err) {
            if (cached) return cached.value;
            throw err;
        }
    }

    private async lookUpRefs(choice: LaunchChoice): Promise<BootRefs> {
        const [flavorId, imageId, networkId] = await Promise.all([
            this.nova.flavorId(choice.flavor),
            this.nova.imageId(choice.image),
            this.nova.networkId(this.settings.network.network_id),
        ]);
        const value = { flavorId, imageId, networkId };
        this.refs.set(refsKey(choice), { value, at: this.now() });
        return value;
    }

    /** The default pool's first choice (`workers.flavor`, image and zone). */
    defaultChoice(): LaunchChoice {
        const w = this.settings.workers;
        return { flavor: w.flavor, image: w.image, availabilityZone: w.availability_zone };
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

    /**
     * Boots the burst worker `node` with `minionId` as `choice` says (its pool's flavor, image
     * and zone; the default pool's when not given); returns the server ID. When Nova rejects
     * the image or flavor ID ({@link namesStaleBootRef}; a 400 creates nothing), the IDs are
     * looked up again and, only if they changed, the create is sent once more.
     * @throws the create call's error (the first one when the IDs did not change).
     */
    async launch(
        node: string,
        minionId: string,
        choice: LaunchChoice = this.defaultChoice(),
    ): Promise<string> {
        const userData = this.userData(node, minionId);
        const refs = await this.bootRefs(choice);
        try {
            return await this.nova.createServer(
                this.bootRequest(node, minionId, userData, refs, choice),
            );
        } catch (err) {
            if (!namesStaleBootRef(err)) throw err;
            const key = refsKey(choice);
            if (this.refs.get(key)?.value === refs) this.refs.delete(key);
            const fresh = await this.bootRefs(choice).catch(() => undefined);
            if (!fresh || (fresh.imageId === refs.imageId && fresh.flavorId === refs.flavorId))
                throw err;
            return this.nova.createServer(
                this.bootRequest(node, minionId, userData, fresh, choice),
            );
        }
    }

    private bootRequest(
        node: string,
        minionId: string,
        userData: string,
        refs: BootRefs,
        choice: LaunchChoice,
    ): BootRequest {
        return {
            name: node,
            flavorId: refs.flavorId,
            imageId: refs.imageId,
            networkIds: [refs.networkId],
            securityGroups: [this.settings.network.worker_security_group],
            keyName: this.settings.workers.key_name || undefined,
            availabilityZone: choice.availabilityZone || undefined,
            userData,
            metadata: workerMetadata(minionId, node),
            tags: workerTags(this.settings.cluster.id, "burst"),
        };
    }

    /**
     * Deletes a server the service owns: a burst worker of this cluster, or a static one the
     * WorkerPool handed over (tagged {@link RETIRING_TAG}, or from an older release tagged burst).
     * The server is read again first, so a tag changed since the round's listing counts (the
     * WorkerPool taking a retiring server back, say). A server already gone counts as deleted.
     * @throws NotOwnedError for any other server (the head node above all), deleting nothing.
     */
    async delete(serverId: string): Promise<void> {
        const server = await this.nova.getServer(serverId);
        if (!server) return;
        const identity = workerIdentity(server, this.settings.cluster.id);
        if (!identity || (identity.pool === "static" && !identity.retiring)) {
            throw new NotOwnedError(
                `refusing to delete server ${server.name} (${server.id}): it is not a worker this ` +
                    `service owns (a burst worker of cluster ${this.settings.cluster.id}, or a ` +
                    `static one the WorkerPool handed over with the tag ${RETIRING_TAG}); its tags: ` +
                    `${server.tags.join(", ") || "none"}`,
            );
        }
        await this.nova.deleteServer(serverId);
    }
}

/** The cache key of a flavor and image's boot IDs. */
function refsKey(choice: LaunchChoice): string {
    return `${choice.flavor}\u0000${choice.image}`;
}
