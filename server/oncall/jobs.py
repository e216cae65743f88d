"""Persistent one-off timers for escalation: APScheduler 3 on the server's database.

Jobs live in a ``SQLAlchemyJobStore`` (table ``oncall_escalation_jobs``,
created by APScheduler at start, not by Alembic), so they survive a restart;
one that fell due while the server was down runs as soon as it is back.

A stored job is pickled as the name of a module-level function plus its
arguments, never as an object, so every job names :func:`run_job` with the
queue's key (the database URL, password hidden) and an action; ``run_job``
finds the handler registered under that key in this process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy import Engine, select

log = logging.getLogger("sloctl.server.escalation")
JOB_TABLE = "oncall_escalation_jobs"
#: Runs a job's action: (action, incident id, further arguments).
Handler = Callable[..., None]

_HANDLERS: dict[str, Handler] = {}
_HANDLERS_LOCK = threading.Lock()


def run_job(key: str, action: str, incident_id: int, *args: Any) -> None:
    """The function every stored job names: hand the job to its queue's handler."""
    with _HANDLERS_LOCK:
        handler = _HANDLERS.get(key)
        if handler is None and len(_HANDLERS) == 1:
            # The database URL changed (a new host name): the one queue owns the jobs.
            handler = next(iter(_HANDLERS.values()))
    if handler is None:
        log.error("no handler for a stored job", extra={"incident": incident_id})
        return
    handler(action, incident_id, *args)


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """Processes jobs only while running: never when paused, nor once shutdown has begun.

    APScheduler 3 runs one last pass over due jobs as its thread wakes up to
    stop, and would hand them to the executor it has just shut down.
    """

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        result: float | None = super()._process_jobs()
        return result


class JobQueue:
    """Named one-off jobs at given times; adding an existing name replaces it."""

    def __init__(self, engine: Engine, handler: Handler, *, workers: int = 4) -> None:
        self.key = engine.url.render_as_string(hide_password=True)
        self.handler = handler
        self.store = SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)
        self.scheduler = _Scheduler(
            jobstores={"default": self.store},
            executors={"default": ThreadPoolExecutor(workers)},
            # Late jobs run however late (a restart); a job missed several times runs once.
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )
        self._started = False

    def start(self) -> None:
        """Open the store, paused: jobs can be read and added; none runs before :meth:`resume`."""
        with _HANDLERS_LOCK:
            _HANDLERS[self.key] = self.handler
        self.scheduler.start(paused=True)
        self._started = True

    def resume(self) -> None:
        """Run jobs as they fall due (without it, tests run them with :meth:`run_due`)."""
        self.scheduler.resume()

    def stop(self) -> None:
        """Stop running jobs; pending ones stay stored for the next start."""
        if self._started:
            self.scheduler.shutdown(wait=True)
            self._started = False
        with _HANDLERS_LOCK:
            if _HANDLERS.get(self.key) is self.handler:
                del _HANDLERS[self.key]

    def add(self, job_id: str, at: datetime, action: str, *args: Any) -> None:
        self.scheduler.add_job(
            run_job,
            trigger="date",
            run_date=at,
            args=[self.key, action, *args],
            id=job_id,
            replace_existing=True,
        )

    def due_times(self) -> dict[str, datetime]:
        """Every pending job's name and due time."""
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def remove(self, job_id: str) -> None:
        """Forget a job (gone already, say just started: nothing to do)."""
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(job_id)

    def ids(self, prefix: str = "") -> list[str]:
        """The names of the stored jobs, or of those starting with ``prefix`` (an incident's).

        One indexed query on the job table: listing the jobs through the scheduler
        would unpickle every one of them just for its name.
        """
        table = self.store.jobs_t
        query = select(table.c.id)
        if prefix:
            query = query.where(table.c.id.startswith(prefix, autoescape=True))
        with self.store.engine.connect() as connection:
            return list(connection.scalars(query))

    def remove_prefix(self, prefix: str) -> None:
        """Forget every job whose name starts with ``prefix`` (an incident's jobs)."""
        for job_id in self.ids(prefix):
            self.remove(job_id)

    def run_due(self, now: datetime) -> int:
        """Run, in this thread, every job due at ``now`` (tests with a fixed clock)."""
        ran = 0
        while True:
            due = [
                job
                for job in self.scheduler.get_jobs()
                if job.next_run_time is not None and job.next_run_time <= now
            ]
            if not due:
                return ran
            for job in sorted(due, key=lambda j: j.next_run_time):
                self.remove(job.id)
                # This queue's own handler, not the registry: tests may run several queues.
                _key, *args = job.args
                self.handler(*args)
                ran += 1
