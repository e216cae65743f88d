"""``sloctl gate`` and ``sloctl status`` as a pipeline runs them: a subprocess against the
real server under uvicorn on a free port."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.settings import Settings
from tests.support.processes import free_port
from tests.support.server import PrometheusDouble, serve_in_thread

pytestmark = pytest.mark.integration

TOKEN = "gate-token"


def spec(name: str, **extra: object) -> dict[str, object]:
    return {
        "service": "orders",
        "name": name,
        "team": "shop",
        "objective": 99.9,
        "window": "30d",
        "sli": {"ratio": {"errors": 'req_total{code="500"}', "total": "req_total"}},
        **extra,
    }


RATIOS = {"orders-healthy": 0.0001, "orders-spent": 0.0012, "orders-thin": 0.00095}


def answer(expr: str, at: datetime):
    from server.budget import queries
    from server.prometheus import Sample

    ts = at.timestamp()
    if "last_over_time(" in expr:  # coverage: every SLO's base series reaches back
        offsets = re.findall(r'"sloctl_window", "([^"]+)"', expr)
        return [
            Sample({"slo": i, queries.WINDOW_LABEL: w}, 1.0, ts) for i in RATIOS for w in offsets
        ]
    assert expr == queries.RECORDED_RATIOS, expr
    return [
        Sample({"__name__": f"slo:sli_error:ratio_rate{w}", "slo": i}, r, ts)
        for i, r in RATIOS.items()
        for w in ("1h", "6h", "30d")
    ]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("gate")
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp / 'server.db'}", api_token=TOKEN),
        prometheus=PrometheusDouble(answer=answer),
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
        clock=lambda: datetime.now(UTC),
    )
    with serve_in_thread(app) as url:
        body = {
            "slos": [
                spec("healthy"),
                spec("spent"),
                # 5 % left, but this team freezes below 10 %.
                spec("thin", budgetPolicy={"warnBelow": 25, "freezeAt": 10}),
            ]
        }
        response = httpx.put(
            f"{url}/api/v1/slos", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200, response.text
        assert app.state.context.refresher.refresh()
        yield url


def sloctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloctl", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_gate_open_for_an_slo_within_budget(server_url: str):
    result = sloctl("gate", "--slo", "orders-healthy", "--server-url", server_url)
    assert result.returncode == 0, result.stderr
    assert "open: 1 SLO within budget policy" in result.stdout


def test_gate_closed_exits_3_with_the_reason(server_url: str):
    result = sloctl("gate", "--slo", "orders-spent", env={"SLOCTL_SERVER_URL": server_url})
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "Error: orders-spent: -20.00% of the error budget left, at or below the freeze "
        "threshold of 0%"
    )


def test_gate_on_a_service_names_every_frozen_slo(server_url: str):
    result = sloctl("gate", "--service", "orders", "--server-url", server_url)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["orders-spent", "orders-thin"]
    assert "threshold of 10%" in lines[1]


def test_gate_usage_and_unknown_things(server_url: str):
    both = sloctl("gate", "--slo", "a", "--service", "b", "--server-url", server_url)
    assert both.returncode == 2
    assert "exactly one of --slo ID and --service NAME" in both.stderr
    unknown = sloctl("gate", "--slo", "orders-nope", "--server-url", server_url)
    assert unknown.returncode == 1
    assert "no SLO with id 'orders-nope' is registered" in unknown.stderr
    nobody = sloctl("gate", "--service", "billing", "--server-url", server_url)
    assert nobody.returncode == 1
    assert "no SLOs of service 'billing'" in nobody.stderr
    down = sloctl("gate", "--slo", "x", "--server-url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert "cannot reach the sloctl server" in down.stderr


def test_status_table_and_json(server_url: str):
    table = sloctl("status", "--server-url", server_url)
    assert table.returncode == 0, table.stderr
    rows = {line.split()[1]: line for line in table.stdout.splitlines() if "orders-" in line}
    assert set(rows) == {"orders-healthy", "orders-spent", "orders-thin"}
    assert "90.0%" in rows["orders-healthy"]
    assert "ok" in rows["orders-healthy"]
    assert "-20.0%" in rows["orders-spent"]
    assert "exhausted" in rows["orders-spent"]
    assert "0.10x" in rows["orders-healthy"]  # the 1h burn rate
    assert "270d" in rows["orders-healthy"]  # 90 % of 30 days left at 0.1x
    assert "spent" in rows["orders-spent"]
    data = json.loads(sloctl("status", "--server-url", server_url, "-o", "json").stdout)
    by_id = {s["id"]: s for s in data["slos"]}
    assert by_id["orders-thin"]["status"] == "exhausted"
    assert by_id["orders-healthy"]["error_budget"]["remaining"] == pytest.approx(0.9)
    only = sloctl("status", "--server-url", server_url, "--service", "billing", "-o", "yaml")
    assert only.returncode == 0
    assert only.stdout.strip() == "slos: []"


def test_serve_refuses_invalid_settings(tmp_path: Path):
    result = sloctl(
        "serve",
        "--port",
        str(free_port()),
        env={"SLOCTL_SERVER_PROMETHEUS_URL": "prometheus:9090", "DATABASE_URL": "sqlite://"},
    )
    assert result.returncode == 1
    assert "prometheus_url" in result.stderr
    assert "not an http:// or https:// URL" in result.stderr


def test_serve_runs_the_server_with_json_logs(tmp_path: Path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "orders.yaml").write_text(
        "apiVersion: sloctl.dev/v1\nkind: ServiceSLOs\nmetadata:\n  name: orders\nspec:\n"
        "  slos:\n    - name: availability\n      objective: 99.9\n      sli:\n"
        '        ratio:\n          errors: req_total{code="500"}\n          total: req_total\n'
    )
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "SLOCTL_SERVER_SPECS_DIR": str(specs),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'server.db'}",
    }
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sloctl", "serve", "--port", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = datetime.now(UTC).timestamp() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
            assert datetime.now(UTC).timestamp() < deadline, log.read_text()
        slos = httpx.get(f"{url}/api/v1/slos").json()
        assert [s["id"] for s in slos["data"]] == ["orders-availability"]
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503  # no Prometheus configured
        refused = httpx.put(f"{url}/api/v1/slos", json={"slos": []})
        assert refused.status_code == 403  # no token configured: writes refused
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(r["message"] == "loaded specs" and r["slos_created"] == 1 for r in records)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert (tmp_path / "var" / "server.db").exists()
