/**
 * Graphs from Graphite's render API (`/graphite/render`, behind the same login through the
 * proxy), drawn with uPlot. One chart is one or more Graphite targets over a time range; it
 * refreshes itself until the view that owns it is left.
 */
import uPlot from "uplot";

/** One line of a chart: its Graphite target and legend label. */
export interface ChartSeries {
    target: string;
    label: string;
}

/** A chart's definition. */
export interface ChartSpec {
    title: string;
    series: ChartSeries[];
    /** Graphite `from`, e.g. `-2h`. */
    from: string;
    /** Unit shown on the axis. */
    unit: string;
}

interface RenderedSeries {
    target: string;
    datapoints: Array<[number | null, number]>;
}

const STROKES = ["#0969da", "#bc4c00", "#116329", "#8250df", "#a40e26"];
const DASHES = [[], [6, 3], [2, 2], [10, 3, 2, 3], [1, 4]];

/** Fetches the series of a chart as uPlot data (shared x axis, seconds). */
export async function fetchSeries(spec: ChartSpec): Promise<uPlot.AlignedData> {
    const query = new URLSearchParams({ format: "json", from: spec.from });
    for (const s of spec.series) query.append("target", `alias(${s.target},"${s.label}")`);
    const res = await fetch(`/graphite/render?${query.toString()}`, { credentials: "same-origin" });
    if (!res.ok) throw new Error(`Graphite answered ${res.status}`);
    const rendered = (await res.json()) as RenderedSeries[];
    const times = new Set<number>();
    for (const r of rendered) for (const [, t] of r.datapoints) times.add(t);
    const xs = [...times].sort((a, b) => a - b);
    const index = new Map(xs.map((t, i) => [t, i]));
    const columns = spec.series.map((s) => {
        const column: Array<number | null> = new Array<number | null>(xs.length).fill(null);
        const found = rendered.find((r) => r.target === s.label);
        for (const [value, t] of found?.datapoints ?? []) column[index.get(t)!] = value;
        return column;
    });
    // A young cluster or worker has data only at the end of the range: the chart starts at its
    // first value (showing at least the last 10 minutes), so a few points are not a sliver at
    // the right edge.
    const first = xs.findIndex((_, i) => columns.some((c) => c[i] !== null));
    let start = first < 0 ? 0 : first;
    const minimumStart = (xs[xs.length - 1] ?? 0) - 600;
    while (start > 0 && xs[start - 1]! >= minimumStart) start--;
    return [xs.slice(start), ...columns.map((c) => c.slice(start))] as uPlot.AlignedData;
}

/** A chart in `container`; returns a function that stops its refreshing. */
export function mountChart(
    container: HTMLElement,
    spec: ChartSpec,
    refreshMs = 30_000,
): () => void {
    const box = document.createElement("figure");
    box.className = "chart";
    const title = document.createElement("h3");
    title.textContent = spec.title;
    const status = document.createElement("p");
    status.className = "live";
    status.textContent = "Loading…";
    box.append(title, status);
    container.append(box);
    let plot: uPlot | undefined;
    let stopped = false;
    const width = () => Math.max(300, box.clientWidth - 16);
    const draw = async () => {
        try {
            const data = await fetchSeries(spec);
            if (stopped) return;
            const points = data[0].length;
            status.textContent = points
                ? ""
                : "No data yet: the series appear once the first values are stored.";
            if (!plot) {
                plot = new uPlot(
                    {
                        width: width(),
                        height: 200,
                        series: [
                            {},
                            ...spec.series.map((s, i) => ({
                                label: s.label,
                                stroke: STROKES[i % STROKES.length],
                                dash: DASHES[i % DASHES.length],
                                width: 2,
                                spanGaps: true,
                                // Few values (a new worker): dots, since a single value
                                // draws no line; many: the line alone.
                                points: {
                                    size: 5,
                                    show: (u: uPlot, si: number) =>
                                        Array.from(u.data[si] ?? [], (v) => v).filter(
                                            (v) => v != null,
                                        ).length < 60,
                                },
                            })),
                        ],
                        axes: [{}, { label: spec.unit }],
                    },
                    data,
                    box,
                );
            } else {
                plot.setData(data);
            }
        } catch (err) {
            if (!stopped) status.textContent = `Graphs unavailable: ${(err as Error).message}`;
        }
    };
    void draw();
    const timer = window.setInterval(() => void draw(), refreshMs);
    const resize = () => plot?.setSize({ width: width(), height: 200 });
    window.addEventListener("resize", resize);
    return () => {
        stopped = true;
        window.clearInterval(timer);
        window.removeEventListener("resize", resize);
        plot?.destroy();
    };
}
