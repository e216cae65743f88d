"""The web pages with 1,000 SLOs, rendered by the server in a second process.

Prints p50/p95 (and max) of:
- ``GET /`` (the overview of all 1,000 SLOs, grouped by service; target p95 < 300 ms),
  and with a flat sort by burn rate and with a search;
- ``GET /slos/{id}`` (the SLO page, default range 1d with 288 snapshots; target
  p95 < 150 ms), and over its 30-day window (8,640 snapshots thinned to 360 points).

The set-up is bench/server.py's: a real Prometheus 2.42 backfilled with what
the generated rules of 1,000 SLOs record, and the server (uvicorn) in a
second process with its clock at the measurement time. The history a server
writes (one snapshot per SLO every 5 minutes) is written to its database
beforehand: a day for every SLO, 30 days for the one measured over its window.
Run: `.venv/bin/python bench/web.py [--requests 200]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _common import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.store import repository  # noqa: E402
from server.store.db import make_engine, migrate, session_factory, transaction  # noqa: E402
from server.store.repository import SnapshotIn  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_server", ROOT / "bench" / "server.py")
assert _spec is not None
assert _spec.loader is not None
setup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup)

SERVER = """
import sys, uvicorn
from datetime import datetime, UTC
from prometheus_client import CollectorRegistry
from server.app import create_app
from server.settings import Settings
at = datetime.fromtimestamp(float(sys.argv[3]), UTC)
settings = Settings(prometheus_url=sys.argv[1], database_url=sys.argv[2],
                    specs_dir=sys.argv[4], refresh_interval=3600, stale_after=10**9)
app = create_app(settings, clock=lambda: at, metrics_registry=CollectorRegistry())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[5]), log_level="warning")
"""
DETAIL = "svc0-slo-1"


def seed_history(url: str, ids: list[str], at: datetime) -> int:
    """A day of 5-minute snapshots for every SLO and 30 days for ``DETAIL``."""
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    rows = 0
    for slo_id in ids:
        days = 30 if slo_id == DETAIL else 1
        batch = []
        for k in range(days * 288, 0, -1):
            wave = (k % 97) / 97
            batch.append(
                SnapshotIn(
                    slo_id=slo_id,
                    taken_at=at - timedelta(minutes=5 * k),
                    sli=0.999 - 0.0005 * wave,
                    remaining=0.8 - 0.3 * wave,
                    burn_rates={"5m": 2 * wave, "1h": 1.5 * wave, "6h": wave, "1d": 0.8, "3d": 0.7},
                    status="ok",
                )
            )
        with transaction(sessions) as session:
            repository.add_snapshots(session, snapshots=batch)
        rows += len(batch)
    engine.dispose()
    return rows


def measure(http: httpx.Client, path: str, requests: int) -> str:
    for _ in range(5):
        http.get(path).raise_for_status()
    times = []
    size = 0
    for _ in range(requests):
        start = time.perf_counter()
        response = http.get(path)
        response.raise_for_status()
        times.append(time.perf_counter() - start)
        size = len(response.content)
    times.sort()
    p50 = times[len(times) // 2] * 1000
    p95 = times[int(len(times) * 0.95)] * 1000
    return (
        f"GET {path} ({size / 1e3:.0f} kB) x{requests}: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, max {times[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="timed loads of each page")
    args = parser.parse_args()
    slos = setup.make_slos()
    at = int(time.time()) // 60 * 60 - 600
    when = datetime.fromtimestamp(at, UTC)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "recorded.om"
        source.write_text(setup.openmetrics(slos, at))
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(tmp / "d")],
            check=True,
            capture_output=True,
        )
        database = f"sqlite:///{tmp / 'server.db'}"
        start = time.perf_counter()
        rows = seed_history(database, [s.id for s in slos], when)
        print(f"seeded {rows} snapshots in {time.perf_counter() - start:.1f}s")
        specs = tmp / "specs"
        specs.mkdir()
        setup.write_specs(slos, specs)
        with setup.prometheus(tmp / "d", tmp) as url:
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-c", SERVER, url, database, str(at), str(specs), str(port)],
                cwd=ROOT,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_ready(f"{base}/readyz", timeout=180)
                with httpx.Client(base_url=base, timeout=30) as http:
                    page = http.get("/").text
                    assert page.count('<tr class="slo') == len(slos), "every SLO on the page"
                    for path in (
                        "/",
                        "/?sort=burn1h&group=none",
                        "/?q=tier%3D1",
                        f"/slos/{DETAIL}",
                        f"/slos/{DETAIL}?range=window",
                        "/slos/svc99-slo-9?range=7d",
                    ):
                        print(measure(http, path, args.requests))
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
