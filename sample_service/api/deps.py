"""FastAPI dependencies: the request's session, the fault switch, the admin check."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from sample_service.db import session_scope
from sample_service.errors import AdminAuthError, AdminDisabledError, InjectedFaultError
from sample_service.faults import FaultSwitch
from sample_service.middleware import route_of
from sample_service.state import AppState

# Trivial dependencies are ``async`` so FastAPI calls them on the event loop
# instead of handing each to the thread pool.


async def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.orders
    return state


StateDep = Annotated[AppState, Depends(app_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    yield from session_scope(state.sessions)


SessionDep = Annotated[Session, Depends(get_session)]


async def get_faults(state: StateDep) -> FaultSwitch:
    return state.faults


FaultsDep = Annotated[FaultSwitch, Depends(get_faults)]


async def inject_faults(request: Request, faults: FaultsDep) -> None:
    """Delay or fail the request as the fault switch says for its route."""
    route = route_of(request.scope)
    decision = faults.decide(route)
    if decision.delay_s > 0:
        await asyncio.sleep(decision.delay_s)
    if decision.fail:
        raise InjectedFaultError(route)


async def require_admin(
    state: StateDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """The admin token must be configured and sent as ``Authorization: Bearer``."""
    token = state.settings.admin_token
    if not token:
        raise AdminDisabledError()
    scheme, _, sent = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.encode(), token.encode()):
        raise AdminAuthError()
