/**
 * The replay tool's trace entry point: reads a workload trace file or text in any of the formats
 * the readers know (SWF, `sacct --parsable2`, Torque accounting), detecting the format when the
 * caller does not name it, and refuses with a `TraceError` whatever is not a usable trace
 * (empty, binary, JSON, CSV, mostly malformed lines, or not one replayable job), saying what was
 * expected, the first offending line and how to produce a valid file.
 */
import * as fs from "node:fs";
import { SACCT_COMMAND, isSacctHeader, scanSacct } from "./sacct";
import { isSwfJobLine, scanSwf } from "./swf";
import { isTorqueRecord, scanTorque } from "./torque";
import {
    TraceError,
    linesOf,
    type Trace,
    type TraceFormat,
    type TraceJob,
    type TraceScan,
} from "./types";

export { TraceError } from "./types";
export type { Trace, TraceFormat, TraceJob, TraceProblem } from "./types";

/** How to produce a file of each format (for refusal messages). */
const HOW_TO: Record<TraceFormat, string> = {
    swf: "an SWF file from the Parallel Workloads Archive (https://www.cs.huji.ac.il/labs/parallel/workload/): `;` header lines, then 18 numbers per job",
    sacct: `the output of: ${SACCT_COMMAND}`,
    torque: "a Torque accounting log, /var/spool/torque/server_priv/accounting/YYYYMMDD (lines MM/DD/YYYY HH:MM:SS;E;jobid;key=value ...)",
};

const EXPECTED =
    "expected a workload trace: " +
    (Object.keys(HOW_TO) as TraceFormat[]).map((f) => `\n  - ${f}: ${HOW_TO[f]}`).join("");

const SCANNERS: Record<TraceFormat, (text: string, source: string) => TraceScan> = {
    swf: scanSwf,
    sacct: scanSacct,
    torque: scanTorque,
};

/** How many characters of the start of a text are examined for binary content. */
const SNIFF = 8192;

/** True when the start of `text` holds NUL bytes or many undecodable or control characters. */
function looksBinary(text: string): boolean {
    const head = text.slice(0, SNIFF);
    let odd = 0;
    for (let i = 0; i < head.length; i++) {
        const c = head.charCodeAt(i);
        if (c === 0) return true;
        if (c === 0xfffd || (c < 32 && c !== 9 && c !== 10 && c !== 13)) odd++;
    }
    return odd > head.length / 20;
}

/**
 * The format of a trace text, from its first non-blank line: `;` starts SWF (as do 18 numeric
 * fields), a `|`-separated header naming JobID is sacct, `MM/DD/YYYY HH:MM:SS;X;` is Torque.
 * Throws a `TraceError` saying what the text looks like when it is none of them.
 */
export function detectFormat(text: string, source: string): TraceFormat {
    if (text.trim() === "") throw new TraceError(`${source}: the file is empty; ${EXPECTED}`);
    if (looksBinary(text)) {
        throw new TraceError(`${source}: the file is binary, not text; ${EXPECTED}`);
    }
    const lines = linesOf(text);
    let i = 0;
    while (i < lines.length && lines[i]!.trim() === "") i++;
    const line = lines[i]!;
    const first = line.trim();
    const where = `line ${i + 1}`;
    if (first.startsWith(";")) return "swf";
    if (isSacctHeader(first)) return "sacct";
    if (isTorqueRecord(line)) return "torque";
    if (isSwfJobLine(first)) return "swf";
    if (first.startsWith("{") || first.startsWith("[")) {
        throw new TraceError(`${source}: ${where} starts JSON, not a trace; ${EXPECTED}`);
    }
    if (first.split("|").length >= 5) {
        throw new TraceError(
            `${source}: ${where} is "|"-separated but not a sacct header (JobID|User|...): ` +
                `sacct output needs its header line (no --noheader); produce it with:\n  ${SACCT_COMMAND}`,
        );
    }
    if (first.includes(",") || first.includes("\t")) {
        throw new TraceError(
            `${source}: ${where} looks like CSV/TSV, which is not a trace format; ${EXPECTED}`,
        );
    }
    throw new TraceError(`${source}: ${where} is not the start of any trace format; ${EXPECTED}`);
}

/**
 * Reads a workload trace from `text` (`source` names it in the trace and in messages). The
 * format is detected unless given. Throws a `TraceError` when the text is not a trace, when more
 * than half of its record lines are malformed, or when it has no replayable job.
 */
export function readTrace(text: string, source: string, format?: TraceFormat): Trace {
    if (format !== undefined && text.trim() === "") {
        throw new TraceError(`${source}: the file is empty; expected ${HOW_TO[format]}`);
    }
    const f = format ?? detectFormat(text, source);
    const { trace, records } = SCANNERS[f](text, source);
    const bad = trace.malformed.length;
    if (records === 0 || bad * 2 > records) {
        const firstBad = trace.malformed[0];
        throw new TraceError(
            `${source}: not a ${f} trace: ${bad} of ${records} record lines are malformed` +
                (firstBad ? `, the first is line ${firstBad.line} (${firstBad.reason})` : "") +
                `; expected ${HOW_TO[f]}`,
        );
    }
    if (trace.jobs.length === 0) {
        const firstSkipped = trace.skipped[0];
        throw new TraceError(
            `${source}: no replayable job in this ${f} trace (${trace.skipped.length} skipped, ` +
                `${bad} malformed)` +
                (firstSkipped
                    ? `; the first skipped is line ${firstSkipped.line} (${firstSkipped.reason})`
                    : "") +
                `; a replay needs jobs that ran (a start, a run time > 0, a processor count)`,
        );
    }
    return trace;
}

/**
 * Reads a workload trace file (see `readTrace`). Refuses a missing path, a directory and an
 * unreadable file with a `TraceError` naming the path.
 */
export function readTraceFile(path: string, format?: TraceFormat): Trace {
    let stat: fs.Stats;
    try {
        stat = fs.statSync(path);
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new TraceError(
            code === "ENOENT"
                ? `${path}: no such file; give the path of a trace file`
                : `${path}: cannot read it (${code ?? String(err)})`,
        );
    }
    if (stat.isDirectory()) {
        throw new TraceError(`${path}: is a directory; give the path of one trace file`);
    }
    let text: string;
    try {
        text = fs.readFileSync(path, "utf8");
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new TraceError(`${path}: cannot read it (${code ?? String(err)})`);
    }
    return readTrace(text, path, format);
}

/**
 * The trace's jobs of one partition (a pool's own jobs, when the pool has its own partition:
 * pools in their own partitions share no node, so each replays alone exactly).
 * @throws TraceError naming the partitions the trace has, when none of its jobs is in `name`.
 */
export function jobsOfPartition(trace: Trace, name: string): TraceJob[] {
    const jobs = trace.jobs.filter((job) => job.partition === name);
    if (jobs.length) return jobs;
    const counts = new Map<string, number>();
    for (const job of trace.jobs)
        if (job.partition !== undefined)
            counts.set(job.partition, (counts.get(job.partition) ?? 0) + 1);
    throw new TraceError(
        counts.size
            ? `no job of the trace is in partition "${name}"; its partitions: ${[...counts]
                  .map(([p, n]) => `${p} (${n} jobs)`)
                  .join(", ")}`
            : `the trace names no partition (sacct: add Partition to --format; Torque: the E records' queue; SWF: field 16), so --partition cannot select jobs`,
    );
}
