"""Typed SLO models: what every spec format is read into.

:class:`SLO` is the one model the compilers, the server and the API share; the
readers of the native format, OpenSLO, Sloth, Pyrra and slo-generator all produce it. Models
are frozen and forbid unknown fields; YAML keys are camelCase aliases of the
snake_case attributes.
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from sloctl.durations import DAY, format_duration, parse_duration
from sloctl.promql import LABEL_NAME_RE, Selector, parse_selector

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ALERT_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
WINDOW_PLACEHOLDER = "{{window}}"

#: Labels sloctl sets itself; a spec may not use them as its own labels.
RESERVED_LABELS = frozenset(
    {"slo", "service", "severity", "alertname", "objective", "window", "sli_kind", "le"}
)

Severity = Literal["page", "ticket"]
SLIKind = Literal["events", "ratio", "latency", "bool_gauge", "raw"]


def _stringify(value: Any) -> Any:
    """YAML turns ``tier: 1`` into an int; label values are strings."""
    if isinstance(value, dict):
        return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
    return value


StrMap = Annotated[dict[str, str], BeforeValidator(_stringify)]


class Model(BaseModel):
    """Base of every spec model: frozen, strict about unknown keys, camelCase in YAML."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )


def check_label_names(labels: dict[str, str], what: str = "label") -> dict[str, str]:
    for name in labels:
        if not LABEL_NAME_RE.match(name) or name.startswith("__"):
            raise ValueError(f"{name!r} is not a valid Prometheus {what} name")
        if name in RESERVED_LABELS:
            raise ValueError(f"{what} {name!r} is set by sloctl and cannot be set in a spec")
    return labels


def _selector(text: str) -> str:
    try:
        parse_selector(text)
    except ValueError as err:
        raise ValueError(f"{text!r} is not a series selector: {err}") from err
    return text


def _window_query(text: str) -> str:
    if WINDOW_PLACEHOLDER not in text:
        raise ValueError(
            f"query must contain the {WINDOW_PLACEHOLDER} placeholder where the range goes, "
            f"e.g. rate(http_requests_total[{WINDOW_PLACEHOLDER}])"
        )
    return text


def check_alert_name(value: str) -> str:
    if not ALERT_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid alert name")
    return value


def check_objective(value: float) -> float:
    if not 0 < value < 100:
        raise ValueError("objective is a percentage above 0 and below 100, e.g. 99.9")
    return value


def check_group_by(value: tuple[str, ...]) -> tuple[str, ...]:
    check_label_names(dict.fromkeys(value, ""), "groupBy label")
    if len(set(value)) != len(value):
        raise ValueError("groupBy lists a label twice")
    return value


def check_name(value: str) -> str:
    if not NAME_RE.match(value) or len(value) > 63:
        raise ValueError(
            f"{value!r} must be lowercase letters, digits and '-', start and end with a "
            "letter or digit, at most 63 characters"
        )
    return value


def _duration_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}s"
    return value


def _check_duration(value: str, allow_zero: bool = True) -> str:
    if allow_zero and value.strip() in ("0", "0s", "0m"):
        return "0s"
    parse_duration(value)
    return value


def _enabled_shorthand(data: Any) -> Any:
    return {"enabled": data} if isinstance(data, bool) else data


# Field types that carry their own validation, shared by every model that has the field.
Name = Annotated[str, AfterValidator(check_name)]
AlertName = Annotated[str, AfterValidator(check_alert_name)]
Objective = Annotated[float, AfterValidator(check_objective)]
Labels = Annotated[dict[str, str], BeforeValidator(_stringify), AfterValidator(check_label_names)]
GroupBy = Annotated[tuple[str, ...], AfterValidator(check_group_by)]
SelectorText = Annotated[str, AfterValidator(_selector)]
WindowQuery = Annotated[str, AfterValidator(_window_query)]
ForDuration = Annotated[str, BeforeValidator(_duration_text), AfterValidator(_check_duration)]


# --------------------------------------------------------------------- SLIs


class EventsSLI(Model):
    """Good or bad events over all events, as queries with a ``{{window}}`` range."""

    error_query: str | None = None
    good_query: str | None = None
    total_query: str

    @model_validator(mode="after")
    def _one_of(self) -> EventsSLI:
        if (self.error_query is None) == (self.good_query is None):
            raise ValueError("set exactly one of errorQuery and goodQuery")
        for query in (self.error_query, self.good_query, self.total_query):
            if query is not None:
                _window_query(query)
        return self


