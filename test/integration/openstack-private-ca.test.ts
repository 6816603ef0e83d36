/**
 * A cloud behind a private CA, for real: the local OpenStack (test/env/openstack) behind Debian's
 * nginx as a TLS reverse proxy on a free 127.0.0.1 port, with a throwaway CA and a server
 * certificate for IP 127.0.0.1 made by `openssl` in a temporary directory.
 *
 * Set-up, the simplest that is still honest: one nginx server, `/identity/` proxied to Keystone
 * and `/compute/` to Nova. The catalog Keystone returns lists the plain-HTTP Nova endpoint, so
 * nginx rewrites that one URL in Keystone's answers (`sub_filter`) to its own `/compute/`: the
 * client finds Nova through the catalog as on a real TLS cloud, with no endpoint override in
 * the test, and nginx's access log shows the Nova call went through the proxy. Shown:
 * - without the CA, authentication fails at once with the clear message (URL, `cacert` in
 *   clouds.yaml, OS_CACERT), not after retries;
 * - with OS_CACERT, with `cacert` in clouds.yaml, and with Pulumi's `openstack:cacertFile` in
 *   the dynamic providers' configuration, the client authenticates to Keystone and lists servers
 *   in Nova through TLS.
 * nginx and the temporary directory are removed in `after()`.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import type * as pulumi from "@pulumi/pulumi";
import { configureFromStack, novaClient } from "../../components/providerCloud";
import { ComputeClient, OpenStackTlsError, resolveCredentials, Session } from "../../lib/openstack";
import { demoEnv } from "../helpers/osbox";
import { freePort } from "../helpers/ports";

const NOVA = "http://127.0.0.1:8774/v2.1";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-private-ca-"));
const file = (name: string) => path.join(dir, name);
let port = 0;
let nginx: ChildProcess | undefined;

/** The demo user's settings with Keystone behind the proxy (and no TLS settings of the runner). */
function proxiedEnv(): Record<string, string> {
    const env: Record<string, string> = { ...demoEnv() };
    delete env["OS_CACERT"];
    delete env["OS_INSECURE"];
    delete env["OS_CLOUD"];
    env["OS_AUTH_URL"] = `https://127.0.0.1:${port}/identity/v3`;
    return env;
}

function makeCertificates(): void {
    const openssl = (...args: string[]) =>
        execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=dc test private CA",
    ); // prettier-ignore
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
    ); // prettier-ignore
    fs.writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1\n");
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem",
    ); // prettier-ignore
}

function nginxConf(): string {
    return `
daemon off;
worker_processes 1;
pid ${file("nginx.pid")};
error_log ${file("error.log")} warn;
events { worker_connections 64; }
http {
    access_log ${file("access.log")};
    client_body_temp_path ${file("tmp-body")};
    proxy_temp_path ${file("tmp-proxy")};
    fastcgi_temp_path ${file("tmp-fastcgi")};
    uwsgi_temp_path ${file("tmp-uwsgi")};
    scgi_temp_path ${file("tmp-scgi")};
    server {
        listen 127.0.0.1:${port} ssl;
        ssl_certificate ${file("server.pem")};
        ssl_certificate_key ${file("server.key")};
        location /identity/ {
            proxy_pass http://127.0.0.1:5000/;
            proxy_set_header Accept-Encoding "";
            sub_filter '${NOVA}' 'https://127.0.0.1:${port}/compute/v2.1';
            sub_filter_once off;
            sub_filter_types application/json;
        }
        location /compute/ {
            proxy_pass http://127.0.0.1:8774/;
        }
    }
}
`;
}

