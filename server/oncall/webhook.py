"""Alertmanager's webhook payload, version 4 (Alertmanager 0.25 and newer).

The schema is Alertmanager's ``notify/webhook`` ``Message`` with the
template's ``Data`` and ``Alert``. Unknown fields are ignored (newer
Alertmanagers and proxies add some), label and annotation maps may be
``null``, and timestamps carry nanoseconds, which are truncated to
microseconds. Go's zero time (``0001-01-01T00:00:00Z``), sent as ``endsAt``
of firing alerts, reads as ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from server.errors import ErrorDetail, InvalidRequestError, error_message, field_path
from sloctl.oncall.schedule import aware

AlertStatus = Literal["firing", "resolved"]

#: Go's zero ``time.Time``; anything before year 2 is "not set".
_ZERO_YEAR = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


def _null_is(empty: Callable[[], Any]) -> BeforeValidator:
    """Reads ``null`` as ``empty()``: Alertmanager sends null maps and URLs."""
    return BeforeValidator(lambda value: empty() if value is None else value)


#: A label or annotation map; ``null`` is the empty map.
Labels = Annotated[dict[str, str], _null_is(dict)]
#: A URL Alertmanager may leave ``null``.
URL = Annotated[str, _null_is(str)]


class WebhookAlert(_Model):
    """One alert of a group, as Alertmanager last saw it."""

    status: AlertStatus
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: URL = Field("", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=64)

    @field_validator("starts_at")
    @classmethod
    def _starts(cls, value: datetime) -> datetime:
        if value.year <= _ZERO_YEAR:
            raise ValueError("startsAt is the zero time; Alertmanager always sets it")
        # Go always writes a zone; a time without one is read as UTC rather than refused.
        return aware(value)

    @field_validator("ends_at")
    @classmethod
    def _ends(cls, value: datetime | None) -> datetime | None:
        if value is None or value.year <= _ZERO_YEAR:
            return None
        return aware(value)


class AlertmanagerPayload(_Model):
    """The body of one webhook notification: a group of alerts for one receiver."""

    version: Literal["4"]
    receiver: str = Field(min_length=1, max_length=255)
    status: AlertStatus
    group_key: str = Field(alias="groupKey", min_length=1)
    alerts: tuple[WebhookAlert, ...]
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: URL = Field("", alias="externalURL")
    truncated_alerts: int = Field(0, ge=0, alias="truncatedAlerts")

    @field_validator("alerts")
    @classmethod
    def _fingerprints(cls, value: tuple[WebhookAlert, ...]) -> tuple[WebhookAlert, ...]:
        seen: set[str] = set()
        for alert in value:
            if alert.fingerprint in seen:
                raise ValueError(f"fingerprint {alert.fingerprint!r} appears twice in one group")
            seen.add(alert.fingerprint)
        return value

    def labels(self) -> dict[str, str]:
        """What the whole group shares: group labels and common labels."""
        return {**self.common_labels, **self.group_labels}


def parse_payload(body: bytes) -> AlertmanagerPayload:
    """Validate a webhook body.

    Raises:
        InvalidRequestError: not JSON, or not the shape of a version 4 payload; the
            details name each field at fault (``alerts[0].startsAt``).
    """
    try:
        return AlertmanagerPayload.model_validate_json(body)
    except ValidationError as err:
        details = [
            ErrorDetail(field_path(error["loc"]), _message(error)) for error in err.errors()[:20]
        ]
        first = details[0] if details else ErrorDetail("body", "invalid")
        raise InvalidRequestError(
            f"not an Alertmanager webhook payload (version 4): {first.field}: {first.message}",
            details,
        ) from err


def _message(error: Mapping[str, Any]) -> str:
    """The API's wording, but naming the JSON error (the API's handler says only that it is one)."""
    if error.get("type") == "json_invalid":
        return f"not valid JSON: {error.get('ctx', {}).get('error', 'invalid')}"
    return error_message(error)
