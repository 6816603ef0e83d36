/**
 * The Slurm adapter: reads nodes and jobs with `sinfo --json` / `squeue --json` (structured, so
 * no column parsing; both the 22.05 string form and the 23.x list form of states are read), and
 * changes node state with `scontrol update`. Demand comes from Slurm's power saving: Slurm calls
 * ResumeProgram/SuspendProgram (the `dynamic-cluster` command) and its node flags
 * (POWERING_UP, POWERED_DOWN, ...) say which nodes it wants up.
 */
import type { CommandRunner } from "../infra/exec";
import { compressHostList, expandHostList } from "./hostlist";
import {
    HAND_OFF_WEIGHT,
    type JobState,
    type NodeBaseState,
    type NodeFlag,
    type SchedulerAdapter,
    type SchedulerJob,
    type SchedulerNode,
    type SchedulerSnapshot,
    WORKER_WEIGHT,
} from "./types";

const BASE_STATES: Record<string, NodeBaseState> = {
    idle: "idle",
    allocated: "allocated",
    alloc: "allocated",
    mixed: "mixed",
    completing: "completing",
    down: "down",
    future: "future",
    unknown: "unknown",
    error: "down",
};

const FLAGS: Record<string, NodeFlag> = {
    CLOUD: "cloud",
    POWERED_DOWN: "powered_down",
    POWER_DOWN: "power_down_pending",
    POWERING_UP: "powering_up",
    POWERING_DOWN: "powering_down",
    NOT_RESPONDING: "not_responding",
    COMPLETING: "completing",
    DRAIN: "drain",
    MAINTENANCE: "maintenance",
    RESERVED: "reserved",
};

/** Slurm's string or list forms of a state, upper-cased. */
function stateWords(value: unknown): string[] {
    if (Array.isArray(value)) return value.map((v) => String(v).toUpperCase());
    if (typeof value === "string")
        return value
            .toUpperCase()
            .split(/[+\s]+/)
            .filter(Boolean);
    return [];
}

/** Parses `sinfo --json` output into nodes by name. */
export function parseSinfoJson(text: string): Map<string, SchedulerNode> {
    const doc = JSON.parse(text) as { nodes?: Array<Record<string, unknown>> };
    const nodes = new Map<string, SchedulerNode>();
    for (const raw of doc.nodes ?? []) {
        const name = String(raw["name"] ?? "");
        if (!name) continue;
        const words = [...stateWords(raw["state"]), ...stateWords(raw["state_flags"])];
        let state: NodeBaseState = "unknown";
        const flags = new Set<NodeFlag>();
        for (const word of words) {
            const base = BASE_STATES[word.toLowerCase()];
            if (base && state === "unknown") state = base;
            const flag = FLAGS[word];
            if (flag) flags.add(flag);
        }
        nodes.set(name, {
            name,
            state,
            flags,
            address: String(raw["address"] ?? name),
            reason: String(raw["reason"] ?? ""),
            cpus: Number(raw["cpus"] ?? 0),
            allocatedCpus: Number(raw["alloc_cpus"] ?? 0),
            slurmdStartedAt: epochMs(raw["slurmd_start_time"]) || undefined,
            weight: typeof raw["weight"] === "number" ? raw["weight"] : undefined,
        });
    }
    return nodes;
}

const JOB_STATES: Record<string, JobState> = {
    PENDING: "pending",
    CONFIGURING: "configuring",
    RUNNING: "running",
    COMPLETING: "completing",
    SUSPENDED: "other",
    COMPLETED: "finished",
    CANCELLED: "finished",
    FAILED: "finished",
    TIMEOUT: "finished",
    NODE_FAIL: "finished",
    PREEMPTED: "finished",
    BOOT_FAIL: "finished",
    DEADLINE: "finished",
    OUT_OF_MEMORY: "finished",
};

/** A Slurm job ID, or an array task's (`123_4`). */
const JOB_ID = /^\d+(_\d+)?$/;

