"""The clock the tests give the server: an instant they set or move, never the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

#: Where the fake clock starts unless a test says otherwise (a Tuesday, noon UTC).
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class FakeClock:
    """A callable returning ``now``; tests set it or :meth:`advance` it so times are exact."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``; returns the new instant."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)
