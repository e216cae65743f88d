"""Pyrra ServiceLevelObjectives read into sloctl's SLO model."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.build import build
from sloctl.errors import SpecError
from sloctl.spec.loader import load_specs
from sloctl.spec.pyrra import latency_seconds
from tests.helpers import FIXTURES, write

PYRRA = FIXTURES / "formats" / "pyrra"


@pytest.fixture(scope="module")
def slos() -> dict:
    return {s.id: s for s in load_specs([PYRRA]).slos}


def test_ratio_with_grouping_and_propagated_labels(slos):
    slo = slos["inventory-api-errors"]
    assert slo.service == "inventory"  # the namespace
    assert slo.team == "stock"  # pyrra.dev/team
    assert slo.labels == {"tier": "2"}  # pyrra.dev/tier; `prometheus: main` is not propagated
    assert slo.objective == 99.9
    assert str(slo.window) == "28d"  # 4w
    assert slo.group_by == ("route",)
    assert slo.sli.ratio is not None
    assert slo.sli.ratio.errors == 'http_requests_total{job="inventory",code=~"5.."}'
    assert slo.sli.ratio.total == 'http_requests_total{job="inventory"}'
    assert slo.alerting.annotations == {"dashboard": "https://grafana.example.com/d/inventory"}
    assert slo.alerting.page.enabled
    assert slo.alerting.ticket.enabled
    assert slo.alerting.absent.enabled


def test_latency_on_the_same_series_is_a_histogram_threshold(slos):
    slo = slos["inventory-api-latency"]
    assert slo.sli.latency is not None
    assert slo.sli.latency.metric == 'http_request_duration_seconds{job="inventory"}'
    assert slo.sli.latency.threshold == 0.25
    assert not slo.sli.latency.native
    assert str(slo.window) == "14d"


def test_latency_on_other_series_keeps_pyrras_arithmetic(slos):
    """The bucket selects GETs only, the count every method: good/total as written."""
    slo = slos["inventory-fast-reads"]
    assert slo.sli.ratio is not None
    assert slo.sli.ratio.good == (
        'http_request_duration_seconds_bucket{job="inventory",method="GET",le="0.1"}'
    )
    assert slo.sli.ratio.total == 'http_request_duration_seconds_count{job="inventory"}'


def test_native_latency_bool_gauge_and_service_label(slos):
    rpc = slos["inventory-rpc-rpc-latency"]
    assert rpc.service == "inventory-rpc"  # pyrra.dev/service wins over the (absent) namespace
    assert rpc.sli.latency is not None
    assert rpc.sli.latency.native
    assert rpc.sli.latency.threshold == 0.15
    assert rpc.group_by == ("method",)
    probe = slos["inventory-probe"]
    assert probe.sli.bool_gauge is not None
    assert probe.sli.bool_gauge.metric == 'probe_success{job="blackbox",module="http_2xx"}'
    assert probe.group_by == ("instance",)
    assert probe.alerting.name == "InventoryProbeBurn"
    assert not probe.alerting.absent.enabled
    assert probe.alerting.page.enabled


def test_burnrates_off_keeps_recording_rules_and_absent(slos):
    slo = slos["reports-batch-success"]
    assert not slo.alerting.page.enabled
    assert not slo.alerting.ticket.enabled
    assert slo.alerting.absent.enabled
    assert slo.alerting.absent.name == "ReportsMetricsMissing"


def test_no_namespace_means_kubernetes_default(tmp_path: Path):
    path = write(
        tmp_path / "p.yaml",
        "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n"
        "  name: probe\nspec:\n  target: '99'\n  window: 1w\n  alerting:\n    disabled: true\n"
        "  indicator:\n    bool_gauge:\n      metric: probe_success\n",
    )
    (slo,) = load_specs([path]).slos
    assert slo.id == "default-probe"
    assert not slo.alerting.page.enabled  # the deprecated `disabled` switch


@pytest.mark.parametrize(
    ("text", "seconds"), [("200ms", 0.2), ("1s", 1), ("1s500ms", 1.5), ("2m", 120)]
)
def test_latency_durations(text: str, seconds: float):
    assert latency_seconds(text) == seconds


def errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        build([path])
    return err.value.lines()


DOC = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api
  namespace: shop
spec:
  target: {target}
  window: {window}
  indicator:
{indicator}
"""
RATIO = """\
    ratio:
      errors:
        metric: http_requests_total{code=~"5.."}
      total:
        metric: http_requests_total
"""


def test_bad_target_and_window(tmp_path: Path):
    path = write(tmp_path / "p.yaml", DOC.format(target='"99,9"', window="12h", indicator=RATIO))
    assert errors(path) == [
        f"{path}:7: spec.target: target '99,9' is not a percentage such as \"99.9\"",
        f"{path}:8: spec.window: '12h': a rolling window is a whole number of days, e.g. 28d",
    ]


def test_selector_that_is_a_query(tmp_path: Path):
    path = write(
        tmp_path / "p.yaml",
        DOC.format(
            target='"99"',
            window="7d",
            indicator=RATIO.replace(
                "metric: http_requests_total\n", "metric: sum(rate(http_requests_total[5m]))\n"
            ),
        ),
    )
    (line,) = errors(path)
    assert line.startswith(
        f"{path}:14: spec.indicator.ratio.total.metric: 'sum(rate(http_requests_total[5m]))' "
        "is not a series selector"
    )


def test_latency_without_le_and_grouping_by_a_reserved_label(tmp_path: Path):
    latency = """\
    latency:
      success:
        metric: http_request_duration_seconds_bucket{job="api"}
      total:
        metric: http_request_duration_seconds_count{job="api"}
      grouping: [service]
"""
    path = write(tmp_path / "p.yaml", DOC.format(target='"99"', window="7d", indicator=latency))
    assert errors(path) == [
        f"{path}:12: spec.indicator.latency.success.metric: the success metric needs one "
        'le="<seconds>" matcher: the bucket of the latency threshold',
        f"{path}:15: spec.indicator.latency.grouping: groupBy label 'service' is set by sloctl "
        "and cannot be set in a spec",
    ]


def test_two_indicators_and_unknown_field(tmp_path: Path):
    both = RATIO + "    bool_gauge:\n      metric: up\n"
    path = write(tmp_path / "p.yaml", DOC.format(target='"99"', window="7d", indicator=both))
    path.write_text(path.read_text() + "  alerting:\n    paging: false\n")
    assert errors(path) == [
        f"{path}:9: spec.indicator: set exactly one of ratio, latency, latencyNative, bool_gauge",
        f"{path}:19: spec.alerting.paging: unknown field",
    ]


def test_fraction_target_warns(tmp_path: Path):
    path = write(tmp_path / "p.yaml", DOC.format(target='"0.99"', window="7d", indicator=RATIO))
    path.write_text(path.read_text() + "  alerting:\n    burnrates: false\n")
    result = build([path])
    (warning,) = result.warnings
    assert str(warning) == (
        f"{path}:7: spec.target: target is a percentage (0-100): 0.99 means 0.99%, not 99%"
    )


def test_thanos_setting_is_ignored_with_a_warning():
    result = build([PYRRA / "quiet.yaml"])
    assert [str(w) for w in result.warnings] == [
        f"{PYRRA / 'quiet.yaml'}:10: spec.partial_response_strategy: ignored: a Thanos Ruler "
        "setting; sloctl writes Prometheus rule files"
    ]
