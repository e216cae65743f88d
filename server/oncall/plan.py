"""The pure part of escalation: what follows a step, when it is due, what is left to send.

No database, clock or scheduler here: the engine (``server/oncall/escalation.py``)
reads the incident and its timeline, asks these functions, and acts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server.oncall.channels import describe
from sloctl.oncall.config import EscalationPolicy, OnCallConfig, Recipient

#: Timeline entries as the engine reads them: (kind, at, detail).
Entry = tuple[str, datetime, dict[str, Any]]


def step_job_id(incident_id: int, step: int) -> str:
    return f"incident:{incident_id}:step:{step}"


def redeliver_job_id(incident_id: int) -> str:
    return f"incident:{incident_id}:redeliver"


def ack_job_id(incident_id: int) -> str:
    return f"incident:{incident_id}:ack-timeout"


def find_policy(config: OnCallConfig | None, policy_id: str | None) -> EscalationPolicy | None:
    """The policy, or None without a configuration or when it no longer has that policy."""
    if config is None or policy_id is None:
        return None
    try:
        return config.policy(policy_id)
    except KeyError:
        return None


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


def last_step(entries: Sequence[Entry]) -> LastStep | None:
    """Read the last step run, and which of its deliveries ended, from a timeline."""
    runs = [i for i, (kind, _at, _detail) in enumerate(entries) if kind == "escalated"]
    if not runs:
        return None
    _kind, at, ran = entries[runs[-1]]
    step, round_ = int(ran["step"]), int(ran["round"])
    settled = set()
    for kind, _at, detail in entries[runs[-1] + 1 :]:
        ended = kind == "notified" or (kind == "delivery_failed" and detail.get("gave_up") is True)
        if ended and (detail.get("step"), detail.get("round")) == (step, round_):
            settled.add(
                (str(detail.get("recipient")), str(detail.get("channel")), str(detail.get("to")))
            )
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


def unsettled(last: LastStep, candidates: Iterable[Recipient]) -> list[Recipient]:
    """The last step's recipients whose delivery never ended (the process died meanwhile)."""
    out = []
    for recipient in candidates:
        where = describe(recipient.channel)
        key = (recipient.name, where["channel"], where["to"])
        if recipient.name in last.recipients and key not in last.settled:
            out.append(recipient)
    return out
