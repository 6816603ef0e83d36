/**
 * Minion IDs, the worker tag scheme and Salt master fingerprints.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
    base32,
    isMinionId,
    MINION_ID_SUFFIX_LENGTH,
    newMinionId,
    nodeNameOfMinionId,
} from "../../lib/minionId";
import { saltPemFinger } from "../../lib/saltKey";
import { clusterTag, workerMetadata, workerTags } from "../../lib/tags";

describe("minion IDs", () => {
    it("carry the node name and 128 random bits", () => {
        const id = newMinionId("compute-dy-3");
        assert.match(id, new RegExp(`^compute-dy-3-[a-z2-7]{${MINION_ID_SUFFIX_LENGTH}}$`));
        assert.ok(MINION_ID_SUFFIX_LENGTH * 5 >= 128);
        assert.equal(nodeNameOfMinionId(id), "compute-dy-3");
        assert.ok(isMinionId(id));
    });

    it("never repeat (10,000 draws)", () => {
        const ids = new Set(Array.from({ length: 10_000 }, () => newMinionId("n")));
        assert.equal(ids.size, 10_000);
    });

    it("use every random byte (base32 round trip of known vectors)", () => {
        assert.equal(base32(Buffer.from("foobar")), "mzxw6ytboi"); // RFC 4648 test vector, lower-case
        assert.equal(base32(new Uint8Array(16)), "a".repeat(26));
        assert.equal(
            newMinionId("w", (n) => new Uint8Array(n).fill(255)),
            `w-${"7".repeat(25)}4`,
        );
    });

    it("are recognised for any valid node name and random bytes", () => {
        fc.assert(
            fc.property(
                fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/),
                fc.uint8Array({ minLength: 16, maxLength: 16 }),
                (node, bytes) => {
                    const id = newMinionId(node, () => bytes);
                    return isMinionId(id) && nodeNameOfMinionId(id) === node;
                },
            ),
        );
    });

    it("reject bad node names and foreign IDs", () => {
        for (const bad of ["", "1abc", "Abc", "a_b", "a".repeat(41)]) {
            assert.throws(() => newMinionId(bad), /Node name .* is not valid/);
        }
        for (const foreign of [
            "compute-1",
            "compute-1-short",
            `x-${"a".repeat(25)}`,
            `x-${"a".repeat(26)}0`,
            "master",
        ]) {
            assert.equal(isMinionId(foreign), false, foreign);
        }
    });
});

describe("worker tags", () => {
    it("follow the design's scheme", () => {
        assert.deepEqual(workerTags("k3x9a2bq", "burst"), [
            "dc",
            "dc-cluster-k3x9a2bq",
            "dc-pool-burst",
        ]);
        assert.deepEqual(workerMetadata("n-abc", "n"), { "dc:minion": "n-abc", "dc:node": "n" });
        assert.throws(() => clusterTag("Has,Comma"), /Cluster ID .* is not valid/);
    });
});

describe("saltPemFinger", () => {
    it("matches Salt's pem_finger algorithm as run by Python", () => {
        const pem = generateKeyPairSync("rsa", { modulusLength: 2048 })
            .publicKey.export({ type: "spki", format: "pem" })
            .toString();
        // The algorithm of salt.utils.crypt.pem_finger, run by the real Python interpreter.
        const python = [
            "import hashlib, sys",
            "lines = sys.stdin.buffer.read().splitlines(keepends=True)",
            "key = b''.join([x for x in lines if x.strip()][1:-1])",
            "pre = hashlib.sha256(key).hexdigest()",
            "print(':'.join(pre[i:i+2] for i in range(0, len(pre), 2)))",
        ].join("\n");
        const expected = execFileSync("/usr/bin/python3", ["-c", python], {
            input: pem,
            encoding: "utf8",
        }).trim();
        assert.equal(saltPemFinger(pem), expected);
        assert.equal(
            saltPemFinger(`\n${pem}\n\n`),
            expected,
            "blank lines are ignored, as in Salt",
        );
        assert.match(expected, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
    });

    it("rejects text that is not PEM", () => {
        assert.throws(() => saltPemFinger("ssh-rsa AAAA"), /not a PEM block/);
    });
});
