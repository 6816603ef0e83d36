/**
 * A batch of replays of one trace (the CLI's policies and sweep points), run on worker threads
 * (one per core by default) or one after another in this thread, with the results in the order
 * asked. Each replay is independent and deterministic for its inputs (its own clock, simulated
 * cloud and seeded random stream), so where and when it runs changes its wall time, never its
 * result: identical tasks run once (the CLI's point under the service policy is also a point of
 * its default sweep), and worker threads take the replays expected to take longest first, so
 * that the batch does not end waiting for a long one started last. The worker side is
 * batchWorker.ts.
 */
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { PolicyResult, WorkerShape } from "./model";
import { replay, type PolicyKind, type ReplayOptions } from "./simulate";
import type { TraceJob } from "./trace/types";

/** One replay of a batch (no callbacks: they cannot cross to a worker thread). */
export interface ReplayTask {
    policy: PolicyKind;
    options: Omit<ReplayOptions, "onProgress">;
}

/** What the main thread sends a worker: the next task, or `undefined` to stop. */
export interface TaskMessage {
    index: number;
    task: ReplayTask;
}

/** What a worker sends back. */
export type WorkerMessage =
    | { type: "progress"; index: number; finished: number }
    | { type: "result"; index: number; result: PolicyResult }
    | { type: "error"; index: number; message: string; stack?: string };

/** How a batch runs. */
export interface BatchOptions {
    /** Replays at once: 1 runs them in this thread; more start that many worker threads. */
    threads: number;
    /** Jobs finished so far over the whole batch (a finished replay counts all its jobs). */
    onProgress?: (finished: number) => void;
}

/** The policies the CLI runs at the user's point, in the order it reports them. */
export const POINT_POLICIES = ["service", "static", "original", "naive"] as const;

/**
 * The CLI's batch: the user's point under each of {@link POINT_POLICIES}, then each sweep point
 * (a `workers.max` and `idleTimeout` over the user's shape) under the service policy, then the
 * naive reference at each idle timeout of the sweep (its curve; {@link sweepIdleTimeouts}).
 */
export function pointAndSweepTasks(
    options: Omit<ReplayTask["options"], "shape"> & { shape: WorkerShape },
    grid: ReadonlyArray<Pick<WorkerShape, "max" | "idleTimeout">>,
): ReplayTask[] {
    const task = (policy: PolicyKind, shape: WorkerShape): ReplayTask => ({
        policy,
        options: { ...options, shape: policy === "naive" ? naiveShape(shape) : shape },
    });
    return [
        ...POINT_POLICIES.map((policy) => task(policy, options.shape)),
        ...grid.map((point) => task("service", { ...options.shape, ...point })),
        ...sweepIdleTimeouts(grid).map((idleTimeout) =>
            task("naive", { ...options.shape, idleTimeout }),
        ),
    ];
}

/** The sweep's idle timeouts, each once, in increasing order: the naive curve's points. */
export function sweepIdleTimeouts(grid: ReadonlyArray<Pick<WorkerShape, "idleTimeout">>): number[] {
    return [...new Set(grid.map((point) => point.idleTimeout))].sort((a, b) => a - b);
}

/**
 * The naive reference reads only the idle timeout and the cores per node: the rest of its shape
 * is fixed, so that its replay at the user's point and at the same sweep timeout is one task.
 */
function naiveShape(shape: WorkerShape): WorkerShape {
    return { ...shape, min: 0, max: 0, launchTimeout: 0 };
}

/** Threads for `tasks` replays: one per core, never more than there are replays. */
export function defaultThreads(tasks: number): number {
    return Math.max(1, Math.min(availableParallelism(), tasks));
}

/**
 * Runs every task over `jobs`; the results are in the order of `tasks` (identical tasks share
 * one result object).
 */
export async function replayBatch(
    jobs: readonly TraceJob[],
    tasks: readonly ReplayTask[],
    options: BatchOptions,
): Promise<PolicyResult[]> {
    // Each distinct task once; `slot` maps a task to its distinct one.
    const distinct: ReplayTask[] = [];
    const copies: number[] = [];
    const byKey = new Map<string, number>();
    const slot = tasks.map((task) => {
        const key = canonicalJson(task);
        let index = byKey.get(key);
        if (index === undefined) {
            index = distinct.push(task) - 1;
            copies.push(0);
            byKey.set(key, index);
        }
        copies[index]!++;
        return index;
    });
    const threads = Math.min(options.threads, distinct.length);
    const progress = new BatchProgress(copies, jobs.length, options.onProgress);
    const results =
        threads <= 1
            ? distinct.map((task, index) => {
                  const result = replay(jobs, task.policy, {
                      ...task.options,
                      onProgress: (finished) => progress.update(index, finished),
                  });
                  progress.done(index);
                  return result;
              })
            : await inWorkers(jobs, distinct, threads, progress);
    return slot.map((index) => results[index]!);
}

