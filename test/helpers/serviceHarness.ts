/**
 * One Dynamic Cluster head node, for the service's end-to-end tests, made of real parts:
 * - the settings file is the one the Salt tree renders for the head node (service.sls) from
 *   the pillar the program generates, with only host-specific values swapped (ports, paths, the
 *   test's network, timings shortened for the test);
 * - OpenStack is the local one (test/env/openstack), reached with a real application credential
 *   restricted by the program's own access rules (components/accessRules.ts);
 * - Slurm is Debian's slurmctld with the rendered slurm.conf and power-saving programs, which
 *   run the built `dynamic-cluster` command (test/helpers/slurmCluster.ts);
 * - the service is the built bundle in its own process, started as the head node's unit starts
 *   it (test/helpers/serviceNode.ts: its Node.js options, and the head's Node.js when
 *   test/env/node-lts.sh installed it), so a test can kill it;
 * - Salt is real (test/helpers/saltMaster.ts): the pinned PyPI master as user `salt` with the
 *   generated master config, key pair, pillar and reactors, and a real salt-minion in each
 *   worker machine (test/helpers/cloudHosts.ts: namespaces with the server's address, the
 *   minion configured from the server's user-data, slurmd started by its highstate).
 * `stop()` stops everything and deletes whatever the cluster left in Nova, returning the count.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, afterEach, before } from "node:test";
import {
    type PillarResources,
    type PillarSecrets,
    renderPublicPillarFiles,
    renderSecretPillarFiles,
} from "../../components/pillar";
import type { ComputeClient } from "../../lib/openstack";
import { saltPemFinger } from "../../lib/saltKey";
import { clusterTag } from "../../lib/tags";
import { buildServiceBundle } from "../../components/serviceBundle";
import {
    type WorkerPoolInputs,
    type WorkerPoolOutputs,
    workerPoolProvider,
} from "../../components/workerPool";
import { poolNodePrefix } from "../../lib/nodeNames";
import { tokenFromFile } from "../../autoscaler/cli";
import { CarbonCache } from "./carbon";
import { CloudHosts } from "./cloudHosts";
import {
    adminSession,
    type AppCredential,
    createAppCredential,
    deleteAppCredential,
    demoClient,
    demoEnv,
    testClusterId,
} from "./osbox";
import { freePort } from "./ports";
import { configFrom, type Highstate, renderHighstateWithPaths } from "./salt";
import { saltVenv } from "./saltCall";
import { serviceCommand } from "./serviceNode";
import { SaltMaster, type WorkerBehaviour } from "./saltMaster";
import { HOST_NETNS, IN_HEAD, SlurmCluster } from "./slurmCluster";
import { waitFor } from "./waitFor";

const ROOT = path.resolve(__dirname, "../..");
let bundle: string | undefined;

/** The built service (once per test process). */
export function serviceBundle(): string {
    bundle ??= buildServiceBundle(path.join(ROOT, "test/.out/service-bundle"));
    return bundle;
}

/** A free TCP port on 127.0.0.1. */
/** Options of a harness. */
export interface HarnessOptions {
    /** Burst nodes (workers.max - workers.min). */
    burst: number;
    /**
     * The static floor (workers.min, default 0), booted as `pulumi up` boots it: by the real
     * WorkerPool provider (components/workerPool.ts) with the demo project's credentials, after
     * the head is configured.
     */
    floor?: number;
    /** Seconds before a launched worker must be ready (also Slurm's ResumeTimeout). */
    launchTimeout?: number;
    /** Seconds idle before Slurm suspends a node. */
    suspendTime?: number;
    /** Worker flavor (default m1.tiny). */
    flavor?: string;
    /** Tuning overrides (seconds). */
    tuning?: Record<string, number>;
    /**
     * false: no worker host is started and Nova is not watched for them (a benchmark of the
     * path to Nova alone, with no listing of its own beside the service's). Default true.
     */
    hosts?: boolean;
    /**
     * Nodes whose host never starts its minion, whose highstate fails (a failing state), or
     * whose highstate does not even render.
     */
    behaviour?: { hang?: string[]; failHighstate?: string[]; renderError?: string[] };
    /**
     * More slurm.conf keys to replace (e.g. the benchmark's baseline with Slurm's default
     * power-save interval). Without them Slurm runs the generated slurm.conf's power-saving
     * settings (SlurmctldParameters included) unchanged.
     */
    slurmOverrides?: Record<string, string>;
    /** Pools beside the default one, as `pulumi config` takes them (`pools[*]`). */
    pools?: Record<string, unknown>[];
    /** Sizes of the pools' flavors (the default pool's flavor is 1 vCPU, 512 MB). */
    flavorSizes?: Record<string, { vcpus: number; ramMb: number }>;
}

