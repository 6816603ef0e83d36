/**
 * The worker highstates: started by the service itself (`salt --async -L <id> state.apply`,
 * only for minions it admitted, so an event's text never chooses a target), and their outcomes
 * read from the Salt master's job cache, the only record of a worker's configuration the service
 * trusts. Events on the master's bus are claims: a minion can fire
 * batched events with any tag and any `id` (`event.send ... preload={"events": [...]}` is fired
 * by the master as is), so `dynamic-cluster/worker/ready`, `salt/job/<jid>/ret/<id>` and the
 * like only tell the service where to look. Job returns, in contrast, reach the cache through
 * the master's request server, which checks that a return's `id` is the minion whose session
 * sent it; `salt-run jobs.list_job <jid>` reads them back.
 *
 * A highstate that failed to render returns a list of error strings instead of state results,
 * with a non-zero retcode: the worker has failed although no state (and so no "failed" event)
 * ever ran.
 */
import type { CommandRunner } from "../infra/exec";

/** One minion's return of a job, as `jobs.list_job` gives it. */
export interface JobReturn {
    return: unknown;
    retcode?: number;
    success?: boolean;
}

/** A job in the master's cache. */
export interface CachedJob {
    jid: string;
    /** The function the master published, e.g. `state.apply`. */
    function: string;
    /** Returns by authenticated minion ID. */
    results: Map<string, JobReturn>;
}

/** What a highstate return says about a worker. */
export type HighstateVerdict = { ok: true } | { ok: false; reason: string };

/** Functions that run a worker's highstate. */
export const HIGHSTATE_FUNCTIONS: ReadonlySet<string> = new Set(["state.apply", "state.highstate"]);

/** Salt's state result keys look like `module_|-id_|-name_|-function`. */
function stateIdOf(key: string): string {
    const parts = key.split("_|-");
    return parts.length >= 2 ? parts[1]! : key;
}

/**
 * Reads a highstate return: every state must have succeeded (result `true`); a list of strings
 * is Salt's answer when the highstate could not be compiled (render errors, missing SLS); any
 * other shape, or a non-zero retcode, fails too.
 */
export function highstateVerdict(ret: JobReturn): HighstateVerdict {
    const value = ret.return;
    if (Array.isArray(value)) {
        const text = value.map(String).join("; ");
        return { ok: false, reason: `the highstate did not compile: ${text.slice(0, 500)}` };
    }
    if (value === null || typeof value !== "object") {
        return { ok: false, reason: `the highstate returned ${JSON.stringify(value)?.slice(0, 200)}` };
    }
    const failed = Object.entries(
        value as Record<string, { result?: unknown; comment?: unknown; __id__?: unknown }>,
    )
        .filter(([, state]) => state?.result !== true)
        .map(([key, state]) => {
            const id = typeof state?.__id__ === "string" ? state.__id__ : stateIdOf(key);
            const comment = typeof state?.comment === "string" ? state.comment : "";
            return `${id}${comment ? ` (${comment.split("\n")[0]!.slice(0, 160)})` : ""}`;
        });
    if (failed.length > 0) {
        return { ok: false, reason: `failed states: ${failed.slice(0, 5).join("; ")}${failed.length > 5 ? ` and ${failed.length - 5} more` : ""}` };
    }
    if (ret.retcode !== undefined && ret.retcode !== 0) {
        return { ok: false, reason: `the highstate returned retcode ${ret.retcode}` };
    }
    if (Object.keys(value).length === 0) {
        return { ok: false, reason: "the highstate applied no state (no top file match)" };
    }
    return { ok: true };
}

/** Salt job IDs are timestamps: 20 digits. */
export const JID_PATTERN = /^\d{20}$/;

/** How to run Salt's command-line tools against the master. */
export interface SaltTools {
    /** Runs `salt-run` (job cache look-ups: local, no master connection). */
    run: CommandRunner;
    /** The `salt-run` executable. */
    saltRun: string;
    /**
     * Runs `salt` (publishing a job: it reaches the master's request port on the head's cluster
     * address), with the head's network.
     */
    publish: CommandRunner;
    /** The `salt` executable. */
    salt: string;
    /** The master's configuration directory (`-c`). */
    configDir: string;
}

/** Reads jobs from the master's job cache with `salt-run`, and starts worker highstates. */
export class SaltJobs {
    /** @param tools the Salt commands (run as the service's user, root on the head). */
    constructor(private readonly tools: SaltTools) {}

    private async runner(args: string[]): Promise<unknown> {
        const { run, saltRun, configDir } = this.tools;
        const { stdout } = await run(saltRun, ["-c", configDir, "--out", "json", ...args], {
            timeoutMs: 60_000,
        });
        return JSON.parse(stdout.trim() || "null");
    }

    /**
     * Publishes the highstate to exactly one minion (a list target: no glob, no other minion),
     * queued behind any state run in progress there, and returns its job ID at once.
     * @throws Error when the ID is not a safe minion ID, or the master matched no minion (not
     * connected, or its key not accepted).
     */
    async startHighstate(minionId: string): Promise<string> {
        if (!/^[A-Za-z0-9._-]+$/.test(minionId)) {
            throw new Error(`refusing to target ${JSON.stringify(minionId)}: not a minion ID`);
        }
        const { publish, salt, configDir } = this.tools;
        const { stdout } = await publish(
            salt,
            ["-c", configDir, "--async", "-L", minionId, "state.apply", "queue=True"],
            { timeoutMs: 60_000 },
        );
        const jid = /Executed command with job ID: (\d+)/.exec(stdout)?.[1];
        if (!jid || !JID_PATTERN.test(jid)) {
            throw new Error(
                `the master published no highstate for ${minionId} (${stdout.trim() || "no output"}): ` +
                    "the minion is not connected, or its key is not accepted",
            );
        }
        return jid;
    }

    /** The job `jid`, or undefined when the cache has none. */
    async job(jid: string): Promise<CachedJob | undefined> {
        if (!JID_PATTERN.test(jid)) return undefined;
        const raw = (await this.runner(["jobs.list_job", jid])) as {
            Function?: string;
            Result?: Record<string, JobReturn>;
        } | null;
        if (!raw || typeof raw.Function !== "string") return undefined;
        return { jid, function: raw.Function, results: new Map(Object.entries(raw.Result ?? {})) };
    }
}
