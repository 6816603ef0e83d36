/**
 * Real Salt for tests: `salt-call --local` from the pinned PyPI install (test/env/salt/install.sh)
 * against the project's Salt tree and the pillar files the program generates, as the head node
 * or a worker would run it, entirely inside a temporary directory.
 *
 * Each {@link LocalMinion} has its own config dir: a minion config with `root_dir` in the temp
 * dir (so keys, cache, logs and sockets never touch /etc/salt or /var), `file_roots` = the repo's
 * `salt/` tree, `pillar_roots` = the generated pillar files with the program's own pillar top
 * file, and a `grains` file that makes this Debian machine look like the Rocky 9 minion the tree
 * is written for (os_family, os, osmajorrelease, id, the dynamic_cluster grain; grainsFor()).
 *
 * For `state.apply test=True` it also loads test/salt/rocky9_modules: stand-ins for the package
 * database and systemd of a fresh Rocky 9 machine, which Salt cannot load here (no dnf, no
 * systemd as PID 1). Salt's own state modules run on top of them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { ClusterConfig } from "../../components/config";
import {
    renderPublicPillarFiles,
    renderSecretPillarFiles,
    type PillarResources,
    type PillarSecrets,
} from "../../components/pillar";
import {
    PILLAR_RESOURCES,
    PILLAR_SECRETS,
    SALT_TREE,
    grainsFor,
    type OsFamily,
    type RenderedState,
    type Role,
} from "./salt";

const INSTALL_SCRIPT = path.resolve(__dirname, "../env/salt/install.sh");
/** Test-only `pkg` and `service` execution modules (see their module headers). */
export const ROCKY9_MODULES = path.resolve(__dirname, "../salt/rocky9_modules");

let venv: string | undefined;

/**
 * The virtualenv with the pinned Salt: `DC_SALT_VENV` (test/run.sh sets it), or whatever
 * test/env/salt/install.sh prints (it installs on first use, then answers from its stamp).
 */
export function saltVenv(): string {
    if (venv) return venv;
    let dir = process.env["DC_SALT_VENV"];
    if (!dir) {
        const out = execFileSync("bash", [INSTALL_SCRIPT], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        });
        dir = out.trim().split("\n").pop() ?? "";
    }
    if (!fs.existsSync(path.join(dir, "bin", "salt-call"))) {
        throw new Error(`no salt-call in ${dir} (run bash test/env/salt/install.sh)`);
    }
    venv = dir;
    return dir;
}

/** What one `salt-call --out json` answered. */
export interface SaltCallResult {
    /** salt-call's exit status (1 when a render error or a failed state is reported). */
    status: number;
    /** The value under `local` in the JSON output. */
    local: unknown;
    stderr: string;
}

/** One state as `state.show_highstate` / `state.show_sls` give it (high data). */
export type HighData = Record<string, Record<string, unknown>>;

/** A file as Salt's file states wrote it. */
export interface RenderedFile {
    state: string;
    function: string;
    content: Buffer;
    /** Octal permission bits, e.g. "0644". */
    mode: string;
}

/** One state's result from `state.apply`. */
export interface StateResult {
    id: string;
    module: string;
    function: string;
    name: string;
    result: boolean | null;
    comment: string;
    changes: Record<string, unknown>;
    sls: string;
    runNum: number;
}

export interface LocalMinionOptions {
    resources?: PillarResources;
    secrets?: PillarSecrets;
    /**
     * The OS family the grains say (default RedHat: Rocky 9). Debian is this machine's own, so
     * Salt's real `pkg` (apt) and `service` modules load for it.
     */
    family?: OsFamily;
    /** Load the Rocky 9 stand-ins for `pkg` and `service` (for `state.apply test=True`). */
    rocky9Modules?: boolean;
    /**
     * Packages the `pkg` stand-in reports installed (its `dc_installed_pkgs` option), for a real
     * `state.apply` of states that require `pkg.installed` states; needs `rocky9Modules`.
     */
    installedPackages?: string[];
}

/** A `salt-call --local` minion in its own temporary directory; call {@link dispose} after. */
export class LocalMinion {
    /** The temp dir: config/, pillar/, extra_roots/, root/ (Salt's root_dir), out/. */
    readonly dir: string;
    readonly configDir: string;
    readonly id: string;
    /** An extra file root (after the repo's tree) for SLS files a test generates. */
    readonly extraRoots: string;

