/**
 * The one configuration loader: turns `pulumi config` into a validated, fully defaulted
 * {@link ClusterConfig} before any resource is registered.
 *
 * `parseClusterConfig` is pure (raw strings in, typed config or one {@link ConfigError} out) so
 * every bad-config case is table-tested; `loadClusterConfig` only gathers the raw values from the
 * Pulumi runtime. Every problem found is reported at once, each with the command that fixes it.
 * Defaults live here (and only here); `Pulumi.yaml` and the README reference are checked against
 * {@link CONFIG_KEYS} by the tests.
 */
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import { POOL_NAME_PATTERN } from "../lib/nodeNames";
import { WORKER_DEFAULTS, WORKERS_LIMIT } from "../lib/workerDefaults";

/** Which batch scheduler the cluster runs. */
export type SchedulerKind = "slurm" | "torque";

/** Head node settings (`headNode.*`). */
export interface HeadNodeConfig {
    /** Nova server name and host name of the head node. */
    name: string;
    /** Nova flavor name. */
    flavor: string;
    /** Glance image name (a RHEL-compatible image: Rocky or Alma 9). */
    image: string;
    /** Availability zone, or undefined for Nova's default. */
    availabilityZone?: string;
}

/** Worker policy (`workers.*`), shared with the head-node service through the pillar. */
export interface WorkerPolicy {
    /** Workers Pulumi keeps running at all times (the static floor). */
    min: number;
    /** Upper bound on static plus burst workers. */
    max: number;
    /** Nova flavor name of workers. */
    flavor: string;
    /** Glance image name of workers. */
    image: string;
    /** Availability zone of workers, or undefined for Nova's default. */
    availabilityZone?: string;
    /** Seconds a burst worker may stay idle before it is removed. */
    idleTimeout: number;
    /** Seconds a worker may take from its create call to being ready in the scheduler. */
    launchTimeout: number;
    /**
     * Seconds `pulumi up` waits for a static worker it replaces (new image, flavor, ...) to finish
     * its jobs (drained, then deleted by the head-node service) before it boots the replacement.
     */
    drainTimeout: number;
    /** Prefix of worker node names: `<prefix>-st-N` (static) and `<prefix>-dy-N` (burst). */
    namePrefix: string;
    /** Flavors tried in order when Nova has no capacity or quota for `flavor` (burst workers). */
    fallbackFlavors: string[];
    /** Slurm features of the default pool's nodes (beside `static`/`burst`). */
    features: string[];
    /** Slurm GRES of each node, e.g. `gpu:2` or `gpu:a100:1`, or undefined for none. */
    gres?: string;
    /** Device files of that GRES on each node (gres.conf `File=`), e.g. `/dev/nvidia[0-1]`. */
    gresFile?: string;
    /** Slurm partition of the default pool's nodes (default `batch`, the default partition). */
    partition: string;
    /** Idle burst workers kept powered (not deleted at idleTimeout), at most max - min. */
    minIdle: number;
}

/**
 * One worker pool, all defaulted: the default pool (`workers.*`, named `workers.namePrefix`),
 * or one of `pools[*]` ({@link workerPools} lists them all, the default one first). Node names `<name>-st-N` (static: its
 * floor, Pulumi's WorkerPool) and `<name>-dy-N` (burst: the head-node service's).
 */
export interface WorkerPoolConfig {
    /** The pool's name and node prefix. */
    name: string;
    /** Static workers Pulumi keeps running. */
    min: number;
    /** Static plus burst workers of this pool. */
    max: number;
    /** Nova flavor (static workers and the first choice of burst ones). */
    flavor: string;
    /** Flavors tried in order when Nova has no capacity or quota for the previous one. */
    fallbackFlavors: string[];
    /** Glance image. */
    image: string;
    /** Availability zone, or undefined for Nova's default. */
    availabilityZone?: string;
    /** Seconds a burst worker of this pool may stay idle (its partition's SuspendTime). */
    idleTimeout: number;
    /** Slurm features of its nodes (beside `static`/`burst`). */
    features: string[];
    /** Slurm GRES of each node, or undefined. */
    gres?: string;
    /** gres.conf `File=` of that GRES, or undefined (then `Count=`). */
    gresFile?: string;
    /** The Slurm partition its nodes are in. */
    partition: string;
    /** Idle burst workers kept powered (not deleted at idleTimeout). */
    minIdle: number;
}

/** The `/data` volume (`data.*`). */
export interface DataVolumeConfig {
    /** Size in GiB of a new volume. */
    size: number;
    /** Cinder volume type of a new volume, or undefined for the cloud's default. */
    volumeType?: string;
    /**
     * Keep the volume in Cinder when the stack is destroyed or the volume replaced (default true):
     * `pulumi destroy` then removes everything else and leaves /data's volume, detached.
     */
    protect: boolean;
    /** An existing Cinder volume (ID) to use as /data instead of creating one. */
    volumeId?: string;
}

/** A cluster user account (`users[*]`). */
export interface UserAccount {
    /** POSIX user name. */
    name: string;
    /** UID (and GID of the user's own group), identical on every node. */
    uid: number;
    /** SSH public keys allowed to log in as this user. */
    sshKeys: string[];
}

/** Dashboard settings (`dashboard.*`). */
export interface DashboardConfig {
    /** Login name of the dashboard. */
    username: string;
}

/** How the head node attaches to the network. */
export type NetworkPlan =
    | { kind: "existing"; network: string; floatingIpPool?: string }
    | {
          kind: "create";
          externalNetwork: string;
          subnetCidr: string;
          dnsNameservers: string[];
          floatingIpPool: string;
      };

/** Everything the program needs, validated and defaulted. */
export interface ClusterConfig {
    /** Name used for OpenStack resources and the Slurm cluster name. */
    clusterName: string;
    /** Nova key pair name for SSH to the head node and workers. */
    keyName: string;
    /**
     * Users' network ranges (one or more, IPv4 and IPv6; at least one IPv4, since the head node is
     * reached over IPv4): the only sources allowed to reach SSH and HTTPS.
     */
    allowedCidrs: string[];
    /** The batch scheduler. */
    scheduler: SchedulerKind;
    /** Network attachment. */
    network: NetworkPlan;
    /** Head node settings. */
    headNode: HeadNodeConfig;
    /** Worker policy: the default pool, and the timeouts every pool shares. */
    workers: WorkerPolicy;
    /** The pools beside the default one (`pools[*]`); {@link workerPools} lists them all. */
    extraPools: WorkerPoolConfig[];
    /** `/data` volume. */
    data: DataVolumeConfig;
    /** Cluster user accounts. */
    users: UserAccount[];
    /** Dashboard settings. */
    dashboard: DashboardConfig;
    /** Login user of the image, used by the provisioning step. */
    sshUser: string;
    /** How the provisioning step trusts the head node's SSH host key. */
    sshHostKeyCheck: "console" | "first-use";
    /** Private key for the provisioning step (secret), or undefined to use the ssh-agent. */
    sshPrivateKey?: pulumi.Output<string>;
    /** Dashboard password override (secret), or undefined to generate one. */
    dashboardPassword?: pulumi.Output<string>;
    /** How the head-node service reaches the OpenStack APIs. */
    serviceCloud: ServiceCloudConfig;
}

