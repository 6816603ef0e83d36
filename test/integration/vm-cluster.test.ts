/**
 * The cluster on whole machines: a head node and a static worker as Debian 12 guests that the
 * local Nova boots from the project's image (uploaded to Glance as `npm run image` does) with
 * its libvirt driver under QEMU (software emulation: this machine's KVM cannot run stock
 * kernels), on a project network with DHCP and a router (test/helpers/novaGuest.ts); the head's
 * data volume is a Cinder volume (RBD on the box's one-node Ceph) attached through Nova.
 *
 * The head is provisioned the way the program provisions one, through its own code: the SSH host
 * key checked against the fingerprints in the console log Nova serves (components/hostKey.ts's
 * provider), the SSH providers (components/ssh.ts) reaching its floating IP, waiting for
 * cloud-init and copying the Salt tree and the built service bundle, the pillar and the Salt
 * master's keys written by the provisioner's own command with the owners and modes of
 * components/headFiles.ts, then `salt-call --local state.apply`, with real secrets. Nothing is
 * stood in for inside the guests: systemd, apt's database, Salt 3006.28, Slurm, MUNGE, the NFS
 * server and client, nginx, carbon, graphite-web, netfilter-persistent and the service run as
 * deployed.
 *
 * Both guests boot with the user-data the program renders (components/cluster.ts for the head,
 * lib/userData.ts for the worker: minion ID, master address, the master's pinned fingerprint,
 * grains), unchanged, from Nova's config drive, with the key pair Nova gives. The worker's
 * salt-minion authenticates to the head's real salt-master, which serves it the worker highstate
 * from the Salt tree and the pillar the head's states configured. Stood in for: the service's
 * admission. This test boots the worker itself, not through the WorkerPool provider, so the
 * service (whose credential here is not a real one) does not know it: it is stopped once the
 * head is up, and the test does what it would do for a worker it launched: accepts the key,
 * adds the address to the firewall's worker set and starts the highstate. The deployment under
 * the real engine with the service launching workers is issue 18's next step.
 *
 * Asserted: every state of both highstates succeeds; the head's daemons are active; /data is
 * the XFS volume, exported over NFSv4; the firewall is loaded; nginx serves the dashboard over
 * TLS; a second head run changes nothing; the worker mounts /data over NFS and its slurmd
 * registers under its node name; a job `fred` submits on the head (with sbatch, and a Torque
 * script with qsub) runs on the worker and its output is in the head's /data. On a failure the
 * message has the failed states and the console.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { renderHeadUserData } from "../../components/cluster";
import { sshHostKeyProvider } from "../../components/hostKey";
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
import type { SshConnection } from "../../components/sshSession";
import { newMinionId } from "../../lib/minionId";
import { nodeName } from "../../lib/nodeNames";
import { saltPemFinger } from "../../lib/saltKey";
import { renderWorkerUserData } from "../../lib/userData";
import { DEBIAN_IMAGE_LOGIN } from "../../scripts/image/bootParams";
import { selfSignedCertificate } from "../helpers/nginxProxy";
import { builtImageId, GUEST_FLAVOR_LARGE, GuestNetwork, type Guest } from "../helpers/novaGuest";
import { demoClient } from "../helpers/osbox";
import { PILLAR_RESOURCES, SALT_TREE, configFrom } from "../helpers/salt";
import { serviceBundle } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

const ROOT = path.resolve(__dirname, "../..");
const CLUSTER_CIDR = "10.42.0.0/24";
const LOGIN = DEBIAN_IMAGE_LOGIN;
const FRED_KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvbXJAl0jiGzk9VeUUwljGOdOMkZJuRSO6d37SV53mL fred@laptop";

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

/** A guest and the SSH connection to it (its floating IP), through the program's providers. */
class Machine {
    connection: SshConnection;

    constructor(
        readonly guest: Guest,
        private readonly network: GuestNetwork,
        private readonly loginKey: string,
    ) {
        this.connection = {
            host: guest.floatingIp,
            port: 22,
            user: LOGIN,
            connectTimeoutSeconds: 900,
            hostKeySha256: "",
        };
    }

    /** The end of the console log Nova serves, for a failure message. */
    consoleTail(): Promise<string> {
        return this.network.consoleTail(this.guest);
    }

