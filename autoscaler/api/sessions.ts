/**
 * The dashboard's login sessions: a random session ID in an `HttpOnly; Secure; SameSite=Strict`
 * cookie, and a CSRF token per session that every state-changing call must repeat in a header
 * (the page reads it from `GET /api/v1/session`; another site can neither read it nor set the
 * header). Kept in memory only: a restart of the service logs everyone out, which costs a login
 * and keeps no credential on disk. The store is bounded (the oldest sessions go first), a session
 * ends after `idleMs` without a request or `maxAgeMs` after the login, and the store keeps only
 * SHA-256 digests of the IDs, so a heap dump gives no usable cookie.
 */
import { createHash, randomBytes } from "node:crypto";

/** One logged-in browser. */
export interface Session {
    /** The user name it logged in with. */
    readonly user: string;
    /** The token state-changing calls must send in `X-CSRF-Token`. */
    readonly csrfToken: string;
    /** When it logged in (ms since the epoch). */
    readonly createdAt: number;
    /** Its last request (ms since the epoch). */
    lastSeenAt: number;
}

/** Limits of a {@link SessionStore}. */
export interface SessionLimits {
    /** A session with no request for this long ends. */
    idleMs: number;
    /** A session ends this long after its login, used or not. */
    maxAgeMs: number;
    /** Sessions kept at most; beyond it the least recently used ends. */
    maxEntries: number;
}

/** Dashboard sessions' defaults: 1 h idle, 12 h at most, 1,000 at once. */
export const SESSION_LIMITS: SessionLimits = {
    idleMs: 3600_000,
    maxAgeMs: 12 * 3600_000,
    maxEntries: 1000,
};

const idDigest = (id: string) => createHash("sha256").update(id).digest("hex");
const token = () => randomBytes(32).toString("base64url");

/** The live sessions, by the digest of their IDs. */
export class SessionStore {
    /** Map order is the eviction order: a use moves the session to the end. */
    private readonly sessions = new Map<string, Session>();

    constructor(
        readonly limits: SessionLimits = SESSION_LIMITS,
        private readonly now: () => number = Date.now,
    ) {}

    /** Sessions held now (ended ones may still count until the next lookup or login). */
    get size(): number {
        return this.sessions.size;
    }

    /** Starts a session for `user`; returns its ID (for the cookie, never stored) and itself. */
    create(user: string): { id: string; session: Session } {
        const now = this.now();
        for (const [key, session] of this.sessions)
            if (!this.live(session, now)) this.sessions.delete(key);
        while (this.sessions.size >= this.limits.maxEntries) {
            const oldest = this.sessions.keys().next().value as string;
            this.sessions.delete(oldest);
        }
        const id = token();
        const session: Session = { user, csrfToken: token(), createdAt: now, lastSeenAt: now };
        this.sessions.set(idDigest(id), session);
        return { id, session };
    }

    /** The live session of a cookie's ID (and marks it used), or undefined. */
    get(id: string | undefined): Session | undefined {
        if (!id) return undefined;
        const key = idDigest(id);
        const session = this.sessions.get(key);
        if (!session) return undefined;
        const now = this.now();
        this.sessions.delete(key);
        if (!this.live(session, now)) return undefined;
        session.lastSeenAt = now;
        this.sessions.set(key, session);
        return session;
    }

    /**
     * Whether a cookie's session is still live, without counting this as a use: a live view's
     * stream asks this on every snapshot, and must not keep an idle session alive by itself.
     */
    isLive(id: string | undefined): boolean {
        const session = id ? this.sessions.get(idDigest(id)) : undefined;
        return session !== undefined && this.live(session, this.now());
    }

    /** Ends the session of a cookie's ID (logout); true if there was one. */
    delete(id: string | undefined): boolean {
        return id ? this.sessions.delete(idDigest(id)) : false;
    }

    private live(session: Session, now: number): boolean {
        return (
            now - session.lastSeenAt < this.limits.idleMs &&
            now - session.createdAt < this.limits.maxAgeMs
        );
    }
}
