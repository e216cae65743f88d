"""Bad input in every format: `Error: path:line: field: message`, one line each, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write

SLOTH = """\
version: prometheus/v1
service: {service}
slos:
  - name: availability
    objective: {objective}
    sli:
      events:
        error_query: sum(rate(http_requests_total{{code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(rate(http_requests_total[{{{{.window}}}}]))
"""
CRD = """\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: shop
spec:
  service: shop
  slos:
    - name: availability
      objective: 99.9
      sli:
        events:
          error_query: sum(rate(errors_total[{{.window}}]))
          totalQuery: sum(rate(requests_total[{{.window}}]))
"""
PYRRA = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: {name}
  namespace: shop
spec:
  target: "99"
  window: 7d
  indicator:
    bool_gauge:
      metric: {metric}
"""
OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api
spec:
  service: shop
  indicatorRef: {ref}
  budgetingMethod: {method}
  timeWindow:
    - duration: 28d
      isRolling: true
  objectives:
    - target: 0.99
"""
SLI = """\
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: api
spec:
  thresholdMetric:
    metricSource:
      type: Prometheus
      spec:
        query: max(queue_lag_seconds)
"""

CASES = {
    "sloth-service-name": (
        SLOTH.format(service="Shop_API", objective=99.9),
        [
            "2: service: 'Shop_API' must be lowercase letters, digits and '-', start and end "
            "with a letter or digit, at most 63 characters"
        ],
    ),
    "sloth-objective-type": (
        SLOTH.format(service="shop", objective="high"),
        [
            "5: slos[0].objective: Input should be a valid number, unable to parse string as "
            "a number"
        ],
    ),
    "sloth-crd-snake-case-key": (
        CRD,
        [
            "11: spec.slos[0].sli.events.errorQuery: required field is missing",
            "12: spec.slos[0].sli.events.error_query: unknown field",
        ],
    ),
    "pyrra-name": (
        PYRRA.format(name="Api.V1", metric="probe_success"),
        [
            "4: metadata.name: 'Api.V1' must be lowercase letters, digits and '-', start and "
            "end with a letter or digit, at most 63 characters"
        ],
    ),
    "pyrra-selector": (
        PYRRA.format(name="api", metric="'avg(probe_success)'"),
        [
            "11: spec.indicator.bool_gauge.metric: 'avg(probe_success)' is not a series "
            "selector: unexpected '(' after the selector"
        ],
    ),
    "openslo-dangling-ref": (
        OPENSLO.format(ref="missing", method="Occurrences"),
        ["7: spec.indicatorRef: 'missing' names no SLI in the files read"],
    ),
    "openslo-ratio-timeslices": (
        OPENSLO.format(ref="api", method="RatioTimeslices") + SLI,
        [
            "8: spec.budgetingMethod: RatioTimeslices is not supported: sloctl budgets by "
            "events (Occurrences); time-slice budgets count good time slices, which these "
            "rules do not compute",
            "13: spec.objectives[0].op: required with a thresholdMetric SLI",
            "13: spec.objectives[0].timeSliceWindow: required with budgetingMethod RatioTimeslices",
            "13: spec.objectives[0].value: required with a thresholdMetric SLI",
        ],
    ),
    "openslo-unknown-kind": (
        "apiVersion: openslo/v1\nkind: Budget\nmetadata: {name: x}\nspec: {}\n",
        [
            "2: kind: 'Budget' is not an OpenSLO v1 kind (SLO, SLI, AlertPolicy, "
            "AlertCondition, AlertNotificationTarget, DataSource, Service)"
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_per_problem(cli, tmp_path: Path, case: str):
    text, expected = CASES[case]
    path = write(tmp_path / f"{case}.yaml", text)
    result = cli("validate", str(path))
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [f"Error: {path}:{line}" for line in expected]


def test_problems_of_every_format_in_one_run(cli, tmp_path: Path):
    write(tmp_path / "a.yaml", CASES["sloth-service-name"][0])
    write(tmp_path / "b.yaml", CASES["pyrra-name"][0])
    write(tmp_path / "c.yaml", CASES["openslo-dangling-ref"][0])
    result = cli("validate", str(tmp_path))
    assert result.code == 1
    assert [line.split(": ")[1] for line in result.err.splitlines()] == [
        f"{tmp_path / 'a.yaml'}:2",
        f"{tmp_path / 'b.yaml'}:4",
        f"{tmp_path / 'c.yaml'}:7",
    ]
