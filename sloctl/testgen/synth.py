"""Synthetic input series that drive an SLO's own SLI queries.

For the alert tests we need raw series such that the SLI's total query sees
``R`` events a minute and its error query sees ``f * R``. We find the series
selectors in the spec's queries, then pick label values that satisfy every
matcher (and, for the good series, break one matcher of the error selector).
When the queries are beyond that (several selectors, gauges in a ratio, raw
error-ratio queries, native histograms), the SLI source is replaced by a
synthetic counter and the tests say so: everything from the recorded 5 m
series onwards is still the shipped rules.
"""

from __future__ import annotations

import itertools
import re
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sloctl.compile.sli import EventSource, RatioSource, Source, source_for
from sloctl.promql import (
    COUNTER_FUNCTIONS,
    Matcher,
    Selector,
    find_selectors,
    le_values,
    parse_selector,
)
from sloctl.spec.models import SLO, WINDOW_PLACEHOLDER

Role = Literal["bad", "good", "all", "gauge"]
SYNTHETIC_METRIC = "sloctl_test_events_total"

_GENERIC = ("sloctl", "200", "500", "0", "1", "ok", "error", "true", "false", "GET", "/", "a", "x")


@dataclass(frozen=True)
class SyntheticSeries:
    """One input series and which events it counts."""

    name: str
    labels: dict[str, str]
    role: Role
    group: int = 0

    def render(self) -> str:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}}" if inner else self.name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class SeriesPlan:
    """How a test drives an SLO: its input series and the SLI source they feed."""

    series: tuple[SyntheticSeries, ...]
    groups: tuple[dict[str, str], ...]
    source: Source
    own_queries: bool
    note: str
    gauge: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------- regex examples


def _examples(tree: Any, limit: int = 8) -> list[str]:
    """A few strings the parsed regex matches (not all of them; enough to find values)."""
    results = [""]
    for op, arg in tree:
        options: list[str]
        if op is sre_c.LITERAL:
            options = [chr(arg)]
        elif op is sre_c.NOT_LITERAL:
            options = ["x" if chr(arg) != "x" else "y"]
        elif op is sre_c.ANY:
            options = ["x"]
        elif op is sre_c.IN:
            options = _class_examples(arg)
        elif op is sre_c.BRANCH:
            options = [s for branch in arg[1] for s in _examples(branch, limit)][:limit]
        elif op is sre_c.SUBPATTERN:
            options = _examples(arg[-1], limit)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, high, sub = arg
            inner = _examples(sub, limit) or [""]
            counts = sorted({low, min(max(low, 1), high)})
            options = [s * n for n in counts for s in inner][:limit]
        elif op is sre_c.AT:
            options = [""]
        else:
            return []
        if not options:
            return []
        results = [a + b for a, b in itertools.product(results, options)][:limit]
    return results


def _class_examples(items: Any) -> list[str]:
    negate = any(op is sre_c.NEGATE for op, _ in items)
    allowed: list[str] = []
    for op, arg in items:
        if op is sre_c.LITERAL:
            allowed.append(chr(arg))
        elif op is sre_c.RANGE:
            allowed.append(chr(arg[0]))
        elif op is sre_c.CATEGORY:
            allowed.append({sre_c.CATEGORY_DIGIT: "0", sre_c.CATEGORY_WORD: "a"}.get(arg, " "))
    if negate:
        return [c for c in "xa0_" if c not in allowed][:1]
    return allowed[:2]


def regex_examples(pattern: str) -> list[str]:
    """Strings that fully match a Prometheus (anchored) regex; may be empty."""
    try:
        tree = sre_parse.parse(pattern)
    except re.error:
        return []
    return [s for s in _examples(tree) if re.fullmatch(pattern, s)]


# ------------------------------------------------------------- label solving


def _candidates(matchers: Iterable[Matcher]) -> list[str]:
    out = [""]
    for m in matchers:
        if m.op in ("=", "!="):
            out.append(m.value)
        else:
            out.extend(regex_examples(m.value))
    out.extend(_GENERIC)
    return list(dict.fromkeys(out))