/** Job states of a job that has not finished yet (squeue's %T). */
const UNFINISHED_JOB_STATES: ReadonlySet<string> = new Set([
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "REQUEUED",
    "RESIZING",
]);

/** The service's settings file, as the tests read it. */
type HeadSettings = Record<string, unknown>;

/** Where a test head's service finds what a head node has at fixed places. */
interface HostPlaces {
    localPort: number;
    httpPort: number;
    stateDir: string;
    slurmConf: string;
    workerSet: string;
    carbonPort: number;
    tuning?: Record<string, number>;
    /** The master's root_dir: the service reads its keys and job cache there (/etc/salt). */
    masterDir: string;
    launchTimeout: number;
}

/** The service's settings exactly as the head's Salt state writes them, then the host's swaps. */
function hostSettings(head: Highstate, at: HostPlaces): HeadSettings {
    const settings = structuredClone(
        head.states["dynamic-cluster-head-service-file-serialize-settings"]!.args["dataset"],
    ) as HeadSettings;
    Object.assign(settings, {
        listen: {
            local_api: { host: "127.0.0.1", port: at.localPort },
            http: { host: "127.0.0.1", port: at.httpPort },
        },
        layout: {
            ...(settings["layout"] as Record<string, unknown>),
            state_dir: at.stateDir,
            firewall: { worker_set: at.workerSet, enabled: true },
        },
        scheduler_env: { SLURM_CONF: at.slurmConf },
        scheduler_command_prefix: IN_HEAD,
        // `salt` reaches the master's request port on the head's address, in its namespace.
        salt_command_prefix: IN_HEAD,
        graphite: {
            ...(settings["graphite"] as Record<string, unknown>),
            host: "127.0.0.1",
            port: at.carbonPort,
        },
        tuning: {
            reconcile_interval: 2,
            orphan_grace: 30,
            failure_cooldown: 20,
            backoff_base: 5,
            backoff_max: 20,
            breaker_threshold: 3,
            launch_concurrency: 10,
            ...at.tuning,
        },
    });
    Object.assign(settings["salt"] as Record<string, unknown>, {
        pki_dir: path.join(at.masterDir, "etc", "salt", "pki", "master"),
        config_dir: path.join(at.masterDir, "etc", "salt"),
        salt_run: path.join(saltVenv(), "bin", "salt-run"),
        salt: path.join(saltVenv(), "bin", "salt"),
    });
    (settings["workers"] as Record<string, unknown>)["launch_timeout"] = at.launchTimeout;
    return settings;
}

async function ensureKeypair(nova: ComputeClient, name: string): Promise<void> {
    try {
        await nova.session.request("compute", { method: "GET", path: `/os-keypairs/${name}` });
    } catch {
        await nova.session.request("compute", {
            method: "POST",
            path: "/os-keypairs",
            body: { keypair: { name } },
        });
    }
}

/** A running head node. */
export class ServiceHarness {
    process?: ChildProcess;
    private exited?: Promise<unknown>;
    readonly logFile: string;
    starts = 0;

    private constructor(
        readonly dir: string,
        readonly clusterId: string,
        readonly settingsFile: string,
        readonly settings: HeadSettings,
        readonly localUrl: string,
        readonly publicUrl: string,
        readonly slurm: SlurmCluster,
        readonly hosts: CloudHosts,
        /** The real Salt master of the head node. */
        readonly master: SaltMaster,
        /** The real carbon-cache the service writes metrics to. */
        readonly carbon: CarbonCache,
        readonly nova: ComputeClient,
        private readonly cred: AppCredential,
        readonly dashboard: { username: string; password: string },
    ) {
        this.logFile = path.join(dir, "service.log");
    }

