/**
 * The cluster on whole machines, for the first time: a head node and a static worker as Debian 12
 * guests under QEMU (test/helpers/qemuGuest.ts; software emulation, this machine's KVM cannot
 * run stock kernels), both booted straight from the project's image
 * (scripts/image/build-debian.sh), on a private cluster link between them.
 *
 * The head is provisioned the way the program provisions one, through its own code: the SSH host
 * key checked against the fingerprints cloud-init printed to the console (components/hostKey.ts),
 * the SSH providers (components/ssh.ts) waiting for cloud-init and copying the Salt tree and the
 * built service bundle, the pillar and the Salt master's keys written by the provisioner's own
 * command with the owners and modes of components/headFiles.ts, then `salt-call --local
 * state.apply`, with real secrets. Nothing is stood in for inside the guests: systemd, apt's
 * database, Salt 3006.28, Slurm, MUNGE, the NFS server and client, nginx, carbon,
 * graphite-web, netfilter-persistent and the service run as deployed. The head's guest has a
 * data disk whose serial is the Cinder volume's ID as Nova presents it.
 *
 * Both guests boot with the user-data the program renders (components/cluster.ts for the head,
 * lib/userData.ts for the worker: minion ID, master address, the master's pinned fingerprint,
 * grains), unchanged, and the key pair in the metadata as Nova gives it. The worker's
 * salt-minion authenticates to the head's real salt-master, which serves it the worker highstate
 * from the Salt tree and the pillar the head's states configured. Stood in for, until Nova boots
 * the guests (issue 18's next step): the service's admission. The service cannot see this worker
 * in Nova, so it is stopped once the head is up, and the test does what it would do for a
 * worker it launched: accepts the key, adds the address to the firewall's worker set and starts
 * the highstate.
 *
 * Asserted: every state of both highstates succeeds; the head's daemons are active; /data is
 * the XFS volume, exported over NFSv4; the firewall is loaded; nginx serves the dashboard over
 * TLS; a second head run changes nothing; the worker mounts /data over NFS and its slurmd
 * registers under its node name; a job `fred` submits on the head runs on the worker and its
 * output is in the head's /data. On a failure the message has the failed states and the console.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { renderHeadUserData } from "../../components/cluster";
import { consoleHostKeyFingerprints } from "../../components/hostKey";
import { headNodeFiles } from "../../components/headFiles";
import {
    headMinionId,
    renderPublicPillarFiles,
    renderSecretPillarFiles,
    staticNodePrefix,
    type PillarResources,
    type PillarSecrets,
} from "../../components/pillar";
import { hashDirectory, installTreeCommand, writeFileCommand } from "../../components/provisioner";
import { remoteCommandProvider, remoteCopyProvider } from "../../components/ssh";
import { connect, type SshConnection } from "../../components/sshSession";
import { newMinionId } from "../../lib/minionId";
import { nodeName } from "../../lib/nodeNames";
import { saltPemFinger } from "../../lib/saltKey";
import { renderWorkerUserData } from "../../lib/userData";
import { selfSignedCertificate } from "../helpers/nginxProxy";
import { freePort } from "../helpers/ports";
import { QemuGuest, UPLINK_MAC, type GuestImage } from "../helpers/qemuGuest";
import { PILLAR_RESOURCES, SALT_TREE, configFrom } from "../helpers/salt";
import { serviceBundle } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

const ROOT = path.resolve(__dirname, "../..");
const HEAD_ADDRESS = "10.42.0.5";
const WORKER_ADDRESS = "10.42.0.11";
const DATA_VOLUME_ID = PILLAR_RESOURCES.dataVolumeId;
const LOGIN = "debian";
const FRED_KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvbXJAl0jiGzk9VeUUwljGOdOMkZJuRSO6d37SV53mL fred@laptop";

/** The image: DC_IMAGE_DEBIAN (test/run.sh builds it in the background), else built now. */
function image(): GuestImage {
    const dir =
        process.env["DC_IMAGE_DEBIAN"] ||
        execFileSync("bash", [path.join(ROOT, "scripts/image/build-debian.sh")], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        }).trim();
    assert.ok(fs.existsSync(path.join(dir, "root.raw")), `no image in ${dir}`);
    return { dir };
}

