/**
 * The dashboard page (served at /dashboard/ by the service, built ahead of time into the service
 * bundle by components/serviceBundle.ts): the login form, the overview (cluster state, the
 * cluster's size against queued and running work, the workers, the queue, recent events) and a
 * page per worker with its graphs. Live: the service's snapshot stream (`/api/v1/stream`) redraws
 * the tables as it changes; the graphs refresh from Graphite. Every action asks for confirmation
 * saying what will happen and shows the API's own answer, a refusal included.
 * Built with the DOM only (no framework); text from the cluster (notes, Nova's messages) is only
 * ever set as text, never parsed as HTML.
 */
import type { WorkerView } from "../../model";
import type { SchedulerJob } from "../../scheduler/types";
import type { ServiceEvent } from "../../service";
import { metricComponent } from "../../../lib/metricNames";
import { Api, ApiError } from "./api";
import { mountChart } from "./charts";

/** The service's status report, as far as the page reads it. */
interface Status {
    cluster: { name: string; id: string };
    autoMode: boolean;
    observationAgeSeconds: number;
    breaker: { open: boolean; consecutiveFailures: number; threshold: number; reason?: string };
    pools: Record<"static" | "burst", { size: number; workers: number }>;
    workerPools?: WorkerPoolReport[];
    errors: Record<string, string>;
    metricsPrefix?: string;
}

/** One worker pool in the status report (autoscaler/service.ts `workerPoolReport`). */
interface WorkerPoolReport {
    name: string;
    flavors: string[];
    min: number;
    max: number;
    workers: { static: number; burst: number };
    breaker: { open: boolean; consecutiveFailures: number; reason?: string };
    backingOff: Record<string, number>;
}

/** One snapshot of the live stream. */
interface Snapshot {
    status: Status;
    workers: WorkerView[];
    jobs: SchedulerJob[];
    events: ServiceEvent[];
}

type Child = Node | string | undefined | false;

/** Creates an element with attributes and children (strings become text nodes). */
function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    for (const c of children) if (c !== undefined && c !== false) el.append(c);
    return el;
}

const api = new Api();
const main = document.getElementById("main")!;
let snapshot: Snapshot | undefined;
let stream: EventSource | undefined;
/** Stops what the current view started (chart timers). */
let leaveView: Array<() => void> = [];
let message: { text: string; error: boolean } | undefined;

