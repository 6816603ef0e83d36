/**
 * The head node's Graphite virtualenv is installed from one file,
 * salt/dynamic_cluster/files/head/graphite/requirements.txt, with `pip install --no-deps`: every
 * line must pin one exact version, graphite-web, carbon and whisper must be one release, and the
 * state must install nothing else. (That the pins are closed under their dependencies is checked
 * against PyPI's real metadata in test/integration/graphite-web.test.ts.)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { SALT_TREE, configFrom, renderHighstate } from "../helpers/salt";

const FILE = path.join(SALT_TREE, "dynamic_cluster/files/head/graphite/requirements.txt");

/** `name==version` lines of a requirements file, comments and blank lines left out. */
function pinnedRequirements(text: string): Map<string, string> {
    const pins = new Map<string, string>();
    for (const raw of text.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        if (!line) continue;
        const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)$/.exec(line);
        assert.ok(match, `not one exact pin: "${line}"`);
        const name = match[1]!.toLowerCase().replace(/[._]/g, "-");
        assert.ok(!pins.has(name), `${name} pinned twice`);
        pins.set(name, match[2]!);
    }
    return pins;
}

describe("Graphite's pinned requirements", () => {
    const pins = pinnedRequirements(fs.readFileSync(FILE, "utf8"));

    it("pin graphite-web, carbon and whisper to one release, and gunicorn", () => {
        const release = pins.get("graphite-web");
        assert.ok(release);
        assert.equal(pins.get("carbon"), release);
        assert.equal(pins.get("whisper"), release);
        assert.ok(pins.get("gunicorn"), "gunicorn serves graphite-web");
        assert.ok(pins.get("django")?.startsWith("3.0."), "graphite-web 1.1 needs Django < 3.1");
    });

    it("refuse a line that is not one exact pin", () => {
        assert.throws(() => pinnedRequirements("gunicorn\n"), /not one exact pin/);
        assert.throws(() => pinnedRequirements("django>=3.0\n"), /not one exact pin/);
        assert.throws(() => pinnedRequirements("six==1.17.0\nSix==1.16.0\n"), /pinned twice/);
    });

    it("are what the head's state installs, with --no-deps and pip check, and nothing else", () => {
        const head = renderHighstate(
            configFrom({ keyName: "k", allowedCidr: "203.0.113.0/24", network: "private" }),
            "head",
        );
        const copy = head.states["dynamic-cluster-head-graphite-file-managed-requirements"]!;
        assert.equal(
            copy.args["source"],
            "salt://dynamic_cluster/files/head/graphite/requirements.txt",
        );
        const install = String(
            head.states["dynamic-cluster-head-graphite-cmd-run-virtualenv"]!.args["name"],
        );
        assert.match(
            install,
            /pip install --no-cache-dir --no-deps --require-virtualenv\s+-r \/opt\/graphite\/requirements\.txt/,
        );
        assert.match(install, /bin\/pip check/);
        const pipInstalls = [...install.matchAll(/pip install([^&]*)/g)].map((m) => m[1]!.trim());
        assert.deepEqual(pipInstalls, [
            "--no-cache-dir --no-deps --require-virtualenv -r /opt/graphite/requirements.txt",
        ]);
        for (const [id, state] of Object.entries(head.states)) {
            const text = JSON.stringify(state.args);
            if (/pip3? install/.test(text))
                assert.equal(id, "dynamic-cluster-head-graphite-cmd-run-virtualenv", id);
        }
    });
});
