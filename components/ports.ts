/**
 * The network ports the cluster uses, in one place: the security-group rules
 * (`securityGroups.ts`) and the pillar that drives the head node's firewall (`pillar.ts`) are both
 * built from these, so the two layers of filtering can never disagree.
 */
import type { SchedulerKind } from "./config";

/** An inclusive TCP port range. */
export interface PortRange {
    /** First port. */
    from: number;
    /** Last port (same as `from` for a single port). */
    to: number;
}

/** Salt master publish and request ports (workers -> head). */
export const SALT_PORTS: PortRange = { from: 4505, to: 4506 };
/** NFSv4 (workers -> head); v4 needs no portmapper or mountd. */
export const NFS_PORT: PortRange = { from: 2049, to: 2049 };
/** SSH. */
export const SSH_PORT: PortRange = { from: 22, to: 22 };
/** HTTPS: dashboard, REST API and Graphite behind the reverse proxy. */
export const HTTPS_PORT: PortRange = { from: 443, to: 443 };

/** Ports of each scheduler. */
export interface SchedulerPorts {
    /** Ports on the head node that workers connect to. */
    headFromWorkers: PortRange[];
    /** Ports on workers that the head node connects to. */
    workerFromHead: PortRange[];
}

/** Slurm: slurmctld 6817, slurmd 6818, and the srun port range on the submit host. */
export const SLURM_PORTS = {
    slurmctld: 6817,
    slurmd: 6818,
    srunRange: { from: 60001, to: 60999 },
} as const;

/** Torque: pbs_server 15001, pbs_mom 15002-15003. */
export const TORQUE_PORTS = { server: 15001, momFrom: 15002, momTo: 15003 } as const;

/** The scheduler's ports between head and workers. */
export function schedulerPorts(scheduler: SchedulerKind): SchedulerPorts {
    if (scheduler === "slurm") {
        return {
            headFromWorkers: [
                { from: SLURM_PORTS.slurmctld, to: SLURM_PORTS.slurmctld },
                SLURM_PORTS.srunRange,
            ],
            workerFromHead: [{ from: SLURM_PORTS.slurmd, to: SLURM_PORTS.slurmd }],
        };
    }
    return {
        headFromWorkers: [{ from: TORQUE_PORTS.server, to: TORQUE_PORTS.server }],
        workerFromHead: [{ from: TORQUE_PORTS.momFrom, to: TORQUE_PORTS.momTo }],
    };
}

/** Ports of services bound to the head node's loopback only (never in a security group). */
export const HEAD_LOCAL_PORTS = {
    /** The Dynamic Cluster service's local API (reactors, Slurm power-saving programs). */
    serviceLocalApi: 8081,
    /** The Dynamic Cluster service's public API and dashboard, behind the reverse proxy. */
    serviceHttp: 8080,
    /** Graphite web, behind the reverse proxy. */
    graphiteWeb: 8090,
    /** Carbon plaintext receiver (the service writes its metrics; carbon's pickle port is off). */
    carbonPlaintext: 2003,
    /** Carbon's cache query port (graphite-web asks it for points not yet on disk). */
    carbonCacheQuery: 7002,
} as const;
