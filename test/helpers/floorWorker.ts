/**
 * A WorkerPool record of the static floor for the pool's unit tests (components/workerPoolPlan.ts
 * `WorkerRecord`): `compute-st-<index>`, ACTIVE, booted with `generation`; a retiring one gets
 * its own server ID, so it can stand beside a live server of the same name.
 */
import type { WorkerRecord } from "../../components/workerPoolPlan";

/** A floor worker record at `index` (see the header). */
export function floorWorker(
    index: number,
    generation: string,
    over: Partial<WorkerRecord> = {},
): WorkerRecord {
    return {
        id: `srv-${index}${over.retiring ? "-r" : ""}`,
        name: `compute-st-${index}`,
        index,
        minionId: `compute-st-${index}-${"a".repeat(26)}`,
        address: `192.0.2.${index}`,
        status: "ACTIVE",
        generation,
        ...over,
    };
}
