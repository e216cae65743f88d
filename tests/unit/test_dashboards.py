"""Grafana dashboards: structure, thresholds from the alert maths, evidence panels, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.models import dashboard as dash_m

from sloctl.build import Build, Layout, build
from sloctl.compile import GENERATED_MARK, series
from sloctl.compile.dashboards import (
    MAX_UID,
    OVERVIEW_UID,
    DashboardSettings,
    compile_dashboards,
    render,
    service_uid,
)
from sloctl.compile.rules import AlertingRule, RecordingRule, compile_slo
from sloctl.slo_math import slo_conditions
from tests.helpers import FIXTURES, write

EVIDENCE_SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  team: shop
  slos:
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: http_requests_total{code=~"5.."}
          total: http_requests_total
      evidence:
        jaeger: {service: orders-api, operation: POST /orders}
        elasticsearch: {index: logs-orders-*, query: 'service.name:orders AND log.level:ERROR'}
    - name: latency
      objective: 99
      sli:
        latency:
          metric: http_request_duration_seconds
          threshold: 0.3
"""


def boards(result: Build, settings: DashboardSettings | None = None) -> dict[str, dict[str, Any]]:
    by_service = {svc: (slos, ["specs.yaml"]) for svc, slos in result.specs.by_service().items()}
    files = compile_dashboards(by_service, settings or DashboardSettings())
    return {f.uid: json.loads(f.content) for f in files}


