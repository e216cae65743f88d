"""OpenSLO v1 objects read into sloctl's SLO model, references resolved across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.build import build
from sloctl.errors import SpecError
from sloctl.slo_math import slo_conditions
from sloctl.spec.loader import load_specs
from tests.helpers import FIXTURES, write

OPENSLO = FIXTURES / "formats" / "openslo"


@pytest.fixture(scope="module")
def slos() -> dict:
    return {s.id: s for s in load_specs([OPENSLO]).slos}


def test_references_across_files(slos):
    slo = slos["checkout-checkout-availability"]
    assert slo.team == "payments"
    assert slo.labels == {"tier": "1"}
    assert slo.objective == 99.9  # target 0.999, exactly
    assert str(slo.window) == "28d"
    assert slo.description == "Checkout requests answered without a server error."
    events = slo.sli.events
    assert events is not None
    assert events.good_query == (
        'sum(rate(http_requests_total{service="checkout",code!~"5.."}[{{window}}]))'
    )
    assert events.error_query is None


def test_alert_policies_become_burn_windows(slos):
    slo = slos["checkout-checkout-availability"]
    alerting = slo.alerting
    # burn-14x (critical, 1h, after 2m) from alerting.yaml; burn-1x (warning, 3d, after 30m)
    conditions = {(c.severity, c.long, c.short): c.factor for c in slo_conditions(slo)}
    assert conditions == {("page", 3600, 300): 14.4, ("ticket", 3 * 86400, 6 * 3600): 1.0}
    assert alerting.page.for_ == "2m"
    assert alerting.ticket.for_ == "30m"
    assert alerting.page.labels == {"original_severity": "critical"}
    assert alerting.ticket.labels == {"original_severity": "warning"}
    assert alerting.absent.enabled  # fast-burn has alertWhenNoData


def test_counter_selectors_calendar_window_and_data_source(slos):
    slo = slos["checkout-checkout-errors"]
    ratio = slo.sli.ratio
    assert ratio is not None
    assert ratio.errors == 'http_requests_total{service="checkout",code=~"5.."}'  # sum() dropped
    assert ratio.total == 'http_requests_total{service="checkout"}'
    assert slo.window.calendar == "month"
    assert slo.window.time_zone == "Europe/Paris"
    assert slo.objective == 99.5
    assert slo.alerting.windows is None  # no alert policy: sloctl's default conditions


def test_threshold_metric_with_two_objectives(slos):
    low = slos["orders-worker-queue-lag-lag-under-500"]
    high = slos["orders-worker-queue-lag-lag-under-5000"]
    query = 'max(kafka_consumergroup_lag{consumergroup="orders-worker"})'
    assert low.sli.events.good_query == f"count_over_time((({query}) < 500)[{{{{window}}}}:])"
    assert low.sli.events.total_query == f"count_over_time(({query})[{{{{window}}}}:])"
    assert "<= 5000" in high.sli.events.good_query
    assert (low.objective, high.objective) == (99.0, 99.9)
    assert low.window.calendar == "week"
    assert [(c.severity, c.long, c.factor) for c in slo_conditions(low)] == [
        ("page", 6 * 3600, 6.0)
    ]
    assert not low.alerting.ticket.enabled
    assert low.alerting.absent.enabled


def test_raw_success_ratio_and_gauges(slos):
    cache = slos["catalog-cache-hits"]
    assert cache.sli.raw is not None
    assert cache.sli.raw.error_ratio_query == (
        "1 - (avg_over_time((sum(rate(cache_hits_total[5m])) / "
        "sum(rate(cache_requests_total[5m])))[{{window}}:]))"
    )
    replicas = slos["catalog-healthy-replicas"]
    assert replicas.sli.events.good_query == (
        'avg_over_time((sum(kube_deployment_status_replicas_available{deployment="catalog"}))'
        "[{{window}}:])"
    )


def errors(*paths: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        build(paths)
    return err.value.lines()


SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api
spec:
  service: shop
  budgetingMethod: {method}
  timeWindow:
    - duration: 28d
      isRolling: true
  objectives:
    - target: 0.99
{spec}
"""
RATIO = """\
  indicator:
    metadata:
      name: api
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: {type}
            spec:
              query: http_requests_total{{code="500"}}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total
"""


