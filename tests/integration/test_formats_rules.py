"""Specs in other formats compile to rules that promtool accepts and whose alerts `sloctl test`
proves; files that mix formats work with validate, apply, diff and test."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.helpers import FIXTURES, require_binary

FORMATS = FIXTURES / "formats"
MIXED = FORMATS / "mixed" / "all-formats.yaml"


def test_every_fixture_passes_promtool_check_rules(cli, tmp_path: Path):
    promtool = require_binary("promtool")
    rules = tmp_path / "rules"
    result = cli("apply", "-f", str(FORMATS), "--rules-dir", str(rules))
    assert result.code == 0, result.err
    files = sorted(rules.glob("*.rules.yml"))
    services = {p.name.removesuffix(".rules.yml") for p in files}
    assert services == {
        "catalog", "checkout", "gateway", "inventory", "inventory-rpc", "orders-worker",
        "payments", "reports", "search", "storefront",
    }  # fmt: skip
    proc = subprocess.run(
        [promtool, "check", "rules", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(files)


def test_sloctl_test_proves_every_fixture(cli):
    require_binary("promtool")
    result = cli("test", str(FORMATS), "-o", "json")
    data = json.loads(result.out)
    assert result.code == 0, [r for r in data["results"] if not r["passed"]]
    assert data["failed"] == 0
    slos = {r["slo"] for r in data["results"]}
    assert len(slos) == 27
    inputs = {r["slo"]: r["input"] for r in data["results"]}
    own = "drives the spec's own queries"
    # Sloth, Pyrra, OpenSLO and slo-generator SLIs drive generated series through their
    # own queries ...
    for slo in (
        "storefront-http-availability",  # Sloth, {{.window}} events
        "search-query-success",  # Sloth CRD
        "inventory-api-errors",  # Pyrra ratio with grouping
        "inventory-api-latency",  # Pyrra latency
        "inventory-probe",  # Pyrra bool_gauge
        "checkout-checkout-availability",  # OpenSLO, SLI in another file
        "checkout-checkout-errors",  # OpenSLO counter selectors
        "gateway-availability",  # the native document of the mixed file
        "gateway-route-latency",  # the OpenSLO document of the mixed file
        "checkout-api-availability",  # slo-generator good_bad_ratio
        "checkout-api-latency",  # slo-generator distribution_cut
        "search-query-latency",  # slo-generator v1
    ):
        assert inputs[slo] == own, slo
    # ... and those whose queries cannot be driven are still tested on every rule after them
    assert inputs["catalog-cache-hits"].startswith("SLI queries replaced")
    assert inputs["checkout-payments-success"].startswith("SLI queries replaced")  # good + bad
    assert inputs["orders-worker-queue-lag-lag-under-500"].startswith("SLI queries replaced")
    passed = {(r["slo"], r["scenario"]) for r in data["results"] if r["passed"]}
    assert ("storefront-http-availability", "full-outage-pages") in passed
    assert ("storefront-http-availability", "10x-burn-tickets") in passed
    assert data["skipped"]["reports-batch-success"] == [
        "full-outage-pages: page alerts are disabled",
        "1x-burn-never-pages: page alerts are disabled",
        "10x-burn-tickets: ticket alerts are disabled",
    ]


def test_mixed_files_validate_apply_and_diff(cli, tmp_path: Path):
    require_binary("promtool")
    rules = tmp_path / "rules"
    native = str(FIXTURES / "specs")
    validated = cli("validate", str(MIXED), native, "-o", "json")
    assert validated.code == 0, validated.err
    ids = {s["id"] for s in json.loads(validated.out)["slos"]}
    assert {
        "gateway-availability",
        "gateway-upstream-errors",
        "gateway-tls-handshakes",
        "gateway-route-latency",
    } <= ids
    applied = cli("apply", "-f", str(MIXED), "-f", native, "--rules-dir", str(rules))
    assert applied.code == 0, applied.err
    gateway = yaml.safe_load((rules / "gateway.rules.yml").read_text())
    groups = {g["name"] for g in gateway["groups"]}
    assert {"sloctl-gateway-upstream-errors", "sloctl-gateway-tls-handshakes"} <= groups
    alerts = [
        r
        for g in gateway["groups"]
        for r in g["rules"]
        if r.get("alert") == "GatewayUpstreamErrors"
    ]
    assert {a["labels"]["severity"] for a in alerts} == {"page", "ticket"}
    assert all(a["labels"]["team"] == "edge" for a in alerts)
    diffed = cli("diff", "-f", str(MIXED), "-f", native, "--rules-dir", str(rules))
    assert diffed.code == 0
    assert "no changes" in diffed.out