/**
 * How the head-node service reaches the OpenStack APIs when that differs from the workstation:
 * clouds whose instances reach Keystone at another address (a private endpoint), or whose catalog
 * lists the addresses instances reach under the `internal` interface.
 */
export interface ServiceCloudConfig {
    /** Keystone URL the service authenticates at; undefined means the program's own. */
    authUrl?: string;
    /** Which of the catalog's endpoints the service calls. */
    interface: EndpointInterface;
}

/** A Keystone catalog interface. */
export type EndpointInterface = "public" | "internal" | "admin";

/** The catalog interfaces, as `serviceInterface` accepts them. */
export const ENDPOINT_INTERFACES: readonly EndpointInterface[] = ["public", "internal", "admin"];

/**
 * How a key is declared in `Pulumi.yaml`; used by the tests and the README generator.
 *
 * The Pulumi CLI treats every declared key without a default as required, so each optional key
 * has one there: structured keys (`object`) default to `{}` and the program fills in their fields;
 * the secret keys default to "" (unset). The CLI also refuses a plain default for a key declared
 * `secret: true`, so `Pulumi.yaml` does not mark them: the program itself refuses a plain-text
 * value for a {@link secret} key, with the command that fixes it.
 */
export interface ConfigKeySpec {
    /**
     * `string`, `integer`, `boolean`, `array` (of strings, or of objects for `users`) or
     * (structured, set with `--path`) `object`.
     */
    type: "string" | "integer" | "boolean" | "array" | "object";
    /** Element type of an `array`. */
    items?: "string" | "object";
    /**
     * Default value, or undefined for a required key. For an `object` key, its fields' defaults
     * (`Pulumi.yaml` declares `{}`).
     */
    default?: unknown;
    /** True when the user must set the key. */
    required?: boolean;
    /** True when the key may only be set with `--secret`. */
    secret?: boolean;
    /** One-sentence description, as in `Pulumi.yaml`. */
    description: string;
}

/** Default head node settings. */
export const HEAD_NODE_DEFAULTS: HeadNodeConfig = {
    name: "dc-head",
    flavor: "m1.large",
    image: "Rocky-9",
};

/** Default worker policy (image and flavor default to the head node's); lib/workerDefaults.ts. */
export { WORKER_DEFAULTS };

/** Default `/data` volume. */
export const DATA_DEFAULTS: DataVolumeConfig = { size: 100, protect: true };

/** Default user accounts: one ordinary user, as in the original system. */
export const USERS_DEFAULT: UserAccount[] = [{ name: "fred", uid: 10001, sshKeys: [] }];

/** Default dashboard settings. */
export const DASHBOARD_DEFAULTS: DashboardConfig = { username: "admin" };

/** Every configuration key of the project, as declared in `Pulumi.yaml`. */
export const CONFIG_KEYS: Record<string, ConfigKeySpec> = {
    keyName: {
        type: "string",
        required: true,
        description: "Name of an existing Nova key pair, installed on the head node and workers.",
    },
    allowedCidr: {
        type: "string",
        required: true,
        description:
            "Users' network ranges (CIDR; several separated by commas; IPv4 and IPv6, at least one IPv4), the only sources allowed to reach SSH and HTTPS.",
    },
    allowSshFromAnywhere: {
        type: "boolean",
        default: false,
        description: "Set to true to accept 0.0.0.0/0 or ::/0 as allowedCidr.",
    },
    scheduler: {
        type: "string",
        default: "slurm",
        description: "Batch scheduler: slurm (torque is not supported yet and is refused).",
    },
    clusterName: {
        type: "string",
        default: "",
        description:
            "Name for OpenStack resources and the scheduler cluster; empty means the stack name.",
    },
    network: {
        type: "string",
        default: "",
        description: "Existing network (name or ID) to attach to; empty means create one.",
    },
    externalNetwork: {
        type: "string",
        default: "",
        description: "External network for the created router and the floating IP.",
    },
    floatingIpPool: {
        type: "string",
        default: "",
        description: "Pool for the head node's floating IP; empty means externalNetwork, or none.",
    },
    subnetCidr: {
        type: "string",
        default: "10.42.0.0/24",
        description: "CIDR of the subnet created when network is empty.",
    },
    dnsNameservers: {
        type: "array",
        items: "string",
        default: [],
        description: "DNS servers of the created subnet; empty means the cloud's default.",
    },
    sshUser: {
        type: "string",
        default: "rocky",
        description: "Login user of the image, used to provision the head node over SSH.",
    },
    sshHostKeyCheck: {
        type: "string",
        default: "console",
        description:
            "How provisioning trusts the head node's SSH host key: console (one of the fingerprints cloud-init printed to its console, read through Nova) or first-use (the first key it presents, for images that print none).",
    },
    sshPrivateKey: {
        type: "string",
        default: "",
        secret: true,
        description: "Private key for provisioning (set with --secret); unset means use ssh-agent.",
    },
    dashboardPassword: {
        type: "string",
        default: "",
        secret: true,
        description: "Dashboard password (set with --secret); unset means generate one.",
    },
    serviceAuthUrl: {
        type: "string",
        default: "",
        description:
            "Keystone URL the head node's service authenticates at, when instances reach the OpenStack APIs at another address than your workstation; empty means the program's own (openstack:authUrl, OS_AUTH_URL or clouds.yaml).",
    },
    serviceInterface: {
        type: "string",
        default: "public",
        description:
            "Which catalog endpoints the head node's service calls: public, internal (clouds that list the addresses instances reach there) or admin.",
    },
    headNode: {
        type: "object",
        default: HEAD_NODE_DEFAULTS,
        description:
            "Head node: name, flavor, image, availabilityZone. Default: {name: dc-head, flavor: m1.large, image: Rocky-9}.",
    },
    workers: {
        type: "object",
        default: WORKER_DEFAULTS,
        description:
            "Worker policy (the default pool): min, max, flavor, fallbackFlavors, image, availabilityZone, idleTimeout, launchTimeout, drainTimeout, namePrefix, features, gres, gresFile, partition, minIdle. Default: {min: 0, max: 8, idleTimeout: 600, launchTimeout: 1200, drainTimeout: 3600, namePrefix: compute}; flavor and image default to the head node's, partition to batch.",
    },
    pools: {
        type: "array",
        items: "object",
        default: [],
        description:
            "More worker pools: a list of {name, max, flavor, fallbackFlavors, min, image, availabilityZone, idleTimeout, minIdle, features, gres, gresFile, partition}; nodes <name>-st-N and <name>-dy-N, in partition <name> unless set. Default: none.",
    },
    data: {
        type: "object",
        default: DATA_DEFAULTS,
        description:
            "The /data volume: size (GiB), volumeType, protect (kept in Cinder on destroy), volumeId (use an existing volume). Default: {size: 100, protect: true}.",
    },
    users: {
        type: "array",
        items: "object",
        default: USERS_DEFAULT,
        description:
            "Cluster users: a list of {name, uid, sshKeys}. Default: [{name: fred, uid: 10001}].",
    },
    dashboard: {
        type: "object",
        default: DASHBOARD_DEFAULTS,
        description: "Dashboard: username. Default: {username: admin}.",
    },
};

