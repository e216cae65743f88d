"""Pyrra ``pyrra.dev/v1alpha1`` ``ServiceLevelObjective`` documents.

One document is one SLO. Pyrra has no service: sloctl takes it from the
``pyrra.dev/service`` label, else the Kubernetes namespace, else ``default``
(where Kubernetes would put the object). ``pyrra.dev/``-prefixed labels
propagate to the rules without the prefix, as in Pyrra (``pyrra.dev/team``
becomes the SLO's team); other labels do not. ``pyrra.dev/``-prefixed
annotations become alert annotations.

The indicators map onto sloctl's SLI kinds: ``ratio`` (errors/total counters),
``latency`` (a histogram bucket and count: sloctl's ``latency`` when both
select the same series, else a good/total ``ratio``), ``latencyNative`` and
``bool_gauge``; ``grouping`` becomes ``groupBy``. Alert windows follow
sloctl's scaling from 30 days, not Pyrra's from 28 (docs/formats.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sloctl.errors import SpecProblem
from sloctl.promql import Selector, parse_selector
from sloctl.spec.conventions import ObjectMeta, attempt
from sloctl.spec.errors import validation_problems
from sloctl.spec.models import (
    SLI,
    SLO,
    AbsentAlert,
    Alerting,
    BoolGaugeSLI,
    LatencySLI,
    RatioSLI,
    SeverityAlert,
    Window,
    check_group_by,
)
from sloctl.spec.reader import Origin, Reader, ReadResult
from sloctl.spec.yamlsrc import Loc, YamlDocument

API_VERSION = "pyrra.dev/v1alpha1"
KIND = "ServiceLevelObjective"
#: Labels and annotations with this prefix propagate to the rules, prefix removed.
PROPAGATION_PREFIX = "pyrra.dev/"
#: The service of an object without ``pyrra.dev/service`` or namespace: Kubernetes' default.
DEFAULT_SERVICE = "default"
_TARGET = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_LATENCY_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_LATENCY_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class _Pyrra(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Query(_Pyrra):
    metric: str


class RatioIndicator(_Pyrra):
    errors: Query
    total: Query
    grouping: list[str] = Field(default_factory=list)


class LatencyIndicator(_Pyrra):
    success: Query
    total: Query
    grouping: list[str] = Field(default_factory=list)


class NativeLatencyIndicator(_Pyrra):
    total: Query
    latency: str
    grouping: list[str] = Field(default_factory=list)


class BoolGaugeIndicator(_Pyrra):
    metric: str
    grouping: list[str] = Field(default_factory=list)


class Indicator(_Pyrra):
    ratio: RatioIndicator | None = None
    latency: LatencyIndicator | None = None
    latency_native: NativeLatencyIndicator | None = Field(None, alias="latencyNative")
    bool_gauge: BoolGaugeIndicator | None = None

    @model_validator(mode="after")
    def _one(self) -> Indicator:
        kinds = (self.ratio, self.latency, self.latency_native, self.bool_gauge)
        if sum(k is not None for k in kinds) != 1:
            raise ValueError("set exactly one of ratio, latency, latencyNative, bool_gauge")
        return self


class PyrraAlerting(_Pyrra):
    disabled: bool | None = None
    burnrates: bool = True
    absent: bool = True
    name: str | None = None
    absent_name: str | None = Field(None, alias="absentName")


class Spec(_Pyrra):
    description: str = ""
    target: str | float
    window: str
    indicator: Indicator
    alerting: PyrraAlerting = Field(default_factory=PyrraAlerting)
    partial_response_strategy: Literal["abort", "warn", ""] = "abort"
    performance_over_accuracy: bool = Field(False, alias="performanceOverAccuracy")


class ServiceLevelObjective(_Pyrra):
    """A Pyrra SLO document."""

    api_version: Literal["pyrra.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["ServiceLevelObjective"]
    metadata: ObjectMeta
    spec: Spec
    status: Any = None


def claims(doc: YamlDocument) -> bool:
    return isinstance(doc.data, dict) and doc.data.get("apiVersion") == API_VERSION


def _target(value: str | float) -> float:
    text = value if isinstance(value, str) else repr(value)
    if not _TARGET.match(text.strip()):
        raise ValueError(f'target {value!r} is not a percentage such as "99.9"')
    return float(text)


def latency_seconds(text: str) -> float:
    """A Prometheus duration (``200ms``, ``1s500ms``) in seconds, as Pyrra's latency threshold."""
    value = text.strip()
    parts = _LATENCY_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"{text!r} is not a duration such as 200ms or 1s")
    seconds = sum(int(n) * _LATENCY_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return round(seconds, 9)


def _selector(
    text: str, doc: YamlDocument, loc: Loc, problems: list[SpecProblem]
) -> Selector | None:
    try:
        return parse_selector(text)
    except ValueError as err:
        problems.append(doc.problem(loc, f"{text!r} is not a series selector: {err}"))
        return None


def _latency(
    ind: LatencyIndicator, doc: YamlDocument, loc: Loc, problems: list[SpecProblem]
) -> SLI | None:
    success = _selector(ind.success.metric, doc, (*loc, "success", "metric"), problems)
    total = _selector(ind.total.metric, doc, (*loc, "total", "metric"), problems)
    if success is None or total is None:
        return None
    le = success.label_matchers("le")
    if len(le) != 1 or le[0].op != "=":
        problems.append(
            doc.problem(
                (*loc, "success", "metric"),
                'the success metric needs one le="<seconds>" matcher: the bucket of the '
                "latency threshold",
            )
        )
        return None
    try:
        threshold = float(le[0].value)
    except ValueError:
        threshold = math.nan
    if not (threshold > 0 and math.isfinite(threshold)):
        problems.append(
            doc.problem(
                (*loc, "success", "metric"),
                f"le={le[0].value!r} is not a latency threshold in seconds above zero",
            )
        )
        return None
    same_series = (
        success.name.endswith("_bucket")
        and total.name == success.name.removesuffix("_bucket") + "_count"
        and set(success.without_label("le").matchers) == set(total.matchers)
    )
    if same_series:
        histogram = total.with_name(total.name.removesuffix("_count")).render()
        return attempt(
            lambda: SLI(latency=LatencySLI(metric=histogram, threshold=threshold)),
            doc,
            loc,
            problems,
        )
    # The bucket selects other series than the count (nginx example: only 5xx in the bucket):
    # keep Pyrra's arithmetic exactly, good = the bucket, total = the count.
    return attempt(
        lambda: SLI(ratio=RatioSLI(good=success.render(), total=total.render())),
        doc,
        loc,
        problems,
    )


def _sli(
    ind: Indicator, doc: YamlDocument, loc: Loc, problems: list[SpecProblem]
) -> tuple[SLI | None, list[str], Loc]:
    """The SLI, the grouping labels and where the grouping is."""
    if ind.ratio is not None:
        where = (*loc, "ratio")
        errors = _selector(ind.ratio.errors.metric, doc, (*where, "errors", "metric"), problems)
        total = _selector(ind.ratio.total.metric, doc, (*where, "total", "metric"), problems)
        if errors is None or total is None:
            return None, [], where
        errors_text, total_text = errors.render(), total.render()
        sli = attempt(
            lambda: SLI(ratio=RatioSLI(errors=errors_text, total=total_text)),
            doc,
            where,
            problems,
        )
        return sli, ind.ratio.grouping, where
    if ind.latency is not None:
        where = (*loc, "latency")
        return _latency(ind.latency, doc, where, problems), ind.latency.grouping, where
    if ind.latency_native is not None:
        native = ind.latency_native
        where = (*loc, "latencyNative")
        total = _selector(native.total.metric, doc, (*where, "total", "metric"), problems)
        threshold = attempt(
            partial(latency_seconds, native.latency), doc, (*where, "latency"), problems
        )
        if total is None or threshold is None:
            return None, [], where
        sli = attempt(
            lambda: SLI(
                latency=LatencySLI(metric=total.render(), threshold=threshold, native=True)
            ),
            doc,
            where,
            problems,
        )
        return sli, native.grouping, where
    assert ind.bool_gauge is not None
    where = (*loc, "bool_gauge")
    gauge = _selector(ind.bool_gauge.metric, doc, (*where, "metric"), problems)
    if gauge is None:
        return None, [], where
    sli = attempt(lambda: SLI(bool_gauge=BoolGaugeSLI(metric=gauge.render())), doc, where, problems)
    return sli, ind.bool_gauge.grouping, where


def _alerting(spec: Spec, annotations: dict[str, str]) -> Alerting:
    settings = spec.alerting
    burn = settings.burnrates and not settings.disabled
    absent = AbsentAlert(enabled=settings.absent)
    if settings.absent_name:
        absent = absent.model_copy(update={"name": settings.absent_name})
    return Alerting(
        name=settings.name or Alerting().name,
        annotations=annotations,
        page=SeverityAlert(enabled=burn),
        ticket=SeverityAlert(enabled=burn),
        absent=absent,
    )


def _read_doc(doc: YamlDocument, out: ReadResult) -> None:
    try:
        parsed = ServiceLevelObjective.model_validate(doc.data)
    except ValidationError as err:
        out.problems.extend(validation_problems(doc, err))
        return
    meta, spec = parsed.metadata, parsed.spec
    problems = out.problems
    labels = {
        k.removeprefix(PROPAGATION_PREFIX): v
        for k, v in meta.labels.items()
        if k.startswith(PROPAGATION_PREFIX)
    }
    annotations = {
        k.removeprefix(PROPAGATION_PREFIX): v
        for k, v in meta.annotations.items()
        if k.startswith(PROPAGATION_PREFIX)
    }
    service = labels.pop("service", None) or meta.namespace or DEFAULT_SERVICE
    team = labels.pop("team", None)
    written = doc.data.get("spec", {})
    if written.get("partial_response_strategy"):
        out.warnings.append(
            doc.problem(
                ("spec", "partial_response_strategy"),
                "ignored: a Thanos Ruler setting; sloctl writes Prometheus rule files",
            )
        )
    if spec.performance_over_accuracy:
        out.warnings.append(
            doc.problem(
                ("spec", "performanceOverAccuracy"),
                "ignored: sloctl always chains its long windows from 5-minute event rates, "
                "exactly (docs/rules.md)",
            )
        )
    objective = attempt(lambda: _target(spec.target), doc, ("spec", "target"), problems)
    if objective is not None and 0 < objective < 1:
        out.warnings.append(
            doc.problem(
                ("spec", "target"),
                f"target is a percentage (0-100): {objective:g} means {objective:g}%, "
                f"not {objective * 100:g}%",
            )
        )
    window = attempt(
        partial(Window, rolling=spec.window), doc, ("spec", "window"), problems, {"rolling": ()}
    )
    sli, grouping, grouping_loc = _sli(spec.indicator, doc, ("spec", "indicator"), problems)
    group_by = attempt(
        lambda: check_group_by(tuple(grouping)), doc, (*grouping_loc, "grouping"), problems
    )
    alerting = attempt(lambda: _alerting(spec, annotations), doc, ("spec", "alerting"), problems)
    if None in (objective, window, sli, group_by, alerting):
        return
    assert objective is not None
    assert window is not None
    assert sli is not None
    assert group_by is not None
    assert alerting is not None
    label_loc: Loc = ("metadata", "labels")
    slo = attempt(
        lambda: SLO(
            service=service,
            name=meta.name,
            description=spec.description,
            team=team,
            objective=objective,
            window=window,
            sli=sli,
            group_by=group_by,
            labels=labels,
            alerting=alerting,
            source=f"{doc.path}:{doc.line}",
        ),
        doc,
        (),
        problems,
        rename={
            "service": (*label_loc, f"{PROPAGATION_PREFIX}service")
            if "pyrra.dev/service" in meta.labels
            else ("metadata", "namespace"),
            "name": ("metadata", "name"),
            "objective": ("spec", "target"),
            "labels": label_loc,
            "group_by": (*grouping_loc, "grouping"),
        },
    )
    if slo is not None:
        # alert checks point at spec.alerting, or at the target that sets the budget
        has_alerting = "alerting" in doc.data.get("spec", {})
        fields: tuple[tuple[Loc, Loc], ...] = (
            (("alerting",), ("spec", "alerting") if has_alerting else ("spec", "target")),
            (("objective",), ("spec", "target")),
        )
        out.slos.append((slo, Origin(doc, (), fields)))


def read(docs: Sequence[YamlDocument]) -> ReadResult:
    """Read Pyrra documents into SLOs."""
    out = ReadResult()
    for doc in docs:
        _read_doc(doc, out)
    return out


READER = Reader("pyrra", claims, read)
