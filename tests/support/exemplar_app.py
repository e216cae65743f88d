"""A small process that exposes OpenMetrics with exemplars, for Prometheus to scrape.

``python -m tests.support.exemplar_app PORT OBSERVATIONS_JSON`` records the
given observations with prometheus-client (each with its trace id as an
exemplar) and serves them on 127.0.0.1:PORT until killed. Exemplars are only
written in the OpenMetrics format, which Prometheus asks for when its
exemplar storage is on. Observations are a JSON list of
``{"kind": "latency", "seconds": 0.42, "trace_id": "..."}`` or
``{"kind": "request", "code": "500", "trace_id": "..."}``.
"""

from __future__ import annotations

import json
import sys
import threading

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server


def main(argv: list[str]) -> None:
    port, observations = int(argv[0]), json.loads(argv[1])
    registry = CollectorRegistry()
    latency = Histogram(
        "http_request_duration_seconds",
        "Request latency.",
        ["service"],
        buckets=(0.1, 0.3, 0.5, 1.0, 2.5),
        registry=registry,
    )
    requests = Counter("http_requests", "Requests.", ["service", "code"], registry=registry)
    for item in observations:
        exemplar = {"trace_id": item["trace_id"]}
        if item["kind"] == "latency":
            latency.labels(service="orders").observe(item["seconds"], exemplar=exemplar)
        else:
            requests.labels(service="orders", code=item["code"]).inc(exemplar=exemplar)
    start_http_server(port, addr="127.0.0.1", registry=registry)
    print("serving", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
