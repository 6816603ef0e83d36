/**
 * The Torque/PBS accounting log reader (`/var/spool/torque/server_priv/accounting/YYYYMMDD`).
 *
 * The format, as the Torque Administrator Guide's "Accounting Records" section describes it
 * (section 9.1 in Torque 2.x-4.x, e.g.
 * http://docs.adaptivecomputing.com/torque/4-1-4/Content/topics/9-accounting/accountingRecords.htm):
 * one record per line, `MM/DD/YYYY HH:MM:SS;T;JOBID;key=value key=value ...`, where T is the
 * record type: Q queued, S started, E exited (successfully or not), D deleted, A aborted,
 * C checkpointed, R rerun, T restarted. The E record carries the whole job: `user`, `group`,
 * `queue`, `ctime`/`qtime`/`etime`/`start`/`end` (epoch seconds), `exec_host`,
 * `Resource_List.*` (what was asked), `resources_used.*` (what was used), `Exit_status`.
 * Rules:
 * - only E records are jobs; all other record types are valid records, ignored silently;
 * - submit is `qtime` (else `ctime`), epoch seconds; `startEpoch` is the first job's qtime;
 * - a job without `start` (or start 0: deleted before it ran) is skipped;
 * - runtime is `resources_used.walltime` (`HH:MM:SS`, or seconds), else `end - start`; a job
 *   with run time 0 is skipped;
 * - processors are the entries of `exec_host` (`n1/0+n1/1+n2/0` is 3; Torque 4+ ranges
 *   `n1/0-3` and lists `n1/0,2` count each core), else `Resource_List.procs`, else
 *   `Resource_List.ncpus`, else `Resource_List.nodes` (`2:ppn=8` is 16, `1` is 1,
 *   `node1+node2:ppn=4` is 5: a host name counts as one node);
 * - requestedTime is `Resource_List.walltime`, user `user`, partition `queue`;
 * - a line that is not `date;type;id;message`, or an E record whose times cannot be read, is
 *   malformed.
 */
import {
    buildTrace,
    linesOf,
    problem,
    type RawJob,
    type TraceProblem,
    type TraceScan,
} from "./types";

/** True when `line` has the shape of a Torque accounting record (`MM/DD/YYYY HH:MM:SS;T;`). */
export function isTorqueRecord(line: string): boolean {
    return (
        line.length > 22 &&
        line[2] === "/" &&
        line[5] === "/" &&
        line[10] === " " &&
        line[13] === ":" &&
        line[16] === ":" &&
        line[19] === ";" &&
        line[21] === ";" &&
        /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d;[A-Z];/.test(line)
    );
}

/** The key=value pairs of a record's message (a value may hold spaces: words without "=" join the previous value). */
export function torqueAttributes(message: string): Map<string, string> {
    const attrs = new Map<string, string>();
    let last: string | undefined;
    for (const word of message.split(" ")) {
        if (word === "") continue;
        const eq = word.indexOf("=");
        if (eq > 0) {
            last = word.slice(0, eq);
            attrs.set(last, word.slice(eq + 1));
        } else if (last !== undefined) {
            attrs.set(last, `${attrs.get(last)} ${word}`);
        }
    }
    return attrs;
}

/** Seconds of a Torque duration: `[[HH:]MM:]SS` (HH may exceed 24) or plain seconds; NaN otherwise. */
export function parseTorqueDuration(s: string): number {
    const parts = s.split(":");
    if (parts.length > 3 || parts.some((p) => !/^\d+$/.test(p))) return NaN;
    let seconds = 0;
    for (const p of parts) seconds = seconds * 60 + Number(p);
    return seconds;
}

/** Cores in an `exec_host` list: `n1/0+n1/1`, `n1/0-3+n2/0,2`. NaN when it cannot be read. */
export function execHostCores(execHost: string): number {
    let cores = 0;
    for (const entry of execHost.split("+")) {
        const slash = entry.lastIndexOf("/");
        if (slash <= 0) return NaN;
        for (const item of entry.slice(slash + 1).split(",")) {
            const dash = item.indexOf("-");
            if (dash < 0) {
                if (!/^\d+$/.test(item)) return NaN;
                cores += 1;
            } else {
                const lo = Number(item.slice(0, dash));
                const hi = Number(item.slice(dash + 1));
                if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) return NaN;
                cores += hi - lo + 1;
            }
        }
    }
    return cores;
}

