/**
 * Counting failures (wrong passwords, wrong tokens) per key, to slow down guessing: a key with
 * `limit` failures within `windowMs` of its first one is blocked until that window ends.
 *
 * The table is bounded: at `maxEntries` it first drops expired entries, then the least recently
 * failed ones. It is never cleared as a whole, so flooding it with new keys cannot unblock a key
 * that is being guessed (its failures keep it the most recent).
 */
export interface ThrottleOptions {
    /** Failures within the window that block the key. */
    limit: number;
    /** Window length, from the key's first failure. */
    windowMs: number;
    /** Keys kept at most. */
    maxEntries: number;
}

interface Entry {
    count: number;
    since: number;
}

export class FailureThrottle {
    /** Map order is the eviction order: a failure moves its key to the end. */
    private readonly entries = new Map<string, Entry>();

    constructor(readonly options: ThrottleOptions) {
        if (options.limit < 1 || options.maxEntries < 1 || options.windowMs <= 0)
            throw new RangeError("a throttle needs a positive limit, window and size");
    }

    /** Keys held now. */
    get size(): number {
        return this.entries.size;
    }

    /** Whether a failure of `key` is on record (expired or not). */
    has(key: string): boolean {
        return this.entries.has(key);
    }

    private live(key: string, now: number): Entry | undefined {
        const entry = this.entries.get(key);
        if (!entry) return undefined;
        if (now - entry.since >= this.options.windowMs) {
            this.entries.delete(key);
            return undefined;
        }
        return entry;
    }

    /** True when `key` has reached the limit within its window. */
    blocked(key: string, now = Date.now()): boolean {
        const entry = this.live(key, now);
        return entry !== undefined && entry.count >= this.options.limit;
    }

    /** Seconds until `key` is free again (0 when it is not blocked). */
    retryAfterSeconds(key: string, now = Date.now()): number {
        const entry = this.live(key, now);
        if (!entry || entry.count < this.options.limit) return 0;
        return Math.max(1, Math.ceil((entry.since + this.options.windowMs - now) / 1000));
    }

    /** Records a failure of `key`. */
    fail(key: string, now = Date.now()): void {
        const entry = this.live(key, now) ?? { count: 0, since: now };
        entry.count++;
        this.entries.delete(key);
        this.entries.set(key, entry);
        if (this.entries.size > this.options.maxEntries) this.evict(now);
    }

    /** Forgets `key` (e.g. after it succeeded). */
    forget(key: string): void {
        this.entries.delete(key);
    }

    private evict(now: number): void {
        for (const [key, entry] of this.entries) {
            if (now - entry.since >= this.options.windowMs) this.entries.delete(key);
        }
        for (const key of this.entries.keys()) {
            if (this.entries.size <= this.options.maxEntries) break;
            this.entries.delete(key);
        }
    }
}

/**
 * Keys that succeeded recently (e.g. addresses a user logged in from), bounded: at `maxEntries`
 * the least recently seen go first.
 */
export class RecentKeys {
    private readonly seen = new Map<string, number>();

    constructor(
        private readonly ttlMs: number,
        private readonly maxEntries: number,
    ) {}

    add(key: string, now = Date.now()): void {
        this.seen.delete(key);
        this.seen.set(key, now);
        for (const old of this.seen.keys()) {
            if (this.seen.size <= this.maxEntries) break;
            this.seen.delete(old);
        }
    }

    has(key: string, now = Date.now()): boolean {
        const at = this.seen.get(key);
        if (at === undefined) return false;
        if (now - at >= this.ttlMs) {
            this.seen.delete(key);
            return false;
        }
        return true;
    }
}