def _negate(m: Matcher) -> Matcher:
    flip = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}
    return Matcher(m.name, flip[m.op], m.value)  # type: ignore[arg-type]


def solve_labels(
    must: Sequence[Selector],
    avoid: Selector | None = None,
    fixed: dict[str, str] | None = None,
) -> dict[str, str] | None:
    """Label values matching every selector in ``must`` and not matching ``avoid``.

    ``fixed`` labels are given (for example the groupBy values) and must fit.
    """
    fixed = fixed or {}
    base = [m for sel in must for m in sel.matchers]
    tries: list[list[Matcher]] = (
        [base] if avoid is None else [[*base, _negate(m)] for m in avoid.matchers]
    )
    for constraints in tries:
        labels: dict[str, str] = dict(fixed)
        ok = True
        for name in dict.fromkeys(m.name for m in constraints):
            wanted = [m for m in constraints if m.name == name]
            if name in fixed:
                ok = all(m.matches(fixed[name]) for m in wanted)
            else:
                value = next(
                    (v for v in _candidates(wanted) if all(m.matches(v) for m in wanted)), None
                )
                ok = value is not None
                if value:
                    labels[name] = value
            if not ok:
                break
        if ok:
            return labels
    return None


def group_values(slo: SLO, selectors: Sequence[Selector], count: int = 2) -> list[dict[str, str]]:
    """Up to ``count`` distinct groupBy label sets the selectors allow."""
    if not slo.group_by:
        return [{}]
    per_label: list[list[str]] = []
    for label in slo.group_by:
        matchers = [m for sel in selectors for m in sel.label_matchers(label)]
        pool = [f"sloctl-{label}-a", f"sloctl-{label}-b", *_candidates(matchers)]
        fits = [v for v in dict.fromkeys(pool) if v and all(m.matches(v) for m in matchers)]
        per_label.append(fits or [])
    if any(not values for values in per_label):
        return []
    groups = [dict(zip(slo.group_by, (v[0] for v in per_label), strict=True))]
    if count > 1 and len(per_label[0]) > 1:
        second = dict(groups[0])
        second[slo.group_by[0]] = per_label[0][1]
        groups.append(second)
    return groups


# ------------------------------------------------------------------- plans


def _synthetic_plan(slo: SLO, reason: str) -> SeriesPlan:
    groups = (
        tuple(
            {label: f"sloctl-{label}-{suffix}" for label in slo.group_by} for suffix in ("a", "b")
        )
        if slo.group_by
        else ({},)
    )
    series = []
    for index, group in enumerate(groups):
        series.append(SyntheticSeries(SYNTHETIC_METRIC, {**group, "outcome": "bad"}, "bad", index))
        series.append(
            SyntheticSeries(SYNTHETIC_METRIC, {**group, "outcome": "good"}, "good", index)
        )
    by = f" by ({', '.join(slo.group_by)})" if slo.group_by else ""
    total = f"rate({SYNTHETIC_METRIC}[{WINDOW_PLACEHOLDER}])"
    bad = f'rate({SYNTHETIC_METRIC}{{outcome="bad"}}[{WINDOW_PLACEHOLDER}])'
    source: Source
    if slo.sli.kind == "raw":
        source = RatioSource(slo.group_by, f"sum{by} ({bad}) / sum{by} ({total})")
    else:
        source = EventSource(slo.group_by, total_inner=total, bad_inner=bad)
    return SeriesPlan(tuple(series), groups, source, False, f"SLI queries replaced: {reason}")


