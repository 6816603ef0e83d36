/**
 * The provisioning step's shell commands, run for real by bash on this machine (as root, with
 * `sudo` on PATH being a pass-through, since the head node's login user has passwordless sudo):
 * files arrive from stdin with their owner, group and mode and nothing on a command line; an
 * existing directory is never changed; bad paths, modes and names are refused.
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
import * as os from "node:os";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
    hashDirectory,
    type Ownership,
    shellQuote,
    writeFileCommand,
} from "../../components/provisioner";

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

/** The running user's and a second existing group (the head node's `salt` group stands in). */
const me = os.userInfo();
const OTHER_GROUP = "daemon";
const ownerName = (uid: number) =>
    execFileSync("id", ["-nu", String(uid)], { encoding: "utf8" }).trim();
const groupName = (gid: number) =>
    execFileSync("getent", ["group", String(gid)], { encoding: "utf8" }).split(":")[0]!;

describe("writeFileCommand", () => {
    const root = ownerName(me.uid);
    const file = (target: string, over: Partial<Ownership> = {}) => ({
        path: target,
        owner: root,
        group: OTHER_GROUP,
        mode: "0640",
        ...over,
        directory: { owner: root, group: OTHER_GROUP, mode: "0750" },
    });

    it("writes stdin with the file's owner, group and mode, creating a missing directory with its own, atomically", () => {
        const target = path.join(work, "srv", "pillar", "secrets.sls");
        const secret = "token: s3cr3t'\"$(reboot)\n";
        const result = runShell(writeFileCommand(file(target)), secret);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(readFileSync(target, "utf8"), secret);
        const stat = statSync(target);
        assert.equal(stat.mode & 0o777, 0o640);
        assert.equal(groupName(stat.gid), OTHER_GROUP);
        const dir = statSync(path.dirname(target));
        assert.equal(dir.mode & 0o777, 0o750);
        assert.equal(groupName(dir.gid), OTHER_GROUP);
        assert.deepEqual(
            readdirSync(path.dirname(target)),
            ["secrets.sls"],
            "no temporary file left",
        );
        assert.ok(!writeFileCommand(file(target)).includes("s3cr3t"));
    });

    it("never touches an existing directory (the head's states own it): its owner, group and mode stay", () => {
        // The directory as salt_master.sls leaves /srv/pillar: another group, another mode.
        const dir = path.join(work, "existing");
        mkdirSync(dir);
        chmodSync(dir, 0o710);
        const target = path.join(dir, "top.sls");
        const result = runShell(writeFileCommand(file(target)), "base: {}\n");
        assert.equal(result.status, 0, result.stderr);
        const after_ = statSync(dir);
        assert.equal(after_.mode & 0o777, 0o710, "the directory's mode is unchanged");
        assert.equal(groupName(after_.gid), groupName(me.gid), "and its group");
    });

    it("replaces an existing file with the new content, owner, group and mode", () => {
        const target = path.join(work, "pki", "master.pem");
        runShell(writeFileCommand(file(target, { mode: "0600", group: groupName(me.gid) })), "old");
        const result = runShell(writeFileCommand(file(target, { mode: "0400" })), "new");
        assert.equal(result.status, 0, result.stderr);
        assert.equal(readFileSync(target, "utf8"), "new");
        assert.equal(statSync(target).mode & 0o777, 0o400);
        assert.equal(groupName(statSync(target).gid), OTHER_GROUP);
    });

    it("fails, leaving the old file, when the group does not exist", () => {
        const target = path.join(work, "keep", "a.sls");
        runShell(writeFileCommand(file(target)), "old");
        const result = runShell(writeFileCommand(file(target, { group: "nosuchgroup1" })), "new");
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /nosuchgroup1/);
        assert.equal(readFileSync(target, "utf8"), "old");
    });

    it("refuses paths, modes and account names that could break out of the command", () => {
        for (const [target, over] of [
            ["/srv/pil lar", {}],
            ["/srv/$(reboot)", {}],
            ["relative/path", {}],
            ["/srv/a", { mode: "600; reboot" }],
            ["/srv/a", { owner: "root;reboot" }],
            ["/srv/a", { group: "$(reboot)" }],
        ] as const) {
            assert.throws(() => writeFileCommand(file(target, over)), /Refusing to write/);
        }
        assert.throws(
            () =>
                writeFileCommand({
                    ...file("/srv/a"),
                    directory: { owner: "root", group: "salt", mode: "7777" },
                }),
            /Refusing to write/,
        );
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
