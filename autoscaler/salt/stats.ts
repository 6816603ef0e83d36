/**
 * Signed node stats. A worker's stats collector (salt/_modules/dc_stats.py) signs what it sends
 * with its minion key: `signed` is the JSON text `{"id": <its minion ID>, "metrics": {...},
 * "time": <epoch seconds>}` and `signature` the base64 RSA PKCS#1 v1.5 SHA-256 signature of its
 * UTF-8 bytes. The service verifies `signed` as received (no re-serialization, so number
 * formatting cannot differ) against the key the master accepted for the ID, so one worker cannot
 * write another's stats even though it can fire an event in the other's name.
 *
 * A signature proves who sent the figures, not that they are the collector's: a worker's root
 * could sign thousands of invented names, and each new name is a whisper file of about 1.25 MB
 * on the head node. Only the collector's own names are written ({@link collectorMetrics}), with
 * at most {@link MAX_INTERFACES} network interfaces per worker.
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

/**
 * The metric names the collector sends (salt/_modules/dc_stats.py `compute_metrics`; its mounts
 * are `/`, `/data`, `/tmp`, named root, data, tmp), and nothing else. test/unit/salt-stats.test.ts
 * holds the collector's real output to these.
 */
export const COLLECTOR_METRICS: readonly RegExp[] = [
    /^load\.(1m|5m|15m)$/,
    /^memory\.(total_bytes|used_bytes|used_percent)$/,
    /^disk\.(root|data|tmp)\.(total_bytes|used_percent)$/,
    /^cpu\.(user|system|iowait|steal|busy)_percent$/,
    // A Linux interface name has at most 15 characters; the collector makes it Graphite-safe.
    /^net\.[A-Za-z0-9_-]{1,15}\.(rx|tx)_bytes_per_second$/,
];

/** Network interfaces written per worker (the first ones seen); the others are refused. */
export const MAX_INTERFACES = 8;

/**
 * The metrics of one worker's stats that the service writes: the collector's names only, the
 * interfaces limited to the first {@link MAX_INTERFACES} this worker reported (`interfaces`,
 * updated in place). Returns them and how many were refused.
 */
export function collectorMetrics(
    metrics: Readonly<Record<string, number>>,
    interfaces: Set<string>,
): { accepted: Record<string, number>; refused: number } {
    const accepted: Record<string, number> = {};
    let refused = 0;
    for (const [name, value] of Object.entries(metrics)) {
        if (!COLLECTOR_METRICS.some((pattern) => pattern.test(name))) {
            refused++;
            continue;
        }
        if (name.startsWith("net.")) {
            const iface = name.split(".")[1]!;
            if (!interfaces.has(iface)) {
                if (interfaces.size >= MAX_INTERFACES) {
                    refused++;
                    continue;
                }
                interfaces.add(iface);
            }
        }
        accepted[name] = value;
    }
    return { accepted, refused };
}
