/**
 * Renders the Salt tree for tests: builds the pillar the program would generate for a config
 * (components/pillar.ts, with fixed resource values), and runs test/salt/render.py, which
 * renders with Debian's real Jinja2 and PyYAML and checks Salt's structure. No Salt needed, so
 * the unit stage uses it; test/integration/salt-real-render.test.ts checks that Salt itself
 * (test/helpers/saltCall.ts) renders the same states, files and reactions.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { parseClusterConfig, type ClusterConfig } from "../../components/config";
import {
    buildClusterSecretsPillar,
    buildHeadSecretsPillar,
    buildPillar,
    headMinionId,
    type PillarResources,
    type PillarSecrets,
    usersCidrsByFamily,
} from "../../components/pillar";

/** Root of the project's Salt tree. */
export const SALT_TREE = path.resolve(__dirname, "../../salt");
const RENDER_SCRIPT = path.resolve(__dirname, "../salt/render.py");
/** Debian's Python, which has python3-jinja2 and python3-yaml (test/env/packages/core.txt). */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Resource values of a deployed cluster, as the program would resolve them. */
export const PILLAR_RESOURCES: PillarResources = {
    clusterId: "k3x9a2bq",
    headAddress: "10.42.0.5",
    headPublicAddress: "203.0.113.10",
    clusterCidr: "10.42.0.0/24",
    networkId: "6f1c4a3e-7d1b-4c55-9a1e-2b0f3c4d5e6f",
    workerSecurityGroup: "hpc-workers",
    dataVolumeId: "0b6d3f2e-55aa-4c1e-9f00-1234567890ab",
    masterFinger:
        "9e:1f:00:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66",
    authUrl: "https://keystone.example.org:5000/v3",
    region: "RegionOne",
    workerFlavor: { vcpus: 4, ramMb: 8192 },
    serviceBundle: "0123456789abcdef",
};

/** Secret values (fixed, recognisable, so a test can look for leaks). */
export const PILLAR_SECRETS: PillarSecrets = {
    applicationCredentialId: "appcred-id-0001",
    applicationCredentialSecret: "APPCRED-SECRET-do-not-leak",
    dashboardPassword: "DASHBOARD-PASSWORD-do-not-leak",
    localApiTokens: {
        slurm: "SLURM-TOKEN-do-not-leak-0123456789abcdef",
        salt: "SALT-TOKEN-do-not-leak-0123456789abcdef",
        admin: "ADMIN-TOKEN-do-not-leak-0123456789abcdef",
    },
    tlsPrivateKey:
        "-----BEGIN EC PRIVATE KEY-----\nTLS-KEY-do-not-leak\n-----END EC PRIVATE KEY-----\n",
    tlsCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    mungeKey: Buffer.alloc(128, 7).toString("base64"),
};

/** A valid config from `pulumi config` values (structured values as objects). */
export function configFrom(values: Record<string, unknown>): ClusterConfig {
    const strings = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    return parseClusterConfig({
        values: strings,
        secretKeys: new Set(),
        stack: "dev",
        sshAgentAvailable: true,
    });
}

/**
 * `workers` and `pools` of a cluster with three worker pools: the default one with a floor of 1
 * and one warm burst worker, a GPU pool (GRES with device files, a feature, a fallback flavor)
 * and a large-memory pool with a floor and its own idle time. The pool tests' configuration.
 */
export const THREE_POOLS = {
    workers: { min: 1, max: 4, flavor: "m1.small", minIdle: 1 },
    pools: [
        {
            name: "gpu",
            max: 2,
            flavor: "g1.large",
            fallbackFlavors: ["g1.xlarge"],
            gres: "gpu:2",
            gresFile: "/dev/nvidia[0-1]",
            features: ["a100"],
        },
        { name: "bigmem", min: 1, max: 3, flavor: "r1.huge", idleTimeout: 1800 },
    ],
};

const RENDER_BASE = { keyName: "hpc-key", allowedCidr: "203.0.113.0/24", network: "private" };

