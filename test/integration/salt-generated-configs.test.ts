/**
 * The configuration files the Salt tree generates, fed to the real programs that read them
 * (Debian 12 packages, test/env/packages/salt.txt): slurmctld 22.05 loads the generated
 * slurm.conf and shows the floor and burst nodes and the partition; `nginx -t` accepts the
 * reverse-proxy config; `exportfs` accepts the exports line; the kernel loads the host
 * firewall's IPv4 and IPv6 rules (`iptables-restore`, `ip6tables-restore`, in a network namespace)
 * for an IPv4, an IPv6 and a dual-stack users' network. Only host-specific settings
 * (paths, ports, the controller's host name, the user) are swapped for a throw-away directory;
 * every node, partition, power-saving and scheduling line is the generated one.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as http from "node:http";
import * as https from "node:https";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { buildPublicApi } from "../../autoscaler/api/public";
import type { DynamicClusterService } from "../../autoscaler/service";
import { type GeneratedSlurmctld, startGeneratedSlurmctld } from "../helpers/generatedSlurmctld";
import { CarbonCache } from "../helpers/carbon";
import { loadRules, loopbackReach, restoreTest } from "../helpers/firewall";
import { GraphiteWeb } from "../helpers/graphiteWeb";
import { NginxProxy, selfSignedCertificate } from "../helpers/nginxProxy";
import {
    PILLAR_RESOURCES,
    THREE_POOLS,
    configFrom,
    renderHighstate,
    renderHighstateWithUsersCidrs,
    type Highstate,
} from "../helpers/salt";
import { waitFor } from "../helpers/waitFor";

const CONFIG_VALUES = {
    keyName: "hpc-key",
    allowedCidr: "203.0.113.0/24",
    network: "private",
    workers: { min: 2, max: 10 },
};
const CONFIG = configFrom(CONFIG_VALUES);
let head: Highstate;
let work: string;

before(() => {
    head = renderHighstate(CONFIG, "head");
    assert.deepEqual(head.errors, []);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "dc-salt-configs-"));
    fs.chmodSync(work, 0o755);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

function file(p: string): string {
    const f = head.files[p];
    assert.ok(f, `${p} is not generated`);
    return f.content;
}

/** Sets `Key=value` lines of slurm.conf text; each must exist unless listed in `append`. */
describe("generated slurm.conf in a real slurmctld", () => {
    let slurm: GeneratedSlurmctld | undefined;
    let env: NodeJS.ProcessEnv;
    let dir: string;

    before(async () => {
        dir = path.join(work, "slurm");
        slurm = await startGeneratedSlurmctld(head, dir, 26817);
        env = slurm.env;
    });

    after(async () => {
        await slurm?.stop();
    });

    it("loads every node of the floor and the burst pool, powered down, with the flavor's size", () => {
        const out = execFileSync("sinfo", ["-h", "-N", "-o", "%N %T %c %m %f"], {
            env,
            encoding: "utf8",
        });
        const nodes = out
            .trim()
            .split("\n")
            .map((l) => l.trim().split(/\s+/));
        const expected = [
            ...[1, 2].map((i) => [`compute-st-${i}`, "static"]),
            ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => [`compute-dy-${i}`, "burst"]),
        ];
        assert.deepEqual(nodes.map((n) => [n[0], n[4]]).sort(), expected.sort());
        for (const n of nodes) {
            assert.match(n[1]!, /^idle~$/, `${n[0]} should be powered down: ${n[1]}`);
            assert.equal(n[2], "4");
            assert.equal(n[3], "7536");
        }
    });

    it("has the batch partition as default over all nodes, and power saving wired to the programs", () => {
        const partition = execFileSync("scontrol", ["show", "partition", "batch"], {
            env,
            encoding: "utf8",
        });
        assert.match(partition, /Default=YES/);
        assert.match(partition, /TotalNodes=10 /);
        const config = execFileSync("scontrol", ["show", "config"], { env, encoding: "utf8" });
        assert.match(config, /^SuspendExcNodes\s+= compute-st-\[1-2\]/m);
        assert.match(config, /^ResumeProgram\s+= .*\/slurm-resume$/m);
        assert.match(config, /^ResumeTimeout\s+= 1200 sec/m);
        assert.match(config, /^SuspendTime\s+= 600 sec/m);
        assert.match(
            config,
            /^SlurmctldParameters\s+= enable_configless,cloud_reg_addrs,idle_on_node_suspend,power_save_interval=2,power_save_min_interval=0$/m,
        );
        const log = fs.readFileSync(path.join(dir, "slurmctld.log"), "utf8");
        assert.doesNotMatch(log, /fatal|power_save.*(disabled|not executable)/i);
    });
});

