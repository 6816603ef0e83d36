/**
 * Worker node names, the one scheme every part uses: the program (pillar prefixes, the
 * WorkerPool's servers), the head-node service (its pools, the nodes in use) and, through the
 * prefixes the pillar carries, the Salt tree's slurm.conf (`<prefix>-[1-N]` host lists).
 * `<namePrefix>-st-<n>` is the static floor (Pulumi's), `<namePrefix>-dy-<n>` the burst pool (the
 * service's), n from 1.
 */
import type { WorkerPoolKind } from "./tags";

/** The name prefix of a pool's nodes: `<namePrefix>-st` or `<namePrefix>-dy`. */
export function poolNodePrefix(namePrefix: string, pool: WorkerPoolKind): string {
    return `${namePrefix}-${pool === "static" ? "st" : "dy"}`;
}

/** Node `index` of a pool: `<prefix>-<index>`. */
export function nodeName(prefix: string, index: number): string {
    return `${prefix}-${index}`;
}

/** Node names `<prefix>-1` .. `<prefix>-<count>`. */
export function nodeRange(prefix: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => nodeName(prefix, i + 1));
}

/**
 * The index of `<prefix>-<n>` (n from 1, at most six digits: far above any pool), or undefined
 * for any other name.
 */
export function indexOfNodeName(prefix: string, name: string | undefined): number | undefined {
    if (!name?.startsWith(`${prefix}-`)) return undefined;
    const rest = name.slice(prefix.length + 1);
    return /^[1-9][0-9]{0,5}$/.test(rest) ? Number(rest) : undefined;
}

/** What a worker node name says: its pool, whether static or burst, and its number. */
export interface ParsedNodeName {
    /** The pool's name (`workers.namePrefix` for the default pool, `pools[].name` otherwise). */
    pool: string;
    kind: WorkerPoolKind;
    index: number;
}

/**
 * A pool's name: 1-16 lower-case letters or digits, starting with a letter, so that
 * `<pool>-st-<n>` and `<pool>-dy-<n>` read back unambiguously (a pool name has no `-`).
 */
export const POOL_NAME_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

const NODE_NAME = /^([a-z][a-z0-9]{0,15})-(st|dy)-([1-9][0-9]{0,5})$/;

/**
 * Reads a worker node name `<pool>-st-<n>` or `<pool>-dy-<n>` (the one parser of the scheme;
 * {@link poolNodePrefix} and {@link nodeName} write it), or undefined for any other name.
 */
export function parseNodeName(name: string | undefined): ParsedNodeName | undefined {
    const match = name === undefined ? null : NODE_NAME.exec(name);
    if (!match) return undefined;
    return {
        pool: match[1]!,
        kind: match[2] === "st" ? "static" : "burst",
        index: Number(match[3]),
    };
}
