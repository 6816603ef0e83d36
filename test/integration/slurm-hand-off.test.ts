/**
 * The hand-off on the real Slurm 22.05 (Debian's slurmctld and slurmd, the head's slurm.conf as
 * the head highstate renders it), through the service's own Slurm adapter and hand-off plan: a
 * job Slurm bound to a burst node that is still "booting" (no server ever comes: the resume
 * program does nothing) waits in CONFIGURING beside a static node that a job frees; the plan
 * hands it off (the adapter's `handOff`: the booting node made the last choice, then `scontrol
 * requeue`), and Slurm starts it on the freed node at once; without the weight Slurm 22.05 gives
 * it the same booting node again. The resumed node, which no job holds any more,
 * is then powered down without booting (`cancel-resume`). A job that runs is never requeued.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { planHandOffs, takesJobNow, weightsToRestore } from "../../autoscaler/handOff";
import { commandRunner } from "../../autoscaler/infra/exec";
import { SlurmAdapter } from "../../autoscaler/scheduler/slurm";
import {
    HAND_OFF_WEIGHT,
    type SchedulerSnapshot,
    WORKER_WEIGHT,
} from "../../autoscaler/scheduler/types";
import {
    configFrom,
    PILLAR_RESOURCES,
    PILLAR_SECRETS,
    renderHighstateWithPaths,
} from "../helpers/salt";
import { IN_HEAD, SlurmCluster } from "../helpers/slurmCluster";
import { waitFor } from "../helpers/waitFor";

const STATIC = "compute-st-1";
const BURST = "compute-dy-1";

describe("hand-off on real Slurm: a job waiting for a boot starts on a node freed meanwhile", () => {
    let dir: string;
    let cluster: SlurmCluster;
    let slurm: SlurmAdapter;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-handoff-"));
        const config = configFrom({
            keyName: "dc-test-key",
            allowedCidr: "203.0.113.0/24",
            network: "dc-test-net",
            workers: {
                min: 1,
                max: 2,
                flavor: "tiny",
                image: "tiny",
                idleTimeout: 60,
                launchTimeout: 600,
            },
        });
        const head = renderHighstateWithPaths(
            config,
            "head",
            {},
            {
                ...PILLAR_RESOURCES,
                // The tests' Slurm network (test/env/slurm/lib.sh): the head at 192.0.2.1.
                headAddress: "192.0.2.1",
                clusterCidr: "192.0.2.0/24",
                workerFlavor: { vcpus: 1, ramMb: 512 },
            },
        );
        assert.deepEqual(head.errors, []);
        cluster = await SlurmCluster.start({
            dir,
            head,
            mungeKeyBase64: PILLAR_SECRETS.mungeKey,
            overrides: { ResumeTimeout: "600", SuspendTimeout: "10" },
            // No service: the resume program only succeeds, so the burst node never boots.
            programEdits: [["exec '/opt/dynamic-cluster/bin/dynamic-cluster'", "exec true"]],
        });
        slurm = new SlurmAdapter(commandRunner({ SLURM_CONF: cluster.confPath }, 30_000, IN_HEAD));
        // Addresses as the service sets them (the burst one has no host: nothing answers there).
        await slurm.setAddress(STATIC, "192.0.2.21");
        await slurm.setAddress(BURST, "192.0.2.22");
        await cluster.hostUp(STATIC, "192.0.2.21");
        await waitFor(
            "the static node idle",
            async () => {
                const snap = await slurm.snapshot();
                return snap.nodes.get(STATIC)?.state === "idle" ? true : undefined;
            },
            { timeoutMs: 60_000 },
        );
    });

    after(async () => {
        await cluster?.down();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const submit = async (...args: string[]): Promise<string> =>
        (await cluster.run("sbatch", "--parsable", "-o", path.join(dir, "%j.out"), ...args)).trim();
    const jobOf = (snap: SchedulerSnapshot, id: string) => snap.jobs.find((j) => j.id === id);
    const plan = (snap: SchedulerSnapshot) =>
        planHandOffs({
            nodes: snap.nodes,
            jobs: snap.jobs,
            eligible: () => true,
            launched: () => false,
            now: Date.now(),
            roundMs: 10_000,
        });

    it("hands the waiting job to the freed node, and powers the resumed node down unbooted", async () => {
        const first = await submit("-w", STATIC, "--wrap", "sleep 600");
        await waitFor("the first job running", async () =>
            jobOf(await slurm.snapshot(), first)?.state === "running" ? true : undefined,
        );
        const waiting = await submit("-N", "1", "--wrap", "hostname");
        // Slurm allocates the node powered down, then resumes it (its power-saving thread).
        const bound = await waitFor(
            "the second job bound to the burst node, resuming",
            async () => {
                const snap = await slurm.snapshot();
                const job = jobOf(snap, waiting);
                const resuming = snap.nodes.get(BURST)?.flags.has("powering_up");
                return job?.state === "configuring" && resuming ? snap : undefined;
            },
        );
        assert.deepEqual(jobOf(bound, waiting)!.nodes, [BURST]);
        assert.equal(jobOf(bound, waiting)!.requeueable, true);
        assert.deepEqual(plan(bound).handOffs, [], "no idle node yet: nothing to hand off");

        await cluster.run("scancel", first);
        // Idle, and done completing the cancelled job (until then Slurm gives it no job).
        const freed = await waitFor("the static node free again", async () => {
            const snap = await slurm.snapshot();
            const node = snap.nodes.get(STATIC);
            return node && takesJobNow(node) ? snap : undefined;
        });
        const handOffs = plan(freed).handOffs;
        assert.deepEqual(handOffs, [{ job: waiting, booting: [BURST], idle: [STATIC] }]);
        assert.deepEqual(await slurm.handOff(handOffs), [waiting]);

        const output = path.join(dir, `${waiting}.out`);
        await waitFor(
            "the handed-off job's output",
            () =>
                fs.existsSync(output) && fs.readFileSync(output, "utf8").trim() ? true : undefined,
            { timeoutMs: 30_000 },
        ).catch(async (err: Error) => {
            const job = await cluster.run("scontrol", "show", "job", waiting);
            throw new Error(`${err.message}\n${job}\n${cluster.log()}`);
        });
        assert.equal(fs.readFileSync(output, "utf8").trim(), STATIC);
        const shown = await cluster.run("scontrol", "show", "job", waiting);
        assert.match(shown, /JobState=COMPLETED/);
        // Not run before: the requeue counts in Restarts, nothing else of the job changed.
        assert.match(shown, /Restarts=1/);

        // The burst node was resumed for it; no job holds it now, and no server ever came.
        const after = await slurm.snapshot();
        const burst = after.nodes.get(BURST)!;
        assert.ok(burst.flags.has("powering_up"), [...burst.flags].join(","));
        assert.equal(burst.allocatedCpus, 0);
        // While it boots, a new job takes idle nodes before it (and it before powered-down ones).
        assert.equal(burst.weight, HAND_OFF_WEIGHT);
        assert.deepEqual(weightsToRestore(after.nodes), [], "still booting: it keeps the weight");
        await slurm.markGone([BURST], "no job waits for it any more: powered down without booting");
        const down = await waitFor("the burst node powered down", async () => {
            const snap = await slurm.snapshot();
            const node = snap.nodes.get(BURST);
            return node && (node.flags.has("powered_down") || node.flags.has("powering_down"))
                ? snap
                : undefined;
        });
        // No longer booting: its weight goes back to the configured one.
        assert.deepEqual(weightsToRestore(down.nodes), [BURST]);
        await slurm.restoreWeight([BURST]);
        assert.equal((await slurm.snapshot()).nodes.get(BURST)!.weight, WORKER_WEIGHT);
    });

    it("never requeues a job that runs: handOff reads the state again and skips it", async () => {
        const running = await submit("-w", STATIC, "--wrap", "sleep 600");
        await waitFor("the job running", async () =>
            jobOf(await slurm.snapshot(), running)?.state === "running" ? true : undefined,
        );
        const jobs = [running, "999999", "not-a-job"].map((job) => ({ job, booting: [] }));
        assert.deepEqual(await slurm.handOff(jobs), []);
        const shown = await cluster.run("scontrol", "show", "job", running);
        assert.match(shown, /JobState=RUNNING/);
        assert.match(shown, /Restarts=0/);
        await cluster.run("scancel", running);
    });
});
