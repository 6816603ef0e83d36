/**
 * The sweep's plot as a standalone SVG: node-hours (cost) against mean wait, one point per
 * (workers.max, idleTimeout), the Pareto front joined by a line, the recommended point ringed,
 * the reference policies as labelled markers, and the naive reference's curve (one triangle per
 * idle timeout, joined by a dotted line; filled when no sweep point beats it). Shapes and labels carry the meaning, so it
 * reads without colour. Drawn by hand: one static file of circles, lines and text, no
 * interaction, so a charting library (and a browser to run it) would add more than it saves.
 */
import type { PolicyResult } from "./model";
import { complete, type NaivePoint, type SweepPoint } from "./sweep";

const W = 980;
const H = 500;
const M = { left: 80, right: 400, top: 40, bottom: 60 };
/** Waits below this are drawn at it (the wait axis is logarithmic). */
const WAIT_FLOOR_H = 1 / 60;

/**
 * Renders the plot. Sweep points where jobs did not fit or never ran are left out (they are
 * cheap because work was dropped); the wait axis is logarithmic (waits span minutes to days).
 */
export function sweepSvg(
    title: string,
    points: readonly SweepPoint[],
    references: readonly PolicyResult[],
    chosen?: SweepPoint,
    naive: readonly NaivePoint[] = [],
): string {
    const shown = points.filter((p) => complete(p.result));
    const refs = references.filter(complete);
    const naiveShown = naive.filter((n) => complete(n.result));
    const all = [...shown.map((p) => p.result), ...refs, ...naiveShown.map((n) => n.result)];
    const hours = (r: PolicyResult) => Math.max(WAIT_FLOOR_H, r.waitMean / 3600);
    const xs = all.map((r) => r.nodeHours);
    const [x0, x1] = padded(Math.min(...xs), Math.max(...xs));
    const ly0 = Math.floor(Math.log10(Math.min(...all.map(hours))));
    const ly1 = Math.ceil(Math.log10(Math.max(...all.map(hours)))) || ly0 + 1;
    const px = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
    const py = (h: number) =>
        H - M.bottom - ((Math.log10(h) - ly0) / Math.max(1, ly1 - ly0)) * (H - M.top - M.bottom);
    const at = (r: PolicyResult): [number, number] => [px(r.nodeHours), py(hours(r))];
    const out: string[] = [];
    out.push(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
        `<title>${esc(title)}</title>`,
        `<rect width="${W}" height="${H}" fill="white"/>`,
        `<text x="${M.left}" y="22" font-size="15">${esc(title)}</text>`,
        `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
        `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`,
    );
    for (let i = 0; i <= 5; i++) {
        const x = x0 + ((x1 - x0) * i) / 5;
        out.push(
            `<line x1="${px(x)}" y1="${H - M.bottom}" x2="${px(x)}" y2="${H - M.bottom + 5}" stroke="black"/>`,
            `<text x="${px(x)}" y="${H - M.bottom + 18}" text-anchor="middle">${fmt(x)}</text>`,
        );
    }
    for (let e = ly0; e <= ly1; e++) {
        const y = py(10 ** e);
        out.push(
            `<line x1="${M.left - 5}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#ddd"/>`,
            `<text x="${M.left - 8}" y="${y + 4}" text-anchor="end">${waitLabel(10 ** e)}</text>`,
        );
    }
    out.push(
        `<text x="${(M.left + W - M.right) / 2}" y="${H - 15}" text-anchor="middle">node-hours billed</text>`,
        `<text transform="translate(20 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">mean wait (log scale)</text>`,
    );
    // Pareto front, numbered; the list is beside the plot.
    const front = shown
        .filter((p) => p.pareto)
        .sort((a, b) => a.result.nodeHours - b.result.nodeHours);
    const joined = (results: PolicyResult[], stroke: string, dashes: string): void => {
        if (results.length < 2) return;
        const d = results.map((r) => at(r).join(",")).join(" ");
        out.push(
            `<polyline points="${d}" fill="none" stroke="${stroke}" stroke-dasharray="${dashes}"/>`,
        );
    };
    joined(
        front.map((p) => p.result),
        "black",
        "4 3",
    );
    for (const p of shown) {
        const [cx, cy] = at(p.result);
        const label = `max ${p.max}, idle ${p.idleTimeout} s: ${fmt(p.result.nodeHours)} node-h, mean wait ${waitLabel(p.result.waitMean / 3600)}`;
        out.push(
            `<circle cx="${cx}" cy="${cy}" r="4" fill="${p.pareto ? "black" : "white"}" stroke="black"><title>${esc(label)}</title></circle>`,
        );
    }
    front.forEach((p, i) => {
        const [cx, cy] = at(p.result);
        out.push(
            `<text x="${cx - 4}" y="${cy - 8}" font-size="11" font-weight="bold">${i + 1}</text>`,
        );
    });
    if (chosen && complete(chosen.result)) {
        const [cx, cy] = at(chosen.result);
        out.push(
            `<circle cx="${cx}" cy="${cy}" r="9" fill="none" stroke="black" stroke-width="2"/>`,
        );
    }
    // The naive curve: triangles in idle-timeout order, joined; filled where nothing beats it.
    joined(
        naiveShown.map((n) => n.result),
        "grey",
        "1 3",
    );
    for (const n of naiveShown) {
        const [cx, cy] = at(n.result);
        const label = `naive, idle ${n.idleTimeout} s: ${fmt(n.result.nodeHours)} node-h, mean wait ${waitLabel(n.result.waitMean / 3600)}${n.beatenBy ? `; beaten by max ${n.beatenBy.max}, idle ${n.beatenBy.idleTimeout} s` : "; no sweep point beats it"}`;
        out.push(
            `<path d="${triangle(cx, cy)}" fill="${n.beatenBy ? "white" : "grey"}" stroke="black"><title>${esc(label)}</title></path>`,
            `<text x="${cx + 7}" y="${cy + 4}" font-size="10">${n.idleTimeout} s</text>`,
        );
    }
    // Reference policies: squares, labelled (alternately above and below, so they do not overlap).
    refs.forEach((r, i) => {
        const [cx, cy] = at(r);
        out.push(
            `<rect x="${cx - 5}" y="${cy - 5}" width="10" height="10" fill="grey" stroke="black"><title>${esc(`${r.policy}: ${fmt(r.nodeHours)} node-h, mean wait ${waitLabel(r.waitMean / 3600)}`)}</title></rect>`,
            `<text x="${cx + 8}" y="${cy + (i % 2 ? -8 : 16)}">${esc(r.policy)}</text>`,
        );
    });
    // Legend and the Pareto list.
    const lx = W - M.right + 20;
    let ly = M.top + 10;
    const row = (svg: string, text: string) => {
        out.push(svg, `<text x="${lx + 12}" y="${ly + 4}">${esc(text)}</text>`);
        ly += 20;
    };
    row(`<circle cx="${lx}" cy="${ly}" r="4" fill="black"/>`, "Pareto point (numbered below)");
    row(`<circle cx="${lx}" cy="${ly}" r="4" fill="white" stroke="black"/>`, "other sweep point");
    row(
        `<circle cx="${lx}" cy="${ly}" r="8" fill="none" stroke="black" stroke-width="2"/>`,
        "recommended",
    );
    row(
        `<rect x="${lx - 5}" y="${ly - 5}" width="10" height="10" fill="grey" stroke="black"/>`,
        "reference policy",
    );
    if (naiveShown.length) {
        row(
            `<path d="${triangle(lx, ly)}" fill="white" stroke="black"/>`,
            "naive reference at an idle timeout, beaten",
        );
        row(
            `<path d="${triangle(lx, ly)}" fill="grey" stroke="black"/>`,
            "naive reference no sweep point beats",
        );
    }
    ly += 10;
    out.push(
        `<text x="${lx - 6}" y="${ly}" font-weight="bold">Pareto front (max, idle timeout):</text>`,
    );
    ly += 18;
    front.forEach((p, i) => {
        const mark = p === chosen ? " (recommended)" : "";
        out.push(
            `<text x="${lx - 6}" y="${ly}">${i + 1}. max ${p.max}, ${p.idleTimeout} s: ${fmt(p.result.nodeHours)} node-h, ${esc(waitLabel(p.result.waitMean / 3600))}${mark}</text>`,
        );
        ly += 16;
    });
    const dropped = points.length - shown.length;
    if (dropped) {
        ly += 8;
        out.push(
            `<text x="${lx - 6}" y="${ly}">${dropped} sweep point(s) where jobs did not fit or run: not drawn</text>`,
        );
    }
    out.push(`</svg>`);
    return out.join("\n") + "\n";
}

/** A triangle marker centred on (cx, cy). */
function triangle(cx: number, cy: number): string {
    return `M${cx} ${cy - 6} L${cx + 6} ${cy + 5} L${cx - 6} ${cy + 5} Z`;
}

function padded(lo: number, hi: number): [number, number] {
    const span = hi - lo || Math.abs(hi) || 1;
    return [Math.max(0, lo - span * 0.08), hi + span * 0.08];
}

function waitLabel(hours: number): string {
    if (hours < 1 / 60) return `${Math.round(hours * 3600)} s`;
    if (hours < 1) return `${Number((hours * 60).toPrecision(2))} min`;
    return `${Number(hours.toPrecision(3))} h`;
}

function fmt(v: number): string {
    if (v >= 1000) return Math.round(v).toLocaleString("en-US");
    if (v >= 10) return v.toFixed(0);
    if (v >= 1) return v.toFixed(1);
    return v.toFixed(2);
}

function esc(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
