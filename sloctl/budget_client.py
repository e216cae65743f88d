"""Reading error budgets from the sloctl server (``sloctl status`` and ``sloctl gate``).

The answers are validated into typed models here, so commands never handle
raw JSON. The HTTP client is injectable for tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from sloctl.errors import ServerError

DEFAULT_SERVER_URL = "http://127.0.0.1:8080"
Status = Literal["ok", "warning", "exhausted", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class BudgetPolicy(_Model):
    warn_below: float
    freeze_at: float


class ErrorBudget(_Model):
    total: float
    consumed: float | None
    remaining: float | None


class GroupStatus(_Model):
    labels: dict[str, str]
    sli: float | None
    error_budget: ErrorBudget
    burn_rates: dict[str, float]
    status: Status


class SLOStatus(_Model):
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


class _SLOList(_Model):
    data: list[SLOStatus]
    count: int


class BudgetClient:
    """A small client of the server's read API."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> BudgetClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as err:
            raise ServerError(self.base_url, f"cannot reach the sloctl server: {err}") from err
        if response.status_code >= 400:
            raise ServerError(self.base_url, _error_message(response))
        return response

    def slos(self, *, service: str | None = None) -> list[SLOStatus]:
        """Every SLO (of one service when given), sorted by id."""
        response = self._get("/api/v1/slos", {"service": service} if service else None)
        try:
            return _SLOList.model_validate_json(response.content).data
        except ValidationError as err:
            raise ServerError(self.base_url, f"unexpected answer from /api/v1/slos: {err}") from err

    def slo(self, slo_id: str) -> SLOStatus:
        """One SLO by id."""
        response = self._get(f"/api/v1/slos/{slo_id}")
        try:
            return SLOStatus.model_validate_json(response.content)
        except ValidationError as err:
            raise ServerError(self.base_url, f"unexpected answer for {slo_id}: {err}") from err


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"HTTP {response.status_code}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"


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