describe("generated slurm.conf and gres.conf with three pools in a real slurmctld", () => {
    // The default pool with a floor and one warm burst worker, a GPU pool (GRES, a feature, a
    // fallback flavor) and a large-memory pool with its own idle time: what pools[*] makes.
    const config = configFrom({ ...CONFIG_VALUES, ...THREE_POOLS });
    const resources = {
        ...PILLAR_RESOURCES,
        flavorSizes: {
            "m1.small": { vcpus: 2, ramMb: 4096 },
            "g1.large": { vcpus: 8, ramMb: 65536 },
            "g1.xlarge": { vcpus: 16, ramMb: 131072 },
            "r1.huge": { vcpus: 4, ramMb: 262144 },
        },
    };
    let slurm: GeneratedSlurmctld | undefined;
    let env: NodeJS.ProcessEnv;

    before(async () => {
        const pooled = renderHighstate(config, "head", resources);
        assert.deepEqual(pooled.errors, []);
        slurm = await startGeneratedSlurmctld(pooled, path.join(work, "slurm-pools"), 26827);
        env = slurm.env;
    });

    after(async () => {
        await slurm?.stop();
    });

    const scontrol = (...args: string[]): string =>
        execFileSync("scontrol", args, { env, encoding: "utf8" });

    it("loads every pool's nodes with its size, features and GRES, powered down", () => {
        const out = execFileSync("sinfo", ["-h", "-N", "-o", "%N|%T|%c|%m|%f|%G"], {
            env,
            encoding: "utf8",
        });
        const nodes = [...new Set(out.trim().split("\n"))].map((l) => l.trim().split("|")).sort();
        const row = (
            name: string,
            cpus: string,
            mem: string,
            features: string,
            gres = "(null)",
        ) => [name, "idle~", cpus, mem, features, gres];
        assert.deepEqual(
            nodes,
            [
                ...[1, 2].map((i) => row(`bigmem-dy-${i}`, "4", "241172", "burst")),
                row("bigmem-st-1", "4", "241172", "static"),
                ...[1, 2, 3].map((i) => row(`compute-dy-${i}`, "2", "3768", "burst")),
                row("compute-st-1", "2", "3768", "static"),
                ...[1, 2].map((i) => row(`gpu-dy-${i}`, "8", "60293", "burst,a100", "gpu:2")),
            ].sort(),
        );
    });

    it("has a partition per pool, batch the default, each with its pool's idle time", () => {
        const batch = scontrol("show", "partition", "batch");
        assert.match(batch, /Default=YES/);
        assert.match(batch, /Nodes=compute-dy-\[1-3\],compute-st-1\n/);
        assert.match(batch, /SuspendTime=600$/m);
        const gpu = scontrol("show", "partition", "gpu");
        assert.match(gpu, /Default=NO/);
        assert.match(gpu, /Nodes=gpu-dy-\[1-2\]/);
        const bigmem = scontrol("show", "partition", "bigmem");
        assert.match(bigmem, /Nodes=bigmem-dy-\[1-2\],bigmem-st-1\n/);
        assert.match(bigmem, /SuspendTime=1800$/m);
        const shown = scontrol("show", "config");
        assert.match(
            shown,
            /^SuspendExcNodes\s+= compute-dy-\[1-3\]:1,compute-st-\[1-1\],bigmem-st-\[1-1\]$/m,
        );
        assert.match(shown, /^GresTypes\s+= gpu$/m);
        assert.doesNotMatch(slurm!.log(), /fatal|error: .*gres/i);
    });

    it("places a GPU job on the GPU pool's nodes, and refuses it where no pool has GPUs", () => {
        const submit = (...args: string[]) =>
            spawnSync("sbatch", ["--test-only", ...args, "--wrap", "nvidia-smi"], {
                env,
                encoding: "utf8",
            });
        const gpu = submit("-p", "gpu", "--gres=gpu:1");
        assert.match(gpu.stderr, /on nodes gpu-dy-\d in partition gpu/, gpu.stderr);
        const feature = submit("-p", "gpu", "--constraint=a100", "-N", "2");
        assert.match(feature.stderr, /on nodes gpu-dy-\[1-2\] in partition gpu/, feature.stderr);
        const wrong = submit("-p", "batch", "--gres=gpu:1");
        assert.notEqual(wrong.status, 0);
        assert.match(wrong.stderr, /Requested node configuration is not available/, wrong.stderr);
        const plain = submit();
        assert.match(plain.stderr, /in partition batch/, plain.stderr);
    });
});

