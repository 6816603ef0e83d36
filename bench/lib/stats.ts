/**
 * Summary statistics the benchmarks print.
 */

/** The median of `values` (the upper one of the middle two for an even count). */
export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
}
