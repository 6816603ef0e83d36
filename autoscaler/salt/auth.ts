/**
 * The minion-admission rule (the original system's step 4, made strict): a pending key is
 * accepted only for a minion ID this cluster generated for a worker that exists, that has no
 * accepted key yet, and only if it is the first key ever seen for that ID; a burst worker's key
 * only within its launch deadline. Everything else is rejected (or ignored) with a reason that
 * is logged. Pure: the caller supplies what Nova, Salt and the service's memory say.
 *
 * Static workers have no deadline: their servers are Pulumi's, which issued the minion ID, and
 * they stay for good, so their first key may come at any time: a worker whose minion was slow to
 * start, or every static worker after the head node was replaced (a new master knows no key and
 * the service's first-key memory is gone with the old head; the minions keep their keys and
 * authenticate again within their re-auth interval). The first-key rule still holds for them.
 */
import { isMinionId } from "../../lib/minionId";

/**
 * The fields of Salt's `salt/auth` event that matter: top-level in the event's data, as Salt
 * 3006's `salt/channel/server.py` fires it (the shapes: test/helpers/reactorCases.ts).
 */
export interface AuthEvent {
    id: string;
    act: string;
    pub: string;
}

/** A worker the cluster launched, as far as admission is concerned. */
export interface AdmissionCandidate {
    node: string;
    minionId: string;
    /** Launch time (service memory, else the server's creation time), ms. */
    launchedAt: number;
    /** The static floor's (no launch deadline) or the burst pool's. */
    pool: "static" | "burst";
    /** True while the worker is being deleted, has failed, or was handed over (retiring). */
    leaving: boolean;
}

/** What to do with the key. */
export type AuthDecision =
    | { action: "accept"; node: string }
    | { action: "reject"; reason: string }
    | { action: "ignore"; reason: string };

/** Inputs of {@link decideAuth}. */
export interface AuthInput {
    event: AuthEvent;
    /** Workers of this cluster that carry a minion ID (burst and static). */
    candidates: readonly AdmissionCandidate[];
    /** True when a key for this ID is already accepted. */
    alreadyAccepted: boolean;
    /** Digest of the first key seen for this ID, if any, and of the presented key. */
    firstKeyDigest?: string;
    presentedKeyDigest: string;
    now: number;
    launchTimeoutMs: number;
}

/** Decides on one auth event. */
export function decideAuth(input: AuthInput): AuthDecision {
    const { event } = input;
    if (event.act === "denied") {
        return {
            action: "ignore",
            reason: `minion ${event.id} presented a key that differs from the one Salt holds for it; Salt denied it`,
        };
    }
    if (event.act !== "pend") {
        return { action: "ignore", reason: `auth event act=${event.act} needs no decision` };
    }
    if (!isMinionId(event.id)) {
        return { action: "reject", reason: `"${event.id}" is not a minion ID this cluster issues` };
    }
    const candidate = input.candidates.find((c) => c.minionId === event.id);
    if (!candidate) {
        return { action: "reject", reason: `unknown minion ID ${event.id}: no worker of this cluster has it` };
    }
    if (input.alreadyAccepted) {
        return { action: "reject", reason: `a key for ${event.id} is already accepted` };
    }
    if (input.firstKeyDigest !== undefined && input.firstKeyDigest !== input.presentedKeyDigest) {
        return {
            action: "reject",
            reason: `${event.id} presented a different key than the first one seen for it`,
        };
    }
    if (candidate.leaving) {
        return { action: "reject", reason: `worker ${candidate.node} is being deleted` };
    }
    if (candidate.pool === "burst" && input.now > candidate.launchedAt + input.launchTimeoutMs) {
        return {
            action: "reject",
            reason: `worker ${candidate.node} is past its launch deadline (${Math.round(input.launchTimeoutMs / 1000)} s)`,
        };
    }
    return { action: "accept", node: candidate.node };
}
