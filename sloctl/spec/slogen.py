"""Google slo-generator ``sre.google.com/v2`` ``ServiceLevelObjective`` documents.

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
else ``default``). Without it the window is 28 days, the longest step of
slo-generator's sample policy. The steps' single-window burn-rate alerts are
not carried over: sloctl alerts on its multi-window pairs (docs/formats.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sloctl.errors import SpecProblem
from sloctl.promql import parse_selector
from sloctl.spec.conventions import ObjectMeta, attempt, percent
from sloctl.spec.errors import validation_problems
from sloctl.spec.models import (
    SLI,
    SLO,
    WINDOW_PLACEHOLDER,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    RawSLI,
    Window,
)
from sloctl.spec.reader import Origin, Reader, ReadResult
from sloctl.spec.yamlsrc import Loc, YamlDocument

API_VERSION = "sre.google.com/v2"
KIND = "ServiceLevelObjective"
#: The policy an SLO uses when it names none, as in slo-generator.
DEFAULT_POLICY = "default"
#: The window without a configuration: the longest step of slo-generator's sample policy.
DEFAULT_WINDOW = "28d"
#: slo-generator's own operators for good_bad_ratio filters, innermost first.
DEFAULT_OPERATORS = ("increase", "sum")
_DAY = 86400
_RANGE = re.compile(r"\[window")
_TRAILING_RANGE = re.compile(r"\[window[^\]]*\]$")
_OPERATOR = re.compile(r"^[a-z_]+$")


class _SloGen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Indicator(_SloGen):
    """``service_level_indicator`` of the prometheus backend: what each of its methods reads."""

    filter_good: str | None = None
    filter_bad: str | None = None
    filter_valid: str | None = None
    operators: list[str] | None = None
    expression: str | None = None
    threshold_bucket: float | str | None = None


class Spec(_SloGen):
    description: str = ""
    backend: str
    method: str
    exporters: list[str] = Field(default_factory=list)
    service_level_indicator: dict[str, Any]
    goal: float
    error_budget_policy: str = DEFAULT_POLICY

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


class Step(BaseModel):
    """One step of an error budget policy: a window (seconds) and its burn-rate threshold."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = ""
    window: int = Field(gt=0)
    burn_rate_threshold: float | None = None
    alert: bool = False


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    steps: list[Step] = Field(min_length=1)


