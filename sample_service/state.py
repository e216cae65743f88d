"""What one app instance holds: its settings, database, fault switch and telemetry."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sample_service.faults import FaultSwitch
from sample_service.metrics import HttpMetrics
from sample_service.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    faults: FaultSwitch
    logger: logging.Logger
    metrics: HttpMetrics | None
    tracer_provider: TracerProvider | None
