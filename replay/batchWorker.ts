/**
 * The worker-thread side of a replay batch (batch.ts): holds the trace's jobs (sent once, as
 * `workerData`), runs each task the main thread sends with `replay()`, and sends back its
 * progress and result, or the error that stopped it. Stops when sent `undefined`.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { TaskMessage, WorkerMessage } from "./batch";
import { replay } from "./simulate";
import type { TraceJob } from "./trace/types";

const port = parentPort;
if (!port) throw new Error("replay/batchWorker.ts runs on a worker thread (replay/batch.ts)");
const { jobs } = workerData as { jobs: TraceJob[] };
const send = (message: WorkerMessage): void => port.postMessage(message);

port.on("message", (message: TaskMessage | undefined) => {
    if (!message) {
        port.close();
        return;
    }
    const { index, task } = message;
    try {
        const result = replay(jobs, task.policy, {
            ...task.options,
            onProgress: (finished) => send({ type: "progress", index, finished }),
        });
        send({ type: "result", index, result });
    } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        send({ type: "error", index, message: e.message, stack: e.stack });
    }
});
