"""The one place where errors become HTTP answers of one shape.

``{"error": {"code", "message", "details": [{"field", "message"}]}}``; request
validation errors are 422 with the dotted name of each offending field
(``quantity``, ``query.limit``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from sample_service.errors import ServiceError
from sample_service.logs import LOGGER_NAME
from sample_service.schemas import ErrorBody, ErrorDetail, ErrorResponse


def error_response(
    status: int, code: str, message: str, details: Sequence[ErrorDetail] = ()
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=list(details)))
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "quantity")`` -> ``quantity``; query, path and header fields keep their place."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [ErrorDetail(field=field_name(e["loc"]), message=e["msg"]) for e in exc.errors()]
    fields = ", ".join(d.field for d in details)
    return error_response(422, "validation_error", f"invalid request: {fields}", details)


async def _service(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if exc.status_code >= 500:
        logging.getLogger(LOGGER_NAME).error("%s", exc, extra={"ecs": {"error.code": exc.code}})
    return error_response(exc.status_code, exc.code, str(exc))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ServiceError, _service)
