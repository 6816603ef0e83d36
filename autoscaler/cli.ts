/**
 * `dynamic-cluster`: the command-line client of the service's local API.
 *
 * Slurm runs it as ResumeProgram, SuspendProgram and ResumeFailProgram (through the small
 * wrappers Salt installs): it hands the host list to the service and returns at once; the
 * service owns the instances, so Slurm never waits on OpenStack. Root uses the other commands.
 *
 *   dynamic-cluster slurm resume|suspend|resume-fail <hostlist>
 *   dynamic-cluster status | workers | jobs | pools | events
 *   dynamic-cluster worker hold|release|drain|delete <node>
 *   dynamic-cluster auto on|off
 *   dynamic-cluster breaker reset
 *
 * Options: --url <local API> (default http://127.0.0.1:8081, or the one in --settings
 * <service.json>), --token-file <file> (a bare token or a header file with "Authorization:
 * Bearer ..."). Each caller of the local API has its own token, which opens only its routes:
 * by default `slurm ...` reads Slurm's /etc/dynamic-cluster/slurm-local-api.header (root:slurm
 * 0640) and every other command root's /etc/dynamic-cluster/admin-local-api.header (root-only).
 * The settings file holds only the tokens' digests, never a token.
 * Exit codes: 0 done, 2 usage, 3 refused by the service, 4 service unreachable.
 */
import { readFileSync } from "node:fs";

const USAGE = `usage: dynamic-cluster [--url URL | --settings FILE] [--token-file FILE] COMMAND
  slurm resume|suspend|resume-fail HOSTLIST   (Slurm's power-saving programs)
  status | workers | jobs | pools | events
  worker hold|release|drain|delete NODE
  auto on|off
  breaker reset`;

/** The header files of the two callers that use this command (see autoscaler/api/local.ts). */
const TOKEN_FILES = {
    slurm: "/etc/dynamic-cluster/slurm-local-api.header",
    admin: "/etc/dynamic-cluster/admin-local-api.header",
} as const;

/** The token file a command uses unless told otherwise: Slurm's for `slurm ...`, else root's. */
export function defaultTokenFile(words: string[]): string {
    return words[0] === "slurm" ? TOKEN_FILES.slurm : TOKEN_FILES.admin;
}

/** A parsed command line. */
export interface CliCommand {
    method: "GET" | "POST" | "PUT";
    path: string;
    body?: unknown;
}

/** Thrown for a command line that cannot be run; the message is the usage text or a hint. */
export class UsageError extends Error {
    override name = "UsageError";
}

/** Maps command words to a local API call. */
export function parseCommand(words: string[]): CliCommand {
    const [cmd, a, b] = words;
    const exact = (n: number) => {
        if (words.length !== n) throw new UsageError(USAGE);
    };
    switch (cmd) {
        case "slurm":
            exact(3);
            if (a !== "resume" && a !== "suspend" && a !== "resume-fail")
                throw new UsageError(USAGE);
            if (!/^[A-Za-z0-9,.[\]-]+$/.test(b ?? "")) {
                throw new UsageError(`dynamic-cluster slurm ${a}: "${b}" is not a Slurm host list`);
            }
            return { method: "POST", path: `/slurm/${a}`, body: { nodes: b } };
        case "status":
        case "workers":
        case "jobs":
        case "pools":
        case "events":
            exact(1);
            return { method: "GET", path: `/${cmd}` };
        case "worker":
            exact(3);
            if (!["hold", "release", "drain", "delete"].includes(a ?? ""))
                throw new UsageError(USAGE);
            return { method: "POST", path: `/workers/${encodeURIComponent(b!)}/actions/${a}` };
        case "auto":
            exact(2);
            if (a !== "on" && a !== "off") throw new UsageError(USAGE);
            return { method: "PUT", path: "/auto", body: { on: a === "on" } };
        case "breaker":
            exact(2);
            if (a !== "reset") throw new UsageError(USAGE);
            return { method: "POST", path: "/breaker/reset" };
        default:
            throw new UsageError(USAGE);
    }
}

/** The token in a file holding either the bare token or a `Authorization: Bearer` header. */
export function tokenFromFile(text: string): string {
    const header = /^\s*Authorization:\s*Bearer\s+(\S+)\s*$/im.exec(text);
    if (header) return header[1]!;
    const bare = text.trim();
    if (!bare || /\s/.test(bare)) throw new UsageError("the token file holds no token");
    return bare;
}

interface Options {
    url: string;
    token: string;
    words: string[];
}

function parseOptions(argv: string[]): Options {
    const words: string[] = [];
    let url = process.env["DC_LOCAL_API_URL"] ?? "http://127.0.0.1:8081";
    let tokenFile = process.env["DC_TOKEN_FILE"];
    let settingsFile: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]!;
        const value = () => {
            const v = argv[++i];
            if (v === undefined) throw new UsageError(`${arg} needs a value\n${USAGE}`);
            return v;
        };
        if (arg === "--url") url = value();
        else if (arg === "--token-file") tokenFile = value();
        else if (arg === "--settings") settingsFile = value();
        else if (arg === "-h" || arg === "--help") throw new UsageError(USAGE);
        else words.push(arg);
    }
    if (settingsFile) {
        const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as {
            listen?: { local_api?: { host: string; port: number } };
        };
        const local = settings.listen?.local_api;
        if (local && !argv.includes("--url")) url = `http://${local.host}:${local.port}`;
    }
    const file = tokenFile ?? defaultTokenFile(words);
    let token: string;
    try {
        token = tokenFromFile(readFileSync(file, "utf8"));
    } catch (err) {
        throw new UsageError(
            `cannot read the token from ${file}: ${(err as Error).message}` +
                (tokenFile ? "" : " (run as root, or pass --token-file)"),
        );
    }
    return { url: url.replace(/\/+$/, ""), token, words };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the CLI; returns the exit code. Connection errors are retried for ~30 s. */
export async function runCli(
    argv: string[],
    out = process.stdout,
    err = process.stderr,
): Promise<number> {
    let options: Options;
    let command: CliCommand;
    try {
        options = parseOptions(argv);
        command = parseCommand(options.words);
    } catch (e) {
        err.write(`${(e as Error).message}\n`);
        return 2;
    }
    const url = `${options.url}/local/v1${command.path}`;
    for (let attempt = 1; ; attempt++) {
        try {
            const response = await fetch(url, {
                method: command.method,
                headers: {
                    Authorization: `Bearer ${options.token}`,
                    ...(command.body !== undefined ? { "Content-Type": "application/json" } : {}),
                },
                body: command.body !== undefined ? JSON.stringify(command.body) : undefined,
                signal: AbortSignal.timeout(30_000),
            });
            const text = await response.text();
            if (response.ok) {
                out.write(text.endsWith("\n") ? text : `${text}\n`);
                return 0;
            }
            let message = text;
            try {
                message =
                    (JSON.parse(text) as { error?: string; message?: string }).error ?? message;
            } catch {
                // plain text
            }
            err.write(`dynamic-cluster: ${response.status}: ${message}\n`);
            return 3;
        } catch (e) {
            const code = (e as { cause?: { code?: string } }).cause?.code;
            if (code === "ECONNREFUSED" && attempt < 15) {
                await sleep(2000);
                continue;
            }
            err.write(
                `dynamic-cluster: cannot reach the service at ${options.url}: ${code ?? (e as Error).message}\n`,
            );
            return 4;
        }
    }
}

if (require.main === module) {
    void runCli(process.argv.slice(2)).then((code) => {
        process.exitCode = code;
    });
}
