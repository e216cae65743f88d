"""The overview page's model: one row per SLO, search, filters, sorting, groups, counts. Pure.

Rows are built once per change of the registry, the budgets or the alerts
(:class:`RowCache`) and only filtered and sorted per request, so the page
stays fast with thousands of SLOs. Sorting and filtering are server-side and
driven by the query string, so they work without JavaScript.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlencode

from server.alerts import AlertsView, FiringAlert
from server.schemas import SLOPublic
from server.web import format as fmt
from sloctl.durations import format_duration
from sloctl.slo_math import BurnCondition, burn_conditions
from sloctl.spec.models import SLO, BurnWindowSpec

#: Burn-rate windows shown for every SLO (sloctl records them for every SLO, STANDARD_WINDOWS).
BURN_WINDOWS = ("1h", "6h", "1d", "3d")
STATUSES = ("exhausted", "warning", "ok", "unknown")
#: Filter values beyond the policy statuses.
EXTRA_FILTERS = ("firing", "stale")
_STATUS_RANK = {"exhausted": 3, "warning": 2, "unknown": 1, "ok": 0}
Level = Literal["page", "ticket", "fast", "ok", "none"]
Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class Thresholds:
    """The burn-rate factors the SLO's alerts compare one window with (None: no such alert)."""

    page: float | None
    ticket: float | None


@dataclass(frozen=True)
class BurnCell:
    window: str
    rate: float | None
    level: Level
    text: str
    title: str


@dataclass(frozen=True)
class Bar:
    """A remaining-budget bar: ``width`` in percent of the track (clamped to 0-100)."""

    width: float
    css: str
    label: str


def thresholds(conditions: Sequence[BurnCondition], window: str) -> Thresholds:
    """The lowest page and ticket factors among the alert conditions that read ``window``."""
    page: float | None = None
    ticket: float | None = None
    for c in conditions:
        if window not in (format_duration(c.long), format_duration(c.short)):
            continue
        if c.severity == "page":
            page = c.factor if page is None else min(page, c.factor)
        else:
            ticket = c.factor if ticket is None else min(ticket, c.factor)
    return Thresholds(page, ticket)


def level(rate: float | None, limits: Thresholds) -> Level:
    """How alarming a burn rate is: above the page factor, the ticket factor, 1x, or fine."""
    if rate is None:
        return "none"
    if limits.page is not None and rate >= limits.page:
        return "page"
    if limits.ticket is not None and rate >= limits.ticket:
        return "ticket"
    return "fast" if rate > 1 else "ok"


def _threshold_title(window: str, limits: Thresholds) -> str:
    parts = []
    if limits.page is not None:
        parts.append(f"page {fmt.burn(limits.page)}")
    if limits.ticket is not None:
        parts.append(f"ticket {fmt.burn(limits.ticket)}")
    return ", ".join(parts) if parts else "no alert reads this window"


def _window_thresholds(slo: SLO) -> tuple[Thresholds, ...]:
    alerting = slo.alerting
    return _thresholds_for(
        slo.window.seconds,
        tuple(alerting.windows or ()),
        alerting.page.enabled,
        alerting.ticket.enabled,
    )


@lru_cache(maxsize=1024)
def _thresholds_for(
    window: int, custom: tuple[BurnWindowSpec, ...], page: bool, ticket: bool
) -> tuple[Thresholds, ...]:
    enabled = {"page": page, "ticket": ticket}
    conditions = [c for c in burn_conditions(window, custom or None) if enabled[c.severity]]
    return tuple(thresholds(conditions, w) for w in BURN_WINDOWS)


def burn_cells(slo: SLO, rates: Mapping[str, float]) -> tuple[BurnCell, ...]:
    cells = []
    for window, limits in zip(BURN_WINDOWS, _window_thresholds(slo), strict=True):
        rate = rates.get(window)
        cells.append(
            BurnCell(
                window, rate, level(rate, limits), fmt.burn(rate), _threshold_title(window, limits)
            )
        )
    return tuple(cells)


def budget_bar(remaining: float | None, status: str) -> Bar:
    if remaining is None:
        return Bar(0, "unknown", "error budget left unknown (no data)")
    width = round(min(max(remaining, 0.0), 1.0) * 100, 1)
    if remaining < 0:
        label = f"error budget overspent: {fmt.percent(remaining)} left"
    else:
        label = f"{fmt.percent(remaining)} of the error budget left"
    return Bar(width, status, label)


