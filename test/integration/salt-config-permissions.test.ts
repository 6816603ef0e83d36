/**
 * Who can read the secrets in /etc/dynamic-cluster once Salt itself has applied the head's
 * states for real, as the head node's `salt-call --local` does, and the daemons read them as the
 * users they run as:
 * - `reactor-local-api.header` by `salt` (salt-master runs as `salt`, as Salt's packages run it;
 *   the reactors send it with every event they forward) and not by `slurm`;
 * - `slurm-local-api.header` by `slurm` (Slurm runs its power-saving programs as SlurmUser) and
 *   not by `salt`;
 * - `admin-local-api.header` (root's token, for the `dynamic-cluster` command) and
 *   `service.json` (the service's settings and secrets) by neither; and neither lists the
 *   directory.
 *
 * What runs: Salt 3006.28 (test/env/salt/install.sh), as root, `salt-call --local state.apply`
 * of the head's highstate (the generated pillar, Rocky 9 grains; test/helpers/saltCall.ts) with
 * `exclude` listing every state except the ones that create /etc/dynamic-cluster or write a
 * file into it, and the states those require (`require`, `watch`, ... of the kind `<module>:
 * <ID>`). Which states those are is read from Salt's own `state.show_highstate`, so a state
 * added later that writes there is applied too (and the list below has to name it). Salt runs
 * them in highstate order, with their rendered arguments and their requisites among themselves,
 * for real (not test=True). Everything else is excluded: packages and services cannot be applied
 * on Debian (no dnf, no systemd), and nothing else writes into the directory. One `pkg.installed`
 * state stays because the Slurm header requires it (the package brings the group `slurm`): the
 * `pkg` stand-in (test/salt/rocky9_modules/pkg.py, option dc_installed_pkgs) reports its
 * packages installed, so Salt's pkg state succeeds without installing anything; the `sls:`
 * requisite on the repositories' SLS is met by Salt because the SLS was rendered (its states are
 * excluded). The run is applied twice: the second must change nothing. Then each state that
 * writes into the directory is applied alone (with its requisites) on a fresh /etc, the last one
 * first: whichever runs first, the directory must come out root:root 0711 (before the directory
 * had a state of its own, the first file state's `makedirs` created it with that file's group
 * and mode: root:slurm 0750 in highstate order, and salt-master could not read its header).
 *
 * Where: salt-call runs through test/helpers/etc-overlay.sh, in a private mount namespace with
 * an overlayfs over /etc whose upper layer is in the test's temp dir, so the machine's /etc is
 * never written. Every check runs in such a namespace on the same upper layer: `stat` of the
 * directory and the files, and `setpriv --reuid=<user> --regid=<user> --init-groups cat` (and
 * `ls`) as `salt` and `slurm`. The namespaces end with their commands, the temp dir is removed
 * after the tests. Users: `slurm` comes with Debian's slurm packages (test/env/packages),
 * `salt` from test/env/accounts.sh (run by test/run.sh), as Salt's Rocky packages create it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { after, before, describe, it } from "node:test";
import { asUserArgv, inEtcOverlay, type Run, statOwnership } from "../helpers/etcOverlay";
import { RENDER_CONFIGS, renderHighstate } from "../helpers/salt";
import {
    LocalMinion,
    REQUISITES,
    SALT_CALL_ENV,
    fromHighData,
    parseSaltCall,
    stateResults,
    type StateResult,
} from "../helpers/saltCall";

const CONFIG = RENDER_CONFIGS["slurm, floor 2, burst 8, one user"]!;
const CONFIG_DIR = "/etc/dynamic-cluster";
const REACTOR_HEADER = `${CONFIG_DIR}/reactor-local-api.header`;
const SLURM_HEADER = `${CONFIG_DIR}/slurm-local-api.header`;
const ADMIN_HEADER = `${CONFIG_DIR}/admin-local-api.header`;
const SETTINGS = `${CONFIG_DIR}/service.json`;

/** The states applied, in highstate order. */
const APPLIED = [
    "dynamic-cluster-head-config-dir-file-directory",
    // Required by the Slurm header (the package creates the group slurm).
    "dynamic-cluster-head-slurm-pkg-installed",
    "dynamic-cluster-head-slurm-file-managed-local-api-header",
    "dynamic-cluster-head-salt-master-file-managed-local-api-header",
    "dynamic-cluster-head-service-file-serialize-settings",
    "dynamic-cluster-head-service-file-managed-admin-header",
];

/** `stat -c '%U %G %a'` of the directory and of every file in it. */
const OWNERSHIP: Record<string, string> = {
    [CONFIG_DIR]: "root root 711",
    [REACTOR_HEADER]: "root salt 640",
    [SLURM_HEADER]: "root slurm 640",
    [ADMIN_HEADER]: "root root 600",
    [SETTINGS]: "root root 600",
};