/** One configuration problem: the key path, what is wrong, and how to fix it. */
export interface ConfigProblem {
    /** Key path as typed after `pulumi config set --path`, e.g. `workers.max`. */
    path: string;
    /** What is wrong and how to fix it, as a full sentence. */
    message: string;
}

/** Thrown when the configuration is invalid; lists every problem at once. */
export class ConfigError extends Error {
    override name = "ConfigError";
    /** Every problem found. */
    readonly problems: ConfigProblem[];

    constructor(stack: string, problems: ConfigProblem[]) {
        super(
            `The configuration of stack "${stack}" has ${problems.length} problem(s):\n` +
                problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
        );
        this.problems = problems;
    }
}

/** Raw input of {@link parseClusterConfig}. */
export interface RawConfig {
    /** The project's config values as the CLI passes them (strings; structured ones as JSON). */
    values: Readonly<Record<string, string>>;
    /** Keys of {@link values} that were set with `--secret`. */
    secretKeys: ReadonlySet<string>;
    /** The stack name (default cluster name). */
    stack: string;
    /** Whether an ssh-agent socket is available to the program. */
    sshAgentAvailable: boolean;
    /** Whether `openstack:password` is set in plain text (it must be a secret). */
    openstackPasswordInPlainText?: boolean;
}

const HOSTNAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/**
 * Account names a cluster user may not take, with why: the accounts the head's and workers' states
 * manage (their UID, home and keys would be changed under the daemon), the login users of the
 * cloud images the cluster runs on, and the system accounts those images ship (Rocky/Alma 9,
 * Debian 12). `sshUser` is refused too (parseClusterConfig), and every `systemd-*` name.
 */
const RESERVED_USERS: ReadonlyMap<string, string> = new Map([
    ...["root", "salt", "slurm", "munge", "nginx", "www-data", "graphite", "_graphite"].map(
        (name): [string, string] => [name, "an account the cluster's own services run as"],
    ),
    ...["rocky", "almalinux", "cloud-user", "centos", "debian", "ubuntu", "fedora", "admin"].map(
        (name): [string, string] => [name, "a cloud image's login user"],
    ),
    ...[
        "bin",
        "daemon",
        "adm",
        "lp",
        "sync",
        "shutdown",
        "halt",
        "mail",
        "operator",
        "games",
        "ftp",
        "nobody",
        "nfsnobody",
        "sys",
        "man",
        "news",
        "uucp",
        "proxy",
        "backup",
        "list",
        "irc",
        "gnats",
        "sshd",
        "dbus",
        "messagebus",
        "polkitd",
        "chrony",
        "_chrony",
        "rpc",
        "rpcuser",
        "statd",
        "_rpc",
        "tss",
        "_apt",
        "tcpdump",
        "sssd",
        "unbound",
        "postfix",
        "dynamic-cluster",
    ].map((name): [string, string] => [name, "a system account"]),
]);

/**
 * The lowest UID of a cluster user: lower ones are the system's, and cloud-init gives the image's
 * login user the first free one, 1000 (a cluster group with its GID would fail the states).
 */
const MIN_USER_UID = 1001;

/** Why a cluster user may not be called `name` (undefined when it may). */
function reservedUserReason(name: string, sshUser: string): string | undefined {
    if (name === sshUser) return "the image's login user (sshUser), which provisioning logs in as";
    if (name.startsWith("systemd-")) return "a system account";
    return RESERVED_USERS.get(name);
}
const NONEMPTY = z.string().trim().min(1, "must not be empty");

const headNodeSchema = z
    .object({
        name: z.string().regex(HOSTNAME, "must be a host name: lower-case letters, digits, '-'"),
        flavor: NONEMPTY,
        image: NONEMPTY,
        availabilityZone: NONEMPTY.optional(),
    })
    .partial()
    .strict();

const POOL_NAME = z
    .string()
    .regex(POOL_NAME_PATTERN, "must be 1-16 lower-case letters or digits, starting with a letter");

/** What a pool adds to Slurm and its flavor fallbacks, the same for `workers` and `pools[*]`. */
const poolSlurmFields = {
    fallbackFlavors: z.array(NONEMPTY).max(8).optional(),
    features: z
        .array(
            z
                .string()
                .regex(
                    /^[A-Za-z][A-Za-z0-9_.]{0,31}$/,
                    "must be a Slurm feature: a letter, then letters, digits, '_' or '.'",
                )
                .refine((f) => f !== "static" && f !== "burst", {
                    message: "static and burst are the cluster's own features",
                }),
        )
        .max(16)
        .optional(),
    gres: z
        .string()
        .regex(
            /^[a-z][a-z0-9_]{0,15}(:[A-Za-z0-9_.-]{1,32})?:[1-9][0-9]{0,2}$/,
            "must be a Slurm GRES: name[:type]:count, e.g. gpu:2 or gpu:a100:1",
        )
        .optional(),
    gresFile: z
        .string()
        .regex(
            /^\/dev\/[A-Za-z0-9_.,\-[\]/]+$/,
            "must be the GRES's device files under /dev, e.g. /dev/nvidia[0-1]",
        )
        .optional(),
    partition: z
        .string()
        .regex(
            /^[a-z][a-z0-9_-]{0,31}$/,
            "must be a Slurm partition name: lower-case letters, digits, '_' or '-'",
        )
        .optional(),
    minIdle: z.number().int().min(0).max(WORKERS_LIMIT).optional(),
};

