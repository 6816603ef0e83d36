/**
 * Synthetic traces for speed measurements and for trying the tool without a trace: jobs
 * resampled from a real trace's jobs (size, runtime and inter-arrival gap drawn independently,
 * with replacement), so the mix stays realistic at any length. Deterministic for a seed.
 */
import { Random } from "./random";
import type { TraceJob } from "./trace/types";

/** `count` jobs resampled from `model` (at least two jobs). */
export function resampledTrace(
    model: readonly TraceJob[],
    count: number,
    seed: number,
): TraceJob[] {
    if (model.length < 2)
        throw new Error("a synthetic trace needs a model trace of at least two jobs");
    const random = new Random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random.uniform() * xs.length)]!;
    const gaps = model.slice(1).map((job, i) => job.submit - model[i]!.submit);
    const jobs: TraceJob[] = [];
    let submit = 0;
    for (let i = 0; i < count; i++) {
        const size = pick(model);
        const length = pick(model);
        jobs.push({
            id: `s${i + 1}`,
            submit,
            runtime: length.runtime,
            processors: size.processors,
        });
        submit += pick(gaps);
    }
    return jobs;
}
