/**
 * One HTTP request to an OpenStack API, with a timeout on every attempt and retries with
 * exponential backoff and full jitter only where a retry is safe:
 * - idempotent methods (GET, HEAD, PUT, DELETE) on 429, 502, 503, 504 and connection errors,
 *   honouring `Retry-After` up to {@link MAX_RETRY_AFTER_MS} (the service's reconcile loop waits
 *   on these calls, so one answer asking for an hour must not stall it);
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
                await wait(backoffMs(policy, attempt));
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
