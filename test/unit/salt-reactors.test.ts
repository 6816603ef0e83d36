/**
 * The reactors, rendered with real Jinja2 against the exact event data Salt sends (shapes in
 * ../shared/research/anchors.md §6.1): each event they handle produces the intended call, each
 * event they must ignore produces nothing. The rendered reactions are compared with a committed
 * snapshot (test/fixtures/salt/reactors.snapshot.json; refresh with UPDATE_SNAPSHOTS=1).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { HEAD_LOCAL_PORTS } from "../../components/ports";
import { SALT_TREE, renderReactor, type ReactorResult } from "../helpers/salt";

const SNAPSHOT = path.resolve(__dirname, "../fixtures/salt/reactors.snapshot.json");
const API = `http://127.0.0.1:${HEAD_LOCAL_PORTS.serviceLocalApi}/local/v1`;
const HEADER = "/etc/dynamic-cluster/reactor-local-api.header";
const MINION = "dc-7f3a9c2e4b1d4e5f8a6b0c1d2e3f4a5b";
const PUB =
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'quote'\n-----END PUBLIC KEY-----\n";

interface Case {
    name: string;
    file: string;
    tag: string;
    data: unknown;
    /** Expected reactions by ID (kind.function and, for HTTP forwards, the decoded body). */
    expect: Record<
        string,
        { call: string; url?: string; body?: unknown; args?: Record<string, unknown> }
    >;
}

const CASES: Case[] = [
    {
        name: "auth: a pending key is forwarded for the service to decide",
        file: "reactor/auth.sls",
        tag: "salt/auth",
        data: {
            result: true,
            act: "pend",
            id: MINION,
            pub: PUB,
            _stamp: "2026-11-25T10:00:00.000000",
        },
        expect: {
            "dynamic-cluster-reactor-auth-forward": {
                call: "runner.http.query",
                url: `${API}/salt/auth`,
                body: { id: MINION, act: "pend", pub: PUB },
            },
        },
    },
    {
        name: "auth: a denied key (changed key under a known ID) is forwarded",
        file: "reactor/auth.sls",
        tag: "salt/auth",
        data: { result: false, act: "denied", id: MINION, pub: PUB },
        expect: {
            "dynamic-cluster-reactor-auth-forward": {
                call: "runner.http.query",
                url: `${API}/salt/auth`,
                body: { id: MINION, act: "denied", pub: PUB },
            },
        },
    },
    {
        name: "auth: an accepted key re-authenticating is ignored",
        file: "reactor/auth.sls",
        tag: "salt/auth",
        data: { result: true, act: "accept", id: MINION, pub: PUB },
        expect: {},
    },
    {
        name: "auth: a rejected key (no act) is ignored",
        file: "reactor/auth.sls",
        tag: "salt/auth",
        data: { result: false, id: MINION, pub: PUB },
        expect: {},
    },
    {
        name: "auth: an ID that would break out of YAML stays a plain string",
        file: "reactor/auth.sls",
        tag: "salt/auth",
        data: { result: true, act: "pend", id: "x'\n  evil: {{ 1 }}", pub: PUB },
        expect: {
            "dynamic-cluster-reactor-auth-forward": {
                call: "runner.http.query",
                url: `${API}/salt/auth`,
                body: { id: "x'\n  evil: {{ 1 }}", act: "pend", pub: PUB },
            },
        },
    },
    {
        name: "start: a worker's start is forwarded and its highstate queued",
        file: "reactor/start.sls",
        tag: `salt/minion/${MINION}/start`,
        data: {
            id: MINION,
            cmd: "_minion_event",
            data: "Minion started",
            pretag: null,
            tag: `salt/minion/${MINION}/start`,
        },
        expect: {
            "dynamic-cluster-reactor-start-forward": {
                call: "runner.http.query",
                url: `${API}/salt/start`,
                body: { id: MINION },
            },
            "dynamic-cluster-reactor-start-highstate": {
                call: "local.state.apply",
                args: { tgt: MINION, kwarg: { queue: true } },
            },
        },
    },
    {
        name: "start: an event whose ID does not match its tag is ignored",
        file: "reactor/start.sls",
        tag: "salt/minion/other/start",
        data: { id: MINION, data: "Minion started" },
        expect: {},
    },
    {
        name: "stats: a collector event is forwarded with the master's minion ID",
        file: "reactor/stats.sls",
        tag: "dynamic-cluster/stats",
        data: {
            id: MINION,
            cmd: "_minion_event",
            tag: "dynamic-cluster/stats",
            data: {
                time: 1795566503,
                metrics: { "load.1m": 0.5, "memory.used_percent": 8.31 },
                id: "spoofed",
            },
        },
        expect: {
            "dynamic-cluster-reactor-stats-forward": {
                call: "runner.http.query",
                url: `${API}/salt/stats`,
                body: {
                    id: MINION,
                    time: 1795566503,
                    metrics: { "load.1m": 0.5, "memory.used_percent": 8.31 },
                },
            },
        },
    },
    {
        name: "stats: an event without metrics is ignored",
        file: "reactor/stats.sls",
        tag: "dynamic-cluster/stats",
        data: { id: MINION, data: { time: 1 } },
        expect: {},
    },
    {
        name: "worker: ready is forwarded",
        file: "reactor/worker.sls",
        tag: "dynamic-cluster/worker/ready",
        data: { id: MINION, data: { node_name: "compute-dy-3" } },
        expect: {
            "dynamic-cluster-reactor-worker-forward": {
                call: "runner.http.query",
                url: `${API}/salt/worker/ready`,
                body: { id: MINION, node_name: "compute-dy-3" },
            },
        },
    },
    {
        name: "worker: failed is forwarded",
        file: "reactor/worker.sls",
        tag: "dynamic-cluster/worker/failed",
        data: { id: MINION, data: { node_name: "compute-dy-3" } },
        expect: {
            "dynamic-cluster-reactor-worker-forward": {
                call: "runner.http.query",
                url: `${API}/salt/worker/failed`,
                body: { id: MINION, node_name: "compute-dy-3" },
            },
        },
    },
    {
        name: "worker: any other outcome is ignored",
        file: "reactor/worker.sls",
        tag: "dynamic-cluster/worker/rebooted",
        data: { id: MINION, data: { node_name: "compute-dy-3" } },
        expect: {},
    },
];