@dataclass(frozen=True)
class Row:
    """One SLO on the overview, with everything the template prints already formatted."""

    item: SLOPublic
    slo: SLO
    burns: tuple[BurnCell, ...]
    alerts: list[FiringAlert] | None
    bar: Bar
    search: str
    objective: str
    sli: str
    remaining: str
    exhaustion: str

    @property
    def pages(self) -> int:
        return sum(1 for a in self.alerts or () if a.severity == "page")

    @property
    def alert_rank(self) -> int | None:
        if self.alerts is None:
            return None
        return 1000 * self.pages + len(self.alerts)


def search_text(item: SLOPublic) -> str:
    labels = " ".join(f"{k}={v}" for k, v in sorted(item.labels.items()))
    team = f"team={item.team}" if item.team else ""
    parts = [item.id, item.name, f"service={item.service}", team, labels, item.description]
    return " ".join(parts).lower()


def make_row(item: SLOPublic, slo: SLO, alerts: list[FiringAlert] | None) -> Row:
    return Row(
        item=item,
        slo=slo,
        burns=burn_cells(slo, item.burn_rates),
        alerts=alerts,
        bar=budget_bar(item.error_budget.remaining, item.status),
        search=search_text(item),
        objective=fmt.objective(item.objective),
        sli=fmt.sli(item.sli, item.objective),
        remaining=fmt.percent(item.error_budget.remaining, 1),
        exhaustion=fmt.exhaustion(item.time_to_exhaustion_seconds, item.error_budget.remaining),
    )


# ------------------------------------------------------------------ query


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    default_order: Order
    value: Callable[[Row], Any]


def _burn_value(window: str) -> Callable[[Row], Any]:
    return lambda row: row.item.burn_rates.get(window)


COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("name", "SLO", "asc", lambda r: r.item.id),
        Column("team", "Team", "asc", lambda r: r.item.team),
        Column("objective", "Objective", "desc", lambda r: r.item.objective),
        Column("window", "Window", "desc", lambda r: r.item.window_seconds),
        Column("sli", "SLI", "asc", lambda r: r.item.sli),
        Column("budget", "Budget left", "asc", lambda r: r.item.error_budget.remaining),
        *(Column(f"burn{w}", w, "desc", _burn_value(w)) for w in BURN_WINDOWS),
        Column("exhaustion", "Exhausted in", "asc", lambda r: _exhaustion_key(r)),
        Column("alerts", "Alerts", "desc", lambda r: r.alert_rank),
        Column("status", "Policy", "desc", lambda r: _STATUS_RANK[r.item.status]),
        Column("updated", "Updated", "asc", lambda r: r.item.updated_at),
        Column("service", "Service", "asc", lambda r: r.item.service),
    )
}
DEFAULT_SORT = "budget"


def _exhaustion_key(row: Row) -> float | None:
    remaining = row.item.error_budget.remaining
    if remaining is not None and remaining <= 0:
        return 0.0
    return row.item.time_to_exhaustion_seconds


@dataclass(frozen=True)
class Query:
    """What the overview shows: the query string, normalised (unknown values fall back)."""

    q: str = ""
    service: str = ""
    team: str = ""
    status: str = ""
    sort: str = DEFAULT_SORT
    order: Order = "asc"
    group: Literal["service", "none"] = "service"

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        sort = params.get("sort", "")
        column = COLUMNS.get(sort) or COLUMNS[DEFAULT_SORT]
        order = params.get("order", "")
        status = params.get("status", "")
        return cls(
            q=params.get("q", "").strip()[:200],
            service=params.get("service", "").strip(),
            team=params.get("team", "").strip(),
            status=status if status in STATUSES + EXTRA_FILTERS else "",
            sort=column.key,
            order="asc" if order == "asc" else "desc" if order == "desc" else column.default_order,
            group="none" if params.get("group") == "none" else "service",
        )

    def params(self, **changes: str) -> dict[str, str]:
        """The query string's values with ``changes``; defaults are left out."""
        current = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        out = {name: getattr(current, name) for name in ("q", "service", "team", "status")}
        out = {name: value for name, value in out.items() if value}
        if current.sort != DEFAULT_SORT:
            out["sort"] = current.sort
        if current.order != COLUMNS[current.sort].default_order:
            out["order"] = current.order
        if current.group != "service":
            out["group"] = current.group
        return out

    def url(self, **changes: str) -> str:
        params = self.params(**changes)
        return "/?" + urlencode(params) if params else "/"

    def sort_url(self, key: str) -> str:
        """Sort by ``key``; a second click on the sorted column reverses the order."""
        if key == self.sort:
            return self.url(order="desc" if self.order == "asc" else "asc")
        return self.url(sort=key, order=COLUMNS[key].default_order)

    def aria_sort(self, key: str) -> str:
        if key != self.sort:
            return "none"
        return "ascending" if self.order == "asc" else "descending"

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.service or self.team or self.status)


