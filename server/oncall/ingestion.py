"""Storing webhook notifications: one transaction each, or a batch per SQLite commit.

SQLite has one writer at a time. Rather than let concurrent requests queue on
its lock (a writer that finds it taken sleeps in growing steps), a single
writer thread per database takes whatever notifications are waiting and
stores them in one transaction: one commit for the batch, no thread hop per
request. Each request still gets its answer only after the commit that holds
its notification. A batch that fails is retried one notification at a time,
so a bad one fails alone. PostgreSQL serialises on the incident's row
instead, and each request stores its notification in its own transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Engine

from server.context import ServerContext
from server.oncall.store import IngestResult, RouteLike, ingest
from server.oncall.webhook import AlertmanagerPayload
from server.store.db import transaction

log = logging.getLogger("sloctl.server.oncall")

#: Most notifications stored in one transaction.
MAX_BATCH = 64


def tell_listener(context: ServerContext, result: IngestResult) -> None:
    """Tell the incident listener what a committed notification did.

    A failing listener is logged, not raised: the notification is committed, and
    an error answer would only make Alertmanager send it again.
    """
    listener = context.incident_listener
    try:
        if result.opened or result.reopened:
            listener.opened(result.incident_id)
        if result.resolved:
            listener.resolved(result.incident_id)
    except Exception:
        log.exception("incident listener failed", extra={"incident": result.incident_id})


def store_notification(
    context: ServerContext, payload: AlertmanagerPayload, route: RouteLike | None
) -> IngestResult:
    """Commit one notification in its own transaction, then tell the listener."""
    with transaction(context.sessions) as session:
        result = ingest(session, payload, receiver_now=context.now(), route=route)
    tell_listener(context, result)
    return result


@dataclass
class _Item:
    context: ServerContext
    payload: AlertmanagerPayload
    route: RouteLike | None
    future: Future[IngestResult]


class BatchWriter:
    """The one thread that writes notifications to a SQLite database."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="webhook-writer", daemon=True)
        self._thread.start()

    def submit(
        self, context: ServerContext, payload: AlertmanagerPayload, route: RouteLike | None
    ) -> Future[IngestResult]:
        """Queue a notification; the future completes once it is committed."""
        future: Future[IngestResult] = Future()
        self._queue.put(_Item(context, payload, route, future))
        return future

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._store(batch)
                    return
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[_Item]) -> None:
        try:
            with transaction(batch[0].context.sessions) as session:
                results = [
                    ingest(session, item.payload, receiver_now=item.context.now(), route=item.route)
                    for item in batch
                ]
        except Exception as err:
            if len(batch) > 1:
                for item in batch:  # one at a time: only the culprit fails
                    self._store([item])
            else:
                batch[0].future.set_exception(err)
            return
        for item, result in zip(batch, results, strict=True):
            tell_listener(item.context, result)
            item.future.set_result(result)


_WRITERS: weakref.WeakKeyDictionary[Engine, BatchWriter] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def batch_writer(engine: Engine) -> BatchWriter | None:
    """The writer thread of a SQLite engine (started on first use); None for PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    with _GUARD:
        writer = _WRITERS.get(engine)
        if writer is None:
            writer = _WRITERS[engine] = BatchWriter()
            weakref.finalize(engine, writer.stop)
        return writer
