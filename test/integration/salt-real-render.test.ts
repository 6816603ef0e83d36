/**
 * The Salt tree rendered and checked by Salt itself: Salt 3006 LTS from PyPI, pinned
 * (test/env/salt/install.sh), run as `salt-call --local` with the generated pillar files and
 * Rocky 9 grains, for every config the emulation renders (RENDER_CONFIGS), as the head node and
 * as a worker (test/helpers/saltCall.ts). For each config:
 * - `state.show_highstate` renders without error for both roles and gives exactly the states
 *   test/salt/render.py finds (IDs, module.function, every argument, SLS) in the same order;
 * - every argument of every state binds to Salt's own state function (format_call), and every
 *   requisite points at a state of the same run;
 * - `state.show_sls` of every SLS file of the tree renders on its own and brings in (includes)
 *   every state its requisites name;
 * - every file the highstates write is written by Salt's file states (templates, contents,
 *   pillar contents, serialize, decode) into a temp dir, byte for byte what the emulation
 *   renders, with the same mode, and the head's firewall rules Salt writes load with
 *   `iptables-restore --test` / `ip6tables-restore --test` (the check_cmd a dry run skips);
 * - Salt's pillar top gives the head-only secrets to the head only;
 * - a worker's `state.apply test=True` is clean (Torque: fails exactly where it must), and the
 *   head's fails only in the states this Debian machine cannot satisfy (no Cinder volume, no
 *   SELinux, a file a package would have created) and in those that require them.
 * And every reactor case of test/helpers/reactorCases.ts goes through Salt's reactor system
 * (test/salt/reactor_real.py) with the master config the head highstate writes: the reactor map
 * picks the intended file, and Salt makes exactly the calls the emulation renders; every forward
 * is a call of the tree's own runner (runner_dirs), dc_forward.post, with exactly path and data.
 * The runner itself runs under real Salt in test/integration/salt-forward-runner.test.ts.
 * What Salt cannot show here (Debian, not Rocky 9): see docs/testing.md ("What the tests prove,
 * by layer") and render.py's header.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import {
    PILLAR_RESOURCES,
    PILLAR_SECRETS,
    RENDER_CONFIGS,
    SALT_TREE,
    renderHighstate,
    renderReactor,
    type Highstate,
    type ReactorResult,
    type OsFamily,
    type RenderedState,
    type Role,
} from "../helpers/salt";
import {
    LocalMinion,
    dangling,
    fromHighData,
    runReactors,
    saltVenv,
    type HighData,
    type ReactorRun,
    type StateResult,
} from "../helpers/saltCall";
import { REACTOR_CASES } from "../helpers/reactorCases";
import { restoreTest } from "../helpers/firewall";

const ROLES: Role[] = ["head", "worker"];
/** The Debian section's package lists of the tree's OS family map. */
const DEBIAN = (
    yaml.load(
        fs.readFileSync(path.join(SALT_TREE, "dynamic_cluster", "osfamilymap.yaml"), "utf8"),
    ) as { Debian: { packages: Record<string, string[]> } }
).Debian.packages as Record<string, string[]> & {
    slurm_worker: string[];
    munge: string[];
    nfs_client: string[];
};
const STATE_ARGS_SCRIPT = path.resolve(__dirname, "../salt/state_args.py");

/** Paths a stray salt-call (one without its config dir) would write to. */
const SYSTEM_SALT_PATHS = [
    "/etc/salt",
    "/srv/salt",
    "/srv/pillar",
    "/var/cache/salt",
    "/var/log/salt",
    "/run/salt",
];

function systemSaltPaths(): string[] {
    return SYSTEM_SALT_PATHS.map((p) => {
        const stat = fs.statSync(p, { throwIfNoEntry: false });
        return stat ? `${p} ${stat.mtimeMs}` : `${p} absent`;
    });
}

