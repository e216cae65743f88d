"""The evidence on the web: the SLO page's panel and the evidence page.

Same Jaeger and Elasticsearch doubles as test_evidence_api.py. The SLO page
never asks a backend (its budget is 150 ms); the evidence page gathers the
report, and afterwards the SLO page shows it from the cache.
"""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.support.evidence_setup import (
    EXEMPLAR,
    FAILED,
    SLOW,
    ecs_log,
    evidence_app,
    make_settings,
)
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


def backend_calls(jaeger, es) -> int:
    return len(jaeger.requests) + len(es.requests)


def test_slo_page_links_to_evidence_without_asking_backends(make_client, jaeger, es):
    client = make_client()
    page = client.get("/slos/orders-latency?range=1h", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert backend_calls(jaeger, es) == 0
    assert 'id="gather-evidence"' in page.text
    assert 'href="/slos/orders-latency/evidence?range=1h"' in page.text
    assert "Jaeger service <code>orders</code>, operation <code>GET /orders</code>" in page.text


def test_evidence_page_shows_traces_logs_and_feeds_the_slo_page(make_client, jaeger, es):
    client = make_client()
    page = client.get("/slos/orders-latency/evidence?range=1h", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    text = html.unescape(page.text)
    failing = text[
        text.index('id="failing-traces"') : text.index(
            "</table>", text.index('id="failing-traces"')
        )
    ]
    assert FAILED[:16] in failing
    assert "insert failed: deadlock detected" in failing
    assert "error 500" in failing
    slow = text[text.index('id="slow-traces"') :]
    assert SLOW[:16] in slow
    assert "pool exhausted" in text  # the service's error logs
    assert "outside the window" not in text
    assert "Partial" not in text
    calls = backend_calls(jaeger, es)
    assert calls > 0

    panel = client.get("/slos/orders-latency?range=1h", headers={"accept": "text/html"})
    assert backend_calls(jaeger, es) == calls, "the SLO page must read the cache only"
    assert FAILED[:16] in panel.text
    assert 'id="gather-evidence"' not in panel.text
    assert "Gather again" in panel.text
    # another range has no cached report yet
    other = client.get("/slos/orders-latency?range=6h", headers={"accept": "text/html"})
    assert 'id="gather-evidence"' in other.text


def test_log_text_is_shown_as_text(make_client, jaeger, es):
    es.add("logs-orders-2026.11.24", ecs_log(3, "error", "<script>alert(1)</script>", None))
    client = make_client()
    page = client.get("/slos/orders-latency/evidence?range=1h", headers={"accept": "text/html"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not re.search(r"<script>alert", page.text)


def test_a_down_backend_is_named_on_the_page(tmp_path, jaeger, exemplars):
    settings = make_settings(
        tmp_path, jaeger_url=jaeger.url, elasticsearch_url=f"http://127.0.0.1:{free_port()}"
    )
    app = evidence_app(settings, exemplars)
    with TestClient(app) as client:
        page = client.get("/slos/orders-latency/evidence?range=1h", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert 'id="evidence-partial"' in page.text
    assert "Partial: elasticsearch did not answer in full." in page.text
    assert FAILED[:16] in page.text  # Jaeger still answered
    assert EXEMPLAR[:16] in html.unescape(page.text) or SLOW[:16] in page.text


def test_unknown_slo_evidence_page_is_an_html_404(make_client):
    page = make_client().get("/slos/nope/evidence", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "<html" in page.text
