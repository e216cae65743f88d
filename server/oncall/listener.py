"""What the incident store tells the rest of the server after it commits a change.

The webhook (server/oncall/ingestion.py) and acknowledging or resolving by
hand (server/oncall/actions.py) call the context's listener once the change is
committed (never inside the transaction, so a slow listener cannot
hold a database lock and a failing one cannot lose the incident). The
escalation engine implements it; :class:`NullListener` is the default.
"""

from __future__ import annotations

from typing import Protocol


class IncidentListener(Protocol):
    """Told about committed incident changes, by incident id."""

    def opened(self, incident_id: int) -> None:
        """A new incident fires, or a resolved one fires again (reopened)."""

    def acknowledged(self, incident_id: int) -> None:
        """Someone acknowledged the incident."""

    def resolved(self, incident_id: int) -> None:
        """The incident is resolved, by Alertmanager or by hand."""


class NullListener:
    """Does nothing: the server without the escalation engine."""

    def opened(self, incident_id: int) -> None:
        return None

    def acknowledged(self, incident_id: int) -> None:
        return None

    def resolved(self, incident_id: int) -> None:
        return None
