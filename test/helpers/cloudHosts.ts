/**
 * The "machines" behind the local Nova's servers, for the end-to-end tests. Nova's fake virt
 * driver runs no guest, so this plays what a worker VM would do after boot, with real parts:
 * it reads the server's real user-data from Nova (admin view), takes the minion ID, node name and
 * master fingerprint from it, brings up a network namespace with the address Nova gave the
 * server, presents a fresh RSA key to the Salt master's key directory and fires `salt/auth`
 * through the project's reactor until the service accepts or rejects it, then fires the start
 * event, "runs the highstate" (starts the real slurmd, configless, in the namespace) and fires
 * the ready (or failed) event. A server deleted in Nova powers its host off.
 *
 * Per node, `behaviour` can make a host never join (`hang`) or fail its highstate.
 */
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Session } from "../../lib/openstack";
import { fireReactor, type ReactorTarget } from "./saltEvents";
import type { SlurmCluster } from "./slurmCluster";

/** How hosts misbehave, by node name. */
export interface HostBehaviour {
    /** The VM boots but its minion never talks to the master. */
    hang: Set<string>;
    /** The highstate fails. */
    failHighstate: Set<string>;
}

/** What a host did, for assertions. */
export interface HostRecord {
    serverId: string;
    node: string;
    minionId: string;
    address: string;
    masterFinger: string;
    state: "booting" | "hung" | "rejected" | "configured" | "failed" | "off";
    authAttempts: number;
}

/** When listings showed a server, in any status (ms). */
interface ListedServer {
    id: string;
    name: string;
    firstAt: number;
    goneAt?: number;
}

interface NovaServer {
    id: string;
    name: string;
    status: string;
    addresses?: Record<string, Array<{ addr: string; version: number }>>;
    "OS-EXT-SRV-ATTR:user_data"?: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Values a worker takes from its user-data. */
export function parseWorkerUserData(base64: string): {
    minionId: string;
    node: string;
    masterFinger: string;
} {
    const text = Buffer.from(base64, "base64").toString("utf8");
    if (!text.startsWith("#cloud-config\n")) throw new Error("user-data is not cloud-config");
    const doc = yaml.load(text) as {
        hostname: string;
        write_files: Array<{ path: string; content: string }>;
    };
    const file = (p: string) => doc.write_files.find((f) => f.path === p)?.content ?? "";
    const minionConf = yaml.load(file("/etc/salt/minion.d/dynamic-cluster.conf")) as {
        id: string;
        master_finger: string;
    };
    const minionId = file("/etc/salt/minion_id").trim();
    if (minionId !== minionConf.id) throw new Error("minion_id and the minion config disagree");
    return { minionId, node: doc.hostname, masterFinger: minionConf.master_finger };
}

/** Emulated worker machines for the servers of one cluster tag. */
export class CloudHosts {
    readonly hosts = new Map<string, HostRecord>();
    private readonly listed = new Map<string, ListedServer>();
    private readonly chains = new Map<string, Promise<void>>();
    private running = false;
    private loop?: Promise<void>;
    /** Errors met while playing a host (a test asserts there are none). */
    readonly errors: string[] = [];

    constructor(
        private readonly options: {
            admin: Session;
            clusterTag: string;
            slurm: SlurmCluster;
            pkiDir: string;
            reactor: ReactorTarget;
            behaviour: HostBehaviour;
        },
    ) {}

    /** How hosts misbehave (tests change it to "fix" a fault). */
    get behaviour(): HostBehaviour {
        return this.options.behaviour;
    }

    /** Where Salt events go (for tests that fire events of their own). */
    get reactorTarget(): ReactorTarget {
        return this.options.reactor;
    }

    /** Starts watching Nova. */
    start(): void {
        this.running = true;
        this.loop = (async () => {
            while (this.running) {
                try {
                    await this.poll();
                } catch (err) {
                    this.errors.push(`poll: ${(err as Error).message}`);
                }
                await sleep(300);
            }
        })();
    }

    /** Stops watching and powers every host off. */
    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
        // Every host is powered off: boots still waiting for the master give up.
        const nodes = new Set<string>();
        for (const host of this.hosts.values()) {
            nodes.add(host.node);
            host.state = "off";
        }
        await Promise.allSettled([...this.chains.values()]);
        for (const node of nodes) await this.options.slurm.hostDown(node).catch(() => undefined);
    }

