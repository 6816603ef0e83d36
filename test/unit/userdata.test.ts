/**
 * Rendered user-data of the head node and of a worker: a clean pass of Debian's real
 * `cloud-init schema`, under Nova's size limit, free of secrets, and every shell script inside
 * passes `shellcheck`; both checks are shown to fail on broken input. Plus the renderer's own
 * rules (placeholders, safe values).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as yaml from "js-yaml";
import { renderHeadUserData } from "../../components/cluster";
import { parseClusterConfig } from "../../components/config";
import { newMinionId } from "../../lib/minionId";
import {
    encodeUserData,
    NOVA_USER_DATA_LIMIT,
    renderUserData,
    renderWorkerUserData,
    UserDataError,
} from "../../lib/userData";

const ROOT = path.resolve(__dirname, "../..");
const work = mkdtempSync(path.join(tmpdir(), "dc-userdata-"));
after(() => rmSync(work, { recursive: true, force: true }));

const config = parseClusterConfig({
    values: { keyName: "k", allowedCidr: "203.0.113.0/24", network: "private" },
    secretKeys: new Set(),
    stack: "dev",
    sshAgentAvailable: true,
});
const rendered: Record<string, string> = {
    head: renderHeadUserData(config),
    worker: renderWorkerUserData(readFileSync(path.join(ROOT, "cloud-init/worker.yaml"), "utf8"), {
        minionId: newMinionId("compute-dy-17"),
        nodeName: "compute-dy-17",
        masterAddress: "10.42.0.5",
        masterFinger: "4f:1a:" + "00:".repeat(29) + "ff",
    }),
};

/**
 * Debian's real `cloud-init schema --config-file` on `userData` (written to `name` in the work
 * directory): its exit status and everything it printed.
 */