/**
 * The configs the Salt tree is rendered for (test/unit/salt-tree.test.ts with the emulation,
 * test/integration/salt-real-render.test.ts with Salt itself); together they reach every file of
 * the tree: Slurm with a floor, a burst pool and a user with a key; no floor and no users; a
 * floor only (min = max) in the default pool beside two more pools (GRES, warm workers, their
 * own partitions); users' networks of both families (allowedCidr); Torque (which the loader refuses
 * for now, so it is set after it).
 */
export const RENDER_CONFIGS: Record<string, ClusterConfig> = {
    "slurm, floor 2, burst 8, one user": configFrom({
        ...RENDER_BASE,
        users: [
            {
                name: "fred",
                uid: 1001,
                sshKeys: [
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvbXJAl0jiGzk9VeUUwljGOdOMkZJuRSO6d37SV53mL fred@laptop",
                ],
            },
        ],
        workers: { min: 2, max: 10 },
    }),
    "slurm, no floor, no users": configFrom({
        ...RENDER_BASE,
        users: [],
        workers: { min: 0, max: 4 },
    }),
    "slurm, floor only (min = max) beside a GPU pool and a large-memory pool": configFrom({
        ...RENDER_BASE,
        workers: { min: 3, max: 3 },
        pools: [
            {
                name: "gpu",
                max: 2,
                flavor: "g1.large",
                fallbackFlavors: ["g1.xlarge"],
                gres: "gpu:a100:2",
                gresFile: "/dev/nvidia[0-1]",
                features: ["a100"],
            },
            { name: "bigmem", min: 1, max: 3, flavor: "r1.huge", idleTimeout: 1800, minIdle: 1 },
        ],
    }),
    "slurm, IPv4 and IPv6 users' networks": configFrom({
        ...RENDER_BASE,
        allowedCidr: "198.51.100.0/24,2001:db8:42::/48",
    }),
    // The loader refuses Torque until it works end to end (config.test.ts); its Salt states stay
    // in the tree and are rendered here from an otherwise valid config.
    torque: { ...configFrom(RENDER_BASE), scheduler: "torque" },
};

/** Which side of the cluster a minion is. */
export type Role = "head" | "worker";

/** The pillar one minion sees (pillar top: head secrets only on the head). */
export function pillarFor(
    config: ClusterConfig,
    role: Role,
    resources: PillarResources = PILLAR_RESOURCES,
    secrets: PillarSecrets = PILLAR_SECRETS,
): Record<string, unknown> {
    return {
        ...buildPillar(config, resources),
        ...buildClusterSecretsPillar(secrets),
        ...(role === "head" ? buildHeadSecretsPillar(secrets) : {}),
    };
}

/**
 * The OS families the states support (salt/dynamic_cluster/osfamilymap.yaml), each with the
 * grains of the release it is tested as.
 */
export const OS_FAMILY_GRAINS = {
    RedHat: { os_family: "RedHat", os: "Rocky", osmajorrelease: 9 },
    Debian: { os_family: "Debian", os: "Debian", osmajorrelease: 12 },
} as const;

/** An OS family the states support. */
export type OsFamily = keyof typeof OS_FAMILY_GRAINS;

/** A burst worker's address in the rendered highstates (PILLAR_RESOURCES' cluster network). */
export const WORKER_TEST_ADDRESS = "10.42.0.17";

/** The OS grains the states read, for a family the tests do not list. */
export interface OsGrains {
    os_family: string;
    os: string;
    osmajorrelease: number;
}

