/**
 * The reactors, rendered with real Jinja2 against the exact event data Salt sends (shapes in
 * test/helpers/reactorCases.ts): each event they handle produces the intended
 * `runner.dc_forward.post` call (path and data), each event they must ignore produces nothing. The rendered reactions are compared with a committed
 * snapshot (test/fixtures/salt/reactors.snapshot.json; refresh with UPDATE_SNAPSHOTS=1).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import {
    API,
    FORWARD,
    HEADER,
    REACTOR_CASES as CASES,
    type ReactorCase as Case,
} from "../helpers/reactorCases";
import {
    PILLAR_SECRETS,
    RENDER_CONFIGS,
    SALT_TREE,
    renderHighstate,
    renderReactor,
    type ReactorResult,
} from "../helpers/salt";

const SNAPSHOT = path.resolve(__dirname, "../fixtures/salt/reactors.snapshot.json");
const results = new Map<string, ReactorResult>();
function render(c: Case): ReactorResult {
    let result = results.get(c.name);
    if (!result) {
        result = renderReactor(c.file, c.tag, c.data);
        results.set(c.name, result);
    }
    return result;
}

describe("reactors: rendered with the events Salt sends", () => {
    for (const c of CASES) {
        it(c.name, () => {
            const result = render(c);
            assert.deepEqual(result.errors, []);
            assert.deepEqual(Object.keys(result.reactions).sort(), Object.keys(c.expect).sort());
            for (const [id, want] of Object.entries(c.expect)) {
                const got = result.reactions[id]!;
                assert.equal(`${got.kind}.${got.function}`, want.call);
                if (want.path) {
                    // Exactly path and data: the runner's header file and API are its constants.
                    assert.deepEqual(got.args, { path: want.path, data: want.body });
                }
                if (want.args) assert.deepEqual(got.args, want.args);
            }
        });
    }

    it("match the committed snapshot", () => {
        const snapshot = Object.fromEntries(CASES.map((c) => [c.name, render(c).reactions]));
        const text = JSON.stringify(snapshot, null, 2) + "\n";
        if (process.env.UPDATE_SNAPSHOTS === "1") fs.writeFileSync(SNAPSHOT, text);
        assert.equal(text, fs.readFileSync(SNAPSHOT, "utf8"));
    });

    it("forward only through dc_forward.post, never http.query", () => {
        const dir = path.join(SALT_TREE, "reactor");
        for (const file of fs.readdirSync(dir)) {
            const text = fs.readFileSync(path.join(dir, file), "utf8");
            assert.doesNotMatch(text, /http\.query|header_file|127\.0\.0\.1/, file);
        }
        const calls = CASES.flatMap((c) => Object.values(c.expect).map((e) => e.call));
        assert.ok(calls.includes(FORWARD));
        assert.deepEqual(
            calls.filter((call) => call.startsWith("runner.") && call !== FORWARD),
            [],
        );
    });

    it("reach the service port of components/ports.ts with the header file salt_master.sls writes", () => {
        // The runner's constants (salt/_runners/dc_forward.py), where the master sends events.
        const runner = fs.readFileSync(path.join(SALT_TREE, "_runners/dc_forward.py"), "utf8");
        const lines = runner.split("\n");
        assert.ok(lines.includes(`LOCAL_API = "${API}"`), "dc_forward LOCAL_API");
        assert.ok(lines.includes(`HEADER_FILE = "${HEADER}"`), "dc_forward HEADER_FILE");
        const master = fs.readFileSync(
            path.join(SALT_TREE, "dynamic_cluster/files/head/salt-master.conf.jinja"),
            "utf8",
        );
        assert.match(master, /^runner_dirs:\n {2}- \/srv\/salt\/_runners$/m, "runner_dirs");
        const defaults = yaml.load(
            fs.readFileSync(path.join(SALT_TREE, "dynamic_cluster/defaults.yaml"), "utf8"),
        ) as { dynamic_cluster: { paths: { config_dir: string; reactor_dir: string } } };
        assert.equal(path.dirname(HEADER), defaults.dynamic_cluster.paths.config_dir);
        assert.equal(defaults.dynamic_cluster.paths.reactor_dir, "/srv/salt/reactor");
    });

    it("send the Salt reactors' own token, which opens exactly the /salt/ routes they forward to", () => {
        // The header file the runner reads, as salt_master.sls writes it on the head node.
        const head = renderHighstate(RENDER_CONFIGS["slurm, floor 2, burst 8, one user"]!, "head");
        const header = head.files[HEADER];
        assert.ok(header, `${HEADER} is written`);
        assert.equal(head.states[header.state]!.sls, "dynamic_cluster.head.salt_master");
        const tokens = PILLAR_SECRETS.localApiTokens;
        assert.match(header.content, new RegExp(`^Authorization: Bearer ${tokens.salt}$`, "m"));
        assert.ok(!header.content.includes(tokens.slurm), "not Slurm's token");
        assert.ok(!header.content.includes(tokens.admin), "not root's token");
        // The service accepts that token on /local/v1/salt/* only (autoscaler/api/local.ts).
        const paths = CASES.flatMap((c) => Object.values(c.expect).map((e) => e.path)).filter(
            (p): p is string => typeof p === "string",
        );
        assert.ok(paths.length > 0);
        for (const p of paths) assert.match(p, /^\/salt\/[a-z/-]+$/, p);
    });
});
