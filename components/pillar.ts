/**
 * The Salt pillar the program generates from `pulumi config` and the created resources.
 *
 * Pure: plain values in, pillar files (YAML text) out. The provisioning step writes them to the
 * head node's `/srv/pillar` (root-only); `salt/pillar.example` documents every key and the tests
 * render every Salt file against the output of {@link renderPillarFiles}. Three files, so each
 * secret reaches only the minions that need it:
 * - `dynamic_cluster.sls` (all minions): non-secret settings, among them the program's part of
 *   the head-node service's settings (`service:settings`, typed by lib/serviceSettings.ts);
 * - `dynamic_cluster_cluster_secrets.sls` (all minions): the munge key workers need;
 * - `dynamic_cluster_head_secrets.sls` (head only): the local API's tokens (one per caller),
 *   the proxy's TLS key, and the secret part of the service's settings (`service_settings`: the
 *   cloud credential, the dashboard password, the tokens' digests).
 */
import { createHash } from "node:crypto";
import { poolNodePrefix } from "../lib/nodeNames";
import type { ProgramServiceSettings, SecretServiceSettings } from "../lib/serviceSettings";
import * as ipaddr from "ipaddr.js";
import * as yaml from "js-yaml";
import { type ClusterConfig, type WorkerPoolConfig, workerPools } from "./config";
import { HEAD_LOCAL_PORTS, NFS_PORT, SALT_PORTS, SLURM_PORTS, TORQUE_PORTS } from "./ports";

/** Values known only once resources exist (resolved Outputs). */
export interface PillarResources {
    /** Random cluster ID used in worker tags (`dc-cluster-<id>`). */
    clusterId: string;
    /** Head node's address on the cluster network. */
    headAddress: string;
    /** Address users reach the head node at (floating IP, or the fixed IP). */
    headPublicAddress: string;
    /** CIDR of the cluster subnet. */
    clusterCidr: string;
    /** Network ID workers are attached to. */
    networkId: string;
    /** Security group workers are booted with: its ID (Nova also takes a name, which two stacks
     * with the same cluster name would share). */
    workerSecurityGroup: string;
    /** Cinder volume ID of `/data`. */
    dataVolumeId: string;
    /** Salt `master_finger` of the generated master key. */
    masterFinger: string;
    /** Keystone URL the head-node service authenticates against. */
    authUrl: string;
    /** Region of the cloud, or "" for the only one. */
    region: string;
    /**
     * PEM of the private CA bundle the cloud's certificates are checked against (from
     * clouds.yaml's `cacert`, OS_CACERT or `openstack:cacertFile`); absent or "" for the system's
     * CA store. Not secret: the head node writes it to `/etc/dynamic-cluster/openstack-ca.pem`.
     */
    openstackCaPem?: string;
    /** The cloud's certificates are not checked (`verify: false`, OS_INSECURE); absent = false. */
    openstackInsecure?: boolean;
    /** The default pool's flavor (`workers.flavor`) as Nova describes it. */
    workerFlavor: FlavorSize;
    /**
     * Every pool flavor (first choices and fallbacks) as Nova describes it, by name; a flavor
     * missing here counts as {@link workerFlavor}.
     */
    flavorSizes?: Readonly<Record<string, FlavorSize>>;
    /** Content hash of the service bundle (a new one restarts the service). */
    serviceBundle: string;
}

/** A flavor's size, as slurm.conf's node lines need it. */
export interface FlavorSize {
    vcpus: number;
    ramMb: number;
}

/** Secrets, resolved; they only ever go to root-only files on the head node. */
export interface PillarSecrets {
    /** Application credential ID of the head-node service. */
    applicationCredentialId: string;
    /** Application credential secret. */
    applicationCredentialSecret: string;
    /** Dashboard password. */
    dashboardPassword: string;
    /**
     * Tokens of the service's local API, one per caller, each opening only that caller's routes:
     * Slurm's power-saving programs, the Salt reactors, root's `dynamic-cluster` command.
     */
    localApiTokens: { slurm: string; salt: string; admin: string };
    /** TLS private key (PEM) of the reverse proxy. */
    tlsPrivateKey: string;
    /** TLS certificate (PEM) of the reverse proxy. */
    tlsCertificate: string;
    /** Munge key, base64 of 128 random bytes. */
    mungeKey: string;
}

/** Mount point of the shared data volume. */
export const DATA_MOUNT_POINT = "/data";