async function waitForPort(deadline: number): Promise<void> {
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const socket = net.connect(port, "127.0.0.1");
            socket.once("connect", () => (socket.destroy(), resolve(true)));
            socket.once("error", () => resolve(false));
        });
        if (ok) return;
        if (Date.now() > deadline) {
            const log = fs.existsSync(file("error.log"))
                ? fs.readFileSync(file("error.log"), "utf8")
                : "";
            throw new Error(`nginx did not listen on 127.0.0.1:${port}: ${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** Lines of nginx's access log that asked for Nova through the proxy. */
const novaRequests = (): string[] =>
    fs
        .readFileSync(file("access.log"), "utf8")
        .split("\n")
        .filter((line) => line.includes(" /compute/v2.1/servers"));

before(async () => {
    makeCertificates();
    port = await freePort();
    fs.writeFileSync(file("nginx.conf"), nginxConf());
    execFileSync("nginx", ["-t", "-p", dir, "-c", file("nginx.conf")], { stdio: "pipe" });
    nginx = spawn("nginx", ["-p", dir, "-c", file("nginx.conf")], { stdio: "ignore" });
    await waitForPort(Date.now() + 10_000);
});

after(async () => {
    if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx!.once("exit", resolve));
        nginx.kill("SIGTERM");
        await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("the OpenStack client and a cloud behind a private CA", () => {
    it("without the CA: fails at once, naming the URL and the settings that fix it", async () => {
        const session = new Session(resolveCredentials({}, proxiedEnv(), []));
        const started = Date.now();
        await assert.rejects(session.getToken(), (err: Error) => {
            assert.ok(err instanceof OpenStackTlsError, String(err));
            assert.equal(
                err.message,
                `POST https://127.0.0.1:${port}/identity/v3/auth/tokens failed: the server's ` +
                    "TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to " +
                    "verify the first certificate). To trust a private CA, set `cacert` of the " +
                    "cloud in clouds.yaml, or OS_CACERT (or `pulumi config set " +
                    "openstack:cacertFile`), to its PEM bundle.",
            );
            return true;
        });
        assert.ok(Date.now() - started < 5000, "not retried with backoff");
    });

    async function listThroughTls(client: ComputeClient): Promise<void> {
        const before_ = novaRequests().length;
        assert.equal(
            await client.session.endpoint("compute"),
            `https://127.0.0.1:${port}/compute/v2.1`,
            "the catalog's Nova is the proxy's",
        );
        const servers = await client.listServersByTags([`dc-private-ca-none-${process.pid}`]);
        assert.deepEqual(servers, []);
        // nginx logs a request just after answering it.
        const deadline = Date.now() + 5000;
        while (novaRequests().length <= before_ && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.ok(novaRequests().length > before_, "the listing went through nginx");
    }

    it("with OS_CACERT: authenticates and lists servers through TLS", async () => {
        const credentials = resolveCredentials(
            {},
            { ...proxiedEnv(), OS_CACERT: file("ca.pem") },
            [],
        );
        assert.equal(credentials.tls?.caSource, `OS_CACERT (${file("ca.pem")})`);
        await listThroughTls(new ComputeClient(new Session(credentials), 500));
    });

    it("with cacert in clouds.yaml: authenticates and lists servers through TLS", async () => {
        const env = proxiedEnv();
        const clouds = file("clouds.yaml");
        fs.writeFileSync(
            clouds,
            yaml.dump({
                clouds: {
                    tls: {
                        auth: {
                            auth_url: env["OS_AUTH_URL"],
                            username: env["OS_USERNAME"],
                            password: env["OS_PASSWORD"],
                            project_name: env["OS_PROJECT_NAME"],
                            user_domain_name: env["OS_USER_DOMAIN_NAME"],
                            project_domain_name: env["OS_PROJECT_DOMAIN_NAME"],
                        },
                        region_name: env["OS_REGION_NAME"],
                        interface: "public",
                        cacert: file("ca.pem"),
                    },
                },
            }),
        );
        const credentials = resolveCredentials({}, { OS_CLOUD: "tls" }, [clouds]);
        assert.equal(
            credentials.tls?.caSource,
            `\`cacert\` of cloud "tls" in ${clouds} (${file("ca.pem")})`,
        );
        await listThroughTls(new ComputeClient(new Session(credentials), 500));
    });

    it("with openstack:cacertFile in the dynamic providers' config: lists servers through TLS", async () => {
        const env = proxiedEnv();
        const config: Record<string, string | undefined> = {
            "openstack:authUrl": env["OS_AUTH_URL"],
            "openstack:userName": env["OS_USERNAME"],
            "openstack:password": env["OS_PASSWORD"],
            "openstack:tenantName": env["OS_PROJECT_NAME"],
            "openstack:userDomainName": env["OS_USER_DOMAIN_NAME"],
            "openstack:projectDomainName": env["OS_PROJECT_DOMAIN_NAME"],
            "openstack:region": env["OS_REGION_NAME"],
            "openstack:cacertFile": file("ca.pem"),
        };
        await configureFromStack({
            config: { get: (key: string) => config[key] },
        } as unknown as pulumi.dynamic.ConfigureRequest);
        await listThroughTls(novaClient(500));
    });
});
