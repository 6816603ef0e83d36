/**
 * SSH steps of the head node's provisioning, as two dynamic resources run by the program itself:
 * `RemoteCommand` (run a command, optionally with stdin, once per set of triggers) and
 * `RemoteCopy` (copy a local directory to a remote path, once per content hash).
 *
 * Why not `@pulumi/command`: its provider plugin is a Go program that the Go module proxy does
 * not serve, so the project's tests cannot build it and run the program under the real engine
 * (test/env/pulumi/README.md). These resources need no plugin at all, so the path a user runs is
 * the one the tests run; they also pin the head node's SSH host key, which `@pulumi/command`
 * does not check: the first step records it and every later step refuses another key.
 *
 * Semantics (the subset of `@pulumi/command`'s the provisioner used):
 * - a change of `command`, `stdin` or `triggers` replaces the resource, which runs the command
 *   again; a change of the connection alone is recorded without running anything;
 * - a command that exits non-zero fails the step with its exit code and the end of its output;
 * - connecting is retried (refused, unreachable, timed out, key not yet accepted) until
 *   `connectTimeoutSeconds`, as a booting server needs; a command that runs longer than
 *   `timeoutSeconds` is killed and fails the step;
 * - deleting runs nothing; stdin and the private key are never kept in the outputs (only a hash of
 *   stdin, to notice changes), and the engine keeps secret inputs encrypted in state.
 *
 * The providers are serialized by value into the stack's state: `ssh2` and `tar` are required
 * inside the methods, and this module imports no npm package at run time.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    connect,
    execute,
    OUTPUT_LIMIT,
    requireSuccess,
    sha256,
    type SshConnection,
    tail,
    checkConnection,
} from "./sshSession";
import { containsUnknown } from "./unknown";

export {
    checkConnection,
    connect,
    ERROR_OUTPUT_LIMIT,
    hostKeyFingerprint,
    isRetryableConnectError,
    OUTPUT_LIMIT,
    redact,
    REDACTED,
    type Session,
    type SshConnection,
    tail,
} from "./sshSession";

/** Bumped when the providers' behaviour changes (stored, so a new version updates the state). */
export const SSH_PROVIDER_VERSION = 1;

/** Inputs of {@link RemoteCommand} as the provider sees them. */
export interface RemoteCommandInputs {
    connection: SshConnection;
    /** PEM private key; "" means the ssh-agent at `SSH_AUTH_SOCK`. A secret input of its own. */
    privateKey: string;
    command: string;
    /** Fed to the command's stdin ("" for none). */
    stdin: string;
    triggers: unknown[];
    timeoutSeconds: number;
    /**
     * Secret values the command's output may echo (a state run's failure shows rendered data):
     * redacted from the error when it fails. A secret input of its own, never in the outputs.
     */
    redact?: string[];
}

/** Outputs of {@link RemoteCommand}: the inputs without secrets, and what the command printed. */
export interface RemoteCommandOutputs {
    connection: SshConnection;
    command: string;
    stdinSha256: string;
    triggers: unknown[];
    timeoutSeconds: number;
    stdout: string;
    stderr: string;
    /** The host key the server presented. */
    hostKeySha256: string;
    providerVersion: number;
}

/** Inputs of {@link RemoteCopy} as the provider sees them. */
export interface RemoteCopyInputs {
    connection: SshConnection;
    /** PEM private key; "" means the ssh-agent. */
    privateKey: string;
    /** Local directory whose content is copied. */
    sourceDir: string;
    /** Remote directory; replaced as a whole by the copy. */
    remotePath: string;
    /** Hash of the directory's content; a new hash copies again. */
    contentHash: string;
    /** Any change copies again (e.g. a new server). */
    triggers: unknown[];
}

/** Outputs of {@link RemoteCopy}. */
export interface RemoteCopyOutputs {
    connection: SshConnection;
    sourceDir: string;
    remotePath: string;
    contentHash: string;
    triggers: unknown[];
    hostKeySha256: string;
    providerVersion: number;
}

