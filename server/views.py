"""From registry entries and cached budgets to the API's SLO objects.

Building 1,000 objects per request would cost more than the request budget,
so the public objects are built once per change of the registry or the cache
and reused; only the ``stale`` flag is decided per read.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from server.budget.numbers import Budget, Numbers
from server.refresher import CacheView
from server.registry import Registry
from server.schemas import (
    BudgetPolicyPublic,
    ErrorBudgetPublic,
    GroupPublic,
    PeriodPublic,
    SLOPublic,
)
from server.store.repository import StoredSLO


def error_budget(numbers: Numbers) -> ErrorBudgetPublic:
    return ErrorBudgetPublic(total=1.0, consumed=numbers.consumed, remaining=numbers.remaining)


def slo_public(entry: StoredSLO, budget: Budget | None, *, stale: bool) -> SLOPublic:
    """The API object of one SLO with its last budget (unknown when there is none yet)."""
    slo = entry.slo
    numbers = budget.numbers if budget else Numbers(None, None, None, {}, None, "unknown")
    groups = None
    if slo.group_by:
        groups = [
            GroupPublic(
                labels=g.labels,
                sli=g.numbers.sli,
                error_budget=error_budget(g.numbers),
                burn_rates=g.numbers.burn_rates,
                time_to_exhaustion_seconds=g.numbers.time_to_exhaustion,
                status=g.numbers.status,
            )
            for g in (budget.groups if budget else [])
        ]
    period = budget.period if budget else None
    return SLOPublic(
        id=slo.id,
        service=slo.service,
        name=slo.name,
        description=slo.description,
        team=slo.team,
        labels=dict(slo.labels),
        objective=slo.target,
        window=slo.window.rolling or str(slo.window.calendar),
        window_seconds=slo.window.seconds,
        time_zone=slo.window.time_zone if slo.window.calendar else None,
        sli_kind=slo.sli.kind,
        group_by=list(slo.group_by),
        sli=numbers.sli,
        error_budget=error_budget(numbers),
        burn_rates=numbers.burn_rates,
        time_to_exhaustion_seconds=numbers.time_to_exhaustion,
        status=numbers.status,
        stale=stale,
        updated_at=budget.taken_at if budget else None,
        computed_from=budget.window_origin if budget else None,
        period=PeriodPublic(start=period.start, end=period.end) if period else None,
        groups=groups,
        budget_policy=BudgetPolicyPublic(
            warn_below=slo.budget_policy.warn_below, freeze_at=slo.budget_policy.freeze_at
        ),
        version=entry.version,
        source=slo.source,
    )


class Catalog:
    """Public SLO objects, rebuilt only when the registry or the cache changed."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._items: list[SLOPublic] = []
        self._stale_items: list[SLOPublic] = []

    def items(self, view: CacheView, *, stale: bool) -> Sequence[SLOPublic]:
        """Every SLO, sorted by id, with ``stale`` set as asked."""
        key = (self.registry.generation, view.generation)
        with self._lock:
            if key != self._key:
                entries = self.registry.entries()
                self._items = [
                    slo_public(e, view.budgets.get(e.slo.id), stale=False) for e in entries
                ]
                self._stale_items = [
                    item.model_copy(update={"stale": True}) for item in self._items
                ]
                self._key = key
            return self._stale_items if stale else self._items

    def get(self, slo_id: str, view: CacheView, *, stale: bool) -> SLOPublic:
        """One SLO; raises NotFoundError for an unknown id."""
        entry = self.registry.get(slo_id)
        return slo_public(entry, view.budgets.get(slo_id), stale=stale)