/** Every SLS of the tree (dotted names) and the roles that apply it. */
function slsFiles(): Array<[string, Role[]]> {
    const walk = (dir: string): string[] =>
        fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
            const full = path.join(dir, e.name);
            return e.isDirectory() ? walk(full) : [path.relative(SALT_TREE, full)];
        });
    return walk(path.join(SALT_TREE, "dynamic_cluster"))
        .filter((f) => f.endsWith(".sls"))
        .map((f) =>
            f
                .replace(/\.sls$/, "")
                .replace(/\/init$/, "")
                .replace(/\//g, "."),
        )
        .sort()
        .map((sls): [string, Role[]] => {
            if (sls.startsWith("dynamic_cluster.head")) return [sls, ["head"]];
            if (sls.startsWith("dynamic_cluster.worker")) return [sls, ["worker"]];
            return [sls, ROLES];
        });
}

function withoutOrder(states: Record<string, RenderedState & { order: number }>) {
    return Object.fromEntries(
        Object.entries(states).map(([id, { order: _order, ...state }]) => [id, state]),
    ) as Record<string, RenderedState>;
}

/** SLS names in the order Salt runs their states (first state of each). */
function slsOrder(states: Record<string, RenderedState & { order: number }>): string[] {
    const sorted = Object.values(states).sort((a, b) => a.order - b.order);
    return [...new Set(sorted.map((s) => s.sls))];
}

function checkStateArgs(states: Record<string, RenderedState>): string[] {
    const input = Object.entries(states).map(([id, s]) => ({
        id,
        module: s.module,
        function: s.function,
        args: s.args,
    }));
    const out = execFileSync(path.join(saltVenv(), "bin", "python"), [STATE_ARGS_SCRIPT], {
        input: JSON.stringify(input),
        encoding: "utf8",
        env: { ...process.env, PYTHONWARNINGS: "ignore::DeprecationWarning" },
    });
    const answer = JSON.parse(out) as { errors: string[]; checked: number };
    assert.equal(answer.checked, input.length);
    return answer.errors;
}

let systemBefore: string[];
before(() => {
    saltVenv();
    systemBefore = systemSaltPaths();
});

/** Every config on Rocky 9 (Salt's pkg and service stand-ins), one on Debian 12 (this machine's
 * own family: Salt's real apt and service modules). */
const CASES: Array<[string, (typeof RENDER_CONFIGS)[string], OsFamily]> = [
    ...Object.entries(RENDER_CONFIGS).map(
        ([name, config]): [string, (typeof RENDER_CONFIGS)[string], OsFamily] => [
            name,
            config,
            "RedHat",
        ],
    ),
    [
        "slurm, floor 2, burst 8, one user",
        RENDER_CONFIGS["slurm, floor 2, burst 8, one user"]!,
        "Debian",
    ],
];

/** The head's firewall rules files per family (osfamilymap.yaml). */
const RULES_FILES: Record<OsFamily, { ipv4: string; ipv6: string }> = {
    RedHat: { ipv4: "/etc/sysconfig/iptables", ipv6: "/etc/sysconfig/ip6tables" },
    Debian: { ipv4: "/etc/iptables/rules.v4", ipv6: "/etc/iptables/rules.v6" },
};