class SharedConfig(BaseModel):
    """slo-generator's shared configuration: only its error budget policies matter here."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    error_budget_policies: dict[str, Policy] = Field(default_factory=dict)


def _is_config(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and "apiVersion" not in data
        and "kind" not in data
        and "error_budget_policies" in data
    )


def claims(doc: YamlDocument) -> bool:
    if _is_config(doc.data):
        return True
    return isinstance(doc.data, dict) and doc.data.get("apiVersion") == API_VERSION


def _windowed(query: str) -> str:
    """slo-generator's ``[window`` placeholder as sloctl's, or the range appended as it does."""
    query = " ".join(query.split())
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
        return parse_selector(" ".join(text.split())).render()
    except ValueError:
        return None


def _good_bad_ratio(
    ind: Indicator, doc: YamlDocument, loc: Loc, problems: list[SpecProblem]
) -> SLI | None:
    if ind.filter_good is None:
        problems.append(doc.problem((*loc, "filter_good"), "good_bad_ratio needs filter_good"))
        return None
    if (ind.filter_bad is None) == (ind.filter_valid is None):
        problems.append(doc.problem(loc, "good_bad_ratio needs one of filter_bad and filter_valid"))
        return None
    operators = tuple(ind.operators) if ind.operators is not None else DEFAULT_OPERATORS
    for i, operator in enumerate(operators):
        if not _OPERATOR.match(operator):
            problems.append(
                doc.problem((*loc, "operators", i), f"{operator!r} is not a PromQL function name")
            )
            return None
    good = _plain_selector(ind.filter_good)
    valid = _plain_selector(ind.filter_valid) if ind.filter_valid is not None else None
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


def _distribution_cut(
    ind: Indicator, doc: YamlDocument, loc: Loc, problems: list[SpecProblem]
) -> SLI | None:
    if ind.expression is None or ind.threshold_bucket is None:
        missing = "expression" if ind.expression is None else "threshold_bucket"
        problems.append(doc.problem((*loc, missing), f"distribution_cut needs {missing}"))
        return None
    text = _TRAILING_RANGE.sub("", " ".join(ind.expression.split())).strip()
    bucket = _plain_selector(text)
    selector = parse_selector(bucket) if bucket is not None else None
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
    try:
        threshold = float(ind.threshold_bucket)
    except ValueError:
        problems.append(
            doc.problem(
                (*loc, "threshold_bucket"),
                f"{ind.threshold_bucket!r} is not a bucket boundary in seconds",
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
    expression = " ".join(ind.expression.split())
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


def _sli(spec: Spec, doc: YamlDocument, out: ReadResult) -> SLI | None:
    loc: Loc = ("spec", "service_level_indicator")
    try:
        ind = Indicator.model_validate(spec.service_level_indicator)
    except ValidationError as err:
        out.problems.extend(validation_problems(doc, err, loc))
        return None
    if spec.method == "good_bad_ratio":
        return _good_bad_ratio(ind, doc, loc, out.problems)
    if spec.method == "distribution_cut":
        return _distribution_cut(ind, doc, loc, out.problems)
    if spec.method == "query_sli":
        return _query_sli(ind, doc, loc, out)
    out.problems.append(
        doc.problem(
            ("spec", "method"),
            f"method {spec.method!r}: the prometheus backend has good_bad_ratio, "
            "distribution_cut and query_sli",
        )
    )
    return None


def _policies(
    docs: Sequence[YamlDocument], out: ReadResult
) -> dict[str, tuple[Policy, Loc, YamlDocument]]:
    """Every error budget policy of the configurations read, with where it is."""
    found: dict[str, tuple[Policy, Loc, YamlDocument]] = {}
    for doc in docs:
        if not _is_config(doc.data):
            continue
        try:
            config = SharedConfig.model_validate(doc.data)
        except ValidationError as err:
            out.problems.extend(validation_problems(doc, err))
            continue
        for name, policy in config.error_budget_policies.items():
            loc: Loc = ("error_budget_policies", name)
            if name in found:
                out.problems.append(
                    doc.problem(loc, f"policy {name!r} is also defined in {found[name][2].path}")
                )
                continue
            found[name] = (policy, loc, doc)
            if any(step.alert for step in policy.steps):
                out.warnings.append(
                    doc.problem(
                        (*loc, "steps"),
                        "alerting steps are not carried over: sloctl pages and opens tickets "
                        "on multi-window burn rates (docs/rules.md)",
                    )
                )
    return found


def _window(
    spec: Spec,
    doc: YamlDocument,
    policies: dict[str, tuple[Policy, Loc, YamlDocument]],
    out: ReadResult,
) -> Window | None:
    if not policies:
        return Window(rolling=DEFAULT_WINDOW)
    if spec.error_budget_policy not in policies:
        out.problems.append(
            doc.problem(
                ("spec", "error_budget_policy"),
                f"no error budget policy {spec.error_budget_policy!r} in the configuration "
                f"read (it has {', '.join(sorted(policies))})",
            )
        )
        return None
    policy, loc, where = policies[spec.error_budget_policy]
    index, longest = max(enumerate(policy.steps), key=lambda pair: pair[1].window)
    if longest.window % _DAY:
        out.problems.append(
            where.problem(
                (*loc, "steps", index, "window"),
                f"{longest.window} s: sloctl's rolling window is a whole number of days "
                "(the longest step sets it)",
            )
        )
        return None
    return Window(rolling=f"{longest.window // _DAY}d")


def _read_doc(
    doc: YamlDocument,
    policies: dict[str, tuple[Policy, Loc, YamlDocument]],
    out: ReadResult,
) -> None:
    try:
        parsed = ServiceLevelObjective.model_validate(doc.data)
    except ValidationError as err:
        out.problems.extend(validation_problems(doc, err))
        return
    meta, spec = parsed.metadata, parsed.spec
    problems = out.problems
    if spec.backend.split("/", 1)[0] != "prometheus":
        problems.append(
            doc.problem(
                ("spec", "backend"),
                f"backend {spec.backend!r}: sloctl compiles SLOs on the prometheus backend only",
            )
        )
        return
    labels = dict(meta.labels)
    label_loc: Loc = ("metadata", "labels")
    service = labels.pop("service_name", None)
    slo_name = labels.pop("slo_name", None)
    feature = labels.pop("feature_name", None)
    if not service or not slo_name:
        missing = "service_name" if not service else "slo_name"
        problems.append(
            doc.problem(label_loc, f"{missing} is required: it names the SLO's service and SLO")
        )
        return
    name = f"{feature}-{slo_name}" if feature else slo_name
    if not 0 < spec.goal < 1:
        problems.append(
            doc.problem(
                ("spec", "goal"),
                f"{spec.goal:g}: goal is a fraction above 0 and below 1, e.g. 0.999",
            )
        )
        return
    sli = _sli(spec, doc, out)
    window = _window(spec, doc, policies, out)
    if sli is None or window is None:
        return
    slo = attempt(
        lambda: SLO(
            service=service,
            name=name,
            description=spec.description,
            objective=percent(spec.goal),
            window=window,
            sli=sli,
            labels=labels,
            source=f"{doc.path}:{doc.line}",
        ),
        doc,
        (),
        problems,
        rename={
            "service": (*label_loc, "service_name"),
            "name": (*label_loc, "slo_name"),
            "objective": ("spec", "goal"),
            "labels": label_loc,
        },
    )
    if slo is not None:
        fields: tuple[tuple[Loc, Loc], ...] = (
            (("objective",), ("spec", "goal")),
            (("alerting",), ("spec", "goal")),
        )
        out.slos.append((slo, Origin(doc, (), fields)))


def read(docs: Sequence[YamlDocument]) -> ReadResult:
    """Read slo-generator SLOs, with the window from the configurations among ``docs``."""
    out = ReadResult()
    policies = _policies(docs, out)
    for doc in docs:
        if not _is_config(doc.data):
            _read_doc(doc, policies, out)
    return out


READER = Reader("slo-generator", claims, read)
