"""OpenSLO v1 (``apiVersion: openslo/v1``) objects: SLO, SLI, AlertPolicy, AlertCondition,
AlertNotificationTarget, DataSource and Service.

Objects refer to each other by name (``indicatorRef``, ``alertPolicyRef``,
``conditionRef``, ``targetRef``, ``metricSourceRef``), possibly across files,
so the reader sees every OpenSLO document of a run at once: it indexes the
objects by kind and name, then turns every objective of every SLO into one
sloctl :class:`~sloctl.spec.models.SLO`. A file may hold one object per YAML
document or a YAML list of objects (as the OpenSLO examples do).

Validation follows the OpenSLO go-sdk validator (``pkg/openslo/v1``), which
also settles the known mistakes in the published examples: ``op``/``value``
on an objective of a ratio SLI are forbidden, an AlertPolicy has exactly one
condition and at least one notification target. What sloctl cannot compile
is rejected with one line saying what and why: Timeslices budgeting, composite
SLOs, non-Prometheus sources, calendar windows other than a week or a month.
docs/formats.md lists every field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, Generic, Literal, TypeVar

from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from sloctl.durations import DAY, format_duration
from sloctl.errors import SpecProblem
from sloctl.promql import Selector, format_number, parse_selector
from sloctl.spec.conventions import ORIGINAL_SEVERITY, attempt, go_window, has_go_window
from sloctl.spec.errors import validation_problems
from sloctl.spec.models import (
    SLI,
    SLO,
    WINDOW_PLACEHOLDER,
    AbsentAlert,
    Alerting,
    BurnWindowSpec,
    EventsSLI,
    RatioSLI,
    RawSLI,
    SeverityAlert,
    Window,
)
from sloctl.spec.openslo_objects import (
    API_VERSION,
    KINDS,
    SPECS,
    AlertConditionSpec,
    AlertPolicySpec,
    ConditionRef,
    Metadata,
    MetricSpec,
    Obj,
    Objective,
    PolicyRef,
    RatioMetric,
    SLOSpec,
    TargetRef,
    TimeWindow,
    shorthand_seconds,
)
from sloctl.spec.reader import Origin, Reader, ReadResult
from sloctl.spec.yamlsrc import Loc, YamlDocument

#: Kinds other objects refer to by name: their names must be unique in a run.
REFERENCED = ("SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource")
#: OpenSLO severities read as sloctl's page and ticket (any other value is an error).
PAGE_SEVERITIES = ("page", "critical")
TICKET_SEVERITIES = ("ticket", "warning", "info")
_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_COUNTER_SUFFIXES = ("_total", "_count", "_bucket", "_sum")
_SUM = re.compile(r"^sum\s*\((.*)\)$", re.DOTALL)


# -------------------------------------------------------------------- index


S = TypeVar("S")


@dataclass(frozen=True)
class Found(Generic[S]):
    """An object (or an inline part) with where its spec is."""

    spec: S
    doc: YamlDocument
    loc: Loc


@dataclass
class Index:
    """Every OpenSLO object of a run, by kind and name."""

    objects: dict[str, dict[str, Found[Any]]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    broken: set[tuple[str, str]] = field(default_factory=set)
    slos: list[tuple[Obj[SLOSpec], YamlDocument, Loc]] = field(default_factory=list)

    def get(self, kind: str, name: str) -> Found[Any] | None:
        return self.objects[kind].get(name)


def claims(doc: YamlDocument) -> bool:
    data = doc.data
    if isinstance(data, dict):
        return str(data.get("apiVersion", "")).startswith("openslo/")
    return (
        isinstance(data, list)
        and bool(data)
        and all(
            isinstance(item, dict) and str(item.get("apiVersion", "")).startswith("openslo/")
            for item in data
        )
    )


def _items(doc: YamlDocument) -> Iterator[tuple[Any, Loc]]:
    if isinstance(doc.data, list):
        for i, item in enumerate(doc.data):
            yield item, (i,)
    else:
        yield doc.data, ()


def _index(docs: Sequence[YamlDocument], out: ReadResult) -> Index:
    index = Index()
    for doc in docs:
        for data, loc in _items(doc):
            version = data.get("apiVersion")
            if version != API_VERSION:
                out.problems.append(
                    doc.problem(
                        (*loc, "apiVersion"),
                        f"{version} is not supported: sloctl reads OpenSLO v1 (openslo/v1)",
                    )
                )
                continue
            kind = data.get("kind")
            if kind not in SPECS:
                out.problems.append(
                    doc.problem(
                        (*loc, "kind"),
                        f"{kind!r} is not an OpenSLO v1 kind ({', '.join(KINDS)})",
                    )
                )
                continue
            name = data.get("metadata", {}).get("name") if isinstance(data, dict) else None
            try:
                obj = Obj[SPECS[kind]].model_validate(data)  # type: ignore[valid-type]
            except ValidationError as err:
                out.problems.extend(validation_problems(doc, err, loc))
                if isinstance(name, str):
                    index.broken.add((kind, name))
                continue
            name = obj.metadata.name
            previous = index.get(kind, name)
            if previous is not None and kind in REFERENCED:
                first = previous.doc.line_of(previous.loc)
                out.problems.append(
                    doc.problem(
                        (*loc, "metadata", "name"),
                        f"{kind} {name!r} is already defined at {previous.doc.path}:{first}",
                    )
                )
                continue
            index.objects[kind][name] = Found(obj.spec, doc, (*loc, "spec"))
            if kind == "SLO":
                index.slos.append((obj, doc, loc))
    return index


# ---------------------------------------------------------------- reading SLIs


class _SkipSLO(Exception):  # noqa: N818 - control flow, never shown
    """The SLO cannot be compiled; the problems are already recorded."""


@dataclass
class _Ctx:
    """One SLO being read: its problems and warnings, and the index for references."""

    index: Index
    problems: list[SpecProblem]
    warnings: list[SpecProblem]

    def fail(self, doc: YamlDocument, loc: Loc, message: str) -> _SkipSLO:
        self.problems.append(doc.problem(loc, message))
        return _SkipSLO()

    def resolve(self, kind: str, name: str, doc: YamlDocument, loc: Loc) -> Found[Any]:
        found = self.index.get(kind, name)
        if found is not None:
            return found
        if (kind, name) in self.index.broken:
            raise _SkipSLO()  # its own problems are reported where it is defined
        raise self.fail(doc, loc, f"{name!r} names no {kind} in the files read")


def _query(metric: MetricSpec, doc: YamlDocument, loc: Loc, ctx: _Ctx) -> str:
    """The PromQL of a metric source, after checking that it is Prometheus."""
    source = metric.metric_source
    where = (*loc, "metricSource")
    kind = source.type
    if source.metric_source_ref is not None:
        found = ctx.index.get("DataSource", source.metric_source_ref)
        if found is not None:
            ds_type: str = found.spec.type
            if kind is not None and kind.lower() != ds_type.lower():
                raise ctx.fail(
                    doc,
                    (*where, "type"),
                    f"type {kind!r} differs from the type {ds_type!r} of DataSource "
                    f"{source.metric_source_ref!r}",
                )
            kind = kind or ds_type
        elif kind is None:
            raise ctx.fail(
                doc,
                (*where, "metricSourceRef"),
                f"{source.metric_source_ref!r} names no DataSource in the files read, and "
                "metricSource.type is not set",
            )
    if kind is None:
        raise ctx.fail(doc, where, "set metricSource.type (Prometheus) or metricSourceRef")
    if kind.lower() != "prometheus":
        raise ctx.fail(
            doc,
            (*where, "type"),
            f"metric source type {kind!r} is not supported: sloctl compiles Prometheus "
            "queries only",
        )
    extra = sorted(set(source.spec) - {"query"})
    if extra:
        raise ctx.fail(
            doc,
            (*where, "spec", extra[0]),
            "unknown field: a Prometheus metric source has only query (the PromQL)",
        )
    query = source.spec.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ctx.fail(doc, (*where, "spec", "query"), "required field is missing")
    return query.strip()


def _counter_selector(query: str) -> Selector | None:
    """The series selector of ``sel`` or ``sum(sel)``, or None for any other query."""
    text = query.strip()
    match = _SUM.match(text)
    for candidate in (text, match.group(1).strip() if match else None):
        if candidate is None:
            continue
        try:
            return parse_selector(candidate)
        except ValueError:
            continue
    return None


def _over_window(function: str, query: str) -> str:
    return f"{function}(({query})[{WINDOW_PLACEHOLDER}:])"


def _ratio_sli(rm: RatioMetric, doc: YamlDocument, loc: Loc, ctx: _Ctx) -> SLI:
    if rm.raw is not None:
        query = _query(rm.raw, doc, (*loc, "raw"), ctx)
        ratio = go_window(query) if has_go_window(query) else _over_window("avg_over_time", query)
        error = ratio if rm.raw_type == "failure" else f"1 - ({ratio})"
        return SLI(raw=RawSLI(error_ratio_query=error))
    part = "good" if rm.good is not None else "bad"
    numerator = rm.good or rm.bad
    assert numerator is not None
    assert rm.total is not None
    queries = {
        part: _query(numerator, doc, (*loc, part), ctx),
        "total": _query(rm.total, doc, (*loc, "total"), ctx),
    }
    windowed = {name: has_go_window(q) for name, q in queries.items()}
    if any(windowed.values()):
        if not all(windowed.values()):
            plain = next(name for name, w in windowed.items() if not w)
            raise ctx.fail(
                doc,
                (*loc, plain, "metricSource", "spec", "query"),
                "use the {{.window}} placeholder in both queries or in neither",
            )
        good_or_error = "good_query" if part == "good" else "error_query"
        return SLI(
            events=EventsSLI(
                **{good_or_error: go_window(queries[part])},
                total_query=go_window(queries["total"]),
            )
        )
    selectors = {name: _counter_selector(q) for name, q in queries.items()}
    if rm.counter:
        rendered: dict[str, str] = {}
        for name, selector in selectors.items():
            if selector is None:
                raise ctx.fail(
                    doc,
                    (*loc, name, "metricSource", "spec", "query"),
                    "with counter: true sloctl takes the rate() of each counter, so the query "
                    'must be a series selector such as http_requests_total{code=~"5.."} '
                    "(or sum() of one); or write the range yourself with {{.window}}",
                )
            rendered[name] = selector.render()
        if part == "good":
            return SLI(ratio=RatioSLI(good=rendered["good"], total=rendered["total"]))
        return SLI(ratio=RatioSLI(errors=rendered["bad"], total=rendered["total"]))
    for selector in selectors.values():
        if selector is not None and selector.name.endswith(_COUNTER_SUFFIXES):
            raise ctx.fail(
                doc,
                (*loc, "counter"),
                f"{selector.name} looks like a counter: set counter: true (sloctl takes its "
                "rate), or query a gauge",
            )
    good_or_error = "good_query" if part == "good" else "error_query"
    return SLI(
        events=EventsSLI(
            **{good_or_error: _over_window("avg_over_time", queries[part])},
            total_query=_over_window("avg_over_time", queries["total"]),
        )
    )


def _threshold_sli(
    metric: MetricSpec, objective: Objective, doc: YamlDocument, loc: Loc, ctx: _Ctx
) -> SLI:
    query = _query(metric, doc, loc, ctx)
    if has_go_window(query):
        raise ctx.fail(
            doc,
            (*loc, "metricSource", "spec", "query"),
            "a thresholdMetric query is compared with the objective's value at every "
            "evaluation, so it must not contain {{.window}}",
        )
    assert objective.op is not None
    assert objective.value is not None
    met = f"({query}) {_OPS[objective.op]} {format_number(objective.value)}"
    return SLI(
        events=EventsSLI(
            good_query=_over_window("count_over_time", met),
            total_query=_over_window("count_over_time", query),
        )
    )


# ------------------------------------------------------------------- windows


def _window(tw: TimeWindow, doc: YamlDocument, loc: Loc, ctx: _Ctx) -> Window:
    seconds = shorthand_seconds(tw.duration)
    if tw.is_rolling:
        if seconds % DAY:
            raise ctx.fail(
                doc,
                (*loc, "duration"),
                f"a rolling window of {tw.duration} is not supported: sloctl's rolling windows "
                "are whole days (e.g. 28d, 4w, 1M = 30d)",
            )
        return Window(rolling=format_duration(seconds))
    assert tw.calendar is not None
    calendar: Literal["week", "month"]
    if tw.duration in ("1w", "7d"):
        calendar = "week"
    elif tw.duration == "1M":
        calendar = "month"
    else:
        raise ctx.fail(
            doc,
            (*loc, "duration"),
            f"a calendar window of {tw.duration} is not supported: sloctl's calendar "
            "windows are one week (1w) or one month (1M)",
        )
    start = datetime.strptime(tw.calendar.start_time, "%Y-%m-%d %H:%M:%S")
    aligned = (start.hour, start.minute, start.second) == (0, 0, 0) and (
        start.weekday() == 0 if calendar == "week" else start.day == 1
    )
    if not aligned:
        first = "Monday" if calendar == "week" else "the 1st"
        raise ctx.fail(
            doc,
            (*loc, "calendar", "startTime"),
            f"{tw.calendar.start_time} is not supported: sloctl's calendar {calendar}s start "
            f"on {first} at 00:00:00 in timeZone",
        )
    window = attempt(
        partial(Window, calendar=calendar, time_zone=tw.calendar.time_zone),
        doc,
        (*loc, "calendar", "timeZone"),
        ctx.problems,
    )
    if window is None:
        raise _SkipSLO()
    return window


# ------------------------------------------------------------------ alerting


@dataclass
class _SeverityPlan:
    windows: list[BurnWindowSpec] = field(default_factory=list)
    for_: int | None = None
    original: str | None = None
    where: tuple[YamlDocument, Loc] | None = None


def _severity(value: str, doc: YamlDocument, loc: Loc, ctx: _Ctx) -> Literal["page", "ticket"]:
    if value.lower() in PAGE_SEVERITIES:
        return "page"
    if value.lower() in TICKET_SEVERITIES:
        return "ticket"
    raise ctx.fail(
        doc,
        loc,
        f"severity {value!r} is neither a page ({', '.join(PAGE_SEVERITIES)}) nor a ticket "
        f"({', '.join(TICKET_SEVERITIES)}): sloctl pages or opens tickets",
    )


def _condition(
    spec: AlertConditionSpec,
    doc: YamlDocument,
    loc: Loc,
    window: Window,
    plans: dict[str, _SeverityPlan],
    ctx: _Ctx,
) -> None:
    cond = spec.condition
    cloc = (*loc, "condition")
    severity = _severity(spec.severity, doc, (*loc, "severity"), ctx)
    if cond.op not in ("gt", "gte"):
        raise ctx.fail(
            doc,
            (*cloc, "op"),
            f"op {cond.op} is not supported: a burn-rate alert fires when the burn rate is "
            "above the threshold (gt or gte)",
        )
    if cond.threshold <= 0:
        raise ctx.fail(doc, (*cloc, "threshold"), "a burn-rate threshold is above zero")
    long = shorthand_seconds(cond.lookback_window)
    short = max(60, round(long / 12 / 60) * 60)
    if short >= long:
        raise ctx.fail(
            doc,
            (*cloc, "lookbackWindow"),
            f"lookbackWindow {cond.lookback_window} is too short: sloctl checks a short window "
            "of 1/12 of it (at least 1m) too",
        )
    share = Decimal(repr(cond.threshold)) * long / window.seconds * 100
    if share > 100:
        raise ctx.fail(
            doc,
            (*cloc, "threshold"),
            f"burn rate {format_number(cond.threshold)} over {cond.lookback_window} would burn "
            f"{float(share):.0f}% of the {window} error budget; a burn-rate threshold "
            "cannot ask for more than the whole budget",
        )
    plan = plans[severity]
    plan.windows.append(
        BurnWindowSpec(
            severity=severity,
            long_window=format_duration(long),
            short_window=format_duration(short),
            budget_percent=float(share),
        )
    )
    alert_after = shorthand_seconds(cond.alert_after) if cond.alert_after else 0
    original = None if spec.severity in ("page", "ticket") else spec.severity
    for what, value, previous in (
        ("alertAfter", alert_after, plan.for_),
        ("severity", original, plan.original),
    ):
        if plan.where is not None and value != previous:
            first_doc, first_loc = plan.where
            raise ctx.fail(
                doc,
                (*loc, "condition", what) if what == "alertAfter" else (*loc, what),
                f"differs from the {what} of another {severity} condition of this SLO "
                f"({first_doc.path}:{first_doc.line_of(first_loc)}): sloctl has one {what} "
                f"per severity",
            )
    plan.for_, plan.original, plan.where = alert_after, original, (doc, loc)


def _alerting(spec: SLOSpec, doc: YamlDocument, loc: Loc, window: Window, ctx: _Ctx) -> Alerting:
    if not spec.alert_policies:
        return Alerting()
    plans = {"page": _SeverityPlan(), "ticket": _SeverityPlan()}
    absent = False
    dangling = False  # a notification target is missing: report the conditions too, then stop
    for i, entry in enumerate(spec.alert_policies):
        ploc = (*loc, "alertPolicies", i)
        if isinstance(entry, PolicyRef):
            found = ctx.resolve(
                "AlertPolicy", entry.alert_policy_ref, doc, (*ploc, "alertPolicyRef")
            )
            policy: AlertPolicySpec = found.spec
            pdoc, pspec_loc = found.doc, found.loc
        else:
            policy, pdoc, pspec_loc = entry.spec, doc, (*ploc, "spec")
        for j, target in enumerate(policy.notification_targets):
            if isinstance(target, TargetRef):
                try:
                    ctx.resolve(
                        "AlertNotificationTarget",
                        target.target_ref,
                        pdoc,
                        (*pspec_loc, "notificationTargets", j, "targetRef"),
                    )
                except _SkipSLO:
                    dangling = True
        absent = absent or policy.alert_when_no_data
        if not policy.alert_when_breaching:
            if not policy.alert_when_no_data:
                ctx.warnings.append(
                    pdoc.problem(
                        (*pspec_loc, "alertWhenBreaching"),
                        "alertWhenBreaching and alertWhenNoData are false: this policy raises "
                        "no alert",
                    )
                )
            continue
        condition = policy.conditions[0]
        cloc = (*pspec_loc, "conditions", 0)
        if isinstance(condition, ConditionRef):
            found = ctx.resolve(
                "AlertCondition", condition.condition_ref, pdoc, (*cloc, "conditionRef")
            )
            _condition(found.spec, found.doc, found.loc, window, plans, ctx)
        else:
            _condition(condition.spec, pdoc, (*cloc, "spec"), window, plans, ctx)
    if dangling:
        raise _SkipSLO()
    severities = {}
    for severity, plan in plans.items():
        labels = {ORIGINAL_SEVERITY: plan.original} if plan.original else {}
        severities[severity] = SeverityAlert(
            enabled=bool(plan.windows),
            for_=format_duration(plan.for_) if plan.for_ else "0s",
            labels=labels,
        )
    windows = tuple(w for plan in plans.values() for w in plan.windows)
    return Alerting(
        page=severities["page"],
        ticket=severities["ticket"],
        absent=AbsentAlert(enabled=absent),
        windows=windows or None,
    )


# ---------------------------------------------------------------------- SLOs


def _labels(meta: Metadata) -> tuple[str | None, dict[str, str]]:
    """The team and the Prometheus labels of an SLO's metadata labels."""
    team = None
    labels: dict[str, str] = {}
    for key, value in meta.labels.items():
        values = [value] if isinstance(value, str) else list(value)
        name = re.sub(r"[^a-zA-Z0-9_]", "_", key)
        if name == "team" and len(values) == 1:
            team = values[0]
            continue
        labels[name] = ",".join(values)
    return team, labels


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _objective_names(obj: Obj[SLOSpec]) -> list[str]:
    objectives = obj.spec.objectives
    if len(objectives) == 1:
        return [obj.metadata.name]
    return [
        f"{obj.metadata.name}-{_slug(o.display_name or '') or i + 1}"
        for i, o in enumerate(objectives)
    ]