async function runCommand(inputs: RemoteCommandInputs): Promise<RemoteCommandOutputs> {
    const session = await connect(inputs.connection, inputs.privateKey);
    try {
        const result = await execute(session, inputs.command, inputs.stdin, inputs.timeoutSeconds);
        requireSuccess("The provisioning command", inputs.connection.host, result, [
            ...(inputs.redact ?? []),
            inputs.stdin,
            inputs.privateKey,
        ]);
        return {
            connection: inputs.connection,
            command: inputs.command,
            stdinSha256: sha256(inputs.stdin),
            triggers: inputs.triggers,
            timeoutSeconds: inputs.timeoutSeconds,
            stdout: tail(result.stdout, OUTPUT_LIMIT),
            stderr: tail(result.stderr, OUTPUT_LIMIT),
            hostKeySha256: session.hostKeySha256,
            providerVersion: SSH_PROVIDER_VERSION,
        };
    } finally {
        session.client.end();
    }
}

/** The remote shell command that unpacks a gzipped tar from stdin into `path`, replacing it. */
export function unpackCommand(path: string): string {
    const quoted = `'${path.replace(/'/g, `'\\''`)}'`;
    return (
        `set -e; target=${quoted}; rm -rf "$target.incoming"; mkdir -p "$target.incoming"; ` +
        `tar -xzf - -C "$target.incoming"; rm -rf "$target"; mv "$target.incoming" "$target"`
    );
}

async function copyDirectory(inputs: RemoteCopyInputs): Promise<RemoteCopyOutputs> {
    const { existsSync, statSync } = require("node:fs") as typeof import("node:fs");
    if (!existsSync(inputs.sourceDir) || !statSync(inputs.sourceDir).isDirectory()) {
        throw new Error(`${inputs.sourceDir} is not a directory on this workstation.`);
    }
    const tar = require("tar") as typeof import("tar");
    const session = await connect(inputs.connection, inputs.privateKey);
    try {
        const archive = tar.create({ gzip: true, cwd: inputs.sourceDir, portable: true }, ["."]);
        const result = await execute(
            session,
            unpackCommand(inputs.remotePath),
            archive as unknown as NodeJS.ReadableStream,
            600,
        );
        requireSuccess(
            `Copying ${inputs.sourceDir} to ${inputs.remotePath}`,
            inputs.connection.host,
            result,
        );
        return {
            connection: inputs.connection,
            sourceDir: inputs.sourceDir,
            remotePath: inputs.remotePath,
            contentHash: inputs.contentHash,
            triggers: inputs.triggers,
            hostKeySha256: session.hostKeySha256,
            providerVersion: SSH_PROVIDER_VERSION,
        };
    } finally {
        session.client.end();
    }
}

/** True when the stored connection differs from the new one (the key is not compared). */
function connectionChanged(old: SshConnection, next: SshConnection): boolean {
    return JSON.stringify(old) !== JSON.stringify(next);
}

/** The provider behind {@link RemoteCommand}. Exported for tests. */
export const remoteCommandProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
        const failures = checkConnection(news["connection"] as Partial<SshConnection>);
        const command = news["command"];
        if (!containsUnknown(command) && (typeof command !== "string" || command === "")) {
            failures.push({ property: "command", reason: "command must not be empty." });
        }
        const timeout = news["timeoutSeconds"];
        if (!containsUnknown(timeout) && (!Number.isInteger(timeout) || (timeout as number) < 1)) {
            failures.push({
                property: "timeoutSeconds",
                reason: "timeoutSeconds must be a positive whole number.",
            });
        }
        return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
    },

    async diff(_id: string, olds: RemoteCommandOutputs, news: RemoteCommandInputs) {
        const replaces: string[] = [];
        if (olds.command !== news.command) replaces.push("command");
        if (olds.stdinSha256 !== sha256(news.stdin)) replaces.push("stdin");
        if (JSON.stringify(olds.triggers) !== JSON.stringify(news.triggers))
            replaces.push("triggers");
        const changes =
            replaces.length > 0 ||
            connectionChanged(olds.connection, news.connection) ||
            olds.timeoutSeconds !== news.timeoutSeconds ||
            olds.providerVersion !== SSH_PROVIDER_VERSION;
        return { changes, replaces };
    },

    async create(inputs: RemoteCommandInputs) {
        const outs = await runCommand(inputs);
        const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
        return { id: randomUUID(), outs };
    },

    async update(_id: string, olds: RemoteCommandOutputs, news: RemoteCommandInputs) {
        // Only the connection, timeout or provider version changed: nothing runs again.
        return {
            outs: {
                ...olds,
                connection: news.connection,
                timeoutSeconds: news.timeoutSeconds,
                providerVersion: SSH_PROVIDER_VERSION,
            },
        };
    },
};

/** The provider behind {@link RemoteCopy}. Exported for tests. */
export const remoteCopyProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
        const failures = checkConnection(news["connection"] as Partial<SshConnection>);
        const remotePath = news["remotePath"];
        if (
            !containsUnknown(remotePath) &&
            (typeof remotePath !== "string" || !/^\/[A-Za-z0-9._/-]+$/.test(remotePath))
        ) {
            failures.push({
                property: "remotePath",
                reason: "remotePath must be an absolute path.",
            });
        }
        if (typeof news["sourceDir"] !== "string" || news["sourceDir"] === "") {
            failures.push({
                property: "sourceDir",
                reason: "sourceDir must be a local directory.",
            });
        }
        return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
    },

    async diff(_id: string, olds: RemoteCopyOutputs, news: RemoteCopyInputs) {
        const replaces: string[] = (["remotePath", "contentHash"] as const).filter(
            (key) => olds[key] !== news[key],
        );
        if (JSON.stringify(olds.triggers) !== JSON.stringify(news.triggers))
            replaces.push("triggers");
        const changes =
            replaces.length > 0 ||
            connectionChanged(olds.connection, news.connection) ||
            olds.sourceDir !== news.sourceDir ||
            olds.providerVersion !== SSH_PROVIDER_VERSION;
        return { changes, replaces };
    },

    async create(inputs: RemoteCopyInputs) {
        const outs = await copyDirectory(inputs);
        const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
        return { id: randomUUID(), outs };
    },

    async update(_id: string, olds: RemoteCopyOutputs, news: RemoteCopyInputs) {
        // Same content at the same path: a new checkout directory or connection changes nothing.
        return {
            outs: {
                ...olds,
                connection: news.connection,
                sourceDir: news.sourceDir,
                providerVersion: SSH_PROVIDER_VERSION,
            },
        };
    },
};

/** How to reach the host, as resource arguments. */
export interface SshConnectionArgs {
    host: pulumi.Input<string>;
    /** Default 22. */
    port?: pulumi.Input<number>;
    user: pulumi.Input<string>;
    /** PEM private key (kept secret); unset means the ssh-agent. */
    privateKey?: pulumi.Input<string>;
    /** How long to keep retrying to connect, seconds (default 600). */
    connectTimeoutSeconds?: pulumi.Input<number>;
    /** Host key the server must present (the head's {@link SshHostKey}). */
    hostKeySha256?: pulumi.Input<string>;
    /** The URN of the resource that checked the pinned key (for the remedy when it changes). */
    hostKeyPinnedBy?: pulumi.Input<string>;
}

/** The connection as the providers take it (no key; defaults filled in). */
export function connectionInputs(args: SshConnectionArgs): pulumi.Input<SshConnection> {
    const { privateKey: _key, ...connection } = args;
    return pulumi.output(connection).apply((c) => ({
        host: c.host,
        port: c.port ?? 22,
        user: c.user,
        connectTimeoutSeconds: c.connectTimeoutSeconds ?? 600,
        hostKeySha256: c.hostKeySha256 ?? "",
        hostKeyPinnedBy: c.hostKeyPinnedBy ?? "",
    }));
}

/** The private key input: always secret, "" for the ssh-agent. */
export function privateKeyInput(args: SshConnectionArgs): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(args.privateKey ?? ""));
}

/** Arguments of {@link RemoteCommand}. */
export interface RemoteCommandArgs {
    connection: SshConnectionArgs;
    /** Shell command run by the login user's shell. */
    command: pulumi.Input<string>;
    /** Text fed to the command's stdin; pass secrets here, never in `command`. */
    stdin?: pulumi.Input<string>;
    /** Any change runs the command again. */
    triggers?: pulumi.Input<unknown[]>;
    /** Seconds before the command is killed (default 600). */
    timeoutSeconds?: pulumi.Input<number>;
    /** Secret values to redact from the error should the command fail (stdin always is). */
    redact?: pulumi.Input<pulumi.Input<string>[]>;
}

/** A command run once over SSH (again when its command, stdin or triggers change). */
export class RemoteCommand extends pulumi.dynamic.Resource {
    /** The end of what the command printed on stdout (a secret output). */
    declare readonly stdout: pulumi.Output<string>;
    /** The end of what the command printed on stderr (a secret output). */
    declare readonly stderr: pulumi.Output<string>;
    /** The host key the server presented (`SHA256:...`). */
    declare readonly hostKeySha256: pulumi.Output<string>;

    /**
     * @param name The _unique_ name of this resource.
     * @param args Connection, command, stdin and triggers.
     * @param opts A bag of options that control this resource's behavior.
     */
    constructor(name: string, args: RemoteCommandArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            remoteCommandProvider,
            name,
            {
                connection: connectionInputs(args.connection),
                privateKey: privateKeyInput(args.connection),
                command: args.command,
                stdin: args.stdin ?? "",
                triggers: args.triggers ?? [],
                timeoutSeconds: args.timeoutSeconds ?? 600,
                redact: pulumi.secret(args.redact ?? []),
                stdout: undefined,
                stderr: undefined,
                hostKeySha256: undefined,
                stdinSha256: undefined,
                providerVersion: undefined,
            },
            // What a command prints may echo what it was given (a state run's failure shows
            // the rendered data): kept encrypted in state like the secrets themselves.
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["stdout", "stderr"] }),
            "dynamic-cluster",
            "RemoteCommand",
        );
    }
}

/** Arguments of {@link RemoteCopy}. */
export interface RemoteCopyArgs {
    connection: SshConnectionArgs;
    /** Local directory to copy. */
    sourceDir: string;
    /** Remote directory it becomes (replaced as a whole). */
    remotePath: pulumi.Input<string>;
    /** Hash of the directory's content (e.g. `hashDirectory`); a new hash copies again. */
    contentHash: pulumi.Input<string>;
    /** Any change copies again. */
    triggers?: pulumi.Input<unknown[]>;
}

/** A local directory copied over SSH (again when its content changes). */
export class RemoteCopy extends pulumi.dynamic.Resource {
    /** The host key the server presented (`SHA256:...`). */
    declare readonly hostKeySha256: pulumi.Output<string>;

    /**
     * @param name The _unique_ name of this resource.
     * @param args Connection, source directory, remote path and content hash.
     * @param opts A bag of options that control this resource's behavior.
     */
    constructor(name: string, args: RemoteCopyArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            remoteCopyProvider,
            name,
            {
                connection: connectionInputs(args.connection),
                privateKey: privateKeyInput(args.connection),
                sourceDir: args.sourceDir,
                remotePath: args.remotePath,
                contentHash: args.contentHash,
                triggers: args.triggers ?? [],
                hostKeySha256: undefined,
                providerVersion: undefined,
            },
            opts,
            "dynamic-cluster",
            "RemoteCopy",
        );
    }
}