/** Who must be able to read what; `true`: reads exactly the content Salt was to write. */
const READS: Array<[file: string, user: "salt" | "slurm", readable: boolean]> = [
    [REACTOR_HEADER, "salt", true],
    [REACTOR_HEADER, "slurm", false],
    [SLURM_HEADER, "slurm", true],
    [SLURM_HEADER, "salt", false],
    [ADMIN_HEADER, "salt", false],
    [ADMIN_HEADER, "slurm", false],
    [SETTINGS, "salt", false],
    [SETTINGS, "slurm", false],
];

/** Runs a command as root in a new mount namespace with the overlay over /etc. */
function inSandbox(sandbox: string, command: string[]): Run {
    return inEtcOverlay(sandbox, command, { env: SALT_CALL_ENV });
}

/** `cat FILE` (or `ls DIR`) as USER, with only USER's own groups. */
function asUser(sandbox: string, user: string, command: string[]): Run {
    return inSandbox(sandbox, asUserArgv(user, command));
}

type Highstate = ReturnType<typeof fromHighData>;

/** The states that create the directory or write a file directly into it. */
function touchingConfigDir(states: Highstate): string[] {
    return Object.entries(states)
        .filter(([id, s]) => {
            const name = String(s.args["name"] ?? id);
            return (
                s.module === "file" && (name === CONFIG_DIR || path.dirname(name) === CONFIG_DIR)
            );
        })
        .sort(([, a], [, b]) => a.order - b.order)
        .map(([id]) => id);
}

/**
 * `ids` and the states they name in requisites, transitively, in highstate order; `sls:`
 * requisites are left to Salt (met when the SLS is rendered, even with its states excluded).
 */
function withRequisites(states: Highstate, ids: string[]): string[] {
    const wanted = new Set(ids);
    const queue = [...ids];
    while (queue.length > 0) {
        const state = states[queue.pop()!]!;
        for (const key of REQUISITES) {
            for (const ref of (state.args[key] ?? []) as Array<Record<string, string>>) {
                const [kind, target] = Object.entries(ref)[0]!;
                if (kind === "sls" || wanted.has(target)) continue;
                assert.ok(states[target], `requisite ${kind}: ${target} is not in the highstate`);
                wanted.add(target);
                queue.push(target);
            }
        }
    }
    return Object.keys(states)
        .filter((id) => wanted.has(id))
        .sort((a, b) => states[a]!.order - states[b]!.order);
}

/** `salt-call state.apply` of the highstate in the sandbox, every state but `keep` excluded. */
function applyOnly(
    minion: LocalMinion,
    states: Highstate,
    sandbox: string,
    keep: string[],
): StateResult[] {
    const exclude = Object.keys(states)
        .filter((id) => !keep.includes(id))
        .map((id) => ({ id }));
    const run = inSandbox(
        sandbox,
        minion.argv("state.apply", `exclude=${JSON.stringify(exclude)}`),
    );
    const answer = parseSaltCall("state.apply", run.status, run.stdout, run.stderr);
    return stateResults(answer, `state.apply of ${keep.join(", ")}`);
}

/** `stat` owner, group and mode of paths inside the sandbox, as in {@link OWNERSHIP}. */
function ownership(sandbox: string, paths: string[]): Record<string, string> {
    return statOwnership((command) => inSandbox(sandbox, command), paths);
}

const show = (rs: StateResult[]) =>
    rs.map((r) => `${r.id}: ${String(r.result)} ${r.comment}`).join("\n");

function userExists(name: string): boolean {
    return spawnSync("getent", ["passwd", name]).status === 0;
}

