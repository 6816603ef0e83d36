/**
 * Bounded concurrency for the OpenStack calls of both sides: a semaphore, a mutex, and
 * `mapBounded` (a parallel map with at most N in flight). Node built-ins only: this module is
 * serialized by value into the WorkerPool dynamic provider.
 */

/** At most `limit` tasks run at once; the others wait in order. */
export class Semaphore {
    private active = 0;
    private readonly waiting: Array<() => void> = [];

    constructor(readonly limit: number) {
        if (!Number.isInteger(limit) || limit < 1) {
            throw new Error(`A semaphore needs a limit of at least 1, not ${limit}.`);
        }
    }

    /** Runs `task` when a slot is free. */
    async run<T>(task: () => Promise<T>): Promise<T> {
        if (this.active >= this.limit) {
            await new Promise<void>((resolve) => this.waiting.push(resolve));
        } else {
            this.active++;
        }
        try {
            return await task();
        } finally {
            const next = this.waiting.shift();
            if (next) next();
            else this.active--;
        }
    }

    /** Tasks running now. */
    get running(): number {
        return this.active;
    }

    /** Tasks waiting for a slot. */
    get queued(): number {
        return this.waiting.length;
    }
}

/** One task at a time. */
export class Mutex extends Semaphore {
    constructor() {
        super(1);
    }
}

/** Maps `items` through `work` with at most `limit` calls in flight; keeps the order. */
export async function mapBounded<T, R>(
    items: readonly T[],
    limit: number,
    work: (item: T) => Promise<R>,
): Promise<R[]> {
    const semaphore = new Semaphore(Math.max(1, limit));
    return Promise.all(items.map((item) => semaphore.run(() => work(item))));
}
