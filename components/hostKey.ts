/**
 * `SshHostKey`: the head node's SSH host key, checked once per server and pinned for every
 * provisioning step after it (components/provisioner.ts).
 *
 * How it is checked (`sshHostKeyCheck`):
 * - `console` (the default): the key the server presents must be one of those cloud-init printed
 *   to the server's console at the end of its first boot (`-----BEGIN SSH HOST KEY
 *   FINGERPRINTS-----`, module keys_to_console), read through Nova's console log with the
 *   workstation's credentials, so a machine that answers at the head's address without being it
 *   is refused before anything is sent. It waits (up to the connection's deadline) until the
 *   console shows them;
 * - `first-use`: the first key presented is taken, for images that print no fingerprints.
 * Either way the key is pinned: it is replaced (checked again) only with a new server or a new
 * check mode, never because a later step changed, so the pin never resets silently; a server that
 * presents another key later is refused with the command that checks it again
 * (components/ssh.ts `connect`).
 *
 * Serialized by value into the stack's state, like the other dynamic providers: `ssh2` is
 * required inside ./ssh's functions, the OpenStack client comes from lib/.
 */
import * as pulumi from "@pulumi/pulumi";
import { configureFromStack, novaClient } from "./providerCloud";
import { connectionInputs, privateKeyInput, type SshConnectionArgs } from "./ssh";
import { checkConnection, connect, type SshConnection } from "./sshSession";
import { containsUnknown } from "./unknown";

/** How provisioning trusts the head node's SSH host key. */
export type HostKeyCheck = "console" | "first-use";

/** Bumped when the provider's behaviour changes (stored, so a new version updates the state). */
export const SSH_HOST_KEY_PROVIDER_VERSION = 1;

/** How often the console log is read while it shows no fingerprints yet, ms. */
const CONSOLE_POLL_MS = 10_000;

/**
 * The SSH host key fingerprints (`SHA256:...`) cloud-init printed in `console`, from the last
 * complete `SSH HOST KEY FINGERPRINTS` block (a console holds every boot's), whatever prefix the
 * lines carry (cloud-init writes them through syslog: `<14>Dec  6 20:27:24 cloud-init: 256
 * SHA256:... root@head (ECDSA)`); undefined when there is no complete block yet.
 */
export function consoleHostKeyFingerprints(console: string): string[] | undefined {
    let found: string[] | undefined;
    let block: string[] | undefined;
    for (const line of console.split(/\r?\n/)) {
        if (line.includes("-----BEGIN SSH HOST KEY FINGERPRINTS-----")) {
            block = [];
        } else if (line.includes("-----END SSH HOST KEY FINGERPRINTS-----")) {
            if (block?.length) found = block;
            block = undefined;
        } else if (block) {
            const fingerprint = /\s(SHA256:[A-Za-z0-9+/]{43})(?:\s|$)/.exec(line)?.[1];
            if (fingerprint) block.push(fingerprint);
        }
    }
    return found;
}

/** Inputs of the provider. */
export interface SshHostKeyInputs {
    connection: SshConnection;
    /** PEM private key; "" means the ssh-agent. A secret input of its own. */
    privateKey: string;
    /** The Nova server whose console lists the keys. */
    serverId: string;
    check: HostKeyCheck;
}

/** Outputs: the key, how it was checked, and what it was checked for. */
export interface SshHostKeyOutputs {
    connection: SshConnection;
    serverId: string;
    check: HostKeyCheck;
    /** The key the server presented (`SHA256:...`). */
    hostKeySha256: string;
    /** Every key the console listed (empty for first-use). */
    consoleKeys: string[];
    providerVersion: number;
}

/** Reads the server's console log until it lists host keys; fails at `deadline` with the remedy. */
async function consoleKeys(serverId: string, deadline: number): Promise<string[]> {
    const nova = novaClient();
    for (;;) {
        const keys = consoleHostKeyFingerprints(await nova.consoleOutput(serverId));
        if (keys) return keys;
        if (Date.now() + CONSOLE_POLL_MS > deadline) {
            throw new Error(
                `The head node's console (\`openstack console log show ${serverId}\`) showed no SSH ` +
                    "host key fingerprints in time: cloud-init prints them at the end of its first boot " +
                    "(its keys_to_console module), and the provisioning checks the key the head presents " +
                    "against them. If the boot failed, the console log says why. If your image prints no " +
                    "fingerprints, trust the first key it presents instead: " +
                    "`pulumi config set sshHostKeyCheck first-use`.",
            );
        }
        await new Promise((resolve) => setTimeout(resolve, CONSOLE_POLL_MS));
    }
}