/** One state's result from Salt's JSON output. */
interface StateResult {
    id: string;
    result: boolean;
    comment: string;
    changes: object;
}

/** A state run: each state's result and how long it took. */
interface StateRun {
    results: StateResult[];
    seconds: number;
}

/** Reads `salt-call`/`salt` JSON output for one minion. */
function stateResults(out: string, minion: string): StateResult[] {
    let parsed: Record<string, unknown>;
    try {
        parsed = JSON.parse(out.slice(out.indexOf("{"))) as Record<string, unknown>;
    } catch {
        throw new Error(`Salt printed no results:\n${out}`);
    }
    const own = parsed[minion];
    if (!own || typeof own !== "object" || Array.isArray(own)) {
        throw new Error(`the highstate of ${minion} did not run:\n${JSON.stringify(own)}`);
    }
    return Object.values(own as Record<string, StateResult & { __id__: string }>).map((r) => ({
        id: r.__id__,
        result: r.result,
        comment: r.comment,
        changes: r.changes,
    }));
}

/** A guest and the SSH connection to it, through the program's SSH providers. */
class Machine {
    connection: SshConnection;

    constructor(
        readonly guest: QemuGuest,
        private readonly loginKey: string,
    ) {
        this.connection = {
            host: "127.0.0.1",
            port: guest.sshPort,
            user: LOGIN,
            connectTimeoutSeconds: 300,
            hostKeySha256: "",
        };
    }

    /** Checks the host key against the console's fingerprints and pins it, as the program does. */
    async pinHostKey(): Promise<void> {
        await this.guest.waitConsole(
            "cloud-init's SSH host key fingerprints on the console",
            /-----END SSH HOST KEY FINGERPRINTS-----/,
            900_000,
        );
        const accepted = consoleHostKeyFingerprints(this.guest.console());
        assert.ok(accepted && accepted.length > 0, this.guest.consoleTail());
        const session = await connect(this.connection, this.loginKey, accepted);
        session.client.end();
        this.connection = { ...this.connection, hostKeySha256: session.hostKeySha256 };
    }

    /** Runs a command (RemoteCommand's provider); returns stdout. */
    async run(command: string, stdin = "", timeoutSeconds = 600): Promise<string> {
        try {
            const { outs } = await remoteCommandProvider.create!({
                connection: this.connection,
                privateKey: this.loginKey,
                command,
                stdin,
                triggers: [],
                timeoutSeconds,
            });
            return (outs as { stdout: string }).stdout;
        } catch (err) {
            throw new Error(`${this.guest.name}: ${String(err)}\n${this.guest.consoleTail()}`);
        }
    }

    /** Copies a directory to `target` (RemoteCopy's provider, then into place as root). */
    async copy(source: string, target: string): Promise<void> {
        const staging = `/home/${LOGIN}/.dc-staging${target.replace(/\//g, "-")}`;
        await remoteCopyProvider.create!({
            connection: this.connection,
            privateKey: this.loginKey,
            sourceDir: source,
            remotePath: staging,
            contentHash: hashDirectory(source),
            triggers: [],
        });
        await this.run(installTreeCommand(staging, target));
    }
}

