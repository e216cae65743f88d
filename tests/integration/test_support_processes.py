"""The process helpers start the real binaries and backfilled data is queryable."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.processes import backfill, run_alertmanager, run_prometheus


def test_prometheus_serves_backfilled_history(tmp_path: Path):
    now = int(time.time())
    start = now - 3 * 86400
    lines = ["# TYPE demo_requests counter"]
    for i in range(0, 3 * 86400, 3600):
        lines.append(f'demo_requests_total{{job="demo"}} {i} {start + i}')
    data = tmp_path / "data"
    backfill("\n".join(lines) + "\n# EOF\n", data, tmp_path)
    with run_prometheus(tmp_path, data_dir=data) as prom:
        result = prom.query('demo_requests_total{job="demo"}', at=start + 86400)
        assert float(result[0]["value"][1]) == 86400
        assert prom.reload().status_code == 200


def test_alertmanager_starts_on_a_free_port(tmp_path: Path):
    config = "route:\n  receiver: x\nreceivers:\n  - name: x\n"
    with run_alertmanager(tmp_path, config) as am:
        assert am.url.startswith("http://127.0.0.1:")
