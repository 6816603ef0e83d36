/**
 * The page's calls to the service's public API (same origin, through the head's TLS proxy): the
 * session cookie goes along by itself; state-changing calls carry the session's CSRF token. A
 * refusal becomes an {@link ApiError} with the API's own message, which the page shows as is.
 */

/** A refused or failed call: the HTTP status and the API's message. */
export class ApiError extends Error {
    override name = "ApiError";
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

/** What `GET /api/v1/session` answers. */
export interface SessionInfo {
    user: string;
    csrfToken?: string;
}

async function answer<T>(res: Response): Promise<T> {
    const text = await res.text();
    let body: unknown;
    try {
        body = text ? JSON.parse(text) : undefined;
    } catch {
        body = undefined;
    }
    if (!res.ok) {
        // Fastify's errors carry the reason in `message` (`error` is the status text); the
        // routes' refusals carry it in `error`.
        const said = body as { error?: string; message?: string } | undefined;
        throw new ApiError(
            res.status,
            said?.message ?? said?.error ?? `${res.status} ${res.statusText}`,
        );
    }
    return body as T;
}

/** The API client of one page. */
export class Api {
    private csrfToken = "";

    /** The session of this browser, or undefined when it is not logged in. */
    async session(): Promise<SessionInfo | undefined> {
        const res = await fetch("/api/v1/session", { credentials: "same-origin" });
        if (res.status === 401) return undefined;
        const info = await answer<SessionInfo>(res);
        this.csrfToken = info.csrfToken ?? "";
        return info;
    }

    /** Logs in; throws the API's refusal (wrong password, too many attempts). */
    async login(username: string, password: string): Promise<SessionInfo> {
        const info = await answer<SessionInfo>(
            await fetch("/api/v1/login", {
                method: "POST",
                credentials: "same-origin",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ username, password }),
            }),
        );
        this.csrfToken = info.csrfToken ?? "";
        return info;
    }

    /** GET a report. */
    async get<T>(path: string): Promise<T> {
        return answer<T>(await fetch(`/api/v1${path}`, { credentials: "same-origin" }));
    }

    /** A state-changing call (POST or PUT), with the CSRF token. */
    async change<T>(method: "POST" | "PUT", path: string, body?: unknown): Promise<T> {
        const headers: Record<string, string> = { "X-CSRF-Token": this.csrfToken };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        return answer<T>(
            await fetch(`/api/v1${path}`, {
                method,
                credentials: "same-origin",
                headers,
                body: body === undefined ? undefined : JSON.stringify(body),
            }),
        );
    }
}
