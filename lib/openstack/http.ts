/**
 * One HTTP request to an OpenStack API, with a timeout on every attempt and retries with
 * exponential backoff and full jitter only where a retry is safe:
 * - idempotent methods (GET, HEAD, PUT, DELETE) on 429, 502, 503, 504 and connection errors,
 *   honouring `Retry-After` up to {@link MAX_RETRY_AFTER_MS} (the service's reconcile loop waits
 *   on these calls, so one answer asking for an hour must not stall it);
 * - POST only when the connection was refused, so the request never reached the server.
 * 4xx answers (bad request, quota, conflict) are never retried here: callers decide.
 * Hand-written (no retry package) because `lib/openstack` is serialized into the dynamic provider.
 *
 * Requests go through Node's `node:http` / `node:https`, not the global `fetch`, because clouds
 * with a private CA need a per-request trust store (`ca`, `rejectUnauthorized`), and of the
 * ways to give `fetch` one: the `undici` npm package is not a dependency of this project (only
 * a transitive one of the Pulumi SDK's tooling, in another major version than the one inside
 * Node), and the constructor of Node's own global dispatcher is reachable only through an
 * internal symbol set on first use. `https.request` takes `ca` as a documented, stable option
 * of a built-in module (so this file still serializes into the dynamic provider), and Node's
 * global agent pools connections per trust setting (the agent's socket key includes `ca` and
 * `rejectUnauthorized`) with keep-alive, as `fetch` did. A certificate the client does not
 * trust (self-signed, unknown CA, another host's, expired) is an {@link OpenStackTlsError},
 * never retried, whose message names the URL and the setting that fixes it.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { CloudTls } from "./credentials";
import { apiMessageOf, OpenStackApiError, OpenStackTlsError } from "./errors";

/** Retry settings. */
export interface RetryPolicy {
    /** Attempts in all, including the first. */
    attempts: number;
    /** First backoff in ms (doubles each attempt, capped by `maxDelayMs`). */
    baseDelayMs: number;
    /** Upper bound of one backoff, ms. */
    maxDelayMs: number;
    /** Timeout of one attempt, ms. */
    timeoutMs: number;
}

/** Defaults: 5 attempts, 0.5 s doubling to 8 s, 30 s per attempt. */
export const DEFAULT_RETRY: RetryPolicy = {
    attempts: 5,
    baseDelayMs: 500,
    maxDelayMs: 8000,
    timeoutMs: 30_000,
};

/** A request. */
export interface HttpRequest {
    method: "GET" | "HEAD" | "POST" | "PUT" | "DELETE";
    url: string;
    headers?: Record<string, string>;
    /** JSON body; serialized afresh for every attempt. */
    body?: unknown;
    /** A file sent as the body instead, streamed from disk (a Glance image's data). */
    upload?: FileUpload;
    /** TLS trust of `https:` URLs; absent means the system's CA store, verification on. */
    tls?: CloudTls;
}

/** A file to send as a request's body. */
export interface FileUpload {
    path: string;
    contentType: string;
}

/** A successful answer. */
export interface HttpResponse {
    status: number;
    headers: Headers;
    /** Parsed JSON body, or undefined when empty. */
    json: unknown;
}

// Arrays, not Sets: Pulumi's closure serializer turns a captured Set into a plain object.
const IDEMPOTENT: readonly string[] = ["GET", "HEAD", "PUT", "DELETE"];
const RETRYABLE_STATUS: readonly number[] = [429, 502, 503, 504];

/**
 * Node's codes (OpenSSL's verify errors, and Node's own host name check) for a server
 * certificate the client refuses: the handshake failed, the request was never sent.
 */
export const TLS_CERT_ERRORS: readonly string[] = [
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
    "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
    "CERT_SIGNATURE_FAILURE",
    "CERT_UNTRUSTED",
    "CERT_REJECTED",
    "CERT_REVOKED",
    "INVALID_CA",
    "INVALID_PURPOSE",
    "PATH_LENGTH_EXCEEDED",
    "CERT_CHAIN_TOO_LONG",
    "CERT_HAS_EXPIRED",
    "CERT_NOT_YET_VALID",
    "HOSTNAME_MISMATCH",
    "ERR_TLS_CERT_ALTNAME_INVALID",
];