const workersSchema = z
    .object({
        min: z.number().int().min(0).max(WORKERS_LIMIT),
        max: z.number().int().min(0).max(WORKERS_LIMIT),
        flavor: NONEMPTY,
        image: NONEMPTY,
        availabilityZone: NONEMPTY.optional(),
        idleTimeout: z
            .number()
            .int()
            .min(60)
            .max(7 * 86400),
        launchTimeout: z.number().int().min(120).max(86400),
        drainTimeout: z
            .number()
            .int()
            .min(0)
            .max(7 * 86400),
        namePrefix: POOL_NAME,
        ...poolSlurmFields,
    })
    .partial()
    .strict();

const poolSchema = z
    .object({
        name: POOL_NAME,
        max: z.number().int().min(0).max(WORKERS_LIMIT),
        flavor: NONEMPTY,
        min: z.number().int().min(0).max(WORKERS_LIMIT).optional(),
        image: NONEMPTY.optional(),
        availabilityZone: NONEMPTY.optional(),
        idleTimeout: z
            .number()
            .int()
            .min(60)
            .max(7 * 86400)
            .optional(),
        ...poolSlurmFields,
    })
    .strict();

const dataSchema = z
    .object({
        size: z.number().int().min(1).max(65536),
        volumeType: NONEMPTY.optional(),
        protect: z.boolean(),
        volumeId: z.string().regex(/^[0-9a-f-]{36}$/, "must be a Cinder volume ID (a UUID)"),
    })
    .partial()
    .strict();

/**
 * True for one line of an OpenSSH public key: `<type> <base64 blob> [comment]`, where the blob
 * decodes and starts with the same type (what sshd and Salt's ssh_auth check; a key that is cut
 * or mistyped fails the head's state run otherwise).
 */
export function isOpenSshPublicKey(line: string): boolean {
    const match =
        /^((?:ssh|ecdsa|sk-ssh|sk-ecdsa)-[A-Za-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(
            line,
        );
    if (!match || match[2]!.length % 4 !== 0) return false;
    // The blob: string type, then the key's first field (string), as RFC 4253 6.6 lays it out.
    const blob = Buffer.from(match[2]!, "base64");
    if (blob.length < 4) return false;
    const at = 4 + blob.readUInt32BE(0);
    if (blob.length < at + 4) return false;
    return (
        blob.subarray(4, at).toString("latin1") === match[1] &&
        blob.length >= at + 4 + blob.readUInt32BE(at)
    );
}

const userSchema = z
    .object({
        name: z.string().regex(POSIX_USER, "must be a POSIX user name"),
        uid: z.number().int().min(MIN_USER_UID).max(60000),
        sshKeys: z
            .array(
                z
                    .string()
                    .refine(
                        isOpenSshPublicKey,
                        "must be one whole OpenSSH public key line (the content of ~/.ssh/id_ed25519.pub: type, key, comment)",
                    ),
            )
            .optional(),
    })
    .strict();

const dashboardSchema = z
    .object({ username: z.string().regex(POSIX_USER, "must be letters, digits, '_' or '-'") })
    .partial()
    .strict();

/** Turns a schema issue into plain words. */
function describeIssue(issue: z.core.$ZodIssue): string {
    switch (issue.code) {
        case "too_small":
            return `must be at least ${String(issue.minimum)}`;
        case "too_big":
            return `must be at most ${String(issue.maximum)}`;
        case "invalid_type":
            if (issue.expected === "int") return "must be a whole number";
            if (issue.expected === "number")
                return "must be a number (set it with --path so it is stored as one)";
            if (issue.expected === "boolean") return "must be true or false";
            if (issue.expected === "string") return "must be text";
            if (issue.expected === "array") return "must be a list";
            return `must be of type ${issue.expected}`;
        default:
            return issue.message;
    }
}

/** A key path as the shell needs it: quoted when it has brackets (`'pools[0].max'`). */
function quoted(path: string): string {
    return path.includes("[") ? `'${path}'` : path;
}

function fix(path: string, example: string): string {
    return `pulumi config set --path ${path} ${example}`;
}

/** Collects problems while parsing. */
class Problems {
    readonly list: ConfigProblem[] = [];
    add(path: string, message: string): void {
        this.list.push({ path, message });
    }
}

function parseJson(problems: Problems, key: string, raw: string | undefined): unknown {
    if (raw === undefined) return undefined;
    try {
        return JSON.parse(raw);
    } catch {
        problems.add(
            key,
            `is not structured data; set its fields with \`${fix(`${key}.<field>`, "<value>")}\`.`,
        );
        return undefined;
    }
}

function parseStructured<T>(
    problems: Problems,
    key: string,
    schema: z.ZodType<T>,
    raw: string | undefined,
    exampleFor: (path: string) => string,
): T | undefined {
    const value = parseJson(problems, key, raw);
    if (value === undefined) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
        if (issue.code === "unrecognized_keys") {
            for (const extra of issue.keys) {
                const path = [key, ...issue.path.map(String), extra].join(".");
                problems.add(
                    path,
                    `is not a known setting; remove it with \`pulumi config rm --path ${path}\` (check the spelling in the README's configuration reference).`,
                );
            }
            continue;
        }
        const path = [key, ...issue.path.map(String)].join(".");
        problems.add(path, `${describeIssue(issue)}; fix it with \`${exampleFor(path)}\`.`);
    }
    return undefined;
}

const EXAMPLES: Record<string, string> = {
    "workers.min": "0",
    "workers.max": "8",
    "workers.idleTimeout": "600",
    "workers.launchTimeout": "1200",
    "workers.namePrefix": "compute",
    "workers.flavor": "m1.large",
    "workers.image": "Rocky-9",
    "headNode.name": "dc-head",
    "headNode.flavor": "m1.large",
    "headNode.image": "Rocky-9",
    "data.size": "100",
    "data.protect": "true",
    "data.volumeId": "<volume ID from `openstack volume list`>",
    "dashboard.username": "admin",
};

function exampleFor(path: string): string {
    const generic = path.replace(/\[\d+\]|\.\d+(?=\.|$)/g, (m) => m);
    return fix(path, EXAMPLES[generic] ?? "<value>");
}

function parseBoolean(
    problems: Problems,
    key: string,
    raw: string | undefined,
    fallback: boolean,
): boolean {
    if (raw === undefined || raw === "") return fallback;
    if (raw === "true") return true;
    if (raw === "false") return false;
    problems.add(key, `must be true or false; fix it with \`pulumi config set ${key} true\`.`);
    return fallback;
}

function isOpenToWorld(cidr: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
    return cidr[1] === 0;
}

function parseCidr(problems: Problems, key: string, raw: string, hint: string): string | undefined {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
        parsed = ipaddr.parseCIDR(raw.trim());
    } catch {
        problems.add(key, `"${raw}" is not a CIDR range such as 203.0.113.0/24; ${hint}`);
        return undefined;
    }
    const [address, prefix] = parsed;
    const network =
        address.kind() === "ipv4"
            ? ipaddr.IPv4.networkAddressFromCIDR(raw.trim())
            : ipaddr.IPv6.networkAddressFromCIDR(raw.trim());
    if (network.toString() !== address.toString()) {
        problems.add(
            key,
            `"${raw}" has host bits set; did you mean ${network.toString()}/${prefix}? ${hint}`,
        );
        return undefined;
    }
    return `${address.toString()}/${prefix}`;
}

