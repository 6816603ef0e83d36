/**
 * A Keystone v3 session: issues a token (password or application credential), reuses it until
 * shortly before it expires, re-authenticates once on a 401, and finds service endpoints in the
 * token's catalog by type, interface and region. Every request, Keystone's and the services',
 * uses the credentials' TLS trust (a private CA's bundle, or none).
 */
import type { CloudCredentials } from "./credentials";
import { OpenStackApiError, OpenStackConfigError } from "./errors";
import {
    DEFAULT_RETRY,
    httpRequest,
    type HttpRequest,
    type HttpResponse,
    type RetryPolicy,
} from "./http";

/** One endpoint of the token's service catalog. */
interface CatalogEndpoint {
    interface: string;
    region_id?: string;
    region?: string;
    url: string;
}

/** One service of the token's service catalog. */
export interface CatalogService {
    type: string;
    endpoints: CatalogEndpoint[];
}

/** An issued token. */
interface Token {
    value: string;
    expiresAt: number;
    projectId?: string;
    catalog: CatalogService[];
}

/** Renew tokens this long before they expire. */
const EXPIRY_MARGIN_MS = 120_000;

/** Picks the URL of `type` for the interface and region (region optional when unambiguous). */
export function findEndpoint(
    catalog: readonly CatalogService[],
    type: string,
    iface: string,
    region?: string,
): string {
    const service = catalog.find((s) => s.type === type);
    if (!service) {
        throw new OpenStackConfigError(
            `The cloud's catalog has no "${type}" service (it has: ${catalog.map((s) => s.type).join(", ") || "none"}).`,
        );
    }
    const candidates = service.endpoints.filter(
        (e) => e.interface === iface && (!region || (e.region_id ?? e.region) === region),
    );
    const regions = [...new Set(candidates.map((e) => e.region_id ?? e.region))];
    if (candidates.length === 0 || (!region && regions.length > 1)) {
        const known = service.endpoints
            .map((e) => `${e.interface}@${e.region_id ?? e.region}`)
            .join(", ");
        throw new OpenStackConfigError(
            `No single ${iface} "${type}" endpoint${region ? ` in region ${region}` : ""} ` +
                `(the catalog has ${known}); set OS_REGION_NAME / OS_INTERFACE.`,
        );
    }
    return candidates[0]!.url.replace(/\/+$/, "");
}

/** A Keystone session shared by the service clients. */
export class Session {
    private token?: Token;
    private pending?: Promise<Token>;

    /**
     * @param credentials where and how to authenticate.
     * @param retry retry policy for every request of this session.
     * @param now clock (tests).
     */
    constructor(
        readonly credentials: CloudCredentials,
        readonly retry: RetryPolicy = DEFAULT_RETRY,
        private readonly now: () => number = Date.now,
    ) {}

    private authBody(): unknown {
        const auth = this.credentials.auth;
        if (auth.kind === "application-credential") {
            return {
                auth: {
                    identity: {
                        methods: ["application_credential"],
                        application_credential: { id: auth.id, secret: auth.secret },
                    },
                },
            };
        }
        const project = auth.projectId
            ? { id: auth.projectId }
            : { name: auth.projectName, domain: { name: auth.projectDomainName } };
        return {
            auth: {
                identity: {
                    methods: ["password"],
                    password: {
                        user: {
                            name: auth.username,
                            domain: { name: auth.userDomainName },
                            password: auth.password,
                        },
                    },
                },
                scope: { project },
            },
        };
    }

    private async issue(): Promise<Token> {
        let response: HttpResponse;
        try {
            response = await httpRequest(
                {
                    method: "POST",
                    url: `${this.credentials.authUrl}/auth/tokens`,
                    body: this.authBody(),
                    tls: this.credentials.tls,
                },
                this.retry,
            );
        } catch (err) {
            if (err instanceof OpenStackApiError && err.status === 401) {
                throw new OpenStackConfigError(
                    `Keystone at ${this.credentials.authUrl} rejected the credentials (${err.apiMessage}); ` +
                        "check OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME or the application credential.",
                );
            }
            throw err;
        }
        const value = response.headers.get("x-subject-token");
        const body = response.json as {
            token: { expires_at: string; project?: { id: string }; catalog?: CatalogService[] };
        };
        if (!value) throw new Error("Keystone issued no X-Subject-Token.");
        return {
            value,
            expiresAt: Date.parse(body.token.expires_at),
            projectId: body.token.project?.id,
            catalog: body.token.catalog ?? [],
        };
    }

    /** A valid token, issuing a new one when none is cached or it is about to expire. */
    async getToken(): Promise<Token> {
        if (this.token && this.token.expiresAt - EXPIRY_MARGIN_MS > this.now()) return this.token;
        this.pending ??= this.issue().finally(() => (this.pending = undefined));
        this.token = await this.pending;
        return this.token;
    }

    /** Forgets the cached token (the next call issues a new one). */
    invalidate(): void {
        this.token = undefined;
    }

    /** The project the token is scoped to. */
    async projectId(): Promise<string> {
        const id = (await this.getToken()).projectId;
        if (!id) throw new OpenStackConfigError("The token is not scoped to a project.");
        return id;
    }

    /** Base URL of a service, from the catalog. */
    async endpoint(type: string): Promise<string> {
        const token = await this.getToken();
        return findEndpoint(
            token.catalog,
            type,
            this.credentials.interface,
            this.credentials.region,
        );
    }

    /**
     * Sends an authenticated request to `path` of service `type`; on a 401 the token is renewed
     * and the request sent once more. `retry` replaces the session's policy for this request
     * (an upload of gigabytes needs a longer deadline and must not be resent).
     */
    async request(
        type: string,
        request: Omit<HttpRequest, "url"> & { path: string; retry?: RetryPolicy },
    ): Promise<HttpResponse> {
        for (let attempt = 1; ; attempt++) {
            const token = await this.getToken();
            const base = findEndpoint(
                token.catalog,
                type,
                this.credentials.interface,
                this.credentials.region,
            );
            try {
                return await httpRequest(
                    {
                        method: request.method,
                        url: base + request.path,
                        headers: { ...request.headers, "X-Auth-Token": token.value },
                        body: request.body,
                        upload: request.upload,
                        tls: this.credentials.tls,
                    },
                    request.retry ?? this.retry,
                );
            } catch (err) {
                if (attempt === 1 && err instanceof OpenStackApiError && err.status === 401) {
                    if (this.token === token) this.invalidate();
                    continue;
                }
                throw err;
            }
        }
    }
}