describe("generated nginx configuration", () => {
    it("passes nginx -t with a real certificate and key", () => {
        const dir = path.join(work, "nginx");
        fs.mkdirSync(dir);
        selfSignedCertificate(dir);
        const site = file("/etc/nginx/conf.d/dynamic-cluster.conf").replaceAll(
            "/etc/pki/dynamic-cluster",
            dir,
        );
        assert.notEqual(
            site,
            file("/etc/nginx/conf.d/dynamic-cluster.conf"),
            "TLS paths were rewritten",
        );
        fs.writeFileSync(path.join(dir, "site.conf"), site);
        fs.writeFileSync(
            path.join(dir, "nginx.conf"),
            `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\n` +
                `http {\n    access_log off;\n    client_body_temp_path ${dir};\n    include ${dir}/site.conf;\n}\n`,
        );
        const result = spawnSync("nginx", ["-t", "-p", dir, "-c", path.join(dir, "nginx.conf")], {
            encoding: "utf8",
        });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /test is successful/);
    });
});

describe("generated nginx configuration in front of the service's public API", () => {
    // Debian's nginx runs the generated site, adapted only for the listening address and port,
    // the TLS files and the upstream ports: in front of a real public API (buildPublicApi, the
    // service's own code, with a stand-in for the cluster behind it) and Debian's real
    // graphite-web (run from the generated local_settings.py, as the graphite user) reading the
    // whisper files Debian's real carbon-cache (run from the generated carbon.conf) writes.
    // Clients connect from other loopback addresses (127.0.0.2, ...), so the address nginx
    // passes on is told apart from nginx's own 127.0.0.1.
    const LOGIN = { username: "admin", password: "correct-horse-battery" };
    let dir: string;
    let proxy: NginxProxy | undefined;
    let proxyPort: number;
    let api: FastifyInstance;
    let carbon: CarbonCache;
    let graphite: GraphiteWeb;
    /** A metric carbon stored before graphite-web was asked for it. */
    const METRIC = "dynamic_cluster.dev.service.workers.ready";
    const serviceLog: Array<{ msg?: string; client?: string }> = [];
    /** The admin actions the stand-in service was asked for. */
    const actionsDone: string[] = [];

    before(async () => {
        dir = path.join(work, "nginx-proxy");
        fs.mkdirSync(dir);
        const service = {
            status: () => ({ autoMode: true, breaker: { open: false }, workerPools: [] }),
            workers: () => [],
            jobs: () => [],
            recentEvents: () => [{ level: "info", message: "through the proxy" }],
            actions: {
                resetBreaker: async (by: string) => void actionsDone.push(`reset by ${by}`),
            },
        } as unknown as DynamicClusterService;
        const logger = pino(
            { level: "info" },
            { write: (line: string) => void serviceLog.push(JSON.parse(line)) },
        );
        api = buildPublicApi(service, LOGIN, logger);
        const apiPort = Number(new URL(await api.listen({ host: "127.0.0.1", port: 0 })).port);
        carbon = await CarbonCache.start(path.join(dir, "carbon"), head.files);
        await carbon.send(`${METRIC} 7 ${String(Math.floor(Date.now() / 1000))}`);
        await carbon.waitForValue(METRIC, 7);
        graphite = await GraphiteWeb.start(path.join(dir, "graphite-web"), head.files, carbon);
        const graphitePort = graphite.port;
        proxy = await NginxProxy.start(path.join(dir, "nginx"), head.files, {
            servicePort: apiPort,
            graphitePort,
        });
        proxyPort = proxy.port;
    });

    after(async () => {
        await proxy?.stop();
        await api?.close();
        await graphite?.stop();
        await carbon?.stop();
    });

    /** One HTTPS request to nginx from the loopback address `from`. */
    function viaProxy(
        urlPath: string,
        options: {
            from: string;
            headers?: http.OutgoingHttpHeaders;
            password?: string;
            user?: string;
            method?: string;
            json?: unknown;
        },
    ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
        const headers: http.OutgoingHttpHeaders = { ...options.headers };
        if (options.password !== undefined) {
            const user = options.user ?? LOGIN.username;
            headers["authorization"] =
                `Basic ${Buffer.from(`${user}:${options.password}`).toString("base64")}`;
        }
        const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
        if (payload !== undefined) headers["content-type"] = "application/json";
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: "127.0.0.1",
                    port: proxyPort,
                    path: urlPath,
                    method: options.method ?? "GET",
                    localAddress: options.from,
                    rejectUnauthorized: false,
                    agent: false,
                    headers,
                },
                (res) => {
                    let body = "";
                    res.setEncoding("utf8");
                    res.on("data", (chunk: string) => (body += chunk));
                    res.on("end", () =>
                        resolve({ status: res.statusCode!, body, headers: res.headers }),
                    );
                },
            );
            req.on("error", reject);
            req.end(payload);
        });
    }

    const failedLogins = () => serviceLog.filter((l) => l.msg === "failed login");

    it("a client-sent X-Forwarded-For or X-Real-IP does not change the address the service sees, on /api/ and in Graphite's login check", async () => {
        const spoofed: http.OutgoingHttpHeaders[] = [
            { "x-forwarded-for": "10.9.9.1" },
            { "x-real-ip": "10.9.9.2" },
            { "x-real-ip": ["10.9.9.3", "10.9.9.4"], "x-forwarded-for": "10.9.9.5, 10.9.9.6" },
        ];
        const before = failedLogins().length;
        for (const headers of spoofed) {
            for (const where of ["/api/v1/status", "/graphite/render"]) {
                const res = await viaProxy(where, {
                    from: "127.0.0.2",
                    headers,
                    user: "intruder",
                    password: "guess",
                });
                assert.equal(res.status, 401, `${where} ${JSON.stringify(headers)}`);
            }
        }
        const seen = failedLogins().slice(before);
        assert.equal(seen.length, spoofed.length * 2, "every attempt reached the service");
        assert.deepEqual(
            [...new Set(seen.map((l) => l.client))],
            ["127.0.0.2"],
            "the service saw the client's own address, never nginx's or a header's",
        );
    });

    it("ten wrong passwords through Graphite's login lock out that client only: another client still gets into Graphite and the API", async () => {
        const codes: number[] = [];
        for (let i = 0; i < 10; i++) {
            const res = await viaProxy("/graphite/render", {
                from: "127.0.0.3",
                headers: { "x-real-ip": `10.8.0.${i}`, "x-forwarded-for": `10.7.0.${i}` },
                password: "wrong",
            });
            codes.push(res.status);
        }
        assert.deepEqual(codes, Array(10).fill(401));
        // The guessing client is locked out (the service's 429; nginx's auth_request turns any
        // answer but 2xx, 401 and 403 into a 500) ...
        const locked = await viaProxy("/api/v1/status", {
            from: "127.0.0.3",
            headers: { "x-real-ip": "192.0.2.200" },
            password: LOGIN.password,
        });
        assert.equal(locked.status, 429, locked.body);
        assert.notEqual(
            (await viaProxy("/graphite/render", { from: "127.0.0.3", password: LOGIN.password }))
                .status,
            200,
        );
        // ... and nobody else is.
        const other = await viaProxy("/graphite/render", {
            from: "127.0.0.4",
            password: LOGIN.password,
        });
        assert.equal(other.status, 200, other.body);
        const apiOther = await viaProxy("/api/v1/status", {
            from: "127.0.0.4",
            password: LOGIN.password,
        });
        assert.equal(apiOther.status, 200, apiOther.body);
    });

    it("Graphite's render API through the proxy, with the dashboard login, returns what carbon stored; without it, 401 and nothing from graphite-web", async () => {
        const render = `/graphite/render?target=${METRIC}&format=json&from=-10min`;
        const res = await viaProxy(render, { from: "127.0.0.5", password: LOGIN.password });
        assert.equal(res.status, 200, res.body);
        const series = JSON.parse(res.body) as Array<{
            target: string;
            datapoints: Array<[number | null, number]>;
        }>;
        assert.deepEqual(
            series.map((s) => s.target),
            [METRIC],
        );
        assert.ok(
            series[0]!.datapoints.some(([value]) => value === 7),
            `the value carbon stored: ${res.body}`,
        );
        const found = await viaProxy("/graphite/metrics/find?query=dynamic_cluster.*", {
            from: "127.0.0.5",
            password: LOGIN.password,
        });
        assert.equal(found.status, 200, found.body);
        assert.match(found.body, /"text": ?"dynamic_cluster"|"id": ?"dynamic_cluster\.dev"/);
        for (const where of [render, "/graphite/metrics/find?query=*", "/graphite/"]) {
            const refused = await viaProxy(where, { from: "127.0.0.6" });
            assert.equal(refused.status, 401, `${where} without the login`);
            assert.doesNotMatch(refused.body, /dynamic_cluster|datapoints/);
        }
    });

    it("a browser's login through the proxy: the session cookie keeps HttpOnly, Secure and SameSite=Strict, opens the API and Graphite, and an action needs its CSRF token", async () => {
        const from = "127.0.0.7";
        const login = await viaProxy("/api/v1/login", {
            from,
            method: "POST",
            json: { username: LOGIN.username, password: LOGIN.password },
        });
        assert.equal(login.status, 200, login.body);
        const setCookie = login.headers["set-cookie"] ?? [];
        assert.equal(setCookie.length, 1);
        const attributes = setCookie[0]!.split(";").map((a) => a.trim().toLowerCase());
        for (const a of ["httponly", "secure", "samesite=strict", "path=/"])
            assert.ok(attributes.includes(a), `${a} in ${setCookie[0]!}`);
        const cookie = setCookie[0]!.split(";")[0]!;
        const { csrfToken } = JSON.parse(login.body) as { csrfToken: string };

        const status = await viaProxy("/api/v1/status", { from, headers: { cookie } });
        assert.equal(status.status, 200, status.body);
        const render = await viaProxy(`/graphite/render?target=${METRIC}&format=json&from=-10min`, {
            from,
            headers: { cookie },
        });
        assert.equal(render.status, 200, "Graphite behind the same login");
        assert.match(render.body, new RegExp(METRIC.replace(/\./g, "\\.")));

        const before = actionsDone.length;
        const forged = await viaProxy("/api/v1/breaker/reset", {
            from,
            method: "POST",
            headers: { cookie },
        });
        assert.equal(forged.status, 403, forged.body);
        assert.equal(actionsDone.length, before, "nothing done without the token");
        const done = await viaProxy("/api/v1/breaker/reset", {
            from,
            method: "POST",
            headers: { cookie, "x-csrf-token": csrfToken },
        });
        assert.equal(done.status, 200, done.body);
        assert.deepEqual(actionsDone.slice(before), ["reset by admin"]);

        const logout = await viaProxy("/api/v1/logout", {
            from,
            method: "POST",
            headers: { cookie, "x-csrf-token": csrfToken },
        });
        assert.equal(logout.status, 200, logout.body);
        assert.equal((await viaProxy("/api/v1/status", { from, headers: { cookie } })).status, 401);
        assert.equal(
            (await viaProxy("/graphite/metrics/find?query=*", { from, headers: { cookie } }))
                .status,
            401,
            "Graphite closes with the session",
        );
    });

    it("graphite-web never receives the dashboard's credentials: nginx strips Authorization and the session cookie", async () => {
        const from = "127.0.0.9";
        const login = await viaProxy("/api/v1/login", {
            from,
            method: "POST",
            json: { username: LOGIN.username, password: LOGIN.password },
        });
        const cookie = String(login.headers["set-cookie"]?.[0]).split(";")[0]!;
        const marker = `/graphite/metrics/find?query=credentials-check-${Date.now()}`;
        const basic = await viaProxy(marker, { from, password: LOGIN.password });
        assert.equal(basic.status, 200, basic.body);
        const session = await viaProxy(marker, { from, headers: { cookie } });
        assert.equal(session.status, 200, session.body);
        const lines = await waitFor(
            "graphite-web's access log to show both requests",
            () => {
                const seen = graphite
                    .accessLog()
                    .filter((l) => l.startsWith("/graphite/metrics/find"));
                return seen.length >= 2 ? seen : undefined;
            },
            { timeoutMs: 10_000, intervalMs: 100 },
        );
        for (const line of lines) {
            assert.match(line, / authorization=- cookie=-$/, `graphite-web received: ${line}`);
        }
    });

    it("the live view streams through the proxy as it happens (nginx does not buffer it), behind the login", async () => {
        const from = "127.0.0.8";
        const login = await viaProxy("/api/v1/login", {
            from,
            method: "POST",
            json: { username: LOGIN.username, password: LOGIN.password },
        });
        const cookie = String(login.headers["set-cookie"]?.[0]).split(";")[0]!;
        const first = await new Promise<{ status: number; text: string }>((resolve, reject) => {
            const req = https.get(
                {
                    host: "127.0.0.1",
                    port: proxyPort,
                    path: "/api/v1/stream",
                    localAddress: from,
                    rejectUnauthorized: false,
                    agent: false,
                    headers: { cookie },
                },
                (res) => {
                    let text = "";
                    res.setEncoding("utf8");
                    res.on("data", (chunk: string) => {
                        text += chunk;
                        // The stream never ends: the first event must come through on its own.
                        if (text.includes("\n\n", text.indexOf("event: snapshot"))) {
                            req.destroy();
                            resolve({ status: res.statusCode!, text });
                        }
                    });
                    res.on("error", () => undefined);
                },
            );
            req.setTimeout(20_000, () => {
                req.destroy();
                reject(new Error("no snapshot through the proxy within 20 s (buffered?)"));
            });
            req.on("error", (err) => (err.message === "socket hang up" ? undefined : reject(err)));
        });
        assert.equal(first.status, 200);
        assert.match(first.text, /event: snapshot\ndata: \{"status":\{"autoMode":true/);
        assert.match(first.text, /through the proxy/);
        const refused = await viaProxy("/api/v1/stream", { from });
        assert.equal(refused.status, 401);
    });
});

