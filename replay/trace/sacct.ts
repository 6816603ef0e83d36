/**
 * The Slurm accounting reader: the output of
 *
 *   sacct --allusers --parsable2 --starttime=YYYY-MM-DD --endtime=YYYY-MM-DD \
 *         --format=JobID,User,Partition,Submit,Start,End,Elapsed,AllocCPUS,ReqCPUS,Timelimit,State
 *
 * (`SACCT_COMMAND`; without `--noheader`). The first line must be the header sacct prints
 * (`JobID|User|Submit|...`): the reader takes the field order from it, and refuses a file
 * without it, or without one of the fields it needs (`SACCT_REQUIRED`), naming what is missing
 * and the command to use. Fields other than these are allowed and ignored.
 * Rules:
 * - only allocation rows are jobs: rows whose JobID has a "." are job steps (`123.batch`,
 *   `123.extern`, `123.0`, `123+1.0`) and are ignored; array tasks (`123_4`) and the
 *   components of heterogeneous jobs (`123+0`, `123+1`) are jobs of their own;
 * - Submit/Start/End are Slurm's `YYYY-MM-DDTHH:MM:SS` in the cluster's local time, which the
 *   file does not name: they are read as UTC, so `startEpoch` is only exact for a cluster that
 *   runs on UTC (relative times are right either way, except across a daylight-saving change);
 * - a job whose Start is `Unknown`/`None` (pending, or cancelled before it started) is skipped,
 *   as are jobs still running (End `Unknown`, or State RUNNING, PENDING, SUSPENDED, REQUEUED...)
 *   and jobs whose Elapsed is 0;
 * - runtime is Elapsed (`[D-]HH:MM:SS`, `MM:SS`), processors AllocCPUS, else ReqCPUS;
 *   requestedTime is Timelimit (`UNLIMITED`, `Partition_Limit` and `INVALID` mean none);
 * - a row with another number of fields than the header, or a field that cannot be read, is
 *   malformed.
 */
import {
    buildTrace,
    linesOf,
    problem,
    TraceError,
    type RawJob,
    type TraceProblem,
    type TraceScan,
} from "./types";

/** The fields the reader needs in the header. */
export const SACCT_REQUIRED = ["JobID", "Submit", "Start", "Elapsed", "AllocCPUS", "State"];

/** The fields the reader uses when present. */
export const SACCT_OPTIONAL = ["User", "End", "ReqCPUS", "Timelimit", "Partition"];

/** The command that produces a file this reader accepts (dates to be filled in). */
export const SACCT_COMMAND =
    "sacct --allusers --parsable2 --starttime=YYYY-MM-DD --endtime=YYYY-MM-DD " +
    "--format=JobID,User,Partition,Submit,Start,End,Elapsed,AllocCPUS,ReqCPUS,Timelimit,State";

/** States of a job that has not finished yet. */
const UNFINISHED = new Set([
    "PENDING",
    "RUNNING",
    "SUSPENDED",
    "REQUEUED",
    "REQUEUE_FED",
    "REQUEUE_HOLD",
    "RESIZING",
    "COMPLETING",
    "CONFIGURING",
    "SIGNALING",
    "STAGE_OUT",
    "STOPPED",
]);

/** Timelimit values that mean "no limit of the job's own". */
const NO_LIMIT = new Set(["UNLIMITED", "Partition_Limit", "INVALID", "NONE", ""]);

/** True when `line` looks like a sacct `--parsable2` header (it names JobID). */
export function isSacctHeader(line: string): boolean {
    return line.includes("|") && line.split("|").includes("JobID");
}

/** Fixed-position digits of `s` from `start` to `end` (exclusive), or NaN. */
function digits(s: string, start: number, end: number): number {
    let v = 0;
    for (let i = start; i < end; i++) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) return NaN;
        v = v * 10 + c;
    }
    return v;
}

/**
 * Seconds since the epoch of a Slurm time `YYYY-MM-DDTHH:MM:SS`, read as UTC; undefined for
 * `Unknown`, `None` or an empty field; NaN when it is not a time.
 */
export function parseSlurmTime(s: string): number | undefined {
    if (s === "Unknown" || s === "None" || s === "") return undefined;
    if (
        s.length !== 19 ||
        s[4] !== "-" ||
        s[7] !== "-" ||
        s[10] !== "T" ||
        s[13] !== ":" ||
        s[16] !== ":"
    ) {
        return NaN;
    }
    const y = digits(s, 0, 4);
    const mo = digits(s, 5, 7);
    const d = digits(s, 8, 10);
    const h = digits(s, 11, 13);
    const mi = digits(s, 14, 16);
    const se = digits(s, 17, 19);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return NaN;
    return Date.UTC(y, mo - 1, d, h, mi, se) / 1000;
}

/**
 * Seconds of a Slurm duration, as Slurm writes and reads them: `D-HH:MM:SS`, `D-HH:MM`,
 * `D-HH`, `HH:MM:SS`, `MM:SS`, `MM` (seconds may have a fraction, rounded). NaN when it is not
 * one.
 */
export function parseSlurmDuration(s: string): number {
    let days = 0;
    let rest = s;
    const dash = s.indexOf("-");
    if (dash >= 0) {
        days = Number(s.slice(0, dash));
        rest = s.slice(dash + 1);
        if (s.slice(0, dash) === "" || !Number.isInteger(days) || days < 0) return NaN;
    }
    const parts = rest.split(":");
    if (parts.length > 3 || parts.some((p) => p === "" || !/^\d+(\.\d+)?$/.test(p))) return NaN;
    const n = parts.map(Number);
    let seconds: number;
    if (dash >= 0) {
        // D-H, D-H:M, D-H:M:S
        seconds = n[0]! * 3600 + (n[1] ?? 0) * 60 + (n[2] ?? 0);
    } else if (n.length === 3) {
        seconds = n[0]! * 3600 + n[1]! * 60 + n[2]!;
    } else if (n.length === 2) {
        seconds = n[0]! * 60 + n[1]!;
    } else {
        seconds = n[0]! * 60;
    }
    return Math.round(days * 86400 + seconds);
}