function age(fromMs: number | undefined): string {
    if (!fromMs) return "";
    const s = Math.max(0, Math.floor((Date.now() - fromMs) / 1000));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.floor(s / 60)} min`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function time(ms: number): string {
    return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

/** Shows the login form, with `reason` above it. */
function showLogin(reason?: string): void {
    stream?.close();
    stream = undefined;
    snapshot = undefined;
    for (const stop of leaveView) stop();
    leaveView = [];
    document.getElementById("who")!.textContent = "";
    const user = h("input", {
        id: "username",
        name: "username",
        autocomplete: "username",
        required: "",
    }) as HTMLInputElement;
    const password = h("input", {
        id: "password",
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: "",
    }) as HTMLInputElement;
    const said = h("p", { role: "alert", id: "login-message" }, reason ?? "");
    if (reason) said.className = "message error";
    const form = h(
        "form",
        { class: "login", "aria-labelledby": "login-title" },
        h("h2", { id: "login-title" }, "Log in"),
        h("label", { for: "username" }, "User name"),
        user,
        h("label", { for: "password" }, "Password"),
        password,
        h("button", { type: "submit" }, "Log in"),
        said,
    ) as HTMLFormElement;
    form.addEventListener("submit", (event) => {
        event.preventDefault();
        void (async () => {
            try {
                await api.login(user.value, password.value);
                await start();
            } catch (err) {
                said.className = "message error";
                said.textContent =
                    err instanceof ApiError
                        ? `Not logged in: ${err.message}.`
                        : `Not logged in: ${(err as Error).message}`;
                password.value = "";
                password.focus();
            }
        })();
    });
    main.replaceChildren(form);
    user.focus();
}

/** Runs an action after a confirmation that says what it does; shows the API's answer. */
async function act(question: string, done: string, call: () => Promise<unknown>): Promise<void> {
    if (!window.confirm(question)) return;
    try {
        await call();
        message = { text: done, error: false };
    } catch (err) {
        if (err instanceof ApiError && err.status === 401)
            return showLogin("Your session ended; log in again.");
        message = { text: `Refused: ${(err as Error).message}`, error: true };
    }
    render();
}

/** A button; `key` lets a redraw give the focus back to the same button. */
function button(label: string, onClick: () => void, danger = false, key = label): HTMLElement {
    const b = h(
        "button",
        { type: "button", class: danger ? "danger" : "", "data-key": key },
        label,
    );
    b.addEventListener("click", onClick);
    return b;
}

function workerActions(w: WorkerView): HTMLElement {
    const cell = h("td", { class: "actions" });
    const node = w.node;
    const call = (action: string) => () => api.change("POST", `/workers/${node}/actions/${action}`);
    if (w.held) {
        cell.append(
            button(
                "Release",
                () =>
                    void act(
                        `Release ${node}? Slurm may schedule jobs on it again.`,
                        `${node} released.`,
                        call("release"),
                    ),
                false,
                `${node}:release`,
            ),
        );
    } else {
        cell.append(
            button(
                "Hold",
                () =>
                    void act(
                        `Hold ${node}? It stays up but runs no new job until released.`,
                        `${node} held.`,
                        call("hold"),
                    ),
                false,
                `${node}:hold`,
            ),
        );
    }
    cell.append(
        " ",
        button(
            "Drain",
            () =>
                void act(
                    `Drain ${node}? Running jobs finish; then the worker is removed.`,
                    `${node} is draining.`,
                    call("drain"),
                ),
            false,
            `${node}:drain`,
        ),
        " ",
        button(
            "Delete",
            () =>
                void act(
                    `Delete ${node} now? Only an idle worker can be deleted; its server is removed.`,
                    `${node} is being deleted.`,
                    call("delete"),
                ),
            true,
            `${node}:delete`,
        ),
    );
    return cell;
}

function phaseText(w: WorkerView): string {
    return w.phase === "ready" ? `ready (${w.activity})` : w.phase;
}

function workersTable(s: Snapshot): HTMLElement {
    const running = new Map<string, number>();
    for (const j of s.jobs)
        if (j.state === "running")
            for (const n of j.nodes) running.set(n, (running.get(n) ?? 0) + 1);
    const rows = s.workers
        .filter((w) => w.phase !== "absent")
        .map((w) =>
            h(
                "tr",
                { "data-node": w.node },
                h("td", {}, h("a", { href: `#/workers/${w.node}` }, w.node)),
                h("td", {}, w.workerPool ? `${w.workerPool} (${w.pool})` : w.pool),
                h(
                    "td",
                    { class: w.phase === "failed" ? "state-bad" : "" },
                    phaseText(w) + (w.held ? ", held" : ""),
                ),
                h("td", {}, w.address ?? ""),
                h("td", {}, String(running.get(w.node) ?? 0)),
                h("td", {}, age(w.launchedAt)),
                h("td", { class: "note" }, w.note ?? ""),
                workerActions(w),
            ),
        );
    if (!rows.length)
        return h("p", { id: "no-workers" }, "No workers. Burst workers are launched as jobs wait.");
    return h(
        "table",
        { id: "workers" },
        h("caption", { class: "live" }, `${rows.length} workers`),
        h(
            "thead",
            {},
            h(
                "tr",
                {},
                ...["Node", "Pool", "Phase", "Address", "Jobs", "Age", "Why", "Actions"].map((t) =>
                    h("th", { scope: "col" }, t),
                ),
            ),
        ),
        h("tbody", {}, ...rows),
    );
}

