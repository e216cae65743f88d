"""Google slo-generator SLOs: ``sre.google.com/v2`` ``ServiceLevelObjective`` documents and v1.

One document is one SLO, on the ``prometheus`` backend (other backends are
refused by name). The service and name come from the labels slo-generator
itself exports (``service_name``; ``feature_name`` and ``slo_name`` make the
name, so the SLO id is slo-generator's ``service-feature-slo``); other labels
become the SLO's labels. ``goal`` is a fraction: 0.999 is 99.9 %.

The methods map onto sloctl's SLI kinds:

* ``good_bad_ratio`` with ``filter_good`` and ``filter_valid`` selectors: a
  good/total ``ratio``; with ``filter_bad``, a ``[window]`` range in a filter or
  its own ``operators``: ``events`` queries built the way slo-generator builds
  them (``sum(increase(<filter>[{{window}}]))``);
* ``distribution_cut`` (a ``_bucket`` selector and ``threshold_bucket``): a
  ``latency`` SLI on that histogram;
* ``query_sli`` (an expression of the good ratio over ``[window]``): a ``raw``
  error ratio, ``1 - (expression)``, which sloctl cannot weight by traffic.

slo-generator has no compliance window in the SLO: its error budget policy's
steps are the windows it reports on. The shared configuration (the document
with ``error_budget_policies``, read when it is among the files) gives the
window: the longest step of the SLO's policy (``spec.error_budget_policy``,
else ``default``). Each directory is one setup: an SLO sees the policies of
its own directory, else of the nearest parent directory that has some, else
all that were read. Without any the window is 28 days, the longest step of
slo-generator's sample policy. The steps' single-window burn-rate alerts are
not carried over: sloctl alerts on its multi-window pairs (docs/formats.md).

v1 configurations (no ``apiVersion``: ``service_name``, ``slo_target``,
``backend.class``/``method``/``measurement`` at the top) and v1 policy files
(a list of steps with ``measurement_window_seconds``) are read as
``slo-generator migrate`` would turn them into v2, with errors at the v1 fields.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from sloctl.durations import DAY, format_duration
from sloctl.errors import SpecProblem
from sloctl.promql import parse_selector
from sloctl.spec.conventions import ObjectMeta, attempt, keep_severity, percent
from sloctl.spec.models import (
    SLI,
    SLO,
    WINDOW_PLACEHOLDER,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    RawSLI,
    Window,
    check_name,
)
from sloctl.spec.reader import Origin, Reader, ReadResult
from sloctl.spec.yamlsrc import Loc, YamlDocument

API_VERSION = "sre.google.com/v2"
#: The policy an SLO uses when it names none, as in slo-generator.
DEFAULT_POLICY = "default"
#: The window without a configuration: the longest step of slo-generator's sample policy.
DEFAULT_WINDOW = "28d"
#: slo-generator's own operators for good_bad_ratio filters, innermost first.
DEFAULT_OPERATORS = ("increase", "sum")
_RANGE = re.compile(r"\[window")
_TRAILING_RANGE = re.compile(r"\[window[^\]]*\]$")
_OPERATOR = re.compile(r"^[a-z_]+$")
#: The functions that take slo-generator's range: the first operator must be one.
RANGE_FUNCTIONS = frozenset(
    {"rate", "irate", "increase", "delta", "idelta", "changes", "resets"}
    | {
        f"{agg}_over_time"
        for agg in ("avg", "sum", "count", "min", "max", "last", "present", "stddev", "stdvar")
    }
)


class _SloGen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Indicator(_SloGen):
    """``service_level_indicator`` of the prometheus backend: what each of its methods reads."""

    filter_good: str | None = None
    filter_bad: str | None = None
    filter_valid: str | None = None
    operators: list[str] | None = None
    expression: str | None = None
    threshold_bucket: Any = None


class Spec(_SloGen):
    description: str = ""
    backend: str
    method: str
    exporters: Any = None  # slo-generator's own delivery: sloctl's rules and server replace it
    service_level_indicator: dict[str, Any]
    goal: float
    error_budget_policy: str | None = None  # None: slo-generator's `default`

    @field_validator("description", mode="before")
    @classmethod
    def _folded(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class ServiceLevelObjective(_SloGen):
    """An slo-generator v2 SLO document."""

    api_version: Literal["sre.google.com/v2"] = Field(alias="apiVersion")
    kind: Literal["ServiceLevelObjective"]
    metadata: ObjectMeta
    spec: Spec


class Step(_SloGen):
    """One step of an error budget policy: a window (seconds) and its burn-rate threshold."""

    name: str = ""
    window: int = Field(gt=0)
    burn_rate_threshold: float | None = None
    alert: bool = False
    message_alert: str = ""
    message_ok: str = ""


class Policy(_SloGen):
    """An error budget policy of the shared configuration: its steps."""

    steps: list[Step] = Field(min_length=1)


class SharedConfig(BaseModel):
    """slo-generator's shared configuration: only its error budget policies matter here."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    error_budget_policies: dict[str, Policy] = Field(default_factory=dict)