    constructor(
        readonly config: ClusterConfig,
        readonly role: Role,
        options: LocalMinionOptions = {},
    ) {
        const grains = grainsFor(config, role, options.family);
        this.id = String(grains["id"]);
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-salt-real-"));
        this.configDir = path.join(this.dir, "config");
        this.extraRoots = path.join(this.dir, "extra_roots");
        const pillarDir = path.join(this.dir, "pillar");
        for (const d of [this.configDir, this.extraRoots, pillarDir]) fs.mkdirSync(d);
        // The pillar files exactly as the program writes them to /srv/pillar, top file included:
        // Salt decides which minion sees which secrets.
        const pillarFiles = {
            ...renderPublicPillarFiles(config, options.resources ?? PILLAR_RESOURCES),
            ...renderSecretPillarFiles(options.secrets ?? PILLAR_SECRETS),
        };
        for (const [name, text] of Object.entries(pillarFiles)) {
            fs.writeFileSync(path.join(pillarDir, name), text, { mode: 0o600 });
        }
        const minion: Record<string, unknown> = {
            id: this.id,
            root_dir: path.join(this.dir, "root"),
            file_client: "local",
            file_roots: { base: [SALT_TREE, this.extraRoots] },
            pillar_roots: { base: [pillarDir] },
            minion_id_caching: false,
            grains_cache: false,
            // No DNS look-ups of the machine's addresses (and no network at all).
            enable_fqdns_grains: false,
            enable_gpu_grains: false,
            log_level_logfile: "info",
        };
        if (options.rocky9Modules) minion["module_dirs"] = [ROCKY9_MODULES];
        if (options.installedPackages) {
            if (!options.rocky9Modules) throw new Error("installedPackages needs rocky9Modules");
            minion["dc_installed_pkgs"] = options.installedPackages;
        }
        fs.writeFileSync(path.join(this.configDir, "minion"), yaml.dump(minion));
        fs.writeFileSync(path.join(this.configDir, "grains"), yaml.dump(grains));
    }

    /**
     * The command line `salt-call --local --config-dir <dir> --out json <fun> <args...>`, for a
     * caller that runs it itself (in a sandbox); {@link call} runs it.
     */
    argv(fun: string, ...args: string[]): string[] {
        if (!fs.existsSync(path.join(this.configDir, "minion"))) {
            // Without its config salt-call would fall back to /etc/salt and /var.
            throw new Error(`${this.configDir} has no minion config`);
        }
        return [
            path.join(saltVenv(), "bin", "salt-call"),
            "--local",
            "--config-dir",
            this.configDir,
            "--out",
            "json",
            "--log-level",
            "warning",
            fun,
            ...args,
        ];
    }

    /** Runs `salt-call --local --config-dir <dir> --out json <fun> <args...>`. */
    call(fun: string, ...args: string[]): SaltCallResult {
        const [command, ...argv] = this.argv(fun, ...args);
        const result = spawnSync(command!, argv, {
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
            env: SALT_CALL_ENV,
            timeout: 300_000,
        });
        if (result.error) throw result.error;
        return parseSaltCall(fun, result.status, result.stdout, result.stderr);
    }

    /**
     * High data from `state.show_highstate` or `state.show_sls`; a render error (Salt answers
     * with a list of messages) throws with Salt's messages.
     */
    highData(fun: "state.show_highstate" | "state.show_sls", ...args: string[]): HighData {
        const { status, local, stderr } = this.call(fun, ...args);
        if (status !== 0 || Array.isArray(local) || typeof local !== "object" || !local) {
            throw new Error(
                `${fun} ${args.join(" ")} (${this.role}) failed with status ${status}:\n` +
                    `${JSON.stringify(local, null, 2)}\n${stderr}`,
            );
        }
        return local as HighData;
    }

    /** `state.apply` (with extra arguments such as `test=True`), one entry per state. */
    apply(...args: string[]): { status: number; results: StateResult[]; stderr: string } {
        const answer = this.call("state.apply", ...args);
        return {
            status: answer.status,
            results: stateResults(answer, `state.apply ${args.join(" ")} (${this.role})`),
            stderr: answer.stderr,
        };
    }

