"""The committed generated files must match what the specs compile to."""

from __future__ import annotations

from pathlib import Path

import pytest

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
