"""The real server under uvicorn in a thread on a free port, and a Prometheus double."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import uvicorn
from fastapi import FastAPI

from server.prometheus import Sample
from tests.support.processes import free_port


@contextlib.contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 and a free port; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class PrometheusDouble:
    """Answers instant queries with canned samples chosen by a function; records every query."""

    answer: Callable[[str, datetime], list[Sample]] = lambda _expr, _at: []
    queries: list[str] = field(default_factory=list)
    down: bool = False

    def query(self, expr: str, at: datetime, *, timeout: float | None = None) -> list[Sample]:
        from server.errors import PrometheusUnavailableError

        self.queries.append(expr)
        if self.down:
            raise PrometheusUnavailableError("http://double", "connection refused")
        return self.answer(expr, at)
