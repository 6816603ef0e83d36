/**
 * The reactors, rendered with real Jinja2 against the exact event data Salt sends (shapes in
 * ../shared/research/anchors.md §6.1): each event they handle produces the intended call, each
 * event they must ignore produces nothing. The rendered reactions are compared with a committed
 * snapshot (test/fixtures/salt/reactors.snapshot.json; refresh with UPDATE_SNAPSHOTS=1).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import {
    API,
    HEADER,
    REACTOR_CASES as CASES,
    type ReactorCase as Case,
} from "../helpers/reactorCases";
import { SALT_TREE, renderReactor, type ReactorResult } from "../helpers/salt";

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
                if (want.url) {
                    assert.equal(got.args.url, want.url);
                    assert.equal(got.args.method, "POST");
                    assert.equal(got.args.header_file, HEADER);
                    assert.equal(got.args.raise_error, false);
                    assert.deepEqual(JSON.parse(String(got.args.data)), want.body);
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

    it("use the service port of components/ports.ts and the header file salt_master.sls writes", () => {
        const settings = fs.readFileSync(path.join(SALT_TREE, "reactor/settings.jinja"), "utf8");
        assert.ok(settings.includes(`'${API}'`), "reactor/settings.jinja local_api");
        assert.ok(settings.includes(`'${HEADER}'`), "reactor/settings.jinja header_file");
        const defaults = yaml.load(
            fs.readFileSync(path.join(SALT_TREE, "dynamic_cluster/defaults.yaml"), "utf8"),
        ) as { dynamic_cluster: { paths: { config_dir: string; reactor_dir: string } } };
        assert.equal(path.dirname(HEADER), defaults.dynamic_cluster.paths.config_dir);
        assert.equal(defaults.dynamic_cluster.paths.reactor_dir, "/srv/salt/reactor");
    });
});