const PRIVATE_CA_HINT =
    "To trust a private CA, set `cacert` of the cloud in clouds.yaml, or OS_CACERT (or " +
    "`pulumi config set openstack:cacertFile`), to its PEM bundle.";

/**
 * The message of a refused server certificate: what is wrong, with which URL, and the setting
 * that fixes it.
 */
export function tlsErrorMessage(
    method: string,
    url: string,
    code: string,
    detail: string,
    tls?: CloudTls,
): string {
    const head = `${method} ${url} failed: `;
    const why = `(${code}: ${detail})`;
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") {
        return (
            `${head}the server's TLS certificate is not for ${new URL(url).hostname} ${why}. ` +
            "Use the host name the certificate names (in OS_AUTH_URL / `auth_url`, or the " +
            `catalog's endpoints). ${PRIVATE_CA_HINT}`
        );
    }
    if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
        return `${head}the server's TLS certificate is outside its validity period ${why}; check this machine's clock, or ask the cloud's operators to renew it.`;
    }
    if (tls?.caPem) {
        return (
            `${head}the server's TLS certificate is not signed by the CA bundle from ` +
            `${tls.caSource ?? "the cacert setting"} ${why}. Point that setting at the PEM ` +
            "bundle of the CA that signed the cloud's certificate (with its intermediates)."
        );
    }
    return `${head}the server's TLS certificate is not trusted ${why}. ${PRIVATE_CA_HINT}`;
}

/** True when a failed attempt may be repeated. */
export function shouldRetry(
    method: HttpRequest["method"],
    outcome: { status?: number; errorCode?: string },
): boolean {
    if (outcome.status !== undefined)
        return IDEMPOTENT.includes(method) && RETRYABLE_STATUS.includes(outcome.status);
    if (outcome.errorCode === "ECONNREFUSED") return true; // never reached the server
    if (outcome.errorCode && TLS_CERT_ERRORS.includes(outcome.errorCode)) return false; // cannot heal
    return IDEMPOTENT.includes(method); // reset, timeout, DNS: the server may have acted, so only idempotent
}

/**
 * The longest wait a `Retry-After` answer can impose before the next attempt: 30 s. Longer
 * requests (an API under maintenance may ask for an hour) are cut to this; if the API still
 * refuses, the attempts run out and the caller sees the error (with the server's own value in
 * {@link OpenStackApiError.retryAfterSeconds}) and decides, e.g. the service backs off a flavor.
 */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * Backoff before attempt `attempt` (1-based retry number): full jitter, or the server's
 * `Retry-After` when longer, capped at {@link MAX_RETRY_AFTER_MS}.
 */
export function backoffMs(
    policy: RetryPolicy,
    attempt: number,
    retryAfterSeconds?: number,
    random = Math.random,
): number {
    const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const jittered = Math.floor(random() * cap);
    if (retryAfterSeconds === undefined || !(retryAfterSeconds >= 0)) return jittered;
    return Math.max(jittered, Math.min(retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS));
}

/**
 * Reads a `Retry-After` header (RFC 9110 section 10.2.3): delay-seconds (a whole number) or an
 * HTTP-date, as seconds from `now` (a date in the past is 0). Anything else - absent, empty,
 * negative, fractional, garbage - is undefined, and the ordinary backoff applies.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
    const text = value?.trim();
    if (!text) return undefined;
    if (/^\d+$/.test(text)) return Number(text);
    if (!/[a-z]/i.test(text)) return undefined; // "-5", "1.5", "1e3": not a date either
    const date = Date.parse(text);
    return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

function errorCode(err: unknown): string | undefined {
    const code = (err as { code?: unknown })?.code;
    if (typeof code === "string") return code;
    const cause = (err as { cause?: { code?: string } })?.cause;
    return cause?.code;
}

/** What one attempt got back. */
interface RawResponse {
    status: number;
    headers: Headers;
    text: string;
}

/**
 * Sends one attempt with `node:http` / `node:https`; the deadline covers the whole exchange,
 * the body included. A timeout fails with code ETIMEDOUT.
 */
