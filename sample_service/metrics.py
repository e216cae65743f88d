"""Prometheus metrics of the HTTP API, through prometheus-client.

``http_requests_total{service, route, method, code}`` and
``http_request_duration_seconds{service, route, method}`` are what
``slo_specs/orders.yaml`` selects. ``service`` is a label of the series
themselves (not a scrape-time target label) so the SLO selectors match
whatever Prometheus scrapes the service. ``route`` is the route template
(``/orders/{order_id}``), never the raw path, to bound cardinality.

Each observation carries the trace id of its request as an exemplar; exemplars
are only in the OpenMetrics exposition, which Prometheus asks for. Each app
gets its own ``CollectorRegistry``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

#: Latency buckets (seconds). They must contain every latency threshold of the
#: service's SLOs (0.3 s in slo_specs/orders.yaml), or the SLI would need
#: interpolation; tests/unit/test_sample_settings.py checks that against the spec.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

#: The route label of requests that matched no route (404 from the router).
UNMATCHED_ROUTE = "unmatched"


class HttpMetrics:
    """The request counter and latency histogram of one app, in its own registry."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["service", "route", "method", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from request to the end of the response, by route template and method.",
            ["service", "route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        #: The children of both metrics by (route, method, code): ``labels()`` once each.
        self.series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(
        self, *, route: str, method: str, code: int, seconds: float, trace_id: str | None
    ) -> None:
        """Count one answered request and its latency; the trace id becomes the exemplar."""
        key = (route, method, code)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = (
                self.requests.labels(self.service, route, method, str(code)),
                self.duration.labels(self.service, route, method),
            )
        exemplar = {"trace_id": trace_id} if trace_id else None
        series[0].inc(exemplar=exemplar)
        series[1].observe(seconds, exemplar=exemplar)


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    """``GET /metrics``: the registry in the format the scraper asks for (Prometheus: OpenMetrics).

    A route rather than ``make_asgi_app`` mounted at ``/metrics``, which
    answers ``/metrics`` with a redirect to ``/metrics/``.
    """

    async def endpoint(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), media_type=content_type)

    return endpoint