class RatioSLI(Model):
    """Good or bad events over all events, as counter selectors sloctl wraps in ``rate()``."""

    errors: SelectorText | None = None
    good: SelectorText | None = None
    total: SelectorText

    @model_validator(mode="after")
    def _one_of(self) -> RatioSLI:
        if (self.errors is None) == (self.good is None):
            raise ValueError("set exactly one of errors and good")
        return self


class LatencySLI(Model):
    """Requests faster than a threshold, from a Prometheus histogram."""

    metric: str = Field(description="histogram name with an optional selector, without _bucket")
    threshold: float = Field(gt=0, description="seconds")
    native: bool = False

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        selector = parse_selector(_selector(value))
        for suffix in ("_bucket", "_count", "_sum"):
            if selector.name.endswith(suffix):
                raise ValueError(
                    f"name the histogram itself ({selector.name.removesuffix(suffix)}), "
                    f"not its {suffix} series"
                )
        if not selector.name:
            raise ValueError("the histogram needs a metric name")
        if selector.label_matchers("le"):
            raise ValueError("do not match le: sloctl selects the bucket from the threshold")
        return value

    @property
    def selector(self) -> Selector:
        return parse_selector(self.metric)


class BoolGaugeSLI(Model):
    """A gauge that is 1 when good and 0 when bad (``probe_success``); each sample is an event."""

    metric: SelectorText


class RawSLI(Model):
    """A query that already returns the error ratio over ``{{window}}``."""

    error_ratio_query: WindowQuery


class SLI(Model):
    """Exactly one kind of service level indicator."""

    events: EventsSLI | None = None
    ratio: RatioSLI | None = None
    latency: LatencySLI | None = None
    bool_gauge: BoolGaugeSLI | None = None
    raw: RawSLI | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SLI:
        chosen = [
            k for k in ("events", "ratio", "latency", "bool_gauge", "raw") if getattr(self, k)
        ]
        if len(chosen) != 1:
            raise ValueError("set exactly one of events, ratio, latency, boolGauge, raw")
        return self

    @property
    def kind(self) -> SLIKind:
        for kind in ("events", "ratio", "latency", "bool_gauge", "raw"):
            if getattr(self, kind) is not None:
                return kind
        raise AssertionError("unreachable: validated to have one kind")  # pragma: no cover


# ------------------------------------------------------------------ windows


class Window(Model):
    """A rolling window of whole days, or a calendar week or month in a time zone."""

    rolling: str | None = None
    calendar: Literal["week", "month"] | None = None
    time_zone: str = "UTC"

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"calendar": data} if data in ("week", "month") else {"rolling": data}
        return data

    @field_validator("rolling")
    @classmethod
    def _days(cls, value: str | None) -> str | None:
        if value is None:
            return None
        seconds = parse_duration(value)
        if seconds % DAY or seconds < DAY:
            raise ValueError(f"{value!r}: a rolling window is a whole number of days, e.g. 28d")
        return format_duration(seconds)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from err
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Window:
        if (self.rolling is None) == (self.calendar is None):
            raise ValueError("a window is either rolling (e.g. 30d) or calendar (week, month)")
        if self.rolling is not None and self.time_zone != "UTC":
            raise ValueError("timeZone applies to calendar windows only")
        return self

    @model_serializer
    def _dump(self) -> Any:
        if self.rolling is not None:
            return self.rolling
        if self.time_zone == "UTC":
            return self.calendar
        return {"calendar": self.calendar, "timeZone": self.time_zone}

    @property
    def seconds(self) -> int:
        """Length used for burn-rate maths: the rolling length, 7d for a week, 30d for a month."""
        if self.rolling is not None:
            return parse_duration(self.rolling)
        return 7 * DAY if self.calendar == "week" else 30 * DAY

    def __str__(self) -> str:
        if self.rolling is not None:
            return self.rolling
        return f"{self.calendar} ({self.time_zone})"


# ----------------------------------------------------------------- alerting


class SeverityAlert(Model):
    """Settings of the page or the ticket alert."""

    enabled: bool = True
    for_: ForDuration = Field("0s", alias="for")
    labels: Labels = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _enabled_shorthand(data)

    @property
    def for_seconds(self) -> int:
        return 0 if self.for_ == "0s" else parse_duration(self.for_)


class AbsentAlert(Model):
    """The alert raised when the SLI's series disappear."""

    enabled: bool = True
    name: AlertName = "SLOMetricAbsent"
    for_: ForDuration = Field("10m", alias="for")
    severity: Severity = "ticket"
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _enabled_shorthand(data)

    @property
    def for_seconds(self) -> int:
        return 0 if self.for_ == "0s" else parse_duration(self.for_)