/**
 * Validates and defaults the raw configuration.
 *
 * @throws ConfigError listing every problem, each with the command that fixes it.
 */
export function parseClusterConfig(raw: RawConfig): ClusterConfig {
    const problems = new Problems();
    const v = raw.values;
    const get = (key: string): string | undefined => {
        const value = v[key];
        return value === undefined || value.trim() === "" ? undefined : value.trim();
    };
    const ctx: ParseContext = { raw, v, get, problems };

    checkKeysAndSecrets(ctx);
    const { keyName, allowedCidrs } = parseAccess(ctx);
    const schedulerRaw = parseScheduler(ctx);
    const clusterName = parseClusterName(ctx);
    const network = parseNetworkPlan(ctx);
    const { headNode, workers, extraPools, data } = parsePools(ctx);
    const { sshUser, sshHostKeyCheck, sshPrivateKeyRaw, dashboardPasswordRaw } = parseLogins(ctx);
    const users = parseUsers(ctx, sshUser);
    const dashboard = parseDashboard(ctx);
    const serviceCloud = parseServiceCloud(ctx);

    if (problems.list.length > 0 || !keyName || !allowedCidrs || !network) {
        throw new ConfigError(raw.stack, problems.list);
    }
    return {
        clusterName,
        keyName,
        allowedCidrs,
        scheduler: schedulerRaw as SchedulerKind,
        network,
        headNode,
        workers,
        extraPools,
        data,
        users,
        dashboard,
        sshUser,
        sshHostKeyCheck,
        sshPrivateKey: sshPrivateKeyRaw === undefined ? undefined : pulumi.secret(sshPrivateKeyRaw),
        dashboardPassword:
            dashboardPasswordRaw === undefined ? undefined : pulumi.secret(dashboardPasswordRaw),
        serviceCloud,
    };
}

/** Where the head-node service reaches the OpenStack APIs (`serviceAuthUrl`, `serviceInterface`). */
function parseServiceCloud({ get, problems }: ParseContext): ServiceCloudConfig {
    const authUrl = get("serviceAuthUrl");
    if (authUrl !== undefined) {
        let url: URL | undefined;
        try {
            url = new URL(authUrl);
        } catch {
            url = undefined;
        }
        if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
            problems.add(
                "serviceAuthUrl",
                `"${authUrl}" is not an http(s) URL; set Keystone's URL as the head node reaches it, e.g. \`pulumi config set serviceAuthUrl https://keystone.internal.example.org:5000/v3\`, or remove it with \`pulumi config rm serviceAuthUrl\` to use the program's own.`,
            );
        }
    }
    const iface = get("serviceInterface") ?? "public";
    if (!(ENDPOINT_INTERFACES as readonly string[]).includes(iface)) {
        problems.add(
            "serviceInterface",
            `"${iface}" is not a catalog interface; use \`pulumi config set serviceInterface public\` (or internal, or admin: the interface whose endpoints the head node can reach).`,
        );
    }
    return {
        ...(authUrl !== undefined ? { authUrl } : {}),
        interface: (ENDPOINT_INTERFACES as readonly string[]).includes(iface)
            ? (iface as EndpointInterface)
            : "public",
    };
}

/** What every step of {@link parseClusterConfig} reads and where it reports problems. */
interface ParseContext {
    raw: RawConfig;
    /** The raw values, by key. */
    v: RawConfig["values"];
    /** A value, trimmed; undefined when missing or blank. */
    get: (key: string) => string | undefined;
    problems: Problems;
}

/** Unknown keys, secrets stored in plain text. */
function checkKeysAndSecrets({ raw, v, get, problems }: ParseContext): void {
    for (const key of Object.keys(v)) {
        if (!(key in CONFIG_KEYS)) {
            problems.add(
                key,
                `is not a known setting; remove it with \`pulumi config rm ${key}\` (see the README's configuration reference).`,
            );
        }
    }
    for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
        if (spec.secret && get(key) !== undefined && !raw.secretKeys.has(key)) {
            problems.add(
                key,
                `is a secret and is stored in plain text; set it again with \`pulumi config set --secret ${key} <value>\`.`,
            );
        }
    }
    if (raw.openstackPasswordInPlainText) {
        problems.add(
            "openstack:password",
            "is stored in plain text; set it again with `pulumi config set --secret openstack:password <password>`, or use an application credential.",
        );
    }
}

/** How to set allowedCidr, for the messages. */
const ALLOWED_CIDR_HINT =
    "set it with `pulumi config set allowedCidr 203.0.113.0/24` (several ranges separated by commas, e.g. `203.0.113.0/24,2001:db8::/48`).";

