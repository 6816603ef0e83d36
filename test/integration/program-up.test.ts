/**
 * The program deployed for real: the README's commands typed into the real Pulumi CLI (3.248,
 * built from Go modules by test/env/pulumi/build.sh, with the openstack, random and tls providers
 * as plugins and the program's own dynamic providers) against the local OpenStack
 * (test/env/openstack: Keystone, Nova, Neutron with routers and floating IPs, Cinder).
 *
 * Every assertion about what was built is made against the OpenStack APIs, not Pulumi's state.
 * The head node's provisioning runs for real over SSH against an emulated head host at the
 * floating IP (test/env/head/up.sh says what it stands in for: the VM, cloud-init's status and
 * salt-call). Then the day-2 operations a user makes: raising the static floor, a policy change,
 * a worker deleted out of band, bad configuration, and `pulumi destroy`.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import { SERVICE_ACCESS_RULES } from "../../components/accessRules";
import { isMinionId, nodeNameOfMinionId } from "../../lib/minionId";
import { saltPemFinger } from "../../lib/saltKey";
import { workerTags } from "../../lib/tags";
import { tearDownDeployment } from "../helpers/stackCleanup";
import { type EmulatedHead, startEmulatedHead } from "../helpers/emulatedHead";
import { expectedRules } from "../helpers/expected";
import { adminSession, demoClient, demoEnv } from "../helpers/osbox";
import {
    type CliResult,
    createWorkspace,
    expectSuccess,
    type PulumiWorkspace,
    pulumiToolchain,
    readStackResources,
    stackStatePath,
    stateResource,
} from "../helpers/pulumiCli";

const STACK = "e2e";
/** The one floating IP of the local OpenStack's external network (test/env/openstack). */
const FLOATING_IP = "198.51.100.10";
/** The "workstation" side of the emulated head's link; users' range is its /24. */
const GATEWAY = "198.51.100.1";
const USERS_CIDR = "198.51.100.0/24";
const EXTERNAL_NETWORK = "dc-test-public";
const HEAD_NAME = "dc-head";

const demo = demoClient().session;
const admin = adminSession();

async function api<T>(service: string, apiPath: string, session = demo): Promise<T> {
    return (await session.request(service, { method: "GET", path: apiPath })).json as T;
}

interface NeutronRule {
    security_group_id: string;
    direction: string;
    ethertype: string;
    protocol: string | null;
    port_range_min: number | null;
    port_range_max: number | null;
    remote_ip_prefix: string | null;
    remote_group_id: string | null;
}
interface NovaServer {
    id: string;
    name: string;
    status: string;
    tags: string[];
    metadata: Record<string, string>;
    "os-extended-volumes:volumes_attached"?: Array<{ id: string }>;
    "OS-EXT-SRV-ATTR:user_data"?: string;
}

async function serversNamed(prefix: string): Promise<NovaServer[]> {
    const body = await demo.request("compute", {
        method: "GET",
        path: `/servers/detail?name=${encodeURIComponent(`^${prefix}`)}`,
        headers: { "OpenStack-API-Version": "compute 2.26" },
    });
    return (body.json as { servers: NovaServer[] }).servers;
}

async function serversTagged(tag: string): Promise<NovaServer[]> {
    const body = await demo.request("compute", {
        method: "GET",
        path: `/servers/detail?tags=${encodeURIComponent(tag)}`,
        headers: { "OpenStack-API-Version": "compute 2.26" },
    });
    return (body.json as { servers: NovaServer[] }).servers;
}

async function userDataOf(serverId: string): Promise<string> {
    const body = await admin.request("compute", {
        method: "GET",
        path: `/servers/${serverId}`,
        headers: { "OpenStack-API-Version": "compute 2.3" },
    });
    const encoded = (body.json as { server: NovaServer }).server["OS-EXT-SRV-ATTR:user_data"];
    return Buffer.from(encoded ?? "", "base64").toString("utf8");
}