def rows(board: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Panels under each row, by the SLO id that starts the row title."""
    out: dict[str, list[dict[str, Any]]] = {}
    current = ""
    for panel in board["panels"]:
        if panel["type"] == "row":
            current = panel["title"].split(":")[0]
            out[current] = []
        else:
            out[current].append(panel)
    return out


@pytest.fixture(scope="module")
def every_kind() -> Build:
    return build([FIXTURES / "specs" / "every_kind.yaml"])


@pytest.fixture
def evidence(tmp_path: Path) -> Build:
    return build([write(tmp_path / "orders.yaml", EVIDENCE_SPEC)])


def test_uids_are_deterministic_and_fit_grafanas_limit():
    assert service_uid("orders") == "sloctl-orders"
    long_a, long_b = "a" * 60 + "-one", "a" * 60 + "-two"
    assert len(service_uid(long_a)) <= MAX_UID
    assert service_uid(long_a) == service_uid(long_a)
    assert service_uid(long_a) != service_uid(long_b)


def test_one_row_per_slo_and_one_overview(every_kind: Build):
    dashboards = boards(every_kind)
    assert set(dashboards) == {"sloctl-checkout", OVERVIEW_UID}
    board = dashboards["sloctl-checkout"]
    assert list(rows(board)) == sorted(s.id for s in every_kind.specs.slos)
    for panels in rows(board).values():
        titles = [p["title"] for p in panels]
        assert titles[:3] == [titles[0], "Error budget remaining", "Current burn rate (1h)"]
        assert "Firing alerts" in titles
        assert any(t.startswith("SLI over ") and "objective" in t for t in titles)
    ids = [p["id"] for p in board["panels"]]
    assert ids == list(range(1, len(ids) + 1))


def test_burn_rate_thresholds_are_the_factors_the_alerts_use(every_kind: Build):
    board = boards(every_kind)["sloctl-checkout"]
    for slo in every_kind.specs.slos:
        panels = {p["title"]: p for p in rows(board)[slo.id]}
        short, _ = compile_slo(slo)
        for severity in ("page", "ticket"):
            alert = next(
                (
                    r
                    for r in short.rules
                    if isinstance(r, AlertingRule) and r.labels["severity"] == severity
                ),
                None,
            )
            panel = panels.get(f"Burn rate: {severity} windows")
            if alert is None:
                assert panel is None
                continue
            assert panel is not None, f"{slo.id} has a {severity} alert but no burn-rate panel"
            # The factors in the alert's PromQL, read back from the generated rule text.
            in_rule = sorted({float(f) for f in re.findall(r"> ([0-9.e+-]+)", alert.expr)})
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            drawn = sorted(s["value"] for s in steps if s["value"] is not None)
            assert drawn == pytest.approx(in_rule)
            reachable = [
                c
                for c in slo_conditions(slo)
                if c.severity == severity and c.reachable(slo.error_budget)
            ]
            windows = {series.error_ratio(w) for c in reachable for w in (c.long, c.short)}
            queried = {t["expr"].split("{")[0] for t in panel["targets"]}
            assert queried == windows


def test_panels_read_only_series_the_rules_record(every_kind: Build):
    """Every recorded series a panel queries is one the SLO's rules produce (names not re-typed)."""
    board = boards(every_kind)["sloctl-checkout"]
    for slo in every_kind.specs.slos:
        recorded = {
            r.record
            for group in compile_slo(slo)
            for r in group.rules
            if isinstance(r, RecordingRule)
        }
        for panel in rows(board)[slo.id]:
            for target in panel.get("targets", []):
                names = set(re.findall(r"\bslo:[a-z_:0-9]+", target.get("expr", "")))
                assert names <= recorded, f"{slo.id} {panel['title']}: {names - recorded}"
                if names:
                    assert f'slo="{slo.id}"' in target["expr"]


def test_evidence_panels_only_where_the_spec_names_them(evidence: Build):
    board = boards(evidence)["sloctl-orders"]
    by_slo = rows(board)
    traces = [p for p in by_slo["orders-availability"] if p["datasource"]["type"] == "jaeger"]
    logs = [p for p in by_slo["orders-availability"] if p["datasource"]["type"] == "elasticsearch"]
    assert len(traces) == 1
    assert traces[0]["targets"][0] | {"datasource": None} == {
        "datasource": None,
        "refId": "A",
        "queryType": "search",
        "service": "orders-api",
        "operation": "POST /orders",
        "tags": "error=true",
        "limit": 20,
    }
    assert logs[0]["type"] == "logs"
    assert logs[0]["targets"][0]["query"] == "service.name:orders AND log.level:ERROR"
    assert logs[0]["targets"][0]["metrics"] == [{"id": "1", "type": "logs"}]
    assert all(p["datasource"]["type"] == "prometheus" for p in by_slo["orders-latency"]), (
        "an SLO without evidence gets no trace or log panel"
    )
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert set(variables) == {"datasource", "service", "traces", "logs"}


def test_no_evidence_no_trace_or_log_variables(every_kind: Build):
    board = boards(every_kind)["sloctl-checkout"]
    assert {v["name"] for v in board["templating"]["list"]} == {"datasource", "service"}


def test_datasource_uids_and_server_url_are_configurable(evidence: Build):
    settings = DashboardSettings(
        server_url="https://slo.example.com/",
        prometheus_uid="prom-main",
        jaeger_uid="traces-eu",
        elasticsearch_uid="logs-eu",
    )
    dashboards = boards(evidence, settings)
    board = dashboards["sloctl-orders"]
    current = {v["name"]: v.get("current", {}).get("value") for v in board["templating"]["list"]}
    assert current == {
        "datasource": "prom-main",
        "service": None,
        "traces": "traces-eu",
        "logs": "logs-eu",
    }
    text = json.dumps(board)
    assert "https://slo.example.com/slos/orders-availability" in text
    assert "https://slo.example.com/slos/orders-latency" in text
    overview = json.dumps(dashboards[OVERVIEW_UID])
    assert "https://slo.example.com/slos/${__data.fields.slo}" in overview


def test_output_is_deterministic_sorted_json_with_the_generated_header(every_kind: Build):
    layout = Layout(rules_dir=Path("r"), dashboards_dir=Path("d"))
    first = [f.content for f in every_kind.dashboard_outputs(layout)]
    again = [
        f.content for f in build([FIXTURES / "specs" / "every_kind.yaml"]).dashboard_outputs(layout)
    ]
    assert first == again
    for text in first:
        data = json.loads(text)
        assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert data["description"].startswith(GENERATED_MARK)
        assert "sloctl" in data["tags"]
        assert data["editable"] is False


def test_files_decode_into_grafanas_dashboard_model_unchanged(evidence: Build):
    """Read back with the SDK's Grafana 11 schema types, every field survives re-encoding."""
    for board in boards(evidence).values():
        model = dash_m.Dashboard.from_json(board)
        assert json.loads(render(model)) == board
