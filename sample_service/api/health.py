"""``/healthz``: the process is up and the database answers."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from sample_service.api.deps import SessionsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(sessions: SessionsDep) -> dict[str, str]:
    with sessions() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}
