"""Reading error budgets from the sloctl server (``sloctl status`` and ``sloctl gate``).

The answers are validated into typed models here, so commands never handle
raw JSON. The HTTP client is injectable for tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sloctl.server_client import Answer, ServerClient

__all__ = ["BudgetClient", "SLOStatus", "freeze_reasons"]

Status = Literal["ok", "warning", "exhausted", "unknown"]


class BudgetPolicy(Answer):
    warn_below: float
    freeze_at: float


class ErrorBudget(Answer):
    total: float
    consumed: float | None
    remaining: float | None


class GroupStatus(Answer):
    labels: dict[str, str]
    sli: float | None
    error_budget: ErrorBudget
    burn_rates: dict[str, float]
    status: Status


class SLOStatus(Answer):
    """What the server says about one SLO (the fields the CLI uses)."""

    id: str
    service: str
    name: str
    team: str | None
    objective: float
    window: str
    sli: float | None
    error_budget: ErrorBudget
    burn_rates: dict[str, float]
    time_to_exhaustion_seconds: float | None
    status: Status
    stale: bool
    updated_at: datetime | None
    groups: list[GroupStatus] | None = None
    budget_policy: BudgetPolicy


class _SLOList(Answer):
    data: list[SLOStatus]
    count: int


class BudgetClient(ServerClient):
    """A small client of the server's read API."""

    def slos(self, *, service: str | None = None) -> list[SLOStatus]:
        """Every SLO (of one service when given), sorted by id."""
        params = {"service": service} if service else None
        response = self._call("GET", "/api/v1/slos", params=params)
        return self._parse(_SLOList, response, "from /api/v1/slos").data

    def slo(self, slo_id: str) -> SLOStatus:
        """One SLO by id."""
        response = self._call("GET", f"/api/v1/slos/{slo_id}")
        return self._parse(SLOStatus, response, f"for {slo_id}")


def freeze_reasons(slos: list[SLOStatus]) -> list[str]:
    """Why deployments must stop: one line per SLO whose budget policy says freeze."""
    reasons = []
    for slo in slos:
        if slo.status != "exhausted":
            continue
        remaining = slo.error_budget.remaining
        left = "unknown" if remaining is None else f"{remaining * 100:.2f}%"
        where = ""
        if slo.groups:
            spent = [g for g in slo.groups if g.status == "exhausted"]
            where = " in " + ", ".join(
                ",".join(f"{k}={v}" for k, v in sorted(g.labels.items())) for g in spent
            )
        stale = " (stale data)" if slo.stale else ""
        reasons.append(
            f"{slo.id}: {left} of the error budget left{where}, at or below the freeze "
            f"threshold of {slo.budget_policy.freeze_at:g}%{stale}"
        )
    return reasons
