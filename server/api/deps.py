"""Dependencies the routes declare: the server context, a database session, write auth."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from server.context import ServerContext
from server.errors import UnauthorizedError, WritesDisabledError


def get_context(request: Request) -> ServerContext:
    context = request.app.state.context
    assert isinstance(context, ServerContext)
    return context


ContextDep = Annotated[ServerContext, Depends(get_context)]


def get_db(context: ContextDep) -> Iterator[Session]:
    with context.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def require_api_token(
    context: ContextDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """Writes need ``Authorization: Bearer <SLOCTL_SERVER_API_TOKEN>``; without a token
    configured they are refused, never open."""
    token = context.settings.api_token
    if token is None or not token.get_secret_value():
        raise WritesDisabledError(
            "writes are disabled on this server: set SLOCTL_SERVER_API_TOKEN to allow them"
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise UnauthorizedError("send the API token as Authorization: Bearer <token>")
    if not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        raise UnauthorizedError("the bearer token is not the server's API token")


WriteAuth = Depends(require_api_token)
