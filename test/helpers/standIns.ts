/**
 * Stand-ins for the service's scheduler and Salt key store in unit tests that build the real
 * service core (autoscaler/service.ts) without Slurm or Salt: a scheduler whose snapshot lists
 * the given nodes and no job and whose every command does nothing, and a key store with no keys.
 */
import type { SaltKeyStore } from "../../autoscaler/salt/keys";
import type { SchedulerAdapter, SchedulerNode } from "../../autoscaler/scheduler/types";

/** A Slurm adapter that lists `nodes()` (read at every snapshot) and does nothing. */
export function standInScheduler(
    nodes: () => readonly SchedulerNode[] = () => [],
): SchedulerAdapter {
    const noop = async () => undefined;
    return {
        kind: "slurm",
        demand: "power-saving",
        snapshot: async () => ({
            takenAt: Date.now(),
            nodes: new Map(nodes().map((n) => [n.name, n])),
            jobs: [],
        }),
        setAddress: noop,
        drain: noop,
        resume: noop,
        releaseWhenIdle: noop,
        markGone: noop,
        markUnavailable: noop,
        hold: noop,
        release: noop,
        handOff: async () => [],
        restoreWeight: async () => undefined,
    };
}

/** A Salt key store with no key in any state. */
export function noKeys(): SaltKeyStore {
    return {
        list: async () => ({
            accepted: new Set<string>(),
            pending: new Set<string>(),
            rejected: new Set<string>(),
            denied: new Set<string>(),
        }),
    } as unknown as SaltKeyStore;
}

/** A node Slurm is powering up for a job (resumed, not booted). */
export function poweringUp(name: string, cpus = 2): SchedulerNode {
    return {
        name,
        state: "idle",
        flags: new Set(["cloud", "powering_up"]),
        address: name,
        reason: "",
        cpus,
        allocatedCpus: 0,
    };
}
