"""The committed generated files must match what the specs compile to."""

from __future__ import annotations

import pytest

from sloctl.build import build
from sloctl.outputs import plan
from tests.helpers import ROOT


def test_alert_rules_match_the_sample_specs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    result = build(["slo_specs"])
    changes = plan(
        result.rules_outputs(ROOT / "alert_rules"),
        managed=[(ROOT / "alert_rules", "*.rules.yml", "rules")],
    )
    drift = [f"{c.path.name}: {c.status}" for c in changes if c.status != "unchanged"]
    assert not drift, f"generated files drifted from slo_specs/ (run `sloctl apply`): {drift}"
