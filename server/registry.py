"""The SLO registry: the active SLOs in memory, backed by the store's versions.

Reads (every request, every refresh) use the in-memory copy; applies write
the store in one transaction and then swap the copy, so a failed apply leaves
both as they were.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from server.errors import ErrorDetail, InvalidRequestError, NotFoundError
from server.store import repository
from server.store.db import transaction
from server.store.models import ORIGIN_LENGTH
from server.store.repository import ApplyOutcome, StoredSLO
from sloctl.spec.loader import load_specs
from sloctl.spec.models import SLO


class Registry:
    """Active SLOs by id, with the version each is at."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._entries: dict[str, StoredSLO] = {}
        self.generation = 0

    def load(self) -> None:
        """Read the active SLOs from the store."""
        with transaction(self._sessions) as session:
            entries = repository.active_slos(session)
        self._swap(entries)

    def _swap(self, entries: Sequence[StoredSLO]) -> None:
        with self._lock:
            self._entries = {e.slo.id: e for e in entries}
            self.generation += 1

    def entries(self) -> list[StoredSLO]:
        """Every active SLO, sorted by id."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.slo.id)

    def slos(self) -> list[SLO]:
        return [e.slo for e in self.entries()]

    def get(self, slo_id: str) -> StoredSLO:
        """One active SLO.

        Raises:
            NotFoundError: no active SLO has that id.
        """
        with self._lock:
            entry = self._entries.get(slo_id)
        if entry is None:
            raise NotFoundError(f"no SLO with id {slo_id!r} is registered")
        return entry

    def apply(self, slos: Sequence[SLO], *, origin: str, now: datetime) -> ApplyOutcome:
        """Make the registry hold exactly ``slos`` (declarative), keeping every version.

        Raises:
            InvalidRequestError: two SLOs share an id.
        """
        seen: dict[str, int] = {}
        details = []
        for index, slo in enumerate(slos):
            if slo.id in seen:
                details.append(
                    ErrorDetail(
                        f"slos[{index}].name",
                        f"SLO id {slo.id!r} is already given at slos[{seen[slo.id]}]",
                    )
                )
            seen.setdefault(slo.id, index)
        if details:
            raise InvalidRequestError("the request lists an SLO id twice", details)
        with transaction(self._sessions) as session:
            outcome = repository.apply_slos(session, slos=slos, origin=origin, now=now)
            entries = repository.active_slos(session)
        self._swap(entries)
        return outcome

    def apply_specs_dir(self, path: Path, *, now: datetime) -> ApplyOutcome:
        """Load every spec under ``path`` (any format sloctl reads) and apply them.

        Raises:
            SpecError: a spec is invalid; the registry is left as it was.
        """
        return self.apply(load_specs([path]).slos, origin=specs_origin(path), now=now)


def specs_origin(path: Path) -> str:
    """``specs:<dir>`` for the versions table, keeping the end of a long path.

    The column holds :data:`~server.store.models.ORIGIN_LENGTH` characters, and
    PostgreSQL refuses longer values (SQLite stores them), so a long directory
    keeps its last characters, the part that tells directories apart.
    """
    origin = f"specs:{path}"
    if len(origin) <= ORIGIN_LENGTH:
        return origin
    return "specs:…" + str(path)[-(ORIGIN_LENGTH - len("specs:…")) :]
