"""Acknowledging and resolving an incident by hand: one path for the API and the web form.

The change is committed first, then the listener hears of it, and only when
the call changed the incident (acknowledging an acknowledged incident, or
resolving a resolved one, leaves the escalation as it is).
"""

from __future__ import annotations

from typing import Literal

from server.context import ServerContext
from server.oncall import store
from server.oncall.models import Incident
from server.store.db import transaction

#: What a person can do to an incident: the last part of the API and form URLs.
Action = Literal["ack", "resolve"]


def act_on_incident(
    context: ServerContext, incident_id: int, action: Action, *, by: str
) -> Incident:
    """Acknowledge or resolve an incident in its own transaction, then tell the listener.

    Raises:
        NotFoundError: no such incident.
        ConflictError: acknowledging a resolved incident.
    """
    change = store.acknowledge if action == "ack" else store.resolve
    with transaction(context.sessions) as session:
        incident, changed = change(session, incident_id, by=by, now=context.now())
    if changed:
        listener = context.incident_listener
        tell = listener.acknowledged if action == "ack" else listener.resolved
        tell(incident_id)
    return incident