class StepV1(Step):
    """A step of a v1 error budget policy file (a YAML list of them), under its v1 names."""

    name: str = Field("", alias="error_budget_policy_step_name")
    window: int = Field(gt=0, alias="measurement_window_seconds")
    burn_rate_threshold: float | None = Field(None, alias="alerting_burn_rate_threshold")
    alert: bool = Field(False, alias="urgent_notification")
    message_alert: str = Field("", alias="overburned_consequence_message")
    message_ok: str = Field("", alias="achieved_consequence_message")


PolicyV1 = TypeAdapter(list[StepV1])


class BackendV1(BaseModel):
    """A v1 SLO's backend: its class, method and measurement (the v2 indicator)."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # url, headers: the backend's own

    class_name: str = Field(alias="class")
    method: str
    measurement: dict[str, Any]


class SloConfigV1(BaseModel):
    """A v1 SLO configuration (before ``apiVersion``); keys it does not name are labels."""

    model_config = ConfigDict(frozen=True, extra="allow")

    service_name: str = Field(min_length=1)
    feature_name: str = ""
    slo_name: str = Field(min_length=1)
    slo_description: str = ""
    slo_target: float
    backend: BackendV1
    exporters: Any = None


def _bare_mapping(data: Any) -> bool:
    """A mapping with neither ``apiVersion`` nor ``kind``: slo-generator's files before v2."""
    return isinstance(data, dict) and "apiVersion" not in data and "kind" not in data


def _is_config(data: Any) -> bool:
    return _bare_mapping(data) and "error_budget_policies" in data


def _is_v2(data: Any) -> bool:
    return isinstance(data, dict) and data.get("apiVersion") == API_VERSION


#: Keys only slo-generator's v1 SLO configurations have at the top.
_V1_KEYS = frozenset({"service_name", "slo_name", "slo_target", "slo_description"})
#: Keys only v1 error budget policy steps have.
_V1_STEP_KEYS = frozenset({"error_budget_policy_step_name", "measurement_window_seconds"})


def _is_v1(data: Any) -> bool:
    """A v1 SLO: no ``apiVersion`` nor ``kind``, and two of its own keys (one may be misspelt)."""
    return _bare_mapping(data) and len(_V1_KEYS & set(data)) >= 2


def _is_policy_v1(data: Any) -> bool:
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(step, dict) for step in data)
        and any(_V1_STEP_KEYS & set(step) for step in data)
    )


def claims(doc: YamlDocument) -> bool:
    data = doc.data
    return _is_v2(data) or _is_config(data) or _is_v1(data) or _is_policy_v1(data)


def _squash(text: str) -> str:
    """A YAML block of PromQL on one line, as the user would write it in a query."""
    return " ".join(text.split())


def _windowed(query: str) -> str:
    """slo-generator's ``[window`` placeholder as sloctl's, or the range appended as it does."""
    query = _squash(query)
    if _RANGE.search(query):
        return _RANGE.sub("[" + WINDOW_PLACEHOLDER, query)
    return f"{query}[{WINDOW_PLACEHOLDER}]"


def _wrapped(query: str, operators: Sequence[str]) -> str:
    for operator in operators:
        query = f"{operator}({query})"
    return query


def _plain_selector(text: str) -> str | None:
    """The selector rendered as sloctl writes it, or None when ``text`` is more than one."""
    try:
        return parse_selector(_squash(text)).render()
    except ValueError:
        return None


