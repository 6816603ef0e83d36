/**
 * Clouds with a private CA (review item 18): where the CA bundle and `verify: false` come from
 * (clouds.yaml's `cacert` / `verify`, OS_CACERT / OS_INSECURE, Pulumi's `openstack:cacertFile` /
 * `openstack:insecure`; the later ones win), the exact messages for a bad
 * bundle, the client's TLS errors against a real HTTPS server on 127.0.0.1 (certificates made
 * with `openssl` in a temporary directory), and the CA's way to the head node: the pillar, the
 * Salt state that writes `/etc/dynamic-cluster/openstack-ca.pem`, the service's settings and
 * the service's client.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import pino from "pino";
import { serviceTls } from "../../autoscaler/main";
import { parseSettings } from "../../autoscaler/settings";
import { buildPillar } from "../../components/pillar";
import {
    type CloudTls,
    httpRequest,
    OpenStackConfigError,
    OpenStackTlsError,
    resolveCredentials,
    resolveTls,
    type RetryPolicy,
} from "../../lib/openstack";
import { REMOTE_COMMAND } from "../helpers/expected";
import type { Registration } from "../helpers/program";
import { configFrom, PILLAR_RESOURCES, renderHighstate } from "../helpers/salt";

const ROOT = path.resolve(__dirname, "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-cacert-"));
const file = (name: string) => path.join(dir, name);

/** A CA and a server certificate it signed for 127.0.0.1 (and another, unrelated CA). */
function makeCertificates(): void {
    const openssl = (...args: string[]) =>
        execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    for (const ca of ["ca", "other-ca"]) {
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", `${ca}.key`, "-out", `${ca}.pem`, "-days", "2", "-subj", `/CN=dc test ${ca}`,
        ); // prettier-ignore
    }
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
    ); // prettier-ignore
    fs.writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1\n");
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem",
    ); // prettier-ignore
    fs.writeFileSync(file("not-pem.txt"), "this is not a certificate\n");
    fs.writeFileSync(
        file("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
}
makeCertificates();
const CA_PEM = fs.readFileSync(file("ca.pem"), "utf8");
const OTHER_CA_PEM = fs.readFileSync(file("other-ca.pem"), "utf8");

after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A clouds.yaml with cloud "c" whose top-level keys are `extra`; returns its path. */
function cloudsYaml(name: string, extra: Record<string, unknown>): string {
    const p = file(`${name}.yaml`);
    const entry = { auth: { auth_url: "https://keystone.example.org:5000/v3" }, ...extra };
    fs.writeFileSync(p, yaml.dump({ clouds: { c: entry } }));
    return p;
}

interface Case {
    name: string;
    explicit?: Record<string, string>;
    env?: Record<string, string>;
    /** Top-level keys of cloud "c" in a clouds.yaml (OS_CLOUD=c is set when given). */
    cloud?: Record<string, unknown>;
    expect: CloudTls | string;
}

// `${Y}` in a case stands for the case's clouds.yaml path.
const Y = "<clouds.yaml>";
const CASES: Case[] = [
    { name: "nothing set: the system's store, checks on", expect: { insecure: false } },
    {
        name: "clouds.yaml cacert",
        cloud: { cacert: file("ca.pem") },
        expect: {
            insecure: false,
            caPem: CA_PEM,
            caSource: `\`cacert\` of cloud "c" in ${Y} (${file("ca.pem")})`,
        },
    },
    {
        name: "clouds.yaml verify: false",
        cloud: { verify: false },
        expect: { insecure: true, insecureSource: `\`verify\` of cloud "c" in ${Y}` },
    },
    {
        name: "clouds.yaml verify: true",
        cloud: { verify: true, cacert: file("ca.pem") },
        expect: {
            insecure: false,
            caPem: CA_PEM,
            caSource: `\`cacert\` of cloud "c" in ${Y} (${file("ca.pem")})`,
        },
    },
    {
        name: "clouds.yaml insecure: true (the older key)",
        cloud: { insecure: true },
        expect: { insecure: true, insecureSource: `\`insecure\` of cloud "c" in ${Y}` },
    },
    {
        name: "OS_CACERT",
        env: { OS_CACERT: file("ca.pem") },
        expect: { insecure: false, caPem: CA_PEM, caSource: `OS_CACERT (${file("ca.pem")})` },
    },
    {
        name: "OS_CACERT wins over clouds.yaml cacert",
        env: { OS_CACERT: file("ca.pem") },
        cloud: { cacert: file("other-ca.pem") },
        expect: { insecure: false, caPem: CA_PEM, caSource: `OS_CACERT (${file("ca.pem")})` },
    },
    {
        name: "OS_INSECURE=1",
        env: { OS_INSECURE: "1" },
        expect: { insecure: true, insecureSource: "OS_INSECURE" },
    },
    {
        name: "OS_INSECURE=false wins over clouds.yaml verify: false",
        env: { OS_INSECURE: "false" },
        cloud: { verify: false },
        expect: { insecure: false },
    },
    {
        name: "explicit openstack:cacertFile wins over OS_CACERT",
        explicit: { CACERT: file("other-ca.pem") },
        env: { OS_CACERT: file("ca.pem") },
        expect: {
            insecure: false,
            caPem: OTHER_CA_PEM,
            caSource: `openstack:cacertFile (${file("other-ca.pem")})`,
        },
    },
    {
        name: "explicit openstack:cacertFile holding the PEM itself (as the provider accepts)",
        explicit: { CACERT: CA_PEM },
        expect: { insecure: false, caPem: CA_PEM, caSource: "openstack:cacertFile" },
    },
    {
        name: "explicit openstack:insecure",
        explicit: { INSECURE: "true" },
        expect: { insecure: true, insecureSource: "openstack:insecure" },
    },
    {
        name: "missing file (OS_CACERT)",
        env: { OS_CACERT: file("missing.pem") },
        expect:
            `The CA bundle ${file("missing.pem")} (from OS_CACERT) does not exist: set ` +
            "OS_CACERT to the PEM file of the cloud's CA.",
    },
    {
        name: "missing file (clouds.yaml cacert)",
        cloud: { cacert: file("missing.pem") },
        expect:
            `The CA bundle ${file("missing.pem")} (from \`cacert\` of cloud "c" in ${Y}) does ` +
            `not exist: set \`cacert\` of cloud "c" in ${Y} to the PEM file of the cloud's CA.`,
    },
    {
        name: "missing file (openstack:cacertFile)",
        explicit: { CACERT: file("missing.pem") },
        expect:
            `The CA bundle ${file("missing.pem")} (from openstack:cacertFile) does not exist: ` +
            "set openstack:cacertFile to the PEM file of the cloud's CA.",
    },
    {
        name: "unreadable (a directory)",
        env: { OS_CACERT: dir },
        expect: `The CA bundle ${dir} (from OS_CACERT) cannot be read (EISDIR).`,
    },
    {
        name: "non-PEM file",
        env: { OS_CACERT: file("not-pem.txt") },
        expect:
            `The CA bundle ${file("not-pem.txt")} (from OS_CACERT) holds no PEM certificate ` +
            '(no "-----BEGIN CERTIFICATE-----" block): set OS_CACERT to the CA\'s certificate ' +
            "in PEM format (a DER file converts with `openssl x509 -inform der -in ca.der " +
            "-out ca.pem`).",
    },
    {
        name: "a PEM block that is no certificate",
        cloud: { cacert: file("broken.pem") },
        expect: `The CA bundle ${file("broken.pem")} (from \`cacert\` of cloud "c" in ${Y}): certificate 1 of 1 does not parse`,
    },
    {
        name: "OS_INSECURE that is no boolean",
        env: { OS_INSECURE: "maybe" },
        expect: 'OS_INSECURE must be true or false, not "maybe".',
    },
    {
        name: "clouds.yaml verify that is a path",
        cloud: { verify: "/etc/ssl/ca.pem" },
        expect: `\`verify\` of cloud "c" in ${Y} must be true or false, not "/etc/ssl/ca.pem" (a CA bundle goes in \`cacert\`).`,
    },
];

describe("TLS trust resolution", () => {
    CASES.forEach((c, i) => {
        it(c.name, () => {
            const yamlPath = c.cloud ? cloudsYaml(`clouds-${i}`, c.cloud) : file("none.yaml");
            const env = { ...(c.cloud ? { OS_CLOUD: "c" } : {}), ...c.env };
            const fill = (text: string) => text.split(Y).join(yamlPath);
            const run = () => resolveTls(c.explicit ?? {}, env, [yamlPath], "/home/nobody");
            if (typeof c.expect === "string") {
                const expected = fill(c.expect);
                assert.throws(run, (err: Error) => {
                    assert.ok(err instanceof OpenStackConfigError, String(err));
                    if (c.name.startsWith("a PEM block"))
                        assert.ok(err.message.startsWith(expected), err.message);
                    else assert.equal(err.message, expected);
                    return true;
                });
            } else {
                const expected = JSON.parse(fill(JSON.stringify(c.expect))) as CloudTls;
                assert.deepEqual(run(), expected);
            }
        });
    });

    it("expands ~/ in a path to the home directory", () => {
        const tls = resolveTls({}, { OS_CACERT: "~/ca.pem" }, [], dir);
        assert.equal(tls.caPem, CA_PEM);
        assert.equal(tls.caSource, `OS_CACERT (${file("ca.pem")})`);
    });

    it("keeps only the certificates of a bundle with other text in it", () => {
        fs.writeFileSync(file("annotated.pem"), `Bag Attributes: x\nsubject=/CN=a\n${CA_PEM}`);
        assert.equal(resolveTls({}, { OS_CACERT: file("annotated.pem") }, []).caPem, CA_PEM);
    });

    it("the resolved credentials carry the CA's PEM text and the insecure flag", () => {
        const env = {
            OS_AUTH_URL: "https://keystone.example.org:5000",
            OS_USERNAME: "u",
            OS_PASSWORD: "p",
            OS_PROJECT_NAME: "demo",
            OS_CACERT: file("ca.pem"),
        };
        const credentials = resolveCredentials({}, env, []);
        assert.equal(credentials.tls?.caPem, CA_PEM);
        assert.equal(credentials.tls?.insecure, false);
        const viaYaml = resolveCredentials(
            {},
            { OS_CLOUD: "c", OS_USERNAME: "u", OS_PASSWORD: "p", OS_PROJECT_NAME: "demo" },
            [cloudsYaml("creds", { verify: false, cacert: file("ca.pem") })],
        );
        assert.equal(viaYaml.tls?.caPem, CA_PEM);
        assert.equal(viaYaml.tls?.insecure, true);
    });
});

describe("the client against an HTTPS server signed by a private CA", () => {
    let server: Server;
    let port: number;
    const POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 5000 };
    const waits: number[] = [];
    const wait = async (ms: number) => void waits.push(ms);

    before(async () => {
        server = createServer(
            { key: fs.readFileSync(file("server.key")), cert: fs.readFileSync(file("server.pem")) },
            (req, res) => {
                res.setHeader("Content-Type", "application/json");
                res.end(JSON.stringify({ path: req.url }));
            },
        );
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as AddressInfo).port;
    });
    after(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    });

    const get = (host: string, tls?: CloudTls) =>
        httpRequest({ method: "GET", url: `https://${host}:${port}/v3`, tls }, POLICY, wait);

    it("without the CA: a clear error naming the URL and the settings, not retried", async () => {
        waits.length = 0;
        await assert.rejects(get("127.0.0.1"), (err: Error) => {
            assert.ok(err instanceof OpenStackTlsError, String(err));
            assert.equal(
                err.message,
                `GET https://127.0.0.1:${port}/v3 failed: the server's TLS certificate is not ` +
                    "trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first " +
                    "certificate). To trust a private CA, set `cacert` of the cloud in " +
                    "clouds.yaml, or OS_CACERT (or `pulumi config set openstack:cacertFile`), " +
                    "to its PEM bundle.",
            );
            return true;
        });
        assert.deepEqual(waits, [], "a certificate error is not retried");
    });

    it("with the CA: the request succeeds", async () => {
        const tls = resolveTls({}, { OS_CACERT: file("ca.pem") }, []);
        const response = await get("127.0.0.1", tls);
        assert.deepEqual(response.json, { path: "/v3" });
    });

    it("with another CA: says the bundle from its setting did not sign the certificate", async () => {
        const tls = resolveTls({}, { OS_CACERT: file("other-ca.pem") }, []);
        await assert.rejects(get("127.0.0.1", tls), (err: Error) => {
            assert.ok(err instanceof OpenStackTlsError);
            assert.match(
                err.message,
                new RegExp(
                    `^GET https://127\\.0\\.0\\.1:${port}/v3 failed: the server's TLS certificate ` +
                        `is not signed by the CA bundle from OS_CACERT \\(${file("other-ca.pem").replace(/[.]/g, "\\.")}\\) ` +
                        "\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                ),
            );
            return true;
        });
    });

    it("a certificate for another host: says so, names the URL and the settings", async () => {
        const tls = resolveTls({}, { OS_CACERT: file("ca.pem") }, []);
        await assert.rejects(get("localhost", tls), (err: Error) => {
            assert.ok(err instanceof OpenStackTlsError);
            assert.equal(err.code, "ERR_TLS_CERT_ALTNAME_INVALID");
            assert.match(
                err.message,
                new RegExp(
                    `^GET https://localhost:${port}/v3 failed: the server's TLS certificate is ` +
                        "not for localhost \\(ERR_TLS_CERT_ALTNAME_INVALID: .*\\)\\. Use the host " +
                        "name the certificate names .* set `cacert` of the cloud in clouds.yaml, " +
                        "or OS_CACERT",
                ),
            );
            return true;
        });
    });

    it("insecure: the request succeeds without the CA", async () => {
        const response = await get("127.0.0.1", { insecure: true });
        assert.deepEqual(response.json, { path: "/v3" });
    });
});

