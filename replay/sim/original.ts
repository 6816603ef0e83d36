/**
 * The original eResearchSA Dynamic Cluster's allocator and scaler, as it was (Torque + MAUI),
 * for comparison. Ported rule by rule from janse180/dynamiccluster at commit 8bc7bd8e (Shunde
 * Zhang's last commit, 2015-11-21; the upstream eResearchSA repository's code); file:line
 * references are to that commit. One resource (one flavor), no reservations, MAUI priority =
 * submit order.
 *
 * Every tick (`cluster_poller_interval`, 10 s; server.py 245-269):
 * 1. node states (server.py 492-495): a Starting worker older than `max_launch_time` (1200 s)
 *    since its cloud creation is destroyed (server.py 343-365); an ERROR server is destroyed
 *    (R13); an Idle worker (no job at all) idle longer than `max_idle_time` (600 s) is put
 *    offline while Idle+Busy workers exceed `min` (server.py 367-378, 295-299), and deleted at
 *    the next tick once it runs no job, keeping `min` (server.py 430-444). Offline workers never
 *    come back by themselves (cluster_manager.py 129-141);
 * 2. minimum top-up (server.py 497-503): fewer VMs than `min` (any state) and none Starting:
 *    launch the difference; this blocks the allocator for the tick;
 * 3. allocator (server.py 504-515, resource_allocator.py 14-105), only when no worker is
 *    Starting: the first 30 queued jobs (`queued_job_number_to_display`, cluster_manager.py
 *    188-193) are packed first-fit into new VMs (`nodes=N:ppn=P`, one chunk per VM per job,
 *    headroom `(max - current) x cores`), as if no existing VM had room (MAUI has already placed
 *    what fits); a job that fits nowhere is skipped until the next tick. One launch of
 *    `len(proposal)` VMs.
 * The 60 s `auto_provision_interval` never applies: server.py:260 sets the counter to -1 every
 * second, so the allocator runs at every tick. A booted worker is seen by the cloud poll
 * (`cloud_poller_interval`, 20 s in the shipped configs) and joins Torque at the next tick
 * (`add_node`, cluster_manager.py 301-353); the simulation joins it at the first tick at least
 * one poll interval after it is ready.
 */
import type { SimNova } from "./nova";
import type { EventQueue } from "./queue";
import type { SimNode, SimSlurm } from "./slurm";

/** The original's settings (seconds), as its shipped configuration sets them. */
export interface OriginalSettings {
    /** cluster_poller_interval (config/dynamiccluster.yaml: 10). */
    tick: number;
    /** cloud_poller_interval (config/dynamiccluster.yaml: 20). */
    cloudPoll: number;
    /** max_idle_time (600 by default). */
    maxIdleTime: number;
    /** max_launch_time (1200 by default). */
    maxLaunchTime: number;
    /** queued_job_number_to_display (30 in the shipped config). */
    queuedJobsSeen: number;
    min: number;
    max: number;
    coresPerNode: number;
}

interface Worker {
    node: SimNode;
    serverId: string;
    createdAt: number;
    state: "starting" | "joining" | "up" | "holding" | "deleting";
    readyAt?: number;
}

/** The original allocator in simulated time. */
export class OriginalAllocator {
    private readonly workers: Worker[] = [];
    /** The nodes of `workers` (a node has at most one worker). */
    private readonly withWorker = new Set<SimNode>();
    private ticking = false;
    private lastTick = -Infinity;
    rounds = 0;
    failures = 0;

    constructor(
        private readonly clock: EventQueue,
        private readonly settings: OriginalSettings,
        private readonly nova: SimNova,
        private readonly slurm: SimSlurm,
    ) {}

    /** Starts the tick loop (idempotent; jobs and workers wake it); it stops when settled. */
    wake(): void {
        if (this.ticking) return;
        this.ticking = true;
        const tick = this.settings.tick;
        const next = Math.max(this.lastTick + tick, Math.ceil(this.clock.now / tick) * tick);
        this.clock.at(next, () => this.tick());
    }

    /** A worker's server is configured (its pbs_mom answers on port 15002). */
    ready(node: string): void {
        const w = this.workers.find((x) => x.node.name === node && x.state === "starting");
        if (w) {
            w.state = "joining";
            w.readyAt = this.clock.now;
        }
        this.wake();
    }

