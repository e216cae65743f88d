"""One refresh of every SLO's budget from Prometheus, in a fixed number of queries.

Per refresh, at most four instant queries, whatever the number of SLOs:

1. coverage (at start, hourly, and when new SLOs or windows appear): whether
   each SLO's recorded 5-minute base series reaches back over each chained
   window (one lookup per series and distinct window length);
2. every recorded error ratio of every SLO (``{__name__=~"slo:sli_error:ratio_rate.+"}``);
3. windows whose recorded history is too short, from raw series, in one
   combined query (results reused for ``raw_ttl`` seconds, like the rules'
   own 5-minute long group). Reading 30 days of raw series for many SLOs is
   slow, so this query has its own, longer timeout, and when it fails the
   refresh still succeeds: the last raw values are kept (or the window has no
   data yet) and the error is reported in ``Refresh.warnings``;
4. calendar periods (week or month so far) chained from the base series.

Windows computed by the rules from raw series (up to 6 h, and those pages read)
are right from the rules' first evaluation; the chained ones (1 d, 3 d, the SLO
window) are right only once the base series covers them, hence 1 and 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.budget import queries
from server.budget.numbers import PERIOD, Budget, Origin, budget_for, period_of, window_key
from server.errors import PrometheusUnavailableError
from server.prometheus import PrometheusAPI, Sample
from sloctl.compile.sli import EventSource, source_for
from sloctl.durations import DAY, format_duration, parse_duration
from sloctl.slo_math import raw_windows, recorded_windows
from sloctl.spec.models import SLO

GroupRatios = dict[tuple[str, ...], float]


def chained_windows(slo: SLO) -> list[int]:
    """Windows the rules chain from the 5-minute base series (1 d, 3 d, the SLO window)."""
    raw = raw_windows(slo)
    return [w for w in recorded_windows(slo) if w not in raw]


def longest_period(slo: SLO) -> int:
    """The longest calendar period of a calendar SLO: 7 days or a 31-day month."""
    return 7 * DAY if slo.window.calendar == "week" else 31 * DAY


def coverage_offsets(slo: SLO) -> list[int]:
    """How far back the coverage check must look for this SLO's base series."""
    offsets = chained_windows(slo)
    if slo.window.calendar:
        offsets.append(longest_period(slo))
    return offsets


@dataclass(frozen=True)
class Refresh:
    """The result of one refresh: a budget per SLO id and how many queries it took."""

    budgets: dict[str, Budget]
    queries: int
    raw_windows: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class _RawEntry:
    slo: SLO
    values: GroupRatios
    computed_at: datetime


@dataclass
class _Plan:
    """What one SLO needs beyond the recorded ratios."""

    raw: list[queries.RawNeed] = field(default_factory=list)
    period_seconds: int | None = None
    window_origin: Origin = "recorded"