const results = new Map<string, ReactorResult>();
function render(c: Case): ReactorResult {
    let result = results.get(c.name);
    if (!result) {
        result = renderReactor(c.file, c.tag, c.data);
        results.set(c.name, result);
    }
    return result;
}

describe("reactors: rendered with the events Salt sends", () => {
    for (const c of CASES) {
        it(c.name, () => {
            const result = render(c);
            assert.deepEqual(result.errors, []);
            assert.deepEqual(Object.keys(result.reactions).sort(), Object.keys(c.expect).sort());
            for (const [id, want] of Object.entries(c.expect)) {
                const got = result.reactions[id]!;
                assert.equal(`${got.kind}.${got.function}`, want.call);
                if (want.url) {
                    assert.equal(got.args.url, want.url);
                    assert.equal(got.args.method, "POST");
                    assert.equal(got.args.header_file, HEADER);
                    assert.equal(got.args.raise_error, false);
                    assert.deepEqual(JSON.parse(String(got.args.data)), want.body);
                }
                if (want.args) assert.deepEqual(got.args, want.args);
            }
        });
    }

    it("match the committed snapshot", () => {
        const snapshot = Object.fromEntries(CASES.map((c) => [c.name, render(c).reactions]));
        const text = JSON.stringify(snapshot, null, 2) + "\n";
        if (process.env.UPDATE_SNAPSHOTS === "1") fs.writeFileSync(SNAPSHOT, text);
        assert.equal(text, fs.readFileSync(SNAPSHOT, "utf8"));
    });

    it("use the service port of components/ports.ts and the header file salt_master.sls writes", () => {
        const settings = fs.readFileSync(path.join(SALT_TREE, "reactor/settings.jinja"), "utf8");
        assert.ok(settings.includes(`'${API}'`), "reactor/settings.jinja local_api");
        assert.ok(settings.includes(`'${HEADER}'`), "reactor/settings.jinja header_file");
        const defaults = yaml.load(
            fs.readFileSync(path.join(SALT_TREE, "dynamic_cluster/defaults.yaml"), "utf8"),
        ) as { dynamic_cluster: { paths: { config_dir: string; reactor_dir: string } } };
        assert.equal(path.dirname(HEADER), defaults.dynamic_cluster.paths.config_dir);
        assert.equal(defaults.dynamic_cluster.paths.reactor_dir, "/srv/salt/reactor");
    });
});
