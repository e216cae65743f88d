"""``POST /api/v1/alerts/alertmanager``: Alertmanager's webhook (payload version 4).

Authenticated by ``Authorization: Bearer <SLOCTL_SERVER_WEBHOOK_TOKEN>`` or
basic auth whose password is that token (any user name), which is what
Alertmanager's ``http_config`` can send. With no token configured the
webhook is refused, never open. The body is read up to
``SLOCTL_SERVER_WEBHOOK_MAX_BYTES`` (413 beyond), validated (422 naming the
field), and stored in a transaction committed before the 200 goes out (on SQLite
with the other notifications waiting, see server/oncall/ingestion.py), so
a 2xx means the notification is durable; Alertmanager retries anything else.
"""

from __future__ import annotations

import asyncio
import base64
import binascii

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.api.deps import credentials, get_context, read_body, same_secret, secret_bytes
from server.context import ServerContext
from server.errors import PayloadTooLargeError, ServerError, UnauthorizedError, WritesDisabledError
from server.oncall.ingestion import batch_writer, store_notification
from server.oncall.schemas import IngestPublic, ingest_public
from server.oncall.store import RouteLike
from server.oncall.webhook import AlertmanagerPayload, parse_payload
from server.schemas import ErrorBody
from sloctl.oncall.routing import route

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


def check_webhook_auth(context: ServerContext, authorization: str | None) -> None:
    """Bearer token or basic auth with the token as password.

    Raises:
        WritesDisabledError: no webhook token is configured.
        UnauthorizedError: the credentials are missing or wrong.
    """
    token = secret_bytes(context.settings.webhook_token)
    if token is None:
        raise WritesDisabledError(
            "the Alertmanager webhook is disabled on this server: "
            "set SLOCTL_SERVER_WEBHOOK_TOKEN to accept notifications"
        )
    scheme, given = credentials(authorization)
    if scheme == "bearer" and given:
        if same_secret(given, token):
            return
        raise UnauthorizedError("the bearer token is not the server's webhook token")
    if scheme == "basic" and given:
        try:
            decoded = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            raise UnauthorizedError("basic credentials are not valid base64") from None
        _user, sep, password = decoded.partition(b":")
        if sep and same_secret(password, token):
            return
        raise UnauthorizedError("the basic auth password is not the server's webhook token")
    raise UnauthorizedError(
        "send the webhook token as Authorization: Bearer <token> or as the basic auth password"
    )


def _too_large(declared: int | None, limit: int) -> ServerError:
    """The 413 of a notification over ``SLOCTL_SERVER_WEBHOOK_MAX_BYTES``."""
    if declared is not None:
        return PayloadTooLargeError(
            f"the body has {declared} bytes; the webhook accepts at most {limit}"
        )
    return PayloadTooLargeError(f"the body is over the webhook's limit of {limit} bytes")


def _route(context: ServerContext, payload: AlertmanagerPayload) -> RouteLike | None:
    """The team and escalation policy of the group, when an on-call config is loaded."""
    config = context.oncall_config.get()
    if config is None:
        return None
    return route(config, payload.labels())


@router.post(
    "/alertmanager",
    response_model=IngestPublic,
    summary="Alertmanager's webhook (payload version 4)",
    responses={
        401: {"model": ErrorBody, "description": "missing or wrong webhook token"},
        403: {"model": ErrorBody, "description": "no webhook token configured: refused"},
        413: {"model": ErrorBody, "description": "the body is over the size limit"},
        422: {"model": ErrorBody, "description": "not a version 4 payload; names the field"},
    },
)
async def alertmanager_webhook(request: Request) -> Response:
    """Store a notification: its incident (receiver, groupKey) and alerts (fingerprint)."""
    # No declared dependencies: FastAPI runs sync ones in the thread pool, and a thread
    # hop per notification just to find the context costs more than the lookup.
    context = get_context(request)
    check_webhook_auth(context, request.headers.get("authorization"))
    body = await read_body(request, context.settings.webhook_max_bytes, _too_large)
    payload = parse_payload(body)
    route = _route(context, payload)
    writer = batch_writer(context.db)
    if writer is not None:
        result = await asyncio.wrap_future(writer.submit(context, payload, route))
    else:
        result = await run_in_threadpool(store_notification, context, payload, route)
    return Response(ingest_public(result).model_dump_json(), media_type="application/json")