def matches(row: Row, query: Query) -> bool:
    item = row.item
    if query.service and item.service != query.service:
        return False
    if query.team and item.team != query.team:
        return False
    if query.status:
        if query.status == "firing":
            if not row.alerts:
                return False
        elif query.status == "stale":
            if not item.stale:
                return False
        elif item.status != query.status:
            return False
    for token in query.q.lower().split():
        if "=" in token:
            key, _, value = token.partition("=")
            if f"{key}={value}" not in row.search.split():
                return False
        elif token not in row.search:
            return False
    return True


def sort_rows(rows: Sequence[Row], query: Query) -> list[Row]:
    """Sorted by the query's column; rows without a value always last; ties by id."""
    column = COLUMNS[query.sort]
    known = [r for r in rows if column.value(r) is not None]
    unknown = [r for r in rows if column.value(r) is None]
    known.sort(key=lambda r: r.item.id)
    known.sort(key=column.value, reverse=query.order == "desc")
    unknown.sort(key=lambda r: r.item.id)
    return known + unknown


@dataclass(frozen=True)
class Group:
    service: str
    rows: list[Row]


def grouped(rows: Sequence[Row], query: Query) -> list[Group]:
    """Groups by service in the order their first row sorts; one unnamed group when not grouping."""
    if query.group == "none":
        return [Group("", list(rows))]
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.item.service, []).append(row)
    return [Group(service, items) for service, items in groups.items()]


@dataclass(frozen=True)
class Summary:
    """Counts over every SLO (not only the shown ones) for the top of the page."""

    total: int
    by_status: dict[str, int]
    firing_slos: int
    pages: int
    tickets: int
    stale: int
    alerts_read: bool
    alerts_current: bool


def summarise(rows: Sequence[Row], alerts: AlertsView) -> Summary:
    by_status = dict.fromkeys(STATUSES, 0)
    for row in rows:
        by_status[row.item.status] += 1
    return Summary(
        total=len(rows),
        by_status=by_status,
        firing_slos=sum(1 for r in rows if r.alerts),
        pages=alerts.count("page"),
        tickets=alerts.count("ticket"),
        stale=sum(1 for r in rows if r.item.stale),
        alerts_read=alerts.read_at is not None,
        alerts_current=alerts.known,
    )


@dataclass(frozen=True)
class Overview:
    query: Query
    groups: list[Group]
    shown: int
    summary: Summary
    services: list[str]
    teams: list[str]


def overview(rows: Sequence[Row], alerts: AlertsView, query: Query) -> Overview:
    chosen = [r for r in rows if matches(r, query)] if query.filtered else list(rows)
    ordered = sort_rows(chosen, query)
    return Overview(
        query=query,
        groups=grouped(ordered, query),
        shown=len(ordered),
        summary=summarise(rows, alerts),
        services=sorted({r.item.service for r in rows}),
        teams=sorted({r.item.team for r in rows if r.item.team}),
    )


@dataclass
class RowCache:
    """Rows rebuilt only when the registry, the budgets, the alerts or staleness changed,
    with each row's HTML rendered once per layout (grouped or flat) for that state."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key: tuple[object, ...] | None = None
    _rows: list[Row] = field(default_factory=list)
    _html: dict[bool, dict[str, str]] = field(default_factory=dict)

    def rows(
        self,
        key: tuple[object, ...],
        build: Callable[[], list[Row]],
    ) -> list[Row]:
        with self._lock:
            if key != self._key:
                self._rows = build()
                self._html = {}
                self._key = key
            return self._rows

    def fragments(
        self, rows: list[Row], show_service: bool, render: Callable[[Row, bool], str]
    ) -> dict[str, str]:
        """Each row's HTML by SLO id (``rows`` must be what :meth:`rows` returned)."""
        with self._lock:
            cached = self._html.get(show_service)
            if cached is None or rows is not self._rows:
                cached = {row.item.id: render(row, show_service) for row in rows}
                if rows is self._rows:
                    self._html[show_service] = cached
            return cached
