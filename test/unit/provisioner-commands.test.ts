/**
 * The provisioning step's shell commands, run for real by bash on this machine (as root, with
 * `sudo` on PATH being a pass-through, since the head node's login user has passwordless sudo):
 * files arrive from stdin with their mode and nothing on a command line; bad paths are refused.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
    chmodSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { hashDirectory, shellQuote, writeFileCommand } from "../../components/provisioner";

let work: string;
let env: NodeJS.ProcessEnv;
before(() => {
    work = mkdtempSync(path.join(tmpdir(), "dc-provision-"));
    const bin = path.join(work, "bin");
    mkdirSync(bin);
    writeFileSync(path.join(bin, "sudo"), '#!/bin/sh\nexec "$@"\n');
    chmodSync(path.join(bin, "sudo"), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env["PATH"]}` };
});
after(() => rmSync(work, { recursive: true, force: true }));

function runShell(command: string, stdin: string): { status: number | null; stderr: string } {
    const result = spawnSync("bash", ["-c", command], { input: stdin, env, encoding: "utf8" });
    return { status: result.status, stderr: result.stderr };
}

describe("writeFileCommand", () => {
    it("writes stdin to a new root-only directory with the file's mode, atomically", () => {
        const target = path.join(work, "srv", "pillar", "secrets.sls");
        const secret = "token: s3cr3t'\"$(reboot)\n";
        const result = runShell(writeFileCommand({ path: target, mode: "0600" }), secret);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(readFileSync(target, "utf8"), secret);
        assert.equal(statSync(target).mode & 0o777, 0o600);
        assert.equal(statSync(path.dirname(target)).mode & 0o777, 0o700);
        assert.deepEqual(
            readdirSync(path.dirname(target)),
            ["secrets.sls"],
            "no temporary file left",
        );
        assert.ok(!writeFileCommand({ path: target, mode: "0600" }).includes("s3cr3t"));
    });

    it("replaces an existing file and applies a read-only mode", () => {
        const target = path.join(work, "pki", "master.pem");
        runShell(writeFileCommand({ path: target, mode: "0400" }), "old");
        const result = runShell(writeFileCommand({ path: target, mode: "0400" }), "new");
        assert.equal(result.status, 0, result.stderr);
        assert.equal(readFileSync(target, "utf8"), "new");
        assert.equal(statSync(target).mode & 0o777, 0o400);
    });

    it("refuses paths and modes that could break out of the command", () => {
        for (const [file, mode] of [
            ["/srv/pil lar", "0600"],
            ["/srv/$(reboot)", "0600"],
            ["relative/path", "0600"],
            ["/srv/a", "600; reboot"],
        ]) {
            assert.throws(
                () => writeFileCommand({ path: file!, mode: mode! }),
                /Refusing to write/,
            );
        }
    });
});

describe("shellQuote", () => {
    it("round-trips any string through the shell", () => {
        for (const value of ["plain", "it's", "$(reboot)", "a b\tc", "'\"`\\", ""]) {
            assert.equal(
                execFileSync("bash", ["-c", `printf %s ${shellQuote(value)}`], {
                    encoding: "utf8",
                }),
                value,
            );
        }
    });
});

describe("hashDirectory", () => {
    it("changes when a file's content or name changes, not when nothing does", () => {
        const dir = path.join(work, "tree");
        mkdirSync(path.join(dir, "sub"), { recursive: true });
        writeFileSync(path.join(dir, "sub", "a.sls"), "a: 1\n");
        writeFileSync(path.join(dir, "top.sls"), "base: {}\n");
        const first = hashDirectory(dir);
        assert.equal(hashDirectory(dir), first);
        writeFileSync(path.join(dir, "sub", "a.sls"), "a: 2\n");
        const second = hashDirectory(dir);
        assert.notEqual(second, first);
        rmSync(path.join(dir, "sub", "a.sls"));
        writeFileSync(path.join(dir, "sub", "b.sls"), "a: 2\n");
        assert.notEqual(hashDirectory(dir), second);
        assert.ok(existsSync(dir));
    });
});
