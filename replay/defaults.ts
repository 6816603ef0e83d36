/**
 * The replay's defaults: the worker policy's own defaults (lib/workerDefaults.ts, so a replay
 * without options simulates a new stack), and the simulated cloud's timings, measured on the
 * project's test cloud by its benchmarks and tests (local Nova with the fake virt driver, real
 * Salt). A real cloud boots slower: pass your own (`--boot-median`, `--boot-p95`, ...).
 */
import { WORKER_DEFAULTS } from "../lib/workerDefaults";
import type { CloudModel, WorkerShape } from "./model";

/** Cores per worker when not given: a common 8-vCPU compute flavor. */
export const DEFAULT_CORES_PER_NODE = 8;

/** The worker policy a new stack gets (workers.* defaults), with 8-core workers. */
export const DEFAULT_SHAPE: WorkerShape = {
    min: WORKER_DEFAULTS.min,
    max: WORKER_DEFAULTS.max,
    idleTimeout: WORKER_DEFAULTS.idleTimeout,
    launchTimeout: WORKER_DEFAULTS.launchTimeout,
    coresPerNode: DEFAULT_CORES_PER_NODE,
};

/**
 * Measured defaults (2026-11, this project's machines):
 * - boot: create call to ACTIVE of one worker, 1.7 s (`npm run bench -- workerpool`, 1 worker);
 *   its p95 is not measured separately: twice the median is assumed;
 * - configure: ACTIVE to usable through the real Salt master, reactors and highstate, 12.4 s
 *   (test/integration salt admission test, CI run); p95 assumed 20 s;
 * - delete: delete call to gone, 1.6 s (`npm run bench -- workerpool`, 1 worker);
 * - suspendTimeout: Slurm's SuspendTimeout as the Salt tree writes it (defaults.yaml, 120 s).
 */
export const MEASURED_CLOUD: CloudModel = {
    bootMedian: 1.7,
    bootP95: 3.4,
    configureMedian: 12.4,
    configureP95: 20,
    deleteTime: 1.6,
    failureRate: 0,
    suspendTimeout: 120,
};
