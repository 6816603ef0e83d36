/**
 * The cluster's security-group rules, as data.
 *
 * `securityGroupRules` is pure so the exact rule set is unit-tested and asserted by the mock
 * tests; `network.ts` turns each spec into a `networking.SecGroupRule`. Both groups are created
 * with Neutron's default rules removed, so these rules are the whole policy: users reach only SSH
 * and HTTPS on the head node, from their CIDR; everything between head and workers is allowed by
 * remote-group rules for exactly the ports the cluster uses; workers reach each other freely
 * (MPI); both may open outbound IPv4 connections (package mirrors, the OpenStack API).
 */
import * as ipaddr from "ipaddr.js";
import type { SchedulerKind } from "./config";
import {
    HTTPS_PORT,
    NFS_PORT,
    type PortRange,
    SALT_PORTS,
    schedulerPorts,
    SSH_PORT,
} from "./ports";

/** Which of the two groups a rule belongs to, or refers to. */
export type GroupRole = "head" | "worker";

/** One security-group rule, before it becomes a resource. */
export interface RuleSpec {
    /** Suffix of the rule's resource name (`<component>-<suffix>`), unique. */
    suffix: string;
    /** The group the rule is attached to. */
    group: GroupRole;
    /** Traffic direction. */
    direction: "ingress" | "egress";
    /** IP version. */
    ethertype: "IPv4" | "IPv6";
    /** Protocol, or undefined for any protocol. */
    protocol?: "tcp" | "udp" | "icmp";
    /** Port range (tcp/udp only). */
    ports?: PortRange;
    /** Source (ingress) or destination (egress): a CIDR or the other group. */
    remote: { cidr: string } | { group: GroupRole };
    /** Human-readable purpose, stored as the rule's description. */
    description: string;
}

function ethertypeOf(cidr: string): "IPv4" | "IPv6" {
    return ipaddr.parseCIDR(cidr)[0].kind() === "ipv4" ? "IPv4" : "IPv6";
}

function portLabel(range: PortRange): string {
    return range.from === range.to ? `${range.from}` : `${range.from}-${range.to}`;
}

/**
 * The complete rule set of a cluster.
 *
 * @param scheduler decides the scheduler ports between head and workers.
 * @param allowedCidrs the users' network ranges (already validated). The first range's rules keep
 *   the names a single range always had (`head-ssh-from-users`, ...), so adding a range replaces
 *   no rule; the others are numbered from 2.
 */
export function securityGroupRules(
    scheduler: SchedulerKind,
    allowedCidrs: readonly string[],
): RuleSpec[] {
    const sched = schedulerPorts(scheduler);
    const tcpFrom = (
        suffix: string,
        group: GroupRole,
        ports: PortRange,
        remote: RuleSpec["remote"],
        description: string,
    ): RuleSpec => ({
        suffix,
        group,
        direction: "ingress",
        ethertype: "cidr" in remote ? ethertypeOf(remote.cidr) : "IPv4",
        protocol: "tcp",
        ports,
        remote,
        description,
    });
    const numbered = (suffix: string, i: number) => (i === 0 ? suffix : `${suffix}-${i + 1}`);
    return [
        ...allowedCidrs.flatMap((cidr, i) => [
            tcpFrom(
                numbered("head-ssh-from-users", i),
                "head",
                SSH_PORT,
                { cidr },
                "SSH from users",
            ),
            tcpFrom(
                numbered("head-https-from-users", i),
                "head",
                HTTPS_PORT,
                { cidr },
                "Dashboard, API and Graphite from users",
            ),
        ]),
        tcpFrom(
            "head-salt-from-workers",
            "head",
            SALT_PORTS,
            { group: "worker" },
            "Salt master from workers",
        ),
        tcpFrom(
            "head-nfs-from-workers",
            "head",
            NFS_PORT,
            { group: "worker" },
            "NFSv4 /data from workers",
        ),
        ...sched.headFromWorkers.map((ports) =>
            tcpFrom(
                `head-${scheduler}-${portLabel(ports)}-from-workers`,
                "head",
                ports,
                { group: "worker" },
                `${scheduler} ${portLabel(ports)} from workers`,
            ),
        ),
        tcpFrom(
            "worker-ssh-from-head",
            "worker",
            SSH_PORT,
            { group: "head" },
            "SSH from the head node",
        ),
        ...sched.workerFromHead.map((ports) =>
            tcpFrom(
                `worker-${scheduler}-${portLabel(ports)}-from-head`,
                "worker",
                ports,
                { group: "head" },
                `${scheduler} ${portLabel(ports)} from the head node`,
            ),
        ),
        {
            suffix: "worker-all-from-workers",
            group: "worker",
            direction: "ingress",
            ethertype: "IPv4",
            remote: { group: "worker" },
            description: "Any traffic between workers (MPI, scheduler tree)",
        },
        {
            suffix: "head-egress-ipv4",
            group: "head",
            direction: "egress",
            ethertype: "IPv4",
            remote: { cidr: "0.0.0.0/0" },
            description: "Outbound: OpenStack API, package mirrors",
        },
        {
            suffix: "worker-egress-ipv4",
            group: "worker",
            direction: "egress",
            ethertype: "IPv4",
            remote: { cidr: "0.0.0.0/0" },
            description: "Outbound: package mirrors",
        },
    ];
}