describe("the CA on the head node", () => {
    const config = configFrom({
        keyName: "k",
        allowedCidr: "203.0.113.0/24",
        network: "private",
        workers: { min: 1, max: 5 },
    });
    const CA_FILE = "/etc/dynamic-cluster/openstack-ca.pem";
    const SETTINGS = "dynamic-cluster-head-service-file-serialize-settings";
    const CA_STATE = "dynamic-cluster-head-service-file-managed-openstack-ca";

    it("the pillar carries the PEM and the insecure flag (none by default)", () => {
        const dc = (p: Record<string, unknown>) =>
            (p["dynamic_cluster"] as { openstack: Record<string, unknown> }).openstack;
        assert.deepEqual(dc(buildPillar(config, PILLAR_RESOURCES)), {
            auth_url: PILLAR_RESOURCES.authUrl,
            region: PILLAR_RESOURCES.region,
            interface: "public",
            ca_pem: "",
            insecure: false,
        });
        const withCa = { ...PILLAR_RESOURCES, openstackCaPem: CA_PEM, openstackInsecure: true };
        assert.equal(dc(buildPillar(config, withCa))["ca_pem"], CA_PEM);
        assert.equal(dc(buildPillar(config, withCa))["insecure"], true);
    });

    it("Salt writes the CA root-owned 0644, restarts the service on it, and points the settings at it", () => {
        const head = renderHighstate(config, "head", {
            ...PILLAR_RESOURCES,
            openstackCaPem: CA_PEM,
        });
        assert.deepEqual(head.errors, []);
        const state = head.states[CA_STATE]!;
        assert.equal(state.module, "file");
        assert.equal(state.function, "managed");
        assert.equal(state.args["name"], CA_FILE);
        assert.equal(state.args["user"], "root");
        assert.equal(state.args["group"], "root");
        assert.equal(state.args["mode"], "0644");
        assert.deepEqual(state.args["require"], [
            { file: "dynamic-cluster-head-config-dir-file-directory" },
        ]);
        assert.equal(head.files[CA_FILE]?.content, CA_PEM);
        const watch = head.states["dynamic-cluster-head-service-service-running"]!.args[
            "watch"
        ] as unknown[];
        assert.ok(watch.some((w) => JSON.stringify(w) === JSON.stringify({ file: CA_STATE })));
        const settings = parseSettings(structuredClone(head.states[SETTINGS]!.args["dataset"]));
        assert.equal(settings.layout.openstack_cacert_file, CA_FILE);
        assert.equal(settings.openstack.insecure, false);
    });

    it("without a CA: no file, and the settings say the system's store", () => {
        const head = renderHighstate(config, "head");
        assert.equal(head.states[CA_STATE], undefined);
        const settings = parseSettings(structuredClone(head.states[SETTINGS]!.args["dataset"]));
        assert.equal(settings.layout.openstack_cacert_file, "");
        assert.equal(settings.openstack.insecure, false);
    });

    it("the settings schema stays strict about the new fields", () => {
        const raw = structuredClone(
            renderHighstate(config, "head").states[SETTINGS]!.args["dataset"],
        ) as { openstack: Record<string, unknown>; layout: Record<string, unknown> };
        raw.layout["openstack_cacert_file"] = "relative/ca.pem";
        raw.openstack["insecure"] = "yes";
        assert.throws(
            () => parseSettings(raw, "service.json"),
            (err: Error) =>
                /layout\.openstack_cacert_file: must be an absolute path/.test(err.message) &&
                /openstack\.insecure: /.test(err.message),
        );
    });

    it("the service's client reads the file and fails at start, naming it, when it is bad", () => {
        const head = renderHighstate(config, "head", {
            ...PILLAR_RESOURCES,
            openstackCaPem: CA_PEM,
        });
        const settings = parseSettings(structuredClone(head.states[SETTINGS]!.args["dataset"]));
        const logger = pino({ level: "silent" });
        settings.layout.openstack_cacert_file = file("ca.pem");
        assert.equal(serviceTls(settings, logger).caPem, CA_PEM);
        settings.layout.openstack_cacert_file = file("not-pem.txt");
        assert.throws(
            () => serviceTls(settings, logger),
            new RegExp(
                `The CA bundle ${file("not-pem.txt").replace(/[.]/g, "\\.")} \\(from ` +
                    "layout\\.openstack_cacert_file of the service's settings\\) holds no PEM " +
                    "certificate",
            ),
        );
    });
});

