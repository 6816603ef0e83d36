/**
 * Salt events are claims, not facts: through a real master and real minions
 * (test/helpers/serviceHarness.ts), one admitted worker fires, in the batched form Salt's master
 * passes on as is (`event.send ... preload={"events": [...]}`), events in another worker's name:
 * its authentication with the forger's own key, its start, its "ready", and stats signed with the
 * forger's key. The service decides only on what the master verified (the pending key file, the
 * job cache, the accepted key), so none of it counts and the genuine worker is not locked out.
 * Forged starts (`*` among them) and floods of job-return hints cost at most one highstate per
 * worker and no job-cache look-up: the service starts highstates itself, by list target, and
 * looks up only the jobs it started. A highstate that does not render fails its worker at once,
 * from the job cache. And a broken
 * path to the service does not fail silently: the master logs the failed forward at WARNING and
 * the service reports the silent worker with the likely causes.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { sign } from "node:crypto";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { HostRecord } from "../helpers/cloudHosts";
import { harnessForSuite, type ServiceHarness } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

interface Status {
    salt: { droppedStats: number; silent: Array<{ node: string; phase: string; note: string }> };
}
type Workers = { workers: Array<{ node: string; phase: string; note?: string }> };
type Events = { events: Array<{ message: string; node?: string; at: number }> };

const execFileAsync = promisify(execFile);
const status = async (h: ServiceHarness) => (await h.api("GET", "/status")) as Status;
const events = async (h: ServiceHarness) => ((await h.api("GET", "/events")) as Events).events;

/** The host of `node` once it is in `state`. */
function hostOf(h: ServiceHarness, node: string, state: HostRecord["state"], timeoutMs = 150_000) {
    return waitFor(
        `${node} to be ${state}`,
        () => [...h.hosts.hosts.values()].find((x) => x.node === node && x.state === state),
        { timeoutMs, intervalMs: 250 },
    );
}

/** Fires `events` (tag, data) from `from`'s minion, in Salt's batched form. */
async function forge(
    h: ServiceHarness,
    from: HostRecord,
    batch: Array<{ tag: string; data: Record<string, unknown> }>,
): Promise<void> {
    const answer = await h.hosts.saltCall(
        from.node,
        from.configDir,
        "event.send",
        "dynamic-cluster/innocent",
        "{}",
        `preload=${JSON.stringify({ events: batch })}`,
    );
    assert.deepEqual(answer, { local: true }, "the master took the batch");
}