function cloudInitSchema(name: string, userData: string) {
    const file = path.join(work, name);
    writeFileSync(file, userData);
    const result = spawnSync("cloud-init", ["schema", "--config-file", file], {
        encoding: "utf8",
    });
    return { file, status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Shell scripts inside a cloud-config: write_files with a shebang, and runcmd entries. */
function shellScripts(userData: string): Array<[string, string]> {
    const doc = yaml.load(userData) as {
        write_files?: Array<{ path: string; content: string }>;
        runcmd?: unknown[];
    };
    const scripts: Array<[string, string]> = (doc.write_files ?? [])
        .filter((f) => f.content.startsWith("#!/bin/bash") || f.content.startsWith("#!/bin/sh"))
        .map((f) => [f.path, f.content]);
    const runcmd = (doc.runcmd ?? []).map((entry) =>
        Array.isArray(entry)
            ? entry.map((word) => `'${String(word).replace(/'/g, `'\\''`)}'`).join(" ")
            : String(entry),
    );
    if (runcmd.length > 0) scripts.push(["runcmd", `#!/bin/sh\n${runcmd.join("\n")}\n`]);
    return scripts;
}

for (const [role, userData] of Object.entries(rendered)) {
    describe(`${role} user-data`, () => {
        it("passes cloud-init schema cleanly (no error, no deprecation)", () => {
            const result = cloudInitSchema(`${role}.yaml`, userData);
            const said = `${result.stdout}\n${result.stderr}`;
            assert.equal(result.status, 0, said);
            assert.equal(result.stdout, `Valid cloud-config: ${result.file}\n`, said);
            assert.equal(result.stderr, "", said);
        });

        it("fits Nova's user_data limit once base64-encoded", () => {
            const encoded = encodeUserData(userData);
            assert.ok(encoded.length <= NOVA_USER_DATA_LIMIT);
            console.log(
                `# ${role} user-data: ${Buffer.byteLength(userData)} bytes raw, ${encoded.length} bytes base64`,
            );
        });

        it("carries no secret", () => {
            assert.doesNotMatch(userData, /PRIVATE KEY|password|secret|token|munge/i);
        });

        it("has shell that passes shellcheck", () => {
            const scripts = shellScripts(userData);
            assert.ok(scripts.length >= 2, "expected a script and runcmd");
            for (const [name, body] of scripts) {
                const file = path.join(work, `${role}-${path.basename(name)}.sh`);
                writeFileSync(file, body);
                const result = spawnSync("shellcheck", ["--severity=style", file], {
                    encoding: "utf8",
                });
                assert.equal(result.status, 0, `${name}:\n${result.stdout}${result.stderr}`);
            }
        });
    });
}

describe("the worker user-data", () => {
    it("pins the master and carries the minion ID and node name", () => {
        const doc = yaml.load(rendered["worker"]!) as {
            hostname: string;
            write_files: Array<{ path: string; content: string }>;
        };
        assert.equal(doc.hostname, "compute-dy-17");
        const minionId = doc.write_files.find((f) => f.path === "/etc/salt/minion_id")!.content;
        assert.match(minionId, /^compute-dy-17-[a-z2-7]{26}$/);
        const minionConf = yaml.load(
            doc.write_files.find((f) => f.path === "/etc/salt/minion.d/dynamic-cluster.conf")!
                .content,
        ) as Record<string, unknown>;
        assert.equal(minionConf["master"], "10.42.0.5");
        assert.equal(minionConf["id"], minionId);
        assert.match(String(minionConf["master_finger"]), /^4f:1a:/);
    });

    it("head and workers install the Salt release the tests run", () => {
        const tested = /^SALT_VERSION="([0-9.]+)"$/m.exec(
            readFileSync(path.resolve(__dirname, "../env/salt/install.sh"), "utf8"),
        )![1]!;
        for (const role of ["head", "worker"]) {
            const installLines = rendered[role]!.split("\n").filter((l) =>
                /dnf -y install/.test(l),
            );
            const packages = installLines.flatMap(
                (l) => l.match(/\bsalt-[a-z]+(?:-[0-9.]*[0-9])?/g) ?? [],
            );
            assert.ok(packages.length > 0, `${role} installs Salt`);
            for (const name of packages) {
                assert.match(
                    name,
                    new RegExp(`^salt-(master|minion)-${tested.replace(/\./g, "\\.")}$`),
                    role,
                );
            }
        }
    });

    it("a shellcheck failure is detected (the check can fail)", () => {
        const file = path.join(work, "bad.sh");
        writeFileSync(file, "#!/bin/bash\nrm -rf $1/*\n");
        assert.notEqual(spawnSync("shellcheck", [file]).status, 0);
    });

    it("a broken user-data is reported invalid by cloud-init schema (the check can fail)", () => {
        // The worker's user-data with two schema errors: a file without a path, runcmd not a list.
        const doc = yaml.load(rendered["worker"]!) as {
            write_files: Array<Record<string, unknown>>;
            runcmd: unknown;
        };
        delete doc.write_files[0]!["path"];
        doc.runcmd = 5;
        const result = cloudInitSchema("broken.yaml", `#cloud-config\n${yaml.dump(doc)}`);
        const said = `${result.stdout}\n${result.stderr}`;
        assert.notEqual(result.status, 0, said);
        assert.doesNotMatch(result.stdout, /Valid cloud-config/, said);
        assert.match(said, /runcmd: 5 is not of type 'array'/);
        assert.match(said, /write_files\.0: 'path' is a required property/);
        // Not YAML at all is refused too.
        const garbled = cloudInitSchema("garbled.yaml", "#cloud-config\nhostname: [\n");
        assert.notEqual(garbled.status, 0);
        assert.match(`${garbled.stdout}\n${garbled.stderr}`, /not valid yaml/i);
    });
});

describe("renderUserData", () => {
    const template = '#cloud-config\nhostname: "{{ name }}"\nruncmd:\n  - [echo, "{{ name }}"]\n';
    it("substitutes inside parsed strings", () => {
        assert.equal(
            renderUserData(template, { name: "n1" }),
            "#cloud-config\nhostname: n1\nruncmd:\n  - - echo\n    - n1\n",
        );
    });
    const bad: Array<[string, string, Record<string, string>, RegExp]> = [
        ["no header", "hostname: x\n", {}, /must begin with the line "#cloud-config"/],
        ["missing value", template, {}, /uses \{\{ name \}\} but no value/],
        ["unused value", template, { name: "a", extra: "b" }, /no placeholder for: extra/],
        [
            "value with a newline",
            template,
            { name: "a\nruncmd: [reboot]" },
            /not allowed in user-data/,
        ],
        ["value with shell syntax", template, { name: "$(reboot)" }, /not allowed in user-data/],
        ["bad YAML", "#cloud-config\na: [\n", {}, /not valid YAML/],
        ["not a mapping", "#cloud-config\n- a\n", {}, /must be a YAML mapping/],
    ];
    for (const [name, tpl, vars, message] of bad) {
        it(`rejects ${name}`, () => {
            assert.throws(
                () => renderUserData(tpl, vars),
                (err: Error) => err instanceof UserDataError && message.test(err.message),
            );
        });
    }
    it("refuses user-data over Nova's limit", () => {
        assert.throws(
            () => encodeUserData("#cloud-config\n" + "x".repeat(49_200)),
            /over Nova's limit of 65535/,
        );
        assert.doesNotThrow(() => encodeUserData("#cloud-config\n" + "x".repeat(49_000)));
    });
});
