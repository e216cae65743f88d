from __future__ import annotations

import math

import pytest

from sloctl.durations import DAY, HOUR, MINUTE, format_duration, parse_duration
from sloctl.slo_math import (
    budget_remaining,
    burn_conditions,
    burn_factor,
    burn_rate,
    nice_duration,
    recorded_windows,
    time_to_exhaustion,
)
from sloctl.spec.models import SLO, BurnWindowSpec


def shape(window_days: int) -> list[tuple[str, str, str, float]]:
    return [
        (c.severity, format_duration(c.long), format_duration(c.short), c.factor)
        for c in burn_conditions(window_days * DAY)
    ]


def test_workbook_factors_for_30_days():
    assert shape(30) == [
        ("page", "1h", "5m", 14.4),
        ("page", "6h", "30m", 6.0),
        ("ticket", "1d", "2h", 3.0),
        ("ticket", "3d", "6h", 1.0),
    ]


def test_28_days_keeps_the_windows_and_rescales_the_factors():
    # Same as Sloth's google-28d windows: 2 %, 5 %, 10 %, 10 % of the budget.
    assert shape(28) == [
        ("page", "1h", "5m", 13.44),
        ("page", "6h", "30m", 5.6),
        ("ticket", "1d", "2h", 2.8),
        ("ticket", "3d", "6h", 0.9333333333),
    ]


@pytest.mark.parametrize("days", [7, 14, 28, 30, 60, 90, 365])
def test_every_condition_keeps_its_budget_share(days: int):
    for condition in burn_conditions(days * DAY):
        burned = condition.factor * condition.long / (days * DAY)
        assert burned == pytest.approx(condition.budget_fraction, rel=1e-9)
        assert condition.short < condition.long
        assert condition.short >= 5 * MINUTE


def test_custom_windows():
    (condition,) = burn_conditions(
        30 * DAY,
        [BurnWindowSpec(severity="page", long_window="30m", short_window="2m", budget_percent=1)],
    )
    assert (condition.long, condition.short) == (30 * MINUTE, 2 * MINUTE)
    assert condition.factor == 14.4


def test_nice_duration_rounds_on_a_log_scale():
    assert nice_duration(56 * MINUTE) == HOUR
    assert nice_duration(22.4 * HOUR) == DAY
    assert nice_duration(70) == MINUTE


def test_burn_factor_is_exact():
    assert burn_factor("0.02", 30 * DAY, HOUR) == 14.4
    assert burn_factor(0.1, 30 * DAY, 3 * DAY) == 1.0


def test_time_to_fire_of_a_full_outage():
    page = burn_conditions(30 * DAY)[0]
    assert page.time_to_fire(0.001) == pytest.approx(51.84)
    assert not page.reachable(0.1)
    assert math.isinf(page.time_to_fire(0.1))


def test_budget_numbers():
    assert budget_remaining(0.9995, 0.999) == pytest.approx(0.5)
    assert budget_remaining(0.998, 0.999) == pytest.approx(-1.0)
    assert burn_rate(0.0144, 0.001) == pytest.approx(14.4)
    assert time_to_exhaustion(0.5, 30 * DAY, 2.0) == pytest.approx(7.5 * DAY)
    assert time_to_exhaustion(0.5, 30 * DAY, 0.0) is None
    assert time_to_exhaustion(-0.2, 30 * DAY, 3.0) == 0.0


def test_target_and_budget_are_exact_decimals():
    slo = SLO.model_validate(
        {
            "service": "s",
            "name": "n",
            "objective": 99.9,
            "window": "30d",
            "sli": {"raw": {"errorRatioQuery": "x[{{window}}]"}},
        }
    )
    assert slo.target == 0.999
    assert slo.error_budget == 0.001


def test_recorded_windows_cover_standard_and_alert_windows():
    slo = SLO.model_validate(
        {
            "service": "s",
            "name": "n",
            "objective": 99,
            "window": "7d",
            "sli": {"raw": {"errorRatioQuery": "x[{{window}}]"}},
        }
    )
    windows = [format_duration(w) for w in recorded_windows(slo)]
    assert windows == ["5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "3d", "7d"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("30d", 30 * DAY), ("2w", 14 * DAY), ("45s", 45)],
)
def test_durations(text: str, seconds: int):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "1x", "0s", "100ms", "5 m"])
def test_bad_durations(text: str):
    with pytest.raises(ValueError, match=r"duration|second|zero"):
        parse_duration(text)
