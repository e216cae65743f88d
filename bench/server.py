"""The error-budget server with 1,000 SLOs on a real Prometheus.

Prints:
- queries per refresh for 1, 10, 100 and 1,000 SLOs (it must not grow);
- the wall time of one refresh of 1,000 SLOs: the first (with the coverage
  check) and the steady state (median of 20);
- p50/p99 of ``GET /api/v1/slos`` (all 1,000) from this process against the
  server running under uvicorn in a second process, over loopback.

Prometheus is backfilled (promtool) with what the generated rules of 1,000
SLOs record: every error-ratio window at the measurement time, and the
5-minute base series reaching back 30 days, so every window is read from
recorded series as in steady state. Needs the Debian prometheus package.
Run: `.venv/bin/python bench/server.py [--requests 2000]`.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from _common import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.budget.engine import Engine  # noqa: E402
from server.prometheus import PrometheusClient  # noqa: E402
from sloctl.durations import format_duration  # noqa: E402
from sloctl.slo_math import recorded_windows  # noqa: E402
from sloctl.spec.models import SLO  # noqa: E402

SERVICES, PER_SERVICE = 100, 10

SERVER = """
import sys, uvicorn
from datetime import datetime, UTC
from prometheus_client import CollectorRegistry
from server.app import create_app
from server.settings import Settings
at = datetime.fromtimestamp(float(sys.argv[3]), UTC)
settings = Settings(prometheus_url=sys.argv[1], database_url=sys.argv[2],
                    specs_dir=sys.argv[4], refresh_interval=3600)
app = create_app(settings, clock=lambda: at, metrics_registry=CollectorRegistry())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[5]), log_level="warning")
"""


def make_slos() -> list[SLO]:
    slos = []
    for s in range(SERVICES):
        for n in range(PER_SERVICE):
            slos.append(
                SLO.model_validate(
                    {
                        "service": f"svc{s}",
                        "name": f"slo-{n}",
                        "team": f"team{s % 7}",
                        "objective": 99 + (n % 9) / 10,
                        "window": "30d" if n % 3 else "28d",
                        "sli": {
                            "ratio": {
                                "errors": f'http_requests_total{{job="svc{s}",code=~"5.."}}',
                                "total": f'http_requests_total{{job="svc{s}"}}',
                            }
                        },
                        "labels": {"tier": str(s % 3)},
                    }
                )
            )
    return slos


def write_specs(slos: list[SLO], directory: Path) -> None:
    from sloctl.spec.native import to_native

    by_service: dict[str, list[SLO]] = {}
    for slo in slos:
        by_service.setdefault(slo.service, []).append(slo)
    for service, items in by_service.items():
        (directory / f"{service}.yaml").write_text(yaml.safe_dump(to_native(items)))


def openmetrics(slos: list[SLO], at: int) -> str:
    """Recorded series as the rules would have written them: ratios at ``at``, and the
    5-minute base series where the coverage check looks for it."""
    families: dict[str, list[str]] = {}
    # The coverage check looks for base samples in the hour before each chained window's
    # start: samples every 5 minutes around those marks stand for a base series recorded
    # without a break since 30 days ago (writing all 30 days would only slow the backfill).
    marks = [at - days * 86400 for days in (1, 3, 28, 30)] + [at]
    base_times = sorted({m - k * 300 for m in marks for k in range(24)})
    for i, slo in enumerate(slos):
        labels = ",".join(f'{k}="{v}"' for k, v in slo.rule_labels.items())
        ratio = 0.0001 * (1 + i % 20)
        for window in recorded_windows(slo):
            name = f"slo:sli_error:ratio_rate{format_duration(window)}"
            lines = families.setdefault(name, [])
            lines += [f"{name}{{{labels}}} {ratio} {at - 60}", f"{name}{{{labels}}} {ratio} {at}"]
        name = "slo:sli_total_events:rate5m"
        lines = families.setdefault(name, [])
        lines += [f"{name}{{{labels}}} 10 {t}" for t in base_times]
    out = []
    for name, lines in families.items():
        out.append(f"# TYPE {name} gauge")
        out.extend(lines)
    return "\n".join(out) + "\n# EOF\n"


@contextlib.contextmanager
def prometheus(data: Path, workdir: Path) -> Iterator[str]:
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text("global: {}\n")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=400d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/-/ready", timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--requests", type=int, default=2000, help="timed GET /api/v1/slos requests"
    )
    args = parser.parse_args()
    slos = make_slos()
    at = int(time.time()) // 60 * 60 - 600
    when = datetime.fromtimestamp(at, UTC)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "recorded.om"
        source.write_text(openmetrics(slos, at))
        start = time.perf_counter()
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(tmp / "d")],
            check=True,
            capture_output=True,
        )
        print(
            f"backfilled recorded series of {len(slos)} SLOs in {time.perf_counter() - start:.1f}s"
        )
        with prometheus(tmp / "d", tmp) as url:
            client = PrometheusClient(url, timeout=60)
            print(f"{'SLOs':>6} {'queries/refresh':>16}")
            for count in (1, 10, 100, 1000):
                result = Engine(client).refresh(slos[:count], when)
                print(f"{count:>6} {result.queries:>16}")
            engine = Engine(client)
            start = time.perf_counter()
            first = engine.refresh(slos, when)
            first_s = time.perf_counter() - start
            assert first.raw_windows == 0, "every window should come from recorded series"
            known = sum(1 for b in first.budgets.values() if b.numbers.sli is not None)
            steady = []
            for _ in range(20):
                start = time.perf_counter()
                result = engine.refresh(slos, when)
                steady.append(time.perf_counter() - start)
            print(
                f"refresh of {len(slos)} SLOs ({known} with numbers): first (coverage check, "
                f"{first.queries} queries) {first_s * 1000:.0f} ms; steady ({result.queries} "
                f"query) median {statistics.median(steady) * 1000:.0f} ms, "
                f"max {max(steady) * 1000:.0f} ms"
            )

            specs = tmp / "specs"
            specs.mkdir()
            write_specs(slos, specs)
            port = free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    SERVER,
                    url,
                    f"sqlite:///{tmp / 'server.db'}",
                    str(at),
                    str(specs),
                    str(port),
                ],
                cwd=ROOT,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_ready(f"{base}/readyz", timeout=120)
                with httpx.Client(base_url=base) as http:
                    body = http.get("/api/v1/slos").json()
                    assert body["count"] == len(slos), body["count"]
                    size = len(http.get("/api/v1/slos").content)
                    for _ in range(50):  # warm up
                        http.get("/api/v1/slos")
                    times = []
                    for _ in range(args.requests):
                        start = time.perf_counter()
                        response = http.get("/api/v1/slos")
                        response.raise_for_status()
                        times.append(time.perf_counter() - start)
                times.sort()
                p50 = times[len(times) // 2] * 1000
                p99 = times[int(len(times) * 0.99)] * 1000
                print(
                    f"GET /api/v1/slos ({len(slos)} SLOs, {size / 1e6:.2f} MB) x{len(times)} "
                    f"from a second process: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
                )
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
