/**
 * The Standard Workload Format reader (the Parallel Workloads Archive's format, version 2:
 * https://www.cs.huji.ac.il/labs/parallel/workload/swf.html).
 *
 * A file is header comments, lines starting with `;` (`; Key: value`, e.g. `; MaxNodes: 256`,
 * `; UnixStartTime: 1104559200`), and one job per line: 18 whitespace-separated numbers, -1 for
 * unknown. The fields are
 *   1 job number, 2 submit time (s), 3 wait time, 4 run time (s), 5 allocated processors,
 *   6 average CPU time, 7 used memory, 8 requested processors, 9 requested time (s),
 *   10 requested memory, 11 status, 12 user ID, 13 group ID, 14 executable, 15 queue,
 *   16 partition, 17 preceding job, 18 think time.
 * Rules:
 * - processors: allocated (5), else requested (8);
 * - a job whose submit time, run time or processors are unknown (-1), or whose run time is 0,
 *   goes to `skipped` with the reason (cancelled jobs that never ran have run time -1 or 0);
 * - a line with another number of fields, or a field that is not a number, goes to `malformed`;
 * - `requestedTime` is field 9 when > 0, `user` field 12 when >= 0, `partition` field 16 when
 *   >= 0;
 * - `startEpoch` is UnixStartTime (the epoch of submit time 0) plus the first job's submit time,
 *   when the header has UnixStartTime.
 */
import {
    buildTrace,
    linesOf,
    problem,
    type RawJob,
    type TraceProblem,
    type TraceScan,
} from "./types";

/** The number of fields of an SWF job line. */
export const SWF_FIELDS = 18;

/** The fields' names, 1-based like the format's documentation (index 0 unused). */
const FIELD_NAMES = [
    "",
    "job number",
    "submit time",
    "wait time",
    "run time",
    "allocated processors",
    "average CPU time",
    "used memory",
    "requested processors",
    "requested time",
    "requested memory",
    "status",
    "user ID",
    "group ID",
    "executable",
    "queue",
    "partition",
    "preceding job",
    "think time",
];

const WHITESPACE = /\s+/;

/** The fields of an SWF job line (no comment, not blank). */
export function swfFields(line: string): string[] {
    return line.trim().split(WHITESPACE);
}

/** True when `line` is a job line of the format: 18 numeric fields. */
export function isSwfJobLine(line: string): boolean {
    const fields = swfFields(line);
    return fields.length === SWF_FIELDS && fields.every((f) => Number.isFinite(Number(f)));
}

/** Reads an SWF text (see the module comment for the rules). */
export function scanSwf(text: string, source: string): TraceScan {
    const jobs: RawJob[] = [];
    const skipped: TraceProblem[] = [];
    const malformed: TraceProblem[] = [];
    const header: Record<string, string> = {};
    const lines = linesOf(text);
    const values = new Array<number>(SWF_FIELDS + 1);
    let records = 0;
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        const n = i + 1;
        const trimmed = line.trim();
        if (trimmed === "") continue;
        if (trimmed.charCodeAt(0) === 59 /* ; */) {
            const colon = trimmed.indexOf(":");
            if (colon > 1) {
                const key = trimmed.slice(1, colon).trim();
                if (key !== "" && !/\s/.test(key)) header[key] = trimmed.slice(colon + 1).trim();
            }
            continue;
        }
        records++;
        const fields = trimmed.split(WHITESPACE);
        if (fields.length !== SWF_FIELDS) {
            malformed.push(
                problem(n, `expected ${SWF_FIELDS} fields, found ${fields.length}`, line),
            );
            continue;
        }
        let bad = 0;
        for (let f = 1; f <= SWF_FIELDS; f++) {
            const v = Number(fields[f - 1]);
            if (!Number.isFinite(v)) {
                bad = f;
                break;
            }
            values[f] = v;
        }
        if (bad !== 0) {
            const name = FIELD_NAMES[bad]!;
            const field = fields[bad - 1]!;
            malformed.push(problem(n, `field ${bad} (${name}) is not a number: "${field}"`, line));
            continue;
        }
        const submit = values[2]!;
        const runtime = values[4]!;
        const processors = values[5]! > 0 ? values[5]! : values[8]!;
        let reason: string | undefined;
        if (submit < 0) reason = "submit time unknown (-1)";
        else if (runtime < 0) reason = "run time unknown (-1)";
        else if (runtime === 0) reason = "run time 0";
        else if (!(processors > 0)) reason = "processors unknown (fields 5 and 8 are -1 or 0)";
        if (reason !== undefined) {
            skipped.push(problem(n, reason, line));
            continue;
        }
        const job: RawJob = { id: fields[0]!, submit, runtime, processors };
        if (values[9]! > 0) job.requestedTime = values[9]!;
        if (values[12]! >= 0) job.user = fields[11]!;
        if (values[16]! >= 0) job.partition = fields[15]!;
        jobs.push(job);
    }
    const unixStart = Number(header["UnixStartTime"]);
    const epochOf =
        Number.isFinite(unixStart) && header["UnixStartTime"] !== undefined
            ? (origin: number) => unixStart + origin
            : undefined;
    return {
        trace: buildTrace("swf", source, jobs, skipped, malformed, header, epochOf),
        records,
    };
}
