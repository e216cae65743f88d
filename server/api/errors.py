"""The one place errors become HTTP responses: ``{"error": {"code", "message", "details"}}``.

Domain errors (server/errors.py) carry their status and code; request
validation errors name the field at fault in the body's own terms
(``slos[0].objective``); unknown routes and methods keep the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.errors import ErrorDetail, ServerError, error_message, field_path


def error_response(
    status: int, code: str, message: str, details: Sequence[ErrorDetail] = ()
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={
            "error": {
                "code": code,
                "message": message,
                "details": [{"field": d.field, "message": d.message} for d in details],
            }
        },
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )


async def _server_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServerError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        ErrorDetail(field_path(error.get("loc", ())), error_message(error))
        for error in exc.errors()
    ]
    first = details[0] if details else ErrorDetail("body", "invalid")
    return error_response(422, "invalid_request", f"{first.field}: {first.message}", details)


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ServerError, _server_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