    /**
     * Writes every file the given high data manages, with Salt's own file states, under
     * `<dir>/out/<path>`: file.managed (source + template + context, contents, contents_pillar),
     * file.serialize and file.decode, with their rendered arguments except the target path,
     * owner and group (the head's users do not exist here), requisites and check_cmd. Only
     * files with content are written (replace: False states only set modes).
     */
    renderFiles(high: HighData): Record<string, RenderedFile> {
        const out = path.join(this.dir, "out");
        const drop = new Set<string>([
            "name",
            "user",
            "group",
            "check_cmd",
            "onlyif",
            "unless",
            "makedirs",
            ...REQUISITES,
        ]);
        const sls: Record<string, unknown> = {};
        const wanted: Record<string, { state: string; function: string; target: string }> = {};
        for (const [id, state] of Object.entries(fromHighData(high))) {
            if (state.module !== "file") continue;
            const a = state.args;
            const writes =
                (state.function === "managed" &&
                    ("source" in a || "contents" in a || "contents_pillar" in a)) ||
                state.function === "serialize" ||
                state.function === "decode";
            if (!writes) continue;
            const name = String(a["name"] ?? id);
            const target = path.join(out, name);
            const args = Object.entries(a)
                .filter(([k]) => !drop.has(k))
                .map(([k, v]) => ({ [k]: v }));
            fs.mkdirSync(path.dirname(target), { recursive: true });
            sls[id] = { [`file.${state.function}`]: [{ name: target }, ...args] };
            wanted[name] = { state: id, function: state.function, target };
        }
        // JSON renderer only: rendered contents must not go through Jinja a second time.
        fs.writeFileSync(
            path.join(this.extraRoots, "dc_render_files.sls"),
            `#!json\n${JSON.stringify(sls)}\n`,
        );
        const { results, stderr } = this.apply("dc_render_files");
        const failed = results.filter((r) => r.result !== true);
        if (failed.length > 0 || results.length !== Object.keys(wanted).length) {
            throw new Error(
                `rendering files with Salt failed:\n${JSON.stringify(failed, null, 2)}\n${stderr}`,
            );
        }
        const files: Record<string, RenderedFile> = {};
        for (const [name, w] of Object.entries(wanted)) {
            const stat = fs.statSync(w.target);
            files[name] = {
                state: w.state,
                function: w.function,
                content: fs.readFileSync(w.target),
                mode: (stat.mode & 0o7777).toString(8).padStart(4, "0"),
            };
        }
        return files;
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** The environment salt-call runs with (Salt 3006 on Python 3.11 warns about deprecations). */
export const SALT_CALL_ENV: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONWARNINGS: "ignore::DeprecationWarning",
};

/** What salt-call printed with `--out json`; output that is not JSON throws with all of it. */
export function parseSaltCall(
    fun: string,
    status: number | null,
    stdout: string,
    stderr: string,
): SaltCallResult {
    let local: unknown;
    try {
        local = (JSON.parse(stdout) as { local: unknown }).local;
    } catch {
        throw new Error(`salt-call ${fun} gave no JSON (status ${status}):\n${stdout}\n${stderr}`);
    }
    return { status: status ?? -1, local, stderr };
}

/**
 * The state results of a `state.apply` answer in the order Salt ran them; an answer that is not
 * a mapping of results (a render error: Salt answers with a list of messages) throws.
 */
export function stateResults(answer: SaltCallResult, what: string): StateResult[] {
    const { local, stderr } = answer;
    if (Array.isArray(local) || typeof local !== "object" || !local) {
        throw new Error(`${what} did not run:\n${JSON.stringify(local, null, 2)}\n${stderr}`);
    }
    const results = Object.entries(local as Record<string, Record<string, unknown>>).map(
        ([key, r]) => {
            const [module = "", id = "", name = "", fun = ""] = key.split("_|-");
            return {
                id,
                module,
                function: fun,
                name,
                result: r["result"] as boolean | null,
                comment: String(r["comment"] ?? ""),
                changes: (r["changes"] ?? {}) as Record<string, unknown>,
                sls: String(r["__sls__"] ?? ""),
                runNum: Number(r["__run_num__"] ?? 0),
            };
        },
    );
    results.sort((a, b) => a.runNum - b.runNum);
    return results;
}

/** The same shape test/salt/render.py gives a state, from Salt's high data for it. */
export function fromHighData(high: HighData): Record<string, RenderedState & { order: number }> {
    const states: Record<string, RenderedState & { order: number }> = {};
    for (const [id, body] of Object.entries(high)) {
        const modules = Object.keys(body).filter((k) => !k.startsWith("__"));
        if (modules.length !== 1) {
            throw new Error(`state ${id} has ${modules.length} state modules: ${modules.join()}`);
        }
        const module = modules[0]!;
        const items = body[module] as unknown[];
        const functions = items.filter((i): i is string => typeof i === "string");
        if (functions.length !== 1) throw new Error(`state ${id}: functions ${functions.join()}`);
        const args: Record<string, unknown> = {};
        let order = -1;
        for (const item of items) {
            if (typeof item === "string") continue;
            for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
                if (key === "order") order = Number(value);
                else args[key] = value;
            }
        }
        states[id] = {
            module,
            function: functions[0]!,
            args,
            sls: String(body["__sls__"]),
            order,
        };
    }
    return states;
}

