/**
 * What the program must register, written out by hand from the design (not derived from the
 * code under test), so the mock tests fail when a resource or a rule appears, disappears or
 * changes.
 */
import type { Registration } from "./program";

/** Type tokens of the project's dynamic resources (`pulumi-nodejs:dynamic/<module>:<type>`). */
export const REMOTE_COMMAND = "pulumi-nodejs:dynamic/dynamic-cluster:RemoteCommand";
export const REMOTE_COPY = "pulumi-nodejs:dynamic/dynamic-cluster:RemoteCopy";
export const SSH_HOST_KEY = "pulumi-nodejs:dynamic/dynamic-cluster:SshHostKey";
export const WORKER_POOL = "pulumi-nodejs:dynamic/dynamic-cluster:WorkerPool";
export const BURST_SWEEP = "pulumi-nodejs:dynamic/dynamic-cluster:BurstSweep";

/** Names of the resources every configuration registers. */
export const COMMON_RESOURCES: ReadonlyArray<[string, string]> = [
    ["dynamic-cluster:index:Cluster", "dc"],
    ["dynamic-cluster:index:Network", "dc-network"],
    ["dynamic-cluster:index:HeadNode", "dc-head"],
    ["dynamic-cluster:index:HeadProvisioner", "dc-provisioner"],
    ["random:index/randomString:RandomString", "dc-id"],
    ["random:index/randomBytes:RandomBytes", "dc-munge-key"],
    // One local-API token per caller: Slurm's power programs, the Salt reactors, root's CLI.
    ["random:index/randomPassword:RandomPassword", "dc-slurm-token"],
    ["random:index/randomPassword:RandomPassword", "dc-salt-token"],
    ["random:index/randomPassword:RandomPassword", "dc-admin-token"],
    ["tls:index/privateKey:PrivateKey", "dc-salt-master-key"],
    ["tls:index/privateKey:PrivateKey", "dc-tls-key"],
    ["tls:index/selfSignedCert:SelfSignedCert", "dc-tls-certificate"],
    ["openstack:identity/applicationCredential:ApplicationCredential", "dc-service-credential"],
    ["openstack:networking/secGroup:SecGroup", "dc-network-head"],
    ["openstack:networking/secGroup:SecGroup", "dc-network-worker"],
    ["openstack:networking/port:Port", "dc-head-port"],
    ["openstack:compute/instance:Instance", "dc-head-server"],
    ["openstack:compute/volumeAttach:VolumeAttach", "dc-head-data-attach"],
    [SSH_HOST_KEY, "dc-provisioner-host-key"],
    [REMOTE_COMMAND, "dc-provisioner-wait-for-cloud-init"],
    [REMOTE_COPY, "dc-provisioner-copy-salt-tree"],
    [REMOTE_COPY, "dc-provisioner-copy-service"],
    [REMOTE_COMMAND, "dc-provisioner-file-top"],
    [REMOTE_COMMAND, "dc-provisioner-file-dynamic-cluster"],
    [REMOTE_COMMAND, "dc-provisioner-file-dynamic-cluster-cluster-secrets"],
    [REMOTE_COMMAND, "dc-provisioner-file-dynamic-cluster-head-secrets"],
    [REMOTE_COMMAND, "dc-provisioner-file-salt-master-pem"],
    [REMOTE_COMMAND, "dc-provisioner-file-salt-master-pub"],
    [REMOTE_COMMAND, "dc-provisioner-state-apply"],
    // The static floor: registered for every configuration (with count 0 when workers.min is 0).
    [WORKER_POOL, "dc-workers"],
    [BURST_SWEEP, "dc-burst-sweep"],
];

/** The /data volume, unless the configuration names an existing one (`data.volumeId`). */
export const NEW_VOLUME_RESOURCES: ReadonlyArray<[string, string]> = [
    ["openstack:blockstorage/volume:Volume", "dc-data"],
];

/** Extra resources when the head node gets a floating IP. */
export const FLOATING_IP_RESOURCES: ReadonlyArray<[string, string]> = [
    ["openstack:networking/floatingIp:FloatingIp", "dc-head-floating-ip"],
    [
        "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
        "dc-head-floating-ip-associate",
    ],
];

/** Extra resources when the program creates the network. */
export const CREATED_NETWORK_RESOURCES: ReadonlyArray<[string, string]> = [
    ["openstack:networking/network:Network", "dc-network-net"],
    ["openstack:networking/subnet:Subnet", "dc-network-subnet"],
    ["openstack:networking/router:Router", "dc-network-router"],
    ["openstack:networking/routerInterface:RouterInterface", "dc-network-router-interface"],
];