/** The worker pools: flavors (those backing off after a capacity or quota fault marked), limits. */
function poolsTable(s: Snapshot): HTMLElement {
    const pools = s.status.workerPools ?? [];
    return h(
        "table",
        { id: "pools" },
        h(
            "thead",
            {},
            h(
                "tr",
                {},
                ...["Pool", "Flavors", "Floor", "Burst", "Launches", "Backing off"].map((t) =>
                    h("th", { scope: "col" }, t),
                ),
            ),
        ),
        h(
            "tbody",
            {},
            ...pools.map((p) =>
                h(
                    "tr",
                    { "data-pool": p.name },
                    h("td", {}, p.name),
                    h("td", {}, p.flavors.join(" → ")),
                    h("td", {}, `${p.workers.static}/${p.min}`),
                    h("td", {}, `${p.workers.burst}/${p.max - p.min}`),
                    h(
                        "td",
                        { class: p.breaker.open ? "state-bad" : "" },
                        p.breaker.open
                            ? `stopped: ${p.breaker.reason ?? "breaker open"}`
                            : `${p.breaker.consecutiveFailures} failures in a row`,
                    ),
                    h(
                        "td",
                        { class: Object.keys(p.backingOff).length ? "state-bad" : "" },
                        Object.entries(p.backingOff)
                            .map(
                                ([flavor, until]) =>
                                    `${flavor} until ${new Date(until).toLocaleTimeString()}`,
                            )
                            .join(", "),
                    ),
                ),
            ),
        ),
    );
}

function queueTable(s: Snapshot): HTMLElement {
    const pending = s.jobs.filter((j) => j.state === "pending");
    if (!pending.length) return h("p", { id: "no-queue" }, "No job is waiting.");
    return h(
        "table",
        { id: "queue" },
        h(
            "thead",
            {},
            h(
                "tr",
                {},
                ...["Job", "Name", "User", "Nodes", "CPUs", "Reason", "Waiting"].map((t) =>
                    h("th", { scope: "col" }, t),
                ),
            ),
        ),
        h(
            "tbody",
            {},
            ...pending.map((j) =>
                h(
                    "tr",
                    {},
                    h("td", {}, j.id),
                    h("td", {}, j.name),
                    h("td", {}, j.user),
                    h("td", {}, String(j.nodeCount)),
                    h("td", {}, String(j.cpus)),
                    h("td", {}, j.reason || "none given"),
                    h("td", {}, age(j.submittedAt)),
                ),
            ),
        ),
    );
}

function eventsList(s: Snapshot): HTMLElement {
    const events = [...s.events].reverse().slice(0, 100);
    if (!events.length) return h("p", {}, "No events yet.");
    return h(
        "ol",
        { class: "events", id: "events" },
        ...events.map((e) =>
            h(
                "li",
                {},
                h(
                    "span",
                    {
                        class:
                            e.level === "error"
                                ? "state-bad"
                                : e.level === "warn"
                                  ? "state-warn"
                                  : "",
                    },
                    e.level.toUpperCase(),
                ),
                ` ${time(e.at)} `,
                e.node ? `${e.node}: ` : "",
                e.message,
            ),
        ),
    );
}

function stateCards(s: Snapshot): HTMLElement {
    const st = s.status;
    const breaker = st.breaker.open
        ? h(
              "div",
              { class: "card", id: "breaker" },
              "Launch breaker",
              h("b", { class: "state-bad" }, "open: no launches"),
              st.breaker.reason ?? "",
              h(
                  "div",
                  {},
                  "Clear it with ",
                  h("code", {}, "dynamic-cluster breaker reset"),
                  " or ",
              ),
              button(
                  "Reset breaker",
                  () =>
                      void act(
                          "Reset the launch breaker? Launches start again.",
                          "Breaker reset.",
                          () => api.change("POST", "/breaker/reset"),
                      ),
              ),
          )
        : h(
              "div",
              { class: "card", id: "breaker" },
              "Launch breaker",
              h("b", { class: "state-ok" }, "closed"),
              `${st.breaker.consecutiveFailures} of ${st.breaker.threshold} failures in a row`,
          );
    const auto = h(
        "div",
        { class: "card", id: "auto-mode" },
        "Auto mode",
        h(
            "b",
            { class: st.autoMode ? "state-ok" : "state-warn" },
            st.autoMode ? "on" : "off: nothing is launched or removed",
        ),
        st.autoMode
            ? button(
                  "Turn off",
                  () =>
                      void act(
                          "Turn auto mode off? No worker is launched or removed until it is on again.",
                          "Auto mode off.",
                          () => api.change("PUT", "/auto", { on: false }),
                      ),
              )
            : h(
                  "span",
                  {},
                  h("code", {}, "dynamic-cluster auto on"),
                  " or ",
                  button(
                      "Turn on",
                      () =>
                          void act("Turn auto mode on?", "Auto mode on.", () =>
                              api.change("PUT", "/auto", { on: true }),
                          ),
                  ),
              ),
    );
    const pending = s.jobs.filter((j) => j.state === "pending").length;
    const running = s.jobs.filter((j) => j.state === "running").length;
    const errors = Object.entries(st.errors);
    return h(
        "section",
        { class: "cards", "aria-label": "Cluster state" },
        h(
            "div",
            { class: "card" },
            "Workers",
            h(
                "b",
                { id: "worker-count" },
                String(st.pools.static.workers + st.pools.burst.workers),
            ),
            `floor ${st.pools.static.workers}/${st.pools.static.size}, burst ${st.pools.burst.workers}/${st.pools.burst.size}`,
        ),
        h("div", { class: "card" }, "Jobs", h("b", {}, `${running} running`), `${pending} waiting`),
        auto,
        breaker,
        h(
            "div",
            { class: "card" },
            "Last observation",
            h(
                "b",
                { class: errors.length ? "state-bad" : "state-ok" },
                `${st.observationAgeSeconds} s ago`,
            ),
            ...errors.map(([k, v]) => h("div", { class: "state-bad" }, `${k}: ${v}`)),
        ),
    );
}