    /** Checks the host key against Nova's console log and pins it: the program's own provider. */
    async pinHostKey(): Promise<void> {
        const created = await sshHostKeyProvider.create!({
            connection: this.connection,
            privateKey: this.loginKey,
            serverId: this.guest.id,
            check: "console",
        });
        const outs = created.outs as { hostKeySha256: string };
        this.connection = { ...this.connection, hostKeySha256: outs.hostKeySha256 };
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
            throw new Error(`${this.guest.name}: ${String(err)}\n${await this.consoleTail()}`);
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
    /** A cluster as a user configures it; its users' network is this machine's bridge's. */
    const clusterConfig = (allowedCidr: string) =>
        configFrom({
            keyName: "hpc-key",
            allowedCidr,
            network: "private",
            users: [{ name: "fred", uid: 1001, sshKeys: [FRED_KEY] }],
            workers: { min: 1, max: 4 },
        });
    const nova = demoClient();
    let network: GuestNetwork | undefined;
    let config: ReturnType<typeof clusterConfig>;
    let workerNode: string;
    let workerId: string;
    let headId: string;
    let dataVolumeId: string;
    let tmp: string;
    let head: Machine;
    let worker: Machine;
    let firstRun: StateRun;
    /** Seconds from the head's create call to each step (reported by the first test). */
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
        // The workstation's key pair, for the provisioning's SSH (Nova's key pair too).
        const keyFile = path.join(tmp, "login");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vm", "-f", keyFile]);
        const loginKey = fs.readFileSync(keyFile, "utf8");
        const imageId = await builtImageId(nova);
        network = await GuestNetwork.create(
            nova,
            CLUSTER_CIDR,
            fs.readFileSync(`${keyFile}.pub`, "utf8"),
        );
        config = clusterConfig(network.hostRange);
        workerNode = nodeName(staticNodePrefix(config), 1);
        workerId = newMinionId(workerNode);
        headId = headMinionId(config);
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

        bootStarted = Date.now();
        // The head first: the worker's user-data names its address.
        const headGuest = await network.boot({
            name: config.headNode.name,
            imageId,
            flavor: GUEST_FLAVOR_LARGE,
            // The head's user-data exactly as the program renders it.
            userData: renderHeadUserData(config),
        });
        mark("head: ACTIVE");
        head = new Machine(headGuest, network, loginKey);
        const resources: PillarResources = {
            ...PILLAR_RESOURCES,
            headAddress: headGuest.fixedIp,
            headPublicAddress: headGuest.floatingIp,
            clusterCidr: CLUSTER_CIDR,
            masterFinger: saltPemFinger(masterPub),
            workerFlavor: { vcpus: 1, ramMb: 1024 },
            serviceBundle: hashDirectory(serviceBundle()),
        };
        // The worker's user-data exactly as the program renders it.
        const workerUserData = renderWorkerUserData(
            fs.readFileSync(path.join(ROOT, "cloud-init/worker.yaml"), "utf8"),
            {
                minionId: workerId,
                nodeName: workerNode,
                masterAddress: headGuest.fixedIp,
                masterFinger: resources.masterFinger,
            },
        );
        const [workerGuest, volumeId] = await Promise.all([
            network.boot({ name: workerNode, imageId, userData: workerUserData }),
            // The data volume, attached through Nova as the program's VolumeAttach does.
            network.attachNewVolume(headGuest, 4, "ceph"),
        ]);
        dataVolumeId = volumeId;
        resources.dataVolumeId = volumeId;
        worker = new Machine(workerGuest, network, loginKey);
        mark("worker ACTIVE, data volume attached");
        await sshHostKeyProvider.configure!({ config: { get: () => undefined } } as never);

        await head.pinHostKey();
        mark("head: host key checked against the console");
        // The program's wait step; the user-data's bootstrap script must have succeeded.
        const headStatus = await head.run("cloud-init status --wait; true", "", 900);
        assert.match(headStatus, /^status: done$/m, await head.consoleTail());
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

    after(async () => {
        await network?.dispose();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("every state of the head's highstate succeeds on the first run", async (t) => {
        t.diagnostic(
            `seconds from the head's create call: ${JSON.stringify(timings)}; first state run ` +
                `${firstRun.seconds.toFixed(1)} s, ${firstRun.results.length} states`,
        );
        assert.ok(firstRun.results.length > 60, `only ${firstRun.results.length} states ran`);
        const failed = firstRun.results.filter((r) => r.result !== true);
        assert.deepEqual(
            failed.map((r) => `${r.id}: ${r.comment}`),
            [],
            failed.length > 0 ? await head.consoleTail() : "",
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
        const device = `/dev/disk/by-id/virtio-${dataVolumeId.slice(0, 20)}`;
        assert.equal((await head.run(`readlink -f ${device}`)).trim(), mount[0]);
        assert.match(await head.run("sudo exportfs -v"), /^\/data\s+10\.42\.0\.0\/24\(/m);
        assert.match(await head.run("stat -c %U /data/home/fred"), /^fred$/m);
    });

    it("the firewall's rules are loaded, the worker set exists", async () => {
        const rules = await head.run("sudo iptables -S INPUT");
        assert.match(rules, /^-P INPUT DROP$/m);
        const users = network!.hostRange.replace(/[./]/g, (c) => `\\${c}`);
        assert.match(rules, new RegExp(`-s ${users} .*--dport 22 .*-j ACCEPT`));
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
        const workerStatus = await worker.run("cloud-init status --wait; true", "", 900);
        assert.match(workerStatus, /^status: done$/m, await worker.consoleTail());
        mark("worker: host key checked, cloud-init done");
        // Accepted again on each try: a key the service saw before it stopped may have been
        // rejected, or deleted and sent again by the minion. A rejected minion exits (Salt's
        // rejected_retry is off), and systemd stops restarting it after five quick exits: it is
        // started again when it does not answer.
        await waitFor(
            `the worker (${workerId}) accepted at the master and answering it`,
            async () => {
                const out = await head.run(
                    `sudo salt-key -y --include-rejected --include-denied -a ${workerId} >/dev/null; ` +
                        `sudo salt --out json -t 20 ${workerId} test.ping 2>/dev/null; true`,
                );
                if (/"\S+":\s*true/.test(out)) return true;
                await worker.run(
                    "systemctl is-active --quiet salt-minion || " +
                        "{ sudo systemctl reset-failed salt-minion; sudo systemctl restart salt-minion; }",
                );
                return undefined;
            },
            { timeoutMs: 900_000, intervalMs: 5_000 },
        );
        await head.run(`sudo ipset add -exist dc-workers ${worker.guest.fixedIp}`);
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
                `${results.length} states; seconds from the head's create call: ${JSON.stringify(timings)}`,
        );
        assert.ok(results.length > 15, `only ${results.length} states ran`);
        const failed = results.filter((r) => r.result !== true);
        assert.deepEqual(
            failed.map((r) => `${r.id}: ${r.comment}`),
            [],
            failed.length > 0 ? await worker.consoleTail() : "",
        );
    });

    it("the worker mounts /data over NFSv4 and registers with slurmctld", async () => {
        const mount = (await worker.run("findmnt -n -o SOURCE,FSTYPE /data")).trim();
        assert.equal(mount, `${head.guest.fixedIp}:/data nfs4`);
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

    it("fred's Torque script, submitted with qsub on the head, runs on the worker", async (t) => {
        // The head's qsub (/usr/local/bin/qsub in front of Slurm's, first in sudo's PATH) keeps
        // the script's -N, -o and -j; spank_pbs (plugstack.conf) sets the PBS variables.
        const script = [
            "#!/bin/bash",
            "#PBS -N hello",
            "#PBS -l nodes=1:ppn=1,walltime=00:05:00",
            "#PBS -o /data/home/fred/hello.out",
            "#PBS -j oe",
            'cd "$PBS_O_WORKDIR"',
            'echo "$PBS_JOBNAME $PBS_JOBID ran on $(hostname) in $PWD as $(id -un)"',
            "",
        ].join("\n");
        await head.run("sudo -u fred tee /data/home/fred/hello.pbs >/dev/null", script);
        const submitted = Date.now();
        const jobId = (await head.run("cd /data/home/fred && sudo -u fred qsub hello.pbs")).trim();
        assert.match(jobId, /^\d+$/, `qsub printed the job ID: ${jobId}`);
        const output = await waitFor(
            `qsub job ${jobId}'s output in the head's /data`,
            async () => {
                const text = await head.run("cat /data/home/fred/hello.out 2>/dev/null; true");
                return text.trim() === "" ? undefined : text.trim();
            },
            { timeoutMs: 300_000, intervalMs: 3_000 },
        );
        t.diagnostic(`qsub to output on the head: ${(Date.now() - submitted) / 1000} s`);
        assert.equal(output, `hello ${jobId} ran on ${workerNode} in /data/home/fred as fred`);
    });
});
