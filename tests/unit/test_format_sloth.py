"""Sloth prometheus/v1 and PrometheusServiceLevel specs read into sloctl's SLO model."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.build import build
from sloctl.compile.rules import compile_slo
from sloctl.errors import SpecError
from sloctl.spec.loader import load_specs
from tests.helpers import FIXTURES, write

SLOTH = FIXTURES / "formats" / "sloth"


def slo_by_id(paths: list[Path]) -> dict:
    return {s.id: s for s in load_specs(paths).slos}


def test_getting_started_maps_every_field():
    loaded = load_specs([SLOTH / "getting-started.yaml"])
    (slo,) = loaded.slos
    assert slo.id == "storefront-http-availability"
    assert slo.objective == 99.9
    assert str(slo.window) == "30d"
    assert slo.description.startswith("Storefront HTTP responses")
    assert slo.labels == {"owner": "web-team", "tier": "1"}
    assert slo.sli.events is not None
    assert slo.sli.events.error_query == (
        'sum(rate(http_request_duration_seconds_count{job="storefront",code=~"(5..|429)"}'
        "[{{window}}]))"
    )
    assert "{{.window}}" not in slo.sli.events.total_query
    alerting = slo.alerting
    assert alerting.name == "StorefrontErrorBudgetBurn"
    assert alerting.labels == {"category": "availability"}
    assert alerting.annotations == {"summary": "Storefront is failing too many requests"}
    assert alerting.page.labels == {"original_severity": "web-pager", "routing_key": "web"}
    assert alerting.ticket.labels == {"original_severity": "chat", "chat_channel": "#web-alerts"}


def test_severity_labels_move_with_a_warning_per_alert():
    result = build([SLOTH / "getting-started.yaml"])
    warnings = [str(w) for w in result.warnings]
    assert len(warnings) == 2
    assert warnings[0].endswith(
        "getting-started.yaml:26: slos[0].alerting.page_alert.labels.severity: Sloth label "
        "severity='web-pager' is kept as original_severity='web-pager' "
        "(sloctl's severity label is always page or ticket)"
    )


def test_compiled_alerts_keep_the_contract_and_the_users_value():
    (slo,) = load_specs([SLOTH / "getting-started.yaml"]).slos
    short, _ = compile_slo(slo)
    alerts = {
        r.labels["severity"]: r
        for r in short.rules
        if getattr(r, "alert", None) == "StorefrontErrorBudgetBurn"
    }
    assert set(alerts) == {"page", "ticket"}
    assert alerts["page"].alert == "StorefrontErrorBudgetBurn"
    assert alerts["page"].labels["original_severity"] == "web-pager"
    assert alerts["ticket"].labels["original_severity"] == "chat"
    assert alerts["page"].annotations["summary"] == "Storefront is failing too many requests"


def test_team_label_raw_sli_and_disabled_alerts():
    slos = slo_by_id([SLOTH / "service-level.yaml"])
    latency = slos["payments-charge-latency"]
    assert latency.team == "billing"
    assert latency.labels == {"domain": "money", "component": "charger"}
    assert latency.rule_labels["team"] == "billing"
    assert latency.alerting.page.enabled
    assert not latency.alerting.ticket.enabled
    assert latency.alerting.page.annotations == {
        "runbook": "https://runbooks.example.com/charge-latency"
    }
    assert "{{ .window }}" not in latency.sli.events.error_query  # spaces inside the braces too
    fresh = slos["payments-ledger-freshness"]
    assert fresh.sli.raw is not None
    assert fresh.sli.raw.error_ratio_query == (
        "1 - avg(avg_over_time(ledger_export_fresh_ratio[{{window}}]))"
    )
    assert not fresh.alerting.page.enabled
    assert fresh.alerting.ticket.enabled
    assert fresh.alerting.name == "SLOErrorBudgetBurn"  # Sloth needs none when alerts are off


def test_crd_reads_like_the_plain_format():
    slos = slo_by_id([SLOTH / "crd.yaml"])
    query = slos["search-query-success"]
    assert query.team == "discovery"
    assert query.objective == 99.5
    assert query.sli.events.error_query == (
        'sum(rate(search_queries_total{outcome="error"}[{{window}}]))'
    )
    assert query.alerting.page.labels == {"original_severity": "critical"}
    assert query.alerting.labels == {"category": "errors"}
    lag = slos["search-index-lag"]
    assert not lag.alerting.page.enabled
    assert not lag.alerting.ticket.enabled
    # the Kubernetes labels of the object are not SLO labels
    assert "app_kubernetes_io_part_of" not in lag.labels


PLAIN = """\
version: prometheus/v1
service: shop
slos:
  - name: availability
    objective: 99.9
    sli:
{sli}
"""


def errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        build([path])
    return err.value.lines()


def test_sli_plugin_is_rejected_naming_the_plugin(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        PLAIN.format(
            sli="      plugin:\n        id: sloth-common/availability\n"
            "        options: {job: shop}\n"
        ),
    )
    assert errors(path) == [
        f"{path}:8: slos[0].sli.plugin.id: Sloth SLI plugin 'sloth-common/availability' is "
        "not supported: plugins generate their queries inside Sloth, which sloctl cannot run; "
        "write the queries as sli.events"
    ]


def test_slo_plugin_chain_is_rejected(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        "version: prometheus/v1\nservice: shop\nslo_plugins:\n  chain:\n"
        "    - id: sloth.dev/core/sli_rules/v1\nslos:\n  - name: a\n    objective: 99\n"
        "    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n",
    )
    (line,) = errors(path)
    assert line.startswith(f"{path}:3: slo_plugins: Sloth SLO plugins ('sloth.dev/core/sli_rules")


def test_query_without_window_placeholder(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        PLAIN.format(
            sli="      events:\n        error_query: sum(rate(errors_total[5m]))\n"
            "        total_query: sum(rate(requests_total[{{.window}}]))\n"
        ),
    )
    assert errors(path) == [
        f"{path}:8: slos[0].sli.events.error_query: query must contain the {{{{.window}}}} "
        "placeholder where the range goes, e.g. rate(http_requests_total[{{.window}}])"
    ]


def test_unknown_field_and_two_sli_kinds(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        PLAIN.format(
            sli="      raw: {error_ratio_query: 'x[{{.window}}]'}\n"
            "      events: {error_query: 'e[{{.window}}]', total_query: 't[{{.window}}]'}\n"
        )
        + "    alerting:\n      page_alert: {silence: true}\n",
    )
    assert errors(path) == [
        f"{path}:6: slos[0].sli: set exactly one of events, raw, plugin",
        f"{path}:11: slos[0].alerting.page_alert.silence: unknown field",
    ]


def test_reserved_label_and_bad_objective(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        "version: prometheus/v1\nservice: shop\nslos:\n  - name: a\n    objective: 100\n"
        "    labels: {slo: mine}\n    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n",
    )
    assert errors(path) == [
        f"{path}:6: slos[0].labels: label 'slo' is set by sloctl and cannot be set in a spec"
    ]
    path.write_text(path.read_text().replace("    labels: {slo: mine}\n", ""))
    assert errors(path) == [
        f"{path}:5: slos[0].objective: objective is a percentage above 0 and below 100, e.g. 99.9"
    ]


def test_compiler_checks_point_at_the_sloth_field(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        "version: prometheus/v1\nservice: shop\nslos:\n  - name: a\n    objective: 50\n"
        "    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n"
        "    alerting:\n      ticket_alert: {disable: true}\n",
    )
    (line,) = errors(path)
    # the page_alert key is not written: the line of `alerting` it would go under
    assert line.startswith(f"{path}:7: slos[0].alerting.page_alert: objective 50% leaves")


def test_alert_windows_config_is_rejected(tmp_path: Path):
    path = write(
        tmp_path / "w.yaml",
        "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 30d\n",
    )
    (line,) = errors(path)
    assert line.startswith(f"{path}:2: kind: AlertWindows is not supported: it configures")


def test_older_sloth_settings_are_ignored_with_warnings(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        "version: prometheus/v1\nservice: shop\nslos:\n  - name: a\n    objective: 99\n"
        "    infoLabels: {owner: web}\n    interval: {all: 1m}\n"
        "    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n"
        "    alerting:\n      page_alert:\n        labels: {severity: page}\n",
    )
    result = build([path])
    assert [str(w).split(": ", 2)[1] for w in result.warnings] == [
        "slos[0].infoLabels",
        "slos[0].interval",
    ]  # and `severity: page` on the page alert says nothing new: dropped without a warning
    (slo,) = result.specs.slos
    assert slo.alerting.page.labels == {}
