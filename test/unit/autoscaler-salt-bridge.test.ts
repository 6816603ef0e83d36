/**
 * The Salt bridge's trust rules, on the service's real key directory code (a temp directory laid
 * out as the master's pki dir) and state store: an event is acted on only when what the master
 * itself recorded backs it. Forged authentications (no pending key, or another key than the
 * master's) are ignored and never recorded as an ID's first key; starts count only for accepted
 * keys; highstate outcomes come from the job cache; stats count only when signed by the accepted
 * key and newer than the last ones. The real master runs these paths in the end-to-end tests.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { CarbonClient } from "../../autoscaler/infra/carbon";
import type { Observation, WorkerRecord } from "../../autoscaler/model";
import { SaltBridge, type SaltBridgeDeps } from "../../autoscaler/salt/bridge";
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
                job: async (jid: string) => jobs.get(jid),
                highstateJobs: async () => [...jobs.keys()].sort().reverse(),
            } as unknown as SaltJobs,
        } as unknown as SaltBridgeDeps;
        const core = {
            names: { static: [], burst: [NODE, "compute-dy-2"] },
            settings: { workers: { launch_timeout: 120 } },
            workerRecords: () => [...records.values()],
            findRecord: (node: string) => records.get(node),
            now: () => NOW,
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

    it("counts a minion start only for an accepted key", async () => {
        assert.deepEqual(await bridge.handleStart(MINION), {});
        assert.equal(records.get(NODE)!.startedAt, undefined);
        fs.writeFileSync(path.join(pki, "minions", MINION), genuine.pub);
        assert.deepEqual(await bridge.handleStart(MINION), { node: NODE });
        assert.equal(records.get(NODE)!.startedAt, NOW);
    });

    it("takes a highstate's outcome from the job cache, not from the event", async () => {
        // A "ready" claim with no highstate in the cache changes nothing.
        await bridge.handleWorkerOutcome(MINION);
        assert.equal(records.get(NODE)!.configuredAt, undefined);
        jobs.set("20261130190933550870", {
            jid: "20261130190933550870",
            function: "state.apply",
            results: new Map([[MINION, { return: ["Rendering SLS 'base:x' failed"], retcode: 1 }]]),
        });
        assert.deepEqual(await bridge.handleJobReturn("20261130190933550870"), { nodes: [NODE] });
        const r = records.get(NODE)!;
        assert.equal(r.configFailedAt, NOW);
        assert.match(r.configFailureReason!, /did not compile: Rendering SLS 'base:x' failed/);
        assert.equal(r.configuredAt, undefined);
    });

    it("ignores a job-return hint for a job that is not a highstate", async () => {
        jobs.set("20261130190933550871", {
            jid: "20261130190933550871",
            function: "test.ping",
            results: new Map([[MINION, { return: true, retcode: 0 }]]),
        });
        assert.deepEqual(await bridge.handleJobReturn("20261130190933550871"), { nodes: [] });
        assert.equal(records.get(NODE)!.configuredAt, undefined);
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
});
