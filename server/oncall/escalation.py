"""The escalation engine: who is notified when, until someone acknowledges.

Timers are jobs of a :class:`~server.oncall.jobs.JobQueue` (APScheduler on
the server's own database), so they survive a restart. A job is
``incident:<id>:step:<n>`` (run step ``n``) or ``incident:<id>:ack-timeout``.

Exactly once, across restarts, rests on one compare-and-set: a step job
advances the incident's ``escalation_step``/``escalation_round`` from the
values it was scheduled for, with ``UPDATE ... WHERE`` in one transaction, and
notifies only when that update changed the row. A job that runs twice, late,
or after an acknowledgement changes nothing. The window a crash can still
leave open, between scheduling and the job store write, is closed by
:meth:`Escalator.reconcile` at start: every firing incident gets the job its
step calls for, due when the previous step's wait ends.

A step notifies its recipients (``sloctl.oncall.schedule.recipients``) and
schedules the next step after its ``waitMinutes``; after the last step the
policy starts again ``repeat`` times. Acknowledging removes the incident's
step jobs and, when the policy has ``ackTimeoutMinutes``, schedules a job that
puts the incident back to firing and starts the policy again. Resolving
removes every job and, when the policy has ``sendResolved`` (the default),
schedules ``incident:<id>:all-clear``: everyone a page of this episode reached
is told, over the same channel, that the incident resolved. That job claims
the all-clear once with an ``all_clear`` timeline entry written under the
incident's row lock. Deliveries (``server/oncall/channels.py``) run after the
step or all-clear is committed, with retries; every attempt is on the
incident's timeline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Update, select, update
from sqlalchemy.orm import Session, sessionmaker

from server.errors import NotFoundError
from server.oncall import store
from server.oncall.channels import Notification, NotificationKind, Notifier
from server.oncall.holder import OnCallHolder
from server.oncall.jobs import JobQueue
from server.oncall.models import Incident, IncidentEvent
from server.oncall.plan import (
    Entry,
    LastStep,
    ack_job_id,
    ack_timeout,
    all_clear_job_id,
    all_clear_recipients,
    due_at,
    find_policy,
    last_all_clear,
    last_position,
    last_step,
    next_step,
    redeliver_job_id,
    sends_all_clear,
    step_job_id,
    unsettled,
)
from server.refresher import Clock
from server.store.db import transaction
from sloctl.oncall.config import Channel, EscalationPolicy, OnCallConfig
from sloctl.oncall.schedule import recipients

log = logging.getLogger("sloctl.server.escalation")
#: An incident resolved longer ago than this gets no all-clear (the server was down).
ALL_CLEAR_WITHIN = timedelta(hours=24)
#: How long the all-clear waits for a page still being delivered (retries), and how often
#: it looks again: the page's recipient should hear the all-clear too, and after the page.
PAGE_SETTLE_WAIT = timedelta(minutes=5)
PAGE_SETTLE_POLL = timedelta(seconds=15)


class Escalator:
    """Runs escalation policies; the server's :class:`IncidentListener`."""

    def __init__(
        self,
        *,
        engine: Engine,
        sessions: sessionmaker[Session],
        oncall: OnCallHolder,
        notifier: Notifier,
        clock: Clock,
        public_url: str | None = None,
        workers: int = 4,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.oncall = oncall
        self.notifier = notifier
        self.clock = clock
        self.public_url = public_url.rstrip("/") if public_url else None
        self.jobs = JobQueue(engine, self.run, workers=workers)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, *, run_jobs: bool = True) -> None:
        """Open the job store and reconcile; ``run_jobs=False`` keeps jobs for :meth:`run_due`."""
        self.jobs.start()
        # Reconcile before any job runs: a job running meanwhile would look unfinished to it.
        self.reconcile()
        if run_jobs:
            self.jobs.resume()

    def stop(self) -> None:
        """Stop running jobs (pending ones stay in the store for the next start)."""
        self.jobs.stop()

    # --- the listener -----------------------------------------------------------------
    # Called after the change is committed; a failure here must not fail the request
    # (the incident is safe, and reconcile() gives it its job at the next start).

    def opened(self, incident_id: int) -> None:
        """A new (or reopened) incident: run its current step now."""
        self._safely(self._opened, incident_id)

    def acknowledged(self, incident_id: int) -> None:
        """Stop escalating; time the acknowledgement out when the policy says so."""
        self._safely(self._acknowledged, incident_id)

    def resolved(self, incident_id: int) -> None:
        """Resolution cancels what was pending and schedules the all-clear."""
        self._safely(self._resolved, incident_id)

    def _safely(self, action: Callable[[int], None], incident_id: int) -> None:
        try:
            action(incident_id)
        except Exception:
            log.exception("scheduling an escalation failed", extra={"incident": incident_id})

    def _opened(self, incident_id: int) -> None:
        with self.sessions() as session:
            incident = session.get(Incident, incident_id)
            if incident is None or incident.status != "firing":
                return
            if incident.policy is None:
                # No on-call configuration when it arrived: nobody to escalate to.
                log.info("incident without escalation policy", extra={"incident": incident_id})
                return
            step, round_ = incident.escalation_step, incident.escalation_round
        self._schedule_step(incident_id, step, round_, self.clock(), "page")

    def _resolved(self, incident_id: int) -> None:
        self._remove_jobs(incident_id)
        with self.sessions() as session:
            incident = session.get(Incident, incident_id)
            if incident is None or incident.status != "resolved" or incident.resolved_at is None:
                return
            if not sends_all_clear(find_policy(self.oncall.get(), incident.policy)):
                return
            resolved_at = incident.resolved_at
        self._schedule_all_clear(incident_id, resolved_at, "all_clear")

    def _acknowledged(self, incident_id: int) -> None:
        self._remove_jobs(incident_id)
        with self.sessions() as session:
            incident = session.get(Incident, incident_id)
            if incident is None or incident.status != "acknowledged":
                return
        # The job store is written with the session closed (the incident's fields are loaded).
        self._schedule_ack_timeout(incident, find_policy(self.oncall.get(), incident.policy))

    # --- jobs ---------------------------------------------------------------------------

    def run(self, action: str, incident_id: int, *args: Any) -> None:
        """Run one job's action; never raises (the scheduler would only log it)."""
        try:
            if action == "step":
                step, round_, kind = args
                self.run_step(incident_id, int(step), int(round_), kind)
            elif action == "redeliver":
                self.run_redeliver(incident_id)
            elif action == "ack_timeout":
                self.run_ack_timeout(incident_id, datetime.fromisoformat(args[0]))
            elif action in ("all_clear", "redeliver_all_clear"):
                resolved_at = datetime.fromisoformat(args[0])
                redeliver = action == "redeliver_all_clear"
                self.run_all_clear(incident_id, resolved_at, redeliver=redeliver)
            else:
                log.error("unknown escalation job", extra={"action": action})
        except Exception:
            log.exception("escalation job failed", extra={"incident": incident_id})

    def run_step(
        self, incident_id: int, step: int, round_: int, kind: NotificationKind = "page"
    ) -> bool:
        """Claim step ``step`` of round ``round_`` and notify its recipients.

        Returns whether the step ran (``False``: acknowledged, resolved, or
        already run by an earlier copy of the job).
        """
        now = self.clock()
        config = self.oncall.get()
        with transaction(self.sessions) as session:
            incident = session.get(Incident, incident_id)
            if not _at(incident, step, round_):
                return False
            assert incident is not None
            policy = find_policy(config, incident.policy)
            if config is None or policy is None or step >= len(policy.steps):
                reason = (
                    "no on-call configuration"
                    if config is None
                    else f"escalation policy {incident.policy!r} has no step {step + 1}"
                )
                store.add_event(
                    session,
                    incident_id,
                    kind="delivery_failed",
                    at=now,
                    detail={"step": step, "round": round_, "error": reason, "gave_up": True},
                )
                return False
            after = next_step(policy, step, round_)
            # The compare-and-set: only the first run of this step changes the row.
            claimed = _changed(
                session,
                update(Incident)
                .where(
                    Incident.id == incident_id,
                    Incident.status == "firing",
                    Incident.escalation_step == step,
                    Incident.escalation_round == round_,
                )
                .values(
                    escalation_step=after.step if after else len(policy.steps),
                    escalation_round=after.round if after else round_,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False),
            )
            if not claimed:
                return False
            people = recipients(config, policy.steps[step], now)
            wait = timedelta(minutes=policy.steps[step].wait_minutes)
            store.add_event(
                session,
                incident_id,
                kind="escalated",
                at=now,
                detail={
                    "policy": policy.id,
                    "step": step,
                    "round": round_,
                    "recipients": [r.name for r in people],
                    "notification": kind,
                    "next_at": (now + wait).isoformat() if after else None,
                },
            )
            messages = [
                (r.channel, self._notification(incident, kind, r.name, step, round_))
                for r in people
            ]
        if after is not None:
            self._schedule_step(incident_id, after.step, after.round, now + wait, "page")
        if not messages:
            self._record(
                incident_id,
                "delivery_failed",
                {
                    "step": step,
                    "round": round_,
                    "error": "nobody to notify",
                    "gave_up": True,
                },
            )
        self._deliver(incident_id, messages)
        return True

    def run_ack_timeout(self, incident_id: int, acknowledged_at: datetime) -> bool:
        """Put an acknowledgement that was not followed by resolution back to firing."""
        now = self.clock()
        with transaction(self.sessions) as session:
            incident = session.get(Incident, incident_id)
            if incident is None or incident.status != "acknowledged":
                return False
            back = _changed(
                session,
                update(Incident)
                .where(
                    Incident.id == incident_id,
                    Incident.status == "acknowledged",
                    Incident.acknowledged_at == acknowledged_at,
                )
                .values(
                    status="firing",
                    escalation_step=0,
                    escalation_round=0,
                    acknowledged_at=None,
                    acknowledged_by=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False),
            )
            if not back:
                return False
            store.add_event(
                session,
                incident_id,
                kind="ack_timeout",
                at=now,
                detail={
                    "acknowledged_by": incident.acknowledged_by,
                    "acknowledged_at": acknowledged_at.isoformat(),
                },
            )
        self._schedule_step(incident_id, 0, 0, now, "ack_timeout")
        return True

    def run_all_clear(
        self, incident_id: int, resolved_at: datetime, *, redeliver: bool = False
    ) -> int:
        """Tell everyone this episode's pages reached that the incident resolved at ``resolved_at``.

        The first run claims the all-clear (an ``all_clear`` entry naming the
        recipients) under the incident's row lock, so it is sent once however
        often the job runs; ``redeliver`` sends what a claimed all-clear never
        got to (a crash). Nothing is sent once the incident fired again, nor
        :data:`ALL_CLEAR_WITHIN` after the resolution. While the last step's
        page is still being delivered (retries), the job comes back every
        :data:`PAGE_SETTLE_POLL`, for up to :data:`PAGE_SETTLE_WAIT` after
        that step. Returns how many messages were handed to the notifier.
        """
        now = self.clock()
        config = self.oncall.get()
        if now - resolved_at > ALL_CLEAR_WITHIN:
            return 0
        waiting = False  # for a page still being delivered
        with transaction(self.sessions) as session:
            try:
                incident = store.lock_incident(session, incident_id)
            except NotFoundError:
                return 0
            policy = find_policy(config, incident.policy)
            if (
                incident.status != "resolved"
                or incident.resolved_at != resolved_at
                or config is None
                or policy is None
                or not policy.send_resolved  # sends_all_clear, spelt out for the type checker
            ):
                return 0
            entries = _entries(session, incident_id)
            claim = last_all_clear(entries)
            people = all_clear_recipients(config, entries)
            last = last_step(entries)
            if redeliver:
                people = unsettled(claim, people) if claim else []
            elif claim is not None:
                return 0  # sent already
            elif (
                last is not None
                and now - last.at < PAGE_SETTLE_WAIT
                and self._undelivered(incident, config, policy, last)
            ):
                waiting, people = True, []  # look again once it is delivered or given up
            elif not people:
                return 0  # nobody was paged
            else:
                store.add_event(
                    session,
                    incident_id,
                    kind="all_clear",
                    at=now,
                    detail={
                        "recipients": sorted({r.name for r in people}),
                        "resolved_by": incident.resolved_by,
                    },
                )
            step, round_ = last_position(last)
            messages = [
                (r.channel, self._notification(incident, "resolved", r.name, step, round_))
                for r in people
            ]
        if waiting:  # the job store is written with the incident's lock released
            self._schedule_all_clear(incident_id, resolved_at, "all_clear", now + PAGE_SETTLE_POLL)
            return 0
        self._deliver(incident_id, messages)
        return len(messages)

    def run_due(self, now: datetime | None = None) -> int:
        """Run, in this thread, every stored job due at ``now`` (tests with a fixed clock)."""
        return self.jobs.run_due(now or self.clock())

    def reconcile(self) -> int:
        """Give every firing or acknowledged incident the job it is owed; returns how many.

        Covers a crash after an incident was committed but before its job was
        stored, or while a job ran (APScheduler removes a one-off job when it
        starts it). Jobs that already exist are left alone. Incidents resolved
        within :data:`ALL_CLEAR_WITHIN` whose all-clear a crash cut short get
        the rest of it.
        """
        config = self.oncall.get()
        if config is None:
            return 0
        existing = set(self.jobs.ids())
        added = 0
        with self.sessions() as session:
            open_incidents = session.scalars(
                select(Incident).where(Incident.status.in_(("firing", "acknowledged")))
            ).all()
            for incident in open_incidents:
                policy = find_policy(config, incident.policy)
                if policy is None:
                    continue
                if incident.status == "acknowledged":
                    if ack_job_id(incident.id) not in existing and self._schedule_ack_timeout(
                        incident, policy
                    ):
                        added += 1
                    continue
                last = last_step(_entries(session, incident.id))
                if self._undelivered(incident, config, policy, last):
                    self.jobs.add(
                        redeliver_job_id(incident.id), self.clock(), "redeliver", incident.id
                    )
                    added += 1
                step, round_ = incident.escalation_step, incident.escalation_round
                if step >= len(policy.steps) or step_job_id(incident.id, step) in existing:
                    continue
                due = due_at(policy, last, self.clock())
                self._schedule_step(incident.id, step, round_, due, "page")
                added += 1
            added += self._reconcile_all_clears(session, config, existing)
        if added:
            log.info("escalations rescheduled", extra={"jobs": added})
        return added

    def _reconcile_all_clears(
        self, session: Session, config: OnCallConfig, existing: set[str]
    ) -> int:
        """Schedule the rest of recent all-clears that a crash cut short; returns how many.

        Only claimed ones: an incident with no ``all_clear`` entry was either
        resolved before this version, or while its policy had ``sendResolved``
        off, or (rarely) in the instant between its commit and its job's; the
        first two were never owed one, and telling them now would be late news.
        """
        added = 0
        claimed = select(IncidentEvent.incident_id).where(IncidentEvent.kind == "all_clear")
        recent = session.scalars(
            select(Incident).where(
                Incident.status == "resolved",
                Incident.resolved_at >= self.clock() - ALL_CLEAR_WITHIN,
                Incident.id.in_(claimed),  # only a claimed all-clear can be unfinished
            )
        ).all()
        for incident in recent:
            resolved_at = incident.resolved_at
            if (
                all_clear_job_id(incident.id) in existing
                or not sends_all_clear(find_policy(config, incident.policy))
                or resolved_at is None
            ):
                continue
            entries = _entries(session, incident.id)
            claim = last_all_clear(entries)
            if claim is not None and unsettled(claim, all_clear_recipients(config, entries)):
                self._schedule_all_clear(incident.id, resolved_at, "redeliver_all_clear")
                added += 1
        return added

    def run_redeliver(self, incident_id: int) -> int:
        """Deliver what the last step claimed but never sent (a crash); returns how many."""
        config = self.oncall.get()
        with self.sessions() as session:
            incident = session.get(Incident, incident_id)
            policy = find_policy(config, incident.policy if incident else None)
            if incident is None or incident.status != "firing" or policy is None:
                return 0
            assert config is not None
            last = last_step(_entries(session, incident_id))
            messages = self._undelivered(incident, config, policy, last)
        self._deliver(incident_id, messages)
        return len(messages)

    def _undelivered(
        self,
        incident: Incident,
        config: OnCallConfig,
        policy: EscalationPolicy,
        last: LastStep | None,
    ) -> list[tuple[Channel, Notification]]:
        """Messages of the last step whose delivery never ended (see :func:`unsettled`)."""
        if last is None or last.step >= len(policy.steps):
            return []
        candidates = recipients(config, policy.steps[last.step], last.at)
        kind: NotificationKind = "ack_timeout" if last.kind == "ack_timeout" else "page"
        return [
            (r.channel, self._notification(incident, kind, r.name, last.step, last.round))
            for r in unsettled(last, candidates)
        ]

    # --- helpers ------------------------------------------------------------------------

    def _schedule_ack_timeout(self, incident: Incident, policy: EscalationPolicy | None) -> bool:
        """Time the acknowledgement out when the policy says so; whether a job was added."""
        timeout = ack_timeout(policy)
        acked_at = incident.acknowledged_at
        if timeout is None or acked_at is None:
            return False
        self.jobs.add(
            ack_job_id(incident.id),
            acked_at + timeout,
            "ack_timeout",
            incident.id,
            acked_at.isoformat(),
        )
        return True

    def _deliver(self, incident_id: int, messages: list[tuple[Channel, Notification]]) -> None:
        """Hand each message to the notifier; every attempt lands on the incident's timeline."""
        for channel, message in messages:
            self.notifier.deliver(
                channel, message, lambda kind_, detail: self._record(incident_id, kind_, detail)
            )

    def _schedule_all_clear(
        self, incident_id: int, resolved_at: datetime, action: str, at: datetime | None = None
    ) -> None:
        job_id = all_clear_job_id(incident_id)
        due = at or self.clock()
        self.jobs.add(job_id, due, action, incident_id, resolved_at.isoformat())

    def _schedule_step(
        self, incident_id: int, step: int, round_: int, at: datetime, kind: NotificationKind
    ) -> None:
        self.jobs.add(step_job_id(incident_id, step), at, "step", incident_id, step, round_, kind)

    def _remove_jobs(self, incident_id: int) -> None:
        self.jobs.remove_prefix(f"incident:{incident_id}:")

    def _record(self, incident_id: int, kind: str, detail: dict[str, Any]) -> None:
        """One timeline entry in its own transaction, so it stays even if the process dies."""
        with transaction(self.sessions) as session:
            store.add_event(session, incident_id, kind=kind, at=self.clock(), detail=detail)

    def _notification(
        self, incident: Incident, kind: NotificationKind, recipient: str, step: int, round_: int
    ) -> Notification:
        return Notification(
            kind=kind,
            incident_id=incident.id,
            title=incident.title,
            summary=incident.summary,
            status=incident.status,
            severity=incident.severity,
            slo=incident.slo,
            service=incident.service,
            team=incident.team,
            policy=incident.policy,
            step=step,
            round=round_,
            recipient=recipient,
            opened_at=incident.opened_at,
            url=f"{self.public_url}/oncall/incidents/{incident.id}" if self.public_url else None,
            resolved_at=incident.resolved_at,
            resolved_by=incident.resolved_by,
        )


def _changed(session: Session, statement: Update) -> bool:
    """Run an UPDATE; whether it changed exactly one row (the compare-and-set succeeded)."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount == 1


def _entries(session: Session, incident_id: int) -> list[Entry]:
    return [(e.kind, e.at, json.loads(e.detail)) for e in store.events_of(session, incident_id)]


def _at(incident: Incident | None, step: int, round_: int) -> bool:
    return (
        incident is not None
        and incident.status == "firing"
        and incident.escalation_step == step
        and incident.escalation_round == round_
    )
