/**
 * The configuration loader, table-driven: every bad-config case gives its clear error (key path,
 * what is wrong, the command that fixes it), all problems at once; good configs get defaults.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
    ConfigError,
    isOpenSshPublicKey,
    parseClusterConfig,
    type RawConfig,
} from "../../components/config";

const BASE = { keyName: "hpc-key", allowedCidr: "203.0.113.0/24", network: "private" };

function raw(values: Record<string, unknown>, extra: Partial<RawConfig> = {}): RawConfig {
    const strings = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    return {
        values: strings,
        secretKeys: new Set(),
        stack: "dev",
        sshAgentAvailable: true,
        ...extra,
    };
}

function problemsOf(input: RawConfig): Array<[string, string]> {
    try {
        parseClusterConfig(input);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems.map((p) => [p.path, p.message]);
    }
    return [];
}

describe("parseClusterConfig: bad input", () => {
    const cases: Array<{ name: string; input: RawConfig; expect: Array<[string, RegExp]> }> = [
        {
            name: "service Keystone URL that is not an http(s) URL",
            input: raw({ ...BASE, serviceAuthUrl: "keystone.internal:5000" }),
            expect: [
                ["serviceAuthUrl", /is not an http\(s\) URL.*pulumi config set serviceAuthUrl/],
            ],
        },
        {
            name: "unknown catalog interface",
            input: raw({ ...BASE, serviceInterface: "private" }),
            expect: [["serviceInterface", /is not a catalog interface.*serviceInterface public/]],
        },
        {
            name: "missing key name",
            input: raw({ ...BASE, keyName: "" }),
            expect: [["keyName", /is required.*pulumi config set keyName/]],
        },
        {
            name: "missing CIDR",
            input: raw({ keyName: "k", network: "n" }),
            expect: [["allowedCidr", /is required.*pulumi config set allowedCidr/]],
        },
        {
            name: "bad CIDR",
            input: raw({ ...BASE, allowedCidr: "10.0.0.300/8" }),
            expect: [["allowedCidr", /not a CIDR range/]],
        },
        {
            name: "CIDR with host bits",
            input: raw({ ...BASE, allowedCidr: "10.1.2.3/8" }),
            expect: [["allowedCidr", /did you mean 10\.0\.0\.0\/8/]],
        },
        {
            name: "whole Internet",
            input: raw({ ...BASE, allowedCidr: "0.0.0.0/0" }),
            expect: [["allowedCidr", /whole Internet.*allowSshFromAnywhere true/]],
        },
        {
            name: "whole IPv6 Internet",
            input: raw({ ...BASE, allowedCidr: "203.0.113.0/24,::/0" }),
            expect: [["allowedCidr", /whole Internet/]],
        },
        {
            name: "IPv6 ranges only: the head node is reached over IPv4, so pulumi up could never log in",
            input: raw({ ...BASE, allowedCidr: "2001:db8::/48, 2001:db8:1::/48" }),
            expect: [
                [
                    "allowedCidr",
                    /only IPv6 ranges \(2001:db8::\/48, 2001:db8:1::\/48\).*reached over IPv4.*pulumi config set allowedCidr '2001:db8::\/48,2001:db8:1::\/48,203\.0\.113\.0\/24'/,
                ],
            ],
        },
        {
            name: "an empty range in a list",
            input: raw({ ...BASE, allowedCidr: "203.0.113.0/24,,198.51.100.0/24" }),
            expect: [["allowedCidr", /empty range.*separated by commas/]],
        },
        {
            name: "a bad range in a list names it",
            input: raw({ ...BASE, allowedCidr: "203.0.113.0/24,198.51.100.7/24" }),
            expect: [
                [
                    "allowedCidr",
                    /"198\.51\.100\.7\/24" has host bits set; did you mean 198\.51\.100\.0\/24/,
                ],
            ],
        },
        {
            name: "bad boolean",
            input: raw({ ...BASE, allowSshFromAnywhere: "yes" }),
            expect: [["allowSshFromAnywhere", /true or false/]],
        },
        {
            name: "unknown scheduler",
            input: raw({ ...BASE, scheduler: "sge" }),
            expect: [["scheduler", /"sge" is not a supported scheduler/]],
        },
        {
            // Torque's Salt states and the service's adapter are not complete: refused before
            // any resource instead of failing half-way through `pulumi up`.
            name: "torque (not supported yet)",
            input: raw({ ...BASE, scheduler: "torque" }),
            expect: [
                [
                    "scheduler",
                    /^Torque is not supported yet.*Slurm is the supported scheduler: run `pulumi config set scheduler slurm`, or remove the key with `pulumi config rm scheduler`/s,
                ],
            ],
        },
        {
            name: "no network",
            input: raw({ keyName: "k", allowedCidr: "203.0.113.0/24" }),
            expect: [["network", /externalNetwork/]],
        },
        {
            name: "min > max",
            input: raw({ ...BASE, workers: { min: 5, max: 2 } }),
            expect: [["workers.min", /larger than workers.max \(2\)/]],
        },
        {
            name: "negative min",
            input: raw({ ...BASE, workers: { min: -1 } }),
            expect: [["workers.min", /pulumi config set --path workers.min 0/]],
        },
        {
            name: "fractional max",
            input: raw({ ...BASE, workers: { max: 2.5 } }),
            expect: [["workers.max", /must be a whole number/]],
        },
        {
            name: "max as string",
            input: raw({ ...BASE, workers: { max: "10" } }),
            expect: [["workers.max", /must be a number/]],
        },
        {
            name: "typo in a field",
            input: raw({ ...BASE, workers: { maxx: 3 } }),
            expect: [["workers.maxx", /not a known setting.*pulumi config rm --path workers.maxx/]],
        },
        {
            name: "idle timeout too short",
            input: raw({ ...BASE, workers: { idleTimeout: 5 } }),
            expect: [
                [
                    "workers.idleTimeout",
                    /must be at least 60; fix it with `pulumi config set --path workers.idleTimeout 600`/,
                ],
            ],
        },
        {
            name: "unknown top-level key",
            input: raw({ ...BASE, workerz: "3" }),
            expect: [["workerz", /not a known setting/]],
        },
        {
            name: "structured key given as text",
            input: raw({ ...BASE, workers: "max=3" }),
            expect: [["workers", /not structured data/]],
        },
        {
            name: "bad head name",
            input: raw({ ...BASE, headNode: { name: "Head_1" } }),
            expect: [["headNode.name", /host name/]],
        },
        {
            name: "volume size zero",
            input: raw({ ...BASE, data: { size: 0 } }),
            expect: [["data.size", /must be at least 1/]],
        },
        {
            name: "existing volume that is not an ID",
            input: raw({ ...BASE, data: { volumeId: "my-data" } }),
            expect: [["data.volumeId", /Cinder volume ID/]],
        },
        {
            name: "existing volume with a size for a new one",
            input: raw({
                ...BASE,
                data: { volumeId: "4f1d2c3b-5a6e-4b7c-8d9e-0a1b2c3d4e5f", size: 50 },
            }),
            expect: [["data.volumeId", /data.size and data.volumeType do not apply/]],
        },
        {
            name: "reserved user",
            input: raw({ ...BASE, users: [{ name: "root", uid: 2000 }] }),
            expect: [["users[0].name", /"root" is an account the cluster's own services run as/]],
        },
        {
            name: "a user named like a service account of the states (salt, slurm, munge, nginx, graphite)",
            input: raw({
                ...BASE,
                users: ["salt", "slurm", "munge", "nginx", "graphite"].map((name, i) => ({
                    name,
                    uid: 2000 + i,
                })),
            }),
            expect: [0, 1, 2, 3, 4].map((i): [string, RegExp] => [
                `users[${i}].name`,
                /an account the cluster's own services run as: a cluster user of that name would take over its UID, home and keys; choose another name with `pulumi config set --path 'users\[\d\]\.name' fred`/,
            ]),
        },
        {
            name: "a user named like the login user (sshUser), whatever it is",
            input: raw({ ...BASE, sshUser: "labadmin", users: [{ name: "labadmin", uid: 2000 }] }),
            expect: [["users[0].name", /the image's login user \(sshUser\)/]],
        },
        {
            name: "a user named like the default login user",
            input: raw({ ...BASE, users: [{ name: "rocky", uid: 2000 }] }),
            expect: [["users[0].name", /login user \(sshUser\)/]],
        },
        {
            name: "a user named like a system account or a systemd one",
            input: raw({
                ...BASE,
                users: [
                    { name: "sshd", uid: 2000 },
                    { name: "systemd-network", uid: 2001 },
                ],
            }),
            expect: [
                ["users[0].name", /"sshd" is a system account/],
                ["users[1].name", /"systemd-network" is a system account/],
            ],
        },
        {
            name: "uid 1000 (the image's login user's)",
            input: raw({ ...BASE, users: [{ name: "alice", uid: 1000 }] }),
            expect: [["users[0].uid", /must be 1001 or more.*1000 is the image's login user's/]],
        },
        {
            name: "duplicate uid",
            input: raw({
                ...BASE,
                users: [
                    { name: "a", uid: 2000 },
                    { name: "b", uid: 2000 },
                ],
            }),
            expect: [["users[1].uid", /used twice/]],
        },
        {
            name: "low uid",
            input: raw({ ...BASE, users: [{ name: "a", uid: 10 }] }),
            expect: [["users[0].uid", /must be 1001 or more/]],
        },
        {
            name: "bad ssh key",
            input: raw({ ...BASE, users: [{ name: "a", uid: 2000, sshKeys: ["hello"] }] }),
            expect: [["users[0].sshKeys.0", /OpenSSH public key/]],
        },
        {
            // Seen on a real head: Salt's ssh_auth refuses it ("Invalid public ssh key") and the
            // state run fails, so the loader refuses it first.
            name: "ssh key cut short",
            input: raw({
                ...BASE,
                users: [{ name: "a", uid: 2000, sshKeys: ["ssh-ed25519 AAAAC3Nza a@laptop"] }],
            }),
            expect: [["users[0].sshKeys.0", /one whole OpenSSH public key line/]],
        },
        {
            name: "users not a list",
            input: raw({ ...BASE, users: { name: "a" } }),
            expect: [["users", /must be a list/]],
        },
        {
            name: "bad subnet",
            input: raw({
                keyName: "k",
                allowedCidr: "203.0.113.0/24",
                externalNetwork: "ext",
                subnetCidr: "10.0.0.0/30",
            }),
            expect: [["subnetCidr", /\/8 to \/28/]],
        },
        {
            name: "bad DNS",
            input: raw({ ...BASE, dnsNameservers: ["dns.example"] }),
            expect: [["dnsNameservers[0]", /not an IP address/]],
        },
        {
            name: "secret in plain text",
            input: raw({ ...BASE, dashboardPassword: "a-long-enough-password" }),
            expect: [["dashboardPassword", /plain text.*--secret dashboardPassword/]],
        },
        {
            name: "short dashboard password",
            input: raw(
                { ...BASE, dashboardPassword: "short" },
                { secretKeys: new Set(["dashboardPassword"]) },
            ),
            expect: [["dashboardPassword", /at least 12/]],
        },
        {
            name: "no ssh agent nor key",
            input: raw(BASE, { sshAgentAvailable: false }),
            expect: [["sshPrivateKey", /ssh-agent.*--secret sshPrivateKey/]],
        },
        {
            name: "key that is not a key",
            input: raw(
                { ...BASE, sshPrivateKey: "hunter2" },
                { secretKeys: new Set(["sshPrivateKey"]) },
            ),
            expect: [["sshPrivateKey", /not a PEM or OpenSSH private key/]],
        },
        {
            name: "plain-text OpenStack password",
            input: raw(BASE, { openstackPasswordInPlainText: true }),
            expect: [["openstack:password", /--secret openstack:password/]],
        },
        {
            name: "bad cluster name",
            input: raw({ ...BASE, clusterName: "My Cluster" }),
            expect: [["clusterName", /lower-case/]],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const problems = problemsOf(c.input);
            assert.equal(problems.length, c.expect.length, JSON.stringify(problems));
            c.expect.forEach(([path, message], i) => {
                assert.equal(problems[i]![0], path);
                assert.match(problems[i]![1], message);
            });
        });
    }

    it("lists every problem at once in one message", () => {
        assert.throws(
            () =>
                parseClusterConfig(
                    raw({ allowedCidr: "0.0.0.0/0", scheduler: "x", workers: { min: 3, max: 1 } }),
                ),
            (err: Error) => {
                assert.match(
                    err.message,
                    /^The configuration of stack "dev" has 5 problem\(s\):\n/,
                );
                assert.equal(err.message.split("\n  - ").length, 6);
                return true;
            },
        );
    });
});

describe("parseClusterConfig: good input", () => {
    it("fills every default from the minimal config", () => {
        const config = parseClusterConfig(raw(BASE));
        assert.deepEqual(
            { ...config, sshPrivateKey: undefined, dashboardPassword: undefined },
            {
                clusterName: "dev",
                keyName: "hpc-key",
                allowedCidrs: ["203.0.113.0/24"],
                scheduler: "slurm",
                network: { kind: "existing", network: "private", floatingIpPool: undefined },
                headNode: { name: "dc-head", flavor: "m1.large", image: "Rocky-9" },
                workers: {
                    min: 0,
                    max: 8,
                    flavor: "m1.large",
                    image: "Rocky-9",
                    idleTimeout: 600,
                    launchTimeout: 1200,
                    drainTimeout: 3600,
                    namePrefix: "compute",
                    partition: "batch",
                    fallbackFlavors: [],
                    features: [],
                    minIdle: 0,
                },
                extraPools: [],
                data: { size: 100, protect: true },
                users: [{ name: "fred", uid: 10001, sshKeys: [] }],
                dashboard: { username: "admin" },
                sshUser: "rocky",
                sshHostKeyCheck: "console",
                sshPrivateKey: undefined,
                dashboardPassword: undefined,
                serviceCloud: { interface: "public" },
            },
        );
    });

    it("takes the head node's own Keystone URL and catalog interface", () => {
        const config = parseClusterConfig(
            raw({
                ...BASE,
                serviceAuthUrl: "http://10.0.0.2:5000/v3",
                serviceInterface: "internal",
            }),
        );
        assert.deepEqual(config.serviceCloud, {
            authUrl: "http://10.0.0.2:5000/v3",
            interface: "internal",
        });
    });

    it("takes the empty defaults Pulumi.yaml declares for unset secrets and structured keys", () => {
        // What the real CLI passes for keys the stack does not set (Pulumi.yaml defaults).
        const config = parseClusterConfig(
            raw({
                ...BASE,
                sshPrivateKey: "",
                dashboardPassword: "",
                headNode: {},
                workers: {},
                data: {},
                dashboard: {},
            }),
        );
        assert.equal(config.sshPrivateKey, undefined);
        assert.equal(config.dashboardPassword, undefined);
        assert.equal(config.workers.max, 8);
        assert.equal(config.data.size, 100);
        assert.equal(config.headNode.name, "dc-head");
    });

    it("merges partial structured keys over the defaults", () => {
        const config = parseClusterConfig(
            raw({
                ...BASE,
                workers: { max: 20 },
                headNode: { flavor: "big" },
                data: { protect: false },
            }),
        );
        assert.equal(config.workers.max, 20);
        assert.equal(config.workers.min, 0);
        assert.equal(config.workers.flavor, "big", "worker flavor follows the head node's");
        assert.equal(config.data.protect, false);
        assert.equal(config.data.size, 100);
    });

    it("creates a network with the external network as floating IP pool", () => {
        const config = parseClusterConfig(
            raw({ keyName: "k", allowedCidr: "203.0.113.0/24", externalNetwork: "ext" }),
        );
        assert.deepEqual(config.network, {
            kind: "create",
            externalNetwork: "ext",
            subnetCidr: "10.42.0.0/24",
            dnsNameservers: [],
            floatingIpPool: "ext",
        });
    });

    it("accepts the whole Internet only when confirmed, and keeps secrets secret", async () => {
        const config = parseClusterConfig(
            raw(
                {
                    ...BASE,
                    allowedCidr: "0.0.0.0/0",
                    allowSshFromAnywhere: "true",
                    dashboardPassword: "long enough password",
                },
                { secretKeys: new Set(["dashboardPassword"]) },
            ),
        );
        assert.deepEqual(config.allowedCidrs, ["0.0.0.0/0"]);
        assert.equal(await pulumi.isSecret(config.dashboardPassword!), true);
    });

    it("derives the cluster name from the stack name", () => {
        assert.equal(parseClusterConfig(raw(BASE, { stack: "Prod_1" })).clusterName, "prod-1");
    });
});

describe("isOpenSshPublicKey", () => {
    const ED25519 =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvbXJAl0jiGzk9VeUUwljGOdOMkZJuRSO6d37SV53mL";
    for (const [line, ok] of [
        [`${ED25519} fred@laptop`, true],
        [ED25519, true],
        [`${ED25519} two words`, true],
        ["ssh-ed25519 AAAAC3Nza fred@laptop", false], // cut: not whole base64
        [`ssh-rsa ${ED25519.split(" ")[1]!} type says rsa`, false], // blob says ssh-ed25519
        [`${ED25519.slice(0, -4)} fred@laptop`, false], // blob too short for its key
        ["ssh-ed25519", false],
        [`ssh-ed25519  ${ED25519.split(" ")[1]!}`, false], // two spaces
        [`${ED25519}\nssh-ed25519 x`, false], // two lines
    ] as const) {
        it(`${ok ? "accepts" : "refuses"} ${JSON.stringify(line.slice(0, 40))}…`, () => {
            assert.equal(isOpenSshPublicKey(line), ok);
        });
    }
});
