/**
 * The service's application credential against the real local Keystone, Nova and Glance (whose
 * keystonemiddleware enforces access rules): every call the service's client makes passes, with
 * the compute endpoint in both catalog shapes (`/v2.1` and `/v2.1/<project ID>`), and calls
 * outside the rules (limits, keypairs, images by ID, networks, sub-resources of a server) are
 * refused.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { findEndpoint, type CatalogService } from "../../lib/openstack";
import {
    type AppCredential,
    createAppCredential,
    deleteAppCredential,
    demoEnv,
} from "../helpers/osbox";

interface Scoped {
    token: string;
    projectId: string;
    catalog: CatalogService[];
}

/** A token of the application credential, as the service gets one. */
async function appCredentialToken(cred: AppCredential): Promise<Scoped> {
    const authUrl = demoEnv()["OS_AUTH_URL"]!.replace(/\/+$/, "");
    const response = await fetch(`${authUrl}/auth/tokens`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
            auth: {
                identity: {
                    methods: ["application_credential"],
                    application_credential: { id: cred.id, secret: cred.secret },
                },
            },
        }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const body = (await response.json()) as {
        token: { project: { id: string }; catalog: CatalogService[] };
    };
    return {
        token: response.headers.get("x-subject-token")!,
        projectId: body.token.project.id,
        catalog: body.token.catalog,
    };
}

const MISSING_ID = "00000000-0000-4000-8000-000000000000";

describe("the service's application credential: Keystone access rules enforced by Nova and Glance", () => {
    let cred: AppCredential;
    let scoped: Scoped;
    let call: (service: string, method: string, path: string, body?: unknown) => Promise<number>;

    before(async () => {
        cred = await createAppCredential(`dc-access-rules-${process.pid}`);
        scoped = await appCredentialToken(cred);
        call = async (service, method, path, body) => {
            const base = findEndpoint(scoped.catalog, service, "public");
            // The catalog's compute URL may already carry the version: requests name it.
            const root = new URL(base).origin;
            const response = await fetch(`${root}${path}`, {
                method,
                headers: {
                    "X-Auth-Token": scoped.token,
                    "Content-Type": "application/json",
                    "OpenStack-API-Version": "compute 2.52",
                },
                body: body === undefined ? undefined : JSON.stringify(body),
            });
            await response.arrayBuffer();
            return response.status;
        };
    });
    after(async () => {
        if (cred) await deleteAppCredential(cred);
    });

    it("passes every call the service's client makes, with and without the project ID in the compute path", async () => {
        const results: Record<string, number> = {};
        for (const prefix of ["/v2.1", `/v2.1/${scoped.projectId}`]) {
            const calls: Array<[string, string, string, unknown?]> = [
                ["compute", "GET", `${prefix}/servers/detail?tags=dc-access-rules-test`],
                ["compute", "GET", `${prefix}/servers/${MISSING_ID}`],
                ["compute", "DELETE", `${prefix}/servers/${MISSING_ID}`],
                // An invalid body: Nova's validation (400) comes after the access check.
                ["compute", "POST", `${prefix}/servers`, { server: {} }],
                ["compute", "GET", `${prefix}/flavors/detail?is_public=None`],
            ];
            for (const [service, method, path, body] of calls) {
                results[`${method} ${path}`] = await call(service, method, path, body);
            }
        }
        results["GET /v2/images?name=x"] = await call("image", "GET", "/v2/images?name=x");
        for (const [request, status] of Object.entries(results)) {
            assert.ok(
                [200, 400, 404].includes(status),
                `${request} answered ${status}: ${JSON.stringify(results)}`,
            );
        }
    });

    it("refuses calls outside the rules", async () => {
        const pid = scoped.projectId;
        const refused: Array<[string, string, string]> = [
            ["compute", "GET", "/v2.1/limits"],
            ["compute", "GET", `/v2.1/${pid}/limits`],
            ["compute", "GET", "/v2.1/os-keypairs"],
            ["compute", "GET", `/v2.1/${pid}/os-keypairs`],
            ["compute", "GET", `/v2.1/servers/${MISSING_ID}/os-interface`],
            ["compute", "PUT", `/v2.1/servers/${MISSING_ID}`],
            ["compute", "GET", "/v2.1/flavors"],
            ["image", "GET", `/v2/images/${MISSING_ID}`],
            ["network", "GET", "/v2.0/networks"],
        ];
        const results: Record<string, number> = {};
        for (const [service, method, path] of refused) {
            results[`${service} ${method} ${path}`] = await call(service, method, path);
        }
        for (const [request, status] of Object.entries(results)) {
            assert.ok(
                status === 401 || status === 403,
                `${request} answered ${status}, not 401/403: ${JSON.stringify(results)}`,
            );
        }
    });
});