/**
 * A rough relative run time of a replay, to start the longest first: the service's rounds grow
 * with the nodes and with how often they come and go (a short idle timeout); the original's
 * 10 s ticks cost about what the service costs at a 10-minute idle timeout; the static cluster
 * has no controller to run.
 */
function estimatedCost(task: ReplayTask): number {
    const { max, idleTimeout } = task.options.shape;
    if (task.policy === "static") return 0.2 * max;
    if (task.policy === "original") return 1.2 * max;
    if (task.policy === "naive") return 1;
    return max * (1 + 120 / idleTimeout);
}

/** JSON with every object's keys sorted: equal for equal values, whatever the key order. */
function canonicalJson(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        v !== null && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(
                  Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
                      a < b ? -1 : a > b ? 1 : 0,
                  ),
              )
            : v,
    );
}

/** Sums the progress of the batch's replays (a replay that stands for identical ones, for each). */
class BatchProgress {
    private readonly finished: number[];

    constructor(
        /** How many tasks of the batch each replay stands for. */
        private readonly copies: readonly number[],
        private readonly jobs: number,
        private readonly report?: (finished: number) => void,
    ) {
        this.finished = new Array<number>(copies.length).fill(0);
    }

    update(index: number, finished: number): void {
        this.finished[index] = finished * this.copies[index]!;
        this.report?.(this.finished.reduce((a, b) => a + b, 0));
    }

    done(index: number): void {
        this.update(index, this.jobs);
    }
}

/**
 * The batch over `threads` workers: each takes the next task as soon as it is free, the one
 * expected to take longest ({@link estimatedCost}) first.
 */
function inWorkers(
    jobs: readonly TraceJob[],
    tasks: readonly ReplayTask[],
    threads: number,
    progress: BatchProgress,
): Promise<PolicyResult[]> {
    return new Promise((resolve, reject) => {
        const results = new Array<PolicyResult | undefined>(tasks.length);
        const workers: Worker[] = [];
        /** Workers sent `undefined`: they exit, and that is no failure. */
        const stopped = new Set<Worker>();
        const order = tasks
            .map((task, index) => ({ index, cost: estimatedCost(task) }))
            .sort((a, b) => b.cost - a.cost || a.index - b.index)
            .map((t) => t.index);
        let next = 0;
        let pending = tasks.length;
        let failed = false;
        const fail = (err: Error): void => {
            if (failed) return;
            failed = true;
            for (const w of workers) void w.terminate();
            reject(err);
        };
        const feed = (worker: Worker): void => {
            if (next < order.length) {
                const index = order[next++]!;
                worker.postMessage({ index, task: tasks[index]! } satisfies TaskMessage);
            } else {
                stopped.add(worker);
                worker.postMessage(undefined);
            }
        };
        for (let i = 0; i < threads; i++) {
            const worker = startWorker(jobs);
            workers.push(worker);
            worker.on("message", (message: WorkerMessage) => {
                if (failed) return;
                if (message.type === "progress") {
                    progress.update(message.index, message.finished);
                } else if (message.type === "result") {
                    results[message.index] = message.result;
                    progress.done(message.index);
                    feed(worker);
                    if (--pending === 0) resolve(results as PolicyResult[]);
                } else {
                    const err = new Error(message.message);
                    if (message.stack) err.stack = message.stack;
                    fail(err);
                }
            });
            worker.on("error", fail);
            worker.on("exit", (code) => {
                if (!stopped.has(worker)) {
                    fail(new Error(`a replay worker thread stopped early (exit code ${code})`));
                }
            });
            feed(worker);
        }
    });
}

/**
 * A worker thread running batchWorker.ts. Run from TypeScript source (tsx), the worker registers
 * tsx's loader first: a worker thread does not inherit the loader of the main thread.
 */
function startWorker(jobs: readonly TraceJob[]): Worker {
    const fromSource = __filename.endsWith(".ts");
    const file = path.join(__dirname, `batchWorker${fromSource ? ".ts" : ".js"}`);
    const source = [
        fromSource ? `require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).register();` : "",
        `require(${JSON.stringify(file)});`,
    ].join("\n");
    return new Worker(source, { eval: true, workerData: { jobs } });
}
