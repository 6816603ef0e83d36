/**
 * What gates a worker pool's launches and what its next launch boots, as pure reads of the
 * persisted state: which breaker a node's failures count toward, when the pool's flavors' backoffs
 * let launches resume, and which of its flavors a launch takes (the first that neither backs off
 * nor failed for capacity or quota lately). One truth for the service (autoscaler/service.ts) and
 * the replay's simulated service (replay/sim/service.ts).
 */
import type { WorkerPoolIndex, WorkerPoolSpec } from "../lib/workerPools";
import { backoffUntil, failedRecently } from "./breaker";
import type { PersistedState } from "./store";

/** What a launch boots: the flavor the service chose from its pool's list, image and zone. */
export interface LaunchChoice {
    flavor: string;
    image: string;
    /** Availability zone, or "" for Nova's default. */
    availabilityZone: string;
}

/**
 * Which breaker a node's failures count toward: undefined for the default pool's (the one a
 * cluster without pools has, `state.breaker`), else its pool's name (`state.poolBreakers`).
 */
export function breakerKeyOf(pools: WorkerPoolIndex, node: string): string | undefined {
    const pool = pools.poolOf(node);
    return pool === undefined || pool === pools.pools[0] ? undefined : pool.name;
}

/**
 * When launches of `pool` may resume: undefined while one of its flavors is not backing off (a
 * launch takes that one), else the soonest of their backoffs. Undefined for no pool.
 */
export function poolBackoffUntil(
    pool: WorkerPoolSpec | undefined,
    state: PersistedState,
    now: number,
): number | undefined {
    if (!pool) return undefined;
    let soonest: number | undefined;
    for (const flavor of pool.flavors) {
        const until = backoffUntil(state, flavor, now);
        if (until === undefined) return undefined;
        soonest = soonest === undefined ? until : Math.min(soonest, until);
    }
    return soonest;
}

/**
 * What a launch of one of `pool`'s nodes boots: its image and zone, and the first of its flavors
 * that neither backs off nor failed for capacity or quota within `fallbackRetryMs`
 * (`tuning.fallback_retry`); else the first not backing off; the first one when all are (the
 * policy launches nothing then: {@link poolBackoffUntil}).
 */
export function launchChoiceOf(
    pool: WorkerPoolSpec,
    state: PersistedState,
    now: number,
    fallbackRetryMs: number,
): LaunchChoice {
    const usable = (f: string) => backoffUntil(state, f, now) === undefined;
    const flavor =
        pool.flavors.find((f) => usable(f) && !failedRecently(state, f, now, fallbackRetryMs)) ??
        pool.flavors.find(usable) ??
        pool.flavors[0]!;
    return { flavor, image: pool.image, availabilityZone: pool.availabilityZone };
}