/** Grains of the head node or of a burst worker (Rocky 9 unless `family` says otherwise). */
export function grainsFor(
    config: ClusterConfig,
    role: Role,
    family: OsFamily | OsGrains = "RedHat",
): Record<string, unknown> {
    const base = typeof family === "string" ? OS_FAMILY_GRAINS[family] : family;
    // The host name and addresses (PILLAR_RESOURCES' head address; a worker's on the same net).
    if (role === "head") {
        return {
            ...base,
            id: headMinionId(config),
            host: config.headNode.name,
            ipv4: ["127.0.0.1", PILLAR_RESOURCES.headAddress],
        };
    }
    return {
        ...base,
        id: "dc-7f3a9c2e4b1d4e5f8a6b0c1d2e3f4a5b",
        host: `${config.workers.namePrefix}-dy-1`,
        ipv4: ["127.0.0.1", WORKER_TEST_ADDRESS],
        dynamic_cluster: { role: "worker", node_name: `${config.workers.namePrefix}-dy-1` },
    };
}

/** One rendered state. */
export interface RenderedState {
    module: string;
    function: string;
    args: Record<string, unknown>;
    sls: string;
}

/** One file a `file.managed` state writes. */
export interface RenderedFile {
    state: string;
    mode: string;
    source?: string;
    content: string;
}

/** A minion's rendered highstate. */
export interface Highstate {
    sls: string[];
    states: Record<string, RenderedState>;
    files: Record<string, RenderedFile>;
    errors: string[];
}

/** A rendered reactor. */
export interface ReactorResult {
    reactions: Record<string, { kind: string; function: string; args: Record<string, unknown> }>;
    errors: string[];
}

function runRenderer<T>(request: Record<string, unknown>): T {
    const out = execFileSync(SYSTEM_PYTHON, [RENDER_SCRIPT], {
        input: JSON.stringify({ tree: SALT_TREE, ...request }),
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    const answer = JSON.parse(out) as T & { fatal?: string };
    if (answer.fatal) throw new Error(`rendering failed: ${answer.fatal}`);
    return answer;
}

/** Renders the highstate of the head node or a worker for `config` (and resource values). */
export function renderHighstate(
    config: ClusterConfig,
    role: Role,
    resources: PillarResources = PILLAR_RESOURCES,
    secrets: PillarSecrets = PILLAR_SECRETS,
    family: OsFamily | OsGrains = "RedHat",
): Highstate {
    return runRenderer<Highstate>({
        mode: "highstate",
        pillar: pillarFor(config, role, resources, secrets),
        grains: grainsFor(config, role, family),
    });
}

/**
 * Renders the highstate of `role` for `config` with the pillar's users' networks set to `cidrs`,
 * split by family by the program's own function (components/pillar.ts): the pillar and the
 * firewall templates take a list per address family; this shows the templates handle lists the
 * loader never produces (IPv6 only: it requires an IPv4 range).
 */
export function renderHighstateWithUsersCidrs(
    config: ClusterConfig,
    role: Role,
    cidrs: readonly string[],
): Highstate {
    const pillar = pillarFor(config, role);
    const dc = pillar["dynamic_cluster"] as { network: Record<string, unknown> };
    dc.network = { ...dc.network, ...usersCidrsByFamily(cidrs) };
    return runRenderer<Highstate>({ mode: "highstate", pillar, grains: grainsFor(config, role) });
}

/**
 * Renders the head's highstate with some of the tree's paths (`dynamic_cluster:paths`, defaults
 * in salt/dynamic_cluster/defaults.yaml) pointing elsewhere, as a pillar may set them: tests
 * whose service keeps its state in a temporary directory render what Salt would read there.
 */
export function renderHighstateWithPaths(
    config: ClusterConfig,
    role: Role,
    paths: Record<string, string>,
    resources: PillarResources = PILLAR_RESOURCES,
    secrets: PillarSecrets = PILLAR_SECRETS,
): Highstate {
    const pillar = pillarFor(config, role, resources, secrets);
    const dc = pillar["dynamic_cluster"] as { paths?: Record<string, string> };
    dc.paths = { ...dc.paths, ...paths };
    return runRenderer<Highstate>({ mode: "highstate", pillar, grains: grainsFor(config, role) });
}

/** Renders one reactor file (relative to the tree) for an event. */
export function renderReactor(file: string, tag: string, data: unknown): ReactorResult {
    return runRenderer<ReactorResult>({ mode: "reactor", file, tag, data });
}
