/**
 * The SSH host key fingerprints cloud-init prints to a server's console
 * (components/hostKey.ts `consoleHostKeyFingerprints`), read from the console of a real Debian 12
 * guest's first boot (test/fixtures/cloud-init/): the fingerprints found are exactly those of the
 * public keys the same console lists (what the guest's sshd presents, hashed as OpenSSH and the
 * provisioning's SSH client hash them); a console without a complete block (a boot still running,
 * Nova's fake driver) has none; of several boots the last complete block counts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { consoleHostKeyFingerprints } from "../../components/hostKey";
import { hostKeyFingerprint } from "../../components/sshSession";

const CONSOLE = readFileSync(
    path.resolve(__dirname, "../fixtures/cloud-init/console-debian12.txt"),
    "latin1",
);

/** The public keys in the console's `SSH HOST KEY KEYS` block, fingerprinted. */
function listedKeyFingerprints(console: string): string[] {
    const block =
        /-----BEGIN SSH HOST KEY KEYS-----\r?\n([\s\S]*?)-----END SSH HOST KEY KEYS-----/.exec(
            console,
        );
    assert.ok(block, "the console lists the public keys");
    return block[1]!
        .split(/\r?\n/)
        .filter((line) => line.trim())
        .map((line) => hostKeyFingerprint(Buffer.from(line.trim().split(/\s+/)[1]!, "base64")));
}

describe("host key fingerprints from a server's console", () => {
    it("reads the four fingerprints of a real Debian 12 first boot", () => {
        assert.deepEqual(consoleHostKeyFingerprints(CONSOLE), [
            "SHA256:/J2Adx3kNTq1imNKvZ4SxY5uyE9Vi3FwR3zpxIJRJ2E",
            "SHA256:bpc34eqvCYtTPcj+RopUlPkm1WBXoWCO27W3z4AdxvU",
            "SHA256:GdA/2ZbW81zU5h4KWf7Lnvo75Q03spsEEsxdqXyfgZM",
            "SHA256:WCKFv6BXdQ1PmzYAwjgRGppzgp7VC+iKi7tgg6IAics",
        ]);
    });

    it("every key the same console lists (what sshd presents) hashes to one of them", () => {
        const listed = listedKeyFingerprints(CONSOLE);
        assert.equal(listed.length, 3, "ECDSA, ED25519, RSA");
        const fingerprints = consoleHostKeyFingerprints(CONSOLE)!;
        for (const fingerprint of listed)
            assert.ok(fingerprints.includes(fingerprint), fingerprint);
    });

    it("has none while the block is incomplete, nor on Nova's fake driver's console", () => {
        const cut = CONSOLE.slice(0, CONSOLE.indexOf("-----END SSH HOST KEY FINGERPRINTS-----"));
        assert.equal(consoleHostKeyFingerprints(cut), undefined);
        assert.equal(
            consoleHostKeyFingerprints(
                CONSOLE.slice(0, CONSOLE.indexOf("-----BEGIN SSH HOST KEY FINGERPRINTS")),
            ),
            undefined,
        );
        // nova/virt/fake.py get_console_output
        assert.equal(
            consoleHostKeyFingerprints("FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE"),
            undefined,
        );
    });

    it("takes the last complete block when the console holds several boots", () => {
        const older = [
            "-----BEGIN SSH HOST KEY FINGERPRINTS-----",
            `256 SHA256:${"A".repeat(43)} root@old (ED25519)`,
            "-----END SSH HOST KEY FINGERPRINTS-----",
        ].join("\n");
        assert.deepEqual(consoleHostKeyFingerprints(`${older}\n${CONSOLE}`)!.length, 4);
        assert.deepEqual(consoleHostKeyFingerprints(`${CONSOLE}\n${older}`), [
            `SHA256:${"A".repeat(43)}`,
        ]);
    });
});
