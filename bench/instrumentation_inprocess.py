"""What the sample service's instrumentation costs per request, in-process, part by part.

``bench/instrumentation.py`` gives the figure the target is about (requests/s
under wrk); this one says where the difference goes. Each variant runs in a
fresh interpreter, which builds the app on its own SQLite file with 100
orders and calls it through ASGI in a loop (``GET /orders/N``, no network, no
uvicorn), after 2,000 warm-up requests and ``gc.freeze()``, and prints the CPU
time of all its threads per request:

- ``off``: ``ORDERS_INSTRUMENTATION=false``;
- ``on``: spans recorded (to a batch processor whose exporter drops them),
  metrics and the access line, as the service runs;
- ``on, SDK spans``: the same with the spans made by the SDK's own
  ``Tracer.start_span`` (``sample_service.spans`` switched off): what the
  spans cost without the recorder;
- ``on, no query span``: the same as ``on`` without the span per SQL statement.

Rounds are interleaved; medians are printed with the cost of each variant
over ``off``.

Run: ``.venv/bin/python bench/instrumentation_inprocess.py [--rounds 5] [--requests 10000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

VARIANTS = ("off", "on", "on, SDK spans", "on, no query span")
WARM_UP = 2000
ORDERS = 100


def measure(variant: str, database: Path, requests: int) -> float:
    """CPU µs per request of ``variant`` (in this process: call it once per interpreter)."""
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    import sample_service.app as app_module
    from sample_service import spans
    from sample_service.models import Order, OrderStatus
    from sample_service.settings import Settings

    if variant == "on, SDK spans":
        spans.SpanRecorder.of = classmethod(lambda cls, tracer: None)  # type: ignore[method-assign,assignment]
    if variant == "on, no query span":
        app_module.trace_queries = lambda engine, tracer: None  # type: ignore[assignment]

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    instrumented = variant != "off"
    app = app_module.create_app(
        Settings(database_url=f"sqlite:///{database}", instrumentation=instrumented),
        span_processor=BatchSpanProcessor(Drop()) if instrumented else None,
        log_stream=open(os.devnull, "w"),  # noqa: SIM115  # lives as long as the process
        environ={},
    )
    statuses: dict[int, int] = {}

    async def drive(count: int) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        for i in range(count):
            path = f"/orders/{i % ORDERS + 1}"
            await app({**scope, "path": path, "raw_path": path.encode()}, receive, send)

    async def run() -> float:
        async with app.router.lifespan_context(app):
            state = app.state.orders
            with state.sessions() as session:
                if session.get(Order, 1) is None:
                    for _ in range(ORDERS):
                        session.add(
                            Order(
                                customer="ada",
                                item="desk",
                                quantity=1,
                                unit_price=Decimal("10.00"),
                                status=OrderStatus.PENDING,
                            )
                        )
                    session.commit()
            await drive(WARM_UP)
            gc.collect()
            gc.freeze()
            start = time.process_time()
            await drive(requests)
            return (time.process_time() - start) / requests * 1e6

    cpu = asyncio.run(run())
    if set(statuses) != {200}:
        raise RuntimeError(f"{variant}: answers other than 200: {statuses}")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per variant")
    parser.add_argument("--requests", type=int, default=10000, help="measured requests per run")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(measure(args.child[0], Path(args.child[1]), args.requests))
        return
    results: dict[str, list[float]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="sloctl-bench-") as tmp:
        for round_no in range(1, args.rounds + 1):
            for i, variant in enumerate(VARIANTS):
                database = Path(tmp) / f"v{i}.db"
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--requests",
                        str(args.requests),
                        "--child",
                        variant,
                        str(database),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                cpu = float(out.strip().splitlines()[-1])
                results[variant].append(cpu)
                print(f"round {round_no} {variant:<20} {cpu:7.0f} us CPU/request", flush=True)
    off = statistics.median(results["off"])
    print(f"\nmedians of {args.rounds} rounds of {args.requests} requests (GET /orders/N, SQLite)")
    print(f"{'variant':<20} {'CPU us/req':>10} {'over off':>9}")
    for variant in VARIANTS:
        cpu = statistics.median(results[variant])
        print(f"{variant:<20} {cpu:10.0f} {cpu - off:+9.0f}")


if __name__ == "__main__":
    main()