describe("generated NFS exports", () => {
    /** Runs exportfs -ra on `exportsText` in a private mount namespace; returns etab or the error. */
    function exportfs(exportsText: string): {
        status: number | null;
        etab: string;
        stderr: string;
    } {
        const dir = fs.mkdtempSync(path.join(work, "nfs-"));
        fs.mkdirSync(path.join(dir, "lib"));
        fs.mkdirSync(path.join(dir, "data"));
        fs.writeFileSync(
            path.join(dir, "exports"),
            exportsText.replaceAll(/^\/data /gm, `${dir}/data `),
        );
        const script =
            `mount --make-rprivate / && mount --bind ${dir}/exports /etc/exports && ` +
            `mount --bind ${dir}/lib /var/lib/nfs && exportfs -ra && cat /var/lib/nfs/etab`;
        const result = spawnSync("unshare", ["-m", "sh", "-c", script], { encoding: "utf8" });
        return { status: result.status, etab: result.stdout, stderr: result.stderr };
    }

    it("exportfs accepts the exports line: cluster subnet only, root squashed", () => {
        const result = exportfs(file("/etc/exports.d/dynamic-cluster.exports"));
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.etab, /\t10\.42\.0\.0\/24\(rw,sync,.*root_squash/);
    });

    it("and the same check rejects a broken line (the check can fail)", () => {
        const result = exportfs("/data 10.42.0.0/24(rw,no_such_option)\n");
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /unknown keyword "no_such_option"/);
    });
});

