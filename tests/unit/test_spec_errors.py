"""Spec errors: every problem, one line each, as path:line: field: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.build import build
from sloctl.errors import SpecError
from sloctl.spec.loader import load_specs
from tests.helpers import write

HEADER = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: {service}
spec:
  team: shop
  slos:
"""

GOOD_SLO = """\
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: http_requests_total{code=~"5.."}
          total: http_requests_total
"""


def spec(service: str, body: str) -> str:
    return HEADER.format(service=service) + body


def errors_of(*paths: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        build(paths)
    return err.value.lines()


def test_valid_spec_loads(specs_dir: Path):
    write(specs_dir / "a.yaml", spec("orders", GOOD_SLO))
    loaded = load_specs([specs_dir])
    (slo,) = loaded.slos
    assert slo.id == "orders-availability"
    assert slo.window.seconds == 30 * 86400
    assert slo.source == f"{specs_dir / 'a.yaml'}:8"


def test_every_error_in_one_run_with_lines(specs_dir: Path):
    path = write(
        specs_dir / "orders.yaml",
        spec(
            "orders",
            """\
    - name: availability
      objective: 100
      colour: blue
      sli:
        ratio:
          total: http_requests_total
    - name: Latency
      objective: 99
      window: 30x
      sli:
        latency:
          metric: http_request_duration_seconds_bucket
          threshold: -1
""",
        ),
    )
    lines = errors_of(path)
    assert lines == [
        f"{path}:9: spec.slos[0].objective: objective is a percentage above 0 and below 100, "
        "e.g. 99.9",
        f"{path}:10: spec.slos[0].colour: unknown field",
        f"{path}:12: spec.slos[0].sli.ratio: set exactly one of errors and good",
        f"{path}:14: spec.slos[1].name: 'Latency' must be lowercase letters, digits and '-', "
        "start and end with a letter or digit, at most 63 characters",
        f"{path}:16: spec.slos[1].window.rolling: '30x' is not a duration such as 5m, 1h30m or 30d",
        f"{path}:19: spec.slos[1].sli.latency.metric: name the histogram itself "
        "(http_request_duration_seconds), not its _bucket series",
        f"{path}:20: spec.slos[1].sli.latency.threshold: Input should be greater than 0",
    ]


def test_errors_across_files_are_all_reported(specs_dir: Path):
    one = write(specs_dir / "one.yaml", spec("orders", GOOD_SLO.replace("99.9", "abc")))
    two = write(specs_dir / "two.yaml", "apiVersion: v9\nkind: Thing\n")
    lines = errors_of(specs_dir)
    assert len(lines) == 2
    assert lines[0].startswith(f"{one}:9: spec.slos[0].objective: Input should be a valid number")
    assert lines[1] == (
        f"{two}:1: apiVersion: apiVersion 'v9', kind 'Thing' is not a spec format sloctl reads "
        "(sloctl.dev/v1, openslo/v1, Sloth prometheus/v1, pyrra.dev/v1alpha1, "
        "slo-generator sre.google.com/v2)"
    )


def test_duplicate_slo_ids_across_files(specs_dir: Path):
    first = write(specs_dir / "a.yaml", spec("orders", GOOD_SLO))
    second = write(specs_dir / "b.yaml", spec("orders", GOOD_SLO))
    assert errors_of(specs_dir) == [
        f"{second}:8: spec.slos[0].name: SLO id 'orders-availability' is already defined "
        f"at {first}:8"
    ]


def test_reserved_and_invalid_labels(specs_dir: Path):
    path = write(
        specs_dir / "l.yaml",
        spec(
            "orders",
            GOOD_SLO
            + """\
      labels:
        severity: high
      groupBy: [route, "bad-label"]
""",
        ),
    )
    assert errors_of(path) == [
        f"{path}:14: spec.slos[0].labels: label 'severity' is set by sloctl and cannot be set "
        "in a spec",
        f"{path}:16: spec.slos[0].groupBy: 'bad-label' is not a valid Prometheus groupBy "
        "label name",
    ]


def test_query_without_window_placeholder(specs_dir: Path):
    path = write(
        specs_dir / "q.yaml",
        spec(
            "orders",
            """\
    - name: events
      objective: 99
      sli:
        events:
          errorQuery: sum(rate(errors_total[5m]))
          totalQuery: sum(rate(requests_total[{{window}}]))
""",
        ),
    )
    (line,) = errors_of(path)
    assert line.startswith(
        f"{path}:11: spec.slos[0].sli.events: query must contain the {{{{window}}}}"
    )


def test_bad_selector_and_time_zone(specs_dir: Path):
    path = write(
        specs_dir / "s.yaml",
        spec(
            "orders",
            """\
    - name: probe
      objective: 99
      window: {calendar: month, timeZone: Mars/Olympus}
      sli:
        boolGauge:
          metric: 'probe_success{job="x"'
""",
        ),
    )
    lines = errors_of(path)
    assert lines[0] == (
        f"{path}:10: spec.slos[0].window.timeZone: 'Mars/Olympus' is not an IANA time zone "
        "such as Europe/Berlin"
    )
    assert lines[1].startswith(f"{path}:13: spec.slos[0].sli.boolGauge.metric: ")
    assert "is not a series selector" in lines[1]


def test_unreachable_page_is_a_compile_error(specs_dir: Path):
    path = write(specs_dir / "low.yaml", spec("orders", GOOD_SLO.replace("99.9", "80")))
    (line,) = errors_of(path)
    assert line.startswith(f"{path}:8: spec.slos[0].alerting.page: objective 80% leaves a 0.2")
    assert "disable the page alert or raise the objective" in line


def test_partly_unreachable_page_is_a_warning(specs_dir: Path):
    write(specs_dir / "w.yaml", spec("orders", GOOD_SLO.replace("99.9", "90")))
    result = build([specs_dir])
    assert [w.field for w in result.warnings] == ["spec.slos[0].alerting.page"]
    assert "the 1h page condition (14.4x) can never fire" in result.warnings[0].message


def test_missing_path_is_reported(tmp_path: Path):
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path / "nope"])
    assert err.value.lines() == [f"{tmp_path / 'nope'}: no such file or directory"]


def test_defaults_apply_unless_the_slo_sets_the_key(specs_dir: Path):
    write(
        specs_dir / "d.yaml",
        HEADER.format(service="orders").replace(
            "  slos:\n",
            "  defaults:\n    window: 7d\n    alerting: {ticket: false}\n  slos:\n",
        )
        + GOOD_SLO
        + GOOD_SLO.replace("availability", "other").replace(
            "      sli:", "      window: 28d\n      sli:"
        ),
    )
    slos = {s.name: s for s in load_specs([specs_dir]).slos}
    assert str(slos["availability"].window) == "7d"
    assert not slos["availability"].alerting.ticket.enabled
    assert str(slos["other"].window) == "28d"
