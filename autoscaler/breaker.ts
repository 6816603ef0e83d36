/**
 * Launch protection, as pure updates of the persisted state:
 * - the breaker counts boot failures in a row (ERROR, launch deadline, failed highstate,
 *   unreachable) and opens at the threshold: no launch at all until an admin resets it, so a
 *   broken image or a bad Salt state cannot start a launch storm;
 * - quota and capacity errors back the flavor off (exponential, with a cap), then launches
 *   resume by themselves.
 */
import type { PersistedState } from "./store";

/** Breaker and backoff settings (ms). */
export interface ProtectionConfig {
    threshold: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
}

/**
 * The breaker of one worker pool: `state.breaker` for the default pool (`pool` undefined, as in
 * a state file from before pools), `state.poolBreakers[pool]` for the others (created closed).
 * Each pool has its own, so a broken image of one pool stops only that pool's launches.
 */
export function breakerOf(state: PersistedState, pool?: string): PersistedState["breaker"] {
    if (pool === undefined) return state.breaker;
    return (state.poolBreakers[pool] ??= { consecutiveFailures: 0 });
}

/** Records a boot failure in `pool`; returns true when this failure opened its breaker. */
export function recordBootFailure(
    state: PersistedState,
    config: ProtectionConfig,
    reason: string,
    now: number,
    pool?: string,
): boolean {
    const breaker = breakerOf(state, pool);
    breaker.consecutiveFailures += 1;
    if (breaker.openedAt === undefined && breaker.consecutiveFailures >= config.threshold) {
        breaker.openedAt = now;
        breaker.reason = `${breaker.consecutiveFailures} boot failures in a row; last: ${reason}`;
        return true;
    }
    return false;
}

/** Records a worker of `pool` that became ready: its failure count starts again. */
export function recordBootSuccess(state: PersistedState, pool?: string): void {
    breakerOf(state, pool).consecutiveFailures = 0;
}

/** Closes every pool's breaker (admin action). */
export function resetBreaker(state: PersistedState): void {
    state.breaker = { consecutiveFailures: 0 };
    state.poolBreakers = {};
}

/** True while `pool`'s launches are stopped. */
export function breakerOpen(state: PersistedState, pool?: string): boolean {
    const breaker = pool === undefined ? state.breaker : state.poolBreakers[pool];
    return breaker?.openedAt !== undefined;
}

/** True while some pool's launches are stopped. */
export function anyBreakerOpen(state: PersistedState): boolean {
    return (
        breakerOpen(state) ||
        Object.values(state.poolBreakers).some((b) => b.openedAt !== undefined)
    );
}

/** Backs `flavor` off after a quota or capacity error; returns the time launches may resume. */
export function recordCapacityError(
    state: PersistedState,
    config: ProtectionConfig,
    flavor: string,
    reason: string,
    now: number,
): number {
    const previous = state.backoffs[flavor];
    const attempts =
        previous && previous.until > now - config.backoffMaxMs ? previous.attempts + 1 : 1;
    const delay = Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** (attempts - 1));
    const until = now + delay;
    state.backoffs[flavor] = { until, attempts, reason, at: now };
    return until;
}

/**
 * True when `flavor` had a quota or capacity error within `windowMs` and no successful launch
 * since: a pool falls back past it (to its next flavor) for that long, although its backoff,
 * which gates every launch of the pool once all its flavors have one, may be over sooner.
 */
export function failedRecently(
    state: PersistedState,
    flavor: string,
    now: number,
    windowMs: number,
): boolean {
    const backoff = state.backoffs[flavor];
    if (!backoff) return false;
    const at = backoff.at ?? backoff.until;
    return at > now - windowMs && !liftedSinceError(backoff);
}

/**
 * The backoffs no launch of their flavor has succeeded since, by flavor: what `/status` lists
 * (one past its end stays until a launch succeeds; one a success lifted is left out).
 */
export function unclearedBackoffs(state: PersistedState): PersistedState["backoffs"] {
    return Object.fromEntries(
        Object.entries(state.backoffs).filter(([, b]) => !liftedSinceError(b)),
    );
}

/** The time launches of `flavor` may resume, when it is backing off now. */
export function backoffUntil(
    state: PersistedState,
    flavor: string,
    now: number,
): number | undefined {
    const backoff = state.backoffs[flavor];
    return backoff && backoff.until > now ? backoff.until : undefined;
}

/** True when a launch of the flavor succeeded after its last error ({@link clearBackoff}). */
function liftedSinceError(backoff: PersistedState["backoffs"][string]): boolean {
    return backoff.clearedAt !== undefined && backoff.clearedAt >= (backoff.at ?? backoff.until);
}

/**
 * Lifts the backoff of `flavor` after a launch succeeded: launches may go out at once, and the
 * pool stops falling back past it. Its count of attempts stays until `backoff_max` passes without
 * an error ({@link recordCapacityError}), so that a quota that admits some of a round's creates
 * and refuses the rest, round after round (a job needing more nodes than the quota leaves), backs
 * off longer each time instead of restarting from `backoff_base`.
 */
export function clearBackoff(state: PersistedState, flavor: string, now: number): void {
    const backoff = state.backoffs[flavor];
    if (!backoff) return;
    state.backoffs[flavor] = { ...backoff, until: Math.min(backoff.until, now), clearedAt: now };
}
