/**
 * Runs the head node's command-line tools (scontrol, sinfo, squeue, ipset) without a shell:
 * arguments are passed as a vector, every call has a timeout, and a failure carries the
 * command's own message.
 */
import { execFile } from "node:child_process";

/** A command that failed: non-zero exit, timeout, or not found. */
export class CommandError extends Error {
    override name = "CommandError";

    constructor(
        /** The command line, for logs (no secrets are ever passed as arguments). */
        readonly commandLine: string,
        /** Exit code, or undefined when the command did not exit normally. */
        readonly exitCode: number | undefined,
        /** What the command printed on stderr (trimmed). */
        readonly stderr: string,
        message: string,
    ) {
        super(message);
    }
}

/** What a finished command printed. */
export interface CommandOutput {
    stdout: string;
    stderr: string;
}

/** Runs one command; the seam the adapters take so tests can point them at other binaries. */
export type CommandRunner = (
    command: string,
    args: readonly string[],
    options?: { timeoutMs?: number; input?: string },
) => Promise<CommandOutput>;

/**
 * A runner that executes commands with `env` added to the service's environment.
 *
 * @param env extra environment (e.g. `SLURM_CONF` in tests).
 * @param defaultTimeoutMs timeout of a call that sets none.
 * @param prefix a command that runs the others (e.g. `nsenter --net=...`), or none.
 */
export function commandRunner(
    env: Readonly<Record<string, string>> = {},
    defaultTimeoutMs = 30_000,
    prefix: readonly string[] = [],
): CommandRunner {
    return (command, args, options = {}) =>
        new Promise((resolve, reject) => {
            const argv = [...prefix, command, ...args];
            const child = execFile(
                argv[0]!,
                argv.slice(1),
                {
                    env: { ...process.env, ...env },
                    timeout: options.timeoutMs ?? defaultTimeoutMs,
                    maxBuffer: 64 * 1024 * 1024,
                    encoding: "utf8",
                },
                (err, stdout, stderr) => {
                    if (!err) {
                        resolve({ stdout, stderr });
                        return;
                    }
                    const line = [command, ...args].join(" ");
                    const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
                    const exitCode = typeof e.code === "number" ? e.code : undefined;
                    const detail = stderr.trim() || stdout.trim();
                    const why =
                        e.code === "ENOENT"
                            ? `${command} is not installed or not on PATH`
                            : e.killed
                              ? `timed out after ${options.timeoutMs ?? defaultTimeoutMs} ms`
                              : `exit ${exitCode ?? e.code}${detail ? `: ${detail}` : ""}`;
                    reject(new CommandError(line, exitCode, stderr.trim(), `${line}: ${why}`));
                },
            );
            if (options.input !== undefined) child.stdin?.end(options.input);
        });
}