/** Slurm's times are epoch seconds, or `{set, infinite, number}` objects from 23.x on. */
function epochMs(value: unknown): number {
    if (typeof value === "number") return value * 1000;
    if (value && typeof value === "object" && "number" in value) {
        return Number((value as { number: unknown }).number) * 1000;
    }
    return 0;
}

/**
 * Parses `squeue --json` output.
 *
 * @param maxNodes the most nodes one job's host list may name: the nodes Slurm has (a job never
 *     runs on more), so a malformed list cannot make the expansion allocate without bound. A job
 *     whose list is malformed or larger is read as running on no node.
 */
export function parseSqueueJson(text: string, maxNodes: number): SchedulerJob[] {
    const doc = JSON.parse(text) as { jobs?: Array<Record<string, unknown>> };
    return (doc.jobs ?? []).map((raw) => {
        const words = stateWords(raw["job_state"]);
        const state = words.map((w) => JOB_STATES[w]).find(Boolean) ?? "other";
        const nodeText = String(raw["nodes"] ?? "");
        let nodes: string[] = [];
        try {
            nodes = expandHostList(nodeText, maxNodes);
        } catch {
            nodes = [];
        }
        const arrayTask = raw["array_task_id"];
        const arrayJob = Number(raw["array_job_id"] ?? 0);
        const id =
            arrayJob > 0 && typeof arrayTask === "number"
                ? `${arrayJob}_${arrayTask}`
                : String(raw["job_id"]);
        const reason = String(raw["state_reason"] ?? "");
        return {
            id,
            name: String(raw["name"] ?? ""),
            user: String(raw["user_name"] ?? ""),
            partition: String(raw["partition"] ?? ""),
            state,
            reason: reason === "None" ? "" : reason,
            nodes,
            cpus: Number(raw["cpus"] ?? 0),
            nodeCount: Number(raw["node_count"] ?? 0),
            submittedAt: epochMs(raw["submit_time"]),
            startedAt: state === "pending" ? 0 : epochMs(raw["start_time"]),
            requeueable: raw["requeue"] === true && raw["batch_flag"] === true,
            constrained: ["required_nodes", "excluded_nodes", "features", "tres_per_node"].some(
                (key) => typeof raw[key] !== "string" || raw[key] !== "",
            ),
            endsAt: state === "running" ? epochMs(raw["end_time"]) || undefined : undefined,
        };
    });
}

/** Slurm through its command-line tools. */
export class SlurmAdapter implements SchedulerAdapter {
    readonly kind = "slurm" as const;
    readonly demand = "power-saving" as const;

    /**
     * @param run runs commands (its environment carries `SLURM_CONF` when not the default).
     * @param now clock.
     */
    constructor(
        private readonly run: CommandRunner,
        private readonly now: () => number = Date.now,
    ) {}

    async snapshot(): Promise<SchedulerSnapshot> {
        const takenAt = this.now();
        const [sinfo, squeue] = await Promise.all([
            this.run("sinfo", ["--json"]),
            this.run("squeue", ["--json"]),
        ]);
        const nodes = parseSinfoJson(sinfo.stdout);
        return { takenAt, nodes, jobs: parseSqueueJson(squeue.stdout, nodes.size) };
    }

    private async update(nodes: string[], settings: string[]): Promise<void> {
        if (nodes.length === 0) return;
        await this.run("scontrol", ["update", `nodename=${compressHostList(nodes)}`, ...settings]);
    }

    async setAddress(node: string, address: string): Promise<void> {
        await this.update([node], [`nodeaddr=${address}`, `nodehostname=${node}`]);
    }

    async drain(nodes: string[], reason: string): Promise<void> {
        await this.update(nodes, ["state=drain", `reason=${reason}`]);
    }

    async resume(nodes: string[]): Promise<void> {
        // One node in a state Slurm cannot resume from fails a whole host-list update, so
        // nodes go one by one and that refusal ("Invalid node state specified") is skipped.
        for (const node of nodes) {
            try {
                await this.update([node], ["state=resume"]);
            } catch (err) {
                if (!/Invalid node state/i.test((err as Error).message)) throw err;
            }
        }
    }