    private tick(): void {
        this.rounds++;
        this.lastTick = this.clock.now;
        const now = this.clock.now;
        const s = this.settings;
        // 1. Node states, in list order. `usable` counts the workers up, as each step sees them.
        let usable = this.upCount();
        for (const w of [...this.workers]) {
            if (w.state === "deleting") {
                if (!this.nova.get(w.serverId)) {
                    this.workers.splice(this.workers.indexOf(w), 1);
                    this.withWorker.delete(w.node);
                }
                continue;
            }
            if (w.state === "starting" || w.state === "joining") {
                if (this.nova.get(w.serverId)?.status === "ERROR") {
                    this.failures++;
                    this.destroy(w);
                } else if (w.state === "joining" && now - w.readyAt! >= s.cloudPoll) {
                    w.state = "up";
                    usable++;
                    this.slurm.join(w.node.name);
                } else if (now - w.createdAt > s.maxLaunchTime) {
                    this.failures++;
                    this.destroy(w);
                }
                continue;
            }
            if (w.state === "up") {
                if (
                    w.node.jobs.size === 0 &&
                    now - w.node.idleSince > s.maxIdleTime &&
                    usable > s.min
                ) {
                    w.state = "holding";
                    usable--;
                    this.slurm.setOffline(w.node.name);
                }
            } else if (w.state === "holding" && w.node.jobs.size === 0 && usable + 1 > s.min) {
                this.destroy(w);
            }
        }
        // 2. Minimum top-up.
        const starting = this.workers.some((w) => w.state === "starting" || w.state === "joining");
        const current = this.workers.length;
        let launched = false;
        if (current < s.min && !starting) {
            this.launch(s.min - current);
            launched = true;
        }
        // 3. The allocator.
        if (!launched && !starting) {
            const proposal: number[] = [];
            // qstat's queued jobs, in queue order.
            const queued = this.slurm.queued();
            for (let i = 0; i < queued.length && i < s.queuedJobsSeen; i++) {
                this.fit(queued[i]!.trace.processors, proposal, current);
            }
            if (proposal.length) this.launch(proposal.length);
        }
        this.ticking = false;
        // Ticks go on while anything can still change by itself: jobs waiting, workers
        // starting or leaving, or more workers up than the minimum (their idle clocks run).
        if (
            this.slurm.waiting > 0 ||
            this.workers.some((w) => w.state !== "up") ||
            this.upCount() > s.min
        ) {
            this.wake();
        }
    }

    /** Workers in the batch system and accepting jobs. */
    private upCount(): number {
        let up = 0;
        for (const w of this.workers) if (w.state === "up") up++;
        return up;
    }

    /** resource_allocator.py can_fit: first-fit of `nodes=N:ppn=P` chunks into new VMs. */
    private fit(processors: number, proposal: number[], current: number): void {
        const cores = this.settings.coresPerNode;
        const ppn = Math.min(processors, cores);
        let nodes = Math.ceil(processors / ppn);
        const requested = nodes * ppn;
        const headroom =
            (this.settings.max - current) * cores - proposal.reduce((a, b) => a + b, 0);
        if (headroom < requested) return;
        if (nodes > this.settings.max - current) return;
        const full = proposal.filter((used) => cores - used < ppn).length;
        if (this.settings.max - current - full < nodes) return;
        for (let i = 0; i < proposal.length && nodes > 0; i++) {
            if (proposal[i]! + ppn <= cores) {
                proposal[i]! += ppn;
                nodes--;
            }
        }
        while (nodes-- > 0) proposal.push(ppn);
    }

    private launch(count: number): void {
        for (let i = 0; i < count; i++) {
            const node = this.slurm.nodes.find((n) => n.power === "off" && !this.withWorker.has(n));
            if (!node) return;
            let serverId: string;
            try {
                serverId = this.nova.create(node.name, `${node.name}-original`, "burst");
            } catch {
                return; // the original logs "try again later" and the next tick re-evaluates
            }
            this.workers.push({ node, serverId, createdAt: this.clock.now, state: "starting" });
            this.withWorker.add(node);
        }
    }

    private destroy(w: Worker): void {
        if (w.state === "up" || w.state === "holding") this.slurm.remove(w.node.name);
        w.state = "deleting";
        this.nova.delete(w.serverId);
    }
}
