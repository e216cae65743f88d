"""What the API reads and writes: schema families per resource, and the error body."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sloctl.spec.models import SLO

Status = Literal["ok", "warning", "exhausted", "unknown"]


class Schema(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorBudgetPublic(Schema):
    """Fractions of the window's error budget; remaining is negative when overspent."""

    total: float = Field(1.0, description="the whole budget of the window, as a fraction: 1")
    consumed: float | None
    remaining: float | None


class BudgetPolicyPublic(Schema):
    warn_below: float = Field(description="percent remaining below which status is warning")
    freeze_at: float = Field(description="percent remaining at or below which status is exhausted")


class PeriodPublic(Schema):
    """The current calendar period of a week or month SLO."""

    start: datetime
    end: datetime


class GroupPublic(Schema):
    """One group of a groupBy SLO (one route, one customer...)."""

    labels: dict[str, str]
    sli: float | None
    error_budget: ErrorBudgetPublic
    burn_rates: dict[str, float]
    time_to_exhaustion_seconds: float | None
    status: Status


class SLOPublic(Schema):
    """An SLO and its error budget as the server computed it last."""

    id: str
    service: str
    name: str
    description: str
    team: str | None
    labels: dict[str, str]
    objective: float = Field(description="fraction, e.g. 0.999")
    window: str = Field(description='"30d", or "week"/"month" for calendar windows')
    window_seconds: int
    time_zone: str | None = Field(description="time zone of a calendar window")
    sli_kind: str
    group_by: list[str]
    sli: float | None = Field(description="fraction of good events over the window")
    error_budget: ErrorBudgetPublic
    burn_rates: dict[str, float] = Field(description="burn rate by window, e.g. 1h")
    time_to_exhaustion_seconds: float | None = Field(
        description="seconds until the budget is spent at the current 1h burn rate"
    )
    status: Status
    stale: bool = Field(description="true when the last refresh failed or is too old")
    updated_at: datetime | None = Field(description="when the numbers were taken")
    computed_from: Literal["recorded", "raw"] | None = Field(
        description="whether the window's SLI came from recorded series or from raw series "
        "(recorded history shorter than the window)"
    )
    period: PeriodPublic | None
    groups: list[GroupPublic] | None = Field(
        description="per-group numbers of a groupBy SLO; the top level is the worst group"
    )
    budget_policy: BudgetPolicyPublic
    version: int
    source: str | None


class SLOsPublic(Schema):
    data: list[SLOPublic]
    count: int


class SLOsApply(BaseModel):
    """The body of ``PUT /api/v1/slos``: every SLO the registry should hold."""

    model_config = ConfigDict(extra="forbid")

    slos: list[SLO]


class SLOsApplied(SLOsPublic):
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]


class SLOVersionPublic(Schema):
    """One stored version of an SLO's spec (wire format of sloctl's SLO model)."""

    version: int
    origin: str = Field(description='"api" or "specs:<dir>"')
    created_at: datetime
    spec: dict[str, Any]


class SLOVersionsPublic(Schema):
    data: list[SLOVersionPublic]
    count: int


class SnapshotPublic(Schema):
    taken_at: datetime
    sli: float | None
    error_budget: ErrorBudgetPublic
    burn_rates: dict[str, float]
    status: str


class HistoryPublic(Schema):
    data: list[SnapshotPublic]
    count: int


class SeriesPointPublic(Schema):
    time: datetime
    burn_rates: dict[str, float]
    error_budget_remaining: float | None


class SeriesPublic(Schema):
    data: list[SeriesPointPublic]
    count: int
    range: str
    step: str


class CheckPublic(Schema):
    ok: bool
    message: str


class ReadinessPublic(Schema):
    status: Literal["ready", "not ready"]
    checks: dict[str, CheckPublic]
    last_refresh: datetime | None
    last_success: datetime | None


class ErrorDetailPublic(Schema):
    field: str
    message: str


class ErrorPublic(Schema):
    code: str
    message: str
    details: list[ErrorDetailPublic]


class ErrorBody(Schema):
    error: ErrorPublic