function overview(s: Snapshot): HTMLElement[] {
    return [
        stateCards(s),
        h("h2", {}, "Workers"),
        workersTable(s),
        ...((s.status.workerPools?.length ?? 0) > 1
            ? [h("h2", {}, "Worker pools"), poolsTable(s)]
            : []),
        h("h2", {}, "Queue"),
        queueTable(s),
        h("h2", {}, "Recent events"),
        eventsList(s),
    ];
}

function workerPage(s: Snapshot, node: string): HTMLElement[] {
    const w = s.workers.find((x) => x.node === node);
    if (!w)
        return [
            h("p", { class: "message error" }, `No worker named ${node}.`),
            h("a", { href: "#/" }, "Back to the overview"),
        ];
    const facts: Array<[string, string]> = [
        ["Pool", w.pool],
        ["Phase", phaseText(w) + (w.held ? ", held" : "")],
        ["Why", w.note ?? ""],
        ["Address", w.address ?? ""],
        ["Server", `${w.serverId ?? ""} ${w.serverStatus ?? ""}`.trim()],
        ["Minion", `${w.minionId ?? ""} ${w.keyState ? `(key ${w.keyState})` : ""}`.trim()],
        ["Slurm", w.schedulerState ?? ""],
        ["Age", age(w.launchedAt)],
    ];
    return [
        h("p", {}, h("a", { href: "#/" }, "Overview"), ` / ${node}`),
        h("h2", {}, node),
        h(
            "table",
            { id: "worker-facts" },
            h(
                "tbody",
                {},
                ...facts.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))),
            ),
        ),
        h("table", {}, h("tbody", {}, h("tr", {}, workerActions(w)))),
    ];
}

function mountWorkerCharts(node: string, prefix: string): void {
    const n = `${prefix}.nodes.${metricComponent(node)}`;
    const grid = h("section", { class: "charts", "aria-label": "Graphs" });
    main.append(h("h2", {}, "Graphs (up to the last hour)"), grid);
    const from = "-1h";
    leaveView.push(
        mountChart(grid, {
            title: "Load",
            unit: "load",
            from,
            series: [
                { target: `${n}.load.1m`, label: "1 min" },
                { target: `${n}.load.5m`, label: "5 min" },
                { target: `${n}.load.15m`, label: "15 min" },
            ],
        }),
        mountChart(grid, {
            title: "Memory used",
            unit: "%",
            from,
            series: [{ target: `${n}.memory.used_percent`, label: "used" }],
        }),
        mountChart(grid, {
            title: "Network",
            unit: "bytes/s",
            from,
            series: [
                { target: `sumSeries(${n}.net.*.rx_bytes_per_second)`, label: "received" },
                { target: `sumSeries(${n}.net.*.tx_bytes_per_second)`, label: "sent" },
            ],
        }),
        mountChart(grid, {
            title: "Disk used",
            unit: "%",
            from,
            series: [{ target: `maxSeries(${n}.disk.*.used_percent)`, label: "fullest disk" }],
        }),
    );
}

