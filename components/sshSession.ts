/**
 * SSH sessions for the provisioning resources (./ssh.ts, ./hostKey.ts): connecting with retries
 * while a server boots and with its host key checked (pinned, or one of the keys its console
 * listed), running a command with stdin and a time limit, and the error a failed command gives,
 * with what could hold secrets redacted.
 *
 * Free of @pulumi/pulumi and of npm packages at module top level: the dynamic providers are
 * serialized by value, with this module (`ssh2` is required inside `connect`).
 */
import type { Client, ConnectConfig } from "ssh2";
import { containsUnknown } from "./unknown";

/** How to reach the remote host. */
export interface SshConnection {
    host: string;
    port: number;
    user: string;
    /** How long to keep retrying to connect, seconds. */
    connectTimeoutSeconds: number;
    /** OpenSSH-style `SHA256:...` host key the server must present; "" accepts any and records it. */
    hostKeySha256: string;
    /**
     * Where the pin came from (the URN of the head's {@link SshHostKey}), named in the remedy
     * when the server presents another key; "" when the connection has no pin.
     */
    hostKeyPinnedBy?: string;
}

/** Most of a command's output kept in the state (its end, where errors and summaries are). */
export const OUTPUT_LIMIT = 64 * 1024;

/** Keeps the end of a text to at most `limit` characters. */
export function tail(text: string, limit: number): string {
    return text.length <= limit
        ? text
        : `[... ${text.length - limit} characters cut]\n${text.slice(-limit)}`;
}

/** Problems of a connection's inputs, as `check` failures. */
export function checkConnection(
    connection: Partial<SshConnection> | undefined,
): Array<{ property: string; reason: string }> {
    const failures: Array<{ property: string; reason: string }> = [];
    // Not known yet during a preview (the address of a server still to be created).
    if (containsUnknown(connection)) return failures;
    const c = connection ?? {};
    if (typeof c.host !== "string" || c.host === "") {
        failures.push({
            property: "connection",
            reason: "connection.host must be an address or name.",
        });
    }
    if (typeof c.user !== "string" || !/^[a-z_][a-z0-9_.-]*$/i.test(c.user)) {
        failures.push({ property: "connection", reason: "connection.user must be a login name." });
    }
    if (!Number.isInteger(c.port) || (c.port as number) < 1 || (c.port as number) > 65535) {
        failures.push({ property: "connection", reason: "connection.port must be 1 to 65535." });
    }
    if (!Number.isInteger(c.connectTimeoutSeconds) || (c.connectTimeoutSeconds as number) < 1) {
        failures.push({
            property: "connection",
            reason: "connection.connectTimeoutSeconds must be a positive whole number.",
        });
    }
    return failures;
}

export function sha256(text: string): string {
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    return createHash("sha256").update(text).digest("hex");
}

/** OpenSSH's `SHA256:<base64 without padding>` fingerprint of a raw host key. */
export function hostKeyFingerprint(key: Buffer): string {
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** Connect errors worth retrying while a server boots: refused, unreachable, no key yet. */
export function isRetryableConnectError(err: unknown): boolean {
    const e = err as { code?: string; level?: string; message?: string };
    if (e?.level === "client-authentication") return true; // cloud-init has not installed the key yet
    if (e?.level === "client-timeout") return true;
    return [
        "ECONNREFUSED",
        "ECONNRESET",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "ETIMEDOUT",
        "EAI_AGAIN",
        "ENOTFOUND",
        "EPIPE",
    ].includes(e?.code ?? "");
}

/** An open SSH session and the host key the server presented. */
export interface Session {
    client: Client;
    hostKeySha256: string;
}

/**
 * Connects, retrying while the server is not ready, until the connection's deadline. The server
 * must present the pinned key (`connection.hostKeySha256`), or one of `acceptedKeys` when given;
 * with neither, any key is taken (and returned, for a pin).
 */
export async function connect(
    connection: SshConnection,
    privateKey: string,
    acceptedKeys?: readonly string[],
): Promise<Session> {
    const { Client: SshClient } = require("ssh2") as typeof import("ssh2");
    const deadline = Date.now() + connection.connectTimeoutSeconds * 1000;
    let delay = 1000;
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
        let presented = "";
        const client = new SshClient();
        const config: ConnectConfig = {
            host: connection.host,
            port: connection.port,
            username: connection.user,
            readyTimeout: 20_000,
            keepaliveInterval: 15_000,
            keepaliveCountMax: 8,
            hostVerifier: (key: Buffer) => {
                presented = hostKeyFingerprint(key);
                if (connection.hostKeySha256 !== "") return connection.hostKeySha256 === presented;
                return acceptedKeys === undefined || acceptedKeys.includes(presented);
            },
        };
        if (privateKey) config.privateKey = privateKey;
        else config.agent = process.env["SSH_AUTH_SOCK"];
        try {
            await new Promise<void>((resolve, reject) => {
                client.once("ready", () => resolve());
                client.once("error", reject);
                client.connect(config);
            });
            client.on("error", () => undefined); // later errors surface through the channel
            return { client, hostKeySha256: presented };
        } catch (err) {
            client.end();
            lastError = err;
            if (presented && connection.hostKeySha256 && presented !== connection.hostKeySha256) {
                throw new Error(
                    `${connection.host} presented SSH host key ${presented}, not ${connection.hostKeySha256}, ` +
                        "the head node's key as checked when it was created; nothing was sent to it. " +
                        "Either another machine answers at this address, or the head node was rebuilt " +
                        "(same server, new host keys: `openstack server rebuild`). In that case check " +
                        "its new key and carry on with " +
                        (connection.hostKeyPinnedBy
                            ? `\`pulumi up --replace '${connection.hostKeyPinnedBy}'\``
                            : "`pulumi up --replace <URN of the head's SshHostKey>` (`pulumi stack --show-urns`)") +
                        ".",
                );
            }
            if (presented && acceptedKeys && !acceptedKeys.includes(presented)) {
                throw new Error(
                    `${connection.host} presented SSH host key ${presented}, which is not among the ` +
                        `keys the server printed to its console (${acceptedKeys.join(", ")}); nothing ` +
                        "was sent to it. Another machine answers at this address, or the address is not " +
                        "this server's.",
                );
            }
            if (!privateKey && !process.env["SSH_AUTH_SOCK"]) {
                throw new Error(
                    `No SSH key to log in to ${connection.user}@${connection.host}: start an ssh-agent ` +
                        "holding the key pair's private key, or run " +
                        "`pulumi config set --secret sshPrivateKey < ~/.ssh/your-key`.",
                );
            }
            if (!isRetryableConnectError(err) || Date.now() + delay > deadline) break;
            await new Promise((resolve) => setTimeout(resolve, delay));
            delay = Math.min(delay * 2, 10_000);
            if (attempt > 1000) break;
        }
    }
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    throw new Error(
        `Could not log in to ${connection.user}@${connection.host}:${connection.port} within ` +
            `${connection.connectTimeoutSeconds}s: ${message}. Check that the server is running, that ` +
            "allowedCidr includes this workstation, and that the key pair's private key is in the " +
            "ssh-agent or in `sshPrivateKey`.",
    );
}

