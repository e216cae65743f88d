"""The pure part of escalation: what follows a step, when it is due, what is left to send.

It also reads who was paged about an incident, so that the same people (and
channels) hear when it resolves: the all-clear.

No database, clock or scheduler here: the engine (``server/oncall/escalation.py``)
reads the incident and its timeline, asks these functions, and acts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from server.oncall.channels import describe
from sloctl.oncall.config import EscalationPolicy, OnCallConfig, Recipient
from sloctl.oncall.schedule import everyone

#: Timeline entries as the engine reads them: (kind, at, detail).
Entry = tuple[str, datetime, dict[str, Any]]
#: A delivery's recipient as the timeline names it: (name, channel kind, where).
Key = tuple[str, str, str]
#: The notifications that page someone (an all-clear answers them).
PAGES = frozenset({"page", "ack_timeout"})


def step_job_id(incident_id: int, step: int) -> str:
    return f"incident:{incident_id}:step:{step}"


def redeliver_job_id(incident_id: int) -> str:
    return f"incident:{incident_id}:redeliver"


def ack_job_id(incident_id: int) -> str:
    return f"incident:{incident_id}:ack-timeout"


def all_clear_job_id(incident_id: int) -> str:
    return f"incident:{incident_id}:all-clear"


def find_policy(config: OnCallConfig | None, policy_id: str | None) -> EscalationPolicy | None:
    """The policy, or None without a configuration or when it no longer has that policy."""
    if config is None or policy_id is None:
        return None
    try:
        return config.policy(policy_id)
    except KeyError:
        return None


def sends_all_clear(policy: EscalationPolicy | None) -> bool:
    """Whether the policy tells the people paged that the incident resolved (``sendResolved``)."""
    return policy is not None and policy.send_resolved


def ack_timeout(policy: EscalationPolicy | None) -> timedelta | None:
    """How long an acknowledgement holds before the incident fires again; None: for good."""
    if policy is None or policy.ack_timeout_minutes is None:
        return None
    return timedelta(minutes=policy.ack_timeout_minutes)


@dataclass(frozen=True)
class Next:
    """Where the policy goes after a step."""

    step: int
    round: int


def next_step(policy: EscalationPolicy, step: int, round_: int) -> Next | None:
    """The step after ``step`` of round ``round_``: the next one, a new round, or None (done)."""
    if step + 1 < len(policy.steps):
        return Next(step + 1, round_)
    if round_ < policy.repeat:
        return Next(0, round_ + 1)
    return None


@dataclass(frozen=True)
class LastStep:
    """The last ``escalated`` entry of a timeline and the deliveries that settled after it."""

    step: int
    round: int
    at: datetime
    kind: str
    recipients: tuple[str, ...]
    #: (recipient, channel kind, where) of every delivery that ended: sent, or given up.
    settled: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)


def _from_last(entries: Sequence[Entry], *kinds: str) -> Sequence[Entry] | None:
    """The entries from the last one of ``kinds`` on (it first); None if there is none."""
    for i in range(len(entries) - 1, -1, -1):
        if entries[i][0] in kinds:
            return entries[i:]
    return None


def episode(entries: Sequence[Entry]) -> Sequence[Entry]:
    """The entries since the incident last opened or reopened (all of them if it never did)."""
    return _from_last(entries, "opened", "reopened") or entries


def _key(detail: dict[str, Any]) -> Key:
    return (str(detail.get("recipient")), str(detail.get("channel")), str(detail.get("to")))


def _ended(kind: str, detail: dict[str, Any]) -> bool:
    """A delivery that will not be tried again: sent, or given up."""
    return kind == "notified" or (kind == "delivery_failed" and detail.get("gave_up") is True)


def last_step(entries: Sequence[Entry]) -> LastStep | None:
    """The last step run in this episode, and which of its deliveries ended."""
    found = _from_last(episode(entries), "escalated")
    if found is None:
        return None
    (_kind, at, ran), after = found[0], found[1:]
    step, round_ = int(ran["step"]), int(ran["round"])
    settled = {
        _key(detail)
        for kind, _at, detail in after
        if _ended(kind, detail)
        and detail.get("notification") != "resolved"
        and (detail.get("step"), detail.get("round")) == (step, round_)
    }
    return LastStep(
        step=step,
        round=round_,
        at=at,
        kind=str(ran.get("notification", "page")),
        recipients=tuple(ran.get("recipients", ())),
        settled=frozenset(settled),
    )


def due_at(policy: EscalationPolicy, last: LastStep | None, now: datetime) -> datetime:
    """When the incident's next step is due: the last step's time plus its wait (now if none)."""
    if last is None or last.step >= len(policy.steps):
        return now
    return last.at + timedelta(minutes=policy.steps[last.step].wait_minutes)


class Claim(Protocol):
    """A step or an all-clear: whom it named, and whose deliveries ended."""

    @property
    def recipients(self) -> tuple[str, ...]: ...

    @property
    def settled(self) -> frozenset[Key]: ...


def recipient_key(recipient: Recipient) -> Key:
    """How the timeline names a recipient's deliveries (see :func:`describe`)."""
    where = describe(recipient.channel)
    return (recipient.name, where["channel"], where["to"])


def unsettled(claim: Claim, candidates: Iterable[Recipient]) -> list[Recipient]:
    """The claim's recipients whose delivery never ended (the process died meanwhile)."""
    return [
        recipient
        for recipient in candidates
        if recipient.name in claim.recipients and recipient_key(recipient) not in claim.settled
    ]


# --- the all-clear --------------------------------------------------------------------


@dataclass(frozen=True)
class AllClear:
    """The all-clear sent after the incident last resolved, and which of its deliveries ended."""

    at: datetime
    recipients: tuple[str, ...]
    settled: frozenset[Key] = field(default_factory=frozenset)


def last_all_clear(entries: Sequence[Entry]) -> AllClear | None:
    """The ``all_clear`` entry after the last resolution of this episode, if there is one."""
    resolution = _from_last(episode(entries), "resolved")
    found = _from_last(resolution[1:], "all_clear") if resolution else None
    if found is None:
        return None
    (_kind, at, claimed), after = found[0], found[1:]
    settled = {
        _key(detail)
        for kind, _at, detail in after
        if _ended(kind, detail) and detail.get("notification") == "resolved"
    }
    return AllClear(at, tuple(claimed.get("recipients", ())), frozenset(settled))


def paged(entries: Sequence[Entry]) -> frozenset[Key]:
    """Whom a page of this episode reached: (name, channel kind, where) of each delivery."""
    return frozenset(
        _key(detail)
        for kind, _at, detail in episode(entries)
        if kind == "notified" and detail.get("notification", "page") in PAGES
    )


def all_clear_recipients(config: OnCallConfig, entries: Sequence[Entry]) -> list[Recipient]:
    """Who hears that the incident resolved: each channel a page of this episode reached.

    The timeline names channels without their secrets (a webhook by its host),
    so they are found again in the configuration; a person or channel removed
    since is not told.
    """
    reached = paged(entries)
    return [recipient for recipient in everyone(config) if recipient_key(recipient) in reached]


def last_position(last: LastStep | None) -> tuple[int, int]:
    """Step and round of :func:`last_step`'s step, ``(0, 0)`` if none ran in this episode."""
    return (last.step, last.round) if last else (0, 0)
