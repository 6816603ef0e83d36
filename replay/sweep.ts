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
            !points.some(
                (q) =>
                    q !== p &&
                    complete(q.result) &&
                    q.result.nodeHours <= p.result.nodeHours &&
                    q.result.waitMean <= p.result.waitMean &&
                    (q.result.nodeHours < p.result.nodeHours ||
                        q.result.waitMean < p.result.waitMean),
            );
    }
    return points;
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
