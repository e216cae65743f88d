"""``/api/v1/oncall``: who is on call (now or at a given time), and replacing the configuration."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from server.api.deps import WRITE_RESPONSES, ContextDep, WriteAuth, read_body
from server.errors import (
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
)
from server.oncall.holder import OnCallHolder
from server.schemas import ErrorBody
from sloctl.errors import SpecError
from sloctl.oncall.config import OnCallConfig, parse_oncall
from sloctl.oncall.schedule import aware, shift_at

#: Larger configuration bodies are refused: a real one is a few kilobytes.
MAX_CONFIG_BYTES = 1024 * 1024

router = APIRouter(
    prefix="/api/v1/oncall",
    tags=["oncall"],
    responses={404: {"model": ErrorBody, "description": "no configuration, or unknown team"}},
)


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True)


class PersonPublic(_Schema):
    id: str
    name: str


class ScheduleOnCall(_Schema):
    """One schedule of a team and who is on call in it; shift bounds are None beyond 35 days."""

    schedule: str
    name: str
    time_zone: str
    person: PersonPublic | None
    shift_start: datetime | None
    shift_end: datetime | None
    source: str | None  # "layer:<name>" or "override"


class TeamOnCall(_Schema):
    team: str
    name: str
    escalation_policy: str
    schedules: list[ScheduleOnCall]


class OnCallPublic(_Schema):
    at: datetime
    data: list[TeamOnCall]
    count: int


class OnCallApplied(_Schema):
    teams: int
    people: int
    schedules: int
    escalation_policies: int
    routes: int
    persisted: str | None  # the file written, None when the server has no on-call file


def who_is_on_call(config: OnCallConfig, at: datetime, team: str | None = None) -> OnCallPublic:
    """Every team (or one) with each schedule its escalation policy pages, at ``at``."""
    teams = config.teams
    if team is not None:
        teams = tuple(t for t in teams if t.id == team)
        if not teams:
            known = ", ".join(t.id for t in config.teams) or "none"
            raise NotFoundError(
                f"no team {team!r} in the on-call configuration (teams: {known})",
                [ErrorDetail("team", f"unknown team {team!r}")],
            )
    data = []
    for item in teams:
        rows = []
        for schedule_id in config.team_schedules(item.id):
            schedule = config.schedule(schedule_id)
            shift = shift_at(config, schedule_id, at)
            rows.append(
                ScheduleOnCall(
                    schedule=schedule.id,
                    name=schedule.name or schedule.id,
                    time_zone=schedule.time_zone,
                    person=PersonPublic(id=shift.person.id, name=shift.person.name)
                    if shift
                    else None,
                    shift_start=shift.start if shift else None,
                    shift_end=shift.end if shift else None,
                    source=shift.source if shift else None,
                )
            )
        data.append(
            TeamOnCall(
                team=item.id,
                name=item.name,
                escalation_policy=item.escalation_policy,
                schedules=rows,
            )
        )
    return OnCallPublic(at=at, data=data, count=len(data))


def current_config(holder: OnCallHolder) -> OnCallConfig:
    config = holder.get()
    if config is None:
        raise NotFoundError(
            "no on-call configuration is loaded: set SLOCTL_SERVER_ONCALL_CONFIG "
            "or run sloctl apply --oncall FILE"
        )
    return config


@router.get("", response_model=OnCallPublic, summary="Who is on call, per team")
def get_oncall(
    context: ContextDep,
    team: Annotated[str | None, Query(description="only this team")] = None,
    at: Annotated[
        datetime | None,
        Query(description="ISO 8601 instant (default: now); without an offset it is UTC"),
    ] = None,
) -> OnCallPublic:
    config = current_config(context.oncall_config)
    return who_is_on_call(config, aware(context.now() if at is None else at), team)


def _too_large(declared: int | None, limit: int) -> ServerError:
    """The 413 of a configuration over :data:`MAX_CONFIG_BYTES` (its size, when declared)."""
    size = f"{declared} bytes" if declared is not None else f"over {limit} bytes"
    return PayloadTooLargeError(
        f"the configuration is {size}; the limit is {limit}", [ErrorDetail("body", "too large")]
    )


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new, never a part.

    Not ``sloctl.outputs.write_atomic``: the server acknowledges the apply only once the
    file is on disk (fsync), and leaves no temporary file behind when a write fails.
    """
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@router.put(
    "/config",
    response_model=OnCallApplied,
    summary="Replace the on-call configuration (sloctl apply --oncall)",
    dependencies=[WriteAuth],
    responses={
        **WRITE_RESPONSES,
        413: {"model": ErrorBody, "description": "the body is over 1 MiB"},
        422: {"model": ErrorBody, "description": "the configuration is invalid (nothing changed)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def put_config(request: Request, context: ContextDep) -> OnCallApplied:
    """The body is the on-call file (YAML, or the same as JSON). It is validated whole;
    when it is invalid nothing changes. When the server has an on-call file it is
    rewritten atomically, so a restart keeps what was applied."""
    body = await read_body(request, MAX_CONFIG_BYTES, _too_large)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidRequestError(
            "the body is not UTF-8 text", [ErrorDetail("body", "not UTF-8")]
        ) from err
    try:
        config = parse_oncall(text, "body")
    except SpecError as err:
        details = [
            ErrorDetail(p.field or "body", f"line {p.line}: {p.message}" if p.line else p.message)
            for p in err.problems
        ]
        raise InvalidRequestError(
            f"invalid on-call configuration: {err.problems[0]}", details
        ) from err
    path = context.settings.oncall_config
    try:
        context.oncall_config.set(
            config, persist=(lambda: _write_atomically(path, text)) if path is not None else None
        )
    except OSError as err:
        raise ServerError(
            f"cannot store the on-call configuration in {path}: {err.strerror}; "
            "the previous configuration stays in force"
        ) from err
    return OnCallApplied(
        teams=len(config.teams),
        people=len(config.people),
        schedules=len(config.schedules),
        escalation_policies=len(config.escalation_policies),
        routes=len(config.routes),
        persisted=str(path) if path is not None else None,
    )