/** Cores a `Resource_List.nodes` spec asks for: `2:ppn=8` 16, `node1+node2:ppn=4` 5. NaN when unreadable. */
export function nodesSpecCores(spec: string): number {
    let cores = 0;
    for (const part of spec.split("+")) {
        const [first, ...props] = part.split(":");
        if (first === undefined || first === "") return NaN;
        const count = /^\d+$/.test(first) ? Number(first) : 1; // a number of nodes, or a host name
        let ppn = 1;
        for (const prop of props) {
            if (prop.startsWith("ppn=")) ppn = Number(prop.slice(4));
        }
        if (!Number.isInteger(ppn) || ppn < 1) return NaN;
        cores += count * ppn;
    }
    return cores;
}

/** A positive integer attribute, or undefined. */
function positive(v: string | undefined): number | undefined {
    if (v === undefined || !/^\d+$/.test(v)) return undefined;
    const n = Number(v);
    return n > 0 ? n : undefined;
}

/** Reads Torque accounting records (see the module comment for the rules). */
export function scanTorque(text: string, source: string): TraceScan {
    const jobs: RawJob[] = [];
    const skipped: TraceProblem[] = [];
    const malformed: TraceProblem[] = [];
    const lines = linesOf(text);
    let records = 0;
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        const n = i + 1;
        if (line.trim() === "") continue;
        records++;
        if (!isTorqueRecord(line)) {
            malformed.push(
                problem(n, "not a record: expected MM/DD/YYYY HH:MM:SS;TYPE;JOBID;...", line),
            );
            continue;
        }
        if (line[20] !== "E") continue;
        const idEnd = line.indexOf(";", 22);
        if (idEnd < 0) {
            malformed.push(problem(n, "E record without a message (date;E;jobid;message)", line));
            continue;
        }
        const id = line.slice(22, idEnd);
        const a = torqueAttributes(line.slice(idEnd + 1));
        const submit = positive(a.get("qtime")) ?? positive(a.get("ctime"));
        if (submit === undefined) {
            malformed.push(problem(n, "E record without qtime or ctime (epoch seconds)", line));
            continue;
        }
        const start = positive(a.get("start"));
        if (start === undefined) {
            skipped.push(problem(n, "never started (no start time)", line));
            continue;
        }
        const end = positive(a.get("end"));
        const used = a.get("resources_used.walltime");
        let runtime = used !== undefined ? parseTorqueDuration(used) : NaN;
        if (used === undefined && end !== undefined) runtime = end - start;
        if (Number.isNaN(runtime)) {
            malformed.push(
                problem(
                    n,
                    used !== undefined
                        ? `resources_used.walltime is not a duration: "${used}"`
                        : "no resources_used.walltime and no end",
                    line,
                ),
            );
            continue;
        }
        if (runtime <= 0) {
            skipped.push(problem(n, "run time 0", line));
            continue;
        }
        const execHost = a.get("exec_host");
        const nodes = a.get("Resource_List.nodes");
        // What was allocated (exec_host, when readable), else what was asked.
        const allocated = execHost !== undefined ? execHostCores(execHost) : NaN;
        const processors = !Number.isNaN(allocated)
            ? allocated
            : (positive(a.get("Resource_List.procs")) ??
              positive(a.get("Resource_List.ncpus")) ??
              (nodes !== undefined ? nodesSpecCores(nodes) : undefined));
        if (processors === undefined || !(processors > 0)) {
            skipped.push(
                problem(n, "processors unknown (no exec_host, procs, ncpus or nodes)", line),
            );
            continue;
        }
        const job: RawJob = { id, submit, runtime, processors };
        const limit = a.get("Resource_List.walltime");
        if (limit !== undefined) {
            const seconds = parseTorqueDuration(limit);
            if (seconds > 0) job.requestedTime = seconds;
        }
        const user = a.get("user");
        if (user !== undefined && user !== "") job.user = user;
        const queue = a.get("queue");
        if (queue !== undefined && queue !== "") job.partition = queue;
        jobs.push(job);
    }
    return {
        trace: buildTrace("torque", source, jobs, skipped, malformed, {}, (origin) => origin),
        records,
    };
}
