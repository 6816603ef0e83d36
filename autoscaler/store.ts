/**
 * The little state the service cannot rebuild from Nova, the scheduler and Salt: auto mode, the
 * launch breaker, per-flavor backoffs, held workers, the first key seen per minion ID and the
 * nodes the service keeps out of use (stopped launches, cooldown after a failed boot). Kept in `<state_dir>/state.json`, written
 * atomically (temp file, fsync, rename) after every change. A corrupt file is kept aside
 * (`state.json.corrupt-<time>`) and the service starts from defaults, saying so.
 */
import {
    closeSync,
    fsyncSync,
    mkdirSync,
    openSync,
    readFileSync,
    renameSync,
    writeSync,
} from "node:fs";
import * as path from "node:path";
import { z } from "zod";

const breakerSchema = z.object({
    /** Consecutive boot failures since the last success. */
    consecutiveFailures: z.number().int().min(0),
    /** Set while launches are stopped. */
    openedAt: z.number().optional(),
    /** Why it opened (the last failures). */
    reason: z.string().optional(),
});

const unavailableSchema = z.object({
    /** Why: launches stopped by the breaker, auto mode off, or a node cooling down after a failed boot. */
    cause: z.enum(["breaker", "auto-off", "cooldown"]),
    /** The reason the scheduler shows. */
    reason: z.string(),
    /** Since when (ms since the epoch). */
    since: z.number(),
    /** End of a cooldown (ms since the epoch). */
    until: z.number().optional(),
});

/** A node the service keeps out of use, and why. */
export type UnavailableEntry = z.infer<typeof unavailableSchema>;

const backoffSchema = z.object({
    /** No launch of this flavor before this time (ms since the epoch). */
    until: z.number(),
    /** Errors in a row (the delay doubles with each). */
    attempts: z.number().int().min(1),
    reason: z.string(),
    /** When the last of those errors happened (absent in an older state file). */
    at: z.number().optional(),
    /**
     * When a launch of the flavor last succeeded after those errors (the backoff lifted, its
     * attempts kept until backoff_max passes without an error).
     */
    clearedAt: z.number().optional(),
});

/** Schema of state.json. */
export const persistedStateSchema = z.object({
    version: z.literal(1),
    autoMode: z.boolean(),
    /** The default pool's breaker (autoscaler/breaker.ts). */
    breaker: breakerSchema,
    /** The other pools' breakers, by pool name (absent in a state file from before pools). */
    poolBreakers: z.record(z.string(), breakerSchema).default({}),
    backoffs: z.record(z.string(), backoffSchema),
    /** Node names an admin put on hold. */
    held: z.array(z.string()),
    /**
     * SHA-256 of the first public key seen per minion ID (the only one ever accepted), oldest
     * first; an entry is forgotten with its ID's keys, or once its ID has no key and no worker
     * left, and at most `FIRST_KEYS_MAX` are kept (policy.ts).
     */
    firstKeys: z.record(z.string(), z.string()),
    /** Nodes the service keeps out of use (set down in the scheduler), by name. */
    unavailable: z.record(z.string(), unavailableSchema),
});

/** The persisted state. */
export type PersistedState = z.infer<typeof persistedStateSchema>;

/** State of a fresh installation. */
export function defaultState(): PersistedState {
    return {
        version: 1,
        autoMode: true,
        breaker: { consecutiveFailures: 0 },
        poolBreakers: {},
        backoffs: {},
        held: [],
        firstKeys: {},
        unavailable: {},
    };
}

/** Loads and saves {@link PersistedState}. */
export class StateStore {
    private readonly file: string;
    /** The current state; mutate through {@link update} only. */
    state: PersistedState;
    /** Set when the stored file was unreadable and was moved aside. */
    readonly recoveredFrom?: string;

    /**
     * @param dir the service's state directory (created 0700 if missing).
     * @param now clock, for the name of a corrupt file kept aside.
     */
    constructor(dir: string, now: () => number = Date.now) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        this.file = path.join(dir, "state.json");
        let text: string | undefined;
        try {
            text = readFileSync(this.file, "utf8");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
        if (text === undefined) {
            this.state = defaultState();
            return;
        }
        try {
            this.state = persistedStateSchema.parse(JSON.parse(text));
        } catch {
            const aside = `${this.file}.corrupt-${now()}`;
            renameSync(this.file, aside);
            this.recoveredFrom = aside;
            this.state = defaultState();
        }
    }

    /** Applies `change` to the state and writes it durably before returning. */
    update(change: (state: PersistedState) => void): void {
        const next = structuredClone(this.state);
        change(next);
        const parsed = persistedStateSchema.parse(next);
        const temp = `${this.file}.tmp`;
        const fd = openSync(temp, "w", 0o600);
        try {
            writeSync(fd, `${JSON.stringify(parsed, null, 2)}\n`);
            fsyncSync(fd);
        } finally {
            closeSync(fd);
        }
        renameSync(temp, this.file);
        this.state = parsed;
    }
}
