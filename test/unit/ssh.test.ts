/**
 * The SSH provisioning resources' pure parts: input checks (with values unknown during a
 * preview), what a change does (run again, or only record), host key fingerprints as OpenSSH
 * prints them, which connect errors are retried, and the unpack command (run for real by bash).
 * The resources themselves run against a real sshd in test/integration/ssh-provider.test.ts and
 * in the deployment test.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import {
    checkConnection,
    hostKeyFingerprint,
    isRetryableConnectError,
    remoteCommandProvider,
    type RemoteCommandInputs,
    type RemoteCommandOutputs,
    redact,
    REDACTED,
    remoteCopyProvider,
    type RemoteCopyInputs,
    type RemoteCopyOutputs,
    SSH_PROVIDER_VERSION,
    type SshConnection,
    tail,
    unpackCommand,
} from "../../components/ssh";
import { UNKNOWN_INPUT } from "../../components/unknown";

const work = mkdtempSync(path.join(tmpdir(), "dc-ssh-unit-"));
after(() => rmSync(work, { recursive: true, force: true }));

const CONNECTION: SshConnection = {
    host: "198.51.100.10",
    port: 22,
    user: "rocky",
    connectTimeoutSeconds: 600,
    hostKeySha256: "",
};

describe("checkConnection", () => {
    it("accepts a complete connection", () => {
        assert.deepEqual(checkConnection(CONNECTION), []);
    });
    it("lets a connection not known yet (preview) pass", () => {
        assert.deepEqual(checkConnection(UNKNOWN_INPUT as unknown as SshConnection), []);
        assert.deepEqual(checkConnection({ ...CONNECTION, host: UNKNOWN_INPUT }), []);
    });
    it("names each bad field", () => {
        assert.deepEqual(
            checkConnection({
                ...CONNECTION,
                host: "",
                user: "r o",
                port: 0,
                connectTimeoutSeconds: 0,
            })
                .map((f) => f.reason)
                .sort(),
            [
                "connection.connectTimeoutSeconds must be a positive whole number.",
                "connection.host must be an address or name.",
                "connection.port must be 1 to 65535.",
                "connection.user must be a login name.",
            ],
        );
    });
});

describe("RemoteCommand diff", () => {
    const inputs: RemoteCommandInputs = {
        connection: CONNECTION,
        privateKey: "",
        command: "true",
        stdin: "secret",
        triggers: ["server-1"],
        timeoutSeconds: 60,
    };
    const stored: RemoteCommandOutputs = {
        connection: CONNECTION,
        command: "true",
        stdinSha256: createHash("sha256").update("secret").digest("hex"),
        triggers: ["server-1"],
        timeoutSeconds: 60,
        stdout: "",
        stderr: "",
        hostKeySha256: "SHA256:x",
        providerVersion: SSH_PROVIDER_VERSION,
    };
    const cases: Array<
        [string, Partial<RemoteCommandInputs>, { changes: boolean; replaces: string[] }]
    > = [
        ["nothing", {}, { changes: false, replaces: [] }],
        ["the command", { command: "false" }, { changes: true, replaces: ["command"] }],
        ["stdin", { stdin: "other" }, { changes: true, replaces: ["stdin"] }],
        ["a trigger", { triggers: ["server-2"] }, { changes: true, replaces: ["triggers"] }],
        [
            "the address only",
            { connection: { ...CONNECTION, host: "198.51.100.11" } },
            { changes: true, replaces: [] },
        ],
        ["the private key only", { privateKey: "other" }, { changes: false, replaces: [] }],
    ];
    for (const [what, change, expected] of cases) {
        it(`a change of ${what}`, async () => {
            const diff = await remoteCommandProvider.diff!("id", stored, { ...inputs, ...change });
            assert.deepEqual({ changes: diff.changes, replaces: diff.replaces }, expected);
        });
    }
    it("an older provider version updates the state without running again", async () => {
        const diff = await remoteCommandProvider.diff!(
            "id",
            { ...stored, providerVersion: SSH_PROVIDER_VERSION - 1 },
            inputs,
        );
        assert.deepEqual(
            { changes: diff.changes, replaces: diff.replaces },
            { changes: true, replaces: [] },
        );
    });
    it("check refuses an empty command and a bad timeout, and lets unknowns pass", async () => {
        const bad = await remoteCommandProvider.check!(
            {},
            { ...inputs, command: "", timeoutSeconds: 0 },
        );
        assert.deepEqual(
            bad.failures?.map((f) => f.property),
            ["command", "timeoutSeconds"],
        );
        const preview = await remoteCommandProvider.check!(
            {},
            {
                ...inputs,
                connection: UNKNOWN_INPUT,
                command: UNKNOWN_INPUT,
            },
        );
        assert.equal(preview.failures, undefined);
    });
});

describe("RemoteCopy diff", () => {
    const inputs: RemoteCopyInputs = {
        connection: CONNECTION,
        privateKey: "",
        sourceDir: "/home/me/dynamic-cluster/salt",
        remotePath: "/home/rocky/.dynamic-cluster/salt-0123",
        contentHash: "abc",
        triggers: ["server-1"],
    };
    const stored: RemoteCopyOutputs = {
        connection: CONNECTION,
        sourceDir: inputs.sourceDir,
        remotePath: inputs.remotePath,
        contentHash: "abc",
        triggers: ["server-1"],
        hostKeySha256: "SHA256:x",
        providerVersion: SSH_PROVIDER_VERSION,
    };
    it("copies again for new content or a new server, not for a new checkout directory", async () => {
        const diff = (change: Partial<RemoteCopyInputs>) =>
            remoteCopyProvider.diff!("id", stored, { ...inputs, ...change });
        assert.deepEqual((await diff({ contentHash: "def" })).replaces, ["contentHash"]);
        assert.deepEqual((await diff({ triggers: ["server-2"] })).replaces, ["triggers"]);
        const moved = await diff({ sourceDir: "/elsewhere/salt" });
        assert.deepEqual(
            { changes: moved.changes, replaces: moved.replaces },
            { changes: true, replaces: [] },
        );
        assert.equal((await diff({})).changes, false);
    });
});

describe("hostKeyFingerprint", () => {
    it("is what ssh-keygen -l prints", () => {
        const key = path.join(work, "host_key");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
        const blob = Buffer.from(readFileSync(`${key}.pub`, "utf8").split(" ")[1]!, "base64");
        const printed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${key}.pub`], {
            encoding: "utf8",
        }).split(" ")[1];
        assert.equal(hostKeyFingerprint(blob), printed);
    });
});

describe("isRetryableConnectError", () => {
    const table: Array<[string, unknown, boolean]> = [
        ["refused (sshd not started yet)", { code: "ECONNREFUSED" }, true],
        ["no route (floating IP not ready)", { code: "EHOSTUNREACH" }, true],
        ["timeout", { level: "client-timeout" }, true],
        ["key not accepted yet (cloud-init)", { level: "client-authentication" }, true],
        ["bad private key", new Error("Cannot parse privateKey: Unsupported key format"), false],
        [
            "host key refused",
            { level: "client-socket", message: "Host denied (verification failed)" },
            false,
        ],
    ];
    for (const [what, error, retry] of table) {
        it(`${what}: ${retry ? "retried" : "fails at once"}`, () => {
            assert.equal(isRetryableConnectError(error), retry);
        });
    }
});

describe("tail", () => {
    it("keeps short text and says how much it cut", () => {
        assert.equal(tail("abc", 5), "abc");
        assert.equal(tail("abcdefgh", 3), "[... 5 characters cut]\nfgh");
    });
});

describe("unpackCommand", () => {
    it("passes shellcheck", () => {
        const file = path.join(work, "unpack.sh");
        writeFileSync(file, `#!/bin/sh\n${unpackCommand("/home/rocky/.dc/salt-1")}\n`);
        const result = spawnSync("shellcheck", [file], { encoding: "utf8" });
        assert.equal(result.status, 0, result.stdout);
    });

    it("replaces the target directory with the archive's content, quoting odd paths", () => {
        const source = path.join(work, "source");
        mkdirSync(path.join(source, "sub"), { recursive: true });
        writeFileSync(path.join(source, "sub", "file.sls"), "x: 1\n");
        const target = path.join(work, "target 'quoted'");
        mkdirSync(target);
        writeFileSync(path.join(target, "stale"), "old");
        const archive = execFileSync("tar", ["-czf", "-", "-C", source, "."]);
        const result = spawnSync("sh", ["-c", unpackCommand(target)], { input: archive });
        assert.equal(result.status, 0, String(result.stderr));
        assert.deepEqual(readdirSync(target).sort(), ["sub"]);
        assert.equal(readFileSync(path.join(target, "sub", "file.sls"), "utf8"), "x: 1\n");
        assert.deepEqual(
            readdirSync(work).filter((f) => f.endsWith(".incoming")),
            [],
            "no staging directory left",
        );
    });
});

describe("redact", () => {
    const PEM = [
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAvZ4kM1bq8Q2Q0o2xN3VvP1xX1pLb7mB2uYvYx3J6Zk1QwQ8n",
        "c2VjcmV0LWxpbmUtdHdvLW9mLXRoZS1rZXktdGhhdC1pcy1sb25n",
        "-----END RSA PRIVATE KEY-----",
    ].join("\n");
    const TOKEN = "Xk29fQp0LmN7vB3sD8eR1tY6uI4oP2aZ";
    const cases: Array<[string, string, string[], (out: string) => void]> = [
        [
            "a secret value given, wherever it appears",
            `ID: local_api_tokens\n    Comment: bearer ${TOKEN} refused\n`,
            [TOKEN],
            (out) => {
                assert.ok(!out.includes(TOKEN));
                assert.match(out, /bearer \[redacted\] refused/);
            },
        ],
        [
            "each long line of a multi-line secret (a PEM echoed line by line, out of its block)",
            "diff:\n+ MIIEowIBAAKCAQEAvZ4kM1bq8Q2Q0o2xN3VvP1xX1pLb7mB2uYvYx3J6Zk1QwQ8n\n",
            [PEM],
            (out) => assert.ok(!out.includes("MIIEowIBAAKCAQEA"), out),
        ],
        [
            "a PEM private key block nobody listed",
            `Rendered: ${PEM}\nrest`,
            [],
            (out) => {
                assert.ok(!out.includes("MIIE"), out);
                assert.match(out, /\[redacted\] \(private key\)\nrest$/);
            },
        ],
        [
            "the credentials of an Authorization header",
            "Authorization: Bearer abc.def-123\nauthorization: basic YWRtaW46aHVudGVyMg==",
            [],
            (out) => {
                assert.ok(!out.includes("abc.def-123") && !out.includes("YWRtaW4"), out);
            },
        ],
        [
            "the values of fields named as secrets (YAML, JSON, key=value)",
            'dashboard_password: hunter2hunter2\n"secret": "s3cr3t-value"\nmunge_key=bXVuZ2Uta2V5\n',
            [],
            (out) => {
                for (const value of ["hunter2hunter2", "s3cr3t-value", "bXVuZ2Uta2V5"])
                    assert.ok(!out.includes(value), out);
            },
        ],
        [
            "ordinary output stays readable",
            "Summary for local\nSucceeded: 71\nFailed: 1\nID: dynamic-cluster-head-slurm-service-running",
            ["short", ""],
            (out) =>
                assert.equal(
                    out,
                    "Summary for local\nSucceeded: 71\nFailed: 1\nID: dynamic-cluster-head-slurm-service-running",
                ),
        ],
    ];
    for (const [name, text, secrets, check] of cases) {
        it(name, () => {
            const out = redact(text, secrets);
            check(out);
            if (out !== text) assert.ok(out.includes(REDACTED));
        });
    }
});
