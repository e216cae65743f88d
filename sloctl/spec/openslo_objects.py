"""The OpenSLO v1 objects as frozen pydantic models, following the OpenSLO go-sdk.

The field names, the required fields and the ranges follow the go-sdk's
``pkg/openslo/v1`` types and validator; :mod:`sloctl.spec.openslo` reads them
into sloctl's SLOs. Unknown fields are errors, as everywhere in sloctl, except
in a metric source's ``spec`` (free-form in OpenSLO; checked by the reader).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from sloctl.durations import DAY
from sloctl.spec.conventions import percent
from sloctl.spec.models import Name, check_name

API_VERSION = "openslo/v1"
KINDS = (
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
    "DataSource",
    "Service",
)
_SHORTHAND = re.compile(r"^(\d+)([mhdwMQY])$")
_UNIT_SECONDS = {
    "m": 60,
    "h": 3600,
    "d": DAY,
    "w": 7 * DAY,
    "M": 30 * DAY,
    "Q": 90 * DAY,
    "Y": 365 * DAY,
}
_LABEL_KEY = re.compile(r"^[a-z0-9]([-._a-z0-9]{0,61}[a-z0-9])?$")

Operator = Literal["gt", "gte", "lt", "lte"]


def shorthand_seconds(text: str) -> int:
    """An OpenSLO duration shorthand (``5m``, ``4w``, ``1M`` = 30 days) in seconds."""
    match = _SHORTHAND.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration shorthand such as 5m, 1h, 28d, 4w or 1M")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class _O(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        """``alertPolicies:`` with nothing after it is YAML null: absent, as in the go-sdk."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


