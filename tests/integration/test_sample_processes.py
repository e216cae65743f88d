"""The sample service and load generator as the demo and compose run them: processes.

``python -m sample_service`` serves, ``python -m sample_service.loadgen`` sends
it a bounded burst, and the spans travel over OTLP/HTTP, configured only by
the standard ``OTEL_*`` variables, to a local receiver that decodes them with
the OpenTelemetry protobuf definitions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from tests.support.processes import ManagedProcess, free_port

pytestmark = pytest.mark.integration


class OtlpReceiver:
    """An OTLP/HTTP trace receiver: decodes each export request, keeps the spans."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str]] = []  # (service.name, span name)
        self.problems: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/traces":
                    receiver.problems.append(f"unexpected path {self.path}")
                if self.headers.get("Content-Type") != "application/x-protobuf":
                    receiver.problems.append(f"content type {self.headers.get('Content-Type')}")
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    attrs = {
                        a.key: a.value.string_value for a in resource_spans.resource.attributes
                    }
                    for scope in resource_spans.scope_spans:
                        receiver.spans.extend(
                            (attrs.get("service.name", ""), s.name) for s in scope.spans
                        )
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    otlp = OtlpReceiver()
    thread = threading.Thread(target=otlp.server.serve_forever, daemon=True)
    thread.start()
    yield otlp
    otlp.server.shutdown()
    otlp.server.server_close()


def test_service_and_loadgen_processes_with_otlp_export(tmp_path: Path, receiver: OtlpReceiver):
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ORDERS_", "DATABASE_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'orders.db'}",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    service = ManagedProcess(
        name="orders",
        args=[sys.executable, "-m", "sample_service", "--port", str(port)],
        log=tmp_path / "orders.log",
        url=f"http://127.0.0.1:{port}",
        env=env,
    )
    service.start()
    try:
        service.wait_ready("/healthz", timeout=30)
        loadgen = subprocess.run(
            [
                sys.executable,
                "-m",
                "sample_service.loadgen",
                "--rate",
                "25",
                "--duration",
                "2",
                "--url",
                service.url,
                "--seed",
                "3",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert loadgen.returncode == 0, loadgen.stderr
        summary = json.loads(loadgen.stdout)
        assert 40 <= summary["sent"] <= 50, summary
        assert summary["skipped"] == 0
        assert set(summary["statuses"]) <= {"200", "201", "204", "404"}, json.dumps(summary)
        assert sum(summary["statuses"].values()) == summary["sent"]

        metrics = httpx.get(
            f"{service.url}/metrics", headers={"Accept": "application/openmetrics-text"}
        ).text
        [requests] = [
            f for f in text_string_to_metric_families(metrics) if f.name == "http_requests"
        ]
        counted = sum(s.value for s in requests.samples if s.name == "http_requests_total")
        assert counted == summary["sent"]
    finally:
        service.signal(signal.SIGTERM)
        # uvicorn shuts down gracefully (lifespan end: spans flushed), then
        # re-raises the signal so the exit status says what stopped it.
        assert service.proc.wait(timeout=15) in (0, -signal.SIGTERM), service.tail()

    assert not receiver.problems
    names = {name for svc, name in receiver.spans if svc == "orders"}
    assert {"POST /orders", "GET /orders/{order_id}"} <= names, names
    # stdout carries the JSON log lines (uvicorn's own lines are at warning level).
    lines = [
        json.loads(line) for line in service.log.read_text().splitlines() if line.startswith("{")
    ]
    assert sum(1 for d in lines if d.get("http.route")) == summary["sent"]
    assert all(
        d["service.name"] == "orders" and len(d["trace.id"]) == 32
        for d in lines
        if d.get("http.route")
    )


def test_log_lines_still_waiting_are_written_to_stdout_when_the_process_exits():
    program = (
        "from sample_service.logs import configure_logging\n"
        "logger = configure_logging(service_name='orders', flush_interval=3600.0)\n"
        "logger.info('last words')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout)["message"] == "last words"
    assert done.stderr == ""


def test_loadgen_refuses_unbounded_runs():
    result = subprocess.run(
        [sys.executable, "-m", "sample_service.loadgen", "--rate", "10", "--duration", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--duration must be above 0" in result.stderr
