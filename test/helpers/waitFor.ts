/**
 * Waits for a condition instead of sleeping a fixed time: polls `check` until it returns a
 * value other than undefined, or fails with `what` and the last error after `timeoutMs`. An error
 * marked `fatal: true` fails at once (the condition can no longer come true).
 */
import { setTimeout as delay } from "node:timers/promises";

/** Polls `check` every `intervalMs` until it yields a value; throws after `timeoutMs`. */
export async function waitFor<T>(
    what: string,
    check: () => T | undefined | Promise<T | undefined>,
    { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (err) {
            if ((err as { fatal?: boolean })?.fatal) throw err;
            lastError = err;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}` +
                    (lastError ? `: ${String(lastError)}` : ""),
            );
        }
        await delay(intervalMs);
    }
}