describe("autoscaler: Salt events are claims; the service trusts only what the master verified", () => {
    const harness = harnessForSuite({
        burst: 3,
        launchTimeout: 150,
        // Idle workers stay: the later tests speak in their names.
        suspendTime: 600,
        behaviour: { hang: ["compute-dy-2"], renderError: ["compute-dy-3"] },
        tuning: { salt_silence: 20 },
    });
    let forger: HostRecord;
    let longJob: string;

    it("a forged authentication in a worker's name, before its minion starts, does not lock it out", async () => {
        const h = harness();
        longJob = await h.submit("--exclusive", "--wrap", "sleep 240");
        forger = await hostOf(h, "compute-dy-1", "configured");
        await h.waitForRunning(longJob);
        const second = await h.submit("--exclusive", "--wrap", "sleep 2");
        const victim = await hostOf(h, "compute-dy-2", "hung");
        const forgerKey = fs.readFileSync(
            path.join(forger.configDir, "pki", "minion", "minion.pub"),
            "utf8",
        );
        await forge(h, forger, [
            {
                tag: "salt/auth",
                data: { id: victim.minionId, act: "pend", pub: forgerKey, result: true },
            },
            { tag: `salt/minion/${victim.minionId}/start`, data: { id: victim.minionId } },
            {
                tag: "dynamic-cluster/worker/ready",
                data: { id: victim.minionId, data: { node_name: victim.node } },
            },
        ]);
        await waitFor(
            "the service to ignore the forged authentication",
            () =>
                /auth event ignored: not backed by the master's key directory/.test(h.log())
                    ? true
                    : undefined,
            { timeoutMs: 30_000, intervalMs: 250 },
        );
        const before = ((await h.api("GET", "/workers")) as Workers).workers.find(
            (w) => w.node === victim.node,
        )!;
        assert.equal(before.phase, "booting", "neither started nor ready on the forger's word");
        assert.ok(!fs.existsSync(path.join(h.master.pkiDir, "minions", victim.minionId)));
        // Now the genuine minion comes up: admitted with its own key, and it runs its job.
        await h.hosts.release(victim.node);
        await hostOf(h, victim.node, "configured");
        await h.waitForJobs([second], 120_000);
        const messages = (await events(h)).map((e) => e.message);
        assert.ok(
            messages.includes(`accepted the Salt key of ${victim.node} (${victim.minionId})`),
        );
        assert.ok(!messages.some((m) => m.includes(`rejected the Salt key of ${victim.minionId}`)));
    });

    it("a highstate that does not render fails its worker at once, from the job cache, whatever a forged ready says", async () => {
        const h = harness();
        const job = await h.submit("--exclusive", "-w", "compute-dy-3", "--wrap", "true");
        const broken = await hostOf(h, "compute-dy-3", "accepted");
        const acceptedAt = Date.now();
        await forge(h, forger, [
            {
                tag: "dynamic-cluster/worker/ready",
                data: { id: broken.minionId, data: { node_name: broken.node } },
            },
        ]);
        const failure = await waitFor(
            "compute-dy-3 to fail with Salt's render error",
            async () =>
                (await events(h)).find(
                    (e) =>
                        e.node === broken.node &&
                        /highstate failed \(job \d{20}: the highstate did not compile: Rendering SLS 'base:dc_test.worker' failed/.test(
                            e.message,
                        ),
                ),
            { timeoutMs: 120_000, intervalMs: 500 },
        );
        const seconds = (failure.at - acceptedAt) / 1000;
        console.log(`render failure known ${seconds.toFixed(1)} s after the key was accepted`);
        assert.ok(seconds < 90, `long before the 150 s launch deadline (${seconds} s)`);
        await h.slurm.run("scancel", job);
    });

    it("writes a worker's signed stats under its node only; stats in another's name are dropped", async () => {
        const h = harness();
        const victim = [...h.hosts.hosts.values()].find(
            (x) => x.node === "compute-dy-2" && x.state === "configured",
        )!;
        // The forger's collector, for real: signed by its own key, written under its node.
        await h.hosts.saltCall(forger.node, forger.configDir, "dc_stats.send");
        const prefix = `dynamic_cluster.dev.nodes`;
        await waitFor(
            "the forger's own stats in carbon",
            async () =>
                (await h.carbon.fetch(`${prefix}.${forger.node}.load.1m`))?.some(
                    ([, v]) => v !== null,
                )
                    ? true
                    : undefined,
            { timeoutMs: 60_000, intervalMs: 500 },
        );
        // Stats in the victim's name, signed with the forger's key (it has no other).
        const time = Math.floor(Date.now() / 1000);
        const signed = JSON.stringify({ id: victim.minionId, metrics: { "load.1m": 42.5 }, time });
        const signature = sign(
            "sha256",
            Buffer.from(signed),
            fs.readFileSync(path.join(forger.configDir, "pki", "minion", "minion.pem"), "utf8"),
        ).toString("base64");
        const dropped = (await status(h)).salt.droppedStats;
        await forge(h, forger, [
            {
                tag: "dynamic-cluster/stats",
                data: {
                    id: victim.minionId,
                    data: { signed, signature, time, metrics: { "load.1m": 42.5 } },
                },
            },
        ]);
        await waitFor(
            "the forged stats to be dropped",
            async () => ((await status(h)).salt.droppedStats > dropped ? true : undefined),
            { timeoutMs: 30_000, intervalMs: 250 },
        );
        const values = (await h.carbon.fetch(`${prefix}.${victim.node}.load.1m`)) ?? [];
        assert.ok(!values.some(([, v]) => v === 42.5), "no forged value under the victim's node");
    });

    it("forged starts ('*', a worker's) and a flood of job-return hints cost at most one highstate per worker and no look-up", async () => {
        const h = harness();
        const victim = [...h.hosts.hosts.values()].find(
            (x) => x.node === "compute-dy-2" && x.state === "configured",
        )!;
        const before = (await status(h)).salt as unknown as Record<string, number>;
        const jid = (i: number) => `2026120600000000${String(i).padStart(4, "0")}`;
        await forge(h, forger, [
            { tag: "salt/minion/*/start", data: { id: "*" } },
            ...Array.from({ length: 10 }, () => ({
                tag: `salt/minion/${victim.minionId}/start`,
                data: { id: victim.minionId },
            })),
            ...Array.from({ length: 100 }, (_, i) => ({
                tag: `salt/job/${jid(i)}/ret/${victim.minionId}`,
                data: { id: victim.minionId, jid: jid(i), fun: "state.apply", return: {} },
            })),
        ]);
        const after = await waitFor(
            "the service to take the 100 job-return hints",
            async () => {
                const now = (await status(h)).salt as unknown as Record<string, number>;
                return now["ignoredJobHints"]! >= before["ignoredJobHints"]! + 100
                    ? now
                    : undefined;
            },
            { timeoutMs: 90_000, intervalMs: 500 },
        );
        // The victim's own highstate may be due again (once in five minutes), never ten.
        assert.ok(
            after["highstatesStarted"]! - before["highstatesStarted"]! <= 1,
            JSON.stringify(after),
        );
        assert.ok(after["jobLookups"]! - before["jobLookups"]! <= 1, JSON.stringify(after));
        // Nothing was ever published to '*' or to a target an event chose: every state run in
        // the master's job cache went to exactly one minion, by list.
        const { stdout } = await execFileAsync(
            h.master.saltRun,
            [
                "-c",
                h.master.configDir,
                "--out",
                "json",
                "jobs.list_jobs",
                "search_function=state.apply",
            ],
            { encoding: "utf8" },
        );
        const published = JSON.parse(stdout) as Record<
            string,
            { Target: unknown; "Target-type": string }
        >;
        assert.ok(Object.keys(published).length > 0);
        for (const [id, job] of Object.entries(published)) {
            assert.equal(job["Target-type"], "list", `${id}: ${JSON.stringify(job)}`);
            assert.ok(
                Array.isArray(job.Target) && job.Target.length === 1 && job.Target[0] !== "*",
                `${id}: ${JSON.stringify(job.Target)}`,
            );
        }
    });

    it("an admin's delete removes the idle workers the suite kept", async () => {
        const h = harness();
        await h.slurm.run("scancel", longJob);
        await waitFor(
            "every worker deleted through the admin API",
            async () => {
                for (const w of ((await h.api("GET", "/workers")) as Workers).workers) {
                    if (w.phase === "absent" || w.phase === "deleting") continue;
                    // Refused (409) while the cancelled job completes: asked again next round.
                    await h.api("POST", `/workers/${w.node}/actions/delete`).catch((e: unknown) => {
                        if ((e as { status?: number }).status !== 409) throw e;
                    });
                }
                return (await h.servers()).length === 0 ? true : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 2000 },
        );
    });
});

describe("autoscaler: a broken path from the master to the service does not fail silently", () => {
    const harness = harnessForSuite({
        burst: 1,
        launchTimeout: 480,
        suspendTime: 30,
        tuning: { salt_silence: 20 },
    });

    it("logs the failed forward at WARNING in the master, reports the silent worker with its causes, and admits it once the path is mended", async () => {
        const h = harness();
        // What defect 1 did on a real head node: the master (user salt) cannot read the header.
        const header = "/etc/dynamic-cluster/reactor-local-api.header";
        const chmod = (mode: string) => h.master.inMasterNamespace(["chmod", mode, header]);
        chmod("0600");
        let restored = false;
        try {
            const job = await h.submit("--exclusive", "--wrap", "true");
            const silent = await waitFor(
                "the service to report compute-dy-1 silent",
                async () =>
                    (await events(h)).find(
                        (e) =>
                            e.node === "compute-dy-1" &&
                            /no progress for \d+ min: the Salt master has heard nothing/.test(
                                e.message,
                            ),
                    ),
                { timeoutMs: 180_000, intervalMs: 1000 },
            );
            assert.match(silent.message, /dc_forward warnings/);
            assert.deepEqual(
                (await status(h)).salt.silent.map((w) => w.node),
                ["compute-dy-1"],
            );
            assert.match(h.master.log(), /\[WARNING.*reactor-local-api\.header/);
            chmod("0640"); // as the head's state sets it
            restored = true;
            // The minion authenticates again (backing off up to a few minutes): now the forward
            // reaches the service.
            await h.waitForJobs([job], 360_000);
            assert.deepEqual((await status(h)).salt.silent, []);
            // Idle for suspendTime, the worker is removed as usual.
            await h.waitForNoServers(180_000);
        } finally {
            if (!restored) chmod("0640");
        }
    });
});