    /** Builds and starts the whole head node; on failure nothing it made is left behind. */
    static async start(options: HarnessOptions): Promise<ServiceHarness> {
        const clusterId = testClusterId();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dc-e2e-${clusterId}-`));
        try {
            return await ServiceHarness.startIn(dir, clusterId, options);
        } catch (err) {
            // Each stage below stops what it started before rethrowing; the directory goes last.
            fs.rmSync(dir, { recursive: true, force: true });
            throw err;
        }
    }

    private static async startIn(
        dir: string,
        clusterId: string,
        options: HarnessOptions,
    ): Promise<ServiceHarness> {
        fs.chmodSync(dir, 0o755);
        const nova = demoClient();
        await ensureKeypair(nova, "dc-test-key");
        const cred = await createAppCredential(`dc-test-${clusterId}`);
        const launchTimeout = options.launchTimeout ?? 60;
        const flavor = options.flavor ?? "m1.tiny";

        const masterKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const masterKey = {
            privatePem: masterKeys.privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
            publicPem: masterKeys.publicKey.export({ type: "spki", format: "pem" }).toString(),
        };
        const masterPub = masterKey.publicPem;
        const networkId = await nova.networkId("dc-test-net");
        const resources: PillarResources = {
            clusterId,
            headAddress: "192.0.2.1",
            headPublicAddress: "192.0.2.1",
            clusterCidr: "192.0.2.0/24",
            networkId,
            workerSecurityGroup: "dc-test-sg",
            dataVolumeId: "00000000-0000-4000-8000-000000000000",
            masterFinger: saltPemFinger(masterPub),
            authUrl: demoEnv()["OS_AUTH_URL"]!,
            region: demoEnv()["OS_REGION_NAME"] ?? "RegionOne",
            workerFlavor: { vcpus: 1, ramMb: 512 },
            ...(options.flavorSizes ? { flavorSizes: options.flavorSizes } : {}),
            serviceBundle: "test",
        };
        const secrets: PillarSecrets = {
            applicationCredentialId: cred.id,
            applicationCredentialSecret: cred.secret,
            dashboardPassword: randomBytes(12).toString("base64url"),
            localApiTokens: {
                slurm: randomBytes(24).toString("hex"),
                salt: randomBytes(24).toString("hex"),
                admin: randomBytes(24).toString("hex"),
            },
            tlsPrivateKey: "-----BEGIN EC PRIVATE KEY-----\nunused\n-----END EC PRIVATE KEY-----\n",
            tlsCertificate: "-----BEGIN CERTIFICATE-----\nunused\n-----END CERTIFICATE-----\n",
            mungeKey: randomBytes(128).toString("base64"),
        };
        const config = configFrom({
            keyName: "dc-test-key",
            allowedCidr: "203.0.113.0/24",
            network: "dc-test-net",
            workers: {
                min: options.floor ?? 0,
                max: (options.floor ?? 0) + options.burst,
                flavor,
                image: "tiny",
                idleTimeout: 60,
                launchTimeout: 120,
            },
            ...(options.pools ? { pools: options.pools } : {}),
        });
        // The head's state run reads what the service keeps in its state directory.
        const stateDir = path.join(dir, "state");
        const renderHead = (max: number, min: number): Highstate => {
            const rendered = renderHighstateWithPaths(
                { ...config, workers: { ...config.workers, max, min } },
                "head",
                { service_state_dir: stateDir },
                resources,
                secrets,
            );
            if (rendered.errors.length) throw new Error(rendered.errors.join("\n"));
            return rendered;
        };
        let head: Highstate;
        try {
            head = renderHead(config.workers.max, config.workers.min);
        } catch (err) {
            await deleteAppCredential(cred).catch(() => undefined);
            throw err;
        }

        const [localPort, httpPort] = [await freePort(), await freePort()];
        const slurmDir = path.join(dir, "slurm");
        let carbon: CarbonCache;
        try {
            carbon = await CarbonCache.start(path.join(dir, "carbon"), head.files);
        } catch (err) {
            await deleteAppCredential(cred).catch(() => undefined);
            throw err;
        }
        const masterDir = path.join(dir, "salt-master");
        // The settings file exactly as Salt writes it, then the host-specific swaps.
        const settingsOf = (rendered: Highstate): HeadSettings =>
            hostSettings(rendered, {
                localPort,
                httpPort,
                stateDir,
                slurmConf: path.join(slurmDir, "etc", "slurm.conf"),
                workerSet: `dct${clusterId}`,
                carbonPort: carbon.port,
                tuning: options.tuning,
                masterDir,
                launchTimeout,
            });
        const settings = settingsOf(head);
        const settingsFile = path.join(dir, "service.json");
        fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2), { mode: 0o600 });
        // The callers' token header files as the head's states write them (the reactors' one is
        // placed in the master's /etc by saltMaster.ts): Slurm's programs read theirs, the
        // tests' admin calls (api()) and `dynamic-cluster` commands read root's.
        const slurmHeader = path.join(dir, "slurm-local-api.header");
        for (const [file, mode] of [
            ["slurm-local-api.header", 0o640],
            ["admin-local-api.header", 0o600],
        ] as const) {
            fs.writeFileSync(
                path.join(dir, file),
                head.files[`/etc/dynamic-cluster/${file}`]!.content,
                { mode },
            );
        }

        const cli = path.join(serviceBundle(), "autoscaler", "cli.js");
        let slurm: SlurmCluster;
        try {
            slurm = await SlurmCluster.start({
                dir: slurmDir,
                head,
                mungeKeyBase64: secrets.mungeKey,
                overrides: {
                    SuspendTime: String(options.suspendTime ?? 15),
                    SuspendTimeout: "10",
                    ResumeTimeout: String(launchTimeout),
                    ...options.slurmOverrides,
                },
                programEdits: [
                    // What the programs print goes to a log the tests can read.
                    [
                        "set -euo pipefail\n",
                        `set -euo pipefail\nexec 2>>'${path.join(dir, "power-programs.log")}'\n`,
                    ],
                    // The service listens in the machine's own network namespace.
                    [
                        "exec '/opt/dynamic-cluster/bin/dynamic-cluster'",
                        `exec nsenter --net=/run/netns/${HOST_NETNS} /usr/bin/node '${cli}'`,
                    ],
                    ["'/etc/dynamic-cluster/slurm-local-api.header'", `'${slurmHeader}'`],
                    ["'http://127.0.0.1:8081'", `'http://127.0.0.1:${localPort}'`],
                ],
            });
        } catch (err) {
            await deleteAppCredential(cred).catch(() => undefined);
            await carbon.stop();
            throw err;
        }
        const behaviour: Record<string, WorkerBehaviour> = {};
        for (const node of options.behaviour?.failHighstate ?? []) behaviour[node] = "fail";
        for (const node of options.behaviour?.renderError ?? []) behaviour[node] = "render-error";
        let master: SaltMaster;
        try {
            master = await SaltMaster.start({
                dir: masterDir,
                head,
                masterKey,
                pillar: {
                    ...renderPublicPillarFiles(config, resources),
                    ...renderSecretPillarFiles(secrets),
                },
                servicePort: localPort,
                behaviour,
            });
        } catch (err) {
            await slurm.down().catch(() => undefined);
            await deleteAppCredential(cred).catch(() => undefined);
            await carbon.stop();
            throw err;
        }
        const hosts = new CloudHosts({
            admin: adminSession(),
            clusterTag: clusterTag(clusterId),
            slurm,
            master,
            hostsDir: path.join(dir, "h"),
            hang: new Set(options.behaviour?.hang ?? []),
            venv: saltVenv(),
        });
        const harness = new ServiceHarness(
            dir,
            clusterId,
            settingsFile,
            settings,
            `http://127.0.0.1:${localPort}`,
            `http://127.0.0.1:${httpPort}`,
            slurm,
            hosts,
            master,
            carbon,
            nova,
            cred,
            {
                username: (settings["dashboard"] as { username: string }).username,
                password: secrets.dashboardPassword,
            },
        );
        harness.renderHead = renderHead;
        harness.settingsOf = settingsOf;
        harness.policy = { max: config.workers.max, min: config.workers.min };
        try {
            await harness.startService();
        } catch (err) {
            await harness.stop().catch(() => undefined);
            throw err;
        }
        if (options.hosts !== false) hosts.start();
        if (config.workers.min > 0) {
            const inputs: WorkerPoolInputs = {
                count: config.workers.min,
                flavor,
                image: "tiny",
                network: networkId,
                keyName: "dc-test-key",
                securityGroups: [resources.workerSecurityGroup],
                availabilityZone: "",
                namePrefix: poolNodePrefix(config.workers.namePrefix, "static"),
                clusterId,
                masterAddress: resources.headAddress,
                masterFinger: resources.masterFinger,
                userDataTemplate: fs.readFileSync(
                    path.join(ROOT, "cloud-init/worker.yaml"),
                    "utf8",
                ),
                bootTimeoutSeconds: 300,
                drainTimeoutSeconds: 600,
                maxConcurrency: 4,
            };
            try {
                const created = await workerPoolProvider.create!(
                    inputs as unknown as Record<string, unknown>,
                );
                harness.floorPool = { id: created.id, outs: created.outs as WorkerPoolOutputs };
            } catch (err) {
                await harness.stop().catch(() => undefined);
                throw err;
            }
        }
        return harness;
    }

    /** The WorkerPool of the floor (set by start when options.floor > 0). */
    private floorPool?: { id: string; outs: WorkerPoolOutputs };
    /** The worker policy the head was last configured with. */
    private policy = { max: 0, min: 0 };

    /** Renders the head's highstate for another workers.max and workers.min (set by start). */
    private renderHead?: (max: number, min: number) => Highstate;
    /** The host's settings from a rendered head (set by start). */
    private settingsOf?: (head: Highstate) => HeadSettings;

    /**
     * What `pulumi config set --path workers.max N` (and `workers.min M`) then `pulumi up` does:
     * on the head node, the state run renders the tree again (reading what the service keeps in
     * its state directory), writes slurm.conf and restarts slurmctld when the file changed (the
     * state's `watch`), writes the service's settings and restarts the service when they
     * changed; then (the pool is ordered after provisioning) the real WorkerPool provider
     * updates the floor to M.
     */
    async reconfigure(
        max: number,
        min = this.policy.min,
    ): Promise<{ slurmRestarted: boolean; serviceRestarted: boolean }> {
        this.policy = { max, min };
        const head = this.renderHead!(max, min);
        const slurmRestarted = await this.slurm.applyHead(head);
        const settings = JSON.stringify(this.settingsOf!(head), null, 2);
        const serviceRestarted = settings !== fs.readFileSync(this.settingsFile, "utf8");
        if (serviceRestarted) {
            fs.writeFileSync(this.settingsFile, settings, { mode: 0o600 });
            await this.killService("SIGTERM");
            await this.startService();
        }
        if (this.floorPool && this.floorPool.outs.count !== min) {
            const updated = await workerPoolProvider.update!(
                this.floorPool.id,
                this.floorPool.outs,
                { ...this.floorPool.outs, count: min } as unknown as Record<string, unknown>,
            );
            this.floorPool.outs = updated.outs as WorkerPoolOutputs;
        }
        return { slurmRestarted, serviceRestarted };
    }

    /**
     * What `pulumi up` does to the floor when its boot settings change (a new image, flavor, key,
     * user-data, ...): the real WorkerPool provider's update with `changes` (set by start when
     * options.floor > 0). Resolves with the pool's outputs; rejects like the provider.
     */
    async updateFloor(changes: Partial<WorkerPoolInputs>): Promise<WorkerPoolOutputs> {
        const pool = this.floorPool;
        if (!pool) throw new Error("this harness has no floor (options.floor)");
        const updated = await workerPoolProvider.update!(pool.id, pool.outs, {
            ...pool.outs,
            ...changes,
        } as unknown as Record<string, unknown>);
        pool.outs = updated.outs as WorkerPoolOutputs;
        return pool.outs;
    }

    /** Starts (or restarts) the service process and waits until it has observed the cluster. */
    async startService(): Promise<void> {
        const out = fs.openSync(this.logFile, "a");
        this.starts++;
        const [node, args] = serviceCommand(serviceBundle(), this.settingsFile);
        const child = spawn(node, args, { stdio: ["ignore", out, out] });
        fs.closeSync(out);
        this.process = child;
        this.exited = new Promise((resolve) => child.once("exit", resolve));
        try {
            await waitFor(
                "the service to answer and observe the cluster",
                async () => {
                    if (child.exitCode !== null) {
                        throw Object.assign(new Error(`service exited ${child.exitCode}`), {
                            fatal: true,
                        });
                    }
                    const status = (await this.api("GET", "/status")) as {
                        rounds: number;
                        errors: Record<string, { message: string }>;
                    };
                    if (status.rounds > 0) return true;
                    const errors = Object.entries(status.errors);
                    if (errors.length === 0) return undefined;
                    throw new Error(
                        `no round completed; ${errors.map(([k, e]) => `${k}: ${e.message}`).join("; ")}`,
                    );
                },
                // A first round lists Nova, Slurm and the keys once; one stuck call can take up
                // to the OpenStack timeout (60 s), which the service survives by retrying.
                { timeoutMs: 150_000, intervalMs: 200 },
            );
        } catch (err) {
            // CI keeps no files: the error itself carries what the service said.
            (err as Error).message += `\n--- last lines of ${this.logFile}:\n${this.logTail(30)}`;
            throw err;
        }
    }

    /** The last `lines` lines of the service's log. */
    logTail(lines: number): string {
        return this.log().trimEnd().split("\n").slice(-lines).join("\n");
    }

    /** Kills the service (SIGKILL by default) and waits for it to be gone. */
    async killService(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
        this.process?.kill(signal);
        await this.exited;
    }

    /** Root's header file of the local API (the reports and admin actions), as Salt writes it. */
    get adminHeader(): string {
        return path.join(this.dir, "admin-local-api.header");
    }

    /** Calls the local API's reports and admin actions with root's token (its header file). */
    async api(method: string, apiPath: string, body?: unknown): Promise<unknown> {
        const token = tokenFromFile(fs.readFileSync(this.adminHeader, "utf8"));
        const response = await fetch(`${this.localUrl}/local/v1${apiPath}`, {
            method,
            headers: {
                Authorization: `Bearer ${token}`,
                ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
            },
            body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        const text = await response.text();
        if (!response.ok)
            throw Object.assign(new Error(`${method} ${apiPath}: ${response.status} ${text}`), {
                status: response.status,
            });
        return JSON.parse(text);
    }

    /** Slurm's restart count of a job (0: never requeued). */
    async restartsOf(job: string): Promise<number> {
        const text = await this.slurm.run("scontrol", "-o", "show", "job", job);
        const match = /\bRestarts=(\d+)/.exec(text);
        assert.ok(match, `scontrol shows no Restarts for job ${job}: ${text}`);
        return Number(match[1]);
    }

    /** Submits a batch job (as root, in the head's network namespace); returns its ID. */
    async submit(...args: string[]): Promise<string> {
        const out = await this.slurm.run("sbatch", "--parsable", "--output=/dev/null", ...args);
        return out.trim().split(";")[0]!;
    }

    /** Jobs by ID with their state and nodes (`squeue` keeps finished jobs for MinJobAge). */
    async jobs(): Promise<Map<string, { state: string; nodes: string; reason: string }>> {
        const out = await this.slurm.run("squeue", "-h", "-t", "all", "-o", "%i|%T|%N|%r");
        const jobs = new Map<string, { state: string; nodes: string; reason: string }>();
        for (const line of out.trim().split("\n").filter(Boolean)) {
            const [id, state, nodes, reason] = line.split("|") as [string, string, string, string];
            jobs.set(id, { state, nodes, reason });
            // A requeued job runs again under its ID: only its last final state is kept.
            if (UNFINISHED_JOB_STATES.has(state)) this.finishedJobs.delete(id);
            else this.finishedJobs.set(id, { state, nodes, reason });
        }
        // Slurm forgets a finished job after MinJobAge (300 s); on a loaded machine a test may
        // look again only later, so a job seen finished keeps the state it finished with.
        for (const [id, job] of this.finishedJobs) if (!jobs.has(id)) jobs.set(id, job);
        return jobs;
    }

    /** Jobs seen in a final state, by ID (see {@link jobs}). */
    private readonly finishedJobs = new Map<
        string,
        { state: string; nodes: string; reason: string }
    >();

    /**
     * Waits until every job in `ids` has COMPLETED; fails at once if one ends otherwise (a job
     * killed or lost is a defect). Returns the jobs.
     */
    async waitForJobs(
        ids: string[],
        timeoutMs = 300_000,
    ): Promise<Map<string, { state: string; nodes: string; reason: string }>> {
        const waiting = UNFINISHED_JOB_STATES;
        return waitFor(
            `jobs ${ids.join(",")} to complete`,
            async () => {
                const jobs = await this.jobs();
                for (const id of ids) {
                    const state = jobs.get(id)?.state;
                    if (state === undefined)
                        throw new Error(`job ${id} is unknown to Slurm (lost)`);
                    if (state !== "COMPLETED" && !waiting.has(state)) {
                        throw Object.assign(new Error(`job ${id} ended ${state}`), { fatal: true });
                    }
                }
                return ids.every((id) => jobs.get(id)!.state === "COMPLETED") ? jobs : undefined;
            },
            { timeoutMs, intervalMs: 1000 },
        );
    }

    /** Waits until `job` runs; returns its nodes. */
    async waitForRunning(job: string, timeoutMs = 120_000): Promise<string> {
        return waitFor(
            `job ${job} to run`,
            async () => {
                const j = (await this.jobs()).get(job);
                return j?.state === "RUNNING" ? j.nodes : undefined;
            },
            { timeoutMs, intervalMs: 500 },
        );
    }

    /** Waits until Nova lists no server of this cluster. */
    async waitForNoServers(timeoutMs = 120_000): Promise<void> {
        await waitFor(
            "every server of the cluster to be deleted",
            async () => ((await this.servers()).length === 0 ? true : undefined),
            { timeoutMs, intervalMs: 1000 },
        );
    }

    /** Servers of this cluster in Nova now. */
    async servers() {
        return this.nova.listServersByTags([clusterTag(this.clusterId)]);
    }

    /**
     * Stops everything (the floor deleted by its WorkerPool, as `pulumi destroy` does); deletes
     * what else the cluster left in Nova and returns how many there were.
     * The harness directory is removed when nothing was left (see DC_KEEP_TEST_DIRS).
     */
    async stop(): Promise<number> {
        // The floor goes as `pulumi destroy` removes it: the WorkerPool deletes its servers.
        if (this.floorPool) {
            await workerPoolProvider.delete!(this.floorPool.id, this.floorPool.outs).catch(
                () => undefined,
            );
        }
        await this.killService("SIGTERM").catch(() => undefined);
        await this.hosts.stop();
        await this.master.stop().catch(() => undefined);
        await this.slurm.down().catch(() => undefined);
        await this.carbon.pause();
        const left = await this.servers();
        await Promise.all(left.map((s) => this.nova.deleteServer(s.id)));
        if (left.length) {
            await this.nova.waitForDeleted(
                left.map((s) => s.id),
                [clusterTag(this.clusterId)],
                Date.now() + 120_000,
            );
        }
        await deleteAppCredential(this.cred).catch(() => undefined);
        const set = (this.settings["layout"] as { firewall: { worker_set: string } }).firewall
            .worker_set;
        await new Promise((resolve) =>
            spawn("ipset", ["-exist", "destroy", set]).once("exit", resolve),
        );
        // A clean run leaves nothing; DC_KEEP_TEST_DIRS=1 keeps logs and state for reading.
        if (left.length === 0 && !process.env["DC_KEEP_TEST_DIRS"])
            fs.rmSync(this.dir, { recursive: true, force: true });
        return left.length;
    }

    /** The service's log (JSON lines). */
    log(): string {
        return fs.readFileSync(this.logFile, "utf8");
    }
}

/**
 * A harness per test: the returned `start` builds one for the running test, and the harness is
 * stopped after it (afterEach) with the check that no server was left behind, whether the test
 * passed or not.
 */
export function harnessPerTest(): (options: HarnessOptions) => Promise<ServiceHarness> {
    let current: ServiceHarness | undefined;
    afterEach(async () => {
        const harness = current;
        current = undefined;
        if (!harness) return;
        const leaked = await harness.stop();
        assert.equal(leaked, 0, `servers left behind (log: ${harness.logFile})`);
    });
    return async (options) => {
        current = await ServiceHarness.start(options);
        return current;
    };
}

/**
 * One harness for the enclosing `describe`: started in `before`, stopped in `after` with the
 * check that no server was left behind. Returns an accessor for the suite's tests.
 */
export function harnessForSuite(options: HarnessOptions): () => ServiceHarness {
    let harness: ServiceHarness | undefined;
    before(async () => {
        harness = await ServiceHarness.start(options);
    });
    after(async () => {
        const leaked = await harness?.stop();
        assert.equal(leaked ?? 0, 0, "servers left behind");
    });
    return () => {
        if (!harness) throw new Error("the suite's service harness did not start");
        return harness;
    };
}
