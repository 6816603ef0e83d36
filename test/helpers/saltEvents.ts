/**
 * Salt's side of the Salt bridge, for the end-to-end tests: an event is run through the
 * project's own reactor file (rendered with real Jinja2 by test/salt/render.py) and the
 * `runner.http.query` call it produces is carried out as Salt's http runner does (method, URL,
 * headers from `header_file`, body; a connection failure is status 599, and the event is
 * dropped, as Salt does). Only the two host paths the reactors hard-code are mapped:
 * the local API's base URL to the test service's, and the header file to the test's copy.
 */
import { renderReactor } from "./salt";

/** Where the test's service and header file are. */
export interface ReactorTarget {
    /** Base URL of the service's local API, e.g. `http://127.0.0.1:40123`. */
    localApiUrl: string;
    /** Text of the header file (`Authorization: Bearer ...` etc.). */
    headerFileText: string;
}

/** One HTTP call a reactor made, with the service's answer. */
export interface ReactorCall {
    reaction: string;
    url: string;
    status: number;
    body: unknown;
}

const PRODUCTION_BASE = "http://127.0.0.1:8081";

/** Renders `file` for the event and performs its http.query calls; returns what happened. */
export async function fireReactor(
    target: ReactorTarget,
    file: string,
    tag: string,
    data: unknown,
): Promise<ReactorCall[]> {
    const rendered = renderReactor(file, tag, data);
    if (rendered.errors.length) throw new Error(`${file}: ${rendered.errors.join("; ")}`);
    const calls: ReactorCall[] = [];
    for (const [reaction, call] of Object.entries(rendered.reactions)) {
        if (`${call.kind}.${call.function}` !== "runner.http.query") continue;
        const args = call.args as {
            url: string;
            method: string;
            header_file: string;
            data: string;
        };
        if (!args.url.startsWith(PRODUCTION_BASE)) throw new Error(`unexpected URL ${args.url}`);
        const url = target.localApiUrl + args.url.slice(PRODUCTION_BASE.length);
        const headers: Record<string, string> = {};
        for (const line of target.headerFileText.split("\n")) {
            const colon = line.indexOf(":");
            if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
        }
        let response: Response;
        try {
            response = await fetch(url, { method: args.method, headers, body: args.data });
        } catch (err) {
            // Salt's http.query answers 599 when it cannot connect; the reactor drops the event.
            calls.push({ reaction, url, status: 599, body: String((err as Error).cause ?? err) });
            continue;
        }
        const text = await response.text();
        let body: unknown = text;
        try {
            body = JSON.parse(text);
        } catch {
            // not JSON
        }
        calls.push({ reaction, url, status: response.status, body });
    }
    return calls;
}
