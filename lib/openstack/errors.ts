/**
 * Errors of the OpenStack client. An {@link OpenStackApiError} keeps what the API said (status,
 * Nova's/Keystone's message, request ID) so a quota 403 or a conflict 409 reaches the user
 * verbatim; the `kind` tells callers how to react without parsing text.
 *
 * This module (like all of `lib/openstack`) uses only Node built-ins and global `fetch`: it is
 * serialized by value into the WorkerPool dynamic provider.
 */

/** What went wrong, for callers that decide on it. */
export type ApiErrorKind =
    | "bad-request" // 400: the request is wrong; retrying cannot help
    | "unauthorized" // 401: token expired or credentials wrong
    | "forbidden" // 403 without quota: policy
    | "quota" // 403 with one of Nova's over-quota texts (or 413 overLimit)
    | "not-found" // 404
    | "conflict" // 409: state conflict, retry later
    | "rate-limited" // 429
    | "unavailable" // 502/503/504
    | "server" // other 5xx
    | "other";

/** An error answer from an OpenStack API. */
export class OpenStackApiError extends Error {
    override name = "OpenStackApiError";

    constructor(
        /** HTTP status. */
        readonly status: number,
        /** The API's own message (e.g. Nova's "Quota exceeded for instances: ..."). */
        readonly apiMessage: string,
        /** HTTP method of the request. */
        readonly method: string,
        /** URL of the request (no credentials are ever in URLs). */
        readonly url: string,
        /** `x-openstack-request-id` / `x-compute-request-id`, for the cloud's operators. */
        readonly requestId?: string,
        /** Seconds the server asked to wait (`Retry-After`), if any. */
        readonly retryAfterSeconds?: number,
    ) {
        super(
            `${method} ${url} failed: ${status} ${apiMessage}` +
                (requestId ? ` (request ${requestId})` : ""),
        );
    }

    /** The error's class. */
    get kind(): ApiErrorKind {
        return errorKind(this.status, this.apiMessage);
    }
}

/*
 * Nova's exact texts, matched from their start (paths in github.com/openstack/nova). Loose words
 * ("quota", "exceed") are not enough: MaxRetriesExceeded's "Exceeded maximum number of
 * retries. Exhausted all hosts available for retrying build failures ..." (a build that failed
 * on every host, e.g. a broken image) must open the breaker, not back the flavor off.
 * Arrays, not Sets: this module is serialized into the dynamic provider.
 */

/** "Over quota" in a 403 answer of the compute API or in an ERROR server's fault. */
const QUOTA_TEXTS: readonly RegExp[] = [
    // nova/exception.py TooManyInstances: "Quota exceeded for %(overs)s: Requested %(req)s, but
    // already used %(used)s of %(allowed)s %(overs)s" (overs joined with ", " by
    // nova/compute/utils.py get_over_quota_detail); raised at create and by the conductor's
    // quota recheck (nova/conductor/manager.py), which puts racing boots in ERROR.
    /^Quota exceeded for [a-z_]+(?:, [a-z_]+)*: Requested /,
    // nova/exception.py OverQuota: "Quota exceeded for resources: %(overs)s"
    /^Quota exceeded for resources: /,
    // nova/exception.py GroupMemberLimitExceeded (nova/compute/api.py, server group members)
    /^Quota exceeded, too many servers in group/,
    // nova/exception.py PortLimitExceeded (an OverQuota: Neutron's port quota at create)
    /^Maximum number of ports exceeded/,
    // Unified limits: nova/limit/placement.py re-raises oslo.limit's ProjectOverLimit
    // ("Project %(project_id)s is over a limit for %(limits)s", openstack/oslo.limit
    // oslo_limit/exception.py) as TooManyInstances with that text.
    /^Project \S+ is over a limit for /,
    // The same from the conductor's recheck: nova/compute/utils.py exception_to_dict makes a
    // non-Nova exception's fault message its class name.
    /^ProjectOverLimit$/,
];

