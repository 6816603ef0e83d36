/**
 * Debian's nginx running the site the head highstate generates
 * (`/etc/nginx/conf.d/dynamic-cluster.conf`), adapted only for what is host-specific: the
 * listening address and port, the TLS files (a throw-away self-signed certificate) and the
 * upstream ports of the service and graphite-web. Every location and header line is the
 * generated text, which {@link NginxProxy.start} checks before it starts nginx.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { HEAD_LOCAL_PORTS } from "../../components/ports";
import { freePort } from "./ports";
import { waitFor } from "./waitFor";

/** Where the head highstate writes the site. */
export const NGINX_SITE = "/etc/nginx/conf.d/dynamic-cluster.conf";

/** A throw-away self-signed certificate and key, `tls.crt` and `tls.key` in `dir`. */
export function selfSignedCertificate(dir: string): void {
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            path.join(dir, "tls.key"),
            "-out",
            path.join(dir, "tls.crt"),
            "-subj",
            "/CN=dc-head",
            "-days",
            "2",
        ],
        { stdio: "ignore" },
    );
}

/** What the proxy is put in front of. */
export interface ProxyUpstreams {
    /** The service's public API port on 127.0.0.1. */
    servicePort: number;
    /** graphite-web's port on 127.0.0.1. */
    graphitePort: number;
}

/** A running nginx with the generated site. */
export class NginxProxy {
    private constructor(
        readonly dir: string,
        /** The HTTPS port on 127.0.0.1. */
        readonly port: number,
        private readonly process: ChildProcess,
    ) {}

    /** The site's base URL. */
    get url(): string {
        return `https://127.0.0.1:${String(this.port)}`;
    }

    /**
     * Writes the generated site with its host-specific values swapped into `dir` and starts nginx.
     *
     * @param files the head highstate's rendered files by path.
     */
    static async start(
        dir: string,
        files: Record<string, { content: string }>,
        upstreams: ProxyUpstreams,
    ): Promise<NginxProxy> {
        const generated = files[NGINX_SITE]?.content;
        if (!generated) throw new Error(`the head highstate renders no ${NGINX_SITE}`);
        fs.mkdirSync(dir, { recursive: true });
        selfSignedCertificate(dir);
        const port = await freePort();
        let site = generated;
        const swap = (from: string | RegExp, to: string) => {
            const next = site.replaceAll(from, to);
            assert.notEqual(next, site, `${String(from)} is in the generated config`);
            site = next;
        };
        swap("/etc/pki/dynamic-cluster", dir);
        swap(/^ {4}listen 443 ssl;$/gm, `    listen 127.0.0.1:${String(port)} ssl;`);
        swap(/^ {4}listen \[::\]:443 ssl;\n/gm, "");
        swap(
            `http://127.0.0.1:${String(HEAD_LOCAL_PORTS.serviceHttp)}`,
            `http://127.0.0.1:${String(upstreams.servicePort)}`,
        );
        swap(
            `http://127.0.0.1:${String(HEAD_LOCAL_PORTS.graphiteWeb)}`,
            `http://127.0.0.1:${String(upstreams.graphitePort)}`,
        );
        // Everything else, every location and header line included, is the generated text.
        const hostFree = (text: string) =>
            text
                .split("\n")
                .filter((l) => !/listen|127\.0\.0\.1:|ssl_certificate/.test(l))
                .join("\n");
        assert.equal(hostFree(site), hostFree(generated));
        fs.writeFileSync(path.join(dir, "site.conf"), site);
        const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .map((t) => `    ${t}_temp_path ${dir}/${t}_temp;\n`)
            .join("");
        fs.writeFileSync(
            path.join(dir, "nginx.conf"),
            `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\n` +
                `http {\n    access_log off;\n${temp}    include ${dir}/site.conf;\n}\n`,
        );
        const child = spawn(
            "nginx",
            ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"],
            { stdio: ["ignore", "ignore", "pipe"] },
        );
        let stderr = "";
        child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const proxy = new NginxProxy(dir, port, child);
        await waitFor(
            "nginx to answer with the generated config",
            async () => {
                if (child.exitCode !== null) {
                    throw Object.assign(new Error(`nginx exited: ${stderr}`), { fatal: true });
                }
                return (await proxy.statusOf("/")) === 302 ? true : undefined;
            },
            { timeoutMs: 20_000 },
        );
        return proxy;
    }

    /** The status of a GET of `urlPath` (no credentials). */
    statusOf(urlPath: string): Promise<number> {
        return new Promise((resolve, reject) => {
            const req = https.get(
                { host: "127.0.0.1", port: this.port, path: urlPath, rejectUnauthorized: false },
                (res) => {
                    res.resume();
                    resolve(res.statusCode!);
                },
            );
            req.on("error", reject);
        });
    }

    /** Stops nginx and waits for it. */
    async stop(): Promise<void> {
        if (this.process.exitCode !== null) return;
        this.process.kill("SIGTERM");
        await once(this.process, "exit");
    }
}
