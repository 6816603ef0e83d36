/**
 * Commands run as root in a private mount namespace with an overlay over /etc
 * (test/helpers/etc-overlay.sh), so what they write under /etc lands in the sandbox's upper layer
 * and never on the machine; optionally with a directory of the sandbox bound over /srv. Used by
 * the tests that apply or write the head node's files and read them back as the daemons' users.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ETC_OVERLAY = path.resolve(__dirname, "etc-overlay.sh");

/** What a command did. */
export interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Options of {@link inEtcOverlay}. */
export interface OverlayOptions {
    /** Fed to the command's stdin. */
    input?: string;
    /** The command's environment (default: this process's). */
    env?: NodeJS.ProcessEnv;
    /** Bind `<sandbox>/srv` (created) over /srv, so writes there persist between calls too. */
    srv?: boolean;
    timeoutMs?: number;
}

/** Runs `command` as root in the sandbox `sandbox` (its overlay's upper layer persists). */
export function inEtcOverlay(
    sandbox: string,
    command: string[],
    options: OverlayOptions = {},
): Run {
    let argv = command;
    if (options.srv) {
        const srv = path.join(sandbox, "srv");
        fs.mkdirSync(srv, { recursive: true });
        argv = ["bash", "-c", 'mount --bind "$0" /srv && exec "$@"', srv, ...command];
    }
    const result = spawnSync("bash", [ETC_OVERLAY, sandbox, ...argv], {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        env: options.env ?? process.env,
        input: options.input,
        timeout: options.timeoutMs ?? 300_000,
    });
    if (result.error) throw result.error;
    if (result.status === 90) throw new Error(`no sandbox: ${result.stderr}`);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `owner group mode` of each path, as `stat` sees them through `run`. */
export function statOwnership(
    run: (command: string[]) => Run,
    paths: string[],
): Record<string, string> {
    const result = run(["stat", "--format=%n %U %G %a", ...paths]);
    assert.equal(result.status, 0, result.stderr);
    return Object.fromEntries(
        result.stdout
            .trim()
            .split("\n")
            .map((line) => {
                const [name, ...rest] = line.split(" ");
                return [name!, rest.join(" ")];
            }),
    );
}

/** `argv` run as `user` with only the user's own groups (setpriv). */
export function asUserArgv(user: string, argv: string[]): string[] {
    return ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--init-groups", ...argv];
}