    async releaseWhenIdle(nodes: string[], reason: string): Promise<void> {
        await this.update(nodes, ["state=power_down_asap", `reason=${reason}`]);
    }

    async markGone(nodes: string[], reason: string): Promise<void> {
        await this.update(nodes, ["state=power_down_force", `reason=${reason}`]);
    }

    async markUnavailable(nodes: string[], reason: string): Promise<void> {
        await this.update(nodes, ["state=down", `reason=${reason}`]);
    }

    /** Name of the maintenance reservation and of the placeholder job that hold `node`. */
    static holdName(node: string): string {
        return `dynamic-cluster-hold-${node}`;
    }

    /**
     * A hold is a MAINT reservation on the node (no new user jobs; running ones finish) plus a
     * placeholder job inside it that keeps the node allocated, so power saving never suspends
     * it (Slurm 22.05 suspends idle nodes even when drained or reserved).
     */
    async hold(node: string, reason: string): Promise<void> {
        const name = SlurmAdapter.holdName(node);
        try {
            await this.run("scontrol", [
                "create",
                "reservation",
                `ReservationName=${name}`,
                `Nodes=${node}`,
                "StartTime=now",
                "Duration=infinite",
                "Users=root",
                "Flags=MAINT,IGNORE_JOBS",
            ]);
        } catch (err) {
            if (!/Duplicate reservation name|already exists/i.test((err as Error).message))
                throw err;
        }
        const { stdout } = await this.run("squeue", ["-h", "-n", name, "-o", "%i"]);
        if (stdout.trim()) return;
        await this.run("sbatch", [
            "--parsable",
            `--job-name=${name}`,
            `--reservation=${name}`,
            `--nodelist=${node}`,
            "--exclusive",
            "--chdir=/tmp",
            "--output=/dev/null",
            `--comment=${reason}`,
            "--wrap=exec sleep infinity",
        ]);
    }

    async release(node: string): Promise<void> {
        const name = SlurmAdapter.holdName(node);
        await this.run("scancel", [`--name=${name}`]);
        try {
            await this.run("scontrol", ["delete", `ReservationName=${name}`]);
        } catch (err) {
            if (!/Invalid reservation|not found/i.test((err as Error).message)) throw err;
        }
    }

    /**
     * The nodes the jobs were booting for get {@link HAND_OFF_WEIGHT} (Slurm 22.05 ranks a node
     * that is powering up like an idle one, and would give the job the same booting node again),
     * then `scontrol requeue` of the jobs still CONFIGURING, read again just before: a job whose
     * nodes all registered since the round's snapshot has started, and is not restarted. One job
     * at a time, so one that ended meanwhile does not stop the others.
     */
    async handOff(
        jobs: ReadonlyArray<{ job: string; booting: readonly string[] }>,
    ): Promise<string[]> {
        const wanted = jobs.filter((h) => JOB_ID.test(h.job));
        if (!wanted.length) return [];
        await this.update(
            [...new Set(wanted.flatMap((h) => h.booting))],
            [`weight=${HAND_OFF_WEIGHT}`],
        );
        const ids = wanted.map((h) => h.job);
        const { stdout } = await this.run("squeue", [
            "-h",
            "-t",
            "CONFIGURING",
            "-j",
            ids.join(","),
            "-o",
            "%i",
        ]);
        const waiting = new Set(stdout.split("\n").map((line) => line.trim()));
        const requeued: string[] = [];
        for (const id of ids) {
            if (!waiting.has(id)) continue;
            try {
                await this.run("scontrol", ["requeue", id]);
                requeued.push(id);
            } catch (err) {
                // Ended, started or cancelled since: nothing to hand off.
                if (
                    !/Invalid job id|already completed|Job is pending|not allowed|disabled/i.test(
                        (err as Error).message,
                    )
                )
                    throw err;
            }
        }
        return requeued;
    }

    async restoreWeight(nodes: string[]): Promise<void> {
        await this.update(nodes, [`weight=${WORKER_WEIGHT}`]);
    }
}