/** The message of a file that is not the output of the command this reader needs. */
function refuse(source: string, what: string): TraceError {
    return new TraceError(
        `${source}: ${what}. Produce the file with (without --noheader):\n  ${SACCT_COMMAND}`,
    );
}

/** Reads `sacct --parsable2` output (see the module comment for the rules). */
export function scanSacct(text: string, source: string): TraceScan {
    const lines = linesOf(text);
    let h = 0;
    while (h < lines.length && lines[h]!.trim() === "") h++;
    const headerLine = lines[h];
    if (headerLine === undefined || !isSacctHeader(headerLine)) {
        throw refuse(
            source,
            `line ${h + 1} is not a sacct --parsable2 header (JobID|User|Submit|...)` +
                (headerLine !== undefined && /^\d/.test(headerLine)
                    ? ": it looks like a row of sacct output made with --noheader"
                    : ""),
        );
    }
    const names = headerLine.split("|");
    // sacct --parsable (not 2) ends every line with a "|".
    const trailing = names[names.length - 1] === "";
    const width = trailing ? names.length - 1 : names.length;
    const col = (name: string): number => names.indexOf(name);
    const missing = SACCT_REQUIRED.filter((name) => col(name) < 0);
    if (missing.length > 0) {
        throw refuse(
            source,
            `the header (line ${h + 1}) lacks the field${missing.length > 1 ? "s" : ""} ` +
                missing.join(", "),
        );
    }
    const cJob = col("JobID");
    const cSubmit = col("Submit");
    const cStart = col("Start");
    const cElapsed = col("Elapsed");
    const cAlloc = col("AllocCPUS");
    const cState = col("State");
    const cUser = col("User");
    const cPartition = col("Partition");
    const cEnd = col("End");
    const cReq = col("ReqCPUS");
    const cLimit = col("Timelimit");

    const jobs: RawJob[] = [];
    const skipped: TraceProblem[] = [];
    const malformed: TraceProblem[] = [];
    let records = 0;
    for (let i = h + 1; i < lines.length; i++) {
        const line = lines[i]!;
        const n = i + 1;
        if (line.trim() === "") continue;
        records++;
        const f = line.split("|");
        if (trailing && f.length === names.length && f[f.length - 1] === "") f.pop();
        if (f.length !== width) {
            malformed.push(problem(n, `expected ${width} fields, found ${f.length}`, line));
            continue;
        }
        const id = f[cJob]!;
        if (id === "") {
            malformed.push(problem(n, "JobID is empty", line));
            continue;
        }
        if (id.includes(".")) continue; // a job step
        const state = f[cState]!.split(" ")[0]!;
        const submit = parseSlurmTime(f[cSubmit]!);
        const start = parseSlurmTime(f[cStart]!);
        const end = cEnd >= 0 ? parseSlurmTime(f[cEnd]!) : 0;
        const bad = Number.isNaN(submit)
            ? "Submit"
            : Number.isNaN(start)
              ? "Start"
              : Number.isNaN(end)
                ? "End"
                : undefined;
        if (bad !== undefined) {
            malformed.push(problem(n, `${bad} is not a time: "${f[col(bad)]}"`, line));
            continue;
        }
        if (start === undefined) {
            skipped.push(problem(n, `never started (State ${state}, Start ${f[cStart]})`, line));
            continue;
        }
        if (submit === undefined) {
            skipped.push(problem(n, "submit time unknown", line));
            continue;
        }
        if (end === undefined || UNFINISHED.has(state)) {
            skipped.push(problem(n, `not finished (State ${state})`, line));
            continue;
        }
        const runtime = parseSlurmDuration(f[cElapsed]!);
        if (Number.isNaN(runtime)) {
            malformed.push(problem(n, `Elapsed is not a duration: "${f[cElapsed]}"`, line));
            continue;
        }
        const alloc = Number(f[cAlloc]);
        const req = cReq >= 0 ? Number(f[cReq]) : NaN;
        if (f[cAlloc] === "" || !Number.isInteger(alloc) || alloc < 0) {
            malformed.push(problem(n, `AllocCPUS is not a count: "${f[cAlloc]}"`, line));
            continue;
        }
        if (runtime <= 0) {
            skipped.push(problem(n, `run time 0 (State ${state})`, line));
            continue;
        }
        const processors = alloc > 0 ? alloc : req > 0 && Number.isInteger(req) ? req : 0;
        if (processors === 0) {
            skipped.push(problem(n, "processors unknown (AllocCPUS and ReqCPUS are 0)", line));
            continue;
        }
        const job: RawJob = { id, submit, runtime, processors };
        if (cLimit >= 0 && !NO_LIMIT.has(f[cLimit]!)) {
            const limit = parseSlurmDuration(f[cLimit]!);
            if (limit > 0) job.requestedTime = limit;
        }
        if (cUser >= 0 && f[cUser] !== "") job.user = f[cUser]!;
        if (cPartition >= 0 && f[cPartition] !== "") job.partition = f[cPartition]!;
        jobs.push(job);
    }
    const header = { fields: names.slice(0, width).join(",") };
    return {
        trace: buildTrace("sacct", source, jobs, skipped, malformed, header, (origin) => origin),
        records,
    };
}
