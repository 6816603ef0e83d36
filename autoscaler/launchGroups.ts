/**
 * Launches grouped per job, all or nothing: which booting nodes to release because the job they
 * were resumed for cannot get all its nodes now.
 *
 * Slurm's power saving resumes every node a job needs at once, and the job waits in CONFIGURING
 * until all of them have booted. When one of them cannot be created now (its pool's flavors all
 * back off after quota or capacity faults, its pool's breaker is open, or its server went to
 * ERROR for capacity or quota this round), the others would boot and sit idle, paid for,
 * until the job can start or they idle out. They are released instead: the service powers the
 * job's booting nodes down (Slurm's `power_down_force`, with the reason), Slurm puts the job
 * back in the queue (it keeps its priority; nothing ran), deletes the servers that were created
 * through the suspend program, and plans the job again later. When none of the job's other nodes
 * has a server or a launch yet, nothing costs anything: they are only not launched until all
 * can be. Only nodes still powering up are released (never one that is ready, or runs a job).
 */
import type { SchedulerJob, SchedulerNode } from "./scheduler/types";

/** What the release rule reads. */
export interface LaunchGroupInput {
    jobs: readonly SchedulerJob[];
    nodes: ReadonlyMap<string, SchedulerNode>;
    /** Nodes that cannot be created now, and why. */
    blocked: ReadonlyMap<string, string>;
    /** True for a burst node of the policy (the service's to power down), not held. */
    releasable: (node: string) => boolean;
    /** True when the node has a server or a launch started. */
    launched: (node: string) => boolean;
}

/** What the rule decides for the round. */
export interface LaunchGroupDecision {
    /** Booting nodes to power down (the job goes back to the queue), with the reason. */
    release: Map<string, string>;
    /** Nodes not to launch yet (no node of their job has a server), with the note why. */
    hold: Map<string, string>;
}

/**
 * For each job waiting in CONFIGURING for two or more nodes of which one cannot be created now:
 * when another of its nodes already has a server or a launch, every booting node of the job is
 * released; otherwise none of them is launched until all can be (the creates go out together).
 */
export function releasesForBlockedJobs(input: LaunchGroupInput): LaunchGroupDecision {
    const decision: LaunchGroupDecision = { release: new Map(), hold: new Map() };
    if (!input.blocked.size) return decision;
    for (const job of input.jobs) {
        if (job.state !== "configuring" || job.nodes.length < 2) continue;
        const stuck = job.nodes.find((node) => input.blocked.has(node));
        if (stuck === undefined) continue;
        const booting = job.nodes.filter(
            (node) =>
                input.releasable(node) && input.nodes.get(node)?.flags.has("powering_up") === true,
        );
        const why = `${stuck}: ${input.blocked.get(stuck)!}`;
        if (booting.some((node) => node !== stuck && input.launched(node))) {
            const reason = `released: job ${job.id} cannot get all its nodes now (${why}); it waits in the queue`;
            for (const node of booting)
                if (!decision.release.has(node)) decision.release.set(node, reason);
        } else {
            const note = `waiting: job ${job.id}'s nodes are created together, and ${why}`;
            for (const node of booting)
                if (node !== stuck && !decision.hold.has(node)) decision.hold.set(node, note);
        }
    }
    for (const node of decision.release.keys()) decision.hold.delete(node);
    return decision;
}