class Metadata(_O):
    name: Name
    display_name: str | None = Field(None, max_length=63)
    labels: dict[str, str | list[str]] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _label_keys(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for key in value:
            if not _LABEL_KEY.match(key):
                raise ValueError(f"label key {key!r} must be lowercase letters, digits, - . _")
        return value


def _dns_label(value: str | None) -> str | None:
    return None if value is None else check_name(value)


class MetricSource(_O):
    metric_source_ref: str | None = None
    type: str | None = None
    spec: dict[str, Any] = Field(min_length=1)

    @field_validator("metric_source_ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return _dns_label(value)


class MetricSpec(_O):
    metric_source: MetricSource


class RatioMetric(_O):
    counter: bool = False
    good: MetricSpec | None = None
    bad: MetricSpec | None = None
    total: MetricSpec | None = None
    raw_type: Literal["success", "failure"] | None = None
    raw: MetricSpec | None = None

    @model_validator(mode="after")
    def _shape(self) -> RatioMetric:
        if (self.total is None) == (self.raw is None):
            raise ValueError("set exactly one of total (with good or bad) and raw")
        if self.total is not None and (self.good is None) == (self.bad is None):
            raise ValueError("with total, set exactly one of good and bad")
        if self.raw is not None and (self.good is not None or self.bad is not None):
            raise ValueError("raw cannot be used with good or bad")
        if self.raw is not None and self.raw_type is None:
            raise ValueError("rawType (success or failure) is required with raw")
        return self


class SLISpec(_O):
    description: str = Field("", max_length=1050)
    threshold_metric: MetricSpec | None = None
    ratio_metric: RatioMetric | None = None

    @model_validator(mode="after")
    def _one(self) -> SLISpec:
        if (self.threshold_metric is None) == (self.ratio_metric is None):
            raise ValueError("set exactly one of thresholdMetric and ratioMetric")
        return self


class InlineSLI(_O):
    metadata: Metadata
    spec: SLISpec


class Objective(_O):
    display_name: str | None = None
    op: Operator | None = None
    value: float | None = None
    target: float | None = Field(None, ge=0, lt=1)
    target_percent: float | None = Field(None, ge=0, lt=100)
    time_slice_target: float | None = Field(None, gt=0, le=1)
    time_slice_window: int | str | None = None
    indicator: InlineSLI | None = None
    indicator_ref: str | None = None
    composite_weight: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _target(self) -> Objective:
        if (self.target is None) == (self.target_percent is None):
            raise ValueError("set exactly one of target and targetPercent")
        return self

    @property
    def composite(self) -> bool:
        return (
            self.indicator is not None
            or self.indicator_ref is not None
            or self.composite_weight is not None
        )

    @property
    def percent(self) -> float:
        if self.target_percent is not None:
            return self.target_percent
        assert self.target is not None
        return percent(self.target)


class Calendar(_O):
    start_time: str
    time_zone: str

    @field_validator("start_time", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> Any:
        """YAML reads an unquoted ``2022-01-01 12:00:00`` as a timestamp; it is the same text."""
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value

    @field_validator("start_time")
    @classmethod
    def _start(cls, value: str) -> str:
        try:
            datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError as err:
            raise ValueError(f"{value!r} is not a date and time like 2024-01-01 00:00:00") from err
        return value


class TimeWindow(_O):
    duration: str
    is_rolling: bool = False
    calendar: Calendar | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        shorthand_seconds(value)
        return value

    @model_validator(mode="after")
    def _kind(self) -> TimeWindow:
        if self.is_rolling and self.calendar is not None:
            raise ValueError("'calendar' cannot be set when 'isRolling' is true")
        if not self.is_rolling and self.calendar is None:
            raise ValueError("'calendar' must be set when 'isRolling' is false")
        return self


class BurnRate(_O):
    kind: Literal["burnrate"] = "burnrate"
    op: Operator
    threshold: float
    lookback_window: str
    alert_after: str | None = None

    @field_validator("lookback_window", "alert_after")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        if value is not None:
            shorthand_seconds(value)
        return value


class AlertConditionSpec(_O):
    description: str = Field("", max_length=1050)
    severity: str = Field(min_length=1)
    condition: BurnRate


class InlineCondition(_O):
    kind: Literal["AlertCondition"]
    metadata: Metadata
    spec: AlertConditionSpec


class ConditionRef(_O):
    condition_ref: Name


class NotificationTargetSpec(_O):
    description: str = Field("", max_length=1050)
    target: str = Field(min_length=1)


class InlineTarget(_O):
    kind: Literal["AlertNotificationTarget"]
    metadata: Metadata
    spec: NotificationTargetSpec


class TargetRef(_O):
    target_ref: Name


class AlertPolicySpec(_O):
    description: str = Field("", max_length=1050)
    alert_when_no_data: bool = False
    alert_when_breaching: bool = False
    alert_when_resolved: bool = False
    conditions: list[ConditionRef | InlineCondition] = Field(min_length=1, max_length=1)
    notification_targets: list[TargetRef | InlineTarget] = Field(min_length=1)


class InlinePolicy(_O):
    kind: Literal["AlertPolicy"]
    metadata: Metadata
    spec: AlertPolicySpec


class PolicyRef(_O):
    alert_policy_ref: Name


class SLOSpec(_O):
    description: str = Field("", max_length=1050)
    service: str
    indicator: InlineSLI | None = None
    indicator_ref: str | None = None
    budgeting_method: Literal["Occurrences", "Timeslices", "RatioTimeslices"]
    time_window: list[TimeWindow] = Field(min_length=1, max_length=1)
    objectives: list[Objective] = Field(min_length=1)
    alert_policies: list[PolicyRef | InlinePolicy] = Field(default_factory=list)

    @field_validator("indicator_ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return _dns_label(value)

    @model_validator(mode="after")
    def _indicator(self) -> SLOSpec:
        composite = any(o.composite for o in self.objectives)
        here = self.indicator is not None or self.indicator_ref is not None
        if self.indicator is not None and self.indicator_ref is not None:
            raise ValueError("set one of indicator and indicatorRef, not both")
        if not composite and not here:
            raise ValueError("set indicator or indicatorRef")
        if composite and here:
            raise ValueError(
                "indicator or indicatorRef go either on spec (standard SLOs) or on "
                "spec.objectives[*] (composite SLOs), not both"
            )
        return self


class DataSourceSpec(_O):
    description: str = Field("", max_length=1050)
    type: str = Field(min_length=1)
    connection_details: Any


class ServiceSpec(_O):
    description: str = Field("", max_length=1050)


S = TypeVar("S")


class Obj(_O, Generic[S]):
    """Any OpenSLO v1 object: the envelope and the kind's spec."""

    api_version: Literal["openslo/v1"]
    kind: str
    metadata: Metadata
    spec: S


SPECS: dict[str, type[BaseModel]] = {
    "SLO": SLOSpec,
    "SLI": SLISpec,
    "AlertPolicy": AlertPolicySpec,
    "AlertCondition": AlertConditionSpec,
    "AlertNotificationTarget": NotificationTargetSpec,
    "DataSource": DataSourceSpec,
    "Service": ServiceSpec,
}
