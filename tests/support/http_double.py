"""The HTTP plumbing shared by the Jaeger and Elasticsearch doubles.

A double is a real HTTP server on a free loopback port whose ``handle``
answers each request; every request is recorded (method, path, query
parameters, headers, body) so tests assert exactly what an adapter sent.
``delay`` makes every answer late (a slow backend), ``garbage`` replaces every
answer with a body no API would send.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, data: Any, **headers: str) -> Reply:
        return cls(status, json.dumps(data).encode(), headers=dict(headers))


@dataclass
class HttpDouble:
    """Base of the doubles: request log, delay and garbage switches, the URL once serving."""

    requests: list[Request] = field(default_factory=list)
    delay: float = 0.0
    garbage: bool = False
    url: str = ""

    def handle(self, request: Request) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError

    def garbage_reply(self) -> Reply:
        return Reply(200, b"<html><body>502 Bad Gateway (proxy)</body>", "application/json")

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _handler(double: HttpDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            request = Request(
                self.command,
                parts.path,
                params,
                {k.lower(): v for k, v in self.headers.items()},
                raw,
            )
            double.requests.append(request)
            if double.delay:
                time.sleep(double.delay)
            reply = double.garbage_reply() if double.garbage else double.handle(request)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a slow-backend test)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


Double = TypeVar("Double", bound=HttpDouble)


@contextlib.contextmanager
def serve(double: Double) -> Iterator[Double]:
    """Run the double on a free loopback port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(double))
    server.daemon_threads = True
    double.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
