"""Dependencies the routes declare (the server context, a database session, write auth), and
what several routes share: the token checks, the write responses, a size-limited body."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic import SecretStr
from sqlalchemy.orm import Session

from server.context import ServerContext
from server.errors import PayloadTooLargeError, ServerError, UnauthorizedError, WritesDisabledError
from server.schemas import ErrorBody

#: The answers every route that needs the API token documents.
WRITE_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    403: {"model": ErrorBody, "description": "no API token configured: writes refused"},
}


def get_context(request: Request) -> ServerContext:
    context = request.app.state.context
    assert isinstance(context, ServerContext)
    return context


ContextDep = Annotated[ServerContext, Depends(get_context)]


def get_db(context: ContextDep) -> Iterator[Session]:
    with context.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def secret_bytes(secret: SecretStr | None) -> bytes | None:
    """A configured token, or None when it is unset or empty: the caller refuses, never opens."""
    if secret is None or not secret.get_secret_value():
        return None
    return secret.get_secret_value().encode()


def credentials(authorization: str | None) -> tuple[str, str]:
    """An ``Authorization`` header as (scheme in lower case, credentials without spaces around)."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower(), given.strip()


def same_secret(given: str | bytes, token: bytes) -> bool:
    """Whether ``given`` is ``token``, compared in constant time."""
    return hmac.compare_digest(given.encode() if isinstance(given, str) else given, token)


def api_token(context: ServerContext) -> bytes:
    """The server's API token.

    Raises:
        WritesDisabledError: none is configured, so writes are refused.
    """
    token = secret_bytes(context.settings.api_token)
    if token is None:
        raise WritesDisabledError(
            "writes are disabled on this server: set SLOCTL_SERVER_API_TOKEN to allow them"
        )
    return token


def check_api_token(context: ServerContext, given: str) -> None:
    """The API token as a person typed it (the on-call forms), checked as the bearer one is.

    Raises:
        WritesDisabledError: no API token is configured.
        UnauthorizedError: ``given`` is not the API token.
    """
    if not same_secret(given.strip(), api_token(context)):
        raise UnauthorizedError("the token is not the server's API token")


def require_api_token(
    context: ContextDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """Writes need ``Authorization: Bearer <SLOCTL_SERVER_API_TOKEN>``; without a token
    configured they are refused, never open."""
    token = api_token(context)
    scheme, given = credentials(authorization)
    if scheme != "bearer" or not given:
        raise UnauthorizedError("send the API token as Authorization: Bearer <token>")
    if not same_secret(given, token):
        raise UnauthorizedError("the bearer token is not the server's API token")


WriteAuth = Depends(require_api_token)

#: Makes the error for a body over ``limit`` bytes: (declared size or None, limit).
TooLarge = Callable[[int | None, int], ServerError]


def body_too_large(declared: int | None, limit: int) -> ServerError:
    """The plain 413: the declared size when the client sent one."""
    if declared is not None:
        return PayloadTooLargeError(f"the body has {declared} bytes; the limit is {limit}")
    return PayloadTooLargeError(f"the body is over the limit of {limit} bytes")


async def read_body(request: Request, limit: int, too_large: TooLarge = body_too_large) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before anything is
    read, and a stream is cut once past it, so a large body is never held whole.
    ``too_large`` words the error for the route: it gets the declared size, or
    None when the stream passed the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(None, limit)
        chunks.append(chunk)
    return b"".join(chunks)