describe("generated host firewall, IPv4 and IPv6", () => {
    const WORKER_SET = "dc-workers";
    const IPV4 = "203.0.113.0/24";
    const IPV6 = "2001:db8:42::/48";
    const cases: Array<[string, () => Highstate, string[], string[]]> = [
        ["an IPv4 users' network (allowedCidr)", () => head, [IPV4], []],
        [
            "users' networks of both families (allowedCidr)",
            () =>
                renderHighstate(
                    configFrom({ ...CONFIG_VALUES, allowedCidr: `${IPV4},${IPV6}` }),
                    "head",
                ),
            [IPV4],
            [IPV6],
        ],
        [
            "IPv6 users' networks only (the pillar's lists; the loader requires an IPv4 range)",
            () => renderHighstateWithUsersCidrs(CONFIG, "head", [IPV6]),
            [],
            [IPV6],
        ],
    ];
    for (const [name, render, v4, v6] of cases) {
        it(`${name}: the kernel loads both files, SSH and HTTPS open to exactly those ranges`, () => {
            const rendered = render();
            assert.deepEqual(rendered.errors, []);
            const ipv4 = rendered.files["/etc/sysconfig/iptables"]?.content;
            const ipv6 = rendered.files["/etc/sysconfig/ip6tables"]?.content;
            assert.ok(ipv4 && ipv6, "both rules files are generated");
            for (const [family, text] of [
                ["ipv4", ipv4],
                ["ipv6", ipv6],
            ] as const) {
                const test = restoreTest(family, text, WORKER_SET);
                assert.equal(test.status, 0, `${family} --test:\n${test.output}`);
            }
            const loaded = loadRules(ipv4, ipv6, WORKER_SET);
            assert.equal(loaded.status, 0, loaded.output);
            for (const [family, listing, cidrs] of [
                ["ipv4", loaded.ipv4, v4],
                ["ipv6", loaded.ipv6, v6],
            ] as const) {
                assert.deepEqual(
                    listing.filter((r) => r.startsWith("-P ")),
                    ["-P INPUT DROP", "-P FORWARD DROP", "-P OUTPUT ACCEPT"],
                    family,
                );
                const users = listing
                    .filter((r) => / --dport (22|443) /.test(r) && r.endsWith("-j ACCEPT"))
                    .map((r) => [/ -s (\S+)/.exec(r)?.[1], /--dport (\S+)/.exec(r)?.[1]]);
                assert.deepEqual(
                    users,
                    cidrs.flatMap((cidr) => [
                        [cidr, "22"],
                        [cidr, "443"],
                    ]),
                    `${family}: SSH and HTTPS\n${listing.join("\n")}`,
                );
            }
        });
    }

    it("the kernel lets each loopback port be reached by the accounts that use it only", () => {
        // carbon's line receiver, carbon's cache query port, graphite-web, the service's public
        // API, the service's local API (components/ports.ts), as the rules name them.
        const ports = [2003, 7002, 8090, 8080, 8081];
        // `nobody` stands for any other local account, a cluster user on the head above all.
        const users = ["root", "nginx", "graphite", "salt", "slurm", "nobody"];
        const allowed: Record<number, string[]> = {
            2003: ["root"],
            7002: ["graphite"],
            8090: ["nginx"],
            8080: ["nginx"],
            8081: ["root", "salt", "slurm"],
        };
        const result = loopbackReach(
            file("/etc/sysconfig/iptables"),
            file("/etc/sysconfig/ip6tables"),
            WORKER_SET,
            ports,
            users,
        );
        assert.equal(result.status, 0, result.output);
        const seen: Record<string, boolean> = {};
        const want: Record<string, boolean> = {};
        for (const port of ports) {
            for (const user of users) {
                for (const address of ["127.0.0.1", "::1"]) {
                    const key = `${port} ${user} ${address}`;
                    seen[key] = result.reach.get(key) ?? false;
                    want[key] = allowed[port]!.includes(user);
                }
            }
        }
        assert.deepEqual(seen, want, result.output);
    });

    it("and the same check rejects an IPv6 range in the IPv4 file (the check can fail)", () => {
        const rules = file("/etc/sysconfig/iptables");
        const broken = rules.replace(`-s ${IPV4} --dport 22`, `-s ${IPV6} --dport 22`);
        assert.notEqual(broken, rules);
        const result = restoreTest("ipv4", broken, WORKER_SET);
        assert.notEqual(result.status, 0);
        assert.match(result.output, /invalid mask `48' specified/);
    });
});
