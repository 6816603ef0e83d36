/**
 * A simulated Nova for the replay: servers that go from BUILD to ACTIVE (or to ERROR, at the
 * failure rate) after a drawn boot time, whose worker then registers with Slurm after a drawn
 * configuration time (Salt admission and highstate), an instances quota, and deletes that take
 * a fixed time. It bills every server from its create call until it is gone, and lists servers
 * in the shape the policy reads (tagged with `dc:node`, `dc:minion` and the pool).
 */
import type { ServerView } from "../../autoscaler/model";
import type { WorkerPoolKind } from "../../lib/tags";
import type { CloudModel } from "../model";
import type { Random } from "../random";
import type { EventQueue } from "./queue";

/**
 * The fault a failed boot shows: a real Nova message (nova/compute/manager.py) that the
 * service classifies as a boot error (it counts toward the breaker; capacity and quota texts
 * would back the flavor off instead).
 */
export const BOOT_FAULT =
    "Build of instance aborted: Failed to allocate the network(s), not rescheduling.";

/** Nova's quota refusal of a create call (nova/exception.py TooManyInstances). */
export class QuotaExceeded extends Error {
    override name = "QuotaExceeded";
}

interface SimServer {
    view: ServerView;
    deleting: boolean;
    /** When its worker became usable (registered), s; undefined until then. */
    readyAt?: number;
    /** When its delete call came, s. */
    deletedAt?: number;
    /** Salt accepted its key (ACTIVE, minion admitted). */
    admitted: boolean;
}

/** What the cloud tells the rest of the simulation. */
export interface NovaHooks {
    /** The worker on `node` registered with the scheduler (slurmd started). */
    ready(node: string, serverId: string): void;
    changed(): void;
    /** The server `serverId` of `node` went to ERROR (optional: the service lists servers). */
    failed?(node: string, serverId: string): void;
}

/** How servers are counted per worker pool (a replay with several: `--pools`). */
export interface ServerGroups {
    /** Pools. */
    count: number;
    /** The pool of a node, 0..count-1. */
    of(node: string): number;
}

/** The simulated compute service. */
export class SimNova {
    private readonly servers = new Map<string, SimServer>();
    private nextId = 1;
    private listing: ServerView[] | undefined;
    /** Minion IDs whose keys the master accepted. */
    readonly accepted = new Set<string>();
    /** Of the server-seconds billed by servers already gone ({@link billedGoneOf}): from the create call until usable (or until deleted, if never usable). */
    private bootingSeconds = 0;
    /** Of those: from the delete call until gone. */
    private deletingSeconds = 0;
    /** Servers at once, at most. */
    peak = 0;
    /** Per pool: servers now, at most, create calls, and server-seconds of servers gone. */
    private readonly live: number[];
    readonly peakOf: number[];
    readonly createsOf: number[];
    private readonly billedGoneOf: number[];

    constructor(
        private readonly clock: EventQueue,
        private readonly cloud: CloudModel,
        private readonly random: Random,
        private readonly hooks: NovaHooks,
        private readonly groups: ServerGroups = { count: 1, of: () => 0 },
    ) {
        const zeros = () => new Array<number>(groups.count).fill(0);
        this.live = zeros();
        this.peakOf = zeros();
        this.createsOf = zeros();
        this.billedGoneOf = zeros();
    }