async function untilTrue(
    what: string,
    check: () => Promise<boolean>,
    seconds = 120,
): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds}s`);
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
}

/** Names of the resources a preview or update would change (`pulumi preview --json`). */
function changedResources(result: CliResult): string[] {
    const plan = JSON.parse(result.stdout) as { steps?: Array<{ op: string; urn: string }> };
    return [
        ...new Set(
            (plan.steps ?? [])
                .filter((step) => step.op !== "same")
                .map((step) => step.urn.split("::").pop()!),
        ),
    ].sort();
}

/** True when the CLI output shows no resource operation (it failed before any). */
function noResourceOperation(result: CliResult): boolean {
    return !/\b(creating|updating|deleting|replacing|created|updated|deleted)\b/.test(
        result.stdout + result.stderr,
    );
}

describe("pulumi up for real: the program deployed into the local OpenStack", () => {
    let workspace: PulumiWorkspace;
    let head: EmulatedHead;
    let keyName: string;
    let privateKey: string;
    let clusterId = "";
    let headServerId = "";
    const secretsSeen: string[] = [];
    const pulumi = (args: string[], input?: string): Promise<CliResult> =>
        workspace.pulumi(args, { input });

    before(async () => {
        const floating = await api<{ floatingips: Array<{ floating_ip_address: string }> }>(
            "network",
            "/v2.0/floatingips",
        );
        assert.deepEqual(
            floating.floatingips.map((f) => f.floating_ip_address),
            [],
            "the local OpenStack's only floating IP is taken: an earlier run left a cluster; " +
                "delete it (`openstack floating ip delete 198.51.100.10` as demo) and run again",
        );
        const toolchain = pulumiToolchain();
        workspace = createWorkspace(toolchain, demoEnv(), "dc-program-up-");
        const keyFile = path.join(workspace.root, "id_ed25519");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", keyFile]);
        privateKey = readFileSync(keyFile, "utf8");
        keyName = `dc-e2e-${path.basename(workspace.root).slice(-6).toLowerCase()}`;
        // The user's own key pair, in Nova before the first `pulumi up` (as the README asks).
        await demo.request("compute", {
            method: "POST",
            path: "/os-keypairs",
            body: {
                keypair: { name: keyName, public_key: readFileSync(`${keyFile}.pub`, "utf8") },
            },
        });
        // What cloud-init puts in the cloud user's authorized_keys: the key pair's public key.
        head = startEmulatedHead({
            dir: path.join(workspace.root, "head"),
            name: HEAD_NAME,
            address: FLOATING_IP,
            gateway: GATEWAY,
            user: "rocky",
            publicKeyFile: `${keyFile}.pub`,
        });
    });

    after(async () => {
        await tearDownDeployment({
            workspace,
            stack: STACK,
            keyName,
            session: demo,
            stop: () => head?.stop(),
        });
    });

    it("logs in, creates the stack and sets the configuration as the README says", async () => {
        expectSuccess(await pulumi(["login", `file://${workspace.stateDir}`]), "pulumi login");
        expectSuccess(await pulumi(["stack", "init", STACK]), "pulumi stack init");
        for (const args of [
            ["keyName", keyName],
            ["allowedCidr", USERS_CIDR],
            ["externalNetwork", EXTERNAL_NETWORK],
            ["--path", "workers.min", "1"],
            ["--path", "workers.max", "4"],
            // The local cloud's flavors and image (a real cloud has Rocky-9 and m1.large).
            ["--path", "headNode.flavor", "m1.small"],
            ["--path", "headNode.image", "tiny"],
            ["--path", "workers.flavor", "m1.tiny"],
            ["--path", "data.size", "1"],
            // Nova's fake driver prints no console (no cloud-init ran), so there are no host key
            // fingerprints to check against: trust the emulated head's first key, as the README
            // says for images that print none (test/integration/ssh-provider.test.ts checks the
            // console way against a real sshd).
            ["sshHostKeyCheck", "first-use"],
        ]) {
            expectSuccess(await pulumi(["config", "set", ...args]), `config set ${args.join(" ")}`);
        }
        // The README: `pulumi config set --secret sshPrivateKey < key` (no ssh-agent here).
        expectSuccess(
            await pulumi(["config", "set", "--secret", "sshPrivateKey"], privateKey),
            "config set --secret sshPrivateKey",
        );
        const stackFile = readFileSync(
            path.join(workspace.project, `Pulumi.${STACK}.yaml`),
            "utf8",
        );
        assert.ok(!stackFile.includes(privateKey.split("\n")[1]!), "the key is encrypted");
    });

    it("previews the whole cluster and creates nothing", async () => {
        const preview = expectSuccess(await pulumi(["preview"]), "pulumi preview");
        for (const type of [
            "dynamic-cluster:index:Cluster",
            "dynamic-cluster:index:HeadNode",
            "dynamic-cluster:index:HeadProvisioner",
            "openstack:compute:Instance",
            "pulumi-nodejs:dynamic/dynamic-cluster:WorkerPool",
        ]) {
            assert.match(preview.stdout, new RegExp(`\\+ +${type} `), type);
        }
        assert.match(preview.stdout, /\+ 51 to create/);
        assert.deepEqual(await serversNamed(HEAD_NAME), [], "preview booted nothing");
    });

    it("pulumi up --yes creates it", async () => {
        const up = expectSuccess(await pulumi(["up", "--yes"]), "pulumi up");
        assert.match(up.stdout, /\+ 51 created/);
        clusterId = expectSuccess(
            await pulumi(["stack", "output", "clusterId"]),
            "output",
        ).stdout.trim();
        assert.match(clusterId, /^[a-z0-9]{8}$/);
    });

    it("created network, subnet, router and its interface (Neutron)", async () => {
        const nets = await api<{ networks: Array<{ id: string; subnets: string[] }> }>(
            "network",
            `/v2.0/networks?name=${STACK}-net`,
        );
        assert.equal(nets.networks.length, 1);
        const network = nets.networks[0]!;
        const subnets = await api<{ subnets: Array<{ id: string; cidr: string }> }>(
            "network",
            `/v2.0/subnets?network_id=${network.id}`,
        );
        assert.deepEqual(
            subnets.subnets.map((s) => s.cidr),
            ["10.42.0.0/24"],
        );
        const external = await api<{ networks: Array<{ id: string }> }>(
            "network",
            `/v2.0/networks?name=${EXTERNAL_NETWORK}`,
        );
        const routers = await api<{
            routers: Array<{ id: string; external_gateway_info: { network_id: string } | null }>;
        }>("network", `/v2.0/routers?name=${STACK}-router`);
        assert.equal(routers.routers.length, 1);
        assert.equal(
            routers.routers[0]!.external_gateway_info?.network_id,
            external.networks[0]!.id,
        );
        const interfaces = await api<{
            ports: Array<{ fixed_ips: Array<{ subnet_id: string }> }>;
        }>(
            "network",
            `/v2.0/ports?device_id=${routers.routers[0]!.id}&device_owner=network:router_interface`,
        );
        assert.deepEqual(
            interfaces.ports.map((p) => p.fixed_ips[0]!.subnet_id),
            [subnets.subnets[0]!.id],
        );
    });

    it("created both security groups with exactly the expected rules (Neutron)", async () => {
        const groups = await api<{
            security_groups: Array<{
                id: string;
                name: string;
                security_group_rules: NeutronRule[];
            }>;
        }>("network", "/v2.0/security-groups");
        const byName = new Map(groups.security_groups.map((g) => [g.name, g]));
        const headGroup = byName.get(`${STACK}-head`);
        const workerGroup = byName.get(`${STACK}-worker`);
        assert.ok(headGroup && workerGroup, "both groups exist");
        const nameOf = new Map([
            [headGroup.id, "head"],
            [workerGroup.id, "worker"],
        ]);
        const actual = [...headGroup.security_group_rules, ...workerGroup.security_group_rules]
            .map((r) =>
                JSON.stringify([
                    nameOf.get(r.security_group_id),
                    r.direction,
                    r.ethertype,
                    r.protocol,
                    r.port_range_min,
                    r.port_range_max,
                    r.remote_ip_prefix,
                    r.remote_group_id ? nameOf.get(r.remote_group_id) : null,
                ]),
            )
            .sort();
        const logical = (id: string | undefined): string | null =>
            id === undefined ? null : id.includes("-head-") ? "head" : "worker";
        const expected = expectedRules("slurm", [USERS_CIDR])
            .map((r) =>
                JSON.stringify([
                    logical(r.securityGroupId),
                    r.direction,
                    r.ethertype,
                    r.protocol ?? null,
                    r.portRangeMin ?? null,
                    r.portRangeMax ?? null,
                    r.remoteIpPrefix ?? null,
                    logical(r.remoteGroupId),
                ]),
            )
            .sort();
        assert.deepEqual(actual, expected);
    });

    it("booted the head node on its port, with the floating IP and /data attached (Nova, Neutron, Cinder)", async () => {
        const heads = await serversNamed(HEAD_NAME);
        assert.equal(heads.length, 1);
        const server = heads[0]!;
        headServerId = server.id;
        assert.equal(server.status, "ACTIVE");
        assert.deepEqual(server.tags.sort(), ["dc", "dc-head", `dc-cluster-${clusterId}`].sort());
        assert.equal(server.metadata["dc:cluster"], clusterId);
        const ports = await api<{
            ports: Array<{ id: string; name: string; security_groups: string[] }>;
        }>("network", `/v2.0/ports?device_id=${server.id}`);
        assert.deepEqual(
            ports.ports.map((p) => p.name),
            [`${HEAD_NAME}-port`],
        );
        const floating = await api<{
            floatingips: Array<{ floating_ip_address: string; port_id: string | null }>;
        }>("network", "/v2.0/floatingips");
        assert.deepEqual(floating.floatingips, [
            {
                ...floating.floatingips[0]!,
                floating_ip_address: FLOATING_IP,
                port_id: ports.ports[0]!.id,
            },
        ]);
        const volumes = await api<{
            volumes: Array<{
                id: string;
                status: string;
                attachments: Array<{ server_id: string }>;
            }>;
        }>("volumev3", `/volumes/detail?name=${STACK}-data`);
        assert.equal(volumes.volumes.length, 1);
        assert.equal(volumes.volumes[0]!.status, "in-use");
        assert.deepEqual(
            volumes.volumes[0]!.attachments.map((a) => a.server_id),
            [server.id],
        );
        // The head's user-data is what the program renders, and carries no secret.
        assert.match(await userDataOf(server.id), /^#cloud-config\nhostname: dc-head\n/);
    });

    it("created the service's application credential with its access rules (Keystone)", async () => {
        const users = await api<{ users: Array<{ id: string }> }>(
            "identity",
            "/users?name=demo",
            admin,
        );
        const credentials = await api<{
            application_credentials: Array<{
                name: string;
                unrestricted: boolean;
                access_rules: Array<{ service: string; method: string; path: string }>;
            }>;
        }>("identity", `/users/${users.users[0]!.id}/application_credentials`, admin);
        const ours = credentials.application_credentials.filter((c) => c.name.includes(clusterId));
        assert.equal(ours.length, 1);
        assert.equal(ours[0]!.name, `${STACK}-dynamic-cluster-${clusterId}`);
        assert.equal(ours[0]!.unrestricted, false);
        const rule = (r: { service: string; method: string; path: string }): string =>
            `${r.service} ${r.method} ${r.path}`;
        assert.deepEqual(
            ours[0]!.access_rules.map(rule).sort(),
            SERVICE_ACCESS_RULES.map(rule).sort(),
        );
    });

    it("booted workers.min static workers carrying their minion IDs (Nova)", async () => {
        const workers = await serversTagged(`dc-cluster-${clusterId}`).then((all) =>
            all.filter((s) => s.tags.includes("dc-pool-static")),
        );
        assert.deepEqual(
            workers.map((w) => w.name),
            ["compute-st-1"],
        );
        const worker = workers[0]!;
        assert.deepEqual(
            worker.tags.sort(),
            ["dc", `dc-cluster-${clusterId}`, "dc-pool-static"].sort(),
        );
        const minionId = worker.metadata["dc:minion"]!;
        assert.ok(isMinionId(minionId), minionId);
        assert.equal(nodeNameOfMinionId(minionId), "compute-st-1");
        assert.equal(worker.metadata["dc:node"], "compute-st-1");
        const userData = await userDataOf(worker.id);
        const headAddress = expectSuccess(
            await pulumi(["stack", "output", "headClusterAddress"]),
            "output",
        ).stdout.trim();
        const masterPub = head.read("/etc/salt/pki/master/master.pub")!;
        const files = (
            yaml.load(userData) as { write_files: Array<{ path: string; content: string }> }
        ).write_files;
        const fileAt = (file: string): string => files.find((f) => f.path === file)!.content;
        assert.equal(fileAt("/etc/salt/minion_id"), minionId);
        assert.deepEqual(
            yaml.load(fileAt("/etc/salt/minion.d/dynamic-cluster.conf")),
            {
                master: headAddress,
                master_finger: saltPemFinger(masterPub),
                master_type: "str",
                id: minionId,
                acceptance_wait_time: 10,
                acceptance_wait_time_max: 60,
                random_reauth_delay: 10,
                grains: { dynamic_cluster: { role: "worker", node_name: "compute-st-1" } },
            },
            "the minion joins this head's master, pinned by its key",
        );
    });

    it("exports the documented outputs, the password only as a secret", async () => {
        const outputs = JSON.parse(
            expectSuccess(await pulumi(["stack", "output", "--json"]), "outputs").stdout,
        ) as Record<string, unknown>;
        assert.deepEqual(Object.keys(outputs).sort(), [
            "clusterId",
            "dashboardPassword",
            "dashboardUrl",
            "dashboardUser",
            "headAddress",
            "headClusterAddress",
            "scheduler",
            "ssh",
            "workerPolicy",
        ]);
        assert.equal(outputs["headAddress"], FLOATING_IP);
        assert.equal(outputs["ssh"], `ssh rocky@${FLOATING_IP}`);
        assert.equal(outputs["dashboardUrl"], `https://${FLOATING_IP}/dashboard/`);
        assert.equal(outputs["dashboardPassword"], "[secret]");
        const password = expectSuccess(
            await pulumi(["stack", "output", "dashboardPassword", "--show-secrets"]),
            "output",
        ).stdout.trim();
        assert.match(password, /^[A-Za-z0-9]{24}$/);
        secretsSeen.push(password);
    });

    it("reports what the stack holds in OpenStack", async () => {
        const count = async (
            service: string,
            apiPath: string,
            key: string,
            keep = (_: Record<string, unknown>) => true,
        ) =>
            (
                (await api<Record<string, Array<Record<string, unknown>>>>(service, apiPath))[
                    key
                ] ?? []
            ).filter(keep).length;
        const ours = (r: Record<string, unknown>) =>
            String(r["name"] ?? "").startsWith(`${STACK}-`);
        const network = (
            await api<{ networks: Array<{ id: string }> }>(
                "network",
                `/v2.0/networks?name=${STACK}-net`,
            )
        ).networks[0]!.id;
        const groups = await api<{
            security_groups: Array<{ name: string; security_group_rules: unknown[] }>;
        }>("network", "/v2.0/security-groups");
        const rules = groups.security_groups
            .filter((g) => g.name.startsWith(`${STACK}-`))
            .reduce((n, g) => n + g.security_group_rules.length, 0);
        const summary = {
            networks: await count("network", "/v2.0/networks", "networks", ours),
            subnets: await count("network", "/v2.0/subnets", "subnets", ours),
            routers: await count("network", "/v2.0/routers", "routers", ours),
            portsOnClusterNetwork: await count(
                "network",
                `/v2.0/ports?network_id=${network}`,
                "ports",
            ),
            securityGroups: await count(
                "network",
                "/v2.0/security-groups",
                "security_groups",
                ours,
            ),
            securityGroupRules: rules,
            floatingIps: await count("network", "/v2.0/floatingips", "floatingips"),
            servers: (await serversTagged(`dc-cluster-${clusterId}`)).length,
            volumes: await count("volumev3", `/volumes?name=${STACK}-data`, "volumes"),
        };
        console.log(`OpenStack after the first up: ${JSON.stringify(summary)}`);
        assert.deepEqual(
            { ...summary, portsOnClusterNetwork: undefined },
            {
                networks: 1,
                subnets: 1,
                routers: 1,
                portsOnClusterNetwork: undefined,
                securityGroups: 2,
                securityGroupRules: expectedRules("slurm", [USERS_CIDR]).length,
                floatingIps: 1,
                servers: 2, // the head node and one static worker
                volumes: 1,
            },
        );
    });

    it("prints the component tree", async () => {
        const tree = expectSuccess(await pulumi(["stack"]), "pulumi stack").stdout;
        const lines = tree.split("\n");
        const depthOf = (type: string, name: string): number => {
            const line = lines.find((l) => l.includes(type) && l.trimEnd().endsWith(` ${name}`));
            assert.ok(line, `${type} ${name} in the tree:\n${tree}`);
            return line.search(/[a-z]/);
        };
        const stack = depthOf("pulumi:pulumi:Stack", `dynamic-cluster-${STACK}`);
        const cluster = depthOf("dynamic-cluster:index:Cluster", "dc");
        assert.ok(cluster > stack);
        assert.equal(
            depthOf("dynamic-cluster:index:Network", "dc-network"),
            depthOf("dynamic-cluster:index:HeadNode", "dc-head"),
        );
        assert.equal(
            depthOf("pulumi-nodejs:dynamic/dynamic-cluster:WorkerPool", "dc-workers"),
            depthOf("dynamic-cluster:index:HeadNode", "dc-head"),
        );
        assert.ok(
            depthOf("dynamic-cluster:index:HeadProvisioner", "dc-provisioner") >
                depthOf("dynamic-cluster:index:HeadNode", "dc-head"),
        );
        assert.ok(depthOf("dynamic-cluster:index:Network", "dc-network") > cluster);
    });

    it("provisioned the head over SSH: the tree, pillar and master key, each with its final owner and mode, then the state run", () => {
        assert.deepEqual(head.log("cloud-init.log"), ["status --wait --long"]);
        assert.deepEqual(head.log("salt-call.log"), [
            `--local --retcode-passthrough --state-output=changes --id ${HEAD_NAME} state.apply`,
        ]);
        assert.deepEqual(
            head.log("salt-call.checks").filter((line) => !line.startsWith("OK")),
            [],
            "the salt-call stand-in found the delivery complete",
        );
        // Each with the owner and mode the head's states keep (components/headFiles.ts): the
        // master (user salt) reads the pillar, never the head's own secrets.
        for (const [file, ownership] of [
            ["/srv/pillar", "root salt 0750"],
            ["/srv/pillar/dynamic_cluster.sls", "root salt 0640"],
            ["/srv/pillar/dynamic_cluster_head_secrets.sls", "root root 0600"],
            ["/srv/pillar/dynamic_cluster_cluster_secrets.sls", "root salt 0640"],
            ["/etc/salt/pki/master", "salt salt 0700"],
            ["/etc/salt/pki/master/master.pem", "salt salt 0400"],
            ["/etc/salt/pki/master/master.pub", "salt salt 0644"],
        ] as const) {
            assert.equal(head.ownershipOf(file), ownership, file);
        }
        const pillar = head.read("/srv/pillar/dynamic_cluster.sls")!;
        assert.match(pillar, new RegExp(`id: ${clusterId}`));
        assert.match(pillar, /static_count: 1/);
        assert.ok(head.read("/srv/salt/top.sls"), "the Salt tree");
        assert.ok(head.read("/opt/dynamic-cluster/autoscaler/main.js"), "the service bundle");
        const secrets = head.read("/srv/pillar/dynamic_cluster_head_secrets.sls")!;
        for (const match of secrets.matchAll(/(?:secret|password|token): (\S{16,})/g)) {
            secretsSeen.push(match[1]!);
        }
    });

    it("keeps every secret encrypted in the state, and orders provisioning after /data and the pool after provisioning", () => {
        const file = stackStatePath(workspace.stateDir, "dynamic-cluster", STACK);
        const text = readFileSync(file, "utf8");
        const keyBody = privateKey.split("\n").filter((l) => l.length > 40);
        for (const secret of [...secretsSeen, ...keyBody]) {
            assert.ok(
                !text.includes(secret),
                `a secret (${secret.slice(0, 4)}...) is in the state in plain text`,
            );
        }
        assert.ok(secretsSeen.length >= 3, "the test saw the secrets it looks for");
        const resources = readStackResources(file);
        // What the state run printed may echo rendered secrets: encrypted like them.
        const stateApply = stateResource(resources, "dc-provisioner-state-apply");
        for (const output of ["stdout", "stderr"]) {
            const value = stateApply.outputs?.[output] as { ciphertext?: string } | undefined;
            assert.equal(
                typeof value?.ciphertext,
                "string",
                `the state run's ${output} is a secret in the state`,
            );
        }
        const attach = stateResource(resources, "dc-head-data-attach");
        // The host key check is provisioning's first contact with the head; every step follows it.
        const hostKey = stateResource(resources, "dc-provisioner-host-key");
        const wait = stateResource(resources, "dc-provisioner-wait-for-cloud-init");
        assert.ok(hostKey.dependencies?.includes(attach.urn), "provisioning waits for /data");
        assert.ok(wait.dependencies?.includes(hostKey.urn), "every step after the host key check");
        const pool = stateResource(resources, "dc-workers");
        assert.ok(
            pool.dependencies?.includes(stateResource(resources, "dc-provisioner-state-apply").urn),
            "workers boot once the master is configured",
        );
        assert.equal(
            (stateResource(resources, "dc-data") as { retainOnDelete?: boolean }).retainOnDelete,
            true,
        );
    });

    it("raising workers.min boots a second static worker and leaves the head server alone", async () => {
        expectSuccess(await pulumi(["config", "set", "--path", "workers.min", "2"]), "config");
        expectSuccess(await pulumi(["up", "--yes"]), "pulumi up");
        const workers = (await serversTagged(`dc-cluster-${clusterId}`)).filter((s) =>
            s.tags.includes("dc-pool-static"),
        );
        assert.deepEqual(workers.map((w) => w.name).sort(), ["compute-st-1", "compute-st-2"]);
        assert.deepEqual(
            (await serversNamed(HEAD_NAME)).map((s) => s.id),
            [headServerId],
        );
        assert.match(head.read("/srv/pillar/dynamic_cluster.sls")!, /static_count: 2/);
    });

    it("a policy change (workers.max) only re-runs the provisioning step", async () => {
        expectSuccess(await pulumi(["config", "set", "--path", "workers.max", "8"]), "config");
        const plan = expectSuccess(await pulumi(["preview", "--json"]), "preview --json");
        assert.deepEqual(changedResources(plan), [
            "dc-provisioner-file-dynamic-cluster",
            "dc-provisioner-state-apply",
        ]);
        const runsBefore = head.log("salt-call.log").length;
        expectSuccess(await pulumi(["up", "--yes"]), "pulumi up");
        assert.equal(head.log("salt-call.log").length, runsBefore + 1, "one more state run");
        assert.match(head.read("/srv/pillar/dynamic_cluster.sls")!, /max: 8/);
        assert.deepEqual(
            (await serversNamed(HEAD_NAME)).map((s) => s.id),
            [headServerId],
        );
    });

    it("a static worker deleted out of band: refresh notices, up replaces it, then no changes", async () => {
        const [lost] = (await serversNamed("compute-st-2")).filter((s) =>
            s.tags.includes(`dc-cluster-${clusterId}`),
        );
        assert.ok(lost);
        await demo.request("compute", { method: "DELETE", path: `/servers/${lost.id}` });
        await untilTrue(
            "server deleted",
            async () => (await serversNamed("compute-st-2")).length === 0,
        );
        const refresh = expectSuccess(await pulumi(["refresh", "--yes"]), "pulumi refresh");
        assert.match(refresh.stdout, /dc-workers/);
        const servers = (
            stateResource(
                readStackResources(stackStatePath(workspace.stateDir, "dynamic-cluster", STACK)),
                "dc-workers",
            ).outputs?.["servers"] as Array<{ name: string }>
        ).map((s) => s.name);
        assert.deepEqual(servers, ["compute-st-1"], "refresh recorded the loss");
        expectSuccess(await pulumi(["up", "--yes"]), "pulumi up");
        const again = await serversNamed("compute-st-2");
        assert.equal(again.length, 1);
        assert.notEqual(again[0]!.id, lost.id);
        expectSuccess(
            await pulumi(["preview", "--expect-no-changes"]),
            "preview --expect-no-changes",
        );
    });

    it("a bad configuration fails before any resource, with the loader's one message", async () => {
        const before_ = readFileSync(
            stackStatePath(workspace.stateDir, "dynamic-cluster", STACK),
            "utf8",
        );
        // The whole IPv6 Internet, and no IPv4 range the head node could be reached from.
        expectSuccess(await pulumi(["config", "set", "allowedCidr", "::/0"]), "config");
        expectSuccess(await pulumi(["config", "set", "--path", "workers.min", "9"]), "config");
        const up = await pulumi(["up", "--yes"]);
        assert.notEqual(up.code, 0);
        const output = up.stdout + up.stderr;
        assert.match(output, /The configuration of stack "e2e" has 3 problem\(s\):/);
        assert.match(output, /allowedCidr: ::\/0 opens SSH and HTTPS to the whole Internet/);
        assert.match(
            output,
            /allowedCidr: has only IPv6 ranges \(::\/0\), but the head node is reached over IPv4/,
        );
        assert.match(output, /workers\.min: \(9\) is larger than workers\.max \(8\)/);
        assert.ok(noResourceOperation(up), `no resource operation:\n${output}`);
        expectSuccess(await pulumi(["config", "set", "allowedCidr", USERS_CIDR]), "config");
        expectSuccess(await pulumi(["config", "set", "--path", "workers.min", "2"]), "config");
        const after_ = readFileSync(
            stackStatePath(workspace.stateDir, "dynamic-cluster", STACK),
            "utf8",
        );
        assert.equal(
            JSON.stringify(JSON.parse(after_).checkpoint.latest.resources),
            JSON.stringify(JSON.parse(before_).checkpoint.latest.resources),
            "the state is unchanged",
        );
        expectSuccess(
            await pulumi(["preview", "--expect-no-changes"]),
            "preview --expect-no-changes",
        );
    });

    it("lowering workers.min hands the surplus static worker to the head-node service, deleting nothing", async () => {
        const [second] = await serversNamed("compute-st-2");
        assert.ok(second, "compute-st-2 exists before");
        expectSuccess(await pulumi(["config", "set", "--path", "workers.min", "1"]), "config");
        expectSuccess(await pulumi(["up", "--yes"]), "pulumi up");
        const tagged = await serversTagged(`dc-cluster-${clusterId}`);
        assert.deepEqual(
            tagged
                .filter((s) => s.tags.includes("dc-pool-static") && !s.tags.includes("dc-retiring"))
                .map((s) => s.name)
                .sort(),
            ["compute-st-1"],
        );
        // The same server, now the service's to drain and delete once idle (tag dc-retiring;
        // docs/service.md, "Lowering `workers.max` or `workers.min`"); this emulated head runs no
        // service, so the destroy below sweeps it.
        const handed = tagged.filter((s) => s.id === second.id);
        assert.deepEqual(
            handed.map((s) => [
                s.name,
                s.tags.includes("dc-pool-static"),
                s.tags.includes("dc-retiring"),
                s.tags.includes("dc-pool-burst"),
            ]),
            [["compute-st-2", true, true, false]],
        );
        assert.match(head.read("/srv/pillar/dynamic_cluster.sls")!, /static_count: 1/);
        expectSuccess(
            await pulumi(["preview", "--expect-no-changes"]),
            "preview --expect-no-changes",
        );
    });

    it("a second worker pool with its own floor: one more WorkerPool boots its static worker as its flavor, nothing else is replaced", async () => {
        const floor = await serversNamed("compute-st-1");
        for (const [key, value] of [
            ["pools[0].name", "gpu"],
            ["pools[0].min", "1"],
            ["pools[0].max", "3"],
            ["pools[0].flavor", "m1.small"],
            ["pools[0].fallbackFlavors[0]", "m1.tiny"],
            ["pools[0].gres", "gpu:1"],
        ] as const) {
            expectSuccess(await pulumi(["config", "set", "--path", key, value]), `config ${key}`);
        }
        const plan = expectSuccess(await pulumi(["preview", "--json"]), "preview --json");
        assert.deepEqual(changedResources(plan), [
            "dc-provisioner-file-dynamic-cluster",
            "dc-provisioner-state-apply",
            "dc-workers-gpu",
        ]);
        expectSuccess(await pulumi(["up", "--yes"]), "pulumi up");
        const [gpu] = (await serversNamed("gpu-st-1")).filter((s) =>
            s.tags.includes(`dc-cluster-${clusterId}`),
        );
        assert.ok(gpu, "gpu-st-1 was booted");
        assert.deepEqual(
            gpu.tags.sort(),
            ["dc", `dc-cluster-${clusterId}`, "dc-pool-static"].sort(),
        );
        assert.equal(gpu.metadata["dc:node"], "gpu-st-1");
        const shown = (
            await demo.request("compute", {
                method: "GET",
                path: `/servers/${gpu.id}`,
                headers: { "OpenStack-API-Version": "compute 2.47" },
            })
        ).json as { server: { flavor: { original_name: string } } };
        assert.equal(shown.server.flavor.original_name, "m1.small");
        assert.deepEqual(
            (await serversNamed("compute-st-1")).map((s) => s.id),
            floor.map((s) => s.id),
            "the default pool's floor is the same server",
        );
        assert.deepEqual(
            (await serversNamed(HEAD_NAME)).map((s) => s.id),
            [headServerId],
        );
        // The head's pillar: the pool for slurm.conf, and for the service with its flavors.
        const pillar = yaml.load(head.read("/srv/pillar/dynamic_cluster.sls")!) as {
            dynamic_cluster: {
                pools: Array<{
                    name: string;
                    static_count: number;
                    burst_count: number;
                    gres: string;
                }>;
                service: { settings: { extra_pools: Array<{ name: string; flavors: string[] }> } };
            };
        };
        assert.deepEqual(
            pillar.dynamic_cluster.pools.map((p) => [
                p.name,
                p.static_count,
                p.burst_count,
                p.gres,
            ]),
            [
                ["compute", 1, 7, ""],
                ["gpu", 1, 2, "gpu:1"],
            ],
        );
        assert.deepEqual(
            pillar.dynamic_cluster.service.settings.extra_pools.map((p) => [p.name, p.flavors]),
            [["gpu", ["m1.small", "m1.tiny"]]],
        );
        expectSuccess(
            await pulumi(["preview", "--expect-no-changes"]),
            "preview --expect-no-changes",
        );
    });

    it("pulumi destroy removes everything but the /data volume, which the README's command removes", async () => {
        // A burst worker, booted as the head-node service boots one (which cannot run on the
        // emulated head): on the cluster network, tagged for the burst pool.
        const network = (
            await api<{ networks: Array<{ id: string }> }>(
                "network",
                `/v2.0/networks?name=${STACK}-net`,
            )
        ).networks[0]!;
        const nova = demoClient();
        await nova.createServer({
            name: "compute-dy-1",
            flavorId: await nova.flavorId("m1.tiny"),
            imageId: await nova.imageId("tiny"),
            networkIds: [network.id],
            securityGroups: [`${STACK}-worker`],
            userData: Buffer.from("#cloud-config\n").toString("base64"),
            metadata: { "dc:node": "compute-dy-1" },
            tags: workerTags(clusterId, "burst"),
        });
        await untilTrue("the burst worker is ACTIVE", async () =>
            (await serversNamed("compute-dy-1")).some((s) => s.status === "ACTIVE"),
        );
        expectSuccess(await pulumi(["destroy", "--yes"]), "pulumi destroy");
        assert.deepEqual(
            await serversTagged(`dc-cluster-${clusterId}`),
            [],
            "no server tagged, the burst worker included",
        );
        assert.deepEqual(await serversNamed(HEAD_NAME), [], "no head server");
        const named = async (resource: string, key: string): Promise<string[]> => {
            const body = await api<Record<string, Array<{ name: string }>>>(
                "network",
                `/v2.0/${resource}`,
            );
            return body[key]!.map((r) => r.name).filter(
                (n) => n.startsWith(`${STACK}-`) || n.startsWith(HEAD_NAME),
            );
        };
        assert.deepEqual(await named("networks", "networks"), []);
        assert.deepEqual(await named("subnets", "subnets"), []);
        assert.deepEqual(await named("routers", "routers"), []);
        assert.deepEqual(await named("ports", "ports"), []);
        assert.deepEqual(await named("security-groups", "security_groups"), []);
        assert.deepEqual(
            (await api<{ floatingips: unknown[] }>("network", "/v2.0/floatingips")).floatingips,
            [],
        );
        const users = await api<{ users: Array<{ id: string }> }>(
            "identity",
            "/users?name=demo",
            admin,
        );
        const credentials = await api<{ application_credentials: Array<{ name: string }> }>(
            "identity",
            `/users/${users.users[0]!.id}/application_credentials`,
            admin,
        );
        assert.deepEqual(
            credentials.application_credentials.filter((c) => c.name.includes(clusterId)),
            [],
        );
        const volumes = await api<{ volumes: Array<{ id: string; status: string }> }>(
            "volumev3",
            `/volumes/detail?name=${STACK}-data`,
        );
        assert.deepEqual(
            volumes.volumes.map((v) => v.status),
            ["available"],
            "/data's volume is kept, detached",
        );
        // The README's command, as the user runs it (python3-openstackclient).
        execFileSync("openstack", ["volume", "delete", `${STACK}-data`], {
            env: { ...process.env, ...demoEnv() },
            stdio: "pipe",
        });
        await untilTrue(
            "the volume is deleted",
            async () =>
                (await api<{ volumes: unknown[] }>("volumev3", `/volumes?name=${STACK}-data`))
                    .volumes.length === 0,
        );
    });
});
