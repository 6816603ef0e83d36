/**
 * `dynamic-cluster:index:HeadProvisioner`: configures the head node over SSH (the
 * {@link RemoteCommand} and {@link RemoteCopy} resources of `./ssh`), in four steps:
 * 1. wait until SSH answers and `cloud-init status --wait` reports success, and record the
 *    server's SSH host key, which every later step requires;
 * 2. copy the Salt tree (`salt/`) and the Dynamic Cluster service bundle (built by
 *    components/serviceBundle.ts) to staging directories named after their content hashes (kept
 *    until they change, so a pillar-only change can reinstall them);
 * 3. write each generated file (pillar, secrets, Salt master key) root-only, from stdin, so no
 *    secret ever appears in a command line, in user-data or in logs;
 * 4. install the Salt tree and the service, and run `salt-call --local state.apply` (which
 *    restarts the service when its bundle or settings changed).
 * Step 4 re-runs whenever the server, the Salt tree, the service or any written file changes;
 * the server itself is never touched, so a policy change is applied in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { RemoteCommand, RemoteCopy, type SshConnectionArgs } from "./ssh";

/** A file the provisioner writes on the head node. */
export interface RemoteFile {
    /** Short name, used in the resource name (`<component>-file-<name>`). */
    name: string;
    /** Absolute path on the head node. */
    path: string;
    /** Octal mode, e.g. `0600`. Owner is always root. */
    mode: string;
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

/** The shell command that writes stdin to `file.path` atomically, root-owned, with its mode. */
export function writeFileCommand(file: Pick<RemoteFile, "path" | "mode">): string {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(file.path) || !/^0[0-7]{3}$/.test(file.mode)) {
        throw new Error(`Refusing to write ${JSON.stringify(file.path)} with mode ${file.mode}.`);
    }
    const target = shellQuote(file.path);
    const temporary = shellQuote(`${file.path}.new`);
    const directory = shellQuote(path.posix.dirname(file.path));
    return (
        `sudo install -d -m 0700 -o root -g root ${directory} && ` +
        `sudo sh -c 'umask 077 && cat > "$1" && chmod ${file.mode} "$1" && mv -f "$1" "$2"' ` +
        `write-file ${temporary} ${target}`
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

        const bootConnection: SshConnectionArgs = {
            host: args.host,
            user: args.user,
            privateKey: args.privateKey,
            // A new server boots, runs cloud-init and installs the key: keep trying for 30 min.
            connectTimeoutSeconds: 1800,
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
            { parent: this, dependsOn: args.provisionAfter },
        );
        // Every later step talks only to the server that answered this one.
        const connection: SshConnectionArgs = {
            host: args.host,
            user: args.user,
            privateKey: args.privateKey,
            connectTimeoutSeconds: 300,
            hostKeySha256: waitForBoot.hostKeySha256,
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
            const exclude = tree.keep ? ` --exclude ${shellQuote(tree.keep)}` : "";
            const install =
                `sudo install -d -m 0755 ${tree.target} && ` +
                `sudo rsync -a --delete${exclude} --chown=root:root ${shellQuote(`${stagingRoot}/${staging}/`)} ${tree.target}/ && ` +
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
            },
            {
                parent: this,
                dependsOn: [...staged.map((tree) => tree.copy), ...writes],
            },
        );

        this.registerOutputs({ stateApplyStdout: this.stateApply.stdout });
    }
}