def _operators_ok(
    operators: Sequence[str], doc: YamlDocument, loc: Loc, problems: list[SpecProblem]
) -> bool:
    """Operators that make an instant vector of the filter's range: a range function first."""
    for i, operator in enumerate(operators):
        if not _OPERATOR.match(operator):
            problems.append(doc.problem((*loc, i), f"{operator!r} is not a PromQL function name"))
            return False
        if (i == 0) != (operator in RANGE_FUNCTIONS):
            where = "first" if i == 0 else "after the first"
            problems.append(
                doc.problem(
                    (*loc, i),
                    f"{operator!r} {where}: the first operator takes the window's range "
                    f"(rate, increase, ...), the others aggregate its result (sum, ...)",
                )
            )
            return False
    if not operators:
        problems.append(
            doc.problem(
                loc, "needs at least a function of the window's range, e.g. [increase, sum]"
            )
        )
        return False
    return True


def _good_bad_ratio(
    ind: Indicator,
    doc: YamlDocument,
    loc: Loc,
    problems: list[SpecProblem],
    warnings: list[SpecProblem],
) -> SLI | None:
    if ind.filter_good is None:
        problems.append(doc.problem((*loc, "filter_good"), "good_bad_ratio needs filter_good"))
        return None
    if ind.filter_bad is None and ind.filter_valid is None:
        problems.append(doc.problem(loc, "good_bad_ratio needs one of filter_bad and filter_valid"))
        return None
    if ind.filter_bad is not None and ind.filter_valid is not None:
        warnings.append(
            doc.problem(
                (*loc, "filter_valid"),
                "ignored: with filter_bad set, valid events are good + bad (as in slo-generator)",
            )
        )
    operators = tuple(ind.operators) if ind.operators is not None else DEFAULT_OPERATORS
    if not _operators_ok(operators, doc, (*loc, "operators"), problems):
        return None
    other = "filter_bad" if ind.filter_bad is not None else "filter_valid"
    selectors: dict[str, str | None] = {}  # each filter as a selector, None: an expression
    for field in ("filter_good", other):
        text = getattr(ind, field)
        selectors[field] = _plain_selector(text)
        if selectors[field] is None and not _RANGE.search(text):
            problems.append(
                doc.problem(
                    (*loc, field),
                    f"{_squash(text)!r} is not a series selector; an expression "
                    "needs [window] where the range goes",
                )
            )
            return None
    good, valid = selectors["filter_good"], selectors.get("filter_valid")
    if operators == DEFAULT_OPERATORS and good is not None and valid is not None:
        return attempt(lambda: SLI(ratio=RatioSLI(good=good, total=valid)), doc, loc, problems)

    def query(text: str) -> str:
        return _wrapped(_windowed(text), operators)

    if ind.filter_bad is not None:
        # valid = good + bad, where a filter with no series yet counts zero events
        good_events, bad = query(ind.filter_good), query(ind.filter_bad)
        total = f"({good_events} or 0 * {bad}) + ({bad} or 0 * {good_events})"
        events = {"error_query": bad, "total_query": total}
    else:
        assert ind.filter_valid is not None
        events = {"good_query": query(ind.filter_good), "total_query": query(ind.filter_valid)}
    return attempt(lambda: SLI(events=EventsSLI(**events)), doc, loc, problems)


