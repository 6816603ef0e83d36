/**
 * The provisioning's SSH resources against a real sshd and the real local Nova (issue 17, items
 * 12 and 13): the emulated head of test/env/head (Debian's sshd in a network namespace, fresh
 * host keys; see up.sh for what it stands in for), reached over real SSH as the program reaches
 * a head node.
 * - A key the head's console listed is taken, one it did not list is refused before anything is
 *   sent; the console is written in cloud-init's own format (each line through syslog, as the
 *   real capture in test/fixtures/cloud-init/ shows it), from the head's real host keys.
 * - A pinned key that changed is refused with the command that checks it again (the SshHostKey's
 *   URN), not the `--refresh` that did nothing.
 * - SshHostKey with `first-use` pins the key the head presents; with `console` on a server whose
 *   console shows no fingerprints (Nova's fake driver prints none) it fails with the remedy.
 * - A failing command's error carries no secret: neither one given to redact, nor its stdin, nor
 *   what is shaped like one.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { consoleHostKeyFingerprints, sshHostKeyProvider } from "../../components/hostKey";
import { remoteCommandProvider } from "../../components/ssh";
import { connect, hostKeyFingerprint, type SshConnection } from "../../components/sshSession";
import { type EmulatedHead, startEmulatedHead } from "../helpers/emulatedHead";
import { demoClient, demoEnv } from "../helpers/osbox";

const ADDRESS = "198.18.77.10";
const GATEWAY = "198.18.77.1";
const URN =
    "urn:pulumi:e2e::dynamic-cluster::dynamic-cluster:index:Cluster$dynamic-cluster:index:HeadNode$dynamic-cluster:index:HeadProvisioner$pulumi-nodejs:dynamic/dynamic-cluster:SshHostKey::dc-provisioner-host-key";

let dir: string;
let head: EmulatedHead;
let privateKey: string;
/** The head's host key fingerprints, as OpenSSH and the SSH client hash them. */
let headKeys: string[];

const connection = (over: Partial<SshConnection> = {}): SshConnection => ({
    host: ADDRESS,
    port: 22,
    user: "rocky",
    connectTimeoutSeconds: 30,
    hostKeySha256: "",
    ...over,
});

/** A console as a head's first boot prints it: cloud-init's block, through syslog. */
function consoleListing(fingerprints: string[]): string {
    const line = (text: string) => `<14>Dec  6 20:27:24 cloud-init: ${text}`;
    return [
        "[   41.2] cloud-init[612]: Cloud-init v. 22.4.2 running 'modules:final'",
        line("#############################################################"),
        line("-----BEGIN SSH HOST KEY FINGERPRINTS-----"),
        ...fingerprints.map((f, i) => line(`256 ${f} root@dc-head (KEY${i})`)),
        line("-----END SSH HOST KEY FINGERPRINTS-----"),
        line("#############################################################"),
    ].join("\n");
}

before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-ssh-provider-"));
    const keyFile = path.join(dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ssh-test", "-f", keyFile]);
    privateKey = fs.readFileSync(keyFile, "utf8");
    head = startEmulatedHead({
        dir: path.join(dir, "head"),
        name: "dc-head",
        address: ADDRESS,
        gateway: GATEWAY,
        user: "rocky",
        publicKeyFile: `${keyFile}.pub`,
    });
    const sshDir = head.written("/etc/ssh");
    headKeys = fs
        .readdirSync(sshDir)
        .filter((f) => /^ssh_host_.*_key\.pub$/.test(f))
        .map((f) =>
            hostKeyFingerprint(
                Buffer.from(fs.readFileSync(path.join(sshDir, f), "utf8").split(" ")[1]!, "base64"),
            ),
        );
    assert.ok(headKeys.length > 0, "the head has host keys");
});

