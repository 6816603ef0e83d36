/**
 * The replay's text output: the trace summary, the per-policy table and the sweep table.
 * Fixed-width columns, right-aligned numbers, durations in s / min / h.
 */
import type { PolicyResult } from "./model";
import type { NaivePoint, SweepPoint } from "./sweep";
import type { Trace } from "./trace/types";

/** What was read, and what could not be used (first few line numbers). */
export function traceSummary(trace: Trace, replayed: number): string {
    const lines = [
        `trace ${trace.source} (${trace.format}): ${trace.jobs.length} jobs` +
            (replayed !== trace.jobs.length ? `, replaying the first ${replayed}` : ""),
    ];
    const span = trace.jobs.length ? trace.jobs[trace.jobs.length - 1]!.submit : 0;
    lines.push(`  submissions span ${duration(span)}`);
    for (const [what, problems] of [
        ["skipped (cannot be replayed)", trace.skipped],
        ["malformed", trace.malformed],
    ] as const) {
        if (!problems.length) continue;
        const first = problems
            .slice(0, 3)
            .map((p) => `line ${p.line}: ${p.reason}`)
            .join("; ");
        lines.push(`  ${problems.length} ${what}: ${first}${problems.length > 3 ? "; ..." : ""}`);
    }
    return lines.join("\n");
}

const POLICY_COLUMNS = [
    "policy",
    "node-hours",
    "÷ used",
    "mean wait",
    "p95 wait",
    "max wait",
    "never fit",
    "never ran",
    "peak workers",
    "launches",
] as const;

/** One row per policy. */
export function policyTable(rows: readonly PolicyResult[]): string {
    return table(
        [...POLICY_COLUMNS],
        rows.map((r) => [
            r.policy,
            hoursText(r.nodeHours),
            ratioText(r),
            duration(r.waitMean),
            duration(r.waitP95),
            duration(r.waitMax),
            String(r.neverFits),
            String(r.neverRan),
            String(r.peakWorkers),
            r.policy === "foresight" ? "-" : String(r.launches),
        ]),
    );
}

/**
 * Where each policy's node-hours went (PolicyResult.split): used by jobs, idle (usable but
 * unused: waiting for work or for the idle timeout, draining, cores a job left free), booting
 * and deleting; node-hours and share of the bill. Then where the mean wait went
 * (PolicyResult.waitSplit): in the queue, and waiting for allocated nodes to boot.
 */
export function splitTable(rows: readonly PolicyResult[]): string {
    const cell = (hours: number, total: number) =>
        `${hoursText(hours)} (${total > 0 ? ((100 * hours) / total).toFixed(1) : "0.0"} %)`;
    return table(
        ["policy", "used", "idle", "booting", "deleting", "wait: queue", "wait: boot"],
        rows.map((r) => [
            r.policy,
            cell(r.split.used, r.nodeHours),
            cell(r.split.idle, r.nodeHours),
            cell(r.split.booting, r.nodeHours),
            cell(r.split.deleting, r.nodeHours),
            duration(r.waitSplit.queue),
            duration(r.waitSplit.boot),
        ]),
    );
}

/** One row per sweep point, Pareto points starred and the recommended one marked. */
export function sweepTable(points: readonly SweepPoint[], chosen?: SweepPoint): string {
    return table(
        [
            "",
            "max",
            "idle",
            "node-hours",
            "÷ used",
            "mean wait",
            "p95 wait",
            "max wait",
            "not run",
            "launches",
        ],
        points.map((p) => [
            (p === chosen ? ">" : " ") + (p.pareto ? "*" : " "),
            String(p.max),
            `${p.idleTimeout} s`,
            hoursText(p.result.nodeHours),
            ratioText(p.result),
            duration(p.result.waitMean),
            duration(p.result.waitP95),
            duration(p.result.waitMax),
            String(p.result.neverRan + p.result.neverFits),
            String(p.result.launches),
        ]),
    );
}

/**
 * The naive reference's curve, one row per idle timeout, and the cheapest sweep point that beats
 * each (or "none": there the service loses to the naive policy).
 */
export function naiveTable(points: readonly NaivePoint[]): string {
    return table(
        [
            "idle",
            "node-hours",
            "÷ used",
            "mean wait",
            "p95 wait",
            "launches",
            "beaten by (max, idle)",
        ],
        points.map((p) => [
            `${p.idleTimeout} s`,
            hoursText(p.result.nodeHours),
            ratioText(p.result),
            duration(p.result.waitMean),
            duration(p.result.waitP95),
            String(p.result.launches),
            p.beatenBy
                ? `${p.beatenBy.max}, ${p.beatenBy.idleTimeout} s: ${ratioText(p.beatenBy.result)}, ${duration(p.beatenBy.result.waitMean)}`
                : "none",
        ]),
    );
}

/** Node-hours billed over node-hours used ("-" when jobs used none). */
export function ratioText(r: Pick<PolicyResult, "nodeHours" | "usedNodeHours">): string {
    return r.usedNodeHours > 0 ? (r.nodeHours / r.usedNodeHours).toFixed(3) : "-";
}

/** Node-hours: one decimal from 100 up, three significant digits below. */
function hoursText(hours: number): string {
    return hours >= 100 ? hours.toFixed(1) : Number(hours.toPrecision(3)).toString();
}

/** Seconds as "42 s", "12.5 min", "3.2 h". */
export function duration(seconds: number): string {
    if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
    if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
}

/** Fixed-width columns: the first left-aligned, the rest right-aligned. */
export function table(head: string[], rows: string[][]): string {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
        cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