/** The key pair and the users' network ranges (with the whole-Internet and IPv4 checks). */
function parseAccess({ get, problems }: ParseContext): {
    keyName: string | undefined;
    allowedCidrs: string[] | undefined;
} {
    const keyName = get("keyName");
    if (!keyName) {
        problems.add(
            "keyName",
            "is required: the name of an existing Nova key pair (`openstack keypair list`); set it with `pulumi config set keyName <name>`.",
        );
    }

    const allowSshFromAnywhere = parseBoolean(
        problems,
        "allowSshFromAnywhere",
        get("allowSshFromAnywhere"),
        false,
    );
    const allowedCidrRaw = get("allowedCidr");
    if (!allowedCidrRaw) {
        problems.add(
            "allowedCidr",
            "is required: the users' network range allowed to reach SSH and HTTPS, e.g. `pulumi config set allowedCidr 203.0.113.0/24`.",
        );
        return { keyName, allowedCidrs: undefined };
    }
    const parsed: string[] = [];
    let valid = true;
    for (const part of allowedCidrRaw.split(",").map((p) => p.trim())) {
        const cidr =
            part === "" ? undefined : parseCidr(problems, "allowedCidr", part, ALLOWED_CIDR_HINT);
        if (part === "") {
            problems.add(
                "allowedCidr",
                `has an empty range in "${allowedCidrRaw}"; ${ALLOWED_CIDR_HINT}`,
            );
        }
        if (cidr === undefined) valid = false;
        else parsed.push(cidr);
    }
    if (!valid) return { keyName, allowedCidrs: undefined };
    const allowedCidrs = [...new Set(parsed)];
    for (const cidr of allowedCidrs) {
        if (isOpenToWorld(ipaddr.parseCIDR(cidr)) && !allowSshFromAnywhere) {
            problems.add(
                "allowedCidr",
                `${cidr} opens SSH and HTTPS to the whole Internet; use your users' range, or confirm with \`pulumi config set allowSshFromAnywhere true\`.`,
            );
        }
    }
    if (!allowedCidrs.some((cidr) => ipaddr.parseCIDR(cidr)[0].kind() === "ipv4")) {
        problems.add(
            "allowedCidr",
            `has only IPv6 ranges (${allowedCidrs.join(", ")}), but the head node is reached over IPv4 (its floating IP, or its address on the cluster network): \`pulumi up\` could not log in to configure it, and your users could not reach it. Add the IPv4 range you work from, e.g. \`pulumi config set allowedCidr '${allowedCidrs.join(",")},203.0.113.0/24'\`.`,
        );
    }
    return { keyName, allowedCidrs };
}

/** The batch scheduler (Slurm; Torque is refused until it works end to end). */
function parseScheduler({ get, problems }: ParseContext): string {
    const schedulerRaw = get("scheduler") ?? "slurm";
    if (schedulerRaw === "torque") {
        // The Torque Salt states stop the state run on purpose and the service refuses Torque at
        // start, so a Torque stack would fail half-way through `pulumi up`: refuse it here,
        // before any resource. SchedulerKind keeps "torque" for the parts already built.
        problems.add(
            "scheduler",
            "Torque is not supported yet (its Salt states and the service's scheduler adapter are not complete, so the deployment would stop half-way). Slurm is the supported scheduler: run `pulumi config set scheduler slurm`, or remove the key with `pulumi config rm scheduler` (slurm is the default).",
        );
    } else if (schedulerRaw !== "slurm") {
        problems.add(
            "scheduler",
            `"${schedulerRaw}" is not a supported scheduler; use \`pulumi config set scheduler slurm\`.`,
        );
    }

    return schedulerRaw;
}

/** The cluster's name (the stack's by default). */
function parseClusterName({ raw, get, problems }: ParseContext): string {
    const clusterName = get("clusterName") ?? raw.stack.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    if (!HOSTNAME.test(clusterName) || clusterName.length > 32) {
        problems.add(
            "clusterName",
            `"${clusterName}" must be 1-32 lower-case letters, digits or '-', starting with a letter; set it with \`pulumi config set clusterName hpc\`.`,
        );
    }

    return clusterName;
}

/** The network plan: an existing network, or one the program creates behind a router. */
function parseNetworkPlan({ v, get, problems }: ParseContext): NetworkPlan | undefined {
    const networkName = get("network");
    const externalNetwork = get("externalNetwork");
    const floatingIpPool = get("floatingIpPool") ?? externalNetwork;
    const subnetCidrRaw = get("subnetCidr") ?? "10.42.0.0/24";
    const dnsRaw = parseJson(problems, "dnsNameservers", v["dnsNameservers"]);
    const dnsNameservers: string[] = [];
    if (dnsRaw !== undefined) {
        if (!Array.isArray(dnsRaw)) {
            problems.add(
                "dnsNameservers",
                "must be a list; set it with `pulumi config set --path 'dnsNameservers[0]' 192.0.2.53`.",
            );
        } else {
            dnsRaw.forEach((entry: unknown, i) => {
                if (typeof entry === "string" && ipaddr.isValid(entry)) dnsNameservers.push(entry);
                else
                    problems.add(
                        `dnsNameservers[${i}]`,
                        `${JSON.stringify(entry)} is not an IP address; fix it with \`pulumi config set --path 'dnsNameservers[${i}]' 192.0.2.53\`.`,
                    );
            });
        }
    }
    let network: NetworkPlan | undefined;
    if (networkName) {
        network = { kind: "existing", network: networkName, floatingIpPool };
    } else if (externalNetwork) {
        const subnetCidr = parseCidr(
            problems,
            "subnetCidr",
            subnetCidrRaw,
            "set it with `pulumi config set subnetCidr 10.42.0.0/24`.",
        );
        if (subnetCidr) {
            const [address, prefix] = ipaddr.parseCIDR(subnetCidr);
            if (address.kind() !== "ipv4" || prefix > 28 || prefix < 8) {
                problems.add(
                    "subnetCidr",
                    `${subnetCidr} must be an IPv4 range from /8 to /28; set it with \`pulumi config set subnetCidr 10.42.0.0/24\`.`,
                );
            }
        }
        network = {
            kind: "create",
            externalNetwork,
            subnetCidr: subnetCidr ?? subnetCidrRaw,
            dnsNameservers,
            floatingIpPool: floatingIpPool ?? externalNetwork,
        };
    } else {
        problems.add(
            "network",
            "no network to attach to: set `pulumi config set network <existing network name or ID>`, or let the program create one with `pulumi config set externalNetwork <external network name>`.",
        );
    }

    return network;
}

/** The head node, the worker policy and the /data volume (structured keys with defaults). */
function parsePools({ v, problems }: ParseContext): {
    headNode: HeadNodeConfig;
    workers: WorkerPolicy;
    extraPools: WorkerPoolConfig[];
    data: DataVolumeConfig;
} {
    const headNodeIn =
        parseStructured(problems, "headNode", headNodeSchema, v["headNode"], exampleFor) ?? {};
    const headNode: HeadNodeConfig = { ...HEAD_NODE_DEFAULTS, ...headNodeIn };

    const workersIn =
        parseStructured(problems, "workers", workersSchema, v["workers"], exampleFor) ?? {};
    const workers: WorkerPolicy = {
        ...WORKER_DEFAULTS,
        flavor: headNode.flavor,
        image: headNode.image,
        partition: "batch",
        ...workersIn,
        fallbackFlavors: workersIn.fallbackFlavors ?? [],
        features: workersIn.features ?? [],
        minIdle: workersIn.minIdle ?? 0,
    };
    if (workers.min > workers.max) {
        problems.add(
            "workers.min",
            `(${workers.min}) is larger than workers.max (${workers.max}); lower it with \`${fix("workers.min", String(workers.max))}\` or raise workers.max.`,
        );
    }

    const dataIn = parseStructured(problems, "data", dataSchema, v["data"], exampleFor) ?? {};
    const data: DataVolumeConfig = { ...DATA_DEFAULTS, ...dataIn };
    if (data.volumeId && (dataIn.size !== undefined || dataIn.volumeType !== undefined)) {
        problems.add(
            "data.volumeId",
            "uses an existing volume, so data.size and data.volumeType do not apply; remove them with `pulumi config rm --path data.size` (and data.volumeType), or remove data.volumeId to create a new volume.",
        );
    }

    const extraPools = parseExtraPools(problems, v["pools"], workers);
    checkPools(problems, [defaultPoolOf(workers), ...extraPools]);

    return { headNode, workers, extraPools, data };
}

