/**
 * Salt master key fingerprints, computed exactly as Salt's `salt.utils.crypt.pem_finger` does, so
 * workers can pin the master with `master_finger` in their user-data.
 *
 * Salt reads the PEM file's lines (keeping their line endings), drops blank lines and the
 * BEGIN/END lines, hashes the rest with SHA-256 and prints the hex digest in colon-separated
 * pairs. The key file written to the head node must be byte-identical to the PEM hashed here.
 */
import { createHash } from "node:crypto";

/**
 * Returns Salt's `master_finger` for a PEM public key, e.g. `4f:1a:...` (32 pairs).
 *
 * @throws Error when the text is not a PEM block.
 */
export function saltPemFinger(pem: string): string {
    const lines = pem.match(/[^\n]*\n|[^\n]+$/g) ?? [];
    const nonBlank = lines.filter((line) => line.trim() !== "");
    if (
        nonBlank.length < 3 ||
        !nonBlank[0]!.startsWith("-----BEGIN ") ||
        !nonBlank[nonBlank.length - 1]!.startsWith("-----END ")
    ) {
        throw new Error("The Salt master public key is not a PEM block (-----BEGIN ... -----END).");
    }
    const body = nonBlank.slice(1, -1).join("");
    const hex = createHash("sha256").update(body, "utf8").digest("hex");
    return hex.match(/../g)!.join(":");
}
