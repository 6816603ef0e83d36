/**
 * The sweep: the service policy over a grid of `workers.max` x `workers.idleTimeout`, its
 * Pareto front (no other point is both cheaper and faster), the point to recommend, and the
 * `pulumi config` commands that set it.
 */
import type { PolicyResult, WorkerShape } from "./model";

/** One point of the sweep. */
export interface SweepPoint {
    max: number;
    idleTimeout: number;
    result: PolicyResult;
    /** On the Pareto front of (node-hours, mean wait). */
    pareto: boolean;
}

/** True when every job of the trace fitted and ran (a point that dropped work is not comparable). */
export function complete(r: PolicyResult): boolean {
    return r.neverRan === 0 && r.neverFits === 0;
}

/**
 * Marks the complete points no other complete point beats on both node-hours and mean wait
 * (at least as good on both, better on one).
 */
export function markPareto(points: SweepPoint[]): SweepPoint[] {
    for (const p of points) {
        p.pareto =
            complete(p.result) &&
            !points.some((q) => q !== p && complete(q.result) && dominates(q.result, p.result));
    }
    return points;
}

/** The naive reference (sim/naive.ts) at one idle timeout: a point of its curve. */
export interface NaivePoint {
    idleTimeout: number;
    result: PolicyResult;
    /**
     * The cheapest complete sweep point that beats it: no more node-hours and no longer mean wait,
     * and less of one. Undefined when no sweep point does.
     */
    beatenBy?: SweepPoint;
}

/** True when `a` is no worse than `b` on node-hours and mean wait, and better on one. */
export function dominates(a: PolicyResult, b: PolicyResult): boolean {
    return (
        a.nodeHours <= b.nodeHours &&
        a.waitMean <= b.waitMean &&
        (a.nodeHours < b.nodeHours || a.waitMean < b.waitMean)
    );
}

/**
 * The naive curve against the sweep: for each naive point, the cheapest complete sweep point
 * that beats it (issue 20's bar: the service's sweep is Pareto-better than the naive curve when
 * every naive point is beaten).
 */
export function againstNaive(
    points: readonly SweepPoint[],
    naive: ReadonlyArray<Omit<NaivePoint, "beatenBy">>,
): NaivePoint[] {
    return naive.map((n) => ({
        ...n,
        beatenBy: points
            .filter((p) => complete(p.result) && dominates(p.result, n.result))
            .sort((a, b) => a.result.nodeHours - b.result.nodeHours)[0],
    }));
}

/**
 * The recommended point: with a wait target, the cheapest Pareto point whose p95 wait meets
 * it; without, the cheapest Pareto point whose mean wait is within 10 % (and at least 60 s) of
 * the best mean wait of the sweep. Undefined when no point qualifies.
 */
export function choose(points: readonly SweepPoint[], p95Target?: number): SweepPoint | undefined {
    const front = points.filter((p) => p.pareto);
    if (!front.length) return undefined;
    const best = Math.min(...front.map((p) => p.result.waitMean));
    const ok =
        p95Target !== undefined
            ? front.filter((p) => p.result.waitP95 <= p95Target)
            : front.filter((p) => p.result.waitMean <= best + Math.max(60, best * 0.1));
    return ok.sort((a, b) => a.result.nodeHours - b.result.nodeHours)[0];
}

/** The exact commands that give a stack this worker policy. */
export function configCommands(shape: Pick<WorkerShape, "min" | "max" | "idleTimeout">): string[] {
    return [
        `pulumi config set --path workers.min ${shape.min}`,
        `pulumi config set --path workers.max ${shape.max}`,
        `pulumi config set --path workers.idleTimeout ${shape.idleTimeout}`,
    ];
}

/** Default sweep values around the user's point (unique, sorted, at least `min` nodes). */
export function defaultGrid(shape: WorkerShape): { max: number[]; idle: number[] } {
    const max = [0.5, 0.75, 1, 1.5, 2].map((f) =>
        Math.max(shape.min, 1, Math.round(shape.max * f)),
    );
    const idle = [60, 300, 600, 1800, 3600, shape.idleTimeout];
    const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
    return { max: uniq(max), idle: uniq(idle) };
}