    private async poll(): Promise<void> {
        const response = await this.options.admin.request("compute", {
            method: "GET",
            path: `/servers/detail?all_tenants=1&tags=${encodeURIComponent(this.options.clusterTag)}`,
            headers: { "OpenStack-API-Version": "compute 2.52" },
        });
        const listedAt = Date.now();
        const servers = (response.json as { servers: NovaServer[] }).servers;
        const live = new Set(servers.map((s) => s.id));
        for (const server of servers) {
            if (!this.listed.has(server.id))
                this.listed.set(server.id, { id: server.id, name: server.name, firstAt: listedAt });
        }
        for (const entry of this.listed.values())
            if (!live.has(entry.id)) entry.goneAt ??= listedAt;
        for (const host of this.hosts.values()) {
            if (!live.has(host.serverId) && host.state !== "off") {
                host.state = "off";
                this.chain(host.node, () => this.options.slurm.hostDown(host.node));
            }
        }
        for (const server of servers) {
            if (this.hosts.has(server.id) || server.status !== "ACTIVE") continue;
            const address = Object.values(server.addresses ?? {})
                .flat()
                .find((a) => a.version === 4)?.addr;
            const userData = server["OS-EXT-SRV-ATTR:user_data"];
            if (!address || !userData) continue;
            const values = parseWorkerUserData(userData);
            const host: HostRecord = {
                serverId: server.id,
                address,
                state: "booting",
                authAttempts: 0,
                ...values,
            };
            this.hosts.set(server.id, host);
            this.chain(host.node, () => this.boot(host));
        }
    }

    /**
     * Nodes (server names) that had two servers at once: some listing showed both, in any
     * status. A name reused by a later server once the earlier one is gone is not a duplicate.
     */
    overlappingServers(): string[] {
        const byName = new Map<string, ListedServer[]>();
        for (const entry of this.listed.values())
            byName.set(entry.name, [...(byName.get(entry.name) ?? []), entry]);
        const duplicated: string[] = [];
        for (const [name, entries] of byName) {
            const sorted = entries.sort((a, b) => a.firstAt - b.firstAt);
            for (let i = 1; i < sorted.length; i++) {
                const earlier = sorted[i - 1]!;
                if (earlier.goneAt === undefined || sorted[i]!.firstAt < earlier.goneAt)
                    duplicated.push(`${name} (${earlier.id} and ${sorted[i]!.id})`);
            }
        }
        return duplicated;
    }

    /** Runs `work` after whatever runs for `node` (a node name is reused by later servers). */
    private chain(node: string, work: () => Promise<void>): void {
        const next = (this.chains.get(node) ?? Promise.resolve()).then(work).catch((err) => {
            this.errors.push(`${node}: ${(err as Error).message}`);
        });
        this.chains.set(node, next);
    }

    private key(state: "minions" | "minions_pre" | "minions_rejected", id: string): string {
        return path.join(this.options.pkiDir, state, id);
    }

    /** The poll loop powers hosts off concurrently with a boot. */
    private isOff(host: HostRecord): boolean {
        return host.state === "off";
    }

    private async boot(host: HostRecord): Promise<void> {
        const { slurm, behaviour, reactor } = this.options;
        if (this.isOff(host)) return;
        await slurm.hostUp(host.node, host.address, false);
        if (behaviour.hang.has(host.node)) {
            host.state = "hung";
            return;
        }
        // The minion's first contact: the master stores the key as pending and fires salt/auth.
        const pub = generateKeyPairSync("rsa", { modulusLength: 2048 })
            .publicKey.export({ type: "spki", format: "pem" })
            .toString();
        fs.mkdirSync(path.dirname(this.key("minions_pre", host.minionId)), { recursive: true });
        fs.writeFileSync(this.key("minions_pre", host.minionId), pub);
        for (;;) {
            if (this.isOff(host)) return;
            host.authAttempts++;
            await fireReactor(reactor, "reactor/auth.sls", "salt/auth", {
                result: true,
                act: "pend",
                id: host.minionId,
                pub,
            });
            if (fs.existsSync(this.key("minions", host.minionId))) break;
            if (fs.existsSync(this.key("minions_rejected", host.minionId))) {
                host.state = "rejected";
                return;
            }
            await sleep(1000); // a real minion retries every acceptance_wait_time (10 s)
        }
        const started = `salt/minion/${host.minionId}/start`;
        await fireReactor(reactor, "reactor/start.sls", started, {
            id: host.minionId,
            cmd: "_minion_event",
            data: `Minion ${host.minionId} started at ${new Date().toString()}`,
            _stamp: new Date().toISOString(),
        });
        if (this.isOff(host)) return;
        if (behaviour.failHighstate.has(host.node)) {
            host.state = "failed";
            await fireReactor(reactor, "reactor/worker.sls", "dynamic-cluster/worker/failed", {
                id: host.minionId,
                data: { node_name: host.node },
            });
            return;
        }
        await slurm.hostUp(host.node, host.address);
        host.state = "configured";
        await fireReactor(reactor, "reactor/worker.sls", "dynamic-cluster/worker/ready", {
            id: host.minionId,
            data: { node_name: host.node },
        });
    }
}
