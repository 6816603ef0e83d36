/**
 * Salt minion IDs for workers: the scheduler node name plus at least 128 bits from a CSPRNG.
 *
 * The ID is the only thing a booting worker can show the Salt master, so it must be unguessable:
 * the Dynamic Cluster service accepts a key only for an ID it generated itself. Shared by the
 * WorkerPool provider (Pulumi side) and the head-node service.
 */
import { randomBytes } from "node:crypto";

/** RFC 4648 base32 alphabet, lower-cased (valid in hostnames, Salt IDs and Nova metadata). */
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** Number of random bytes in a minion ID (128 bits). */
export const MINION_ID_RANDOM_BYTES = 16;

/** Length of the random suffix: ceil(128 / 5) base32 characters. */
export const MINION_ID_SUFFIX_LENGTH = Math.ceil((MINION_ID_RANDOM_BYTES * 8) / 5);

/** Scheduler node names: lower-case letter first, then letters, digits and '-', max 40. */
export const NODE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

const MINION_ID_PATTERN = new RegExp(
    `^([a-z][a-z0-9-]{0,39})-([${BASE32}]{${MINION_ID_SUFFIX_LENGTH}})$`,
);

/** Encodes bytes as unpadded lower-case base32. */
export function base32(bytes: Uint8Array): string {
    let out = "";
    let buffer = 0;
    let bits = 0;
    for (const byte of bytes) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            out += BASE32[(buffer >>> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) {
        out += BASE32[(buffer << (5 - bits)) & 31];
    }
    return out;
}

/**
 * Returns a fresh minion ID for the worker that will register as `nodeName`,
 * e.g. `w-0003-k5x2...` (node name, a dash, 26 base32 characters).
 *
 * @param nodeName the scheduler node name; must match {@link NODE_NAME_PATTERN}.
 * @param random source of random bytes; only tests pass one.
 */
export function newMinionId(
    nodeName: string,
    random: (size: number) => Uint8Array = randomBytes,
): string {
    if (!NODE_NAME_PATTERN.test(nodeName)) {
        throw new Error(
            `Node name "${nodeName}" is not valid: use a lower-case letter followed by up to 39 ` +
                `lower-case letters, digits or '-'.`,
        );
    }
    return `${nodeName}-${base32(random(MINION_ID_RANDOM_BYTES))}`;
}

/** True when `id` has the shape of an ID made by {@link newMinionId}. */
export function isMinionId(id: string): boolean {
    return MINION_ID_PATTERN.test(id);
}

/** The node name inside a minion ID, or undefined when `id` is not a minion ID. */
export function nodeNameOfMinionId(id: string): string | undefined {
    return MINION_ID_PATTERN.exec(id)?.[1];
}