/** "No hypervisor had room" in an ERROR server's fault. */
const CAPACITY_TEXTS: readonly RegExp[] = [
    // nova/exception.py NoValidHost: "No valid host was found. %(reason)s" (reason e.g. "There
    // are not enough hosts available." from nova/scheduler/manager.py)
    /^No valid host was found\./,
    // nova/exception.py ComputeResourcesUnavailable: "Insufficient compute resources:
    // %(reason)s." - the fault when re-scheduling is off (nova/compute/manager.py uses the
    // RescheduledException's reason as the fault message) ...
    /^Insufficient compute resources: /,
    // ... and the last exception of nova/scheduler/utils.py populate_retry's MaxRetriesExceeded
    // ("Exceeded max scheduling attempts %(max_attempts)d for instance %(instance_uuid)s. Last
    // exception: %(exc_reason)s").
    /Last exception: Insufficient compute resources: /,
];

const matchesAny = (texts: readonly RegExp[], message: string): boolean =>
    texts.some((text) => text.test(message.trim()));

/** Classifies a status and message. */
export function errorKind(status: number, message: string): ApiErrorKind {
    if (status === 400) return "bad-request";
    if (status === 401) return "unauthorized";
    if (status === 403) return matchesAny(QUOTA_TEXTS, message) ? "quota" : "forbidden";
    if (status === 413) return "quota";
    if (status === 404) return "not-found";
    if (status === 409) return "conflict";
    if (status === 429) return "rate-limited";
    if (status === 502 || status === 503 || status === 504) return "unavailable";
    if (status >= 500) return "server";
    return "other";
}

/** Why a server went to ERROR, from its fault message. */
export type ServerFaultKind = "quota" | "capacity" | "other";

/**
 * Classifies an ERROR server's fault by Nova's exact texts: Nova re-checks quota after the
 * create call returned (boots racing for the last slot end in ERROR "Quota exceeded for
 * instances: ..."), and "No valid host was found." / "Insufficient compute resources: ..." mean
 * no hypervisor had room; neither says anything about the image or the worker. Everything else
 * ("Build of instance ... aborted: ...", "Exceeded maximum number of retries. Exhausted all
 * hosts ...") is "other": the worker's failure.
 */
export function serverFaultKind(fault: string): ServerFaultKind {
    if (matchesAny(QUOTA_TEXTS, fault)) return "quota";
    if (matchesAny(CAPACITY_TEXTS, fault)) return "capacity";
    return "other";
}

/**
 * Extracts the message from an OpenStack error body. Nova wraps it as
 * `{"forbidden": {"code": 403, "message": "..."}}`, Keystone as `{"error": {"message": ...}}`,
 * Neutron as `{"NeutronError": {"message": ...}}`; anything else is returned trimmed.
 */
export function apiMessageOf(body: string): string {
    try {
        const parsed = JSON.parse(body) as unknown;
        if (parsed !== null && typeof parsed === "object") {
            for (const value of Object.values(parsed as Record<string, unknown>)) {
                if (value !== null && typeof value === "object" && "message" in value) {
                    const message = (value as { message: unknown }).message;
                    if (typeof message === "string") return message;
                }
            }
            if (
                "message" in parsed &&
                typeof (parsed as { message: unknown }).message === "string"
            ) {
                return (parsed as { message: string }).message;
            }
        }
    } catch {
        // not JSON: fall through
    }
    const text = body
        .replace(/<[^>]+>/g, " ")
        .replace(/\s+/g, " ")
        .trim();
    return text.length > 300 ? `${text.slice(0, 300)}...` : text || "(no message)";
}

/** Thrown when credentials or settings are missing or wrong; the message says how to fix it. */
export class OpenStackConfigError extends Error {
    override name = "OpenStackConfigError";
}

/** Thrown when a wait passes its deadline. */
export class DeadlineError extends Error {
    override name = "DeadlineError";
}

/**
 * Thrown when the TLS handshake with an API failed on the server's certificate (not trusted,
 * another host's, expired): the request never reached the API, and repeating it cannot help.
 * The message names the URL and the setting that fixes it.
 */
export class OpenStackTlsError extends Error {
    override name = "OpenStackTlsError";

    constructor(
        message: string,
        /** URL of the request. */
        readonly url: string,
        /** Node's TLS error code, e.g. `SELF_SIGNED_CERT_IN_CHAIN`. */
        readonly code: string,
        options?: { cause?: unknown },
    ) {
        super(message, options);
    }
}
