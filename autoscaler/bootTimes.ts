/**
 * How long a worker takes from the create call to usable (highstate done, slurmd up), as this
 * cluster has measured it: the median of the most recent boots. The hand-off (handOff.ts) weighs
 * a boot against nodes that free sooner with it.
 */
import type { WorkerRecord } from "./model";

/** Boots remembered (the median of the most recent ones follows a cloud that slows down). */
export const BOOT_SAMPLES = 21;

/** The recent boot durations of the workers the service launched. */
export class BootTimes {
    private readonly samples: number[] = [];
    /** Minion IDs already counted (a launch is counted once). */
    private counted = new Set<string>();
    private cachedMedian: number | undefined;

    /** Adds one boot's duration (ms). */
    add(ms: number): void {
        if (!Number.isFinite(ms) || ms < 0) return;
        this.samples.push(ms);
        if (this.samples.length > BOOT_SAMPLES) this.samples.shift();
        const sorted = [...this.samples].sort((a, b) => a - b);
        this.cachedMedian = sorted[Math.floor(sorted.length / 2)];
    }

    /**
     * Counts the boots of workers that became usable since the last call: records with a launch
     * and a highstate done, each launch (minion ID) once.
     */
    observe(records: Iterable<WorkerRecord>): void {
        const live = new Set<string>();
        for (const r of records) {
            if (!r.minionId) continue;
            live.add(r.minionId);
            if (r.launchStartedAt === undefined || r.configuredAt === undefined) continue;
            if (this.counted.has(r.minionId)) continue;
            this.counted.add(r.minionId);
            this.add(r.configuredAt - r.launchStartedAt);
        }
        // Forget IDs whose records are gone (they never come back: IDs are random per launch).
        for (const id of this.counted) if (!live.has(id)) this.counted.delete(id);
    }

    /** The median of the recent boots (ms), or undefined before the first. */
    median(): number | undefined {
        return this.cachedMedian;
    }
}