describe("real Salt applies the head's /etc/dynamic-cluster states: who reads what", () => {
    let head: LocalMinion | undefined;
    let highstate: Highstate;
    let sandbox: string;
    let applied: string[];
    const runs: StateResult[][] = [];
    const emulated = renderHighstate(CONFIG, "head");

    before(() => {
        for (const user of ["salt", "slurm"]) {
            assert.ok(
                userExists(user),
                `no user ${user} on this machine (bash test/env/accounts.sh creates salt; ` +
                    "bash test/env/tools.sh installs Debian's slurm packages)",
            );
        }
        // The sandbox's lower layer is this machine's /etc: a directory there would be reused.
        assert.equal(fs.existsSync(CONFIG_DIR), false, `${CONFIG_DIR} exists on this machine`);

        // Which states to apply, from Salt's own rendering of the highstate.
        const planner = new LocalMinion(CONFIG, "head", { rocky9Modules: true });
        try {
            highstate = fromHighData(planner.highData("state.show_highstate"));
        } finally {
            planner.dispose();
        }
        applied = withRequisites(highstate, touchingConfigDir(highstate));
        const packages = applied
            .filter((id) => highstate[id]!.module === "pkg")
            .flatMap((id) => highstate[id]!.args["pkgs"] as string[]);

        head = new LocalMinion(CONFIG, "head", {
            rocky9Modules: true,
            installedPackages: packages,
        });
        sandbox = path.join(head.dir, "etc-overlay");
        for (let i = 0; i < 2; i++) runs.push(applyOnly(head, highstate, sandbox, applied));
    });

    after(() => {
        head?.dispose();
    });

    it("applies the states that create /etc/dynamic-cluster or write into it, in highstate order", () => {
        assert.deepEqual(applied, APPLIED);
        for (const results of runs) {
            assert.deepEqual(
                results.map((r) => r.id),
                APPLIED,
            );
        }
    });

    it("every state succeeds, and a second run changes nothing", () => {
        const [first, second] = runs as [StateResult[], StateResult[]];
        assert.deepEqual(
            first.filter((r) => r.result !== true),
            [],
            show(first),
        );
        const pkg = first.find((r) => r.module === "pkg")!;
        assert.equal(pkg.comment, "All specified packages are already installed");
        assert.deepEqual(pkg.changes, {});
        for (const r of first.filter((x) => x.module === "file")) {
            assert.notDeepEqual(r.changes, {}, `${r.id} wrote nothing`);
        }
        assert.deepEqual(
            second.filter((r) => r.result !== true || Object.keys(r.changes).length > 0),
            [],
            show(second),
        );
    });

    it("the directory and its files have their owner, group and mode", () => {
        const paths = Object.keys(OWNERSHIP);
        assert.deepEqual(ownership(sandbox, paths), OWNERSHIP);
        const listing = inSandbox(sandbox, ["ls", "-A", CONFIG_DIR]);
        assert.equal(listing.status, 0, listing.stderr);
        assert.deepEqual(
            listing.stdout.trim().split("\n"),
            paths
                .filter((p) => p !== CONFIG_DIR)
                .map((p) => path.basename(p))
                .sort(),
        );
    });

    for (const [file, user, readable] of READS) {
        it(`${user} ${readable ? "reads" : "cannot read"} ${file}`, () => {
            const run = asUser(sandbox, user, ["cat", file]);
            if (readable) {
                assert.equal(run.status, 0, run.stderr);
                assert.equal(run.stdout, emulated.files[file]!.content);
            } else {
                assert.notEqual(run.status, 0);
                assert.equal(run.stdout, "");
                assert.match(run.stderr, /Permission denied/);
            }
        });
    }

    for (const user of ["salt", "slurm"]) {
        it(`${user} cannot list ${CONFIG_DIR}`, () => {
            const run = asUser(sandbox, user, ["ls", CONFIG_DIR]);
            assert.notEqual(run.status, 0);
            assert.match(run.stderr, /Permission denied/);
        });
    }

    it("whichever of them runs first, the directory comes out root:root 0711", () => {
        // Each state that writes into the directory, applied alone (with its requisites) on a
        // fresh /etc, last one first: as if its SLS ran before the others in the highstate.
        const writers = touchingConfigDir(highstate).filter(
            (id) => highstate[id]!.args["name"] !== CONFIG_DIR,
        );
        assert.equal(writers.length, 4);
        const seen: Record<string, Record<string, string>> = {};
        const expected: Record<string, Record<string, string>> = {};
        for (const [i, id] of [...writers].reverse().entries()) {
            const alone = path.join(head!.dir, `etc-overlay-alone-${i}`);
            const keep = withRequisites(highstate, [id]);
            const results = applyOnly(head!, highstate, alone, keep);
            assert.deepEqual(
                results.map((r) => r.id),
                keep,
            );
            assert.deepEqual(
                results.filter((r) => r.result !== true),
                [],
                show(results),
            );
            const file = String(highstate[id]!.args["name"]);
            seen[id] = ownership(alone, [CONFIG_DIR, file]);
            expected[id] = { [CONFIG_DIR]: OWNERSHIP[CONFIG_DIR]!, [file]: OWNERSHIP[file]! };
        }
        assert.deepEqual(seen, expected);
        for (const id of writers) {
            const requires = (highstate[id]!.args["require"] ?? []) as unknown[];
            assert.ok(
                requires.some((r) => isDeepStrictEqual(r, { file: APPLIED[0] })),
                `${id} does not require the directory`,
            );
        }
    });

    it("only the overlays were written: their upper layers hold just the directory", () => {
        assert.equal(fs.existsSync(CONFIG_DIR), false, `${CONFIG_DIR} appeared on this machine`);
        const walk = (upper: string, dir = upper): string[] =>
            fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
                const full = path.join(dir, e.name);
                const rel = path.join("/etc", path.relative(upper, full));
                return e.isDirectory() ? [rel, ...walk(upper, full)] : [rel];
            });
        const sandboxes = fs.readdirSync(head!.dir).filter((d) => d.startsWith("etc-overlay"));
        assert.equal(sandboxes.length, 5);
        for (const dir of sandboxes) {
            const written = walk(path.join(head!.dir, dir, "upper"));
            if (dir === path.basename(sandbox)) {
                assert.deepEqual(written.sort(), Object.keys(OWNERSHIP).sort(), dir);
            } else {
                assert.equal(written.length, 2, dir);
                for (const p of written) assert.ok(OWNERSHIP[p], `${dir}: ${p}`);
            }
        }
    });
});