def _read_slo(obj: Obj[SLOSpec], doc: YamlDocument, loc: Loc, ctx: _Ctx, out: ReadResult) -> None:
    spec = obj.spec
    sloc = (*loc, "spec")
    problems_before = len(ctx.problems)
    if any(o.composite for o in spec.objectives):
        raise ctx.fail(
            doc,
            (*sloc, "objectives"),
            "composite SLOs (objectives with their own indicator or compositeWeight) are not "
            "supported: sloctl compiles one SLI per SLO",
        )
    if spec.budgeting_method != "Occurrences":
        ctx.problems.append(
            doc.problem(
                (*sloc, "budgetingMethod"),
                f"{spec.budgeting_method} is not supported: sloctl budgets by events "
                "(Occurrences); time-slice budgets count good time slices, which these rules "
                "do not compute",
            )
        )
    if spec.indicator is not None:
        sli_spec, sdoc, sli_loc = spec.indicator.spec, doc, (*sloc, "indicator", "spec")
    else:
        assert spec.indicator_ref is not None
        found = ctx.resolve("SLI", spec.indicator_ref, doc, (*sloc, "indicatorRef"))
        sli_spec, sdoc, sli_loc = found.spec, found.doc, found.loc
    for k, objective in enumerate(spec.objectives):
        oloc = (*sloc, "objectives", k)
        if sli_spec.ratio_metric is not None:
            for name in ("op", "value"):
                if getattr(objective, name) is not None:
                    ctx.problems.append(
                        doc.problem(
                            (*oloc, name),
                            f"{name} is forbidden with a ratioMetric SLI (as the OpenSLO "
                            "go-sdk validator decides): it applies to thresholdMetric only",
                        )
                    )
        else:
            for name in ("op", "value"):
                if getattr(objective, name) is None:
                    ctx.problems.append(
                        doc.problem((*oloc, name), "required with a thresholdMetric SLI")
                    )
        sliced = objective.time_slice_target is not None or objective.time_slice_window is not None
        if sliced and spec.budgeting_method == "Occurrences":
            ctx.warnings.append(
                doc.problem(
                    (*oloc, "timeSliceWindow"),
                    "timeSliceTarget and timeSliceWindow apply to time-slice budgets; "
                    "ignored with Occurrences",
                )
            )
    if spec.budgeting_method != "Occurrences":  # what the go-sdk requires of time slices
        required = ["timeSliceWindow"]
        if spec.budgeting_method == "Timeslices":
            required.append("timeSliceTarget")
        for k, objective in enumerate(spec.objectives):
            for name in required:
                if getattr(objective, to_snake(name)) is None:
                    ctx.problems.append(
                        doc.problem(
                            (*sloc, "objectives", k, name),
                            f"required with budgetingMethod {spec.budgeting_method}",
                        )
                    )
    if len(ctx.problems) > problems_before:
        raise _SkipSLO()
    window = _window(spec.time_window[0], doc, (*sloc, "timeWindow", 0), ctx)
    alerting = _alerting(spec, doc, sloc, window, ctx)
    ratio_sli = None
    if sli_spec.ratio_metric is not None:
        ratio_sli = _ratio_sli(sli_spec.ratio_metric, sdoc, (*sli_loc, "ratioMetric"), ctx)
    team, labels = _labels(obj.metadata)
    for k, (objective, name) in enumerate(zip(spec.objectives, _objective_names(obj), strict=True)):
        oloc = (*sloc, "objectives", k)
        if ratio_sli is not None:
            sli = ratio_sli
        else:
            assert sli_spec.threshold_metric is not None
            sli = _threshold_sli(
                sli_spec.threshold_metric, objective, sdoc, (*sli_loc, "thresholdMetric"), ctx
            )
        slo = attempt(
            partial(
                SLO,
                service=spec.service,
                name=name,
                description=spec.description or obj.metadata.display_name or "",
                team=team,
                objective=objective.percent,
                window=window,
                sli=sli,
                labels=labels,
                alerting=alerting,
                source=f"{doc.path}:{doc.line_of(oloc)}",
            ),
            doc,
            loc,
            ctx.problems,
            rename={
                "service": ("spec", "service"),
                "name": ("metadata", "name"),
                "objective": ("spec", "objectives", k),
                "labels": ("metadata", "labels"),
                "team": ("metadata", "labels", "team"),
            },
        )
        if slo is not None:
            # alert checks point at the policies, or at the objective that sets the budget
            alerting_loc = (*sloc, "alertPolicies") if spec.alert_policies else oloc
            fields: tuple[tuple[Loc, Loc], ...] = (
                (("alerting",), alerting_loc),
                (("objective",), oloc),
            )
            out.slos.append((slo, Origin(doc, oloc, fields)))


def read(docs: Sequence[YamlDocument]) -> ReadResult:
    """Read every OpenSLO document of a run, resolving references between them."""
    out = ReadResult()
    index = _index(docs, out)
    for obj, doc, loc in index.slos:
        ctx = _Ctx(index, out.problems, out.warnings)
        try:
            _read_slo(obj, doc, loc, ctx, out)
        except _SkipSLO:
            continue
        except ValidationError as err:  # a sloctl model refused what the mapping built
            out.problems.extend(validation_problems(doc, err, (*loc, "spec")))
    return out


READER = Reader("openslo", claims, read)