/** Salt minion ID of the head node (it runs `salt-call --local` and is the master). */
export function headMinionId(config: ClusterConfig): string {
    return config.headNode.name;
}

/** Node names of the Pulumi-owned floor: `<prefix>-st-1` .. `<prefix>-st-<min>`. */
export function staticNodePrefix(config: ClusterConfig): string {
    return poolNodePrefix(config.workers.namePrefix, "static");
}

/** Node names of the service-owned burst pool: `<prefix>-dy-1` .. `<prefix>-dy-<max-min>`. */
export function burstNodePrefix(config: ClusterConfig): string {
    return poolNodePrefix(config.workers.namePrefix, "burst");
}

/**
 * The node size slurm.conf declares for a pool: the smallest of its flavors (first choice and
 * fallbacks) in CPUs and in memory, so a node booted as any of them registers with at least
 * what Slurm expects (a node reporting less is drained; one reporting more is fine).
 */
export function poolNodeSize(pool: WorkerPoolConfig, res: PillarResources): FlavorSize {
    const sizes = [pool.flavor, ...pool.fallbackFlavors].map(
        (flavor) => res.flavorSizes?.[flavor] ?? res.workerFlavor,
    );
    return {
        vcpus: Math.min(...sizes.map((size) => size.vcpus)),
        ramMb: Math.min(...sizes.map((size) => size.ramMb)),
    };
}

/** Every pool as the head's slurm.conf and gres.conf declare it (pillar `pools`). */
export function buildSlurmPools(config: ClusterConfig, res: PillarResources): SlurmPoolPillar[] {
    return workerPools(config).map((pool) => {
        const size = poolNodeSize(pool, res);
        return {
            name: pool.name,
            static_prefix: poolNodePrefix(pool.name, "static"),
            static_count: pool.min,
            burst_prefix: poolNodePrefix(pool.name, "burst"),
            burst_count: pool.max - pool.min,
            cpus: size.vcpus,
            real_memory_mb: slurmRealMemoryMb(size.ramMb),
            features: pool.features,
            gres: pool.gres ?? "",
            gres_file: pool.gresFile ?? "",
            partition: pool.partition,
            idle_timeout: pool.idleTimeout,
            min_idle: pool.minIdle,
        };
    });
}

/** One pool in the pillar's `pools` list (salt/dynamic_cluster/head/slurm.sls). */
export interface SlurmPoolPillar {
    name: string;
    static_prefix: string;
    static_count: number;
    burst_prefix: string;
    burst_count: number;
    cpus: number;
    real_memory_mb: number;
    features: string[];
    /** `name[:type]:count`, or "" for none. */
    gres: string;
    /** gres.conf `File=`, or "" (then `Count=`). */
    gres_file: string;
    partition: string;
    idle_timeout: number;
    /** Idle burst nodes Slurm keeps powered (SuspendExcNodes `<nodes>:N`). */
    min_idle: number;
}

/**
 * Linux device path of a Cinder volume attached with virtio: udev names it after the first 20
 * characters of the volume ID, independent of attach order (unlike /dev/vdb).
 */
export function virtioDevicePath(volumeId: string): string {
    return `/dev/disk/by-id/virtio-${volumeId.slice(0, 20)}`;
}

/**
 * Memory Slurm may schedule on a worker, in MiB: 92 % of the flavor's RAM. The guest kernel
 * keeps some of the RAM for itself, and a node whose RealMemory exceeds what slurmd finds is
 * drained with "Low RealMemory", so the figure must stay below MemTotal.
 */
export function slurmRealMemoryMb(flavorRamMb: number): number {
    return Math.max(1, Math.floor(flavorRamMb * 0.92));
}

/** The users' networks by address family, as the pillar carries them (`network.*`). */
export interface UsersCidrsByFamily {
    /** IPv4 ranges: SSH and HTTPS in the head's iptables rules. */
    users_cidr_v4: string[];
    /** IPv6 ranges: SSH and HTTPS in the head's ip6tables rules. */
    users_cidr_v6: string[];
}

/**
 * Splits the users' networks (validated CIDRs) by address family, in order. The one place that
 * does it: the Salt templates only loop over the two lists, iptables.rules.jinja over the IPv4
 * one and ip6tables.rules.jinja over the IPv6 one, so a range never reaches the other family's
 * rules (an IPv6 range in an iptables file is refused: "invalid mask").
 */
