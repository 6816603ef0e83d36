/**
 * The Salt bridge's pieces and the service's persisted state: the admission rule (each
 * minion-auth case), the master's key directory (real files, renamed as salt-key does), the
 * state file (atomic, survives corruption), the breaker and backoff arithmetic, the CLI's
 * command mapping, and the settings schema against the file Salt renders.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { after, describe, it } from "node:test";
import {
    backoffUntil,
    breakerOpen,
    recordBootFailure,
    recordBootSuccess,
    recordCapacityError,
    clearBackoff,
    failedRecently,
    unclearedBackoffs,
    resetBreaker,
} from "../../autoscaler/breaker";
import { parseCommand, tokenFromFile, UsageError } from "../../autoscaler/cli";
import { decideAuth, type AuthInput } from "../../autoscaler/salt/auth";
import { KeyError, keyDigest, SaltKeyStore } from "../../autoscaler/salt/keys";
import { parseSettings, SettingsError } from "../../autoscaler/settings";
import { defaultState, StateStore } from "../../autoscaler/store";
import { buildSecretServiceSettings, buildServiceSettings } from "../../components/pillar";
import { programServiceSettingsSchema } from "../../lib/serviceSettings";
import { WORKERS_LIMIT } from "../../lib/workerDefaults";
import {
    configFrom,
    PILLAR_RESOURCES,
    PILLAR_SECRETS,
    renderHighstate,
    SALT_TREE,
} from "../helpers/salt";

const NOW = 1_800_000_000_000;
const ID = `compute-dy-2-${"b".repeat(26)}`;
const PUB = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-unit-salt-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function auth(over: Partial<AuthInput> & { act?: string; id?: string } = {}) {
    const { act = "pend", id = ID, ...rest } = over;
    return decideAuth({
        event: { id, act, pub: PUB },
        candidates: [
            {
                node: "compute-dy-2",
                minionId: ID,
                launchedAt: NOW - 60_000,
                pool: "burst",
                leaving: false,
            },
        ],
        alreadyAccepted: false,
        presentedKeyDigest: keyDigest(PUB),
        now: NOW,
        launchTimeoutMs: 1_200_000,
        ...rest,
    });
}

describe("minion admission", () => {
    it("accepts the first key of a worker this cluster launched, within its deadline", () => {
        assert.deepEqual(auth(), { action: "accept", node: "compute-dy-2" });
        assert.deepEqual(auth({ firstKeyDigest: keyDigest(PUB) }), {
            action: "accept",
            node: "compute-dy-2",
        });
    });

    it("rejects an unknown ID", () => {
        const decision = auth({ id: `compute-dy-3-${"c".repeat(26)}` });
        assert.equal(decision.action, "reject");
        assert.match((decision as { reason: string }).reason, /unknown minion ID/);
    });

    it("rejects an ID that is not of the cluster's shape (no look-up at all)", () => {
        assert.equal(auth({ id: "evil" }).action, "reject");
        assert.equal(auth({ id: "../../etc/passwd" }).action, "reject");
    });

    it("rejects a known ID presenting a second, different key", () => {
        const decision = auth({ firstKeyDigest: keyDigest("another key") });
        assert.deepEqual(decision, {
            action: "reject",
            reason: `${ID} presented a different key than the first one seen for it`,
        });
    });

    it("rejects a known ID after its launch deadline", () => {
        const decision = auth({ now: NOW + 1_200_000 });
        assert.equal(decision.action, "reject");
        assert.match(
            (decision as { reason: string }).reason,
            /past its launch deadline \(1200 s\)/,
        );
    });

    it("rejects a pending key for an ID whose key is already accepted", () => {
        assert.deepEqual(auth({ alreadyAccepted: true }), {
            action: "reject",
            reason: `a key for ${ID} is already accepted`,
        });
    });

    it("rejects a worker that is being deleted", () => {
        const decision = auth({
            candidates: [
                {
                    node: "compute-dy-2",
                    minionId: ID,
                    launchedAt: NOW,
                    pool: "burst",
                    leaving: true,
                },
            ],
        });
        assert.equal(decision.action, "reject");
    });

    const STATIC_ID = `compute-st-1-${"d".repeat(26)}`;
    const staticWorker = (leaving = false) => [
        {
            node: "compute-st-1",
            minionId: STATIC_ID,
            launchedAt: NOW - 30 * 86_400_000,
            pool: "static" as const,
            leaving,
        },
    ];

    it("accepts the first key of a static worker whatever its age (a slow minion, or every static worker after the head node was replaced)", () => {
        assert.deepEqual(auth({ id: STATIC_ID, candidates: staticWorker() }), {
            action: "accept",
            node: "compute-st-1",
        });
    });

    it("still holds a static worker to its first key, and refuses one being replaced", () => {
        assert.equal(
            auth({
                id: STATIC_ID,
                candidates: staticWorker(),
                firstKeyDigest: keyDigest("another key"),
            }).action,
            "reject",
        );
        assert.equal(auth({ id: STATIC_ID, candidates: staticWorker(true) }).action, "reject");
    });

    it("ignores events that need no decision (accepted re-auth, Salt's own denial)", () => {
        assert.equal(auth({ act: "accept" }).action, "ignore");
        assert.equal(auth({ act: "denied" }).action, "ignore");
    });
});

describe("the master's key directory", () => {
    const dir = path.join(tmp, "pki");
    const store = new SaltKeyStore(dir);
    const write = (state: string, id: string, text: string) => {
        fs.mkdirSync(path.join(dir, state), { recursive: true });
        fs.writeFileSync(path.join(dir, state, id), text);
    };

    it("accepts exactly the pending key that was presented (whitespace aside)", async () => {
        write("minions_pre", ID, PUB.replace(/\n/g, "\r\n"));
        await store.accept(ID, PUB);
        const listing = await store.list();
        assert.deepEqual([...listing.accepted], [ID]);
        assert.deepEqual([...listing.pending], []);
    });

    it("refuses a second accept, a swapped key and a key that is not pending", async () => {
        await assert.rejects(store.accept(ID, PUB), (e: KeyError) => e.code === "already-accepted");
        const other = `compute-dy-3-${"c".repeat(26)}`;
        write(
            "minions_pre",
            other,
            "-----BEGIN PUBLIC KEY-----\nSWAPPED\n-----END PUBLIC KEY-----\n",
        );
        await assert.rejects(store.accept(other, PUB), (e: KeyError) => e.code === "mismatch");
        await assert.rejects(
            store.accept("compute-dy-9-x", PUB),
            (e: KeyError) => e.code === "not-pending",
        );
        assert.ok(await store.reject(other));
        assert.deepEqual([...(await store.list()).rejected], [other]);
    });

    it("never lets an ID leave its directory", async () => {
        await assert.rejects(
            store.accept("../minions/x", PUB),
            (e: KeyError) => e.code === "bad-id",
        );
    });

    it("removes every key of a gone worker", async () => {
        await store.remove(ID);
        assert.deepEqual([...(await store.list()).accepted], []);
    });
});

describe("persisted state", () => {
    it("starts from defaults, writes atomically and reads back", () => {
        const dir = path.join(tmp, "state1");
        const first = new StateStore(dir);
        assert.deepEqual(first.state, defaultState());
        first.update((s) => {
            s.autoMode = false;
            s.held.push("compute-dy-1");
        });
        assert.equal(fs.statSync(path.join(dir, "state.json")).mode & 0o777, 0o600);
        const again = new StateStore(dir);
        assert.equal(again.state.autoMode, false);
        assert.deepEqual(again.state.held, ["compute-dy-1"]);
    });

    it("keeps a corrupt file aside and starts from defaults instead of crashing", () => {
        const dir = path.join(tmp, "state2");
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "state.json"), "{ not json");
        const store = new StateStore(dir, () => 42);
        assert.deepEqual(store.state, defaultState());
        assert.equal(store.recoveredFrom, path.join(dir, "state.json.corrupt-42"));
        assert.equal(fs.readFileSync(store.recoveredFrom!, "utf8"), "{ not json");
    });

    it("refuses a change that would write an invalid state", () => {
        const store = new StateStore(path.join(tmp, "state3"));
        assert.throws(() =>
            store.update((s) => {
                (s as { autoMode: unknown }).autoMode = "yes";
            }),
        );
        assert.equal(store.state.autoMode, true);
    });
});

describe("breaker and backoff", () => {
    const config = { threshold: 3, backoffBaseMs: 60_000, backoffMaxMs: 900_000 };

    it("opens after the threshold of failures in a row, and a success starts the count again", () => {
        const state = defaultState();
        assert.equal(recordBootFailure(state, config, "a", NOW), false);
        recordBootSuccess(state);
        assert.equal(recordBootFailure(state, config, "a", NOW), false);
        assert.equal(recordBootFailure(state, config, "b", NOW), false);
        assert.equal(recordBootFailure(state, config, "c", NOW), true);
        assert.ok(breakerOpen(state));
        assert.match(state.breaker.reason!, /3 boot failures in a row; last: c/);
        assert.equal(recordBootFailure(state, config, "d", NOW), false, "opens once");
        resetBreaker(state);
        assert.ok(!breakerOpen(state));
        assert.equal(state.breaker.consecutiveFailures, 0);
    });

    it("backs a flavor off exponentially up to the cap", () => {
        const state = defaultState();
        const delays = [0, 1, 2, 3, 4, 5].map(
            (i) => recordCapacityError(state, config, "m1", "quota", NOW + i) - (NOW + i),
        );
        assert.deepEqual(delays, [60_000, 120_000, 240_000, 480_000, 900_000, 900_000]);
        assert.equal(backoffUntil(state, "m1", NOW), NOW + 5 + 900_000);
        assert.equal(backoffUntil(state, "m1", NOW + 2_000_000), undefined);
        assert.equal(backoffUntil(state, "other", NOW), undefined);
    });

    it("a launch that succeeds lifts the backoff but keeps its count: a quota that admits some creates and refuses the rest backs off longer each time", () => {
        const state = defaultState();
        let at = NOW;
        const delays: number[] = [];
        for (let cycle = 0; cycle < 5; cycle++) {
            // Some creates of the round succeed, then one is refused; the next round is after
            // the backoff.
            clearBackoff(state, "m1", at);
            assert.equal(backoffUntil(state, "m1", at), undefined, "lifted by the success");
            assert.equal(failedRecently(state, "m1", at, 600_000), false, "worked since");
            assert.deepEqual(unclearedBackoffs(state), {});
            const until = recordCapacityError(state, config, "m1", "quota", at);
            delays.push(until - at);
            assert.deepEqual(Object.keys(unclearedBackoffs(state)), ["m1"]);
            at = until;
        }
        assert.deepEqual(delays, [60_000, 120_000, 240_000, 480_000, 900_000]);
        // backoff_max without an error: the count starts again.
        clearBackoff(state, "m1", at);
        at += 900_001;
        assert.equal(recordCapacityError(state, config, "m1", "quota", at) - at, 60_000);
    });
});

describe("the dynamic-cluster command", () => {
    it("maps Slurm's power-saving calls and root's commands to the local API", () => {
        assert.deepEqual(parseCommand(["slurm", "resume", "compute-dy-[1-3]"]), {
            method: "POST",
            path: "/slurm/resume",
            body: { nodes: "compute-dy-[1-3]" },
        });
        assert.deepEqual(parseCommand(["slurm", "resume-fail", "c-1"]).path, "/slurm/resume-fail");
        assert.deepEqual(parseCommand(["worker", "hold", "compute-dy-2"]), {
            method: "POST",
            path: "/workers/compute-dy-2/actions/hold",
        });
        assert.deepEqual(parseCommand(["auto", "off"]), {
            method: "PUT",
            path: "/auto",
            body: { on: false },
        });
        assert.deepEqual(parseCommand(["breaker", "reset"]), {
            method: "POST",
            path: "/breaker/reset",
        });
        assert.deepEqual(parseCommand(["status"]), { method: "GET", path: "/status" });
        assert.deepEqual(parseCommand(["pools"]), { method: "GET", path: "/pools" });
    });

    for (const bad of [
        [],
        ["slurm", "resume"],
        ["slurm", "resume", "a;rm -rf /"],
        ["auto", "maybe"],
        ["nope"],
    ]) {
        it(`refuses ${JSON.stringify(bad)} with usage`, () =>
            assert.throws(() => parseCommand(bad), UsageError));
    }

    it("reads the token from a header file or a bare token file", () => {
        assert.equal(tokenFromFile("Authorization: Bearer abc123\nContent-Type: x\n"), "abc123");
        assert.equal(tokenFromFile("abc123\n"), "abc123");
        assert.throws(() => tokenFromFile("two words"), UsageError);
    });
});

describe("service settings", () => {
    const config = configFrom({
        keyName: "k",
        allowedCidr: "203.0.113.0/24",
        network: "private",
        workers: { min: 1, max: 5 },
    });
    const rendered = () =>
        structuredClone(
            renderHighstate(config, "head").states[
                "dynamic-cluster-head-service-file-serialize-settings"
            ]!.args["dataset"],
        ) as Record<string, unknown>;

    it("accept the file Salt renders from the generated pillar, with defaults for tuning", () => {
        const settings = parseSettings(rendered());
        assert.deepEqual([settings.workers.min, settings.workers.max], [1, 5]);
        assert.equal("burst_count" in settings.workers, false, "derived, not carried");
        assert.equal(settings.tuning.reconcile_interval, 10);
        assert.equal(settings.salt.pki_dir, "/etc/salt/pki/master");
    });

    it("are the program's two parts as it built them, and Salt's layout: nothing reshaped", () => {
        const { layout, ...written } = rendered();
        assert.deepEqual(written, {
            ...buildServiceSettings(config, PILLAR_RESOURCES),
            ...buildSecretServiceSettings(PILLAR_SECRETS),
        });
        const defaults = yaml.load(
            fs.readFileSync(path.join(SALT_TREE, "dynamic_cluster", "defaults.yaml"), "utf8"),
        ) as {
            dynamic_cluster: { paths: Record<string, string>; firewall: { worker_set: string } };
        };
        assert.deepEqual(layout, {
            state_dir: defaults.dynamic_cluster.paths["service_state_dir"],
            firewall: { worker_set: defaults.dynamic_cluster.firewall.worker_set },
            openstack_cacert_file: "",
        });
    });

    it("hold the program's part to the schema with no field the service does not know", () => {
        const strict = programServiceSettingsSchema.strict();
        assert.doesNotThrow(() => strict.parse(buildServiceSettings(config, PILLAR_RESOURCES)));
        assert.throws(
            () =>
                strict.parse({ ...buildServiceSettings(config, PILLAR_RESOURCES), burst_count: 4 }),
            /burst_count/,
        );
    });

    it("bound workers.max by the limit the config loader states", () => {
        const raw = rendered();
        (raw["workers"] as Record<string, unknown>)["max"] = WORKERS_LIMIT + 1;
        assert.throws(
            () => parseSettings(raw),
            /workers\.max: Too big: expected number to be <=1000/,
        );
        assert.throws(
            () =>
                configFrom({
                    keyName: "k",
                    allowedCidr: "203.0.113.0/24",
                    network: "private",
                    workers: { min: 0, max: WORKERS_LIMIT + 1 },
                }),
            new RegExp(`workers\\.max.*at most ${String(WORKERS_LIMIT)}`),
        );
    });

    it("refuse one token shared by two callers", () => {
        const raw = rendered();
        const digests = (raw["secrets"] as Record<string, Record<string, string>>)[
            "local_api_token_sha256"
        ]!;
        assert.equal(new Set(Object.values(digests)).size, 3, "the program writes three digests");
        digests["salt"] = digests["slurm"]!;
        assert.throws(() => parseSettings(raw), /the three tokens must differ/);
    });

    it("list every problem at once, saying how to fix it", () => {
        const raw = rendered();
        (raw["workers"] as Record<string, unknown>)["max"] = 0;
        (raw["secrets"] as Record<string, unknown>)["local_api_token_sha256"] = {
            slurm: "short",
            // What Salt writes when the pillar has no salt token: the digest of "".
            salt: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            admin: "short",
        };
        delete raw["openstack"];
        assert.throws(
            () => parseSettings(raw, "/etc/dynamic-cluster/service.json"),
            (err: SettingsError) =>
                /run `pulumi up`/.test(err.message) &&
                /workers: workers.min must not exceed workers.max/.test(err.message) &&
                /secrets\.local_api_token_sha256\.slurm: must be the SHA-256 digest/.test(
                    err.message,
                ) &&
                /secrets\.local_api_token_sha256\.salt: is the digest of an empty token/.test(
                    err.message,
                ) &&
                /openstack/.test(err.message),
        );
    });
});
