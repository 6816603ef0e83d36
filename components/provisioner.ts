/**
 * `dynamic-cluster:index:HeadProvisioner`: configures the head node over SSH (the
 * {@link RemoteCommand} and {@link RemoteCopy} resources of `./ssh`), in four steps after its
 * SSH host key is checked and pinned ({@link SshHostKey}: against the fingerprints cloud-init
 * printed to the server's console, by default), which every step requires:
 * 1. wait until SSH answers and `cloud-init status --wait` reports success;
 * 2. copy the Salt tree (`salt/`) and the Dynamic Cluster service bundle (built by
 *    components/serviceBundle.ts) to staging directories named after their content hashes (kept
 *    until they change, so a pillar-only change can reinstall them);
 * 3. write each generated file (pillar, secrets, Salt master key) from stdin, so no secret ever
 *    appears in a command line, in user-data or in logs, with the owner, group and mode the head's
 *    states give it (a re-provisioning never leaves the running salt-master, user `salt`, unable
 *    to read the pillar it serves), and never touching an existing parent directory;
 * 4. install the Salt tree and the service, and run `salt-call --local state.apply` (which
 *    restarts the service when its bundle or settings changed).
 * Step 4 re-runs whenever the server, the Salt tree, the service or any written file changes;
 * the server itself is never touched, so a policy change is applied in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { type HostKeyCheck, SshHostKey } from "./hostKey";
import { RemoteCommand, RemoteCopy, type SshConnectionArgs } from "./ssh";

/** Owner, group and octal mode of a file or directory on the head node. */
export interface Ownership {
    owner: string;
    group: string;
    /** Octal mode, e.g. `0640`. */
    mode: string;
}

/** A file the provisioner writes on the head node. */
export interface RemoteFile extends Ownership {
    /** Short name, used in the resource name (`<component>-file-<name>`). */
    name: string;
    /** Absolute path on the head node. */
    path: string;
    /**
     * Owner, group and mode of the parent directory when it has to be created; an existing
     * directory is never changed (the head's states own it).
     */
    directory: Ownership;
    /** File content. */
    content: pulumi.Input<string>;
    /** True for secret content: it is kept secret in state whatever its source says. */
    secret: boolean;
}

/** Arguments of {@link HeadProvisioner}. */
export interface HeadProvisionerArgs {
    /** Address to SSH to. */
    host: pulumi.Input<string>;
    /** Login user of the image (has passwordless sudo). */
    user: string;
    /** Private key, or undefined to use the ssh-agent (`SSH_AUTH_SOCK`). */
    privateKey?: pulumi.Input<string>;
    /** The server; a new ID means a new server and re-runs every step. */
    instanceId: pulumi.Input<string>;
    /** Resources that must exist before provisioning (server, floating IP, `/data` attachment). */
    provisionAfter: pulumi.Resource[];
    /** Local directory of the Salt tree. */
    saltTreeDir: string;
    /** Local directory of the built service bundle (autoscaler/, cloud-init/). */
    serviceBundleDir: string;
    /** Files to write before the state run. */
    files: RemoteFile[];
    /** Salt minion ID of the head node. */
    headMinionId: string;
    /** How the head's SSH host key is trusted (`sshHostKeyCheck`). */
    hostKeyCheck: HostKeyCheck;
    /**
     * The cluster's secret values: redacted from the state run's error should it fail (Salt
     * shows rendered data in failures). The files' contents are redacted from their own steps.
     */
    secretValues?: pulumi.Input<string[]>;
}

/** Where the Salt tree is installed on the head node (`file_roots: base`). */
export const SALT_TREE_PATH = "/srv/salt";

/** Where the service bundle is installed (`paths.service_dir` in salt/.../defaults.yaml). */
export const SERVICE_PATH = "/opt/dynamic-cluster";