class Engine:
    """Computes budgets from Prometheus; keeps coverage and raw results between refreshes."""

    def __init__(
        self,
        prometheus: PrometheusAPI,
        *,
        raw_ttl: float = 300.0,
        coverage_ttl: float = 3600.0,
        raw_timeout: float | None = None,
    ) -> None:
        self.prometheus = prometheus
        self.raw_timeout = raw_timeout
        self.raw_ttl = timedelta(seconds=raw_ttl)
        self.coverage_ttl = timedelta(seconds=coverage_ttl)
        self._coverage: dict[str, set[int]] = {}
        self._coverage_at: datetime | None = None
        self._coverage_ids: frozenset[str] = frozenset()
        self._coverage_offsets: frozenset[int] = frozenset()
        self._raw: dict[tuple[str, str], _RawEntry] = {}
        self._queries = 0

    @property
    def queries_sent(self) -> int:
        """Queries the last (or running) refresh sent, failed ones included."""
        return self._queries

    def _query(self, expr: str, at: datetime, timeout: float | None = None) -> list[Sample]:
        self._queries += 1
        return self.prometheus.query(expr, at, timeout=timeout)

    def refresh(self, slos: Sequence[SLO], at: datetime) -> Refresh:
        """Every SLO's budget at ``at``.

        Raises:
            PrometheusUnavailableError: a query failed; nothing is half updated.
        """
        self._queries = 0
        self._warnings: list[str] = []
        at = at.replace(microsecond=0)
        if not slos:
            return Refresh({}, 0, 0)
        self._check_coverage(slos, at)
        recorded = self._recorded(slos, at)
        plans = {slo.id: self._plan(slo, at) for slo in slos}
        raw = self._raw_values(slos, plans, at)
        periods = self._periods(slos, plans, at)
        budgets: dict[str, Budget] = {}
        for slo in slos:
            plan = plans[slo.id]
            ratios = recorded.get(slo.id, {})
            for need in plan.raw:
                ratios = _replace(ratios, need.key, raw.get((slo.id, need.key), {}))
            if plan.period_seconds is not None and not any(n.key == PERIOD for n in plan.raw):
                ratios = _replace(ratios, PERIOD, periods.get(slo.id, {}))
            budgets[slo.id] = budget_for(
                slo, at, by_group(ratios), window_origin=plan.window_origin
            )
        used = sum(len(p.raw) for p in plans.values())
        return Refresh(budgets, self._queries, used, self._warnings)

    # ------------------------------------------------------------ coverage

    def covered(self, slo: SLO, seconds: int) -> bool:
        """Whether the SLO's recorded base series reaches back ``seconds`` (last check)."""
        return any(offset >= seconds for offset in self._coverage.get(slo.id, ()))

    def _check_coverage(self, slos: Sequence[SLO], at: datetime) -> None:
        ids = frozenset(s.id for s in slos)
        offsets = frozenset(o for slo in slos for o in coverage_offsets(slo))
        due = (
            self._coverage_at is None
            or at - self._coverage_at >= self.coverage_ttl
            or not ids <= self._coverage_ids
            or not offsets <= self._coverage_offsets
        )
        if not due:
            return
        coverage: dict[str, set[int]] = {}
        for sample in self._query(queries.coverage(sorted(offsets)), at):
            key = sample.labels.get(queries.WINDOW_LABEL, "")
            slo_id = sample.labels.get("slo")
            if slo_id and key:
                coverage.setdefault(slo_id, set()).add(parse_duration(key))
        self._coverage = coverage
        self._coverage_at = at
        self._coverage_ids = ids
        self._coverage_offsets = offsets

    def _plan(self, slo: SLO, at: datetime) -> _Plan:
        plan = _Plan()
        for window in chained_windows(slo):
            if not self.covered(slo, window):
                plan.raw.append(queries.RawNeed(slo, format_duration(window), window))
        period = period_of(slo.window, at)
        if period is not None:
            elapsed = period.elapsed(at)
            plan.period_seconds = elapsed
            if elapsed > 0 and not self.covered(slo, longest_period(slo)):
                plan.raw.append(queries.RawNeed(slo, PERIOD, elapsed))
        if any(n.key == window_key(slo) for n in plan.raw):
            plan.window_origin = "raw"
        return plan

    # ------------------------------------------------------------- queries

    def _recorded(self, slos: Sequence[SLO], at: datetime) -> dict[str, dict[str, GroupRatios]]:
        by_id = {slo.id: slo for slo in slos}
        out: dict[str, dict[str, GroupRatios]] = {}
        for sample in self._query(queries.RECORDED_RATIOS, at):
            slo = by_id.get(sample.labels.get("slo", ""))
            key = queries.ratio_window(sample.labels.get("__name__", ""))
            if slo is None or key is None:
                continue
            out.setdefault(slo.id, {}).setdefault(key, {})[_group(slo, sample)] = sample.value
        return out

    def _raw_values(
        self, slos: Sequence[SLO], plans: dict[str, _Plan], at: datetime
    ) -> dict[tuple[str, str], GroupRatios]:
        wanted: list[queries.RawNeed] = []
        out: dict[tuple[str, str], GroupRatios] = {}
        for slo in slos:
            for need in plans[slo.id].raw:
                entry = self._raw.get((slo.id, need.key))
                if entry is not None and entry.slo == slo and at - entry.computed_at < self.raw_ttl:
                    out[(slo.id, need.key)] = entry.values
                else:
                    wanted.append(need)
        if wanted:
            fresh: dict[tuple[str, str], GroupRatios] = {(n.slo.id, n.key): {} for n in wanted}
            by_id = {n.slo.id: n.slo for n in wanted}
            try:
                samples = self._query(queries.combined_raw(wanted), at, self.raw_timeout)
            except PrometheusUnavailableError as err:
                self._warnings.append(f"raw windows not refreshed: {err.message}")
                for need in wanted:
                    old = self._raw.get((need.slo.id, need.key))
                    if old is not None and old.slo == need.slo:
                        out[(need.slo.id, need.key)] = old.values
                return out
            for sample in samples:
                slo_id = sample.labels.get("slo", "")
                key = sample.labels.get(queries.WINDOW_LABEL, "")
                if (slo_id, key) in fresh:
                    fresh[(slo_id, key)][_group(by_id[slo_id], sample)] = sample.value
            for need in wanted:
                values = fresh[(need.slo.id, need.key)]
                self._raw[(need.slo.id, need.key)] = _RawEntry(need.slo, values, at)
                out[(need.slo.id, need.key)] = values
        live = {slo.id for slo in slos}
        self._raw = {k: v for k, v in self._raw.items() if k[0] in live}
        return out

    def _periods(
        self, slos: Sequence[SLO], plans: dict[str, _Plan], at: datetime
    ) -> dict[str, GroupRatios]:
        groups: dict[tuple[int, bool], list[str]] = {}
        by_id: dict[str, SLO] = {}
        for slo in slos:
            plan = plans[slo.id]
            if plan.period_seconds is None or plan.period_seconds <= 0:
                continue
            if any(n.key == PERIOD for n in plan.raw):
                continue
            events = isinstance(source_for(slo), EventSource)
            groups.setdefault((plan.period_seconds, events), []).append(slo.id)
            by_id[slo.id] = slo
        if not groups:
            return {}
        expr = queries.combined_periods((s, e, ids) for (s, e), ids in sorted(groups.items()))
        out: dict[str, GroupRatios] = {}
        for sample in self._query(expr, at):
            found = by_id.get(sample.labels.get("slo", ""))
            if found is not None:
                out.setdefault(found.id, {})[_group(found, sample)] = sample.value
        return out


def _group(slo: SLO, sample: Sample) -> tuple[str, ...]:
    return tuple(sample.labels.get(label, "") for label in slo.group_by)


def _replace(
    ratios: dict[str, GroupRatios], key: str, values: GroupRatios
) -> dict[str, GroupRatios]:
    """``ratios`` with the window ``key`` taken from ``values`` (dropped when empty)."""
    out = {k: v for k, v in ratios.items() if k != key}
    if values:
        out[key] = values
    return out


def by_group(ratios: dict[str, GroupRatios]) -> dict[tuple[str, ...], dict[str, float]]:
    """Turn ratios by window and group into ratios by group and window."""
    out: dict[tuple[str, ...], dict[str, float]] = {}
    for key, groups in ratios.items():
        for group, value in groups.items():
            out.setdefault(group, {})[key] = value
    return out
