"""Every router of the API in one place."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.routes import alerts, evidence, health, incidents, oncall, slos

api_router = APIRouter()
# The webhook first: routes are matched in order, and it takes the most requests.
api_router.include_router(alerts.router)
api_router.include_router(health.router)
api_router.include_router(slos.router)
api_router.include_router(evidence.router)
api_router.include_router(oncall.router)
api_router.include_router(incidents.router)
