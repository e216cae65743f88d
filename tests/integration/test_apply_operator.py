"""`sloctl apply --format prometheus-operator`: PrometheusRule objects and dashboard
ConfigMaps, checked by the real promtool before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import require_binary, write
from tests.support.apply_specs import BROKEN_QUERY, spec

pytestmark = pytest.mark.integration


def test_writes_objects_then_removes_a_deleted_service(cli, specs_dir: Path, tmp_path: Path):
    require_binary("promtool")
    write(specs_dir / "orders.yaml", spec("orders"))
    write(specs_dir / "billing.yaml", spec("billing"))
    out = tmp_path / "k8s" / "rules"
    args = ("apply", "-f", str(specs_dir), "--format", "prometheus-operator", "--rules-dir")
    first = cli(*args, str(out), "-o", "json")
    assert first.code == 0, first.err
    written = {
        (Path(c["path"]).relative_to(tmp_path / "k8s").as_posix(), c["status"])
        for c in json.loads(first.out)["changes"]
    }
    assert written == {
        ("rules/billing.yaml", "created"),
        ("rules/orders.yaml", "created"),
        ("rules/kustomization.yaml", "created"),
        ("dashboards/billing.yaml", "created"),
        ("dashboards/orders.yaml", "created"),
        ("dashboards/slo-overview.yaml", "created"),
        ("dashboards/kustomization.yaml", "created"),
    }
    obj = yaml.safe_load((out / "billing.yaml").read_text())
    assert obj["kind"] == "PrometheusRule"
    assert {g["name"] for g in obj["spec"]["groups"]} == {
        "sloctl-billing-availability",
        "sloctl-billing-availability-long",
    }
    assert not (out / "alertmanager.yml").exists()
    (specs_dir / "billing.yaml").unlink()
    second = cli(*args, str(out), "-o", "json")
    assert second.code == 0, second.err
    statuses = {
        Path(c["path"]).name: c["status"]
        for c in json.loads(second.out)["changes"]
        if "rules" in c["path"]
    }
    assert statuses == {
        "billing.yaml": "removed",
        "orders.yaml": "unchanged",
        "kustomization.yaml": "updated",
    }
    assert not (out / "billing.yaml").exists()
    assert yaml.safe_load((out / "kustomization.yaml").read_text())["resources"] == ["orders.yaml"]


def test_promtool_rejects_a_broken_query_and_nothing_is_written(
    cli, specs_dir: Path, tmp_path: Path
):
    require_binary("promtool")
    write(specs_dir / "orders.yaml", spec("orders", BROKEN_QUERY))
    out = tmp_path / "rules"
    result = cli(
        "apply", "-f", str(specs_dir), "--format", "prometheus-operator", "--rules-dir", str(out)
    )
    assert result.code == 1
    assert "promtool: check rules rejected the generated rules" in result.err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == []


def test_targets_are_a_usage_error_with_the_operator_format(cli, specs_dir: Path, tmp_path: Path):
    write(specs_dir / "orders.yaml", spec("orders"))
    result = cli(
        "apply",
        "-f",
        str(specs_dir),
        "--format",
        "prometheus-operator",
        "--rules-dir",
        str(tmp_path / "r"),
        "--prometheus-url",
        "http://127.0.0.1:1",
    )
    assert result.code == 2
    assert "no target URL applies" in result.err
    assert not (tmp_path / "r").exists()
