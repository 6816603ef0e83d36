/**
 * The Nova (and Glance look-up) calls Dynamic Cluster makes, at a pinned compute microversion
 * (2.52: boot-time tags; 2.37+ also makes `networks` explicit): boot, show, list by tag with
 * pagination, delete, flavor and image look-up, and waits with deadlines. Waits poll one list
 * call per round for the whole batch, not one GET per server.
 *
 * Listing follows Nova's `servers_links` (rel "next") to the end: Nova returns at most its
 * `[api] max_limit` servers a page whatever `limit` asks, so a page shorter than the client's
 * page size does not mean the list is complete. Only the link's `marker` is used; the request
 * goes to the catalog's endpoint as before (the link's host is the cloud's link prefix, which
 * may differ, and must not receive the token).
 */
import { DeadlineError, OpenStackApiError, OpenStackConfigError } from "./errors";
import type { Session } from "./session";

/** The compute microversion every call is made at. */
export const COMPUTE_MICROVERSION = "2.52";

const VERSION_HEADERS = {
    "OpenStack-API-Version": `compute ${COMPUTE_MICROVERSION}`,
    "X-OpenStack-Nova-API-Version": COMPUTE_MICROVERSION,
};

/** A server as Dynamic Cluster sees it. */
export interface Server {
    id: string;
    name: string;
    status: string;
    tags: string[];
    metadata: Record<string, string>;
    /** First IPv4 address on any network, if any. */
    address?: string;
    /** Nova's fault message for ERROR servers. */
    fault?: string;
    created: string;
}

/** What to boot. */
export interface BootRequest {
    name: string;
    flavorId: string;
    imageId: string;
    /** Network IDs, or undefined for none (`networks: "none"`). */
    networkIds?: string[];
    securityGroups?: string[];
    keyName?: string;
    availabilityZone?: string;
    /** Base64 user-data. */
    userData?: string;
    metadata?: Record<string, string>;
    tags?: string[];
}

interface NovaServer {
    id: string;
    name: string;
    status: string;
    tags?: string[];
    metadata?: Record<string, string>;
    addresses?: Record<string, Array<{ addr: string; version: number }>>;
    fault?: { message?: string };
    created: string;
}

function toServer(s: NovaServer): Server {
    const address = Object.values(s.addresses ?? {})
        .flat()
        .find((a) => a.version === 4)?.addr;
    return {
        id: s.id,
        name: s.name,
        status: s.status,
        tags: s.tags ?? [],
        metadata: s.metadata ?? {},
        address,
        fault: s.fault?.message,
        created: s.created,
    };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Servers asked for per page of a listing (`limit`) unless the client is told otherwise. */
export const DEFAULT_PAGE_SIZE = 200;

/**
 * Most pages one listing follows before it fails: 1000 (200,000 servers at the default page
 * size, 1000 even at a cloud limit of 1). Reaching it means a broken cloud, not a big cluster.
 */
export const DEFAULT_MAX_PAGES = 1000;

/** Options of a {@link ComputeClient}. */
export interface ComputeClientOptions {
    /** Servers asked for per page of a listing; default {@link DEFAULT_PAGE_SIZE}. */
    pageSize?: number;
    /** Most pages one listing follows; default {@link DEFAULT_MAX_PAGES}. */
    maxPages?: number;
}

/** One entry of a Nova collection's `*_links`. */
interface NovaLink {
    rel?: string;
    href?: string;
}

/**
 * The marker of the `next` link among `links`, or undefined when there is none (the last page).
 * @throws Error when a next link carries no marker.
 */
function nextMarker(links: readonly NovaLink[] | undefined): string | undefined {
    const next = links?.find((link) => link.rel === "next");
    if (!next) return undefined;
    const marker = new URL(next.href ?? "", "http://relative.invalid/").searchParams.get("marker");
    if (!marker) throw new Error(`Nova's next link "${next.href}" carries no marker.`);
    return marker;
}

function wholeAtLeastOne(name: string, value: number): number {
    if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
            `ComputeClient ${name} must be a whole number of at least 1 (got ${value}).`,
        );
    }
    return value;
}

/** Nova and Glance calls over a {@link Session}. */
export class ComputeClient {
    /** Servers asked for per page of a listing. */
    readonly pageSize: number;
    /** Most pages one listing follows. */
    readonly maxPages: number;

