/**
 * One unary gRPC call through gRPC's C core (test/helpers/grpc_unary.py, Debian's
 * python3-grpcio), for answers whose trailers exceed what Node's HTTP/2 stack accepts: an init
 * error carries the whole serialized provider in `grpc-status-details-bin`, and nghttp2 rejects
 * any header field over 64 KiB, while the Pulumi engine's Go client accepts it.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";

/** The call's outcome: gRPC status code, message, trailers (raw bytes) and reply body. */
export interface UnaryResult {
    code: number;
    details: string;
    trailers: Record<string, Buffer>;
    body: Buffer;
}

const SCRIPT = path.join(__dirname, "grpc_unary.py");

/** Sends the serialized `request` to `method` (e.g. `/pulumirpc.ResourceProvider/Update`). */
export async function unaryCall(
    address: string,
    method: string,
    request: Uint8Array,
): Promise<UnaryResult> {
    const child = promisify(execFile)("/usr/bin/python3", [SCRIPT], {
        maxBuffer: 64 * 1024 * 1024,
    });
    child.child.stdin!.end(
        JSON.stringify({ address, method, request: Buffer.from(request).toString("base64") }),
    );
    const { stdout } = await child;
    const out = JSON.parse(stdout) as {
        code: number;
        details?: string;
        trailers?: Record<string, string>;
        body?: string;
    };
    return {
        code: out.code,
        details: out.details ?? "",
        trailers: Object.fromEntries(
            Object.entries(out.trailers ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]),
        ),
        body: Buffer.from(out.body ?? "", "base64"),
    };
}
