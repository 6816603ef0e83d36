/**
 * Signed node stats. A worker's stats collector (salt/_modules/dc_stats.py) signs what it sends
 * with its minion key: `signed` is the JSON text `{"id": <its minion ID>, "metrics": {...},
 * "time": <epoch seconds>}` and `signature` the base64 RSA PKCS#1 v1.5 SHA-256 signature of its
 * UTF-8 bytes. The service verifies `signed` as received (no re-serialization, so number
 * formatting cannot differ) against the key the master accepted for the ID, so one worker cannot
 * write another's stats even though it can fire an event in the other's name.
 */
import { verify } from "node:crypto";

/** What the stats reactor forwards. */
export interface SignedStats {
    /** The ID the event claims (the reactor's `data['id']`). */
    id: string;
    /** The signed JSON text. */
    signed: string;
    /** Base64 signature of `signed`. */
    signature: string;
}

/** Verified stats. */
export interface VerifiedStats {
    time: number;
    metrics: Record<string, number>;
}

/**
 * Verifies `stats` against the minion's accepted public key (PEM); returns the stats when the
 * signature holds and the signed ID is the claimed one, else undefined.
 */
export function verifySignedStats(stats: SignedStats, publicKeyPem: string): VerifiedStats | undefined {
    let valid = false;
    try {
        valid = verify(
            "sha256",
            Buffer.from(stats.signed, "utf8"),
            publicKeyPem,
            Buffer.from(stats.signature, "base64"),
        );
    } catch {
        return undefined; // not a key Node can read, or a malformed signature
    }
    if (!valid) return undefined;
    let body: unknown;
    try {
        body = JSON.parse(stats.signed);
    } catch {
        return undefined;
    }
    const b = body as { id?: unknown; time?: unknown; metrics?: unknown };
    if (b.id !== stats.id || typeof b.time !== "number" || !Number.isFinite(b.time)) return undefined;
    if (b.metrics === null || typeof b.metrics !== "object" || Array.isArray(b.metrics)) return undefined;
    const metrics: Record<string, number> = {};
    for (const [name, value] of Object.entries(b.metrics as Record<string, unknown>)) {
        if (typeof value === "number" && Number.isFinite(value)) metrics[name] = value;
    }
    return { time: b.time, metrics };
}
