/**
 * One HTTP request to an OpenStack API, with a timeout on every attempt and retries with
 * exponential backoff and full jitter only where a retry is safe:
 * - idempotent methods (GET, HEAD, PUT, DELETE) on 429, 502, 503, 504 and connection errors,
 *   honouring `Retry-After`;
 * - POST only when the connection was refused, so the request never reached the server.
 * 4xx answers (bad request, quota, conflict) are never retried here: callers decide.
 * Hand-written (no retry package) because `lib/openstack` is serialized into the dynamic provider.
 */
import { apiMessageOf, OpenStackApiError } from "./errors";

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

/** True when a failed attempt may be repeated. */
export function shouldRetry(
    method: HttpRequest["method"],
    outcome: { status?: number; errorCode?: string },
): boolean {
    if (outcome.status !== undefined)
        return IDEMPOTENT.includes(method) && RETRYABLE_STATUS.includes(outcome.status);
    if (outcome.errorCode === "ECONNREFUSED") return true; // never reached the server
    return IDEMPOTENT.includes(method); // reset, timeout, DNS: the server may have acted, so only idempotent
}

/** Backoff before attempt `attempt` (1-based retry number), full jitter. */
export function backoffMs(
    policy: RetryPolicy,
    attempt: number,
    retryAfterSeconds?: number,
    random = Math.random,
): number {
    const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const jittered = Math.floor(random() * cap);
    return retryAfterSeconds !== undefined
        ? Math.max(jittered, retryAfterSeconds * 1000)
        : jittered;
}

function retryAfterOf(headers: Headers): number | undefined {
    const value = headers.get("retry-after");
    if (!value) return undefined;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const date = Date.parse(value);
    return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function causeCode(err: unknown): string | undefined {
    const cause = (err as { cause?: { code?: string } })?.cause;
    if (cause?.code) return cause.code;
    if ((err as { name?: string })?.name === "TimeoutError") return "ETIMEDOUT";
    return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the request, retrying where safe.
 *
 * @throws OpenStackApiError for an error answer (after retries), or the last network error.
 */
export async function httpRequest(
    request: HttpRequest,
    policy: RetryPolicy = DEFAULT_RETRY,
): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
        let response: Response;
        try {
            response = await fetch(request.url, {
                method: request.method,
                headers: {
                    Accept: "application/json",
                    ...(request.body !== undefined ? { "Content-Type": "application/json" } : {}),
                    ...request.headers,
                },
                body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
                signal: AbortSignal.timeout(policy.timeoutMs),
            });
        } catch (err) {
            const code = causeCode(err);
            if (attempt < policy.attempts && shouldRetry(request.method, { errorCode: code })) {
                await sleep(backoffMs(policy, attempt));
                continue;
            }
            const reason = code ?? (err as Error).message;
            throw new Error(`${request.method} ${request.url} failed: ${reason}`, { cause: err });
        }
        const text = await response.text();
        if (response.ok) {
            return {
                status: response.status,
                headers: response.headers,
                json: text ? (JSON.parse(text) as unknown) : undefined,
            };
        }
        const retryAfter = retryAfterOf(response.headers);
        if (attempt < policy.attempts && shouldRetry(request.method, { status: response.status })) {
            await sleep(backoffMs(policy, attempt, retryAfter));
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
