"""Domain errors of the server and the HTTP status each one maps to.

Routes and services raise these; one exception handler (server/api/errors.py)
turns them into ``{"error": {"code", "message", "details"}}`` responses, so no
route builds an HTTP error itself::

    ServerError                        500 internal
    ├── NotFoundError                  404 not_found        an SLO id the registry does not know
    ├── InvalidRequestError            422 invalid_request  a parameter or body field is wrong
    ├── UnauthorizedError              401 unauthorized     missing or wrong bearer token
    ├── WritesDisabledError            403 writes_disabled  no token configured: writes refused
    ├── ConflictError                  409 conflict         the resource's state forbids it (ack a
    │                                                       resolved incident)
    ├── PayloadTooLargeError           413 payload_too_large  a body over the server's limit
    ├── PrometheusUnavailableError     503 prometheus_unavailable  a query failed or timed out
    └── EvidenceBackendError           502 evidence_backend_failed  Prometheus exemplars, Jaeger or
                                           Elasticsearch failed; the evidence endpoint reports it in
                                           its answer (a partial result) rather than as an error
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sloctl.spec.yamlsrc import format_loc


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with a request: the field at fault (``slos[0].objective``) and why."""

    field: str
    message: str


class ServerError(Exception):
    """Base of the server's domain errors."""

    status_code = 500
    code = "internal"

    def __init__(self, message: str, details: Sequence[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


class NotFoundError(ServerError):
    status_code = 404
    code = "not_found"


class InvalidRequestError(ServerError):
    status_code = 422
    code = "invalid_request"


class UnauthorizedError(ServerError):
    status_code = 401
    code = "unauthorized"


class WritesDisabledError(ServerError):
    status_code = 403
    code = "writes_disabled"


class ConflictError(ServerError):
    status_code = 409
    code = "conflict"


class PayloadTooLargeError(ServerError):
    status_code = 413
    code = "payload_too_large"


class PrometheusUnavailableError(ServerError):
    """A Prometheus query failed; carries the base URL and the reason."""

    status_code = 503
    code = "prometheus_unavailable"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Prometheus at {url} did not answer the query: {reason}")
        self.url = url
        self.reason = reason


class EvidenceBackendError(ServerError):
    """An evidence backend (exemplars, Jaeger, Elasticsearch) failed, timed out or answered
    something that is not its API's shape; carries the backend, its URL and the reason."""

    status_code = 502
    code = "evidence_backend_failed"

    def __init__(self, backend: str, url: str, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(f"{backend} at {url}: {reason}")
        self.backend = backend
        self.url = url
        self.reason = reason
        self.timed_out = timed_out


# Pydantic's validation errors as details, for the API and the webhook alike.
_LOCATIONS = ("body", "query", "path", "header")


def field_path(loc: Sequence[str | int]) -> str:
    """``("body", "slos", 0, "objective")`` -> ``slos[0].objective``."""
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS and len(parts) > 1:
        parts = parts[1:]
    return format_loc(parts) or "body"


def error_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message, without the ``Value error, `` a validator's ValueError gets."""
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