export function usersCidrsByFamily(cidrs: readonly string[]): UsersCidrsByFamily {
    const split: UsersCidrsByFamily = { users_cidr_v4: [], users_cidr_v6: [] };
    for (const cidr of cidrs) {
        const family = ipaddr.parseCIDR(cidr)[0].kind();
        (family === "ipv4" ? split.users_cidr_v4 : split.users_cidr_v6).push(cidr);
    }
    return split;
}

/** The non-secret pillar, root key `dynamic_cluster`. */
export function buildPillar(config: ClusterConfig, res: PillarResources): Record<string, unknown> {
    // The service's settings carry the same cluster, head and worker facts: the Salt states'
    // sections are built from them, with what only the states need added.
    const serviceSettings = buildServiceSettings(config, res);
    const { static_prefix, burst_prefix, ...workerPolicy } = serviceSettings.workers;
    return {
        dynamic_cluster: {
            cluster: serviceSettings.cluster,
            scheduler: {
                kind: config.scheduler,
                slurm: {
                    cluster_name: config.clusterName,
                    partition: config.workers.partition,
                    slurmctld_port: SLURM_PORTS.slurmctld,
                    slurmd_port: SLURM_PORTS.slurmd,
                    srun_port_range: [SLURM_PORTS.srunRange.from, SLURM_PORTS.srunRange.to],
                },
                torque: {
                    server_port: TORQUE_PORTS.server,
                    mom_ports: [TORQUE_PORTS.momFrom, TORQUE_PORTS.momTo],
                },
            },
            head: serviceSettings.head,
            network: {
                cluster_cidr: res.clusterCidr,
                ...usersCidrsByFamily(config.allowedCidrs),
                network_id: res.networkId,
                worker_security_group: res.workerSecurityGroup,
                salt_ports: [SALT_PORTS.from, SALT_PORTS.to],
                nfs_port: NFS_PORT.from,
            },
            data: {
                volume_id: res.dataVolumeId,
                device: virtioDevicePath(res.dataVolumeId),
                mount_point: DATA_MOUNT_POINT,
            },
            workers: {
                ...workerPolicy,
                // slurm.conf's node lines: size from the flavor, each pool's prefix and count.
                cpus: res.workerFlavor.vcpus,
                real_memory_mb: slurmRealMemoryMb(res.workerFlavor.ramMb),
                static_prefix,
                static_count: config.workers.min,
                burst_prefix,
                burst_count: config.workers.max - config.workers.min,
            },
            pools: buildSlurmPools(config, res),
            users: config.users.map((u) => ({ name: u.name, uid: u.uid, ssh_keys: u.sshKeys })),
            salt: serviceSettings.salt,
            service: {
                local_api_port: HEAD_LOCAL_PORTS.serviceLocalApi,
                http_port: HEAD_LOCAL_PORTS.serviceHttp,
                bundle: res.serviceBundle,
                settings: serviceSettings,
            },
            dashboard: { username: config.dashboard.username },
            graphite: {
                carbon_port: HEAD_LOCAL_PORTS.carbonPlaintext,
                cache_query_port: HEAD_LOCAL_PORTS.carbonCacheQuery,
                web_port: HEAD_LOCAL_PORTS.graphiteWeb,
            },
            openstack: {
                auth_url: res.authUrl,
                region: res.region,
                interface: config.serviceCloud.interface,
                ca_pem: res.openstackCaPem ?? "",
                insecure: res.openstackInsecure ?? false,
            },
        },
    };
}

/** The secrets every minion may see (root key `dynamic_cluster_secrets`). */
export function buildClusterSecretsPillar(secrets: PillarSecrets): Record<string, unknown> {
    return { dynamic_cluster_cluster_secrets: { munge_key: secrets.mungeKey } };
}

/** The secrets only the head node sees (root key `dynamic_cluster_head_secrets`). */
export function buildHeadSecretsPillar(secrets: PillarSecrets): Record<string, unknown> {
    return {
        dynamic_cluster_head_secrets: {
            local_api_tokens: {
                slurm: secrets.localApiTokens.slurm,
                salt: secrets.localApiTokens.salt,
                admin: secrets.localApiTokens.admin,
            },
            tls: { key: secrets.tlsPrivateKey, certificate: secrets.tlsCertificate },
            service_settings: buildSecretServiceSettings(secrets),
        },
    };
}

/**
 * The program's part of the head-node service's settings (pillar
 * `dynamic_cluster:service:settings`): Salt writes it into `/etc/dynamic-cluster/service.json`
 * as it is, and the service validates it at start against the same schema.
 */
