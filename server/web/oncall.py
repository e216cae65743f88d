"""The on-call pages: ``/oncall`` (who is on call, open incidents) and an incident's timeline.

Acknowledge and resolve are plain HTML forms posting to ``/oncall/incidents/{id}/ack``
and ``.../resolve``, so they work without JavaScript. A form carries the
server's API token, typed by the person (a password field, never rendered
back): it is the same credential as the API's bearer token, and a page of
another site cannot forge it. As a second guard, a request whose ``Origin``
header names another site is refused before the token is looked at.
"""

from __future__ import annotations

from typing import Annotated, TypeGuard
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response

from server.api.deps import ContextDep, check_api_token, read_body
from server.api.routes.oncall import OnCallPublic, who_is_on_call
from server.context import ServerContext
from server.errors import (
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
)
from server.oncall import store
from server.oncall.actions import Action, act_on_incident
from server.oncall.schemas import incident_detail, incident_public
from server.oncall.store import IncidentStatus
from server.web.routes import not_found_page
from server.web.site import Site, SiteDep

router = APIRouter(include_in_schema=False)

ACTIONS = {"ack": "acknowledged", "resolve": "resolved"}
#: The statuses of an incident not yet resolved, firing ones first.
OPEN: tuple[IncidentStatus, ...] = ("firing", "acknowledged")
#: The page lists at most this many open incidents, newest first, and says how many there are.
OPEN_SHOWN = 400
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
        open_rows, total = store.incidents_page(session, statuses=OPEN, limit=OPEN_SHOWN)
        rows = [incident_public(row) for row in open_rows]
    notice = (
        f"Incident {incident} {ACTIONS[done]}."
        if done in ACTIONS and incident is not None
        else None
    )
    return site.render(
        request,
        "oncall.html",
        {
            "oncall": _oncall_now(context),
            "incidents": rows,
            "open_total": total,
            "notice": notice,
            "error": None,
        },
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


def _is_action(name: str) -> TypeGuard[Action]:
    return name in ACTIONS


def _form(body: bytes) -> dict[str, str]:
    """The first value of each field of a url-encoded form."""
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _who(context: ServerContext, form: dict[str, str]) -> str:
    """Who acts, once the form's token is the API token (the API's own check).

    Raises:
        WritesDisabledError: no API token is configured.
        UnauthorizedError: the token is wrong.
        InvalidRequestError: the name field is empty.
    """
    check_api_token(context, form.get("token", ""))
    by = form.get("by", "").strip()[:255]
    if not by:
        raise InvalidRequestError("Say who you are in the name field.")
    return by


@router.post("/oncall/incidents/{incident_id}/{action}")
async def incident_action(
    incident_id: int, action: str, request: Request, context: ContextDep, site: SiteDep
) -> Response:
    """Acknowledge or resolve from the page, then go back where the form was."""
    if not _is_action(action):
        return not_found_page(request, site, f"There is no action {action!r}.")
    if not _same_origin(request):
        return _incident(
            request,
            context,
            site,
            incident_id,
            error="This form was sent from another site; nothing was changed.",
            status_code=403,
        )
    try:
        form = _form(await read_body(request, MAX_FORM_BYTES))
    except PayloadTooLargeError:
        return _incident(
            request, context, site, incident_id, error="The form is too large.", status_code=413
        )
    try:
        by = _who(context, form)  # before the database: a wrong token learns nothing
        act_on_incident(context, incident_id, action, by=by)
    except NotFoundError as err:
        return not_found_page(request, site, err.message)
    except ServerError as err:  # the token, the name, or acknowledging a resolved incident
        return _incident(
            request, context, site, incident_id, error=err.message, status_code=err.status_code
        )
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