for (const [name, config, family] of CASES) {
    describe(`real Salt: ${name}${family === "RedHat" ? "" : `, ${family}`}`, () => {
        const minions = {} as Record<Role, LocalMinion>;
        const high = {} as Record<Role, HighData>;
        const emulated = {} as Record<Role, Highstate>;

        before(() => {
            for (const role of ROLES) {
                minions[role] = new LocalMinion(config, role, {
                    family,
                    rocky9Modules: family === "RedHat",
                });
                high[role] = minions[role].highData("state.show_highstate");
                emulated[role] = renderHighstate(
                    config,
                    role,
                    PILLAR_RESOURCES,
                    PILLAR_SECRETS,
                    family,
                );
                assert.deepEqual(emulated[role].errors, []);
            }
        });
        after(() => {
            for (const role of ROLES) minions[role]?.dispose();
        });

        it("head and worker highstates render, with exactly the states the emulation finds", () => {
            for (const role of ROLES) {
                const real = fromHighData(high[role]);
                const emu = emulated[role];
                assert.deepEqual(withoutOrder(real), emu.states, `${role}: Salt vs render.py`);
                // The emulation lists every SLS it visited; Salt orders states, so SLS files
                // that declare none (init.sls, worker.scheduler, users without users) are absent.
                const declaring = new Set(Object.values(emu.states).map((s) => s.sls));
                assert.deepEqual(
                    slsOrder(real),
                    emu.sls.filter((sls) => declaring.has(sls)),
                    `${role}: order of the SLS files`,
                );
            }
            const workerSls = slsOrder(fromHighData(high.worker));
            assert.ok(workerSls.includes("dynamic_cluster.worker.ready"));
            assert.ok(!workerSls.some((sls) => sls.includes(".head")), "no head state on a worker");
            assert.ok(slsOrder(fromHighData(high.head)).includes("dynamic_cluster.head.firewall"));
        });

        it("every state's arguments bind to Salt's state function, every requisite resolves", () => {
            for (const role of ROLES) {
                const states = withoutOrder(fromHighData(high[role]));
                assert.deepEqual(checkStateArgs(states), [], `${role}: arguments`);
                assert.deepEqual(dangling(states), [], `${role}: requisites`);
            }
        });

        it("every SLS file renders on its own (state.show_sls) with what its requisites need", () => {
            const checked: string[] = [];
            for (const [sls, roles] of slsFiles()) {
                for (const role of roles) {
                    const own = withoutOrder(
                        fromHighData(minions[role].highData("state.show_sls", sls)),
                    );
                    const full = withoutOrder(fromHighData(high[role]));
                    assert.deepEqual(dangling(own), [], `${sls} (${role}) alone`);
                    for (const [id, state] of Object.entries(own)) {
                        if (full[id]) assert.deepEqual(state, full[id], `${sls} (${role}): ${id}`);
                    }
                    const declared = Object.keys(full).filter((id) => full[id]!.sls === sls);
                    for (const id of declared) assert.ok(own[id], `${sls} (${role}) lacks ${id}`);
                    checked.push(`${sls} (${role})`);
                }
            }
            assert.ok(checked.length >= 20, `only ${checked.length} SLS renders`);
        });

        it("Salt's file states write every file as the emulation renders it, with its mode", () => {
            for (const role of ROLES) {
                const files = minions[role].renderFiles(high[role]);
                const emu = emulated[role];
                const managed = Object.entries(files).filter(([, f]) => f.function === "managed");
                assert.deepEqual(
                    managed.map(([p]) => p).sort(),
                    Object.keys(emu.files).sort(),
                    `${role}: the files file.managed writes`,
                );
                for (const [p, f] of managed) {
                    assert.equal(
                        f.content.toString("utf8"),
                        emu.files[p]!.content,
                        `${role}: ${p}`,
                    );
                    assert.equal(f.mode, emu.files[p]!.mode, `${role}: mode of ${p}`);
                }
                const munge = files["/etc/munge/munge.key"];
                if (munge) {
                    assert.ok(munge.content.equals(Buffer.from(PILLAR_SECRETS.mungeKey, "base64")));
                }
                if (role === "head") {
                    // firewall.sls's check_cmd, which Salt's dry run does not run.
                    for (const rulesFamily of ["ipv4", "ipv6"] as const) {
                        const file = RULES_FILES[family][rulesFamily];
                        const rules = files[file];
                        assert.ok(rules, `${file} is written`);
                        const check = restoreTest(
                            rulesFamily,
                            rules.content.toString("utf8"),
                            "dc-workers",
                        );
                        assert.equal(check.status, 0, `${file}:\n${check.output}`);
                    }
                }
                const settings = files["/etc/dynamic-cluster/service.json"];
                if (role === "head") {
                    assert.ok(settings, "the service's settings");
                    assert.equal(settings.mode, "0600");
                    const state =
                        emu.states["dynamic-cluster-head-service-file-serialize-settings"]!;
                    assert.deepEqual(
                        JSON.parse(settings.content.toString("utf8")),
                        state.args.dataset,
                    );
                } else {
                    assert.equal(settings, undefined);
                }
            }
        });

        it("Salt's pillar top gives the head-only secrets to the head only", () => {
            const keys = (role: Role) =>
                Object.keys(minions[role].call("pillar.items").local as object).sort();
            assert.deepEqual(keys("head"), [
                "dynamic_cluster",
                "dynamic_cluster_cluster_secrets",
                "dynamic_cluster_head_secrets",
            ]);
            assert.deepEqual(keys("worker"), [
                "dynamic_cluster",
                "dynamic_cluster_cluster_secrets",
            ]);
        });

        it(`the head's state.apply test=True fails only where this machine is not a ${family} head`, () => {
            const { results, stderr } = minions.head.apply("test=True");
            assert.deepEqual(
                results.map((r) => r.id).sort(),
                Object.keys(fromHighData(high.head)).sort(),
                `every state ran:\n${stderr}`,
            );
            // The states that cannot succeed here, and why; everything else must be True or
            // None, or fail only because one of these failed.
            const platform: Record<string, RegExp> = {
                // No Cinder volume attached to this machine.
                "dynamic-cluster-head-data-volume-blockdev-formatted":
                    /^\/dev\/disk\/by-id\/virtio-0b6d3f2e-55aa-4c1e-9 does not exist$/,
            };
            if (family === "RedHat") {
                // No SELinux: Salt's selinux module does not load on Debian.
                platform["dynamic-cluster-head-proxy-selinux-boolean-network-connect"] =
                    /'selinux' __virtual__ returned False/;
                // ipset-service ships this file; a dry run installs nothing (in a real run the
                // pkg state it requires puts it there first).
                platform["dynamic-cluster-head-firewall-file-replace-ipset-save-on-stop"] =
                    /^\/etc\/sysconfig\/ipset-config: file not found$/;
            }
            if (config.scheduler === "torque") {
                platform["dynamic-cluster-head-torque-test-fail-without-changes"] =
                    /^If we weren't testing, this would be a failure!$/;
            }
            const failed = results.filter((r) => r.result === false);
            for (const [id, reason] of Object.entries(platform)) {
                const r = results.find((x) => x.id === id)!;
                assert.equal(r.result, false, id);
                assert.match(r.comment, reason, id);
            }
            for (const r of failed) {
                if (platform[r.id]) continue;
                const prefix = "One or more requisite failed: ";
                assert.ok(r.comment.startsWith(prefix), `${r.id}: ${r.comment}`);
                // Salt names each failed requisite `<sls>.<id>`.
                for (const req of r.comment.slice(prefix.length).trim().split(", ")) {
                    assert.ok(
                        failed.some((f) => req.endsWith(`.${f.id}`)),
                        `${r.id} failed because of ${req}`,
                    );
                }
            }
        });

        it("a worker's state.apply test=True is clean", () => {
            const { results, stderr } = minions.worker.apply("test=True");
            const expectedIds = Object.keys(fromHighData(high.worker)).sort();
            assert.deepEqual(
                results.map((r) => r.id).sort(),
                expectedIds,
                `every state ran:\n${stderr}`,
            );
            const byId = new Map(results.map((r) => [r.id, r]));
            const show = (rs: StateResult[]) =>
                rs.map((r) => `${r.id}: ${String(r.result)} ${r.comment}`).join("\n");
            const failed = results.filter((r) => r.result === false);
            if (config.scheduler === "torque") {
                // The Torque states are not part of this release: the run fails there, so the
                // worker reports failure instead of readiness.
                assert.deepEqual(
                    failed.map((r) => r.id),
                    [
                        "dynamic-cluster-worker-torque-test-fail-without-changes",
                        "dynamic-cluster-worker-ready-event-send-ready",
                    ],
                    show(failed),
                );
                assert.equal(
                    byId.get("dynamic-cluster-worker-ready-event-send-failed")!.result,
                    null,
                );
                return;
            }
            assert.deepEqual(failed, [], show(failed));
            const pkg = (id: string) => byId.get(id)!.comment;
            if (family === "Debian") {
                // Salt's apt module on this Debian 12 machine: the names the map gives, less
                // whatever this machine already has installed.
                for (const [id, names] of [
                    ["dynamic-cluster-worker-slurm-pkg-installed", DEBIAN.slurm_worker],
                    ["dynamic-cluster-common-munge-pkg-installed", DEBIAN.munge],
                    ["dynamic-cluster-worker-nfs-client-pkg-installed", DEBIAN.nfs_client],
                ] as const) {
                    const comment = pkg(id);
                    const listed =
                        /^The following packages would be installed\/updated: (.*)$/.exec(comment);
                    if (!listed) {
                        assert.match(comment, /^All specified packages are already installed$/, id);
                        continue;
                    }
                    for (const name of listed[1]!.split(", ")) assert.ok(names.includes(name), id);
                }
            } else {
                assert.equal(
                    pkg("dynamic-cluster-worker-slurm-pkg-installed"),
                    "The following packages would be installed/updated: slurm, slurm-slurmd, slurm-pam_slurm, slurm-torque",
                );
                assert.equal(
                    pkg("dynamic-cluster-common-munge-pkg-installed"),
                    "The following packages would be installed/updated: munge",
                );
                assert.equal(
                    byId.get("dynamic-cluster-worker-slurm-service-running")!.comment,
                    "Service is set to be started",
                );
            }
            assert.match(
                byId.get("dynamic-cluster-worker-nfs-client-mount-mounted")!.comment,
                /^\/data would be (created and )?mounted/,
            );
            const ready = byId.get("dynamic-cluster-worker-ready-event-send-ready")!;
            assert.equal(ready.result, null);
            assert.equal(ready.comment, "Event would have been fired");
        });

        if (family === "Debian") {
            it("every package the Debian map names is in this Debian 12's archive", () => {
                const names = [...new Set(Object.values(DEBIAN).flat())].sort();
                assert.ok(names.length >= 15, names.join(" "));
                const policy = execFileSync("apt-cache", ["policy", ...names], {
                    encoding: "utf8",
                });
                const candidates = new Map(
                    [...policy.matchAll(/^(\S+):\n(?:.*\n)*?\s+Candidate: (.*)$/gm)].map((m) => [
                        m[1]!,
                        m[2]!,
                    ]),
                );
                for (const name of names) {
                    const candidate = candidates.get(name);
                    assert.ok(candidate && candidate !== "(none)", `${name}: ${candidate}`);
                }
            });
        }
    });
}