def doc(tmp_path: Path, method: str = "Occurrences", spec: str = "", type_: str = "Prometheus"):
    return write(
        tmp_path / "slo.yaml",
        SLO.format(method=method, spec=spec or RATIO.format(type=type_)),
    )


def test_a_valid_baseline(tmp_path: Path):
    (slo,) = load_specs([doc(tmp_path)]).slos
    assert slo.id == "shop-api"
    assert slo.sli.ratio.errors == 'http_requests_total{code="500"}'


def test_timeslices_are_rejected_in_one_line(tmp_path: Path):
    path = doc(tmp_path, method="Timeslices")
    assert errors(path) == [
        f"{path}:7: spec.budgetingMethod: Timeslices is not supported: sloctl budgets by "
        "events (Occurrences); time-slice budgets count good time slices, which these rules "
        "do not compute",
        f"{path}:12: spec.objectives[0].timeSliceTarget: required with budgetingMethod Timeslices",
        f"{path}:12: spec.objectives[0].timeSliceWindow: required with budgetingMethod Timeslices",
    ]


def test_other_sources_are_rejected(tmp_path: Path):
    path = doc(tmp_path, type_="Datadog")
    assert errors(path) == [
        f"{path}:21: spec.indicator.spec.ratioMetric.bad.metricSource.type: metric source "
        "type 'Datadog' is not supported: sloctl compiles Prometheus queries only"
    ]


def test_op_on_a_ratio_objective_is_forbidden_as_the_go_sdk_says(tmp_path: Path):
    path = doc(tmp_path)
    path.write_text(
        path.read_text().replace("    - target: 0.99\n", "    - target: 0.99\n      op: gt\n")
    )
    assert errors(path) == [
        f"{path}:13: spec.objectives[0].op: op is forbidden with a ratioMetric SLI (as the "
        "OpenSLO go-sdk validator decides): it applies to thresholdMetric only"
    ]


def test_dangling_references(tmp_path: Path):
    path = doc(
        tmp_path,
        spec="  indicatorRef: api-requests\n  alertPolicies:\n    - alertPolicyRef: paging\n",
    )
    assert errors(path) == [
        f"{path}:13: spec.indicatorRef: 'api-requests' names no SLI in the files read"
    ]
    write(
        tmp_path / "sli.yaml",
        "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: api-requests}\nspec:\n"
        "  ratioMetric:\n    counter: true\n"
        "    good: {metricSource: {type: Prometheus, spec: {query: ok_total}}}\n"
        "    total: {metricSource: {type: Prometheus, spec: {query: all_total}}}\n",
    )
    assert errors(tmp_path) == [
        f"{path}:15: spec.alertPolicies[0].alertPolicyRef: 'paging' names no AlertPolicy in "
        "the files read"
    ]
    write(
        tmp_path / "policy.yaml",
        "apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: {name: paging}\nspec:\n"
        "  alertWhenBreaching: true\n  conditions:\n    - conditionRef: fast\n"
        "  notificationTargets:\n    - targetRef: pager\n",
    )
    policy = tmp_path / "policy.yaml"
    assert errors(tmp_path) == [
        f"{policy}:7: spec.conditions[0].conditionRef: 'fast' names no AlertCondition in the "
        "files read",
        f"{policy}:9: spec.notificationTargets[0].targetRef: 'pager' names no "
        "AlertNotificationTarget in the files read",
    ]


