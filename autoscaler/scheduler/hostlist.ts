/**
 * Slurm host lists: `compute-dy-[1-3,7],head` <-> `["compute-dy-1", ..., "head"]`.
 *
 * Slurm hands ResumeProgram/SuspendProgram one host-list argument; the service expands it here
 * (no `scontrol show hostnames` process per call) and compresses node sets back for `scontrol
 * update nodename=...`. Supports several bracket groups per item, comma lists and zero-padded
 * ranges (`n[01-10]`), as Slurm's own hostlist.c does.
 */

/** Thrown for a host list that is not well formed; the message names the bad part. */
export class HostListError extends Error {
    override name = "HostListError";
}

/** Upper bound on the names one host list may expand to (a typo must not allocate millions). */
export const MAX_HOSTLIST_SIZE = 100_000;

function expandRanges(body: string, item: string): string[] {
    const values: string[] = [];
    for (const part of body.split(",")) {
        const match = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!match) throw new HostListError(`Bad range "${part}" in host list item "${item}".`);
        const [, lowText, highText] = match as unknown as [string, string, string | undefined];
        const low = Number(lowText);
        const high = highText === undefined ? low : Number(highText);
        if (high < low) throw new HostListError(`Range "${part}" in "${item}" runs backwards.`);
        if (high - low + 1 > MAX_HOSTLIST_SIZE) {
            throw new HostListError(`Range "${part}" in "${item}" is too large.`);
        }
        const width = lowText.length;
        for (let n = low; n <= high; n++) values.push(String(n).padStart(width, "0"));
    }
    return values;
}

function expandItem(item: string): string[] {
    let names = [""];
    let rest = item;
    while (rest.length > 0) {
        const open = rest.indexOf("[");
        if (open === -1) {
            if (rest.includes("]")) throw new HostListError(`Unbalanced "]" in "${item}".`);
            names = names.map((n) => n + rest);
            break;
        }
        const close = rest.indexOf("]", open);
        if (close === -1) throw new HostListError(`Unbalanced "[" in "${item}".`);
        const literal = rest.slice(0, open);
        if (literal.includes("]")) throw new HostListError(`Unbalanced "]" in "${item}".`);
        const values = expandRanges(rest.slice(open + 1, close), item);
        if (names.length * values.length > MAX_HOSTLIST_SIZE) {
            throw new HostListError(`Host list item "${item}" expands to too many names.`);
        }
        names = names.flatMap((n) => values.map((v) => n + literal + v));
        rest = rest.slice(close + 1);
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
 * @throws HostListError for malformed lists, empty items or lists over {@link MAX_HOSTLIST_SIZE}.
 */
export function expandHostList(list: string): string[] {
    const trimmed = list.trim();
    if (trimmed === "") return [];
    const seen = new Set<string>();
    for (const item of splitTopLevel(trimmed)) {
        if (item === "") throw new HostListError(`Empty item in host list "${list}".`);
        for (const name of expandItem(item)) {
            seen.add(name);
            if (seen.size > MAX_HOSTLIST_SIZE) {
                throw new HostListError(`Host list "${list.slice(0, 80)}" is too large.`);
            }
        }
    }
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