/**
 * Every worker pool of a cluster: the default one (from `workers`, so a config changed after
 * loading stays one truth) first, then `pools[*]` in order.
 */
export function workerPools(
    config: Pick<ClusterConfig, "workers" | "extraPools">,
): WorkerPoolConfig[] {
    return [defaultPoolOf(config.workers), ...config.extraPools];
}

/** The default pool, as `workers.*` describes it. */
function defaultPoolOf(workers: WorkerPolicy): WorkerPoolConfig {
    return {
        name: workers.namePrefix,
        min: workers.min,
        max: workers.max,
        flavor: workers.flavor,
        fallbackFlavors: workers.fallbackFlavors,
        image: workers.image,
        availabilityZone: workers.availabilityZone,
        idleTimeout: workers.idleTimeout,
        features: workers.features,
        gres: workers.gres,
        gresFile: workers.gresFile,
        partition: workers.partition,
        minIdle: workers.minIdle,
    };
}

/** `pools[*]`, defaulted from the default pool (image, zone, idle timeout). */
function parseExtraPools(
    problems: Problems,
    raw: string | undefined,
    workers: WorkerPolicy,
): WorkerPoolConfig[] {
    const value = parseJson(problems, "pools", raw);
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
        problems.add(
            "pools",
            "must be a list of pools; add one with `pulumi config set --path 'pools[0].name' gpu` (then its max and flavor).",
        );
        return [];
    }
    const pools: WorkerPoolConfig[] = [];
    value.forEach((entry: unknown, i) => {
        const parsed = poolSchema.safeParse(entry);
        if (!parsed.success) {
            for (const issue of parsed.error.issues) {
                if (issue.code === "unrecognized_keys") {
                    for (const extra of issue.keys) {
                        problems.add(
                            `pools[${i}].${extra}`,
                            `is not a setting of a pool; remove it with \`pulumi config rm --path 'pools[${i}].${extra}'\` (a pool has name, max, flavor, fallbackFlavors, min, image, availabilityZone, idleTimeout, minIdle, features, gres, gresFile, partition).`,
                        );
                    }
                    continue;
                }
                const path = [`pools[${i}]`, ...issue.path.map(String)].join(".");
                const what =
                    issue.code === "invalid_type" && issue.input === undefined
                        ? "is required"
                        : describeIssue(issue);
                problems.add(
                    path,
                    `${what}; set it with \`pulumi config set --path '${path}' <value>\`.`,
                );
            }
            return;
        }
        const p = parsed.data;
        pools.push({
            name: p.name,
            min: p.min ?? 0,
            max: p.max,
            flavor: p.flavor,
            fallbackFlavors: p.fallbackFlavors ?? [],
            image: p.image ?? workers.image,
            availabilityZone: p.availabilityZone ?? workers.availabilityZone,
            idleTimeout: p.idleTimeout ?? workers.idleTimeout,
            features: p.features ?? [],
            gres: p.gres,
            gresFile: p.gresFile,
            partition: p.partition ?? p.name,
            minIdle: p.minIdle ?? 0,
        });
    });
    return pools;
}

/** What holds across pools: unique names, limits, one idle timeout per partition. */
function checkPools(problems: Problems, pools: readonly WorkerPoolConfig[]): void {
    const seen = new Map<string, number>();
    const idleByPartition = new Map<string, WorkerPoolConfig>();
    pools.forEach((pool, i) => {
        const path = (field: string): string =>
            i === 0 ? `workers.${field}` : `pools[${i - 1}].${field}`;
        if (i > 0 && pool.min > pool.max) {
            problems.add(
                path("min"),
                `(${pool.min}) is larger than the pool's max (${pool.max}); lower it with \`${fix(quoted(path("min")), String(pool.max))}\` or raise max.`,
            );
        }
        const other = seen.get(pool.name);
        if (other !== undefined) {
            problems.add(
                i === 0 ? "workers.namePrefix" : path("name"),
                other === 0
                    ? `"${pool.name}" is the default pool's name (workers.namePrefix); give the pool another name with \`${fix(quoted(path("name")), "gpu")}\`.`
                    : `"${pool.name}" names two pools; give each pool its own name.`,
            );
        }
        seen.set(pool.name, i);
        if (pool.fallbackFlavors.includes(pool.flavor)) {
            problems.add(
                path("fallbackFlavors"),
                `lists the pool's own flavor "${pool.flavor}"; list only other flavors to fall back to.`,
            );
        }
        if (pool.minIdle > 0 && pool.min <= pool.max && pool.minIdle > pool.max - pool.min) {
            problems.add(
                path("minIdle"),
                `(${pool.minIdle}) is more than the pool's burst workers (max - min = ${pool.max - pool.min}); lower it with \`${fix(quoted(path("minIdle")), String(Math.max(0, pool.max - pool.min)))}\`.`,
            );
        }
        if (pool.gresFile !== undefined && pool.gres === undefined) {
            problems.add(
                path("gresFile"),
                `names device files but the pool has no gres; set it with \`${fix(quoted(path("gres")), "gpu:1")}\` or remove gresFile.`,
            );
        }
        const sharing = idleByPartition.get(pool.partition);
        if (sharing && sharing.idleTimeout !== pool.idleTimeout) {
            problems.add(
                path("idleTimeout"),
                `(${pool.idleTimeout}) differs from that of pool "${sharing.name}" (${sharing.idleTimeout}), which shares partition "${pool.partition}": Slurm keeps one idle time (SuspendTime) per partition; give both the same idleTimeout, or the pools their own partitions.`,
            );
        }
        if (!sharing) idleByPartition.set(pool.partition, pool);
    });
    const total = pools.reduce((sum, pool) => sum + pool.max, 0);
    if (total > WORKERS_LIMIT) {
        problems.add(
            "pools",
            `the pools' max add up to ${total}, above the limit of ${WORKERS_LIMIT} workers per cluster; lower some pools' max.`,
        );
    }
}