/** A security-group rule as the mock sees it (IDs are `<logical name>-id`). */
export interface ExpectedRule {
    name: string;
    securityGroupId: string;
    direction: "ingress" | "egress";
    ethertype: "IPv4" | "IPv6";
    protocol?: string;
    portRangeMin?: number;
    portRangeMax?: number;
    remoteIpPrefix?: string;
    remoteGroupId?: string;
}

const HEAD = "dc-network-head-id";
const WORKER = "dc-network-worker-id";

/**
 * The complete rule set for a scheduler and the users' ranges: the first range's rules keep the
 * plain names, the others are numbered from 2.
 */
export function expectedRules(scheduler: "slurm" | "torque", cidrs: string[]): ExpectedRule[] {
    const users: ExpectedRule[] = cidrs.flatMap((cidr, i) => {
        const n = i === 0 ? "" : `-${i + 1}`;
        const ethertype = cidr.includes(":") ? ("IPv6" as const) : ("IPv4" as const);
        return [
            {
                name: `dc-network-head-ssh-from-users${n}`,
                securityGroupId: HEAD,
                direction: "ingress",
                ethertype,
                protocol: "tcp",
                portRangeMin: 22,
                portRangeMax: 22,
                remoteIpPrefix: cidr,
            },
            {
                name: `dc-network-head-https-from-users${n}`,
                securityGroupId: HEAD,
                direction: "ingress",
                ethertype,
                protocol: "tcp",
                portRangeMin: 443,
                portRangeMax: 443,
                remoteIpPrefix: cidr,
            },
        ];
    });
    const common: ExpectedRule[] = [
        ...users,
        {
            name: "dc-network-head-salt-from-workers",
            securityGroupId: HEAD,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 4505,
            portRangeMax: 4506,
            remoteGroupId: WORKER,
        },
        {
            name: "dc-network-head-nfs-from-workers",
            securityGroupId: HEAD,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 2049,
            portRangeMax: 2049,
            remoteGroupId: WORKER,
        },
        {
            name: "dc-network-worker-ssh-from-head",
            securityGroupId: WORKER,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 22,
            portRangeMax: 22,
            remoteGroupId: HEAD,
        },
        {
            name: "dc-network-worker-all-from-workers",
            securityGroupId: WORKER,
            direction: "ingress",
            ethertype: "IPv4",
            remoteGroupId: WORKER,
        },
        {
            name: "dc-network-head-egress-ipv4",
            securityGroupId: HEAD,
            direction: "egress",
            ethertype: "IPv4",
            remoteIpPrefix: "0.0.0.0/0",
        },
        {
            name: "dc-network-worker-egress-ipv4",
            securityGroupId: WORKER,
            direction: "egress",
            ethertype: "IPv4",
            remoteIpPrefix: "0.0.0.0/0",
        },
    ];
    const slurm: ExpectedRule[] = [
        {
            name: "dc-network-head-slurm-6817-from-workers",
            securityGroupId: HEAD,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 6817,
            portRangeMax: 6817,
            remoteGroupId: WORKER,
        },
        {
            name: "dc-network-head-slurm-60001-60999-from-workers",
            securityGroupId: HEAD,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 60001,
            portRangeMax: 60999,
            remoteGroupId: WORKER,
        },
        {
            name: "dc-network-worker-slurm-6818-from-head",
            securityGroupId: WORKER,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 6818,
            portRangeMax: 6818,
            remoteGroupId: HEAD,
        },
    ];
    const torque: ExpectedRule[] = [
        {
            name: "dc-network-head-torque-15001-from-workers",
            securityGroupId: HEAD,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 15001,
            portRangeMax: 15001,
            remoteGroupId: WORKER,
        },
        {
            name: "dc-network-worker-torque-15002-15003-from-head",
            securityGroupId: WORKER,
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 15002,
            portRangeMax: 15003,
            remoteGroupId: HEAD,
        },
    ];
    return [...common, ...(scheduler === "slurm" ? slurm : torque)].sort((a, b) =>
        a.name.localeCompare(b.name),
    );
}

/** The rules the program registered, in the same shape, sorted by name. */
export function actualRules(resources: Registration[]): ExpectedRule[] {
    return resources
        .filter((r) => r.type === "openstack:networking/secGroupRule:SecGroupRule")
        .map((r) => {
            const { description: _description, ...rest } = r.inputs as Record<string, unknown>;
            return { name: r.name, ...rest } as unknown as ExpectedRule;
        })
        .sort((a, b) => a.name.localeCompare(b.name));
}

/** `[type, name]` pairs of the registrations, sorted, for exact set comparison. */
export function resourceSet(resources: Registration[]): string[] {
    return resources.map((r) => `${r.type} ${r.name}`).sort();
}

/** The expected set in the same shape. */
export function expectedSet(...groups: ReadonlyArray<ReadonlyArray<[string, string]>>): string[] {
    return groups
        .flat()
        .map(([type, name]) => `${type} ${name}`)
        .sort();
}
