"""`sloctl apply --prometheus-url` against a real Prometheus with the lifecycle API on.

One Prometheus serves the module; each test points its ``rule_files`` at the
test's own rules directory first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import require_binary, write
from tests.support.apply_specs import BROKEN_QUERY, spec
from tests.support.processes import Prometheus, prometheus_config, run_prometheus


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    require_binary("promtool")
    with run_prometheus(tmp_path_factory.mktemp("prometheus")) as prom:
        yield prom


@pytest.fixture
def rules(prometheus: Prometheus, tmp_path: Path) -> Path:
    """This test's rules directory, the one Prometheus's rule_files covers."""
    directory = tmp_path / "alert_rules"
    directory.mkdir()
    prometheus.write_config(prometheus_config([directory / "*.rules.yml"]))
    assert prometheus.reload().status_code == 200
    return directory


def groups(prometheus: Prometheus) -> dict[str, list[dict]]:
    data = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    return {g["name"]: g["rules"] for g in data}


def reload_count(prometheus: Prometheus) -> float:
    text = httpx.get(f"{prometheus.url}/metrics", timeout=10).text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("prometheus_config_last_reload_success_timestamp_seconds ")
    )
    return float(line.split()[1])


def apply(cli, specs: Path, rules: Path, prometheus: Prometheus, *args: str):
    return cli(
        "apply",
        "-f",
        str(specs),
        "--rules-dir",
        str(rules),
        "--prometheus-url",
        prometheus.url,
        "-o",
        "json",
        *args,
    )


def page_expr(prometheus: Prometheus, slo: str) -> str:
    rules = groups(prometheus)[f"sloctl-{slo}"]
    return next(r["query"] for r in rules if r.get("labels", {}).get("severity") == "page")


def test_apply_loads_the_new_groups_and_drops_removed_ones(cli, specs_dir, rules, prometheus):
    write(specs_dir / "orders.yaml", spec("orders"))
    write(specs_dir / "billing.yaml", spec("billing"))
    first = apply(cli, specs_dir, rules, prometheus)
    assert first.code == 0, first.err
    loaded = groups(prometheus)
    assert {
        "sloctl-orders-availability",
        "sloctl-orders-availability-long",
        "sloctl-billing-availability",
        "sloctl-billing-availability-long",
    } <= set(loaded)
    target = json.loads(first.out)["targets"][0]
    assert target["target"] == "prometheus"
    assert target["status"] == "changed"
    assert "reloaded: 4 rule groups loaded" in target["changes"]

    before = reload_count(prometheus)
    again = apply(cli, specs_dir, rules, prometheus)
    assert json.loads(again.out)["targets"][0]["status"] == "unchanged"
    assert reload_count(prometheus) == before, "nothing changed, so no reload"

    (specs_dir / "billing.yaml").unlink()
    write(specs_dir / "orders.yaml", spec("orders", objective="99.5"))
    changed = apply(cli, specs_dir, rules, prometheus)
    assert changed.code == 0, changed.err
    loaded = groups(prometheus)
    assert "sloctl-billing-availability" not in loaded
    assert "/ 0.005 > 14.4" in page_expr(prometheus, "orders-availability")


def test_promtool_refuses_a_broken_rule_before_prometheus_sees_it(
    cli, specs_dir, rules, prometheus
):
    write(specs_dir / "orders.yaml", spec("orders"))
    assert apply(cli, specs_dir, rules, prometheus).code == 0
    on_disk = {p.name: p.read_text() for p in rules.iterdir()}
    reloaded_at = reload_count(prometheus)

    write(specs_dir / "orders.yaml", spec("orders", BROKEN_QUERY, objective="99.5"))
    result = apply(cli, specs_dir, rules, prometheus)
    assert result.code == 1
    assert "Error: promtool: check rules rejected the generated rules" in result.err
    assert {p.name: p.read_text() for p in rules.iterdir()} == on_disk
    assert reload_count(prometheus) == reloaded_at, "Prometheus must not have been reloaded"
    assert "/ 0.001 > 14.4" in page_expr(prometheus, "orders-availability")


def test_a_failed_reload_restores_the_old_rules(cli, specs_dir, rules, prometheus):
    """The reload fails for real: someone broke prometheus.yml after promtool passed our rules.

    Prometheus refuses the reload (HTTP 500); apply puts the previous rule
    files back and reloads again, which fails too while the config is broken,
    and says both. Once the config is repaired, Prometheus runs the old rules.
    """
    write(specs_dir / "orders.yaml", spec("orders"))
    assert apply(cli, specs_dir, rules, prometheus).code == 0
    old = {p.name: p.read_text() for p in rules.iterdir()}

    prometheus.config_file.write_text(
        prometheus.config_file.read_text() + "not_a_prometheus_field: true\n"
    )
    write(specs_dir / "orders.yaml", spec("orders", objective="99.5"))
    write(specs_dir / "billing.yaml", spec("billing"))
    result = apply(cli, specs_dir, rules, prometheus)
    assert result.code == 1
    assert "Error: prometheus: reload refused with HTTP 500" in result.err
    assert "not_a_prometheus_field" in result.err
    assert "restored the previous rule files, but reloading them failed too" in result.err
    assert {p.name: p.read_text() for p in rules.iterdir()} == old
    report = json.loads(result.out)
    assert report["targets"][0]["status"] == "failed"
    assert not any(c["written"] for c in report["changes"] if c["status"] != "unchanged")

    prometheus.write_config(prometheus_config([rules / "*.rules.yml"]))
    assert prometheus.reload().status_code == 200
    assert "sloctl-billing-availability" not in groups(prometheus)
    assert "/ 0.001 > 14.4" in page_expr(prometheus, "orders-availability")


def test_rules_outside_prometheus_rule_files_are_rolled_back(
    cli, specs_dir, rules, prometheus, tmp_path
):
    """Prometheus reloads fine but does not read the directory: apply must not call that done."""
    elsewhere = tmp_path / "other_rules"
    write(specs_dir / "orders.yaml", spec("orders"))
    result = apply(cli, specs_dir, elsewhere, prometheus)
    assert result.code == 1
    assert "Error: prometheus: reloaded, but does not run 2 rule groups" in result.err
    assert "rule_files" in result.err
    assert "restored the previous rule files and reloaded them" in result.err
    assert sorted(p.name for p in elsewhere.iterdir() if not p.name.startswith(".")) == []
    leftovers = list((tmp_path / "dashboards").glob("*"))
    assert leftovers == [], "later outputs are not written after a failure"