/** What a finished remote command produced. */
export interface CommandResult {
    code: number | null;
    signal: string | undefined;
    stdout: string;
    stderr: string;
}

/**
 * Runs `command` in the session; writes `stdin` (a string or a stream) to it; kills it after
 * `timeoutSeconds`.
 */
export function execute(
    session: Session,
    command: string,
    stdin: string | NodeJS.ReadableStream,
    timeoutSeconds: number,
): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        session.client.exec(command, (err, channel) => {
            if (err) {
                reject(err);
                return;
            }
            const stdout: Buffer[] = [];
            const stderr: Buffer[] = [];
            let timedOut = false;
            const timer = setTimeout(() => {
                timedOut = true;
                channel.signal("KILL");
                channel.close();
            }, timeoutSeconds * 1000);
            channel.on("data", (chunk: Buffer) => stdout.push(chunk));
            channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
            channel.on("close", (code: number | null, signal?: string) => {
                clearTimeout(timer);
                const result = {
                    code,
                    signal,
                    stdout: Buffer.concat(stdout).toString("utf8"),
                    stderr: Buffer.concat(stderr).toString("utf8"),
                };
                if (timedOut) {
                    reject(
                        Object.assign(
                            new Error(
                                `the command did not finish within ${timeoutSeconds}s and was stopped`,
                            ),
                            { result },
                        ),
                    );
                } else {
                    resolve(result);
                }
            });
            if (typeof stdin === "string") channel.end(stdin);
            else {
                stdin.on("error", (e: Error) => {
                    channel.close();
                    reject(e);
                });
                stdin.pipe(channel);
            }
        });
    });
}

/** What stands in an error message for a value that could be a secret. */
export const REDACTED = "[redacted]";

/** Most of a failed command's output an error message shows (its end, after redaction). */
export const ERROR_OUTPUT_LIMIT = 2000;

/**
 * `text` with what could hold secrets replaced by {@link REDACTED}: every value of `secrets` (and
 * each long line of a multi-line one, as a PEM or base64 block is echoed line by line), PEM
 * private key blocks, the credentials of `Authorization:` headers, and the values of fields
 * whose names say they are secret (password, secret, token, munge_key, private_key). An error
 * reaches the CLI, the backend's logs and CI output, unlike the command's outputs, which the
 * engine keeps encrypted in the state.
 */
export function redact(text: string, secrets: readonly string[]): string {
    const parts = new Set<string>();
    for (const secret of secrets) {
        if (secret.trim().length >= 6) parts.add(secret);
        for (const line of secret.split("\n")) if (line.trim().length >= 16) parts.add(line.trim());
    }
    let out = text;
    for (const part of [...parts].sort((a, b) => b.length - a.length)) {
        out = out.split(part).join(REDACTED);
    }
    return out
        .replace(
            /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g,
            `${REDACTED} (private key)`,
        )
        .replace(/(authorization:\s*(?:bearer|basic)\s+)\S+/gi, `$1${REDACTED}`)
        .replace(
            /((?:password|passwd|secret|token|munge_key|private_key)[A-Za-z0-9_]*["']?\s*[:=]\s*["']?)[^\s"',}\]]+/gi,
            `$1${REDACTED}`,
        );
}

/**
 * Fails with the exit status and the end of the output when a command did not succeed, with
 * `secrets` (and what looks like one) redacted from it.
 */
export function requireSuccess(
    what: string,
    host: string,
    result: CommandResult,
    secrets: readonly string[] = [],
): void {
    if (result.code === 0) return;
    const status =
        result.code === null
            ? `was killed by ${result.signal ?? "a signal"}`
            : `exited with ${result.code}`;
    const output = redact(
        [result.stderr.trim(), result.stdout.trim()].filter(Boolean).join("\n"),
        secrets,
    );
    throw new Error(
        `${what} on ${host} ${status}${output ? `:\n${tail(output, ERROR_OUTPUT_LIMIT)}` : " (no output)"}`,
    );
}