class BurnWindowSpec(Model):
    """A custom multi-window burn-rate condition (replaces the defaults when given)."""

    severity: Severity
    long_window: str
    short_window: str
    budget_percent: float = Field(gt=0, le=100, description="share of the budget burned in long")

    @field_validator("long_window", "short_window")
    @classmethod
    def _durations(cls, value: str) -> str:
        return format_duration(parse_duration(value))

    @model_validator(mode="after")
    def _short_below_long(self) -> BurnWindowSpec:
        if parse_duration(self.short_window) >= parse_duration(self.long_window):
            raise ValueError("shortWindow must be shorter than longWindow")
        return self


class Alerting(Model):
    """Multi-window multi-burn-rate alerting for one SLO."""

    name: AlertName = "SLOErrorBudgetBurn"
    labels: Labels = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    runbook_url: str | None = None
    page: SeverityAlert = Field(default_factory=SeverityAlert)
    ticket: SeverityAlert = Field(default_factory=SeverityAlert)
    absent: AbsentAlert = Field(default_factory=AbsentAlert)
    windows: tuple[BurnWindowSpec, ...] | None = None

    @field_validator("windows")
    @classmethod
    def _windows(
        cls, value: tuple[BurnWindowSpec, ...] | None
    ) -> tuple[BurnWindowSpec, ...] | None:
        if value is not None and not value:
            raise ValueError("give at least one window, or leave windows out for the defaults")
        return value


class BudgetPolicy(Model):
    """What the remaining error budget means for the service."""

    warn_below: float = Field(25, ge=0, le=100, description="percent of budget remaining")
    freeze_at: float = Field(0, le=100, description="percent remaining at or below which to freeze")

    @model_validator(mode="after")
    def _order(self) -> BudgetPolicy:
        if self.freeze_at > self.warn_below:
            raise ValueError("freezeAt must not be above warnBelow")
        return self


# ----------------------------------------------------------------- evidence


class JaegerEvidence(Model):
    """Where the SLO's error traces are: a Jaeger service and, optionally, one operation."""

    service: str = Field(min_length=1)
    operation: str | None = Field(None, min_length=1)


class ElasticsearchEvidence(Model):
    """Where the SLO's error logs are: an index (pattern) and a Lucene query for the errors."""

    index: str = Field(min_length=1, description="index or pattern, e.g. logs-orders-*")
    query: str = Field(
        min_length=1, description="Lucene query, e.g. level:error AND service:orders"
    )


class Evidence(Model):
    """Traces and logs behind a burning budget; dashboards and the server show them."""

    jaeger: JaegerEvidence | None = None
    elasticsearch: ElasticsearchEvidence | None = None


# ---------------------------------------------------------------------- SLO


class SLO(Model):
    """One service level objective, whichever format it was written in."""

    service: Name
    name: Name
    description: str = ""
    team: str | None = None
    objective: Objective
    window: Window
    sli: SLI
    group_by: GroupBy = ()
    labels: Labels = Field(default_factory=dict)
    alerting: Alerting = Field(default_factory=Alerting)
    budget_policy: BudgetPolicy = Field(default_factory=BudgetPolicy)
    evidence: Evidence = Field(default_factory=Evidence)
    source: str | None = Field(None, description="where the SLO was read from (path:line)")

    @model_validator(mode="after")
    def _consistent(self) -> SLO:
        clash = set(self.group_by) & set(self.labels)
        if clash:
            raise ValueError(f"label {sorted(clash)[0]!r} is both a spec label and in groupBy")
        if self.team is not None and self.labels.get("team", self.team) != self.team:
            raise ValueError("labels.team differs from team")
        return self

    @property
    def id(self) -> str:
        """``<service>-<name>``: the value of the ``slo`` label."""
        return f"{self.service}-{self.name}"

    @property
    def target(self) -> float:
        """The objective as a fraction, exactly (99.9 gives 0.999, not 0.9990000000000001)."""
        return float(Decimal(repr(self.objective)) / 100)

    @property
    def error_budget(self) -> float:
        """The allowed error ratio, exactly (99.9 gives 0.001)."""
        return float(1 - Decimal(repr(self.objective)) / 100)

    @property
    def rule_labels(self) -> dict[str, str]:
        """Labels every generated series carries: slo, service, team and the spec's labels."""
        labels = {"slo": self.id, "service": self.service}
        if self.team:
            labels["team"] = self.team
        labels.update(self.labels)
        return dict(sorted(labels.items()))
