"""A recording OTLP Profiles gRPC backend for runtime tests and benchmarks: a grpcio server
with a generic handler for ProfilesService/Export (no generated service code), answering
each call from a script and recording what it received. Needs /usr/bin/python3 with the
Debian grpcio."""
import threading
import time
from concurrent import futures

import grpc

import harness as H

METHOD = "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
SERVICE = "opentelemetry.proto.collector.profiles.v1development.ProfilesService"


class Backend:
    """A grpcio server answering Export from `plan`: (code, details, trailing metadata,
    response bytes) per call, OK with an empty response when empty. Records (time,
    metadata dict, request bytes), or hands them to `record(time, metadata, request)` instead
    when given (a benchmark keeps only what it measures)."""

    def __init__(self, port=None, creds=None, record=None):
        self.plan, self.got, self.lock = [], [], threading.Lock()
        self.port = port or H.free_port()
        backend = self

        def export(request, context):
            md = {k: v for k, v in context.invocation_metadata()}
            now = time.time()
            if record:
                record(now, md, request)
            with backend.lock:
                if not record:
                    backend.got.append((now, md, request))
                step = backend.plan.pop(0) if backend.plan else None
            if step is None:
                return b""
            code, details, trailing, resp = step
            if trailing:
                context.set_trailing_metadata(trailing)
            if code != grpc.StatusCode.OK:
                context.set_code(code)
                context.set_details(details)
            return resp or b""

        handler = grpc.method_handlers_generic_handler(SERVICE, {
            "Export": grpc.unary_unary_rpc_method_handler(export)})
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
        addr = "127.0.0.1:%d" % self.port
        if creds:
            self.server.add_secure_port(addr, creds)
        else:
            self.server.add_insecure_port(addr)
        self.server.start()

    def requests(self):
        with self.lock:
            return list(self.got)

    def close(self):
        self.server.stop(0).wait()
