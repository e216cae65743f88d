"""Alertmanager routing against the real Alertmanager 0.25 and amtool.

`sloctl apply --alertmanager-url` writes the config Alertmanager reads and
reloads it; `amtool config routes test` against the running Alertmanager shows
where a page goes. Inhibition is not something `routes test` evaluates, so it
is checked by posting alerts to Alertmanager's API and reading their state.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sloctl.targets.alertmanager import config_hash
from tests.helpers import require_binary, write
from tests.support.processes import ManagedProcess, run_alertmanager

SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: SERVICE
spec:
  team: TEAM
  slos:
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: http_requests_total{code=~"5.."}
          total: http_requests_total
"""
ROUTING = """\
apiVersion: sloctl.dev/v1
kind: Routing
spec:
  server:
    url: http://127.0.0.1:9
    credentialsFile: webhook-token
  receivers:
    - name: shop-pager
      webhook: [{url: "http://127.0.0.1:9/shop-pager"}]
    - name: shop-tickets
      webhook: [{url: "http://127.0.0.1:9/shop-tickets"}]
    - name: search-pager
      pagerduty: [{routingKeyFile: pd-search}]
    - name: chat
      slack: [{apiUrlFile: slack-url, channel: "#slo"}]
  defaults:
    ticket: chat
  teams:
    shop: {page: shop-pager, ticket: shop-tickets}
    search: {page: search-pager}
"""
INITIAL = "route:\n  receiver: none\nreceivers:\n  - name: none\n"


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    require_binary("amtool")
    with run_alertmanager(tmp_path_factory.mktemp("alertmanager"), INITIAL) as am:
        yield am


@pytest.fixture
def specs(specs_dir: Path) -> Path:
    write(specs_dir / "orders.yaml", SPEC.replace("SERVICE", "orders").replace("TEAM", "shop"))
    write(specs_dir / "search.yaml", SPEC.replace("SERVICE", "search").replace("TEAM", "search"))
    return specs_dir


def live_config(am: ManagedProcess) -> Path:
    return am.log.parent / "alertmanager.yml"


def running_hash(am: ManagedProcess) -> float:
    text = httpx.get(f"{am.url}/metrics", timeout=10).text
    line = next(ln for ln in text.splitlines() if ln.startswith("alertmanager_config_hash "))
    return float(line.split()[1])


def apply(cli, specs: Path, tmp_path: Path, am: ManagedProcess, routing: str):
    return cli(
        "apply",
        "-f",
        str(specs),
        "--rules-dir",
        str(tmp_path / "alert_rules"),
        "--routing",
        str(write(tmp_path / "routing.yaml", routing)),
        "--alertmanager-url",
        am.url,
        "--alertmanager-config",
        str(live_config(am)),
        "-o",
        "json",
    )


def routes_test(am: ManagedProcess, expect: str, *labels: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            require_binary("amtool"),
            "config",
            "routes",
            "test",
            f"--alertmanager.url={am.url}",
            f"--verify.receivers={expect}",
            *labels,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_generated_config_passes_amtool_check_config(cli, specs, tmp_path):
    require_binary("amtool")
    routing = write(tmp_path / "routing.yaml", ROUTING)
    rules = tmp_path / "alert_rules"
    result = cli("apply", "-f", str(specs), "--rules-dir", str(rules), "--routing", str(routing))
    assert result.code == 0, result.err
    check = subprocess.run(
        [require_binary("amtool"), "check-config", str(rules / "alertmanager.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "5 receivers" in check.stdout


def test_pages_reach_the_teams_receiver_in_the_running_alertmanager(
    cli, specs, tmp_path, alertmanager
):
    result = apply(cli, specs, tmp_path, alertmanager, ROUTING)
    assert result.code == 0, result.err
    written = (tmp_path / "alert_rules" / "alertmanager.yml").read_text()
    assert live_config(alertmanager).read_text() == written
    assert running_hash(alertmanager) == config_hash(written)
    assert json.loads(result.out)["targets"][0]["status"] == "changed"

    page = ("severity=page", "slo=orders-availability", "alertname=SLOErrorBudgetBurn")
    ticket = ("severity=ticket", "slo=orders-availability", "alertname=SLOErrorBudgetBurn")
    assert routes_test(alertmanager, "shop-pager", "team=shop", *page).returncode == 0
    assert routes_test(alertmanager, "shop-tickets", "team=shop", *ticket).returncode == 0
    assert routes_test(alertmanager, "search-pager", "team=search", *page).returncode == 0
    assert routes_test(alertmanager, "chat", "team=search", *ticket).returncode == 0
    assert routes_test(alertmanager, "sloctl-server", *page).returncode == 0
    wrong = routes_test(alertmanager, "search-pager", "team=shop", *page)
    assert wrong.returncode != 0, "amtool must tell a wrong receiver apart"

    again = apply(cli, specs, tmp_path, alertmanager, ROUTING)
    assert json.loads(again.out)["targets"][0]["status"] == "unchanged"


def alert(**labels: str) -> dict:
    return {"labels": {"alertname": "SLOErrorBudgetBurn", **labels}}


def test_a_page_inhibits_the_ticket_of_the_same_slo(cli, specs, tmp_path, alertmanager):
    assert apply(cli, specs, tmp_path, alertmanager, ROUTING).code == 0
    posted = [
        alert(slo="orders-availability", severity="page", team="shop", tag="page"),
        alert(slo="orders-availability", severity="ticket", team="shop", tag="same-slo"),
        alert(slo="search-availability", severity="ticket", team="search", tag="other-slo"),
        # Neither has an slo label: without the inhibit rule's slo=~".+" guard,
        # Alertmanager would count the missing label as equal and mute this ticket.
        alert(alertname="Other", severity="page", tag="page-without-slo"),
        alert(alertname="Other", severity="ticket", tag="ticket-without-slo"),
    ]
    response = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=posted, timeout=10)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 15
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        alerts = httpx.get(f"{alertmanager.url}/api/v2/alerts", timeout=10).json()
        states = {a["labels"]["tag"]: a["status"]["state"] for a in alerts if "tag" in a["labels"]}
        if states.get("same-slo") == "suppressed" and len(states) == len(posted):
            break
        time.sleep(0.2)
    assert states == {
        "page": "active",
        "same-slo": "suppressed",
        "other-slo": "active",
        "page-without-slo": "active",
        "ticket-without-slo": "active",
    }


def test_a_failed_reload_restores_the_previous_configuration(cli, specs, tmp_path, alertmanager):
    """A CA file Alertmanager cannot read passes amtool but makes the real reload fail."""
    assert apply(cli, specs, tmp_path, alertmanager, ROUTING).code == 0
    generated = tmp_path / "alert_rules" / "alertmanager.yml"
    before = generated.read_text()
    assert running_hash(alertmanager) == config_hash(before)

    broken = ROUTING.replace(
        "credentialsFile: webhook-token",
        "credentialsFile: webhook-token\n    caFile: /nonexistent/ca.pem",
    )
    result = apply(cli, specs, tmp_path, alertmanager, broken)
    assert result.code == 1
    assert "Error: alertmanager: reload refused with HTTP 500" in result.err
    assert "/nonexistent/ca.pem" in result.err
    assert "restored the previous configuration and reloaded it" in result.err
    assert generated.read_text() == before
    assert live_config(alertmanager).read_text() == before
    assert running_hash(alertmanager) == config_hash(before)
