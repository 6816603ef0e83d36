/**
 * The stats collector's signature (salt/_modules/dc_stats.py, module header) made under real Salt
 * (3006.28 from PyPI): `salt-call --local dc_stats.payload` loads the module from the repo's
 * tree with Salt's loader and signs a real collection with a minion key pair Salt itself
 * generated (salt.crypt.gen_keys, as a minion does on first start), in a temp dir. Then, as the
 * service would:
 * - the service's own verifier (autoscaler/salt/stats.ts: the `signed` text as received, against
 *   the minion's key, the ID inside it checked) accepts it and reads the figures from it;
 *   `openssl dgst -verify` agrees;
 * - it fails for altered figures, another minion ID or another key;
 * - the stats reactor forwards what verifies (signed, signature, the master's minion ID);
 * - `cryptography` (used) and pycryptodomex (the fallback), both shipped with Salt 3006, give the
 *   same signature (PKCS#1 v1.5 is deterministic);
 * - without a readable key the figures go out unsigned, with a WARNING.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import { MINION } from "../helpers/reactorCases";
import { SALT_TREE, renderReactor } from "../helpers/salt";
import { saltVenv } from "../helpers/saltCall";
import { verifySignedStats } from "../../autoscaler/salt/stats";

interface Payload {
    time: number;
    metrics: Record<string, number>;
    signed?: string;
    signature?: string;
}

describe("dc_stats signatures under real Salt, verified as the service verifies them", () => {
    let dir: string;
    let configDir: string;
    let pkiDir: string;
    let publicKey: string;
    let payload: Payload;
    let payloadStdout: string;

    /** `salt-call --local dc_stats.payload` with the temp minion config. */
    function saltCallPayload(): {
        status: number | null;
        payload: Payload;
        stdout: string;
        stderr: string;
    } {
        const result = spawnSync(
            path.join(saltVenv(), "bin", "salt-call"),
            [
                "--local",
                "--config-dir",
                configDir,
                "--out",
                "json",
                "--log-level",
                "warning",
                "dc_stats.payload",
            ],
            {
                encoding: "utf8",
                timeout: 120_000,
                env: { ...process.env, PYTHONWARNINGS: "ignore::DeprecationWarning" },
            },
        );
        if (result.error) throw result.error;
        let local: Payload;
        try {
            local = (JSON.parse(result.stdout) as { local: Payload }).local;
        } catch {
            throw new Error(
                `salt-call gave no JSON (${result.status}):\n${result.stdout}\n${result.stderr}`,
            );
        }
        return {
            status: result.status,
            payload: local,
            stdout: result.stdout,
            stderr: result.stderr,
        };
    }

    before(() => {
        const venv = saltVenv();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-salt-sign-"));
        configDir = path.join(dir, "config");
        const rootDir = path.join(dir, "root");
        pkiDir = path.join(rootDir, "pki");
        fs.mkdirSync(configDir);
        fs.mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
        // The key pair as a minion makes it on first start.
        execFileSync(
            path.join(venv, "bin", "python"),
            [
                "-c",
                "import sys, salt.crypt; salt.crypt.gen_keys(sys.argv[1], 'minion', 2048)",
                pkiDir,
            ],
            { env: { ...process.env, PYTHONWARNINGS: "ignore::DeprecationWarning" } },
        );
        const minion = {
            id: MINION,
            root_dir: rootDir,
            pki_dir: pkiDir,
            file_client: "local",
            file_roots: { base: [SALT_TREE] },
            module_dirs: [path.join(SALT_TREE, "_modules")],
            minion_id_caching: false,
            grains_cache: false,
            enable_fqdns_grains: false,
            enable_gpu_grains: false,
        };
        fs.writeFileSync(path.join(configDir, "minion"), yaml.dump(minion));
        const before = fs.readFileSync(path.join(pkiDir, "minion.pub"), "utf8");
        const run = saltCallPayload();
        assert.equal(run.status, 0, run.stderr);
        payload = run.payload;
        payloadStdout = run.stdout;
        publicKey = fs.readFileSync(path.join(pkiDir, "minion.pub"), "utf8");
        assert.equal(publicKey, before, "salt-call kept the minion's key pair");
    });

    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("Salt's loader runs the module: a signed payload of real figures", () => {
        assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----\n/);
        assert.equal(typeof payload.time, "number");
        assert.ok(payload.metrics["memory.total_bytes"]! > 0, payloadStdout);
        assert.match(String(payload.signature), /^[A-Za-z0-9+/]+={0,2}$/);
        assert.equal(Buffer.from(String(payload.signature), "base64").length, 256, "RSA 2048");
        assert.ok(payload.signed, "the signed text");
    });

    it("the service's verifier accepts it and reads the figures from the signed text; openssl too", () => {
        const verified = verifySignedStats(
            { id: MINION, signed: payload.signed!, signature: payload.signature! },
            publicKey,
        );
        assert.deepEqual(verified, { time: payload.time, metrics: payload.metrics });
        fs.writeFileSync(path.join(dir, "signed.bin"), payload.signed!);
        fs.writeFileSync(
            path.join(dir, "signature.bin"),
            Buffer.from(payload.signature!, "base64"),
        );
        const openssl = spawnSync(
            "openssl",
            [
                "dgst",
                "-sha256",
                "-verify",
                path.join(pkiDir, "minion.pub"),
                "-signature",
                path.join(dir, "signature.bin"),
                path.join(dir, "signed.bin"),
            ],
            { encoding: "utf8" },
        );
        assert.equal(openssl.status, 0, openssl.stderr);
        assert.equal(openssl.stdout.trim(), "Verified OK");
    });

    it("fails for altered figures, another minion ID or another key", () => {
        const good = { id: MINION, signed: payload.signed!, signature: payload.signature! };
        const other = generateKeyPairSync("rsa", { modulusLength: 2048 })
            .publicKey.export({ type: "spki", format: "pem" })
            .toString();
        assert.equal(verifySignedStats(good, other), undefined);
        assert.equal(verifySignedStats({ ...good, id: "dc-someone-else" }, publicKey), undefined);
        const altered = good.signed.replace(
            /"time":(\d+)/,
            (_, t: string) => `"time":${Number(t) + 1}`,
        );
        assert.notEqual(altered, good.signed);
        assert.equal(verifySignedStats({ ...good, signed: altered }, publicKey), undefined);
        assert.equal(verifySignedStats({ ...good, signature: "" }, publicKey), undefined);
    });

    it("the stats reactor forwards what verifies, with the master's minion ID", () => {
        const rendered = renderReactor("reactor/stats.sls", "dynamic-cluster/stats", {
            id: MINION,
            cmd: "_minion_event",
            tag: "dynamic-cluster/stats",
            data: payload,
        });
        assert.deepEqual(rendered.errors, []);
        const call = rendered.reactions["dynamic-cluster-reactor-stats-forward"]!;
        assert.equal(`${call.kind}.${call.function}`, "runner.dc_forward.post");
        const data = call.args["data"] as {
            id: string;
            time: number;
            metrics: Record<string, number>;
            signed: string;
            signature: string;
        };
        // As the service receives it: the runner's JSON, parsed.
        const body = JSON.parse(JSON.stringify(data)) as typeof data;
        assert.equal(body.signed, payload.signed);
        assert.deepEqual(verifySignedStats(body, publicKey), {
            time: payload.time,
            metrics: payload.metrics,
        });
    });

    it("cryptography and pycryptodomex (both in Salt 3006) make the same signature", () => {
        const script = [
            "import base64, json, sys",
            `sys.path.insert(0, ${JSON.stringify(path.join(SALT_TREE, "_modules"))})`,
            "import dc_stats",
            "pem = open(sys.argv[1], 'rb').read()",
            "message = sys.argv[2].encode('ascii')",
            "print(json.dumps({",
            "    'cryptography': base64.b64encode(dc_stats._sign_cryptography(pem, message)).decode(),",
            "    'cryptodome': base64.b64encode(dc_stats._sign_cryptodome(pem, message)).decode(),",
            "    'sign': dc_stats.sign(message, sys.argv[1]),",
            "}))",
        ].join("\n");
        const out = JSON.parse(
            execFileSync(
                path.join(saltVenv(), "bin", "python"),
                ["-c", script, path.join(pkiDir, "minion.pem"), payload.signed!],
                { encoding: "utf8" },
            ),
        ) as Record<string, string>;
        assert.deepEqual(out, {
            cryptography: payload.signature,
            cryptodome: payload.signature,
            sign: payload.signature,
        });
    });

    it("without a readable key the figures go out unsigned, with a WARNING", () => {
        const key = path.join(pkiDir, "minion.pem");
        fs.renameSync(key, `${key}.away`);
        try {
            const run = saltCallPayload();
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(Object.keys(run.payload).sort(), ["metrics", "time"]);
            assert.match(
                run.stderr,
                /\[WARNING \] dc_stats: cannot sign the stats with \S+minion\.pem \(FileNotFoundError: /,
            );
        } finally {
            fs.renameSync(`${key}.away`, key);
        }
    });
});
