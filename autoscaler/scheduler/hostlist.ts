/**
 * Slurm host lists: `compute-dy-[1-3,7],head` <-> `["compute-dy-1", ..., "head"]`.
 *
 * Slurm hands ResumeProgram/SuspendProgram one host-list argument; the service expands it here
 * (no `scontrol show hostnames` process per call) and compresses node sets back for `scontrol
 * update nodename=...`. Supports several bracket groups per item, comma lists and zero-padded
 * ranges (`n[01-10]`), as Slurm's own hostlist.c does. Expansion is bounded by the caller's
 * node count, checked by counting before building (a host list comes from API callers).
 */

/** Thrown for a host list that is malformed or names too many nodes; the message says which. */
export class HostListError extends Error {
    override name = "HostListError";
}

/** One range of a bracket group: `low` to `high`, zero-padded to `width` digits. */
interface Range {
    low: number;
    high: number;
    width: number;
}

/** An item split into literal text and bracket groups: `r[1-2]-n[3]` -> "r", [..], "-n", [..]. */
type Segment = string | Range[];

function parseRanges(body: string, item: string): Range[] {
    const ranges: Range[] = [];
    for (const part of body.split(",")) {
        const match = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!match) throw new HostListError(`Bad range "${part}" in host list item "${item}".`);
        const [, lowText, highText] = match as unknown as [string, string, string | undefined];
        const low = Number(lowText);
        const high = highText === undefined ? low : Number(highText);
        if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high)) {
            throw new HostListError(`Range "${part}" in "${item}" has a number too large.`);
        }
        if (high < low) throw new HostListError(`Range "${part}" in "${item}" runs backwards.`);
        ranges.push({ low, high, width: lowText.length });
    }
    return ranges;
}

function parseItem(item: string): Segment[] {
    const segments: Segment[] = [];
    let rest = item;
    while (rest.length > 0) {
        const open = rest.indexOf("[");
        if (open === -1) {
            if (rest.includes("]")) throw new HostListError(`Unbalanced "]" in "${item}".`);
            segments.push(rest);
            break;
        }
        const close = rest.indexOf("]", open);
        if (close === -1) throw new HostListError(`Unbalanced "[" in "${item}".`);
        const literal = rest.slice(0, open);
        if (literal.includes("]")) throw new HostListError(`Unbalanced "]" in "${item}".`);
        segments.push(literal, parseRanges(rest.slice(open + 1, close), item));
        rest = rest.slice(close + 1);
    }
    return segments;
}

/** Names an item expands to, by arithmetic (BigInt: a product of groups may exceed 2^53). */
function countItem(segments: Segment[]): bigint {
    let count = 1n;
    for (const segment of segments) {
        if (typeof segment === "string") continue;
        let group = 0n;
        for (const r of segment) group += BigInt(r.high - r.low + 1);
        count *= group;
    }
    return count;
}

function expandItem(segments: Segment[]): string[] {
    let names = [""];
    for (const segment of segments) {
        if (typeof segment === "string") {
            names = names.map((n) => n + segment);
            continue;
        }
        const values: string[] = [];
        for (const { low, high, width } of segment) {
            for (let n = low; n <= high; n++) values.push(String(n).padStart(width, "0"));
        }
        names = names.flatMap((n) => values.map((v) => n + v));
    }
    return names;
}

/** Splits at commas that are not inside brackets. */
function splitTopLevel(list: string): string[] {
    const items: string[] = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < list.length; i++) {
        const c = list[i];
        if (c === "[") depth++;
        else if (c === "]") depth--;
        else if (c === "," && depth === 0) {
            items.push(list.slice(start, i));
            start = i + 1;
        }
    }
    items.push(list.slice(start));
    return items;
}

/**
 * Expands a Slurm host list into node names, in order, without duplicates.
 *
 * The whole list is parsed and the names it would produce are counted arithmetically before any
 * name is built, so a short list naming billions of nodes (`c-[1-99999,1-99999,...]`) is refused
 * at once instead of exhausting memory. Duplicates count as written (Slurm sends none).
 *
 * @param list the host list, e.g. `compute-dy-[1-3,7],head`.
 * @param maxNames the most names the list may expand to: the number of nodes the cluster has.
 * @throws HostListError for malformed lists, empty items, or lists naming more than `maxNames`
 *     nodes ("host list names N nodes, more than the cluster's M").
 */
export function expandHostList(list: string, maxNames: number): string[] {
    if (!Number.isSafeInteger(maxNames) || maxNames < 0) {
        throw new RangeError(`maxNames must be a whole number >= 0, not ${maxNames}.`);
    }
    const trimmed = list.trim();
    if (trimmed === "") return [];
    const items = splitTopLevel(trimmed).map((item) => {
        if (item === "") throw new HostListError(`Empty item in host list "${list.slice(0, 80)}".`);
        return parseItem(item);
    });
    const total = items.reduce((sum, segments) => sum + countItem(segments), 0n);
    if (total > BigInt(maxNames)) {
        throw new HostListError(
            `host list names ${total} nodes, more than the cluster's ${maxNames} ` +
                `("${list.slice(0, 80)}${list.length > 80 ? "..." : ""}").`,
        );
    }
    const seen = new Set<string>();
    for (const segments of items) for (const name of expandItem(segments)) seen.add(name);
    return [...seen];
}

/**
 * Compresses node names into a host list: names sharing a prefix and ending in a number of the
 * same width become one bracket group (`c-1,c-2,c-3,c-7` -> `c-[1-3,7]`). The result expands
 * back to the same set.
 */
export function compressHostList(names: Iterable<string>): string {
    const groups = new Map<string, number[]>();
    const plain: string[] = [];
    for (const name of new Set(names)) {
        const match = /^(.*?)(\d+)$/.exec(name);
        if (!match) {
            plain.push(name);
            continue;
        }
        const [, prefix, digits] = match as unknown as [string, string, string];
        // Zero-padded numbers keep their width, so group by prefix and width.
        const key = `${prefix}\0${digits.length > 1 && digits.startsWith("0") ? digits.length : 0}`;
        const list = groups.get(key) ?? [];
        list.push(Number(digits));
        groups.set(key, list);
    }
    const out = [...plain.sort()];
    for (const [key, numbers] of [...groups.entries()].sort()) {
        const [prefix, widthText] = key.split("\0") as [string, string];
        const width = Number(widthText);
        const fmt = (n: number): string => (width ? String(n).padStart(width, "0") : String(n));
        const sorted = [...new Set(numbers)].sort((a, b) => a - b);
        if (sorted.length === 1) {
            out.push(prefix + fmt(sorted[0]!));
            continue;
        }
        const ranges: string[] = [];
        for (let i = 0; i < sorted.length;) {
            let j = i;
            while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
            ranges.push(i === j ? fmt(sorted[i]!) : `${fmt(sorted[i]!)}-${fmt(sorted[j]!)}`);
            i = j + 1;
        }
        out.push(`${prefix}[${ranges.join(",")}]`);
    }
    return out.join(",");
}
