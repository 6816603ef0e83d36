/**
 * The simulation's clock: an event queue in simulated time (seconds). Events at the same time
 * run in the order they were scheduled. Backed by heap-js's binary heap.
 */
import { Heap } from "heap-js";

interface Entry {
    at: number;
    seq: number;
    run: () => void;
}

/** Simulated time and the events still to come. */
export class EventQueue {
    private readonly heap = new Heap<Entry>((a, b) => a.at - b.at || a.seq - b.seq);
    private seq = 0;
    /** The current simulated time (s). */
    now = 0;
    /** Events run so far. */
    processed = 0;

    /** Runs `run` at simulated time `at` (never before now). */
    at(at: number, run: () => void): void {
        if (Number.isNaN(at)) throw new Error("internal: an event scheduled at NaN");
        this.heap.push({ at: Math.max(at, this.now), seq: this.seq++, run });
    }

    /** Runs `run` after every event already scheduled for now. */
    soon(run: () => void): void {
        this.at(this.now, run);
    }

    /** Runs events in order until none is left or `stop()` says so; returns the end time. */
    run(stop: () => boolean = () => false): number {
        for (let e = this.heap.pop(); e; e = this.heap.pop()) {
            this.now = e.at;
            this.processed++;
            e.run();
            if (stop()) break;
        }
        return this.now;
    }

    /** Events still scheduled. */
    get pending(): number {
        return this.heap.length;
    }
}
