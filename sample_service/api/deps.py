"""FastAPI dependencies: the session factory, the fault switch, the admin check."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

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


async def get_sessions(state: StateDep) -> sessionmaker[Session]:
    """The session factory: an endpoint opens and closes its session in its own body.

    A sync generator dependency would run its start and its end in the
    thread pool, each a hop of its own besides the endpoint's, and keep the
    request's database connection checked out while it waits for a thread to
    close it; in the endpoint's body the session lives, and holds a
    connection, only while that one thread runs the request, so
    ``ORDERS_WORKER_THREADS`` also bounds the connections in use.
    """
    return state.sessions


SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]


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
