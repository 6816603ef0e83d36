/**
 * The head node's ipset of live worker addresses (`dc-workers`): the firewall
 * (salt/dynamic_cluster/head/firewall.sls) opens NFS and the scheduler's ports to its members
 * only. The service keeps it equal to the addresses of workers whose Salt key it accepted.
 */
import type { CommandRunner } from "./exec";

/** One named `hash:ip` set. */
export class IpSet {
    constructor(
        readonly name: string,
        private readonly run: CommandRunner,
    ) {}

    /** Creates the set if it does not exist. */
    async ensure(): Promise<void> {
        await this.run("ipset", ["-exist", "create", this.name, "hash:ip"]);
    }

    /** Current members. */
    async members(): Promise<Set<string>> {
        const { stdout } = await this.run("ipset", ["save", this.name]);
        const members = new Set<string>();
        for (const line of stdout.split("\n")) {
            const parts = line.trim().split(/\s+/);
            if (parts[0] === "add" && parts[1] === this.name && parts[2]) members.add(parts[2]);
        }
        return members;
    }

    /** Makes the members exactly `wanted`; returns what changed. */
    async sync(wanted: ReadonlySet<string>): Promise<{ added: string[]; removed: string[] }> {
        await this.ensure();
        const current = await this.members();
        const added = [...wanted].filter((a) => !current.has(a)).sort();
        const removed = [...current].filter((a) => !wanted.has(a)).sort();
        if (added.length || removed.length) {
            const script = [
                ...added.map((a) => `add ${this.name} ${a} -exist`),
                ...removed.map((a) => `del ${this.name} ${a} -exist`),
            ].join("\n");
            await this.run("ipset", ["restore"], { input: `${script}\n` });
        }
        return { added, removed };
    }

    /** Removes the set (tests). */
    async destroy(): Promise<void> {
        await this.run("ipset", ["-exist", "destroy", this.name]).catch(() => undefined);
    }
}
