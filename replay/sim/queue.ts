/**
 * The simulation's clock: an event queue in simulated time (seconds). Events at the same time
 * run in the order they were scheduled. A binary min-heap on (time, scheduling order): a total
 * order, so the events run in the same order whatever the heap's layout. Events known before the
 * run (a trace's submissions, {@link EventQueue.series}) wait in a sorted list beside the heap,
 * which then holds only what the run schedules itself.
 */

interface Entry {
    at: number;
    seq: number;
    run: () => void;
}

/** True when `a` runs before `b`. */
function earlier(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Simulated time and the events still to come. */
export class EventQueue {
    private readonly heap: Entry[] = [];
    /** Events scheduled in bulk, sorted; those before `next` have run. */
    private preloaded: Entry[] = [];
    private next = 0;
    private seq = 0;
    /** The current simulated time (s). */
    now = 0;
    /** Events run so far. */
    processed = 0;

    /** Runs `run` at simulated time `at` (never before now). */
    at(at: number, run: () => void): void {
        if (Number.isNaN(at)) throw new Error("internal: an event scheduled at NaN");
        const entry: Entry = { at: Math.max(at, this.now), seq: this.seq++, run };
        const heap = this.heap;
        // Sift up from the new last leaf.
        let i = heap.length;
        heap.push(entry);
        while (i > 0) {
            const parent = (i - 1) >> 1;
            const above = heap[parent]!;
            if (!earlier(entry, above)) break;
            heap[i] = above;
            i = parent;
        }
        heap[i] = entry;
    }

    /** Runs `run` after every event already scheduled for now. */
    soon(run: () => void): void {
        this.at(this.now, run);
    }

    /**
     * Runs `run(item)` at `when(item)` for every item: the same as calling {@link at} for each
     * in turn (same times, the same order among equal times), without growing the heap.
     */
    series<T>(items: readonly T[], when: (item: T) => number, run: (item: T) => void): void {
        const added = items.map((item): Entry => {
            const at = when(item);
            if (Number.isNaN(at)) throw new Error("internal: an event scheduled at NaN");
            return { at: Math.max(at, this.now), seq: this.seq++, run: () => run(item) };
        });
        this.preloaded = [...this.preloaded.slice(this.next), ...added].sort(
            (a, b) => a.at - b.at || a.seq - b.seq,
        );
        this.next = 0;
    }

    /** Runs events in order until none is left or `stop()` says so; returns the end time. */
    run(stop: () => boolean = () => false): number {
        for (let e = this.pop(); e; e = this.pop()) {
            this.now = e.at;
            this.processed++;
            e.run();
            if (stop()) break;
        }
        return this.now;
    }

    /** Events still scheduled. */
    get pending(): number {
        return this.heap.length + this.preloaded.length - this.next;
    }

    /** Takes the earliest event: the next preloaded one, or the heap's. */
    private pop(): Entry | undefined {
        const preloaded = this.preloaded[this.next];
        const top = this.heap[0];
        if (preloaded && (!top || earlier(preloaded, top))) {
            this.next++;
            return preloaded;
        }
        return this.popHeap();
    }

    /** Takes the earliest event off the heap. */
    private popHeap(): Entry | undefined {
        const heap = this.heap;
        const top = heap[0];
        const last = heap.pop();
        const size = heap.length;
        if (size === 0 || last === undefined) return top;
        // Sift the last leaf down from the root.
        let i = 0;
        for (;;) {
            const left = 2 * i + 1;
            if (left >= size) break;
            const right = left + 1;
            const child = right < size && earlier(heap[right]!, heap[left]!) ? right : left;
            const below = heap[child]!;
            if (!earlier(below, last)) break;
            heap[i] = below;
            i = child;
        }
        heap[i] = last;
        return top;
    }
}
