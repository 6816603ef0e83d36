/**
 * Events as Salt sends them to the reactors (`salt/auth` as Salt 3006's salt/channel/server.py
 * fires it, fields top-level; `event.send` payloads under `data['data']`; job returns as
 * salt/utils/job.py fires them), each with the reactions it must produce: rendered by
 * the emulation in test/unit/salt-reactors.test.ts and by Salt's own reactor system in
 * test/integration/salt-real-render.test.ts. Every forward to the service is a
 * `runner.dc_forward.post` call (salt/_runners/dc_forward.py) with a path under {@link API} and
 * the data it sends as JSON.
 */
import { HEAD_LOCAL_PORTS } from "../../components/ports";

/** The runner's LOCAL_API and HEADER_FILE (salt/_runners/dc_forward.py). */
export const API = `http://127.0.0.1:${HEAD_LOCAL_PORTS.serviceLocalApi}/local/v1`;
export const HEADER = "/etc/dynamic-cluster/reactor-local-api.header";
export const FORWARD = "runner.dc_forward.post";
export const MINION = "dc-7f3a9c2e4b1d4e5f8a6b0c1d2e3f4a5b";
const JID = "20261125100200123456";
/** The signed text and its base64 RSA signature as dc_stats.send puts them in the payload. */
const SIGNED = `{"id":"${MINION}","metrics":{"load.1m":0.5,"memory.used_percent":8.31},"time":1795566503}`;
const SIGNATURE = "c2lnbmVkIGJ5IHRoZSBtaW5pb24ncyBrZXk=";
const PUB =
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'quote'\n-----END PUBLIC KEY-----\n";

export interface ReactorCase {
    name: string;
    file: string;
    tag: string;
    data: unknown;
    /**
     * Expected reactions by ID: kind.function and, for forwards to the service, the path under
     * {@link API} and the data sent; for other calls, their arguments.
     */
    expect: Record<
        string,
        { call: string; path?: string; body?: unknown; args?: Record<string, unknown> }
    >;
}

export const REACTOR_CASES: ReactorCase[] = [
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
                call: FORWARD,
                path: "/salt/auth",
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
                call: FORWARD,
                path: "/salt/auth",
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
                call: FORWARD,
                path: "/salt/auth",
                body: { id: "x'\n  evil: {{ 1 }}", act: "pend", pub: PUB },
            },
        },
    },
    {
        name: "start: a worker's start is forwarded, and nothing is targeted (the service starts the highstate)",
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
                call: FORWARD,
                path: "/salt/start",
                body: { id: MINION },
            },
        },
    },
    {
        name: "start: a forged start in the name of every minion ('*') is forwarded as a claim, never run",
        file: "reactor/start.sls",
        tag: "salt/minion/*/start",
        data: { id: "*", data: "Minion started" },
        expect: {
            "dynamic-cluster-reactor-start-forward": {
                call: FORWARD,
                path: "/salt/start",
                body: { id: "*" },
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
                signed: SIGNED,
                signature: SIGNATURE,
            },
        },
        expect: {
            "dynamic-cluster-reactor-stats-forward": {
                call: FORWARD,
                path: "/salt/stats",
                body: {
                    id: MINION,
                    time: 1795566503,
                    metrics: { "load.1m": 0.5, "memory.used_percent": 8.31 },
                    signed: SIGNED,
                    signature: SIGNATURE,
                },
            },
        },
    },
    {
        name: "stats: an unsigned event (no key, an older collector) is forwarded with empty signed and signature",
        file: "reactor/stats.sls",
        tag: "dynamic-cluster/stats",
        data: { id: MINION, data: { time: 1795566503, metrics: { "load.1m": 0 } } },
        expect: {
            "dynamic-cluster-reactor-stats-forward": {
                call: FORWARD,
                path: "/salt/stats",
                body: {
                    id: MINION,
                    time: 1795566503,
                    metrics: { "load.1m": 0 },
                    signed: "",
                    signature: "",
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
                call: FORWARD,
                path: "/salt/worker/ready",
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
                call: FORWARD,
                path: "/salt/worker/failed",
                body: { id: MINION, node_name: "compute-dy-3" },
            },
        },
    },
    {
        name: "job return: a state.apply return is forwarded as a hint (jid, id, fun only)",
        file: "reactor/job_return.sls",
        tag: `salt/job/${JID}/ret/${MINION}`,
        data: {
            cmd: "_return",
            id: MINION,
            success: true,
            return: {
                "file_|-dynamic-cluster-worker-ready_|-/etc/x_|-managed": {
                    result: true,
                    comment: "File /etc/x is in the correct state",
                    __run_num__: 0,
                },
            },
            retcode: 0,
            jid: JID,
            fun: "state.apply",
            fun_args: [{ queue: true }],
            out: "highstate",
            _stamp: "2026-11-25T10:02:00.000000",
        },
        expect: {
            "dynamic-cluster-reactor-job-return-forward": {
                call: FORWARD,
                path: "/salt/job-return",
                body: { jid: JID, id: MINION, fun: "state.apply" },
            },
        },
    },
    {
        name: "job return: a failed state.highstate return is forwarded",
        file: "reactor/job_return.sls",
        tag: `salt/job/${JID}/ret/${MINION}`,
        data: {
            cmd: "_return",
            id: MINION,
            success: false,
            return: ["Rendering SLS 'base:dynamic_cluster.worker' failed"],
            retcode: 1,
            jid: JID,
            fun: "state.highstate",
            fun_args: [],
        },
        expect: {
            "dynamic-cluster-reactor-job-return-forward": {
                call: FORWARD,
                path: "/salt/job-return",
                body: { jid: JID, id: MINION, fun: "state.highstate" },
            },
        },
    },
    {
        name: "job return: any other function's return is ignored",
        file: "reactor/job_return.sls",
        tag: `salt/job/${JID}/ret/${MINION}`,
        data: {
            cmd: "_return",
            id: MINION,
            success: true,
            return: true,
            retcode: 0,
            jid: JID,
            fun: "test.ping",
            fun_args: [],
        },
        expect: {},
    },
    {
        name: "job return: a state.apply return without a jid is ignored",
        file: "reactor/job_return.sls",
        tag: `salt/job/${JID}/ret/${MINION}`,
        data: { cmd: "_return", id: MINION, jid: "", fun: "state.apply", return: {} },
        expect: {},
    },
    {
        name: "worker: any other outcome is ignored",
        file: "reactor/worker.sls",
        tag: "dynamic-cluster/worker/rebooted",
        data: { id: MINION, data: { node_name: "compute-dy-3" } },
        expect: {},
    },
];