    /**
     * @param session the Keystone session.
     * @param pollMs poll interval of waits, ms.
     * @param options page size and page cap of listings.
     * @throws RangeError when an option is not a whole number of at least 1.
     */
    constructor(
        readonly session: Session,
        readonly pollMs = 1000,
        options: ComputeClientOptions = {},
    ) {
        this.pageSize = wholeAtLeastOne("pageSize", options.pageSize ?? DEFAULT_PAGE_SIZE);
        this.maxPages = wholeAtLeastOne("maxPages", options.maxPages ?? DEFAULT_MAX_PAGES);
    }

    private async nova(
        method: "GET" | "POST" | "PUT" | "DELETE",
        path: string,
        body?: unknown,
    ): Promise<unknown> {
        const response = await this.session.request("compute", {
            method,
            path,
            body,
            headers: VERSION_HEADERS,
        });
        return response.json;
    }

    /** Boots a server; Nova answers 202 with its ID before the server exists anywhere. */
    async createServer(request: BootRequest): Promise<string> {
        const server: Record<string, unknown> = {
            name: request.name,
            flavorRef: request.flavorId,
            imageRef: request.imageId,
            networks: request.networkIds?.length
                ? request.networkIds.map((uuid) => ({ uuid }))
                : "none",
        };
        if (request.securityGroups?.length)
            server["security_groups"] = request.securityGroups.map((name) => ({ name }));
        if (request.keyName) server["key_name"] = request.keyName;
        if (request.availabilityZone) server["availability_zone"] = request.availabilityZone;
        if (request.userData) server["user_data"] = request.userData;
        if (request.metadata) server["metadata"] = request.metadata;
        if (request.tags) server["tags"] = request.tags;
        const json = (await this.nova("POST", "/servers", { server })) as {
            server: { id: string };
        };
        return json.server.id;
    }

    /**
     * Replaces every tag of a server (`PUT /servers/{id}/tags`, microversion 2.26+): how the
     * WorkerPool hands a server of the static floor to the head-node service when
     * `workers.min` is lowered. Only the workstation's provider calls it (not the service: it
     * is not in components/accessRules.ts).
     */
    async replaceServerTags(id: string, tags: string[]): Promise<void> {
        await this.nova("PUT", `/servers/${encodeURIComponent(id)}/tags`, { tags });
    }

    /**
     * The last `lines` lines of a server's console log (`os-getConsoleOutput`), where cloud-init
     * prints the SSH host key fingerprints. Only the workstation's providers call it (not the
     * service: it is not in components/accessRules.ts).
     */
    async consoleOutput(id: string, lines = 2000): Promise<string> {
        const json = (await this.nova("POST", `/servers/${encodeURIComponent(id)}/action`, {
            "os-getConsoleOutput": { length: lines },
        })) as { output?: string };
        return json.output ?? "";
    }

    /** One server, or undefined when Nova no longer knows it. */
    async getServer(id: string): Promise<Server | undefined> {
        try {
            const json = (await this.nova("GET", `/servers/${encodeURIComponent(id)}`)) as {
                server: NovaServer;
            };
            return json.server.status === "DELETED" ? undefined : toServer(json.server);
        } catch (err) {
            if (err instanceof OpenStackApiError && err.status === 404) return undefined;
            throw err;
        }
    }

    /**
     * Every server carrying all of `tags`: every page, following Nova's next links (module
     * comment). Nova's list view may omit the fault of a server in ERROR; those few are shown
     * one by one so every ERROR server carries its fault.
     * @throws Error when the list does not end within {@link maxPages} pages, or a next link
     * repeats a marker: a partial list would make live workers look gone.
     */
    async listServersByTags(tags: string[]): Promise<Server[]> {
        const servers: Server[] = [];
        const markers: string[] = [];
        const query = new URLSearchParams({ tags: tags.join(","), limit: String(this.pageSize) });
        for (let page = 1; ; page++) {
            const json = (await this.nova("GET", `/servers/detail?${query}`)) as {
                servers: NovaServer[];
                servers_links?: NovaLink[];
            };
            servers.push(...json.servers.filter((s) => s.status !== "DELETED").map(toServer));
            const marker = nextMarker(json.servers_links);
            if (marker === undefined) break;
            const what = `Nova's list of servers tagged ${tags.join(",")}`;
            if (markers.includes(marker)) {
                throw new Error(
                    `${what} did not advance: its next link repeats the marker "${marker}"; ` +
                        "refusing to act on a partial list.",
                );
            }
            if (page >= this.maxPages) {
                throw new Error(
                    `${what} did not end within ${this.maxPages} pages of ${this.pageSize} ` +
                        "(the client's page cap); refusing to act on a partial list.",
                );
            }
            markers.push(marker);
            query.set("marker", marker);
        }
        return Promise.all(
            servers.map(async (server) =>
                server.status === "ERROR" && !server.fault
                    ? ((await this.getServer(server.id)) ?? server)
                    : server,
            ),
        );
    }

