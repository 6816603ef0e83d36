/**
 * The Salt bridge's trust rules, on the service's real key directory code (a temp directory laid
 * out as the master's pki dir) and state store: an event is acted on only when what the master
 * itself recorded backs it. Forged authentications (no pending key, or another key than the
 * master's) are ignored and never recorded as an ID's first key; starts count only for accepted
 * keys, and the service starts a worker's highstate itself (one at a time, at most once per five
 * minutes per worker); highstate outcomes come from the job cache, looked up only for the jobs
 * the service started, one at a time, whatever the number of hints; stats count only when signed
 * by the accepted key and newer than the last ones. The real master runs these paths in the
 * end-to-end tests.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { CarbonClient } from "../../autoscaler/infra/carbon";
import type { Observation, WorkerRecord } from "../../autoscaler/model";
import {
    HIGHSTATE_RESTART_INTERVAL_MS,
    SaltBridge,
    type SaltBridgeDeps,
} from "../../autoscaler/salt/bridge";
import type { CachedJob, SaltJobs } from "../../autoscaler/salt/jobs";
import { SaltKeyStore } from "../../autoscaler/salt/keys";
import type { ServiceCore } from "../../autoscaler/service";
import { StateStore } from "../../autoscaler/store";

const NODE = "compute-dy-1";
const MINION = `${NODE}-${"a".repeat(26)}`;
const NOW = 1_800_000_000_000;

function keyPair() {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return {
        pub: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
        priv: pair.privateKey,
    };
}

describe("SaltBridge", () => {
    let dir: string;
    let pki: string;
    let keys: SaltKeyStore;
    let store: StateStore;
    let records: Map<string, WorkerRecord>;
    let events: string[];
    let sent: Array<[string, number, number]>;
    let jobs: Map<string, CachedJob>;
    /** Minion IDs `startHighstate` was called for, in order. */
    let started: string[];
    /** Job IDs `job` was called for, in order. */
    let lookedUp: string[];
    let now: number;
    let bridge: SaltBridge;
    const genuine = keyPair();
    const forger = keyPair();

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-bridge-"));
        pki = path.join(dir, "pki");
        for (const sub of ["minions", "minions_pre", "minions_rejected", "minions_denied"])
            fs.mkdirSync(path.join(pki, sub), { recursive: true });
        keys = new SaltKeyStore(pki);
        store = new StateStore(path.join(dir, "state"), () => NOW);
        records = new Map([
            [NODE, { node: NODE, minionId: MINION, launchStartedAt: NOW - 10_000 }],
        ]);
        events = [];
        sent = [];
        jobs = new Map();
        started = [];
        lookedUp = [];
        now = NOW;
        const observation: Observation = {
            at: NOW,
            servers: [],
            scheduler: { nodes: [], jobs: [] } as unknown as Observation["scheduler"],
            keys: {
                accepted: new Set(),
                pending: new Set(),
                rejected: new Set(),
                denied: new Set(),
            },
        };
        const noop = () => undefined;
        const deps = {
            keys,
            store,
            log: { info: noop, warn: noop, error: noop, debug: noop },
            metrics: {
                send: (p: string, v: number, at: number) => sent.push([p, v, at]),
            } as unknown as CarbonClient,
            scheduler: { setAddress: async () => undefined },
            jobs: {
                job: async (jid: string) => {
                    lookedUp.push(jid);
                    return jobs.get(jid);
                },
                startHighstate: async (minionId: string) => {
                    started.push(minionId);
                    return `2026120620000000000${started.length}`;
                },
            } as unknown as SaltJobs,
        } as unknown as SaltBridgeDeps;
        const core = {
            names: { static: [], burst: [NODE, "compute-dy-2"] },
            settings: { workers: { launch_timeout: 120 } },
            workerRecords: () => [...records.values()],
            findRecord: (node: string) => records.get(node),
            now: () => now,
            currentObservation: () => observation,
            record: (node: string) => {
                if (!records.has(node)) records.set(node, { node });
                return records.get(node)!;
            },
            withLock: <T>(work: () => Promise<T>) => work(),
            event: (_level: string, message: string) => events.push(message),
            fault: (source: string, err: unknown) => events.push(`${source}: ${String(err)}`),
            kick: noop,
            startDelete: noop,
            workerView: noop,
        } as unknown as ServiceCore;
        bridge = new SaltBridge(core, deps);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const pending = (pub: string) => fs.writeFileSync(path.join(pki, "minions_pre", MINION), pub);
    const accepted = () => fs.existsSync(path.join(pki, "minions", MINION));

    it("accepts the genuine key: the one the master holds pending, presented by the event", async () => {
        pending(genuine.pub);
        const decision = await bridge.handleAuth({ id: MINION, act: "pend", pub: genuine.pub });
        assert.equal(decision.action, "accept");
        assert.ok(accepted());
    });

    it("ignores an authentication the master's key directory does not back, and does not lock the genuine minion out", async () => {
        // Forged before the genuine minion authenticated: no pending key at all.
        const early = await bridge.handleAuth({ id: MINION, act: "pend", pub: forger.pub });
        assert.deepEqual(early, {
            action: "ignore",
            reason: `the master holds no pending key for ${MINION}`,
        });
        assert.equal(store.state.firstKeys[MINION], undefined, "not recorded as the first key");
        // Forged after: the pending key is the genuine one; the forged event claims another.
        pending(genuine.pub);
        const late = await bridge.handleAuth({ id: MINION, act: "pend", pub: forger.pub });
        assert.equal(late.action, "ignore");
        assert.ok(fs.existsSync(path.join(pki, "minions_pre", MINION)), "the pending key stays");
        // The genuine authentication is accepted.
        assert.equal(
            (await bridge.handleAuth({ id: MINION, act: "pend", pub: genuine.pub })).action,
            "accept",
        );
    });

    it("refuses IDs Salt itself refuses, before any look-up", async () => {
        for (const id of ["../../etc/evil", "a b", "x'y", "$(reboot)", "..", ""]) {
            const decision = await bridge.handleAuth({ id, act: "pend", pub: genuine.pub });
            assert.equal(decision.action, "ignore", id);
        }
        assert.deepEqual(fs.readdirSync(path.join(pki, "minions_rejected")), []);
    });

    const acceptKey = () => fs.writeFileSync(path.join(pki, "minions", MINION), genuine.pub);
    const FIRST_JID = "20261206200000000001";
    const highstateJob = (
        jid: string,
        ret: CachedJob["results"] extends Map<string, infer R> ? R : never,
    ) => jobs.set(jid, { jid, function: "state.apply", results: new Map([[MINION, ret]]) });

    it("counts a minion start only for an accepted key, and then starts its highstate itself, once", async () => {
        assert.deepEqual(await bridge.handleStart(MINION), {});
        assert.equal(records.get(NODE)!.startedAt, undefined);
        acceptKey();
        assert.deepEqual(await bridge.handleStart(MINION), { node: NODE, highstate: "queued" });
        assert.equal(records.get(NODE)!.startedAt, NOW);
        await bridge.idle();
        assert.deepEqual(started, [MINION]);
        assert.deepEqual(records.get(NODE)!.highstate, {
            minionId: MINION,
            jid: FIRST_JID,
            requestedAt: NOW,
        });
        // A second start while it runs (a forged one, or a restart): nothing more.
        assert.deepEqual(await bridge.handleStart(MINION), { node: NODE, highstate: "running" });
        await bridge.idle();
        assert.deepEqual(started, [MINION]);
    });

    it("a forged start for every minion ('*') or an unknown one targets nobody", async () => {
        acceptKey();
        for (const id of ["*", "compute-dy-*", `compute-dy-2-${"b".repeat(26)}`]) {
            assert.deepEqual(await bridge.handleStart(id), {}, id);
        }
        await bridge.idle();
        assert.deepEqual(started, []);
    });

    it("starts a worker's highstate again on a minion start at most once per five minutes", async () => {
        acceptKey();
        await bridge.handleStart(MINION);
        await bridge.idle();
        highstateJob(FIRST_JID, { return: { "a_|-b_|-c_|-d": { result: true } }, retcode: 0 });
        bridge.handleJobReturn(FIRST_JID);
        await bridge.idle();
        assert.equal(records.get(NODE)!.configuredAt, NOW);
        // A burst of starts (forged ones cost this much at most).
        for (let i = 0; i < 50; i++) await bridge.handleStart(MINION);
        await bridge.idle();
        assert.deepEqual(started, [MINION]);
        now = NOW + HIGHSTATE_RESTART_INTERVAL_MS + 1;
        assert.deepEqual(await bridge.handleStart(MINION), { node: NODE, highstate: "queued" });
        await bridge.idle();
        assert.deepEqual(started, [MINION, MINION]);
    });

    it("takes a highstate's outcome from the job cache, only for the job the service started", async () => {
        // A "ready" claim with no highstate started changes nothing and looks nothing up.
        bridge.handleWorkerOutcome(MINION);
        await bridge.idle();
        assert.deepEqual(lookedUp, []);
        acceptKey();
        await bridge.handleStart(MINION);
        await bridge.idle();
        // Another job of the minion in the cache (one it ran by hand, or anyone's jid): ignored.
        highstateJob("20261130190933550870", { return: { "x_|-y_|-z_|-w": { result: true } } });
        assert.deepEqual(bridge.handleJobReturn("20261130190933550870"), { lookup: false });
        highstateJob(FIRST_JID, { return: ["Rendering SLS 'base:x' failed"], retcode: 1 });
        assert.deepEqual(bridge.handleJobReturn(FIRST_JID), { node: NODE, lookup: true });
        await bridge.idle();
        assert.deepEqual(lookedUp, [FIRST_JID]);
        const r = records.get(NODE)!;
        assert.equal(r.configFailedAt, NOW);
        assert.match(r.configFailureReason!, /did not compile: Rendering SLS 'base:x' failed/);
        assert.equal(r.configuredAt, undefined);
    });

    it("a flood of job-return hints costs one look-up: unknown jobs none, the started one once at a time", async () => {
        acceptKey();
        await bridge.handleStart(MINION);
        await bridge.idle();
        for (let i = 0; i < 1000; i++) {
            bridge.handleJobReturn(`2026113019093355${String(i).padStart(4, "0")}`);
            bridge.handleJobReturn(FIRST_JID);
        }
        await bridge.idle();
        assert.deepEqual(lookedUp, [FIRST_JID], "one look-up; the job has not returned yet");
        assert.equal(bridge.ignoredJobHints, 1000);
        assert.equal(bridge.jobLookups, 1);
    });

    it("ignores the started job's return when the cache says it was not a highstate", async () => {
        acceptKey();
        await bridge.handleStart(MINION);
        await bridge.idle();
        jobs.set(FIRST_JID, {
            jid: FIRST_JID,
            function: "test.ping",
            results: new Map([[MINION, { return: true, retcode: 0 }]]),
        });
        bridge.handleJobReturn(FIRST_JID);
        await bridge.idle();
        assert.equal(records.get(NODE)!.configuredAt, undefined);
        assert.equal(records.get(NODE)!.configFailedAt, undefined);
    });

    it("writes stats signed by the accepted key, and drops forged, unsigned and replayed ones", async () => {
        fs.writeFileSync(path.join(pki, "minions", MINION), genuine.pub);
        const time = Math.floor(NOW / 1000);
        const signedBy = (key: typeof genuine.priv, id: string, t: number) => {
            const signed = JSON.stringify({ id, metrics: { "load.1m": 0.5 }, time: t });
            return {
                id: MINION,
                signed,
                signature: sign("sha256", Buffer.from(signed), key).toString("base64"),
            };
        };
        assert.deepEqual(await bridge.handleStats(signedBy(genuine.priv, MINION, time)), {
            node: NODE,
            written: 1,
        });
        assert.deepEqual(sent, [[`nodes.${NODE}.load.1m`, 0.5, time * 1000]]);
        for (const forged of [
            signedBy(forger.priv, MINION, time + 10), // another worker's key
            { ...signedBy(genuine.priv, MINION, time + 10), signature: "" }, // unsigned
            signedBy(genuine.priv, MINION, time), // a replay
            signedBy(genuine.priv, MINION, time - 3600), // far from now
        ]) {
            assert.equal((await bridge.handleStats(forged)).written, 0);
        }
        assert.equal(bridge.droppedStats, 4);
        assert.equal(sent.length, 1);
    });

    it("writes only the collector's metric names, and at most 8 network interfaces per worker", async () => {
        fs.writeFileSync(path.join(pki, "minions", MINION), genuine.pub);
        const time = Math.floor(NOW / 1000);
        const metrics: Record<string, number> = { "load.1m": 1, "memory.used_percent": 50 };
        // What a worker's root could sign: 5,500 invented names (each a whisper file).
        for (let i = 0; i < 5500; i++) metrics[`junk.m${i}`] = i;
        for (let i = 0; i < 12; i++) metrics[`net.eth${i}.rx_bytes_per_second`] = i;
        const signed = JSON.stringify({ id: MINION, metrics, time });
        const result = await bridge.handleStats({
            id: MINION,
            signed,
            signature: sign("sha256", Buffer.from(signed), genuine.priv).toString("base64"),
        });
        assert.equal(result.written, 2 + 8);
        assert.equal(bridge.refusedMetrics, 5500 + 4);
        assert.ok(sent.every(([p]) => !p.includes("junk")));
        assert.equal(sent.filter(([p]) => p.includes(".net.")).length, 8);
    });
});
