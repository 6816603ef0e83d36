/**
 * The workload-trace data model the replay tool (`npm run replay`) reads: one normalised job list
 * whatever the source format (SWF, sacct, Torque accounting), with the lines that could not be
 * used kept apart and explained, plus the two helpers every reader builds it with (a problem
 * line, and the final sort and shift of submit times to the trace's first submit).
 */

/** One job of a workload trace, times in seconds. */
export interface TraceJob {
    /** The job's ID in the source (SWF job number, Slurm JobID, Torque job ID). */
    id: string;
    /** Seconds, relative to the trace's first submit (the first job submits at 0). */
    submit: number;
    /** Seconds the job ran, > 0. */
    runtime: number;
    /** Cores requested (allocated when the source knows), >= 1. */
    processors: number;
    /** Seconds, the user's time limit when known. */
    requestedTime?: number;
    /** The submitting user when known. */
    user?: string;
    /**
     * The partition (Slurm), queue (Torque) or partition number (SWF field 16) when known: what
     * `npm run replay -- --partition` selects to size one worker pool from its own jobs.
     */
    partition?: string;
}

/** A line of a trace that was not turned into a job, and why. */
export interface TraceProblem {
    /** 1-based line number in the source text. */
    line: number;
    /** Why the line was not used. */
    reason: string;
    /** The line, cut to 200 characters. */
    text: string;
}

/** A workload trace read from one source. */
export interface Trace {
    format: "swf" | "sacct" | "torque";
    /** Where the text came from (a path, or a name the caller gave). */
    source: string;
    /** The replayable jobs, sorted by submit, then ID. */
    jobs: TraceJob[];
    /** Lines that are jobs but cannot be replayed: never started, run time 0 or unknown... */
    skipped: TraceProblem[];
    /** Lines that are not valid records of the format. */
    malformed: TraceProblem[];
    /** The source's header (SWF `; Key: value` comments; the sacct field list). */
    header: Record<string, string>;
    /** Absolute time (Unix epoch seconds) of submit 0, when the format has one. */
    startEpoch?: number;
}

/** The trace formats the readers know. */
export type TraceFormat = Trace["format"];

/** A text that is not a usable trace; the message says what was expected and how to fix it. */
export class TraceError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "TraceError";
    }
}

/** What a reader returns: the trace, and how many lines were records, valid or not. */
export interface TraceScan {
    trace: Trace;
    /**
     * Lines read as records (comments, headers and blank lines excluded; records the reader
     * ignores on purpose, such as job steps or Torque start records, included). `readTrace`
     * compares the malformed lines against it to decide whether the text is a trace at all.
     */
    records: number;
}

/** A job as a reader finds it: `submit` is still absolute (seconds in the source's clock). */
export type RawJob = TraceJob;

const TEXT_LIMIT = 200;

/** A problem report for line `line` (1-based) with the text cut to 200 characters. */
export function problem(line: number, reason: string, text: string): TraceProblem {
    return { line, reason, text: text.length > TEXT_LIMIT ? text.slice(0, TEXT_LIMIT) : text };
}

const collator = new Intl.Collator("en", { numeric: true });

/** Orders job IDs numerically where they are numbers ("9" before "10", "12_2" before "12_10"). */
export function compareIds(a: string, b: string): number {
    return collator.compare(a, b);
}

/**
 * The finished trace: jobs sorted by submit then ID, submit times shifted so that the first job
 * submits at 0. `epochOf(origin)` turns the first job's absolute submit into Unix epoch seconds
 * when the format's clock has one.
 */
export function buildTrace(
    format: TraceFormat,
    source: string,
    jobs: RawJob[],
    skipped: TraceProblem[],
    malformed: TraceProblem[],
    header: Record<string, string>,
    epochOf?: (origin: number) => number | undefined,
): Trace {
    jobs.sort((a, b) => a.submit - b.submit || compareIds(a.id, b.id));
    const origin = jobs.length > 0 ? jobs[0]!.submit : 0;
    if (origin !== 0) for (const job of jobs) job.submit -= origin;
    skipped.sort((a, b) => a.line - b.line);
    malformed.sort((a, b) => a.line - b.line);
    const trace: Trace = { format, source, jobs, skipped, malformed, header };
    const startEpoch = jobs.length > 0 && epochOf ? epochOf(origin) : undefined;
    if (startEpoch !== undefined) trace.startEpoch = startEpoch;
    return trace;
}

/**
 * The lines of a text: split on "\n", a trailing "\r" removed, a leading byte-order mark
 * dropped. A final empty line (after the last newline) is not returned.
 */
export function linesOf(text: string): string[] {
    const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
    }
    return lines;
}