/** Content hash of a directory tree: relative paths and bytes, in sorted order. */
export function hashDirectory(dir: string): string {
    const hash = createHash("sha256");
    const walk = (relative: string): void => {
        const absolute = path.join(dir, relative);
        for (const entry of readdirSync(absolute).sort()) {
            const child = path.join(relative, entry);
            if (statSync(path.join(dir, child)).isDirectory()) {
                walk(child);
            } else {
                hash.update(`${child}\0`);
                hash.update(readFileSync(path.join(dir, child)));
                hash.update("\0");
            }
        }
    };
    walk("");
    return hash.digest("hex");
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The shell command that puts a copied tree in place: `target` (created 0755 if missing) becomes
 * exactly the staging directory's content, owned by root, except `keep` (a path pattern rsync
 * leaves alone).
 */
export function installTreeCommand(staging: string, target: string, keep?: string): string {
    const exclude = keep ? ` --exclude ${shellQuote(keep)}` : "";
    return (
        `sudo install -d -m 0755 ${target} && ` +
        `sudo rsync -a --delete${exclude} --chown=root:root ${shellQuote(`${staging}/`)} ${target}/`
    );
}

const MODE = /^0[0-7]{3}$/;
const ACCOUNT = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * The shell command that writes stdin to `file.path` atomically with its final owner, group and
 * mode: into a temporary file beside it (created 0600 by root, so never readable by others while
 * it is written), then renamed over the old one. The parent directory is created with
 * `file.directory`'s ownership only when it does not exist; an existing one is left as it is.
 * @throws Error for a path, mode or account name that could break out of the command.
 */
export function writeFileCommand(
    file: Pick<RemoteFile, "path" | "mode" | "owner" | "group" | "directory">,
): string {
    const owned = [file, file.directory];
    if (
        !/^\/[A-Za-z0-9._/-]+$/.test(file.path) ||
        owned.some((o) => !MODE.test(o.mode) || !ACCOUNT.test(o.owner) || !ACCOUNT.test(o.group))
    ) {
        throw new Error(
            `Refusing to write ${JSON.stringify(file.path)} as ${JSON.stringify(file.owner)}:` +
                `${JSON.stringify(file.group)} with mode ${JSON.stringify(file.mode)} (directory ` +
                `${JSON.stringify(file.directory)}).`,
        );
    }
    const d = file.directory;
    const script = [
        'd=$(dirname "$2")',
        '[ -d "$d" ] || install -d -o "$3" -g "$4" -m "$5" "$d"',
        "umask 077",
        'cat > "$1"',
        'chown "$6:$7" "$1"',
        'chmod "$8" "$1"',
        'mv -f "$1" "$2"',
    ].join(" && ");
    return (
        `sudo sh -c ${shellQuote(script)} write-file ` +
        [`${file.path}.new`, file.path, d.owner, d.group, d.mode, file.owner, file.group, file.mode]
            .map(shellQuote)
            .join(" ")
    );
}

/** Configures the head node over SSH. */
export class HeadProvisioner extends pulumi.ComponentResource {
    /** The final state run; its stdout is Salt's summary. */
    readonly stateApply: RemoteCommand;

