"""PrometheusClient sends what Thanos/Mimir need: headers, tenant, POST, the query time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from server.errors import PrometheusUnavailableError
from server.prometheus import PrometheusClient
from server.settings import Settings

pytestmark = pytest.mark.integration


class QueryAPIDouble(BaseHTTPRequestHandler):
    """A double of Prometheus's /api/v1/query: records requests, answers a vector."""

    seen: list[dict[str, object]] = []  # noqa: RUF012 - shared with the test on purpose

    def do_POST(self) -> None:
        url = urlparse(self.path)
        QueryAPIDouble.seen.append(
            {"path": url.path, "params": parse_qs(url.query), "headers": dict(self.headers)}
        )
        if url.path != "/api/v1/query":
            self.send_response(404)
            self.end_headers()
            return
        body = {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [
                    {"metric": {"slo": "a"}, "value": [1764000000.0, "0.25"]},
                    {"metric": {"slo": "b"}, "value": [1764000000.0, "NaN"]},
                ],
            },
        }
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def double_url() -> Iterator[str]:
    QueryAPIDouble.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), QueryAPIDouble)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_headers_tenant_and_time_reach_prometheus(double_url: str):
    settings = Settings(
        prometheus_url=double_url,
        prometheus_headers={"Authorization": "Bearer p"},
        prometheus_tenant="team-a",
    )
    assert settings.prometheus_url is not None
    client = PrometheusClient(
        settings.prometheus_url, headers=settings.prometheus_request_headers, timeout=5
    )
    at = datetime(2026, 11, 24, 12, 0, 0, 500000, tzinfo=UTC)
    samples = client.query('slo:sli_error:ratio_rate1h{slo="a"}', at)
    assert [(s.labels, s.value) for s in samples] == [({"slo": "a"}, 0.25)], "NaN is no data"
    request = QueryAPIDouble.seen[0]
    assert request["path"] == "/api/v1/query"
    assert request["params"] == {
        "query": ['slo:sli_error:ratio_rate1h{slo="a"}'],
        "time": [f"{at.timestamp():.3f}"],
    }
    headers = request["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"] == "Bearer p"
    assert headers["X-Scope-OrgID"] == "team-a"


def test_refused_connection_is_a_domain_error():
    from tests.support.processes import free_port

    client = PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(PrometheusUnavailableError, match="did not answer the query"):
        client.query("up", datetime.now(UTC))
