/**
 * Seeded randomness for the replay: one xoroshiro128+ stream per simulation (pure-rand), so a
 * replay is deterministic for a seed, and the distributions the simulated cloud draws from.
 */
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** Outputs discarded after seeding. */
const WARM_UP = 32;

/** A seeded source of uniform numbers in [0, 1). */
export class Random {
    private readonly rng: ReturnType<typeof xoroshiro128plus>;

    constructor(seed: number) {
        this.rng = xoroshiro128plus(seed | 0);
        // Small seeds start xoroshiro128+ in a low-entropy state (its first outputs from seeds
        // 0..7 are all close to 1): the first draws are discarded.
        for (let i = 0; i < WARM_UP; i++) this.rng.next();
    }

    /** Uniform in [0, 1). */
    uniform(): number {
        return uniformFloat64(this.rng);
    }

    /** True with probability `p`. */
    chance(p: number): boolean {
        return p > 0 && this.uniform() < p;
    }

    /**
     * A log-normal draw with the given median and p95 (both > 0, p95 >= median): the usual
     * shape of boot times (a floor of work plus a long tail). p95 = median gives the median,
     * and a median of 0 gives 0.
     */
    logNormal(median: number, p95: number): number {
        if (median <= 0) return 0;
        if (p95 <= median) return median;
        const sigma = Math.log(p95 / median) / 1.6448536269514722;
        // Box-Muller; 1 - u keeps the logarithm finite.
        const u = 1 - this.uniform();
        const v = this.uniform();
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        return median * Math.exp(sigma * z);
    }
}
