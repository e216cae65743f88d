"""Budget maths of the server: status from the policy, groups, calendar periods."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from server.budget.numbers import budget_for, numbers_for, period_of, status_for, window_key
from sloctl.spec.models import SLO, Window


def make(**extra: Any) -> SLO:
    data: dict[str, Any] = {
        "service": "orders",
        "name": "availability",
        "objective": 99.9,
        "window": "30d",
        "sli": {"ratio": {"errors": 'x{code="500"}', "total": "x"}},
    }
    data.update(extra)
    return SLO.model_validate(data)


@pytest.mark.parametrize(
    ("remaining", "status"),
    [
        (None, "unknown"),
        (0.9, "ok"),
        (0.25, "ok"),  # warn *below* 25 %
        (0.2499, "warning"),
        (0.0001, "warning"),
        (0.0, "exhausted"),  # freeze *at* 0 %
        (-0.3, "exhausted"),
    ],
)
def test_status_follows_the_default_policy(remaining, status):
    assert status_for(make(), remaining) == status


def test_status_with_a_stricter_policy():
    slo = make(budgetPolicy={"warnBelow": 50, "freezeAt": 10})
    assert status_for(slo, 0.6) == "ok"
    assert status_for(slo, 0.3) == "warning"
    assert status_for(slo, 0.1) == "exhausted"


def test_numbers_from_error_ratios():
    numbers = numbers_for(make(), {"30d": 0.0004, "1h": 0.002, "6h": 0.0})
    assert numbers.sli == pytest.approx(0.9996)
    assert numbers.remaining == pytest.approx(0.6)
    assert numbers.consumed == pytest.approx(0.4)
    assert numbers.burn_rates == pytest.approx({"30d": 0.4, "1h": 2.0, "6h": 0.0})
    # 60 % of 30 days left at twice the sustainable rate: 9 days.
    assert numbers.time_to_exhaustion == pytest.approx(9 * 86400)
    assert numbers.status == "ok"


def test_no_window_ratio_is_no_data_not_nan():
    numbers = numbers_for(make(), {"1h": 0.01})
    assert numbers.sli is None
    assert numbers.remaining is None
    assert numbers.status == "unknown"
    assert numbers.burn_rates == pytest.approx({"1h": 10.0})


def test_not_burning_has_no_exhaustion_time():
    assert numbers_for(make(), {"30d": 0.0005, "1h": 0.0}).time_to_exhaustion is None


def test_groups_summarised_by_the_worst():
    slo = make(groupBy=["route"])
    at = datetime(2026, 11, 24, tzinfo=UTC)
    budget = budget_for(
        slo,
        at,
        {
            ("/a",): {"30d": 0.0001, "1h": 0.005},
            ("/b",): {"30d": 0.0008, "1h": 0.001},
            ("/c",): {"1h": 0.0},  # no window data yet
        },
    )
    assert [g.labels for g in budget.groups] == [{"route": "/a"}, {"route": "/b"}, {"route": "/c"}]
    assert budget.numbers.sli == pytest.approx(0.9992)
    assert budget.numbers.remaining == pytest.approx(0.2)
    assert budget.numbers.status == "warning"
    assert budget.numbers.burn_rates["1h"] == pytest.approx(5.0)
    assert budget.groups[2].numbers.status == "unknown"


def test_calendar_periods_in_the_slos_time_zone():
    week = Window(calendar="week", time_zone="Europe/Berlin")
    # Sunday 23:30 UTC is already Monday 00:30 in Berlin: a new week.
    period = period_of(week, datetime(2026, 11, 29, 23, 30, tzinfo=UTC))
    assert period is not None
    assert period.start.isoformat() == "2026-11-30T00:00:00+01:00"
    assert period.end.isoformat() == "2026-12-07T00:00:00+01:00"
    month = Window(calendar="month", time_zone="America/New_York")
    # March 2026 crosses the DST change: both ends are local midnights.
    period = period_of(month, datetime(2026, 3, 20, tzinfo=UTC))
    assert period is not None
    assert period.start.isoformat() == "2026-03-01T00:00:00-05:00"
    assert period.end.isoformat() == "2026-04-01T00:00:00-04:00"
    assert period.elapsed(datetime(2026, 3, 1, 6, tzinfo=UTC)) == 3600
    assert period_of(Window(rolling="30d"), datetime.now(UTC)) is None


def test_window_key():
    assert window_key(make()) == "30d"
    assert window_key(make(window="month")) == "period"