/** The cluster's user accounts (unique names and uids, no system or login names). */
function parseUsers({ v, problems }: ParseContext, sshUser: string): UserAccount[] {
    let users: UserAccount[] = USERS_DEFAULT;
    const usersRaw = parseJson(problems, "users", v["users"]);
    if (usersRaw !== undefined) {
        if (!Array.isArray(usersRaw)) {
            problems.add(
                "users",
                "must be a list of {name, uid, sshKeys}; set it with `pulumi config set --path 'users[0].name' fred`.",
            );
        } else {
            users = [];
            const names = new Set<string>();
            const uids = new Set<number>();
            usersRaw.forEach((entry: unknown, i) => {
                const parsed = userSchema.safeParse(entry);
                if (!parsed.success) {
                    for (const issue of parsed.error.issues) {
                        const path = [`users[${i}]`, ...issue.path.map(String)].join(".");
                        const what =
                            issue.path[0] === "uid" && issue.code === "too_small"
                                ? `must be ${MIN_USER_UID} or more: lower UIDs are the system's, and 1000 is the image's login user's`
                                : describeIssue(issue);
                        problems.add(
                            path,
                            `${what}; fix it with \`pulumi config set --path '${path}' <value>\`.`,
                        );
                    }
                    return;
                }
                const user = { ...parsed.data, sshKeys: parsed.data.sshKeys ?? [] };
                const reserved = reservedUserReason(user.name, sshUser);
                if (reserved) {
                    problems.add(
                        `users[${i}].name`,
                        `"${user.name}" is ${reserved}: a cluster user of that name would take over its UID, home and keys; choose another name with \`pulumi config set --path 'users[${i}].name' fred\`.`,
                    );
                }
                if (names.has(user.name))
                    problems.add(
                        `users[${i}].name`,
                        `"${user.name}" is listed twice; each user must appear once.`,
                    );
                if (uids.has(user.uid))
                    problems.add(
                        `users[${i}].uid`,
                        `${user.uid} is used twice; give each user its own uid.`,
                    );
                names.add(user.name);
                uids.add(user.uid);
                users.push(user);
            });
        }
    }

    return users;
}

/** The dashboard's settings. */
function parseDashboard({ v, problems }: ParseContext): DashboardConfig {
    const dashboardIn =
        parseStructured(problems, "dashboard", dashboardSchema, v["dashboard"], exampleFor) ?? {};
    const dashboard: DashboardConfig = { ...DASHBOARD_DEFAULTS, ...dashboardIn };

    return dashboard;
}

/** How the program logs in to the head node, and the dashboard password when one is set. */
function parseLogins({ raw, v, get, problems }: ParseContext): {
    sshUser: string;
    sshHostKeyCheck: "console" | "first-use";
    sshPrivateKeyRaw: string | undefined;
    dashboardPasswordRaw: string | undefined;
} {
    const sshUser = get("sshUser") ?? "rocky";
    if (!POSIX_USER.test(sshUser)) {
        problems.add(
            "sshUser",
            `"${sshUser}" is not a user name; set the image's login user with \`pulumi config set sshUser rocky\`.`,
        );
    }
    const sshHostKeyCheck = get("sshHostKeyCheck") ?? "console";
    if (sshHostKeyCheck !== "console" && sshHostKeyCheck !== "first-use") {
        problems.add(
            "sshHostKeyCheck",
            `"${sshHostKeyCheck}" is not a way to check the head node's SSH host key; use \`pulumi config set sshHostKeyCheck console\` (the fingerprints its console shows) or \`first-use\` (for images that print none).`,
        );
    }
    // "" is the declared default: unset.
    const sshPrivateKeyRaw = get("sshPrivateKey") === undefined ? undefined : v["sshPrivateKey"];
    if (sshPrivateKeyRaw === undefined && !raw.sshAgentAvailable) {
        problems.add(
            "sshPrivateKey",
            "no way to log in to the head node: start an ssh-agent holding the key pair's private key (SSH_AUTH_SOCK), or run `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`.",
        );
    } else if (
        sshPrivateKeyRaw !== undefined &&
        !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(sshPrivateKeyRaw)
    ) {
        problems.add(
            "sshPrivateKey",
            "is not a PEM or OpenSSH private key; set it with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`.",
        );
    }
    const dashboardPasswordRaw =
        get("dashboardPassword") === undefined ? undefined : v["dashboardPassword"];
    if (dashboardPasswordRaw !== undefined && dashboardPasswordRaw.length < 12) {
        problems.add(
            "dashboardPassword",
            "must be at least 12 characters; set a longer one with `pulumi config set --secret dashboardPassword <password>`, or remove it to have one generated.",
        );
    }

    return {
        sshUser,
        sshHostKeyCheck: sshHostKeyCheck === "first-use" ? "first-use" : "console",
        sshPrivateKeyRaw,
        dashboardPasswordRaw,
    };
}

/** The config namespace of this project (the `name` in `Pulumi.yaml`). */
export const PROJECT_NAMESPACE = "dynamic-cluster";

/** Names of the config keys set with `--secret`, as the language host passes them. */
function secretConfigKeys(): Set<string> {
    // The SDK keeps this list internal; it is the documented PULUMI_CONFIG_SECRET_KEYS contract.
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as {
        isConfigSecret?: (key: string) => boolean;
    };
    const all = pulumi.runtime.allConfig();
    return new Set(Object.keys(all).filter((key) => runtimeConfig.isConfigSecret?.(key) === true));
}

/**
 * Reads the stack's configuration from the Pulumi runtime and validates it.
 *
 * @throws ConfigError listing every problem.
 */
export function loadClusterConfig(): ClusterConfig {
    const all = pulumi.runtime.allConfig();
    const secret = secretConfigKeys();
    const prefix = `${PROJECT_NAMESPACE}:`;
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(all)) {
        if (!key.startsWith(prefix)) continue;
        const short = key.slice(prefix.length);
        values[short] = value;
        if (secret.has(key)) secretKeys.add(short);
    }
    return parseClusterConfig({
        values,
        secretKeys,
        stack: pulumi.getStack(),
        sshAgentAvailable: Boolean(process.env["SSH_AUTH_SOCK"]),
        openstackPasswordInPlainText:
            all["openstack:password"] !== undefined && !secret.has("openstack:password"),
    });
}