describe("program: the CA from the workstation reaches the pillar", () => {
    const base = { keyName: "k", allowedCidr: "203.0.113.0/24", externalNetwork: "public" };
    const dump = (config: Record<string, unknown>) =>
        execFileSync(process.execPath, ["--import", "tsx", "test/helpers/dumpProgram.ts"], {
            cwd: ROOT,
            env: {
                ...process.env,
                OS_CACERT: "",
                OS_CLOUD: "",
                OS_INSECURE: "",
                DC_TEST_CONFIG: JSON.stringify(config),
            },
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });

    it("openstack:cacertFile: its PEM is in dynamic_cluster.sls", () => {
        const list = JSON.parse(
            dump({ ...base, "openstack:cacertFile": file("ca.pem") }),
        ) as Registration[];
        const pillarFile = list.find(
            (r) => r.type === REMOTE_COMMAND && r.name === "dc-provisioner-file-dynamic-cluster",
        );
        const pillar = yaml.load(pillarFile!.inputs["stdin"] as string) as {
            dynamic_cluster: { openstack: { ca_pem: string; insecure: boolean } };
        };
        assert.equal(pillar.dynamic_cluster.openstack.ca_pem, CA_PEM);
        assert.equal(pillar.dynamic_cluster.openstack.insecure, false);
    });

    it("a missing openstack:cacertFile stops the program with the file and the setting", () => {
        assert.throws(
            () => dump({ ...base, "openstack:cacertFile": file("missing.pem") }),
            (err: { stderr: string }) =>
                err.stderr.includes(
                    `The CA bundle ${file("missing.pem")} (from openstack:cacertFile) does not exist`,
                ),
        );
    });
});