def _pair_plan(
    slo: SLO,
    subset: Selector,
    subset_role: Role,
    total: Selector,
) -> SeriesPlan | None:
    """Series for a subset selector (errors or good) and a total selector."""
    other: Role = "good" if subset_role == "bad" else "bad"
    groups = group_values(slo, [subset, total])
    if not groups:
        return None
    series: list[SyntheticSeries] = []
    for index, group in enumerate(groups):
        if subset.name == total.name:
            inside = solve_labels([subset, total], fixed=group)
            outside = solve_labels([total], avoid=subset, fixed=group)
            if inside is None or outside is None:
                return None
            series.append(SyntheticSeries(total.name, inside, subset_role, index))
            series.append(SyntheticSeries(total.name, outside, other, index))
        else:
            sub_labels = solve_labels([subset], fixed=group)
            all_labels = solve_labels([total], fixed=group)
            if sub_labels is None or all_labels is None:
                return None
            series.append(SyntheticSeries(subset.name, sub_labels, subset_role, index))
            series.append(SyntheticSeries(total.name, all_labels, "all", index))
    return SeriesPlan(
        tuple(series), tuple(groups), source_for(slo), True, "drives the spec's own queries"
    )


def _query_selector(query: str) -> Selector | None:
    try:
        found = find_selectors(query.replace(WINDOW_PLACEHOLDER, "5m"))
    except ValueError:
        return None
    if len(found) != 1 or found[0].counter_function not in COUNTER_FUNCTIONS:
        return None
    selector = found[0].selector
    return selector if selector.name else None


def plan_for(slo: SLO) -> SeriesPlan:
    """The input series that drive an SLO in generated tests."""
    sli = slo.sli
    plan: SeriesPlan | None = None
    reason = ""
    if sli.ratio is not None:
        total = parse_selector(sli.ratio.total)
        if sli.ratio.errors is not None:
            plan = _pair_plan(slo, parse_selector(sli.ratio.errors), "bad", total)
        else:
            assert sli.ratio.good is not None
            plan = _pair_plan(slo, parse_selector(sli.ratio.good), "good", total)
        reason = "no label values satisfy the selectors"
    elif sli.events is not None:
        total_sel = _query_selector(sli.events.total_query)
        subset_query = sli.events.error_query or sli.events.good_query or ""
        subset_sel = _query_selector(subset_query)
        if total_sel is not None and subset_sel is not None:
            role: Role = "bad" if sli.events.error_query else "good"
            plan = _pair_plan(slo, subset_sel, role, total_sel)
        reason = "each query needs exactly one counter selector inside rate/irate/increase"
    elif sli.latency is not None and not sli.latency.native:
        selector = sli.latency.selector
        bucket = selector.with_name(f"{selector.name}_bucket")
        count = selector.with_name(f"{selector.name}_count")
        groups = group_values(slo, [selector])
        series: list[SyntheticSeries] = []
        for index, group in enumerate(groups):
            labels = solve_labels([selector], fixed=group)
            if labels is None:
                series = []
                break
            le = le_values(sli.latency.threshold)[0]
            series.append(SyntheticSeries(bucket.name, {**labels, "le": le}, "good", index))
            series.append(SyntheticSeries(count.name, labels, "all", index))
        if series:
            plan = SeriesPlan(
                tuple(series), tuple(groups), source_for(slo), True, "drives the spec's own queries"
            )
        reason = "no label values satisfy the histogram selector"
    elif sli.latency is not None:
        reason = "native histograms cannot be written as promtool input series"
    elif sli.bool_gauge is not None:
        selector = parse_selector(sli.bool_gauge.metric)
        groups = group_values(slo, [selector])
        series = []
        for index, group in enumerate(groups):
            labels = solve_labels([selector], fixed=group)
            if labels is None or not selector.name:
                series = []
                break
            series.append(SyntheticSeries(selector.name, labels, "gauge", index))
        if series:
            plan = SeriesPlan(
                tuple(series),
                tuple(groups),
                source_for(slo),
                True,
                "drives the spec's own queries",
                gauge=True,
            )
        reason = "no label values satisfy the gauge selector"
    else:
        reason = "a raw error-ratio query does not say which series are errors"
    return plan or _synthetic_plan(slo, reason)