after(() => {
    head?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("SSH host keys against a real sshd", () => {
    it("takes a key the head's console listed", async () => {
        const listed = consoleHostKeyFingerprints(consoleListing(headKeys));
        assert.deepEqual(listed, headKeys);
        const session = await connect(connection(), privateKey, listed);
        session.client.end();
        assert.ok(headKeys.includes(session.hostKeySha256));
    });

    it("refuses a key the console did not list, before sending anything", async () => {
        const other = [`SHA256:${"A".repeat(43)}`];
        await assert.rejects(
            connect(connection(), privateKey, other),
            /198\.18\.77\.10 presented SSH host key SHA256:\S+, which is not among the keys the server printed to its console \(SHA256:A{43}\); nothing was sent to it/,
        );
    });

    it("refuses a pinned key that changed, naming the command that checks it again", async () => {
        await assert.rejects(
            connect(
                connection({ hostKeySha256: `SHA256:${"B".repeat(43)}`, hostKeyPinnedBy: URN }),
                privateKey,
            ),
            (err: Error) => {
                assert.match(err.message, /not SHA256:B{43}, the head node's key as checked/);
                assert.ok(err.message.includes(`\`pulumi up --replace '${URN}'\``), err.message);
                assert.doesNotMatch(err.message, /--refresh/);
                return true;
            },
        );
    });

    it("SshHostKey, first-use: pins the key the head presents", async () => {
        const created = await sshHostKeyProvider.create!({
            connection: connection(),
            privateKey,
            serverId: "not-read-for-first-use",
            check: "first-use",
        });
        const outs = created.outs as { hostKeySha256: string; consoleKeys: string[] };
        assert.ok(headKeys.includes(outs.hostKeySha256), outs.hostKeySha256);
        assert.deepEqual(outs.consoleKeys, []);
    });

    it("SshHostKey, console: a server whose console shows no fingerprints is refused with the remedy", async () => {
        Object.assign(process.env, demoEnv());
        await sshHostKeyProvider.configure!({ config: { get: () => undefined } } as never);
        const nova = demoClient();
        const [flavorId, imageId, networkId] = await Promise.all([
            nova.flavorId("m1.tiny"),
            nova.imageId("tiny"),
            nova.networkId("dc-test-net"),
        ]);
        const serverId = await nova.createServer({
            name: "ssh-console-check",
            flavorId,
            imageId,
            networkIds: [networkId],
            tags: ["dc-ssh-provider-test"],
        });
        try {
            await nova.waitForBoot([serverId], ["dc-ssh-provider-test"], Date.now() + 60_000);
            // What Nova's fake driver gives for every server.
            assert.equal(consoleHostKeyFingerprints(await nova.consoleOutput(serverId)), undefined);
            await assert.rejects(
                sshHostKeyProvider.create!({
                    connection: connection({ connectTimeoutSeconds: 15 }),
                    privateKey,
                    serverId,
                    check: "console",
                }),
                (err: Error) => {
                    assert.ok(err.message.includes(`openstack console log show ${serverId}`));
                    assert.match(err.message, /showed no SSH host key fingerprints in time/);
                    assert.match(err.message, /pulumi config set sshHostKeyCheck first-use/);
                    return true;
                },
            );
        } finally {
            await nova.deleteServer(serverId);
            await nova.waitForDeleted([serverId], ["dc-ssh-provider-test"], Date.now() + 60_000);
        }
    });
});

describe("a failing provisioning command", () => {
    it("shows its exit status and output with every secret redacted", async () => {
        const given = "s3cr3t-token-value-42";
        const inStdin = "TOPSECRETPILLARVALUE123";
        const pem = execFileSync("openssl", ["genpkey", "-algorithm", "ed25519"], {
            encoding: "utf8",
        });
        const command = [
            "cat",
            `echo "ID: tokens Comment: ${given} refused"`,
            "echo 'munge_key: bXVuZ2Uta2V5LWJhc2U2NA=='",
            "echo 'Authorization: Bearer abc123def456'",
            `printf '%s' '${pem.trim()}'`,
            "echo",
            "echo 'Summary for local: Failed: 1'",
            "exit 3",
        ].join("; ");
        await assert.rejects(
            remoteCommandProvider.create!({
                connection: connection(),
                privateKey,
                command,
                stdin: `pillar: ${inStdin}\n`,
                triggers: [],
                timeoutSeconds: 60,
                redact: [given],
            }),
            (err: Error) => {
                assert.match(
                    err.message,
                    /The provisioning command on 198\.18\.77\.10 exited with 3/,
                );
                assert.match(err.message, /Summary for local: Failed: 1/);
                for (const secret of [
                    given,
                    inStdin,
                    "bXVuZ2Uta2V5LWJhc2U2NA==",
                    "abc123def456",
                    pem.split("\n")[1]!,
                ]) {
                    assert.ok(!err.message.includes(secret), `${secret} in: ${err.message}`);
                }
                assert.ok(err.message.includes("[redacted]"));
                return true;
            },
        );
    });
});
