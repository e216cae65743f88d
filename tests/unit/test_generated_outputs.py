"""The committed generated files must match what the specs compile to."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml

from tests.helpers import ROOT, CliResult, scrub_env


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository root as the working directory, and no SLOCTL_* variable: the
    commands run as the README shows them, on their defaults."""
    monkeypatch.chdir(ROOT)
    scrub_env(monkeypatch)


def _drift(cli: Callable[..., CliResult], *options: str) -> list[str]:
    """What `sloctl diff` reports as differing (it exits 1 when anything does)."""
    result = cli("diff", *options, "-o", "json")
    assert result.code in (0, 1), result.err
    changes = json.loads(result.out)["changes"]
    assert result.code == (1 if changes else 0)
    return [f"{c['path']}: {c['status']}" for c in changes]


def _written(cli: Callable[..., CliResult], *options: str) -> set[str]:
    """Every file `sloctl apply` would write, from its dry run."""
    result = cli("apply", *options, "--dry-run", "-o", "json")
    assert result.code == 0, result.err
    return {c["path"] for c in json.loads(result.out)["changes"]}


@pytest.mark.usefixtures("at_root")
def test_generated_files_match_the_sample_specs(cli: Callable[..., CliResult]):
    """alert_rules/ (rules, alertmanager.yml) and dashboards/ as `sloctl apply` writes them."""
    drift = _drift(cli)
    assert not drift, f"generated files drifted from slo_specs/ (run `sloctl apply`): {drift}"
    assert _written(cli) == {
        "alert_rules/orders.rules.yml",
        "alert_rules/alertmanager.yml",
        "dashboards/orders.json",
        "dashboards/slo-overview.json",
    }


@pytest.mark.usefixtures("at_root")
def test_prometheus_operator_objects_match_the_sample_specs(cli: Callable[..., CliResult]):
    """deploy/k8s/base/{prometheusrules,dashboards}/ as `sloctl apply --format
    prometheus-operator` writes them by default (no --rules-dir), checked with `sloctl
    diff --format prometheus-operator` as the README shows it."""
    drift = _drift(cli, "--format", "prometheus-operator")
    assert not drift, (
        "Kubernetes objects drifted from slo_specs/ "
        f"(run `sloctl apply --format prometheus-operator`): {drift}"
    )
    assert _written(cli, "--format", "prometheus-operator") == {
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
