/**
 * The provisioning step's files (components/headFiles.ts), written by its real shell command
 * (components/provisioner.ts `writeFileCommand`, run as root with sudo as on the head node) into
 * a head node's /srv/pillar and /etc/salt/pki/master, as a later `pulumi up` writes them again,
 * then read as the users the daemons run as (issue 17, item 5):
 * - after the head's states ran, /srv/pillar is root:salt 0750 and the served pillar files
 *   root:salt 0640 (salt/dynamic_cluster/head/salt_master.sls). Writing the files again must leave
 *   the directory as it is and give each file its final owner and mode at once: the running
 *   salt-master (user `salt`) reads the pillar it serves throughout. Before the fix the command
 *   ran `install -d -m 0700 -o root -g root` on the directory and wrote root 0600 files, and the
 *   master could not read its pillar until the next state run: workers configuring then failed;
 * - on a new head node (nothing there yet) the directories are created with the ownership the
 *   states give them, and the head-only secrets are never readable by `salt`.
 * Where: test/helpers/etc-overlay.sh (a private mount namespace with an overlay over /etc), with
 * a directory of the test bound over /srv; the machine's /etc and /srv are never written. Users:
 * `salt` from test/env/accounts.sh, as Salt's packages create it.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { headNodeFiles, MASTER_PKI_DIR, PILLAR_DIR } from "../../components/headFiles";
import { type RemoteFile, writeFileCommand } from "../../components/provisioner";
import { asUserArgv, inEtcOverlay, type Run, statOwnership } from "../helpers/etcOverlay";

/** The program's files with a recognisable content each (plain strings: no engine here). */
const CONTENT: Record<string, string> = {
    "top.sls": "base:\n  '*':\n    - dynamic_cluster\n",
    "dynamic_cluster.sls": "dynamic_cluster: {}\n",
    "dynamic_cluster_cluster_secrets.sls": "dynamic_cluster_cluster_secrets: {munge_key: m}\n",
    "dynamic_cluster_head_secrets.sls": "dynamic_cluster_head_secrets: {tokens: t}\n",
};
const FILES: RemoteFile[] = headNodeFiles({
    publicPillar: CONTENT,
    secretPillar: CONTENT,
    masterPrivateKeyPem: "-----BEGIN RSA PRIVATE KEY-----\nk\n-----END RSA PRIVATE KEY-----\n",
    masterPublicKeyPem: "-----BEGIN PUBLIC KEY-----\np\n-----END PUBLIC KEY-----\n",
});
const contentOf = (file: RemoteFile): string => {
    const name = path.basename(file.path);
    return CONTENT[name] ?? (name === "master.pem" ? "private\n" : "public\n");
};

let work: string;
before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "dc-provision-own-"));
    fs.chmodSync(work, 0o755);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs `command` as root with the overlay over /etc and `<sandbox>/srv` bound over /srv. */
const onHead = (sandbox: string, command: string[], input?: string): Run =>
    inEtcOverlay(sandbox, command, { srv: true, input, timeoutMs: 60_000 });

const sh = (sandbox: string, script: string, input?: string): Run =>
    onHead(sandbox, ["bash", "-c", script], input);

/** `cat FILE` as USER with only USER's own groups. */
const readAs = (sandbox: string, user: string, file: string): Run =>
    onHead(sandbox, asUserArgv(user, ["cat", file]));

/** `owner group mode` of each path. */
const ownership = (sandbox: string, paths: string[]): Record<string, string> =>
    statOwnership((command) => onHead(sandbox, command), paths);

/** Writes every file with the provisioning step's command, stdin carrying the content. */
function provision(sandbox: string): void {
    for (const file of FILES) {
        const run = sh(sandbox, writeFileCommand(file), contentOf(file));
        assert.equal(run.status, 0, `${file.path}: ${run.stderr}`);
    }
}

const SERVED = ["top.sls", "dynamic_cluster.sls", "dynamic_cluster_cluster_secrets.sls"].map(
    (f) => `${PILLAR_DIR}/${f}`,
);
const HEAD_ONLY = `${PILLAR_DIR}/dynamic_cluster_head_secrets.sls`;
const EXPECTED: Record<string, string> = {
    [PILLAR_DIR]: "root salt 750",
    ...Object.fromEntries(SERVED.map((f) => [f, "root salt 640"])),
    [HEAD_ONLY]: "root root 600",
    [MASTER_PKI_DIR]: "salt salt 700",
    [`${MASTER_PKI_DIR}/master.pem`]: "salt salt 400",
    [`${MASTER_PKI_DIR}/master.pub`]: "salt salt 644",
};

describe("provisioning writes the head node's files with their final owner and mode", () => {
    it("on a running head (the states applied), salt reads its pillar and key throughout, and the directories are untouched", () => {
        const sandbox = path.join(work, "running");
        // /srv/pillar and the key directory as the head's states leave them, with the files.
        const setUp = sh(
            sandbox,
            [
                `install -d -o root -g salt -m 0750 ${PILLAR_DIR}`,
                `install -d -o salt -g salt -m 0700 ${MASTER_PKI_DIR}`,
                ...SERVED.map((f) => `install -o root -g salt -m 0640 /dev/null ${f}`),
                `install -o root -g root -m 0600 /dev/null ${HEAD_ONLY}`,
            ].join(" && "),
        );
        assert.equal(setUp.status, 0, setUp.stderr);
        provision(sandbox);
        assert.deepEqual(ownership(sandbox, Object.keys(EXPECTED)), EXPECTED);
        for (const file of SERVED) {
            const run = readAs(sandbox, "salt", file);
            assert.equal(run.status, 0, `salt cannot read ${file}: ${run.stderr}`);
            assert.equal(run.stdout, CONTENT[path.basename(file)]);
        }
        assert.equal(readAs(sandbox, "salt", `${MASTER_PKI_DIR}/master.pem`).status, 0);
        const secret = readAs(sandbox, "salt", HEAD_ONLY);
        assert.notEqual(secret.status, 0);
        assert.match(secret.stderr, /Permission denied/);
    });

    it("on a new head node, the missing directories are created with the ownership the states give them", () => {
        const sandbox = path.join(work, "new");
        const clean = sh(sandbox, `rm -rf /etc/salt/pki && ! test -e ${PILLAR_DIR}`);
        assert.equal(clean.status, 0, clean.stderr);
        provision(sandbox);
        assert.deepEqual(ownership(sandbox, Object.keys(EXPECTED)), EXPECTED);
        assert.equal(readAs(sandbox, "salt", SERVED[0]!).status, 0);
    });
});
