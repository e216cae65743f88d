"""The instrumented orders service that the sloctl demo and compose stack run against.

A small CRUD API (FastAPI, SQLAlchemy 2, Alembic) that emits the three signals an
SLO needs evidence from: Prometheus metrics with trace-id exemplars, OpenTelemetry
traces, and JSON logs carrying the same trace ids. ``create_app`` in
:mod:`sample_service.app` builds it; ``python -m sample_service`` serves it and
``python -m sample_service.loadgen`` sends it traffic.
"""

from __future__ import annotations

SERVICE_NAME = "orders"
