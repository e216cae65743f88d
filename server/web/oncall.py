"""The on-call pages: ``/oncall`` (who is on call, open incidents) and an incident's timeline.

Acknowledge and resolve are plain HTML forms posting to ``/oncall/incidents/{id}/ack``
and ``.../resolve``, so they work without JavaScript. A form carries the
server's API token, typed by the person (a password field, never rendered
back): it is the same credential as the API's bearer token, and a page of
another site cannot forge it. As a second guard, a request whose ``Origin``
header names another site is refused before the token is looked at.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response

from server.api.deps import ContextDep
from server.api.routes.oncall import OnCallPublic, who_is_on_call
from server.context import ServerContext
from server.errors import ConflictError, NotFoundError
from server.oncall import store
from server.oncall.schemas import incident_detail, incident_public
from server.store.db import transaction
from server.web.routes import not_found_page
from server.web.site import Site, SiteDep

router = APIRouter(include_in_schema=False)

ACTIONS = {"ack": "acknowledged", "resolve": "resolved"}
#: Form bodies larger than this are refused (a token and a name are a few hundred bytes).
MAX_FORM_BYTES = 8 * 1024


def _oncall_now(context: ServerContext) -> OnCallPublic | None:
    config = context.oncall_config.get()
    return who_is_on_call(config, context.now()) if config is not None else None


@router.get("/oncall")
def oncall_page(
    request: Request,
    context: ContextDep,
    site: SiteDep,
    done: Annotated[str | None, Query()] = None,
    incident: Annotated[int | None, Query()] = None,
) -> Response:
    """Who is on call now per team, and every incident not yet resolved."""
    with context.sessions() as session:
        rows = [
            incident_public(row)
            for status in ("firing", "acknowledged")
            for row in store.list_incidents(session, status=status, limit=200)
        ]
    rows.sort(key=lambda row: row.opened_at, reverse=True)
    notice = (
        f"Incident {incident} {ACTIONS[done]}."
        if done in ACTIONS and incident is not None
        else None
    )
    return site.render(
        request,
        "oncall.html",
        {"oncall": _oncall_now(context), "incidents": rows, "notice": notice, "error": None},
    )


@router.get("/oncall/incidents/{incident_id}")
def incident_page(
    incident_id: int,
    request: Request,
    context: ContextDep,
    site: SiteDep,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    """One incident: its alerts and its timeline, oldest first."""
    return _incident(request, context, site, incident_id, done=done)


def _incident(
    request: Request,
    context: ContextDep,
    site: Site,
    incident_id: int,
    *,
    done: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    with context.sessions() as session:
        try:
            row = store.get_incident(session, incident_id)
        except NotFoundError as err:
            return not_found_page(request, site, err.message)
        item = incident_detail(
            row, store.alerts_of(session, incident_id), store.events_of(session, incident_id)
        )
    return site.render(
        request,
        "incident.html",
        {
            "item": item,
            "notice": f"Incident {ACTIONS[done]}." if done in ACTIONS else None,
            "error": error,
        },
        status_code=status_code,
    )


def _same_origin(request: Request) -> bool:
    """False when the browser says the form came from another site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", request.url.netloc)


def _token_problem(context: ServerContext, given: str) -> str | None:
    token = context.settings.api_token
    if token is None or not token.get_secret_value():
        return "Writes are disabled on this server: set SLOCTL_SERVER_API_TOKEN to allow them."
    if not given or not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        return "That is not the server's API token."
    return None


@router.post("/oncall/incidents/{incident_id}/{action}")
async def incident_action(
    incident_id: int, action: str, request: Request, context: ContextDep, site: SiteDep
) -> Response:
    """Acknowledge or resolve from the page, then go back where the form was."""
    if action not in ACTIONS:
        return not_found_page(request, site, f"There is no action {action!r}.")
    body = await request.body()
    if not _same_origin(request):
        return _incident(
            request,
            context,
            site,
            incident_id,
            error="This form was sent from another site; nothing was changed.",
            status_code=403,
        )
    if len(body) > MAX_FORM_BYTES:
        return _incident(
            request, context, site, incident_id, error="The form is too large.", status_code=413
        )
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    problem = _token_problem(context, form.get("token", "").strip())
    by = form.get("by", "").strip()[:255]
    if problem is None and not by:
        problem = "Say who you are in the name field."
    if problem is not None:
        status = 403 if "disabled" in problem else 401 if "token" in problem else 422
        return _incident(request, context, site, incident_id, error=problem, status_code=status)
    try:
        with transaction(context.sessions) as session:
            before = store.lock_incident(session, incident_id).status
            if action == "ack":
                store.acknowledge(session, incident_id, by=by, now=context.now())
            else:
                store.resolve(session, incident_id, by=by, now=context.now())
    except NotFoundError as err:
        return not_found_page(request, site, err.message)
    except ConflictError as err:
        return _incident(request, context, site, incident_id, error=err.message, status_code=409)
    # The escalation hears of the change only once it is committed, as with the API.
    if action == "ack" and before == "firing":
        context.incident_listener.acknowledged(incident_id)
    elif action == "resolve" and before != "resolved":
        context.incident_listener.resolved(incident_id)
    back = (
        f"/oncall?done={action}&incident={incident_id}"
        if form.get("back") == "list"
        else f"/oncall/incidents/{incident_id}?done={action}"
    )
    return RedirectResponse(back, status_code=303)


def install(app: FastAPI, site: Site) -> None:
    """Serve the on-call pages (the navigation already links ``/oncall``)."""
    site.add_page("On-call", "/oncall")
    app.include_router(router)
