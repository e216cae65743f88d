"""The committed generated files must match what the specs compile to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sloctl.build import Layout, build
from sloctl.outputs import plan
from sloctl.spec.routing import load_routing
from tests.helpers import ROOT


def test_generated_files_match_the_sample_specs(monkeypatch: pytest.MonkeyPatch):
    """alert_rules/ (rules, alertmanager.yml) and dashboards/ as `sloctl apply` writes them."""
    monkeypatch.chdir(ROOT)
    result = build(["slo_specs"])
    layout = Layout(
        rules_dir=Path("alert_rules"),
        dashboards_dir=Path("dashboards"),
        routing=load_routing(Path("routing.yaml")),
        routing_source="routing.yaml",
    )
    changes = plan(result.outputs(layout), managed=layout.managed)
    drift = [f"{c.path.as_posix()}: {c.status}" for c in changes if c.status != "unchanged"]
    assert not drift, f"generated files drifted from slo_specs/ (run `sloctl apply`): {drift}"
    assert {c.path.as_posix() for c in changes} == {
        "alert_rules/orders.rules.yml",
        "alert_rules/alertmanager.yml",
        "dashboards/orders.json",
        "dashboards/slo-overview.json",
    }


def test_prometheus_operator_objects_match_the_sample_specs(monkeypatch: pytest.MonkeyPatch):
    """deploy/k8s/base/{prometheusrules,dashboards}/ as `sloctl apply --format
    prometheus-operator` writes them."""
    monkeypatch.chdir(ROOT)
    result = build(["slo_specs"])
    layout = Layout(
        rules_dir=Path("deploy/k8s/base/prometheusrules"),
        dashboards_dir=Path("deploy/k8s/base/dashboards"),
        routing=load_routing(Path("routing.yaml")),
        routing_source="routing.yaml",
        format="prometheus-operator",
    )
    changes = plan(result.outputs(layout), managed=layout.managed)
    drift = [f"{c.path.as_posix()}: {c.status}" for c in changes if c.status != "unchanged"]
    assert not drift, (
        "Kubernetes objects drifted from slo_specs/ "
        f"(run `sloctl apply --format prometheus-operator`): {drift}"
    )
    assert {c.path.as_posix() for c in changes} == {
        "deploy/k8s/base/prometheusrules/orders.yaml",
        "deploy/k8s/base/prometheusrules/kustomization.yaml",
        "deploy/k8s/base/dashboards/orders.yaml",
        "deploy/k8s/base/dashboards/slo-overview.yaml",
        "deploy/k8s/base/dashboards/kustomization.yaml",
    }


def test_prometheus_rule_groups_equal_the_rule_files_and_dashboards_the_json():
    """The objects carry exactly what the plain outputs carry, byte for byte in the JSON."""
    rules = yaml.safe_load((ROOT / "alert_rules/orders.rules.yml").read_text())
    obj = yaml.safe_load((ROOT / "deploy/k8s/base/prometheusrules/orders.yaml").read_text())
    assert obj["spec"] == rules
    assert obj["metadata"]["name"] == "sloctl-orders"
    for name in ("orders", "slo-overview"):
        board = (ROOT / f"dashboards/{name}.json").read_text()
        cm = yaml.safe_load((ROOT / f"deploy/k8s/base/dashboards/{name}.yaml").read_text())
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["data"] == {f"{name}.json": board.rstrip("\n")}
        assert json.loads(cm["data"][f"{name}.json"])["uid"] == json.loads(board)["uid"]
