/**
 * The head node installs Graphite with `pip install --no-deps -r requirements.txt`
 * (salt/dynamic_cluster/head/graphite.sls), so the file must hold every dependency of what it
 * pins. Checked against PyPI's real metadata: pip resolves the file *with* dependencies in a
 * throw-away virtualenv (`--dry-run`, nothing installed) and must want exactly the pinned
 * versions and nothing that is not in the file. (This machine's Python is 3.11, the head's 3.9:
 * the file was resolved for 3.9, and a pin that does not support 3.11 or needs more there fails
 * here too.)
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { SALT_TREE } from "../helpers/salt";

const FILE = path.join(SALT_TREE, "dynamic_cluster/files/head/graphite/requirements.txt");
const normalise = (name: string) => name.toLowerCase().replace(/[._]/g, "-");

describe("Graphite's requirements against PyPI", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-graphite-pins-"));
        execFileSync("python3", ["-m", "venv", path.join(dir, "venv")]);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("are closed under their dependencies: pip, free to add any, wants only the pins", () => {
        const pins = new Map<string, string>();
        for (const line of fs.readFileSync(FILE, "utf8").split("\n")) {
            const m = /^([^#\s=]+)==(\S+)$/.exec(line.trim());
            if (m) pins.set(normalise(m[1]!), m[2]!);
        }
        assert.ok(pins.size > 10, "the file pins graphite and its dependencies");
        const report = path.join(dir, "report.json");
        execFileSync(
            path.join(dir, "venv", "bin", "pip"),
            [
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "--dry-run",
                "--ignore-installed",
                "--report",
                report,
                "-r",
                FILE,
            ],
            { stdio: ["ignore", "ignore", "pipe"], timeout: 600_000 },
        );
        const wanted = (
            JSON.parse(fs.readFileSync(report, "utf8")) as {
                install: Array<{ metadata: { name: string; version: string } }>;
            }
        ).install.map((i) => [normalise(i.metadata.name), i.metadata.version] as const);
        const unpinned = wanted.filter(([name]) => !pins.has(name));
        assert.deepEqual(unpinned, [], "dependencies the file does not pin");
        for (const [name, version] of wanted) assert.equal(version, pins.get(name), name);
        assert.ok(wanted.some(([name]) => name === "graphite-web"));
    });
});