def _seconds(value: Any) -> float | None:
    """A finite number of seconds above zero (``0.25`` or ``"0.25"``), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _distribution_cut(
    ind: Indicator, doc: YamlDocument, loc: Loc, problems: list[SpecProblem]
) -> SLI | None:
    if ind.expression is None or ind.threshold_bucket is None:
        missing = "expression" if ind.expression is None else "threshold_bucket"
        problems.append(doc.problem((*loc, missing), f"distribution_cut needs {missing}"))
        return None
    try:
        selector = parse_selector(_TRAILING_RANGE.sub("", _squash(ind.expression)).strip())
    except ValueError:
        selector = None
    if selector is None or not selector.name.endswith("_bucket") or selector.label_matchers("le"):
        problems.append(
            doc.problem(
                (*loc, "expression"),
                "distribution_cut needs the histogram's _bucket series as one selector "
                'without le (e.g. http_request_duration_seconds_bucket{job="api"})',
            )
        )
        return None
    histogram = selector.with_name(selector.name.removesuffix("_bucket")).render()
    threshold = _seconds(ind.threshold_bucket)
    if threshold is None:
        problems.append(
            doc.problem(
                (*loc, "threshold_bucket"),
                f"{ind.threshold_bucket!r} is not a bucket boundary: seconds above zero",
            )
        )
        return None
    return attempt(
        lambda: SLI(latency=LatencySLI(metric=histogram, threshold=threshold)),
        doc,
        loc,
        problems,
        {"threshold": ("threshold_bucket",), "metric": ("expression",)},
    )


def _query_sli(ind: Indicator, doc: YamlDocument, loc: Loc, out: ReadResult) -> SLI | None:
    if ind.expression is None:
        out.problems.append(doc.problem((*loc, "expression"), "query_sli needs expression"))
        return None
    expression = _squash(ind.expression)
    if not _RANGE.search(expression):
        out.problems.append(
            doc.problem(
                (*loc, "expression"),
                "query_sli needs a [window] range in its expression, where each window goes",
            )
        )
        return None
    out.warnings.append(
        doc.problem(
            (*loc, "expression"),
            "query_sli becomes a raw error ratio, 1 - (expression): sloctl cannot weight it "
            "by traffic (good_bad_ratio or distribution_cut can be)",
        )
    )
    query = f"1 - ({_windowed(expression)})"
    return attempt(lambda: SLI(raw=RawSLI(error_ratio_query=query)), doc, loc, out.problems)


@dataclass(frozen=True)
class _Parsed:
    """One SLO of either version, with where each setting is in its document."""

    labels: dict[str, str]  # service_name, feature_name, slo_name and the others
    label_loc: Callable[[str], Loc]  # where one label is
    other_labels_loc: Loc  # where the other labels are (their errors point there)
    description: str
    goal: float
    goal_loc: Loc
    backend: str
    backend_loc: Loc
    method: str
    method_loc: Loc
    indicator: dict[str, Any]
    indicator_loc: Loc
    policy: str | None  # None: none named (v1 never names one)
    policy_loc: Loc
    v1: bool = False


def _parse_v2(doc: YamlDocument, out: ReadResult) -> _Parsed | None:
    parsed = attempt(lambda: ServiceLevelObjective.model_validate(doc.data), doc, (), out.problems)
    if parsed is None:
        return None
    spec = parsed.spec
    return _Parsed(
        labels=dict(parsed.metadata.labels),
        label_loc=lambda name: ("metadata", "labels", name),
        other_labels_loc=("metadata", "labels"),
        description=spec.description,
        goal=spec.goal,
        goal_loc=("spec", "goal"),
        backend=spec.backend,
        backend_loc=("spec", "backend"),
        method=spec.method,
        method_loc=("spec", "method"),
        indicator=spec.service_level_indicator,
        indicator_loc=("spec", "service_level_indicator"),
        policy=spec.error_budget_policy,
        policy_loc=("spec", "error_budget_policy"),
    )


def _parse_v1(doc: YamlDocument, out: ReadResult) -> _Parsed | None:
    parsed = attempt(lambda: SloConfigV1.model_validate(doc.data), doc, (), out.problems)
    if parsed is None:
        return None
    labels = {"service_name": parsed.service_name, "slo_name": parsed.slo_name}
    if parsed.feature_name:
        labels["feature_name"] = parsed.feature_name
    for key, value in (parsed.model_extra or {}).items():
        # as slo-generator's migration: other keys are labels, written as YAML writes them
        if isinstance(value, bool):
            labels[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            labels[key] = str(value)
        else:
            out.problems.append(doc.problem((key,), "not a label value: a string or number"))
            return None
    backend = parsed.backend
    return _Parsed(
        labels=labels,
        label_loc=lambda name: (name,),
        other_labels_loc=(),
        description=parsed.slo_description,
        goal=parsed.slo_target,
        goal_loc=("slo_target",),
        # v1 names the backend by class: Prometheus (v2's prometheus)
        backend=backend.class_name.lower(),
        backend_loc=("backend", "class"),
        method=backend.method,
        method_loc=("backend", "method"),
        indicator=backend.measurement,
        indicator_loc=("backend", "measurement"),
        policy=None,
        policy_loc=("slo_name",),
        v1=True,
    )


def _sli(slo: _Parsed, doc: YamlDocument, out: ReadResult) -> SLI | None:
    loc = slo.indicator_loc
    ind = attempt(lambda: Indicator.model_validate(slo.indicator), doc, loc, out.problems)
    if ind is None:
        return None
    if slo.method == "good_bad_ratio":
        return _good_bad_ratio(ind, doc, loc, out.problems, out.warnings)
    if slo.method == "distribution_cut":
        return _distribution_cut(ind, doc, loc, out.problems)
    if slo.method == "query_sli":
        return _query_sli(ind, doc, loc, out)
    out.problems.append(
        doc.problem(
            slo.method_loc,
            f"method {slo.method!r}: the prometheus backend has good_bad_ratio, "
            "distribution_cut and query_sli",
        )
    )
    return None


@dataclass(frozen=True)
class _Policy:
    steps: list[Step]
    doc: YamlDocument
    loc: Loc  # of the steps
    window_field: str = "window"  # v1: measurement_window_seconds
    alert_field: str = "alert"  # v1: urgent_notification


def _policy_name(path: str) -> str:
    """A v1 policy file's name as slo-generator's migration names it."""
    stem = Path(path).stem
    if stem == "error_budget_policy":
        return DEFAULT_POLICY
    return stem.removeprefix("error_budget_policy_")


Policies = dict[Path, dict[str, _Policy]]


def _policies(docs: Sequence[YamlDocument], out: ReadResult) -> Policies:
    """The error budget policies of the configurations and v1 policy files read, by directory.

    Each directory is one slo-generator setup (SLOs beside their ``config.yaml``),
    so a name may be defined once per directory.
    """
    by_dir: Policies = {}

    def add(name: str, policy: _Policy) -> None:
        found = by_dir.setdefault(Path(policy.doc.path).resolve().parent, {})
        if name in found:
            out.problems.append(
                policy.doc.problem(
                    policy.loc, f"policy {name!r} is also defined in {found[name].doc.path}"
                )
            )
            return
        found[name] = policy
        alerting = [i for i, step in enumerate(policy.steps) if step.alert]
        if alerting:
            out.warnings.append(
                policy.doc.problem(
                    (*policy.loc, alerting[0], policy.alert_field),
                    "alerting steps are not carried over: sloctl pages and opens tickets "
                    "on multi-window burn rates (docs/rules.md)",
                )
            )

    for doc in docs:
        if _is_policy_v1(doc.data):
            steps = attempt(partial(PolicyV1.validate_python, doc.data), doc, (), out.problems)
            if steps is None:
                continue
            v1 = _Policy(
                list(steps),
                doc,
                (),
                window_field="measurement_window_seconds",
                alert_field="urgent_notification",
            )
            add(_policy_name(doc.path), v1)
            continue
        if not _is_config(doc.data):
            continue
        config = attempt(partial(SharedConfig.model_validate, doc.data), doc, (), out.problems)
        if config is None:
            continue
        for name, policy in config.error_budget_policies.items():
            add(name, _Policy(policy.steps, doc, ("error_budget_policies", name, "steps")))
    return by_dir


@dataclass(frozen=True)
class _Scope:
    """The policies one SLO sees, and where they come from (for messages)."""

    policies: dict[str, _Policy | None]  # None: defined in several directories
    where: str


def _in_scope(doc: YamlDocument, by_dir: Policies) -> _Scope:
    """The policies an SLO sees: its own directory's, else the nearest parent's, else all.

    With no directory of its own, the SLO sees every directory's policies; a
    name that two directories define maps to None, since which one was
    meant cannot be told.
    """
    here = Path(doc.path).resolve().parent
    for directory in (here, *here.parents):
        if directory in by_dir:
            files = sorted({p.doc.path for p in by_dir[directory].values()})
            where = f"the policy files beside this SLO ({', '.join(files)})"
            return _Scope(dict(by_dir[directory]), where)
    seen: dict[str, _Policy | None] = {}
    for policies in by_dir.values():
        for name, policy in policies.items():
            seen[name] = None if name in seen else policy
    return _Scope(seen, "the files read")


def _window(slo: _Parsed, doc: YamlDocument, scope: _Scope, out: ReadResult) -> Window | None:
    policies = scope.policies
    if not policies:
        if slo.policy is not None:
            out.warnings.append(
                doc.problem(
                    slo.policy_loc,
                    f"no configuration with policy {slo.policy!r} among the files read: "
                    f"the window is {DEFAULT_WINDOW} (give slo-generator's config.yaml too)",
                )
            )
        return Window(rolling=DEFAULT_WINDOW)
    name = slo.policy or DEFAULT_POLICY
    if slo.v1 and len(policies) == 1:  # a v1 run gives its SLOs one policy file
        name = next(iter(policies))
    if name not in policies:
        have = ", ".join(sorted(policies))
        message = (
            f"a v1 SLO uses policy 'default' (error_budget_policy.yaml); {scope.where} "
            f"define {have}"
            if slo.v1
            else f"no error budget policy {name!r} in {scope.where}: they define {have}"
        )
        out.problems.append(doc.problem(slo.policy_loc, message))
        return None
    policy = policies[name]
    if policy is None:
        out.problems.append(
            doc.problem(
                slo.policy_loc,
                f"policy {name!r} is defined in several directories read: put the "
                "configuration beside the SLOs (or in a parent directory of them)",
            )
        )
        return None
    index, longest = max(enumerate(policy.steps), key=lambda pair: pair[1].window)
    if longest.window % DAY:
        out.problems.append(
            policy.doc.problem(
                (*policy.loc, index, policy.window_field),
                f"{longest.window} s: sloctl's rolling window is a whole number of days "
                "(the longest step sets it)",
            )
        )
        return None
    return Window(rolling=format_duration(longest.window))


def _read_slo(slo: _Parsed, doc: YamlDocument, scope: _Scope, out: ReadResult) -> None:
    problems = out.problems
    if slo.backend.split("/", 1)[0] != "prometheus":
        problems.append(
            doc.problem(
                slo.backend_loc,
                f"backend {slo.backend!r}: sloctl compiles SLOs on the prometheus backend only",
            )
        )
        return
    labels = dict(slo.labels)
    service = labels.pop("service_name", None)
    slo_name = labels.pop("slo_name", None)
    feature = labels.pop("feature_name", None)
    if not service or not slo_name:
        missing = "service_name" if not service else "slo_name"
        problems.append(
            doc.problem(
                slo.other_labels_loc or (missing,),
                f"{missing} is required: it names the SLO's service and SLO",
            )
        )
        return
    team = labels.pop("team", None)  # the SLO's team, as Pyrra's pyrra.dev/team
    parts = [("feature_name", feature)] if feature else []
    for label, part in [("service_name", service), *parts, ("slo_name", slo_name)]:
        if attempt(partial(check_name, part), doc, slo.label_loc(label), problems) is None:
            return
    labels = keep_severity(labels, doc, slo.other_labels_loc, out.warnings, "slo-generator")
    name = f"{feature}-{slo_name}" if feature else slo_name
    if not 0 < slo.goal < 1:
        problems.append(
            doc.problem(
                slo.goal_loc, f"{slo.goal:g}: goal is a fraction above 0 and below 1, e.g. 0.999"
            )
        )
        return
    sli = _sli(slo, doc, out)
    window = _window(slo, doc, scope, out)
    if sli is None or window is None:
        return
    built = attempt(
        lambda: SLO(
            service=service,
            name=name,
            description=slo.description,
            team=team,
            objective=percent(slo.goal),
            window=window,
            sli=sli,
            labels=labels,
            source=f"{doc.path}:{doc.line}",
        ),
        doc,
        (),
        problems,
        rename={
            "service": slo.label_loc("service_name"),
            "name": slo.label_loc("slo_name"),
            "objective": slo.goal_loc,
            "labels": slo.other_labels_loc,
        },
    )
    if built is not None:
        fields: tuple[tuple[Loc, Loc], ...] = (
            (("objective",), slo.goal_loc),
            (("alerting",), slo.goal_loc),
        )
        out.slos.append((built, Origin(doc, (), fields)))


def read(docs: Sequence[YamlDocument]) -> ReadResult:
    """Read slo-generator SLOs, with the windows from the policies among ``docs``."""
    out = ReadResult()
    by_dir = _policies(docs, out)
    scopes: dict[str, _Scope] = {}  # by file: a file of many SLOs sees one set of policies
    for doc in docs:
        if _is_config(doc.data) or _is_policy_v1(doc.data):
            continue
        parsed = _parse_v2(doc, out) if _is_v2(doc.data) else _parse_v1(doc, out)
        if parsed is not None:
            if doc.path not in scopes:
                scopes[doc.path] = _in_scope(doc, by_dir)
            _read_slo(parsed, doc, scopes[doc.path], out)
    return out


READER = Reader("slo-generator", claims, read)
