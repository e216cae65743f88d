"""The budget gate as the CI workflow runs it: ``deploy/ci/gate.sh SERVICE`` (and ``make
gate``) against a real ``sloctl serve`` reading a real Prometheus.

Prometheus holds a week of backfilled traffic with about 0.4 % errors. Two services
read the same series with different objectives: ``checkout`` (99 %, about 60 % of its
budget left) may deploy; ``payments`` (99.5 %, about 20 % left, and a policy that
freezes below 50 %) may not, and the gate exits 3 with the reason.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, clean_env, write
from tests.support.processes import (
    ManagedProcess,
    backfill,
    free_port,
    run_prometheus,
    sloctl_server,
)
from tests.support.traffic import make_traffic

pytestmark = pytest.mark.integration

SPECS = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: checkout
spec:
  slos:
    - name: availability
      objective: 99
      window: 7d
      sli:
        ratio:
          errors: http_requests_total{code="500"}
          total: http_requests_total
---
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: payments
spec:
  slos:
    - name: availability
      objective: 99.5
      window: 7d
      budgetPolicy:
        warnBelow: 60
        freezeAt: 50
      sli:
        ratio:
          errors: http_requests_total{code="500"}
          total: http_requests_total
"""
GATE = ROOT / "deploy" / "ci" / "gate.sh"


@dataclass
class Pipeline:
    server_url: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    workdir = tmp_path_factory.mktemp("gate-pipeline")
    traffic = make_traffic(int(time.time()) - 60, days=7)
    data = workdir / "prometheus-data"
    backfill("\n".join(traffic.openmetrics("http_requests")) + "\n# EOF\n", data, workdir)
    write(workdir / "specs" / "shop.yaml", SPECS)
    with run_prometheus(workdir, data_dir=data) as prom:
        server = sloctl_server(
            workdir / "serve.log",
            clean_env(
                SLOCTL_SERVER_PROMETHEUS_URL=prom.url,
                SLOCTL_SERVER_SPECS_DIR=str(workdir / "specs"),
                SLOCTL_SERVER_REFRESH_INTERVAL="1",
                DATABASE_URL=f"sqlite:///{workdir / 'server.db'}",
            ),
        )
        server.start()
        try:
            server.wait_ready("/healthz", timeout=60)
            _wait_for_budgets(server)
            gate_env = clean_env(
                SLOCTL_SERVER_URL=server.url, SLOCTL=str(Path(sys.executable).parent / "sloctl")
            )
            gate_env.pop("GITHUB_ACTIONS", None)
            yield Pipeline(server.url, gate_env)
        finally:
            server.stop()


def _wait_for_budgets(server: ManagedProcess) -> None:
    """Until the server has computed both budgets from Prometheus (120 s at most)."""

    def computed() -> bool:
        slos = httpx.get(f"{server.url}/api/v1/slos", timeout=10).json()["data"]
        return len(slos) == 2 and all(s["status"] != "unknown" for s in slos)

    server.wait_for(computed, 120, "done computing both budgets")


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_budgets_come_from_prometheus(pipeline: Pipeline):
    slos = {s["id"]: s for s in httpx.get(f"{pipeline.server_url}/api/v1/slos").json()["data"]}
    checkout = slos["checkout-availability"]["error_budget"]["remaining"]
    payments = slos["payments-availability"]["error_budget"]["remaining"]
    assert 0.5 < checkout < 0.75, checkout
    assert 0.0 < payments < 0.5, payments


def test_a_service_with_budget_left_may_deploy(pipeline: Pipeline):
    result = run([str(GATE), "checkout"], pipeline.env)
    assert result.returncode == 0, result.stderr
    assert "open: 1 SLO within budget policy" in result.stdout
    assert "stopped" not in result.stderr


def test_a_frozen_service_exits_3_with_the_reason(pipeline: Pipeline):
    result = run([str(GATE), "payments"], pipeline.env)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: payments-availability: ")
    assert "of the error budget left, at or below the freeze threshold of 50%" in lines[0]
    assert lines[-1] == "deploy of payments stopped by its error budget policy"
    assert "::error" not in result.stderr  # annotations only on GitHub Actions


def test_on_github_actions_the_reason_is_an_error_annotation(pipeline: Pipeline):
    result = run([str(GATE), "payments"], {**pipeline.env, "GITHUB_ACTIONS": "true"})
    assert result.returncode == 3
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(annotations) == 1, result.stdout
    assert annotations[0].startswith("::error title=budget gate::payments-availability: ")


def test_make_gate_is_what_the_workflow_calls(pipeline: Pipeline):
    passed = run(["make", "--no-print-directory", "gate", "SERVICE=checkout"], pipeline.env)
    assert passed.returncode == 0, passed.stderr
    frozen = run(["make", "--no-print-directory", "gate", "SERVICE=payments"], pipeline.env)
    assert frozen.returncode != 0  # make reports any failure as 2; the job fails either way
    assert "freeze threshold of 50%" in frozen.stderr
    unreachable = run(
        [str(GATE), "checkout"],
        {**pipeline.env, "SLOCTL_SERVER_URL": f"http://127.0.0.1:{free_port()}"},
    )
    assert unreachable.returncode == 1  # no answer is a failure, never a pass
    assert "cannot reach the sloctl server" in unreachable.stderr
