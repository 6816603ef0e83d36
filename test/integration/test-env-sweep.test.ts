/**
 * test/env/sweep.sh, which test/run.sh runs before the integration stage to stop what an
 * interrupted earlier run left: it stops the processes of a leftover test namespace and the
 * namespace, only the name of a namespace that is this machine's own (test/env/slurm/up.sh
 * names it dcslurm-host; its processes are everyone's, the test runner's included), processes
 * naming a test directory, and nothing else. Run with namespace names and a temporary
 * directory of its own, so it touches no other test's.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { waitFor } from "../helpers/waitFor";

const SWEEP = path.resolve(__dirname, "../env/sweep.sh");
const SLEEP = ["-c", "import time; time.sleep(600)"];

function alive(child: ChildProcess): boolean {
    return child.exitCode === null && child.signalCode === null;
}

function namespaces(): string[] {
    return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
        .split("\n")
        .map((line) => line.split(" ")[0] ?? "")
        .filter(Boolean);
}

describe("test/env/sweep.sh: what an interrupted run left, and nothing else", () => {
    const tag = randomBytes(3).toString("hex");
    const leftover = `dcsweep-${tag}`;
    const ownAlias = `dcsweep-own-${tag}`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-sweep-"));
    const children: ChildProcess[] = [];
    const start = (command: string, args: string[]): ChildProcess => {
        const child = spawn(command, args, { stdio: "ignore" });
        children.push(child);
        return child;
    };

    after(() => {
        for (const child of children) if (alive(child)) child.kill("SIGKILL");
        for (const ns of [leftover, ownAlias]) {
            spawnSync("ip", ["netns", "delete", ns]);
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("stops a leftover namespace's processes and the namespace, a test directory's processes, and spares the rest", async () => {
        execFileSync("ip", ["netns", "add", leftover]);
        // A name for this machine's own namespace, as test/env/slurm/up.sh makes dcslurm-host.
        execFileSync("ip", ["netns", "attach", ownAlias, String(process.pid)]);
        const inLeftover = start("ip", ["netns", "exec", leftover, "python3", ...SLEEP]);
        const namingTestDir = start("python3", [...SLEEP, path.join(tmp, "dc-job", "conf")]);
        const unrelated = start("python3", [...SLEEP, path.join(tmp, "other", "conf")]);
        await waitFor(
            "the leftover namespace's process to be inside it",
            () =>
                execFileSync("ip", ["netns", "pids", leftover], { encoding: "utf8" }).trim()
                    ? true
                    : undefined,
            { timeoutMs: 10_000, intervalMs: 50 },
        );

        const sweep = spawnSync("bash", [SWEEP], {
            encoding: "utf8",
            env: { ...process.env, TMPDIR: tmp, DC_SWEEP_NETNS: "^dcsweep-" },
            timeout: 60_000,
        });
        assert.equal(sweep.status, 0, sweep.stderr);
        assert.match(
            sweep.stdout,
            new RegExp(
                `^sweep: network namespace ${leftover} left by an earlier run \\(processes: \\d+`,
                "m",
            ),
        );
        assert.match(
            sweep.stdout,
            new RegExp(`^sweep: network namespace name ${ownAlias} .*only the name goes\\)$`, "m"),
        );
        assert.match(
            sweep.stdout,
            /^sweep: stopping 1 process\(es\) of an earlier run's test directories:$/m,
        );

        await waitFor(
            "the swept processes to exit",
            () => (!alive(inLeftover) && !alive(namingTestDir) ? true : undefined),
            { timeoutMs: 15_000, intervalMs: 50 },
        );
        assert.ok(alive(unrelated), "a process naming no test directory is left alone");
        const left = namespaces();
        assert.ok(!left.includes(leftover), "the leftover namespace is gone");
        // The alias named this test's own namespace, where `unrelated` runs too: only the name
        // went, `unrelated` (checked above) and this process with it are still running.
        assert.ok(!left.includes(ownAlias), "the alias of this machine's namespace is gone");
    });
});