describe("real Salt: the reactors, with the master config the head highstate writes", () => {
    let runs: ReactorRun[];
    let emulated: ReactorResult[];
    before(() => {
        const config = RENDER_CONFIGS["slurm, floor 2, burst 8, one user"]!;
        const head = new LocalMinion(config, "head");
        try {
            const files = head.renderFiles(head.highData("state.show_highstate"));
            const conf = files["/etc/salt/master.d/dynamic-cluster.conf"]!.content.toString();
            runs = runReactors(conf, REACTOR_CASES);
        } finally {
            head.dispose();
        }
        emulated = REACTOR_CASES.map((c) => renderReactor(c.file, c.tag, c.data));
    });

    for (const [i, c] of REACTOR_CASES.entries()) {
        it(`${c.name}: Salt makes the calls the emulation renders`, () => {
            const run = runs[i]!;
            assert.deepEqual(run.errors, []);
            assert.deepEqual(run.reactors, [path.join(SALT_TREE, c.file)], "reactor map");
            assert.deepEqual([...run.ids].sort(), Object.keys(c.expect).sort());
            assert.equal(run.calls.length, run.ids.length);
            for (const [j, id] of run.ids.entries()) {
                const call = run.calls[j]!;
                const emu = emulated[i]!.reactions[id]!;
                assert.equal(`${call.kind}.${call.fun}`, c.expect[id]!.call, id);
                assert.equal(`${emu.kind}.${emu.function}`, c.expect[id]!.call, id);
                if (call.kind === "runner") {
                    // runner.dc_forward.post: the path and the data the runner sends as JSON.
                    assert.deepEqual(call.arg, []);
                    assert.deepEqual(call.kwarg, emu.args, id);
                    assert.deepEqual(
                        call.kwarg,
                        { path: c.expect[id]!.path, data: c.expect[id]!.body },
                        id,
                    );
                } else {
                    assert.equal(call.tgt_type, "glob");
                    assert.deepEqual({ tgt: call.tgt, kwarg: call.kwarg }, emu.args, id);
                }
            }
        });
    }
});

describe("real Salt stays in its temp dirs", () => {
    it("nothing was written to the machine's own Salt paths", () => {
        assert.deepEqual(systemSaltPaths(), systemBefore);
    });
});
