/**
 * The admin actions (autoscaler/actions.ts) are serialised with the reconcile round and the Salt
 * bridge: the real service core with stand-in Nova, scheduler and Salt keys, a round held in its
 * critical section (the scheduler's setAddress waits on a promise the test controls), and each
 * action issued meanwhile must not touch the scheduler, Nova or the state until the round ends.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, describe, it } from "node:test";
import type { WorkerCloud } from "../../autoscaler/cloud";
import type { ServerView } from "../../autoscaler/model";
import type { SaltKeyStore } from "../../autoscaler/salt/keys";
import type { SchedulerAdapter, SchedulerNode } from "../../autoscaler/scheduler/types";
import { DynamicClusterService } from "../../autoscaler/service";
import { unitSettings } from "../helpers/serviceSettings";
import { StateStore } from "../../autoscaler/store";

const NOW = 1_800_000_000_000;
const NODE = "compute-dy-1";
const MINION = `${NODE}-${"a".repeat(26)}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-unit-actions-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const settings = unitSettings({ stateDir: tmp });

/** A service with one ready burst worker whose scheduler address is stale (set-address). */
function harness(name: string, held: string[] = []) {
    const log: string[] = [];
    let gate: Promise<void> | undefined;
    let entered: () => void = () => undefined;
    const server: ServerView = {
        id: "srv-1",
        name: NODE,
        status: "ACTIVE",
        address: "10.0.0.5",
        node: NODE,
        minionId: MINION,
        pool: "burst",
        createdAt: NOW - 600_000,
    };
    const schedNode: SchedulerNode = {
        name: NODE,
        state: "idle",
        flags: new Set(["cloud"]),
        address: NODE,
        reason: "",
        cpus: 2,
        allocatedCpus: 0,
    };
    const act = (what: string) => async () => {
        log.push(`action: ${what}`);
    };
    const scheduler: SchedulerAdapter = {
        kind: "slurm",
        demand: "power-saving",
        snapshot: async () => ({
            takenAt: NOW,
            nodes: new Map([[NODE, schedNode]]),
            jobs: [],
        }),
        setAddress: async () => {
            log.push("round: set-address begins");
            entered();
            if (gate) await gate;
            log.push("round: set-address ends");
        },
        drain: act("drain"),
        resume: act("resume"),
        releaseWhenIdle: act("release when idle"),
        markGone: act("mark gone"),
        markUnavailable: act("mark unavailable"),
        hold: act("hold"),
        release: act("release"),
        handOff: async () => [],
        restoreWeight: async () => undefined,
    };
    const cloud = {
        list: async () => [server],
        newMinionId: () => MINION,
        launch: async () => "srv-new",
        delete: act("nova delete"),
    } as unknown as WorkerCloud;
    const keys = {
        list: async () => ({
            accepted: new Set([MINION]),
            pending: new Set<string>(),
            rejected: new Set<string>(),
            denied: new Set<string>(),
        }),
    } as unknown as SaltKeyStore;
    const store = new StateStore(path.join(tmp, name));
    if (held.length) store.update((s) => void (s.held = held));
    const update = store.update.bind(store);
    store.update = (change) => {
        log.push("action: state update");
        update(change);
    };
    const noop = () => undefined;
    const service = new DynamicClusterService({
        settings,
        cloud,
        scheduler,
        keys,
        store,
        log: { info: noop, warn: noop, error: noop, debug: noop },
        now: () => NOW,
    });
    return {
        service,
        log,
        /** Starts a round that stays in its critical section until the returned `release`. */
        async blockedRound() {
            let release!: () => void;
            gate = new Promise((resolve) => (release = resolve));
            const inside = new Promise<void>((resolve) => (entered = resolve));
            const round = service.round();
            await inside;
            return { round, release };
        },
    };
}

describe("admin actions and the reconcile round", () => {
    const cases: Array<[string, (s: DynamicClusterService) => Promise<unknown>, string[]?]> = [
        ["hold", (s) => s.actions.hold(NODE, "admin")],
        ["release", (s) => s.actions.release(NODE, "admin"), [NODE]],
        ["drain", (s) => s.actions.drain(NODE, "admin")],
        ["delete", (s) => s.actions.deleteWorker(NODE, "admin")],
        ["auto mode off", (s) => s.actions.setAutoMode(false, "admin")],
        ["breaker reset", (s) => s.actions.resetBreaker("admin")],
    ];
    for (const [name, action, held] of cases) {
        it(`${name} waits for a round in progress to end`, async () => {
            const h = harness(name.replace(/ /g, "-"), held);
            await h.service.round(); // the first observation: the worker is ready
            assert.equal(h.service.workerView(NODE).phase, "ready");
            h.log.length = 0;

            const { round, release } = await h.blockedRound();
            const done = action(h.service);
            await delay(50); // time for an unserialised action to reach the scheduler or Nova
            assert.deepEqual(h.log, ["round: set-address begins"], "nothing ran during the round");
            release();
            await round;
            await done;
            assert.deepEqual(
                h.log.slice(0, 2),
                ["round: set-address begins", "round: set-address ends"],
                h.log.join("\n"),
            );
            assert.ok(h.log.length > 2, `the action did something: ${h.log.join(", ")}`);
            assert.ok(
                h.log.slice(2).every((line) => line.startsWith("action: ")),
                h.log.join("\n"),
            );
        });
    }

    it("a round started during an action waits for the action (one serialisation both ways)", async () => {
        const h = harness("reverse");
        await h.service.round();
        h.log.length = 0;
        let finishDrain!: () => void;
        const drained = new Promise<void>((resolve) => (finishDrain = resolve));
        let draining!: () => void;
        const inDrain = new Promise<void>((resolve) => (draining = resolve));
        const scheduler = h.service.deps.scheduler;
        scheduler.releaseWhenIdle = async () => {
            h.log.push("action: release when idle begins");
            draining();
            await drained;
            h.log.push("action: release when idle ends");
        };
        const done = h.service.actions.drain(NODE, "admin");
        await inDrain;
        const round = h.service.round();
        await delay(50);
        assert.deepEqual(h.log, ["action: release when idle begins"]);
        finishDrain();
        await done;
        await round;
        assert.deepEqual(h.log, [
            "action: release when idle begins",
            "action: release when idle ends",
            "round: set-address begins",
            "round: set-address ends",
        ]);
    });
});
