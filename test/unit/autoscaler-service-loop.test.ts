/**
 * The service's reconcile loop when a round throws: the state file cannot be written (here for
 * real: the store's temp file path is taken by a directory, so its open fails as a full disk's
 * write would), in the middle of a round. The round's failure is logged with the error and
 * counted in `status()`, no rejection escapes (an unhandled one would end the process with no
 * log line), the loop goes on, and once the file can be written again the next round succeeds
 * and the count goes back to 0.
 *
 * Real parts: the state store, the Salt key directory (a temp pki dir) and the Slurm adapter
 * (reading `sinfo --json` text through its command seam). Nova's listing is a fixed list.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { WorkerCloud } from "../../autoscaler/cloud";
import type { ServerView } from "../../autoscaler/model";
import { SlurmAdapter } from "../../autoscaler/scheduler/slurm";
import { SaltKeyStore } from "../../autoscaler/salt/keys";
import { DynamicClusterService, type Logger } from "../../autoscaler/service";
import { unitSettings } from "../helpers/serviceSettings";
import { StateStore } from "../../autoscaler/store";

const NODE = "compute-st-1";

/** One floor node (compute-st-1) and two burst nodes; a 20 ms loop. */
function settings(stateDir: string, pkiDir: string) {
    return unitSettings({
        stateDir,
        pkiDir,
        floor: 1,
        burst: 2,
        tuning: { reconcile_interval: 0.02 },
    });
}

/** `sinfo --json` for the static node: not responding (booting), or idle (up: ready). */
function sinfo(up: boolean): string {
    return JSON.stringify({
        nodes: [
            {
                name: NODE,
                state: "idle",
                state_flags: up ? [] : ["NOT_RESPONDING"],
                address: NODE,
                cpus: 2,
            },
        ],
    });
}

async function until(what: string, done: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
}

describe("a reconcile round that throws", () => {
    let dir: string;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-loop-"));
        process.on("unhandledRejection", onUnhandled);
    });
    after(() => {
        process.off("unhandledRejection", onUnhandled);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("is logged with its error, counted in status, and the loop goes on", async () => {
        const stateDir = path.join(dir, "state");
        const pkiDir = path.join(dir, "pki");
        for (const sub of ["minions", "minions_pre", "minions_rejected", "minions_denied"])
            fs.mkdirSync(path.join(pkiDir, sub), { recursive: true });
        const store = new StateStore(stateDir);
        // One boot failure so far: the next worker that becomes ready resets it (a state write).
        store.update((s) => {
            s.breaker.consecutiveFailures = 1;
        });

        let nodeUp = false;
        const scheduler = new SlurmAdapter(async (command) => ({
            stdout:
                command === "sinfo"
                    ? sinfo(nodeUp)
                    : command === "squeue"
                      ? JSON.stringify({ jobs: [] })
                      : "",
            stderr: "",
        }));
        const server: ServerView = {
            id: "3c0e9d1a-7f0b-4a55-9e44-2b1f6f1c9a01",
            name: NODE,
            status: "ACTIVE",
            node: NODE,
            pool: "static",
            createdAt: Date.now(),
        };
        const cloud = { list: async () => [server] } as unknown as WorkerCloud;

        const logged: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
        const log: Logger = {
            info: (obj, msg) => logged.push({ level: "info", obj: { ...obj }, msg }),
            warn: (obj, msg) => logged.push({ level: "warn", obj: { ...obj }, msg }),
            error: (obj, msg) => logged.push({ level: "error", obj: { ...obj }, msg }),
            debug: () => undefined,
        };
        const service = new DynamicClusterService({
            settings: settings(stateDir, pkiDir),
            cloud,
            scheduler,
            keys: new SaltKeyStore(pkiDir),
            store,
            log,
        });

        service.start();
        try {
            await until("a first round (worker booting)", () => service.rounds >= 1);
            // The disk "fills": the store's temp file cannot be opened any more.
            fs.mkdirSync(path.join(stateDir, "state.json.tmp"));
            nodeUp = true; // the worker is ready now: the round writes the breaker's reset
            await until("two failed rounds in a row", () => service.status().failedRounds >= 2);

            const failure = logged.find((l) => l.level === "error" && /round failed/.test(l.msg));
            assert.ok(failure, `no error log line for the failed round: ${JSON.stringify(logged)}`);
            assert.match(String((failure.obj["err"] as Error)?.message), /EISDIR/);
            const status = service.status();
            assert.match(status.errors["round"]?.message ?? "", /EISDIR/);
            assert.ok(
                service
                    .recentEvents()
                    .some((e) => /reconcile round failed: .*EISDIR/.test(e.message)),
            );
            assert.equal(store.state.breaker.consecutiveFailures, 1, "nothing was written");

            // The disk has room again: the next round writes the reset and the count clears.
            fs.rmdirSync(path.join(stateDir, "state.json.tmp"));
            const before = service.rounds;
            await until("a good round", () => service.rounds > before);
            await until("the count to clear", () => service.status().failedRounds === 0);
            assert.equal(service.status().errors["round"], undefined);
            assert.equal(store.state.breaker.consecutiveFailures, 0);
            const onDisk = JSON.parse(fs.readFileSync(path.join(stateDir, "state.json"), "utf8"));
            assert.equal(onDisk.breaker.consecutiveFailures, 0);
        } finally {
            await service.stop();
        }
        assert.deepEqual(unhandled, [], "no rejection escaped the loop");
    });
});
