"""`sloctl test`: the generated promtool scenarios pass on the real rules, and can fail."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sloctl.build import build
from sloctl.cli.testing import write_suite
from sloctl.testgen.scenarios import build_tests
from tests.helpers import FIXTURES, ROOT, require_binary


def test_every_kind_passes_every_scenario(cli):
    require_binary("promtool")
    result = cli("test", str(FIXTURES / "specs"), str(ROOT / "slo_specs"), "-o", "json")
    data = json.loads(result.out)
    assert result.code == 0, [r for r in data["results"] if not r["passed"]]
    assert data["failed"] == 0
    scenarios = {(r["slo"], r["scenario"]) for r in data["results"]}
    # every SLO proves the four promises (unless it disabled the alert)
    for slo in {r["slo"] for r in data["results"]}:
        assert (slo, "full-outage-pages") in scenarios
        assert (slo, "1x-burn-never-pages") in scenarios
        assert (slo, "zero-traffic-is-no-data") in scenarios
    assert data["skipped"] == {
        "orders-route-availability": ["10x-burn-tickets: ticket alerts are disabled"]
    }
    inputs = {r["slo"]: r["input"] for r in data["results"]}
    assert inputs["orders-availability"] == "drives the spec's own queries"
    assert inputs["checkout-raw-ratio"].startswith("SLI queries replaced")


def test_a_wrong_threshold_is_caught(tmp_path: Path):
    """The scenarios are not vacuous: rules that page too late fail them."""
    promtool = require_binary("promtool")
    slo = next(s for s in build([ROOT / "slo_specs"]).specs.slos if s.id == "orders-availability")
    suite = build_tests(slo)
    suite.rules_text = suite.rules_text.replace("> 14.4", "> 30")
    written = {name: path for name, _, path in write_suite(suite, tmp_path)}
    proc = subprocess.run(
        [promtool, "test", "rules", written["full-outage-pages"].name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout + proc.stderr


def test_window_sli_is_traffic_weighted_on_uneven_load(tmp_path: Path):
    """Busy with 10 % errors, then quiet and clean: the 30d SLI counts events, not minutes.

    Sloth's optimised rule (an average of 5m ratios) would say about 5 % here.
    """
    promtool = require_binary("promtool")
    slo = next(s for s in build([ROOT / "slo_specs"]).specs.slos if s.id == "orders-availability")
    suite = build_tests(slo)
    (tmp_path / "rules.yml").write_text(suite.rules_text, encoding="utf-8")
    # 60 busy minutes: 1000 requests/min, 100 of them errors; 60 quiet ones: 10/min, no errors
    errors = "1000000+100x60 1006000+0x59"
    good = "1000000+900x60 1054000+10x59"
    expected = 6000 / (60 * 1000 + 60 * 10)
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": suite.group_order,
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'http_requests_total{service="orders",code="500"}',
                        "values": errors,
                    },
                    {"series": 'http_requests_total{service="orders",code="200"}', "values": good},
                ],
                "promql_expr_test": [
                    {
                        "expr": f"abs(slo:sli_error:ratio_rate30d / {expected} - 1) < bool 0.03",
                        "eval_time": "2h",
                        "exp_samples": [
                            {
                                "labels": '{service="orders",slo="orders-availability",'
                                'team="shop",tier="1"}',
                                "value": 1,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "t.yml").write_text(json.dumps(test), encoding="utf-8")
    proc = subprocess.run(
        [promtool, "test", "rules", "t.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