function mountClusterChart(prefix: string, pools: readonly WorkerPoolReport[]): void {
    const grid = h("section", { class: "charts", "aria-label": "Cluster graph" });
    main.prepend(grid);
    leaveView.push(
        mountChart(grid, {
            title: "Cluster size against queued and running jobs (up to the last 2 h)",
            unit: "count",
            from: "-2h",
            series: [
                { target: `sumSeries(${prefix}.workers.*)`, label: "workers" },
                { target: `${prefix}.jobs.pending`, label: "jobs waiting" },
                { target: `${prefix}.jobs.running`, label: "jobs running" },
            ],
        }),
    );
    if (pools.length > 1) {
        leaveView.push(
            mountChart(grid, {
                title: "Workers per pool (up to the last 2 h)",
                unit: "count",
                from: "-2h",
                series: pools.map((p) => ({
                    target: `${prefix}.pools.${p.name}.workers`,
                    label: p.name,
                })),
            }),
        );
    }
}

/** The view the location's hash names. */
function route(): { view: "overview" } | { view: "worker"; node: string } {
    const m = /^#\/workers\/([a-z][a-z0-9-]{0,39})$/.exec(location.hash);
    return m ? { view: "worker", node: m[1]! } : { view: "overview" };
}

let drawnRoute = "";

/** Draws the current view from the latest snapshot (charts only when the view changes). */
function render(): void {
    if (!snapshot) return;
    const started = performance.now();
    const r = route();
    const key = r.view === "worker" ? `worker:${r.node}` : "overview";
    document.getElementById("cluster-name")!.textContent = snapshot.status.cluster.name;
    const parts = r.view === "worker" ? workerPage(snapshot, r.node) : overview(snapshot);
    const notice = message
        ? h(
              "p",
              {
                  class: message.error ? "message error" : "message",
                  role: "status",
                  id: "action-message",
              },
              message.text,
          )
        : undefined;
    const content = h("div", { id: "content" }, ...(notice ? [notice] : []), ...parts);
    const prefix = snapshot.status.metricsPrefix;
    const focused = document.activeElement?.getAttribute("data-key");
    if (key !== drawnRoute) {
        for (const stop of leaveView) stop();
        leaveView = [];
        main.replaceChildren(content);
        drawnRoute = key;
        if (prefix) {
            if (r.view === "worker") mountWorkerCharts(r.node, prefix);
            else mountClusterChart(prefix, snapshot.status.workerPools ?? []);
        }
    } else {
        document.getElementById("content")?.replaceWith(content);
        // A redraw keeps the keyboard where it was.
        if (focused)
            (
                content.querySelector(`[data-key="${CSS.escape(focused)}"]`) as HTMLElement | null
            )?.focus();
    }
    // How long a draw took, as a User Timing entry (DevTools, bench/dashboard-render.ts); only
    // the latest is kept.
    performance.clearMeasures("dc-render");
    performance.measure("dc-render", { start: started });
}

/** Subscribes to the service's snapshots. */
function subscribe(): void {
    stream?.close();
    const live = new EventSource("/api/v1/stream");
    stream = live;
    live.addEventListener("snapshot", (event) => {
        snapshot = JSON.parse((event as MessageEvent<string>).data) as Snapshot;
        render();
    });
    live.addEventListener("error", () => {
        void api.session().then(
            (info) => (info ? undefined : showLogin("Your session ended; log in again.")),
            () => undefined,
        );
    });
}

/** After a login (or with a live session): the app. */
async function start(): Promise<void> {
    const info = await api.session();
    if (!info) return showLogin();
    const logout = button("Log out", () => {
        void api.change("POST", "/logout").finally(() => showLogin("Logged out."));
    });
    document.getElementById("who")!.replaceChildren(`${info.user} `, logout);
    drawnRoute = "";
    main.replaceChildren(h("p", {}, "Waiting for the first snapshot…"));
    subscribe();
}

window.addEventListener("hashchange", () => {
    message = undefined;
    render();
});
void start().catch((err: unknown) =>
    showLogin(`The service did not answer: ${(err as Error).message}`),
);