/** Checks the server's key as `inputs.check` says; returns the outputs. */
async function checkHostKey(inputs: SshHostKeyInputs): Promise<SshHostKeyOutputs> {
    const deadline = Date.now() + inputs.connection.connectTimeoutSeconds * 1000;
    const listed =
        inputs.check === "console" ? await consoleKeys(inputs.serverId, deadline) : undefined;
    const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    const session = await connect(
        { ...inputs.connection, hostKeySha256: "", connectTimeoutSeconds: remaining },
        inputs.privateKey,
        listed,
    );
    session.client.end();
    return {
        connection: inputs.connection,
        serverId: inputs.serverId,
        check: inputs.check,
        hostKeySha256: session.hostKeySha256,
        consoleKeys: listed ?? [],
        providerVersion: SSH_HOST_KEY_PROVIDER_VERSION,
    };
}

/** The provider behind {@link SshHostKey}. Exported for tests. */
export const sshHostKeyProvider: pulumi.dynamic.ResourceProvider = {
    configure: configureFromStack,

    async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
        const failures = checkConnection(news["connection"] as Partial<SshConnection>);
        const check = news["check"];
        if (!containsUnknown(check) && check !== "console" && check !== "first-use") {
            failures.push({
                property: "check",
                reason: 'check must be "console" or "first-use".',
            });
        }
        const serverId = news["serverId"];
        if (!containsUnknown(serverId) && (typeof serverId !== "string" || serverId === "")) {
            failures.push({ property: "serverId", reason: "serverId must be the server's ID." });
        }
        return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
    },

    async diff(_id: string, olds: SshHostKeyOutputs, news: SshHostKeyInputs) {
        // A new server, or another way of checking: check again. Nothing else does.
        const replaces = (["serverId", "check"] as const).filter((key) => olds[key] !== news[key]);
        const changes =
            replaces.length > 0 ||
            JSON.stringify(olds.connection) !== JSON.stringify(news.connection) ||
            olds.providerVersion !== SSH_HOST_KEY_PROVIDER_VERSION;
        return { changes, replaces };
    },

    async create(inputs: SshHostKeyInputs) {
        const outs = await checkHostKey(inputs);
        const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
        return { id: randomUUID(), outs };
    },

    async update(_id: string, olds: SshHostKeyOutputs, news: SshHostKeyInputs) {
        // Only the connection (address, deadline) changed: the pin stays.
        return {
            outs: {
                ...olds,
                connection: news.connection,
                providerVersion: SSH_HOST_KEY_PROVIDER_VERSION,
            },
        };
    },
};

/** Arguments of {@link SshHostKey}. */
export interface SshHostKeyArgs {
    /** How to reach the server (its key is what this finds out). */
    connection: Omit<SshConnectionArgs, "hostKeySha256" | "hostKeyPinnedBy">;
    /** The Nova server; a new one checks its key again. */
    serverId: pulumi.Input<string>;
    /** How the key is trusted (`sshHostKeyCheck`). */
    check: HostKeyCheck;
}

/** The head node's SSH host key, checked once per server (see the module header). */
export class SshHostKey extends pulumi.dynamic.Resource {
    /** The key the server presented (`SHA256:...`). */
    declare readonly hostKeySha256: pulumi.Output<string>;
    /** The keys the console listed (empty for first-use). */
    declare readonly consoleKeys: pulumi.Output<string[]>;

    /**
     * @param name The _unique_ name of this resource.
     * @param args Connection, server and check mode.
     * @param opts A bag of options that control this resource's behavior.
     */
    constructor(name: string, args: SshHostKeyArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            sshHostKeyProvider,
            name,
            {
                connection: connectionInputs(args.connection),
                privateKey: privateKeyInput(args.connection),
                serverId: args.serverId,
                check: args.check,
                hostKeySha256: undefined,
                consoleKeys: undefined,
                providerVersion: undefined,
            },
            opts,
            "dynamic-cluster",
            "SshHostKey",
        );
    }
}
