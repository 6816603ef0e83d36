"""One unary gRPC call with gRPC's C core (Debian's python3-grpcio), for the tests.

Node's HTTP/2 stack (nghttp2) refuses any single header field over 64 KiB, and an init error
from a dynamic provider carries the whole serialized provider in the `grpc-status-details-bin`
trailer (about 100 KiB for WorkerPool). The Pulumi engine's Go client accepts that; so does
gRPC's C core with a raised `grpc.max_metadata_size`, which is why the tests use it.

stdin:  {"address": "127.0.0.1:PORT", "method": "/pkg.Service/Method", "request": <base64>}
stdout: {"code": 0, "body": <base64>} or {"code": N, "details": "...", "trailers": {k: <base64>}}
"""
import base64
import json
import sys

import grpc

OPTIONS = [
    ("grpc.max_metadata_size", 16 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def main() -> None:
    req = json.load(sys.stdin)
    with grpc.insecure_channel(req["address"], options=OPTIONS) as channel:
        call = channel.unary_unary(req["method"])
        try:
            body = call(base64.b64decode(req["request"]), timeout=req.get("timeout", 600))
            out = {"code": 0, "body": base64.b64encode(body).decode()}
        except grpc.RpcError as err:
            trailers = {}
            for key, value in err.trailing_metadata() or ():
                raw = value if isinstance(value, bytes) else value.encode()
                trailers[key] = base64.b64encode(raw).decode()
            out = {"code": err.code().value[0], "details": err.details(), "trailers": trailers}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
