"""The oracle that sets the expectations of the generated tests."""

from __future__ import annotations

import pytest

from sloctl.durations import HOUR
from sloctl.slo_math import burn_conditions
from sloctl.spec.models import SLO
from sloctl.testgen.oracle import Model, Phase, Timeline
from sloctl.testgen.scenarios import build_tests


def test_raw_window_ratio_counts_events_exactly():
    line = Timeline([Phase(60, 100, 0.0), Phase(30, 100, 1.0)])
    model = Model(0.001, True, frozenset())
    # a range includes its first sample (Prometheus 2) or not (Prometheus 3)
    assert model.raw(line, 90, HOUR) == (0.5, 30 / 59)


def test_zero_traffic_is_no_value():
    line = Timeline([Phase(30, 0.0, 0.0)])
    assert Model(0.001, True, frozenset()).raw(line, 30, 300) is None


def test_chained_window_weights_by_traffic_not_time():
    # 30 busy minutes with 10 % errors, then 30 quiet minutes without errors:
    # traffic-weighted, the error ratio stays near 10 %, not the 5 % a time average gives.
    line = Timeline([Phase(30, 1000, 0.1), Phase(30, 10, 0.0)])
    span = Model(0.001, True, frozenset()).chained(line, 60, 3600)
    assert isinstance(span, tuple)
    assert 0.095 < span[0] <= span[1] < 0.1


def test_full_outage_fires_at_the_first_minute_past_the_threshold():
    condition = burn_conditions(30 * 86400)[0]  # 1h / 5m at 14.4x
    history = 60
    line = Timeline([Phase(history, 1000, 0.0), Phase(60, 1000, 1.0)])
    model = Model(0.01, True, frozenset({300, 3600}))  # 99 %: 14.4 % of the hour is 8.64 minutes
    assert model.firing(line, history + 8, [condition], 0) is False
    assert model.firing(line, history + 9, [condition], 0) is True


@pytest.mark.parametrize("objective", [90, 95, 99, 99.5, 99.9, 99.95, 99.99])
@pytest.mark.parametrize("window", ["7d", "28d", "30d", "90d", "month"])
def test_pages_within_the_maths_for_many_slos(objective: float, window: str):
    slo = SLO.model_validate(
        {
            "service": "s",
            "name": "n",
            "objective": objective,
            "window": window,
            "sli": {"ratio": {"errors": 'r{code="500"}', "total": "r"}},
        }
    )
    suite = build_tests(slo)  # raises when the page would come later than the maths allows
    names = [s.name for s in suite.scenarios]
    assert names[:3] == ["full-outage-pages", "1x-burn-never-pages", "10x-burn-tickets"]
    assert "maths:" in suite.scenarios[0].summary
