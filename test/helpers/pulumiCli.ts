/**
 * The real Pulumi CLI for tests: the toolchain built by test/env/pulumi/build.sh (CLI 3.248,
 * Node.js language host, openstack/random/tls providers installed as plugins), a user's checkout
 * of the project in a temporary directory, and a runner that types commands as a user would and
 * keeps a transcript.
 *
 * Each workspace has its own PULUMI_HOME (credentials of `pulumi login`, workspace settings)
 * whose `plugins` directory is the toolchain's; no provider binary is on PATH, plugins are never
 * downloaded, and no update check is made.
 */
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** The project's root directory. */
export const PROJECT_ROOT = path.resolve(__dirname, "../..");

/**
 * The toolchain's directory: `DC_PULUMI_TOOLCHAIN` (test/run.sh builds it while the unit stage
 * runs), else built now (or found, in a second, in the cache).
 */
export function pulumiToolchain(): string {
    const built = process.env["DC_PULUMI_TOOLCHAIN"];
    if (built) return built;
    return execFileSync("bash", [path.join(PROJECT_ROOT, "test/env/pulumi/build.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 90 * 60_000,
    }).trim();
}

/** What one CLI command did. */
export interface CliResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** A user's checkout of the project with its own Pulumi home and state backend. */
export interface PulumiWorkspace {
    /** The temporary root (checkout, state, home, transcript). */
    root: string;
    /** The checkout, where commands run. */
    project: string;
    /** `file://` state backend directory. */
    stateDir: string;
    /** Every command and its output. */
    transcript: string;
    /** Runs `pulumi ARGS` in the checkout. */
    pulumi(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<CliResult>;
}

/** Files of the project a user's checkout holds (tracked and new, not ignored). */
function checkoutFiles(): string[] {
    const out = execFileSync(
        "git",
        ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        { cwd: PROJECT_ROOT, encoding: "utf8" },
    );
    return out.split("\0").filter((f) => f !== "" && !f.startsWith("test/"));
}

/**
 * Creates a workspace: copies the project (without tests, with the installed node_modules
 * linked in, as after `npm ci`), a PULUMI_HOME using the toolchain's plugins, and an empty
 * file-backend directory.
 */
export function createWorkspace(
    toolchain: string,
    env: Record<string, string>,
    prefix = "dc-pulumi-",
): PulumiWorkspace {
    const root = mkdtempSync(path.join(tmpdir(), prefix));
    const project = path.join(root, "project");
    const home = path.join(root, "pulumi-home");
    const stateDir = path.join(root, "state");
    for (const dir of [project, home, stateDir]) mkdirSync(dir, { recursive: true });
    for (const file of checkoutFiles()) {
        cpSync(path.join(PROJECT_ROOT, file), path.join(project, file), { recursive: true });
    }
    symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(project, "node_modules"));
    symlinkSync(path.join(toolchain, "home", "plugins"), path.join(home, "plugins"));
    const transcript = path.join(root, "transcript.log");
    const cli = path.join(toolchain, "bin", "pulumi");
    const commandEnv: NodeJS.ProcessEnv = {
        // Only what a user's shell would have: no provider binary on PATH.
        PATH: (process.env["PATH"] ?? "/usr/bin:/bin")
            .split(":")
            .filter((dir) => !dir.startsWith(toolchain))
            .join(":"),
        HOME: process.env["HOME"] ?? "/root",
        LANG: "C.UTF-8",
        PULUMI_HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
        PULUMI_CONFIG_PASSPHRASE: "dynamic-cluster-test-passphrase",
        // Plain output that a test can read.
        NO_COLOR: "1",
        ...env,
    };
    return {
        root,
        project,
        stateDir,
        transcript,
        pulumi(args, options = {}) {
            const started = Date.now();
            return new Promise((resolve, reject) => {
                const child = spawn(cli, [...args, "--color", "never"], {
                    cwd: project,
                    env: commandEnv,
                    stdio: ["pipe", "pipe", "pipe"],
                });
                const out: Buffer[] = [];
                const err: Buffer[] = [];
                child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
                child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
                const timer = setTimeout(
                    () => child.kill("SIGKILL"),
                    options.timeoutMs ?? 20 * 60_000,
                );
                child.on("error", reject);
                child.on("close", (code) => {
                    clearTimeout(timer);
                    const result = {
                        code,
                        stdout: Buffer.concat(out).toString("utf8"),
                        stderr: Buffer.concat(err).toString("utf8"),
                    };
                    appendFileSync(
                        transcript,
                        `$ pulumi ${args.join(" ")}    # exit ${code}, ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
                            `${result.stdout}${result.stderr}\n`,
                    );
                    resolve(result);
                });
                child.stdin.end(options.input ?? "");
            });
        },
    };
}

/** Fails with the command's output when it did not exit 0. */
export function expectSuccess(result: CliResult, what: string): CliResult {
    if (result.code !== 0) {
        throw new Error(
            `${what} exited ${result.code}:\n${tailText(result.stdout, 60)}\n${tailText(result.stderr, 30)}`,
        );
    }
    return result;
}

function tailText(text: string, lines: number): string {
    return text.split("\n").slice(-lines).join("\n");
}

/** The state file of a stack in a `file://` backend. */
export function stackStatePath(stateDir: string, project: string, stack: string): string {
    return path.join(stateDir, ".pulumi", "stacks", project, `${stack}.json`);
}

/** A resource as the file backend stores it. */
export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    parent?: string;
    dependencies?: string[];
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    protect?: boolean;
}

/** The resources of a stack's current state. */
export function readStackResources(file: string): StateResource[] {
    const state = JSON.parse(readFileSync(file, "utf8")) as {
        checkpoint: { latest?: { resources?: StateResource[] } };
    };
    return state.checkpoint.latest?.resources ?? [];
}

/** The resource named `name` (the last URN segment) in a state. */
export function stateResource(resources: StateResource[], name: string): StateResource {
    const found = resources.filter((r) => r.urn.endsWith(`::${name}`));
    if (found.length !== 1) throw new Error(`${found.length} resources named ${name} in the state`);
    return found[0]!;
}
