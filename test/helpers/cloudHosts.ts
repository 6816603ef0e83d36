/**
 * The "machines" behind the local Nova's servers, for the service's end-to-end tests. Nova's
 * fake virt driver runs no guest, so this does what a worker VM does after boot, with real parts
 * only: it reads the server's real user-data from Nova (admin view), brings up a network
 * namespace with the address Nova gave the server (test/env/slurm/host-up.sh), writes the Salt
 * minion configuration the user-data carries (as cloud-init writes it) and starts the real
 * salt-minion there. From then on everything happens through real Salt: the minion presents its
 * key to the real master (test/helpers/saltMaster.ts), the master's reactors tell the service,
 * the service accepts or rejects the key, the minion starts, the reactor queues its highstate,
 * the highstate starts the host's slurmd (or fails, per the master's behaviour file), and the
 * master's job cache holds the outcome. A server deleted in Nova powers its host off.
 *
 * Per node, `hang` makes a host never start its minion (a VM whose minion never talks).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as yaml from "js-yaml";
import type { Session } from "../../lib/openstack";
import type { SaltMaster } from "./saltMaster";
import type { SlurmCluster } from "./slurmCluster";

const exec = promisify(execFile);

/** What a host did, for assertions (derived from the master's key directory and slurmd). */
export interface HostRecord {
    serverId: string;
    node: string;
    minionId: string;
    address: string;
    masterFinger: string;
    /** The minion's configuration directory. */
    configDir: string;
    /** When a listing first showed the server ACTIVE (the VM would start booting), ms. */
    activeAt: number;
    state: "booting" | "hung" | "accepted" | "rejected" | "configured" | "off";
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

/** What a worker takes from its user-data: values and the minion configuration file. */
export interface WorkerUserData {
    minionId: string;
    node: string;
    masterFinger: string;
    /** `/etc/salt/minion.d/dynamic-cluster.conf`, verbatim. */
    minionConf: string;
}

/** Values a worker takes from its user-data. */
export function parseWorkerUserData(base64: string): WorkerUserData {
    const text = Buffer.from(base64, "base64").toString("utf8");
    if (!text.startsWith("#cloud-config\n")) throw new Error("user-data is not cloud-config");
    const doc = yaml.load(text) as {
        hostname: string;
        write_files: Array<{ path: string; content: string }>;
    };
    const file = (p: string) => doc.write_files.find((f) => f.path === p)?.content ?? "";
    const minionConf = file("/etc/salt/minion.d/dynamic-cluster.conf");
    const conf = yaml.load(minionConf) as { id: string; master_finger: string };
    const minionId = file("/etc/salt/minion_id").trim();
    if (minionId !== conf.id) throw new Error("minion_id and the minion config disagree");
    return { minionId, node: doc.hostname, masterFinger: conf.master_finger, minionConf };
}

/**
 * Writes a minion's configuration under `root` as cloud-init leaves it on a worker, with the
 * minion's own files (keys, cache, logs) under `root` too (`root_dir`).
 */
export function writeMinionConfig(root: string, minionId: string, minionConf: string): string {
    if (path.join(root, "var/run/salt/minion/minion_event_0123456789_pull.ipc").length > 107) {
        throw new Error(`${root} is too long for the minion's Unix sockets`);
    }
    const configDir = path.join(root, "etc", "salt");
    fs.mkdirSync(path.join(configDir, "minion.d"), { recursive: true });
    fs.writeFileSync(
        path.join(configDir, "minion"),
        `# The test host's base minion configuration (test/helpers/cloudHosts.ts).\nroot_dir: ${root}\nlog_level_logfile: info\n`,
    );
    fs.writeFileSync(path.join(configDir, "minion.d", "dynamic-cluster.conf"), minionConf);
    fs.writeFileSync(path.join(configDir, "minion_id"), minionId);
    return configDir;
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
            master: SaltMaster;
            /** Where hosts keep their minion's files. */
            hostsDir: string;
            /** Nodes whose host never starts its minion. */
            hang: Set<string>;
            venv: string;
        },
    ) {}

    /** Nodes whose host never starts its minion (tests change it to "fix" a fault). */
    get hang(): Set<string> {
        return this.options.hang;
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
            } else if (host.state !== "off") {
                this.observe(host);
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
                node: values.node,
                minionId: values.minionId,
                masterFinger: values.masterFinger,
                // Short: the minion's sockets live under it (Unix socket paths hold 107 bytes).
                configDir: writeMinionConfig(
                    path.join(this.options.hostsDir, server.id.slice(0, 8)),
                    values.minionId,
                    values.minionConf,
                ),
                state: "booting",
                activeAt: listedAt,
            };
            this.hosts.set(server.id, host);
            this.chain(host.node, () => this.boot(host));
        }
    }

    /** A host's progress as the master's key directory and its slurmd show it. */
    private observe(host: HostRecord): void {
        if (host.state === "hung") return;
        const pki = this.options.master.pkiDir;
        if (fs.existsSync(path.join(pki, "minions_rejected", host.minionId)))
            host.state = "rejected";
        else if (
            host.state === "booting" &&
            fs.existsSync(path.join(pki, "minions", host.minionId))
        )
            host.state = "accepted";
        const pidfile = path.join(this.options.slurm.dir, "run", `slurmd-${host.node}.pid`);
        if (host.state === "accepted" && fs.existsSync(pidfile)) host.state = "configured";
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

    private async boot(host: HostRecord): Promise<void> {
        const { slurm } = this.options;
        if (host.state === "off") return;
        if (this.options.hang.has(host.node)) {
            await slurm.hostUp(host.node, host.address, false);
            host.state = "hung";
            return;
        }
        await slurm.hostUpWithMinion(host.node, host.address, host.configDir, this.options.venv);
    }

    /** Lets the hung host of `node` start its minion now (a VM whose minion comes up late). */
    async release(node: string): Promise<void> {
        this.options.hang.delete(node);
        for (const host of this.hosts.values()) {
            if (host.node !== node || host.state !== "hung") continue;
            host.state = "booting";
            await this.options.slurm.hostUpWithMinion(
                host.node,
                host.address,
                host.configDir,
                this.options.venv,
            );
        }
    }

    /**
     * Starts a minion that no server of the cluster accounts for (a stranger, or a second key for
     * a known ID): its own host named `name` at `address`, configured with `minionId` and the
     * master's fingerprint. Returns its configuration directory.
     */
    async startStranger(options: {
        name: string;
        address: string;
        minionId: string;
        masterFinger: string;
    }): Promise<string> {
        const conf = [
            `master: "${this.options.master.address}"`,
            `master_finger: "${options.masterFinger}"`,
            "master_type: str",
            `id: "${options.minionId}"`,
            "acceptance_wait_time: 10",
            "",
        ].join("\n");
        const configDir = writeMinionConfig(
            path.join(this.options.hostsDir, `s-${options.name}`),
            options.minionId,
            conf,
        );
        await this.options.slurm.hostUpWithMinion(
            options.name,
            options.address,
            configDir,
            this.options.venv,
        );
        return configDir;
    }

    /**
     * Runs `salt-call ARGS` on a host as its minion (same key and ID; e.g. `event.send`), in the
     * host's network namespace. Returns its JSON answer.
     */
    async saltCall(node: string, configDir: string, ...args: string[]): Promise<unknown> {
        const { stdout } = await exec(
            "nsenter",
            [
                `--net=/run/netns/dcw-${node}`,
                path.join(this.options.venv, "bin", "salt-call"),
                "-c",
                configDir,
                "--out",
                "json",
                ...args,
            ],
            { encoding: "utf8", timeout: 120_000 },
        );
        return JSON.parse(stdout);
    }
}