/** Requisite keywords whose targets must exist in the same run. */
export const REQUISITES = [
    "require",
    "watch",
    "onchanges",
    "onfail",
    "onfail_any",
    "prereq",
    "listen",
] as const;

/**
 * Requisites of `states` that point at nothing in `states`: `kind: id` needs that state (of
 * that module), `sls: name` needs a state declared by that SLS itself (how Salt matches it).
 */
export function dangling(states: Record<string, RenderedState>): string[] {
    const problems: string[] = [];
    for (const [id, state] of Object.entries(states)) {
        for (const key of REQUISITES) {
            const refs = state.args[key];
            if (refs === undefined) continue;
            for (const ref of refs as Array<Record<string, string>>) {
                const [kind, target] = Object.entries(ref)[0]!;
                const ok =
                    kind === "sls"
                        ? Object.values(states).some((s) => s.sls === target)
                        : states[target]?.module === kind;
                if (!ok) problems.push(`${id}: ${key} ${kind}: ${target}`);
            }
        }
    }
    return problems;
}

/** What Salt's reactor system made of one event (test/salt/reactor_real.py). */
export interface ReactorRun {
    /** Reactor files the master's `reactor` map picked for the tag. */
    reactors: string[];
    /** Reaction IDs in the order Salt runs them; `calls` has one entry per ID. */
    ids: string[];
    calls: Array<{
        kind: "runner" | "local";
        fun: string;
        tgt?: string;
        tgt_type?: string;
        arg: unknown[];
        kwarg: Record<string, unknown>;
    }>;
    /** Warnings and errors Salt logged, and runner arguments that would be refused or ignored. */
    errors: string[];
}

const REACTOR_SCRIPT = path.resolve(__dirname, "../salt/reactor_real.py");
/** Where the program copies the tree on the head node (file_roots of the generated config). */
const HEAD_TREE = "/srv/salt/";

/** A path of the head's Salt tree (/srv/salt/...) moved to the repo's tree. */
function inRepoTree(file: string, what: string): string {
    if (!file.startsWith(HEAD_TREE)) throw new Error(`${what} ${file} outside /srv/salt`);
    return path.join(SALT_TREE, file.slice(HEAD_TREE.length));
}

/**
 * Runs events through Salt's reactor system with the master configuration the head highstate
 * generates (`masterConf`, the text of master.d/dynamic-cluster.conf), its reactor paths,
 * runner_dirs and file_roots moved from /srv/salt to the repo's tree, everything else Salt
 * writes in a temp dir.
 */
export function runReactors(
    masterConf: string,
    cases: Array<{ tag: string; data: unknown }>,
): ReactorRun[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-salt-real-"));
    try {
        const conf = yaml.load(masterConf) as Record<string, unknown>;
        const reactor = (conf["reactor"] as Array<Record<string, string[]>>).map((entry) =>
            Object.fromEntries(
                Object.entries(entry).map(([tag, files]) => [
                    tag,
                    files.map((f) => inRepoTree(f, "reactor")),
                ]),
            ),
        );
        const runnerDirs = ((conf["runner_dirs"] ?? []) as string[]).map((d) =>
            inRepoTree(`${d}/`, "runner_dirs entry"),
        );
        const master = {
            ...conf,
            reactor,
            runner_dirs: runnerDirs,
            root_dir: path.join(dir, "root"),
            file_roots: { base: [SALT_TREE] },
            pillar_roots: { base: [path.join(dir, "pillar")] },
        };
        const file = path.join(dir, "master");
        fs.writeFileSync(file, yaml.dump(master));
        const out = execFileSync(path.join(saltVenv(), "bin", "python"), [REACTOR_SCRIPT], {
            input: JSON.stringify({ master_config: file, cases }),
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
            env: { ...process.env, PYTHONWARNINGS: "ignore::DeprecationWarning" },
        });
        return (JSON.parse(out) as { results: ReactorRun[] }).results;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