    /**
     * `POST /servers`. Static servers exist from the start (Pulumi made them before the trace).
     * @throws QuotaExceeded when the quota is used up.
     */
    create(node: string, minionId: string, pool: WorkerPoolKind, preExisting = false): string {
        // Servers that exist before the trace (a static cluster, the floor) are not refused: the
        // CLI checks that the floor fits the quota; the static reference ignores the quota.
        if (
            !preExisting &&
            this.cloud.quota !== undefined &&
            this.servers.size >= this.cloud.quota
        ) {
            throw new QuotaExceeded(
                `Quota exceeded for instances: Requested 1, but already used ${this.servers.size} of ${this.cloud.quota} instances`,
            );
        }
        const id = `server-${this.nextId++}`;
        const now = this.clock.now;
        const server: SimServer = {
            view: {
                id,
                name: node,
                status: preExisting ? "ACTIVE" : "BUILD",
                node,
                minionId,
                pool,
                createdAt: now * 1000,
                address: preExisting ? node : undefined,
            },
            deleting: false,
            admitted: preExisting,
            readyAt: preExisting ? now : undefined,
        };
        this.servers.set(id, server);
        this.peak = Math.max(this.peak, this.servers.size);
        const group = this.groups.of(node);
        this.live[group]!++;
        this.peakOf[group] = Math.max(this.peakOf[group]!, this.live[group]!);
        this.changed();
        if (preExisting) {
            this.accepted.add(minionId);
            return id;
        }
        this.createsOf[group]!++;
        const boot = this.random.logNormal(this.cloud.bootMedian, this.cloud.bootP95);
        const fails = this.random.chance(this.cloud.failureRate);
        const configure = this.random.logNormal(
            this.cloud.configureMedian,
            this.cloud.configureP95,
        );
        this.clock.at(now + boot, () => {
            if (server.deleting) return;
            server.view = fails
                ? { ...server.view, status: "ERROR", fault: BOOT_FAULT }
                : { ...server.view, status: "ACTIVE", address: node };
            if (!fails) {
                server.admitted = true;
                this.accepted.add(minionId);
            }
            this.changed();
            if (fails) {
                this.hooks.failed?.(node, id);
                return;
            }
            this.clock.at(this.clock.now + configure, () => {
                if (server.deleting) return;
                server.readyAt = this.clock.now;
                this.hooks.ready(node, id);
            });
        });
        return id;
    }

    /** `DELETE /servers/{id}`: gone after the delete time (billing stops then). */
    delete(id: string): void {
        const server = this.servers.get(id);
        if (!server || server.deleting) return;
        server.deleting = true;
        server.deletedAt = this.clock.now;
        this.clock.at(this.clock.now + this.cloud.deleteTime, () => {
            this.servers.delete(id);
            if (server.view.minionId) this.accepted.delete(server.view.minionId);
            const created = server.view.createdAt / 1000;
            const group = this.groups.of(server.view.node!);
            this.live[group]!--;
            this.billedGoneOf[group]! += this.clock.now - created;
            this.bootingSeconds += (server.readyAt ?? server.deletedAt!) - created;
            this.deletingSeconds += this.clock.now - server.deletedAt!;
            this.changed();
        });
    }

    /** `GET /servers/detail` of the cluster's tagged servers. */
    list(): ServerView[] {
        this.listing ??= [...this.servers.values()].map((s) => s.view);
        return this.listing;
    }

    /** One server as listed, or undefined once it is gone. */
    get(id: string): ServerView | undefined {
        return this.servers.get(id)?.view;
    }

    /** Servers that exist now (deleting ones included). */
    get count(): number {
        return this.servers.size;
    }

    /**
     * Server-seconds billed: servers gone, plus live ones up to now, except static servers
     * (Pulumi's floor, never deleted), billed up to `windowEnd` (the trace's last job end).
     */
    billed(windowEnd: number): number {
        return this.billedOf(windowEnd).reduce((sum, seconds) => sum + seconds, 0);
    }

    /** Create calls made (servers that existed before the trace not counted). */
    get creates(): number {
        return this.createsOf.reduce((sum, n) => sum + n, 0);
    }

    /** {@link billed}, per pool. */
    billedOf(windowEnd: number): number[] {
        const total = [...this.billedGoneOf];
        for (const s of this.servers.values()) {
            const until = s.view.pool === "static" ? windowEnd : this.clock.now;
            total[this.groups.of(s.view.node!)]! += Math.max(0, until - s.view.createdAt / 1000);
        }
        return total;
    }

    /**
     * Where the billed server-seconds ({@link billed}) went, apart from running jobs: booting
     * (create call to usable, or to the delete call for a server never usable) and deleting
     * (delete call to gone). The rest of the bill is usable servers, busy or idle.
     */
    overheads(windowEnd: number): { booting: number; deleting: number } {
        let booting = this.bootingSeconds;
        let deleting = this.deletingSeconds;
        for (const s of this.servers.values()) {
            const created = s.view.createdAt / 1000;
            const until = s.view.pool === "static" ? windowEnd : this.clock.now;
            booting += Math.max(0, Math.min(until, s.readyAt ?? s.deletedAt ?? until) - created);
            if (s.deletedAt !== undefined) deleting += Math.max(0, until - s.deletedAt);
        }
        return { booting, deleting };
    }

    private changed(): void {
        this.listing = undefined;
        this.hooks.changed();
    }
}
