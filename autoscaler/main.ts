/**
 * Entry point of the Dynamic Cluster service on the head node (systemd unit
 * `dynamic-cluster.service`): `node main.js --settings /etc/dynamic-cluster/service.json`.
 * Builds the service from its settings, starts the reconcile loop and both APIs, and stops
 * cleanly on SIGTERM/SIGINT. It keeps no state it cannot rebuild, so systemd restarting it after
 * a crash is safe.
 */
import { readFileSync } from "node:fs";
import pino from "pino";
import { type CloudTls, ComputeClient, readCaBundle, Session } from "../lib/openstack";
import { buildLocalApi } from "./api/local";
import { buildPublicApi } from "./api/public";
import { WorkerCloud } from "./cloud";
import { CarbonClient, metricComponent } from "./infra/carbon";
import { commandRunner } from "./infra/exec";
import { IpSet } from "./infra/ipset";
import { nodeName } from "../lib/nodeNames";
import { NodesInUseFiles } from "./nodesInUse";
import { SaltJobs } from "./salt/jobs";
import { SaltKeyStore } from "./salt/keys";
import { SlurmAdapter } from "./scheduler/slurm";
import type { SchedulerAdapter } from "./scheduler/types";
import { DynamicClusterService } from "./service";
import { loadSettings, type ServiceSettings } from "./settings";
import { StateStore } from "./store";

/** Everything a running service holds, for a clean stop. */
export interface RunningService {
    service: DynamicClusterService;
    stop(): Promise<void>;
    localUrl: string;
    publicUrl: string;
}

function schedulerFor(settings: ServiceSettings): SchedulerAdapter {
    const run = commandRunner(settings.scheduler_env, 30_000, settings.scheduler_command_prefix);
    if (settings.scheduler === "slurm") return new SlurmAdapter(run);
    throw new Error(
        'scheduler "torque" is not supported by this version of the service yet (see the Torque issue); ' +
            "use `pulumi config set scheduler slurm`.",
    );
}

/**
 * The TLS trust of the service's OpenStack client: the CA bundle Salt wrote from the pillar
 * (`layout.openstack_cacert_file`), read and checked now so a bad file stops the start with its name.
 */
export function serviceTls(settings: ServiceSettings, logger: pino.Logger): CloudTls {
    const file = settings.layout.openstack_cacert_file;
    const { insecure } = settings.openstack;
    const tls: CloudTls = { insecure };
    if (file) {
        const bundle = readCaBundle(file, "layout.openstack_cacert_file of the service's settings");
        tls.caPem = bundle.pem;
        tls.caSource = `${file} (written by Salt from the CA bundle the Pulumi program used)`;
    }
    if (insecure) {
        tls.insecureSource = "openstack.insecure of the service's settings";
        logger.warn(
            "TLS certificates of the OpenStack APIs are not checked (openstack.insecure, from " +
                "the workstation's verify: false / OS_INSECURE); set the cloud's CA instead " +
                "(cacert in clouds.yaml or OS_CACERT) and run `pulumi up`",
        );
    }
    return tls;
}

/** Builds and starts the service from validated settings. */
export async function startService(
    settings: ServiceSettings,
    logger = pino({ name: "dynamic-cluster" }),
): Promise<RunningService> {
    const session = new Session(
        {
            authUrl: settings.openstack.auth_url.replace(/\/+$/, "").replace(/(\/v3)?$/, "/v3"),
            region: settings.openstack.region || undefined,
            interface: settings.openstack.interface,
            auth: {
                kind: "application-credential",
                id: settings.secrets.openstack_application_credential.id,
                secret: settings.secrets.openstack_application_credential.secret,
            },
            tls: serviceTls(settings, logger),
        },
        {
            attempts: 3,
            baseDelayMs: 500,
            maxDelayMs: 4000,
            timeoutMs: settings.tuning.openstack_timeout * 1000,
        },
    );
    const template = readFileSync(settings.worker_user_data!, "utf8");
    const cloud = new WorkerCloud(new ComputeClient(session), settings, template);
    // Fail at start, not at the first launch, when the template cannot carry a worker's values.
    const sampleNode = nodeName(settings.workers.burst_prefix, 1);
    cloud.userData(sampleNode, `${sampleNode}-${"a".repeat(26)}`);
    const metrics = new CarbonClient(
        settings.graphite.host,
        settings.graphite.port,
        `${settings.graphite.prefix}.${metricComponent(settings.cluster.name)}`,
    );
    const service = new DynamicClusterService({
        settings,
        cloud,
        scheduler: schedulerFor(settings),
        keys: new SaltKeyStore(settings.salt.pki_dir),
        store: new StateStore(settings.layout.state_dir),
        nodesInUse: new NodesInUseFiles(settings.layout.state_dir),
        log: logger,
        ipset: settings.layout.firewall.enabled
            ? new IpSet(settings.layout.firewall.worker_set, commandRunner())
            : undefined,
        metrics,
        jobs: new SaltJobs({
            run: commandRunner(),
            saltRun: settings.salt.salt_run,
            publish: commandRunner({}, 60_000, settings.salt_command_prefix),
            salt: settings.salt.salt,
            configDir: settings.salt.config_dir,
        }),
    });
    const local = buildLocalApi(
        service,
        settings.secrets.local_api_token_sha256,
        logger.child({ api: "local" }),
    );
    const publicApi = buildPublicApi(
        service,
        { username: settings.dashboard.username, password: settings.secrets.dashboard_password },
        logger.child({ api: "public" }),
    );
    const localUrl = await local.listen({
        host: settings.listen.local_api.host,
        port: settings.listen.local_api.port,
    });
    const publicUrl = await publicApi.listen({
        host: settings.listen.http.host,
        port: settings.listen.http.port,
    });
    service.start();
    logger.info(
        { localUrl, publicUrl, cluster: settings.cluster },
        "Dynamic Cluster service started",
    );
    return {
        service,
        localUrl,
        publicUrl,
        async stop() {
            await Promise.all([local.close(), publicApi.close()]);
            await service.stop();
            await metrics.close();
        },
    };
}

function settingsPath(argv: string[]): string {
    const i = argv.indexOf("--settings");
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : "/etc/dynamic-cluster/service.json";
}

async function main(): Promise<void> {
    const logger = pino({ name: "dynamic-cluster" });
    let running: RunningService;
    try {
        running = await startService(loadSettings(settingsPath(process.argv)), logger);
    } catch (err) {
        logger.fatal({ err: (err as Error).message }, "cannot start");
        process.exitCode = 1;
        return;
    }
    let stopping = false;
    const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, "stopping");
        running.stop().then(
            () => process.exit(0),
            (err) => {
                logger.error({ err: (err as Error).message }, "stop failed");
                process.exit(1);
            },
        );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
}

if (require.main === module) void main();