export function buildServiceSettings(
    config: ClusterConfig,
    res: PillarResources,
): ProgramServiceSettings {
    return {
        cluster: { name: config.clusterName, id: res.clusterId },
        scheduler: config.scheduler,
        head: {
            name: config.headNode.name,
            minion_id: headMinionId(config),
            address: res.headAddress,
            public_address: res.headPublicAddress,
        },
        network: {
            network_id: res.networkId,
            worker_security_group: res.workerSecurityGroup,
            cluster_cidr: res.clusterCidr,
        },
        workers: {
            min: config.workers.min,
            max: config.workers.max,
            flavor: config.workers.flavor,
            image: config.workers.image,
            availability_zone: config.workers.availabilityZone ?? "",
            key_name: config.keyName,
            idle_timeout: config.workers.idleTimeout,
            launch_timeout: config.workers.launchTimeout,
            static_prefix: staticNodePrefix(config),
            burst_prefix: burstNodePrefix(config),
            fallback_flavors: config.workers.fallbackFlavors,
        },
        extra_pools: config.extraPools.map((pool) => ({
            name: pool.name,
            flavors: [pool.flavor, ...pool.fallbackFlavors],
            image: pool.image,
            availability_zone: pool.availabilityZone ?? "",
            min: pool.min,
            max: pool.max,
            static_prefix: poolNodePrefix(pool.name, "static"),
            burst_prefix: poolNodePrefix(pool.name, "burst"),
        })),
        salt: { master_finger: res.masterFinger },
        listen: {
            local_api: { host: "127.0.0.1", port: HEAD_LOCAL_PORTS.serviceLocalApi },
            http: { host: "127.0.0.1", port: HEAD_LOCAL_PORTS.serviceHttp },
        },
        graphite: { host: "127.0.0.1", port: HEAD_LOCAL_PORTS.carbonPlaintext },
        dashboard: { username: config.dashboard.username },
        openstack: {
            auth_url: res.authUrl,
            region: res.region,
            interface: config.serviceCloud.interface,
            insecure: res.openstackInsecure ?? false,
        },
    };
}

/** SHA-256 (hex) of a local API token: the service keeps only digests. */
function tokenDigest(token: string): string {
    return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * The secret part of the service's settings (head-only pillar
 * `dynamic_cluster_head_secrets:service_settings`). The tokens go in as digests: the service
 * checks a caller's token against them and never holds one.
 */
export function buildSecretServiceSettings(secrets: PillarSecrets): SecretServiceSettings {
    return {
        secrets: {
            openstack_application_credential: {
                id: secrets.applicationCredentialId,
                secret: secrets.applicationCredentialSecret,
            },
            dashboard_password: secrets.dashboardPassword,
            local_api_token_sha256: {
                slurm: tokenDigest(secrets.localApiTokens.slurm),
                salt: tokenDigest(secrets.localApiTokens.salt),
                admin: tokenDigest(secrets.localApiTokens.admin),
            },
        },
    };
}

/** Pillar `top.sls`: general settings and the munge key everywhere, the rest on the head only. */
export function buildPillarTop(config: ClusterConfig): Record<string, unknown> {
    return {
        base: {
            "*": ["dynamic_cluster", "dynamic_cluster_cluster_secrets"],
            [headMinionId(config)]: ["dynamic_cluster_head_secrets"],
        },
    };
}

const HEADER = "# Generated by the Dynamic Cluster Pulumi program. Do not edit: run `pulumi up`.\n";

function toYaml(doc: Record<string, unknown>): string {
    return HEADER + yaml.dump(doc, { lineWidth: -1, noRefs: true, sortKeys: false });
}

/** The non-secret pillar files, by file name under `/srv/pillar`. */
export function renderPublicPillarFiles(
    config: ClusterConfig,
    res: PillarResources,
): Record<string, string> {
    return {
        "top.sls": toYaml(buildPillarTop(config)),
        "dynamic_cluster.sls": toYaml(buildPillar(config, res)),
    };
}

/** The secret pillar files, by file name under `/srv/pillar`. */
export function renderSecretPillarFiles(secrets: PillarSecrets): Record<string, string> {
    return {
        "dynamic_cluster_cluster_secrets.sls": toYaml(buildClusterSecretsPillar(secrets)),
        "dynamic_cluster_head_secrets.sls": toYaml(buildHeadSecretsPillar(secrets)),
    };
}