    /** Deletes a server; a server that is already gone counts as deleted. */
    async deleteServer(id: string): Promise<void> {
        try {
            await this.nova("DELETE", `/servers/${encodeURIComponent(id)}`);
        } catch (err) {
            if (err instanceof OpenStackApiError && err.status === 404) return;
            throw err;
        }
    }

    /** A flavor's ID from its name or ID. */
    async flavorId(nameOrId: string): Promise<string> {
        const json = (await this.nova("GET", "/flavors/detail?is_public=None")) as {
            flavors: Array<{ id: string; name: string }>;
        };
        const found =
            json.flavors.find((f) => f.id === nameOrId) ??
            json.flavors.find((f) => f.name === nameOrId);
        if (!found) {
            throw new OpenStackConfigError(
                `Flavor "${nameOrId}" does not exist; available: ${json.flavors.map((f) => f.name).join(", ")}.`,
            );
        }
        return found.id;
    }

    /** An image's ID from its name or ID (Glance). */
    async imageId(nameOrId: string): Promise<string> {
        if (/^[0-9a-f-]{36}$/i.test(nameOrId)) return nameOrId;
        const response = await this.session.request("image", {
            method: "GET",
            path: `/v2/images?name=${encodeURIComponent(nameOrId)}`,
        });
        const images = (response.json as { images: Array<{ id: string }> }).images;
        if (images.length !== 1) {
            throw new OpenStackConfigError(
                images.length === 0
                    ? `Image "${nameOrId}" does not exist in this project's view of Glance.`
                    : `Image name "${nameOrId}" is ambiguous (${images.length} images); use its ID.`,
            );
        }
        return images[0]!.id;
    }

    /** A network's ID from its name or ID (Neutron). */
    async networkId(nameOrId: string): Promise<string> {
        if (/^[0-9a-f-]{36}$/i.test(nameOrId)) return nameOrId;
        const response = await this.session.request("network", {
            method: "GET",
            path: `/v2.0/networks?name=${encodeURIComponent(nameOrId)}`,
        });
        const networks = (response.json as { networks: Array<{ id: string }> }).networks;
        if (networks.length !== 1) {
            throw new OpenStackConfigError(
                networks.length === 0
                    ? `Network "${nameOrId}" does not exist.`
                    : `Network name "${nameOrId}" is ambiguous; use its ID.`,
            );
        }
        return networks[0]!.id;
    }

    /**
     * Waits until every server in `ids` is ACTIVE or ERROR, or the deadline passes; polls the
     * tag listing once per round. Returns the last state of each (undefined: vanished).
     */
    async waitForBoot(
        ids: string[],
        tags: string[],
        deadline: number,
    ): Promise<Map<string, Server | undefined>> {
        const wanted = new Set(ids);
        const last = new Map<string, Server | undefined>();
        for (;;) {
            const listed = new Map((await this.listServersByTags(tags)).map((s) => [s.id, s]));
            let pending = 0;
            for (const id of wanted) {
                const server = listed.get(id);
                last.set(id, server);
                if (server && server.status !== "ACTIVE" && server.status !== "ERROR") pending++;
            }
            if (pending === 0 || Date.now() >= deadline) return last;
            await sleep(Math.min(this.pollMs, Math.max(0, deadline - Date.now())));
        }
    }

    /** Waits until none of `ids` exists any more. @throws DeadlineError naming the survivors. */
    async waitForDeleted(ids: string[], tags: string[], deadline: number): Promise<void> {
        const wanted = new Set(ids);
        for (;;) {
            const survivors = (await this.listServersByTags(tags)).filter((s) => wanted.has(s.id));
            if (survivors.length === 0) return;
            if (Date.now() >= deadline) {
                throw new DeadlineError(
                    `${survivors.length} server(s) still exist after the deadline: ${survivors.map((s) => `${s.name} (${s.status})`).join(", ")}.`,
                );
            }
            await sleep(Math.min(this.pollMs, Math.max(0, deadline - Date.now())));
        }
    }
}