def test_condition_errors(tmp_path: Path):
    policies = """\
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: p}
      spec:
        alertWhenBreaching: true
        conditions:
          - kind: AlertCondition
            metadata: {name: c}
            spec:
              severity: %s
              condition: {kind: burnrate, op: %s, threshold: %s, lookbackWindow: 1h}
        notificationTargets:
          - kind: AlertNotificationTarget
            metadata: {name: t}
            spec: {target: mail}
"""
    path = doc(tmp_path, spec=RATIO.format(type="Prometheus") + policies % ("sev1", "gt", 2))
    assert errors(path) == [
        f"{path}:38: spec.alertPolicies[0].spec.conditions[0].spec.severity: severity 'sev1' "
        "is neither a page (page, critical) nor a ticket (ticket, warning, info): sloctl "
        "pages or opens tickets"
    ]
    path = doc(tmp_path, spec=RATIO.format(type="Prometheus") + policies % ("page", "lte", 2))
    (line,) = errors(path)
    assert line.startswith(
        f"{path}:39: spec.alertPolicies[0].spec.conditions[0].spec.condition.op: op lte is "
        "not supported: a burn-rate alert fires when the burn rate is above the threshold"
    )
    path = doc(tmp_path, spec=RATIO.format(type="Prometheus") + policies % ("page", "gt", 1000))
    (line,) = errors(path)
    assert "condition.threshold: burn rate 1000 over 1h would burn 149% of the 28d" in line


def test_windows_sloctl_cannot_compile(tmp_path: Path):
    path = doc(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("duration: 28d", "duration: 12h"))
    (line,) = errors(path)
    assert line == (
        f"{path}:9: spec.timeWindow[0].duration: a rolling window of 12h is not supported: "
        "sloctl's rolling windows are whole days (e.g. 28d, 4w, 1M = 30d)"
    )
    calendar = (
        "    - duration: 1M\n      isRolling: false\n      calendar:\n"
        "        startTime: 2024-01-01 12:00:00\n        timeZone: America/New_York\n"
    )
    path.write_text(text.replace("    - duration: 28d\n      isRolling: true\n", calendar))
    assert errors(path) == [
        f"{path}:12: spec.timeWindow[0].calendar.startTime: 2024-01-01 12:00:00 is not "
        "supported: sloctl's calendar months start on the 1st at 00:00:00 in timeZone"
    ]
    path.write_text(path.read_text().replace("duration: 1M", "duration: 1Q"))
    (line,) = errors(path)
    assert line.startswith(f"{path}:9: spec.timeWindow[0].duration: a calendar window of 1Q")


def test_schema_errors_are_located(tmp_path: Path):
    path = doc(tmp_path)
    path.write_text(
        path.read_text()
        .replace("target: 0.99", "target: 1.5")
        .replace("counter: true", "counter: yes please")
    )
    assert errors(path) == [
        f"{path}:12: spec.objectives[0].target: Input should be less than 1",
        f"{path}:18: spec.indicator.spec.ratioMetric.counter: Input should be a valid boolean, "
        "unable to interpret input",
    ]


def test_counter_queries_must_be_selectors(tmp_path: Path):
    path = doc(tmp_path)
    path.write_text(
        path.read_text().replace(
            'query: http_requests_total{code="500"}',
            'query: sum(rate(http_requests_total{code="500"}[5m]))',
        )
    )
    (line,) = errors(path)
    assert line.startswith(
        f"{path}:23: spec.indicator.spec.ratioMetric.bad.metricSource.spec.query: with "
        "counter: true sloctl takes the rate() of each counter"
    )


def test_composite_and_other_versions(tmp_path: Path):
    path = doc(tmp_path)
    path.write_text(
        path.read_text().replace(
            "    - target: 0.99\n", "    - target: 0.99\n      compositeWeight: 2\n"
        )
    )
    (line,) = errors(path)
    assert line == (
        f"{path}:5: spec: indicator or indicatorRef go either on spec (standard SLOs) or on "
        "spec.objectives[*] (composite SLOs), not both"
    )
    path.write_text(path.read_text().replace("openslo/v1", "openslo/v2alpha"))
    assert errors(path) == [
        f"{path}:1: apiVersion: openslo/v2alpha is not supported: sloctl reads OpenSLO v1 "
        "(openslo/v1)"
    ]
