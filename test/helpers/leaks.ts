/**
 * Which test directories in the temporary directory a test run left behind (the no-leaks check,
 * test/integration/zz-no-leaks.test.ts). Pure, so the rule itself is unit-tested. In doubt a
 * directory counts as left, so the check fails rather than passes:
 *
 * - with the list of names taken when the run started (test/run.sh), a directory is this run's
 *   exactly when it was not in the list;
 * - else, with the start time, when it was created or changed since: the latest of its birth,
 *   change and modification times (a filesystem without birth times reports birthtimeMs 0, but
 *   ctime is never earlier than the birth, and no one can set it back);
 * - else every test directory counts.
 */

/** One entry of the temporary directory, with the times `fs.statSync` gives. */
export interface TmpEntry {
    name: string;
    birthtimeMs: number;
    ctimeMs: number;
    mtimeMs: number;
}

/** What is known of the run's start. */
export interface RunStart {
    /** When the run started (ms since the epoch; `DC_TEST_RUN_STARTED` is in seconds). */
    sinceMs?: number;
    /** Names in the temporary directory when the run started (test/run.sh lists them). */
    before?: ReadonlySet<string>;
}

/** Names of `entries` matching `pattern` that this run created and left (module comment). */
export function leftByThisRun(entries: TmpEntry[], pattern: RegExp, start: RunStart): string[] {
    const since = start.sinceMs && start.sinceMs > 0 ? start.sinceMs : undefined;
    const ours = (e: TmpEntry): boolean => {
        if (start.before) return !start.before.has(e.name);
        if (since === undefined) return true;
        return Math.max(e.birthtimeMs, e.ctimeMs, e.mtimeMs) >= since;
    };
    return entries.filter((e) => pattern.test(e.name) && ours(e)).map((e) => e.name);
}