    /**
     * @param name The _unique_ name of this component.
     * @param args Connection, Salt tree and files.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: HeadProvisionerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dynamic-cluster:index:HeadProvisioner", name, {}, opts);

        // A new server boots, runs cloud-init and installs the key: keep trying for 30 min.
        const hostKey = new SshHostKey(
            `${name}-host-key`,
            {
                connection: {
                    host: args.host,
                    user: args.user,
                    privateKey: args.privateKey,
                    connectTimeoutSeconds: 1800,
                },
                serverId: args.instanceId,
                check: args.hostKeyCheck,
            },
            { parent: this, dependsOn: args.provisionAfter },
        );
        // Every step talks only to the server whose key was checked.
        const pinned = { hostKeySha256: hostKey.hostKeySha256, hostKeyPinnedBy: hostKey.urn };
        const bootConnection: SshConnectionArgs = {
            host: args.host,
            user: args.user,
            privateKey: args.privateKey,
            connectTimeoutSeconds: 1800,
            ...pinned,
        };

        // Staging lives in the login user's home (CopyToRemote runs unprivileged) and is kept, so a
        // later run that only rewrites the pillar can install the same tree again.
        const stagingRoot = `/home/${args.user}/.dynamic-cluster`;
        const waitForBoot = new RemoteCommand(
            `${name}-wait-for-cloud-init`,
            {
                connection: bootConnection,
                // Exit 2 is "done, with recoverable errors" (e.g. a deprecation warning) on
                // cloud-init >= 23.4; only 1 (or a crash) means the boot failed.
                command: `sudo cloud-init status --wait --long; rc=$?; [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || exit "$rc"; install -d -m 0700 ${shellQuote(stagingRoot)}`,
                triggers: [args.instanceId],
                timeoutSeconds: 1800,
            },
            { parent: this, dependsOn: [hostKey] },
        );
        const connection: SshConnectionArgs = {
            host: args.host,
            user: args.user,
            privateKey: args.privateKey,
            connectTimeoutSeconds: 300,
            ...pinned,
        };

        // The Salt tree and the service bundle: copied to staging named by content hash.
        const staged = [
            {
                key: "salt",
                label: "salt-tree",
                dir: args.saltTreeDir,
                target: SALT_TREE_PATH,
                keep: "",
            },
            // bin/ holds the CLI wrapper Salt installs; the bundle does not carry it.
            {
                key: "service",
                label: "service",
                dir: args.serviceBundleDir,
                target: SERVICE_PATH,
                keep: "/bin/",
            },
        ].map((tree) => {
            const hash = hashDirectory(tree.dir);
            const staging = `${tree.key}-${hash.slice(0, 16)}`;
            const copy = new RemoteCopy(
                `${name}-copy-${tree.label}`,
                {
                    connection,
                    sourceDir: tree.dir,
                    remotePath: `${stagingRoot}/${staging}`,
                    contentHash: hash,
                    triggers: [args.instanceId],
                },
                { parent: this, dependsOn: [waitForBoot] },
            );
            const install =
                `${installTreeCommand(`${stagingRoot}/${staging}`, tree.target, tree.keep)} && ` +
                `find ${shellQuote(stagingRoot)} -mindepth 1 -maxdepth 1 -name '${tree.key}-*' ! -name ${staging} -exec rm -rf {} +`;
            return { hash, copy, install };
        });

        const writes = args.files.map(
            (file) =>
                new RemoteCommand(
                    `${name}-file-${file.name}`,
                    {
                        connection,
                        command: writeFileCommand(file),
                        stdin: file.secret ? pulumi.secret(file.content) : file.content,
                        triggers: [args.instanceId],
                    },
                    { parent: this, dependsOn: [waitForBoot] },
                ),
        );

        const filesHash = pulumi
            .all(args.files.map((file) => pulumi.output(file.content)))
            .apply((contents) => {
                const hash = createHash("sha256");
                contents.forEach((content, i) =>
                    hash.update(`${args.files[i]!.path}\0${content}\0`),
                );
                return hash.digest("hex");
            });

        const install =
            `${staged.map((tree) => tree.install).join(" && ")} && ` +
            `sudo salt-call --local --retcode-passthrough --state-output=changes ` +
            `--id ${shellQuote(args.headMinionId)} state.apply`;
        this.stateApply = new RemoteCommand(
            `${name}-state-apply`,
            {
                connection,
                command: install,
                triggers: [args.instanceId, ...staged.map((tree) => tree.hash), filesHash],
                timeoutSeconds: 3600,
                redact: args.secretValues,
            },
            {
                parent: this,
                dependsOn: [...staged.map((tree) => tree.copy), ...writes],
            },
        );

        this.registerOutputs({ stateApplyStdout: this.stateApply.stdout });
    }
}