function send(request: HttpRequest, timeoutMs: number): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
        const url = new URL(request.url);
        const body = request.body !== undefined ? JSON.stringify(request.body) : undefined;
        const headers: Record<string, string> = {
            Accept: "application/json",
            ...(body !== undefined
                ? {
                      "Content-Type": "application/json",
                      "Content-Length": String(Buffer.byteLength(body)),
                  }
                : {}),
            ...(request.upload
                ? {
                      "Content-Type": request.upload.contentType,
                      "Content-Length": String(fs.statSync(request.upload.path).size),
                  }
                : {}),
            ...request.headers,
        };
        // A holder declared before its users: Pulumi's closure serializer cannot capture a
        // variable that a closure uses before its declaration.
        const deadline: { timer?: NodeJS.Timeout } = {};
        let settled = false;
        const settle = (fn: () => void): void => {
            if (settled) return;
            settled = true;
            clearTimeout(deadline.timer);
            fn();
        };
        const onResponse = (res: http.IncomingMessage): void => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("error", (err) => settle(() => reject(err)));
            res.on("end", () => {
                const responseHeaders = new Headers();
                for (const [name, value] of Object.entries(res.headers)) {
                    if (value === undefined) continue;
                    for (const v of Array.isArray(value) ? value : [value]) {
                        responseHeaders.append(name, v);
                    }
                }
                const text = Buffer.concat(chunks).toString("utf8");
                settle(() =>
                    resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text }),
                );
            });
        };
        let req: http.ClientRequest;
        if (url.protocol === "https:") {
            req = https.request(
                url,
                {
                    method: request.method,
                    headers,
                    ca: request.tls?.caPem || undefined,
                    rejectUnauthorized: request.tls?.insecure !== true,
                },
                onResponse,
            );
        } else if (url.protocol === "http:") {
            req = http.request(url, { method: request.method, headers }, onResponse);
        } else {
            reject(new Error(`unsupported URL scheme ${url.protocol} (http: or https: only)`));
            return;
        }
        deadline.timer = setTimeout(() => {
            const err = Object.assign(new Error(`no answer within ${timeoutMs} ms`), {
                code: "ETIMEDOUT",
            });
            settle(() => reject(err));
            req.destroy(err);
        }, timeoutMs);
        req.on("error", (err) => settle(() => reject(err)));
        if (request.upload) {
            const file = fs.createReadStream(request.upload.path);
            file.on("error", (err) => {
                settle(() => reject(err));
                req.destroy(err);
            });
            file.pipe(req);
        } else {
            req.end(body);
        }
    });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the request, retrying where safe.
 *
 * @param request the request.
 * @param policy attempts, backoff and per-attempt timeout.
 * @param wait waits between attempts (tests record the delays instead of sleeping).
 * @throws OpenStackApiError for an error answer (after retries), or the last network error.
 */
export async function httpRequest(
    request: HttpRequest,
    policy: RetryPolicy = DEFAULT_RETRY,
    wait: (ms: number) => Promise<void> = sleep,
): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
        let response: RawResponse;
        try {
            response = await send(request, policy.timeoutMs);
        } catch (err) {
            const code = errorCode(err);
            if (code && TLS_CERT_ERRORS.includes(code)) {
                throw new OpenStackTlsError(
                    tlsErrorMessage(
                        request.method,
                        request.url,
                        code,
                        (err as Error).message,
                        request.tls,
                    ),
                    request.url,
                    code,
                    { cause: err },
                );
            }
            if (attempt < policy.attempts && shouldRetry(request.method, { errorCode: code })) {
                await wait(backoffMs(policy, attempt));
                continue;
            }
            const reason = code ?? (err as Error).message;
            throw new Error(`${request.method} ${request.url} failed: ${reason}`, { cause: err });
        }
        const text = response.text;
        if (response.status >= 200 && response.status < 300) {
            return {
                status: response.status,
                headers: response.headers,
                json: text ? (JSON.parse(text) as unknown) : undefined,
            };
        }
        const retryAfter = parseRetryAfter(response.headers.get("retry-after"), Date.now());
        if (attempt < policy.attempts && shouldRetry(request.method, { status: response.status })) {
            await wait(backoffMs(policy, attempt, retryAfter));
            continue;
        }
        throw new OpenStackApiError(
            response.status,
            apiMessageOf(text),
            request.method,
            request.url,
            response.headers.get("x-openstack-request-id") ??
                response.headers.get("x-compute-request-id") ??
                undefined,
            retryAfter,
        );
    }
}