describe("the cluster in real Debian 12 guests", { timeout: 3_600_000 }, () => {
    // A cluster as a user configures it; the users' network is QEMU's user-mode network, where
    // this machine's SSH comes from (10.0.2.2). The worker flavor is the guest's size, so the
    // node Slurm declares is the node that registers.
    const config = configFrom({
        keyName: "hpc-key",
        allowedCidr: "10.0.2.0/24",
        network: "private",
        users: [{ name: "fred", uid: 1001, sshKeys: [FRED_KEY] }],
        workers: { min: 1, max: 4 },
    });
    const workerNode = nodeName(staticNodePrefix(config), 1);
    const workerId = newMinionId(workerNode);
    const headId = headMinionId(config);
    let tmp: string;
    let head: Machine;
    let worker: Machine;
    let firstRun: StateRun;
    /** Seconds from QEMU's start to each step (reported by the first test). */
    const timings: Record<string, number> = {};
    let bootStarted = 0;
    const mark = (step: string) => (timings[step] = (Date.now() - bootStarted) / 1000);

    async function headHighstate(): Promise<StateRun> {
        const started = Date.now();
        const out = await head.run(
            `sudo salt-call --local --out json --log-level warning --id ${headId} state.apply; true`,
            "",
            3000,
        );
        return { results: stateResults(out, "local"), seconds: (Date.now() - started) / 1000 };
    }

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-vm-cluster-"));
        selfSignedCertificate(tmp);
        // The workstation's key pair, for the provisioning's SSH.
        const keyFile = path.join(tmp, "login");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vm", "-f", keyFile]);
        const loginKey = fs.readFileSync(keyFile, "utf8");
        const loginPublic = fs.readFileSync(`${keyFile}.pub`, "utf8").trim();
        const secrets: PillarSecrets = {
            applicationCredentialId: "appcred-id-vm-test",
            applicationCredentialSecret: randomBytes(24).toString("hex"),
            dashboardPassword: randomBytes(18).toString("base64url"),
            localApiTokens: {
                slurm: randomBytes(24).toString("hex"),
                salt: randomBytes(24).toString("hex"),
                admin: randomBytes(24).toString("hex"),
            },
            tlsPrivateKey: fs.readFileSync(path.join(tmp, "tls.key"), "utf8"),
            tlsCertificate: fs.readFileSync(path.join(tmp, "tls.crt"), "utf8"),
            mungeKey: randomBytes(128).toString("base64"),
        };
        const masterKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const masterPem = masterKeys.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
        const masterPub = masterKeys.publicKey.export({ type: "spki", format: "pem" }).toString();
        const resources: PillarResources = {
            ...PILLAR_RESOURCES,
            headAddress: HEAD_ADDRESS,
            headPublicAddress: "10.0.2.15",
            clusterCidr: "10.42.0.0/24",
            masterFinger: saltPemFinger(masterPub),
            workerFlavor: { vcpus: 1, ramMb: 1024 },
            serviceBundle: hashDirectory(serviceBundle()),
        };
        const network = (mac: string, address: string) =>
            [
                "version: 2",
                "ethernets:",
                "  uplink:",
                `    match: {macaddress: "${UPLINK_MAC}"}`,
                "    dhcp4: true",
                "  cluster:",
                `    match: {macaddress: "${mac}"}`,
                `    addresses: [${address}/24]`,
                "",
            ].join("\n");
        // The worker's user-data exactly as the program renders it.
        const workerUserData = renderWorkerUserData(
            fs.readFileSync(path.join(ROOT, "cloud-init/worker.yaml"), "utf8"),
            {
                minionId: workerId,
                nodeName: workerNode,
                masterAddress: HEAD_ADDRESS,
                masterFinger: resources.masterFinger,
            },
        );
        // The key pair arrives as Nova's does, in the metadata, for the image's default user.
        const metaData = (instanceId: string, hostname: string) => ({
            "instance-id": instanceId,
            "local-hostname": hostname,
            "public-keys": JSON.stringify([loginPublic]),
        });
        const linkPort = await freePort();
        const bootImage = image();
        bootStarted = Date.now();
        head = new Machine(
            await QemuGuest.boot({
                name: "head",
                image: bootImage,
                memoryMb: 2048,
                metaData: metaData("vm-head-1", config.headNode.name),
                // The head's user-data exactly as the program renders it.
                userData: renderHeadUserData(config),
                networkConfig: network("52:54:00:dc:01:05", HEAD_ADDRESS),
                disks: [{ sizeGb: 4, serial: DATA_VOLUME_ID.slice(0, 20) }],
                link: { port: linkPort, listen: true, mac: "52:54:00:dc:01:05" },
            }),
            loginKey,
        );
        worker = new Machine(
            await QemuGuest.boot({
                name: "worker",
                image: bootImage,
                memoryMb: 1536,
                metaData: metaData("vm-worker-1", workerNode),
                userData: workerUserData,
                networkConfig: network("52:54:00:dc:01:0b", WORKER_ADDRESS),
                link: { port: linkPort, listen: false, mac: "52:54:00:dc:01:0b" },
            }),
            loginKey,
        );

        await head.pinHostKey();
        mark("head: host key checked against the console");
        // The program's wait step; the user-data's bootstrap script must have succeeded.
        assert.match(
            await head.run("cloud-init status --wait; true", "", 900),
            /^status: done$/m,
            head.guest.consoleTail(),
        );
        mark("head: cloud-init done");
        await head.copy(SALT_TREE, "/srv/salt");
        await head.copy(serviceBundle(), "/opt/dynamic-cluster");
        const contents: Record<string, string> = {
            "/etc/salt/pki/master/master.pem": masterPem,
            "/etc/salt/pki/master/master.pub": masterPub,
        };
        for (const [name, text] of Object.entries({
            ...renderPublicPillarFiles(config, resources),
            ...renderSecretPillarFiles(secrets),
        }))
            contents[`/srv/pillar/${name}`] = text;
        const files = headNodeFiles({
            publicPillar: {},
            secretPillar: {},
            masterPrivateKeyPem: "",
            masterPublicKeyPem: "",
        });
        for (const file of files) {
            const content = contents[file.path];
            assert.ok(content !== undefined, `no content for ${file.path}`);
            await head.run(writeFileCommand(file), content);
        }
        mark("head: provisioned");
        firstRun = await headHighstate();
        mark("head: first state run done");
    });

    after(() => {
        head?.guest.dispose();
        worker?.guest.dispose();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("every state of the head's highstate succeeds on the first run", (t) => {
        t.diagnostic(
            `seconds from QEMU's start: ${JSON.stringify(timings)}; first state run ` +
                `${firstRun.seconds.toFixed(1)} s, ${firstRun.results.length} states`,
        );
        assert.ok(firstRun.results.length > 60, `only ${firstRun.results.length} states ran`);
        const failed = firstRun.results.filter((r) => r.result !== true);
        assert.deepEqual(
            failed.map((r) => `${r.id}: ${r.comment}`),
            [],
            head.guest.consoleTail(),
        );
    });

    it("the head's daemons run under systemd", async () => {
        const units = [
            "munge",
            "slurmctld",
            "nfs-server",
            "nginx",
            "carbon-cache",
            "graphite-web",
            "salt-master",
            "dynamic-cluster",
            "netfilter-persistent",
        ];
        const states = (await head.run(`systemctl is-active ${units.join(" ")}; true`))
            .trim()
            .split("\n");
        assert.deepEqual(
            Object.fromEntries(units.map((u, i) => [u, states[i]])),
            Object.fromEntries(units.map((u) => [u, "active"])),
        );
    });

    it("/data is the volume, XFS, exported over NFSv4 to the cluster network", async () => {
        const mount = (await head.run("findmnt -n -o SOURCE,FSTYPE /data")).trim().split(/\s+/);
        assert.equal(mount[1], "xfs");
        const device = `/dev/disk/by-id/virtio-${DATA_VOLUME_ID.slice(0, 20)}`;
        assert.equal((await head.run(`readlink -f ${device}`)).trim(), mount[0]);
        assert.match(await head.run("sudo exportfs -v"), /^\/data\s+10\.42\.0\.0\/24\(/m);
        assert.match(await head.run("stat -c %U /data/home/fred"), /^fred$/m);
    });

    it("the firewall's rules are loaded, the worker set exists", async () => {
        const rules = await head.run("sudo iptables -S INPUT");
        assert.match(rules, /^-P INPUT DROP$/m);
        assert.match(rules, /-s 10\.0\.2\.0\/24 .*--dport 22 .*-j ACCEPT/);
        assert.match(await head.run("sudo ipset list -n"), /^dc-workers$/m);
    });

    it("slurmctld answers, nginx serves the dashboard over TLS", async () => {
        assert.match(await head.run("sinfo -h -o '%P %D'"), /\d/);
        const code = await head.run(
            "curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1/dashboard/; true",
        );
        assert.match(code, /^(200|302|401)$/, code);
    });

    it("a second state run on the head changes nothing", async (t) => {
        const second = await headHighstate();
        t.diagnostic(`second state run ${second.seconds.toFixed(1)} s`);
        assert.deepEqual(
            second.results.filter((r) => r.result !== true).map((r) => `${r.id}: ${r.comment}`),
            [],
        );
        assert.deepEqual(
            second.results
                .filter((r) => Object.keys(r.changes ?? {}).length > 0)
                .map((r) => `${r.id}: ${JSON.stringify(r.changes).slice(0, 200)}`),
            [],
        );
    });

    it("the worker joins through the head's Salt master and its highstate succeeds", async (t) => {
        // The service's part, stood in for (see the header): it is stopped, and the test
        // accepts the key, opens the firewall to the worker and starts its highstate.
        await head.run("sudo systemctl stop dynamic-cluster");
        await worker.pinHostKey();
        assert.match(
            await worker.run("cloud-init status --wait; true", "", 900),
            /^status: done$/m,
            worker.guest.consoleTail(),
        );
        mark("worker: host key checked, cloud-init done");
        // Accepted again on each try: a key the service saw before it stopped may have been
        // rejected, or deleted and sent again by the minion.
        await waitFor(
            `the worker (${workerId}) accepted at the master and answering it`,
            async () => {
                const out = await head.run(
                    `sudo salt-key -y --include-rejected --include-denied -a ${workerId} >/dev/null; ` +
                        `sudo salt --out json -t 20 ${workerId} test.ping 2>/dev/null; true`,
                );
                return /"\S+":\s*true/.test(out) ? true : undefined;
            },
            { timeoutMs: 900_000, intervalMs: 5_000 },
        );
        await head.run(`sudo ipset add -exist dc-workers ${WORKER_ADDRESS}`);
        mark("worker: key accepted, answers the master");
        const started = Date.now();
        const out = await head.run(
            `sudo salt --out json --static -t 2400 ${workerId} state.apply; true`,
            "",
            3000,
        );
        const results = stateResults(out, workerId);
        mark("worker: highstate done");
        t.diagnostic(
            `worker highstate ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
                `${results.length} states; seconds from QEMU's start: ${JSON.stringify(timings)}`,
        );
        assert.ok(results.length > 15, `only ${results.length} states ran`);
        assert.deepEqual(
            results.filter((r) => r.result !== true).map((r) => `${r.id}: ${r.comment}`),
            [],
            worker.guest.consoleTail(),
        );
    });

    it("the worker mounts /data over NFSv4 and registers with slurmctld", async () => {
        const mount = (await worker.run("findmnt -n -o SOURCE,FSTYPE /data")).trim();
        assert.equal(mount, `${HEAD_ADDRESS}:/data nfs4`);
        await waitFor(
            `${workerNode} idle in Slurm`,
            async () => {
                const state = (await head.run(`sinfo -h -N -n ${workerNode} -o '%t'`)).trim();
                return state === "idle" ? state : undefined;
            },
            { timeoutMs: 300_000, intervalMs: 3_000 },
        );
    });

    it("a job fred submits on the head runs on the worker, its output in the head's /data", async (t) => {
        const submitted = Date.now();
        const jobId = (
            await head.run(
                "cd /data/home/fred && sudo -u fred sbatch --parsable -o job-%j.log " +
                    `--wrap 'echo "ran on $(hostname) as $(id -un)" > /data/home/fred/job.out'`,
            )
        ).trim();
        assert.match(jobId, /^\d+$/);
        const output = await waitFor(
            `job ${jobId}'s output in the head's /data`,
            async () => {
                const text = await head.run("cat /data/home/fred/job.out 2>/dev/null; true");
                return text.trim() === "" ? undefined : text.trim();
            },
            { timeoutMs: 300_000, intervalMs: 3_000 },
        );
        t.diagnostic(`job submitted to output on the head: ${(Date.now() - submitted) / 1000} s`);
        assert.equal(output, `ran on ${workerNode} as fred`);
        assert.equal((await head.run(`squeue -h -j ${jobId} 2>/dev/null; true`)).trim(), "");
    });
});
