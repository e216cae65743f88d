from __future__ import annotations

import re

import pytest

from sloctl.promql import parse_selector
from sloctl.spec.models import SLO
from sloctl.testgen.synth import plan_for, regex_examples, solve_labels


@pytest.mark.parametrize(
    "pattern", ["5..", "(5..|429)", "OK|NotFound", "/api/.*", "[a-z]+-[0-9]{2,3}", "x?y*", "\\d+"]
)
def test_regex_examples_match(pattern: str):
    examples = regex_examples(pattern)
    assert examples
    assert all(re.fullmatch(pattern, e) for e in examples)


def test_solve_labels_inside_and_outside():
    errors = parse_selector('http_requests_total{job="api",code=~"5..|429"}')
    total = parse_selector('http_requests_total{job="api"}')
    inside = solve_labels([errors, total])
    outside = solve_labels([total], avoid=errors)
    assert inside is not None
    assert outside is not None
    assert errors.matches("http_requests_total", inside)
    assert total.matches("http_requests_total", outside)
    assert not errors.matches("http_requests_total", outside)


def test_solve_labels_respects_fixed_group_labels():
    sel = parse_selector('x{route=~"/api/.*"}')
    assert solve_labels([sel], fixed={"route": "/health"}) is None
    assert solve_labels([sel], fixed={"route": "/api/a"}) == {"route": "/api/a"}


def make(sli: dict[str, object], **extra: object) -> SLO:
    return SLO.model_validate(
        {"service": "s", "name": "n", "objective": 99, "window": "30d", "sli": sli, **extra}
    )


def test_plans_drive_the_spec_queries_when_they_can():
    plan = plan_for(
        make(
            {
                "events": {
                    "errorQuery": 'sum(rate(req_total{code=~"5.."}[{{window}}]))',
                    "totalQuery": "sum(rate(req_total[{{window}}]))",
                }
            },
            groupBy=["route"],
        )
    )
    assert plan.own_queries
    assert len(plan.groups) == 2
    roles = sorted((s.role, s.group) for s in plan.series)
    assert roles == [("bad", 0), ("bad", 1), ("good", 0), ("good", 1)]


def test_raw_ratio_queries_are_replaced_and_say_why():
    plan = plan_for(make({"raw": {"errorRatioQuery": "1 - avg_over_time(up[{{window}}])"}}))
    assert not plan.own_queries
    assert plan.note == (
        "SLI queries replaced: a raw error-ratio query does not say which series are errors"
    )


def test_gauge_in_an_events_query_is_replaced():
    plan = plan_for(
        make(
            {
                "events": {
                    "errorQuery": "sum(count_over_time(fails[{{window}}]))",
                    "totalQuery": "sum(count_over_time(all[{{window}}]))",
                }
            }
        )
    )
    assert not plan.own_queries
