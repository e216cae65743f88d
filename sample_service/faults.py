"""The fault switch: injected errors and latency per route, for demos.

A route template (``/orders/{order_id}``) or ``*`` for every route maps to a
:class:`Fault`. The switch is shared by the request path and the admin
endpoint, so it is guarded by a lock; the random source is injected so tests
can make a 50 % fault deterministic.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

ALL_ROUTES = "*"


class Fault(BaseModel):
    """What to inject into a route: a share of 500 answers and extra latency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_ratio: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: float = Field(default=0.0, ge=0.0, le=60_000.0)

    @property
    def active(self) -> bool:
        return self.error_ratio > 0 or self.latency_ms > 0


@dataclass(frozen=True)
class Decision:
    """What the switch decided for one request."""

    delay_s: float
    fail: bool


NO_FAULT = Decision(delay_s=0.0, fail=False)


class FaultSwitch:
    """The faults in force, per route template, changed at run time."""

    def __init__(
        self, faults: Mapping[str, Fault] | None = None, *, rng: random.Random | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        # Not for security: which requests fail only has to look random in a demo.
        self._rng = rng or random.Random()  # noqa: S311  # nosec B311
        self.replace(faults or {})

    def replace(self, faults: Mapping[str, Fault]) -> dict[str, Fault]:
        """Put these faults in force instead of the current ones; inactive ones are dropped."""
        with self._lock:
            self._faults = {route: f for route, f in faults.items() if f.active}
            return dict(self._faults)

    def current(self) -> dict[str, Fault]:
        with self._lock:
            return dict(self._faults)

    def decide(self, route: str) -> Decision:
        """Draw the fault of one request to ``route`` (a route's own fault beats ``*``)."""
        with self._lock:
            fault = self._faults.get(route) or self._faults.get(ALL_ROUTES)
            if fault is None:
                return NO_FAULT
            fail = fault.error_ratio > 0 and self._rng.random() < fault.error_ratio
        return Decision(delay_s=fault.latency_ms / 1000.0, fail=fail)
