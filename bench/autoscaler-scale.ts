/**
 * The Dynamic Cluster service, measured on real parts (test/helpers/serviceHarness.ts: the
 * built service, Debian's Slurm with the generated slurm.conf, the local Nova, worker hosts in
 * namespaces; Slurm's power_save_interval is 2 s here, as in the tests):
 * 1. from a job's submission to the service's first Nova create call, 20 runs (median, worst),
 *    split into Slurm's share (submission -> ResumeProgram reached the service) and the
 *    service's (request -> create call started);
 * 2. 50 jobs at once on 50 powered-down nodes: time until 50 create calls, 50 servers ACTIVE,
 *    50 jobs running, 50 jobs done;
 * 3. the service idle with 50 workers: resident memory and CPU over 60 s;
 * 4. scale-down: every worker released and deleted, and jobs killed by it (must be 0).
 * Needs the local OpenStack (`eval "$(bash test/env/openstack/up.sh)"`). `npx tsx bench/autoscaler-scale.ts`
 */
import { readFileSync } from "node:fs";
import { ServiceHarness } from "../test/helpers/serviceHarness";
import { waitFor } from "../test/helpers/waitFor";
import { demoEnv } from "../test/helpers/osbox";
import { median } from "./lib/stats";

interface LogLine {
    time: number;
    msg: string;
    ms?: number;
    node?: string;
    nodes?: string[];
    want?: string;
}

function logLines(h: ServiceHarness): LogLine[] {
    return h
        .log()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LogLine);
}

function stats(values: number[]): string {
    const seconds = (ms: number) => (ms / 1000).toFixed(2);
    return `median ${seconds(median(values))} s, worst ${seconds(Math.max(...values))} s`;
}

function cpuAndRss(pid: number): { cpuTicks: number; rssKb: number } {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    return { cpuTicks, rssKb };
}

async function latency(): Promise<void> {
    const runs = 20;
    const h = await ServiceHarness.start({ burst: runs, launchTimeout: 300, suspendTime: 3600 });
    try {
        const total: number[] = [];
        const slurmShare: number[] = [];
        const serviceShare: number[] = [];
        for (let i = 1; i <= runs; i++) {
            const submitted = Date.now();
            await h.submit("--exclusive", "--wrap", "sleep 3600");
            const launched = await waitFor(
                `launch ${i}`,
                () => {
                    const lines = logLines(h).filter((l) => l.msg === "launched");
                    return lines.length >= i ? lines[i - 1] : undefined;
                },
                { timeoutMs: 120_000, intervalMs: 20 },
            );
            const createStarted = launched.time - (launched.ms ?? 0);
            const request = logLines(h)
                .filter(
                    (l) =>
                        l.msg === "scheduler request" &&
                        l.want === "up" &&
                        l.nodes?.includes(launched.node!),
                )
                .pop();
            total.push(createStarted - submitted);
            if (request) {
                slurmShare.push(request.time - submitted);
                serviceShare.push(createStarted - request.time);
            }
        }
        console.log(`submission -> first Nova create call (${runs} runs): ${stats(total)}`);
        console.log(
            `  Slurm's share (submission -> ResumeProgram at the service): ${stats(slurmShare)}`,
        );
        console.log(
            `  the service's share (request -> create call):               ${stats(serviceShare)}`,
        );
        const launches = logLines(h).filter((l) => l.msg === "launched").length;
        console.log(
            `  create calls for ${runs} nodes: ${launches} (duplicates: ${launches - runs})`,
        );
        await h.slurm.run("scancel", "--user=root");
    } finally {
        // The workers are still up (SuspendTime is an hour here): the harness deletes them.
        await h.stop();
    }
}

async function fifty(): Promise<void> {
    const n = 50;
    const h = await ServiceHarness.start({ burst: n, launchTimeout: 600, suspendTime: 150 });
    try {
        const start = Date.now();
        const ids: string[] = [];
        for (let i = 0; i < n; i++) ids.push(await h.submit("--exclusive", "--wrap", "sleep 5"));
        const submittedIn = Date.now() - start;
        await waitFor(
            "50 create calls",
            () => (logLines(h).filter((l) => l.msg === "launched").length >= n ? true : undefined),
            {
                timeoutMs: 600_000,
                intervalMs: 100,
            },
        );
        const created = Date.now() - start;
        await waitFor(
            "50 servers ACTIVE",
            async () =>
                (await h.servers()).filter((s) => s.status === "ACTIVE").length >= n
                    ? true
                    : undefined,
            { timeoutMs: 600_000, intervalMs: 500 },
        );
        const active = Date.now() - start;
        await waitFor(
            "50 jobs running or done",
            async () => {
                const jobs = await h.jobs();
                return ids.every((id) =>
                    ["RUNNING", "COMPLETING", "COMPLETED"].includes(jobs.get(id)?.state ?? ""),
                )
                    ? true
                    : undefined;
            },
            { timeoutMs: 900_000, intervalMs: 1000 },
        );
        const running = Date.now() - start;
        await h.waitForJobs(ids, 900_000);
        const done = Date.now() - start;
        console.log(
            `50 jobs submitted in ${(submittedIn / 1000).toFixed(1)} s; from the first submission:`,
        );
        console.log(`  50 create calls made:     ${(created / 1000).toFixed(1)} s`);
        console.log(`  50 servers ACTIVE:        ${(active / 1000).toFixed(1)} s`);
        console.log(`  50 jobs running (or done): ${(running / 1000).toFixed(1)} s`);
        console.log(`  50 jobs done:             ${(done / 1000).toFixed(1)} s`);

        // Idle with 50 workers: no job, every worker up and idle.
        const pid = h.process!.pid!;
        const ticks = 100; // USER_HZ on Linux
        const before = cpuAndRss(pid);
        const windowMs = 60_000;
        await new Promise((resolve) => setTimeout(resolve, windowMs));
        const after = cpuAndRss(pid);
        const servers = (await h.servers()).length;
        console.log(
            `idle with ${servers} workers for ${windowMs / 1000} s: RSS ${(after.rssKb / 1024).toFixed(0)} MiB, ` +
                `CPU ${(((after.cpuTicks - before.cpuTicks) / ticks / (windowMs / 1000)) * 100).toFixed(2)} % of one core`,
        );

        await h.waitForNoServers(600_000);
        const jobs = await h.jobs();
        const killed = ids.filter((id) => jobs.get(id)?.state !== "COMPLETED");
        console.log(
            `scale-down: every worker deleted; jobs killed by scale-down: ${killed.length}`,
        );
    } finally {
        const leaked = await h.stop();
        console.log(`  servers left after the run: ${leaked}`);
    }
}

async function main(): Promise<void> {
    Object.assign(process.env, demoEnv());
    const only = process.argv[2];
    if (!only || only === "latency") await latency();
    if (!only || only === "fifty") await fifty();
}

main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
});
