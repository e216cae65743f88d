"""The service's settings, read once from the environment (pydantic-settings).

Service variables start with ``ORDERS_``; the database and the service name use
the names every tool knows (``DATABASE_URL``, ``OTEL_SERVICE_NAME``). The
OpenTelemetry exporter reads its own ``OTEL_EXPORTER_OTLP_*`` variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sample_service import SERVICE_NAME
from sample_service.faults import Fault
from sample_service.logs import FLUSH_INTERVAL_S

#: Used when ``DATABASE_URL`` is unset: a SQLite file under ./var/ (git-ignored).
DEFAULT_DATABASE_URL = "sqlite:///var/orders.db"


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", frozen=True)

    database_url: Annotated[
        str,
        Field(validation_alias=AliasChoices("DATABASE_URL", "ORDERS_DATABASE_URL")),
    ] = DEFAULT_DATABASE_URL
    service_name: Annotated[
        str,
        Field(validation_alias=AliasChoices("OTEL_SERVICE_NAME", "ORDERS_SERVICE_NAME")),
    ] = SERVICE_NAME
    #: Bearer token of the admin endpoints (fault switch); unset: they answer 403.
    admin_token: str | None = None
    #: Faults at start, by route template or "*": ``{"/orders": {"error_ratio": 0.2}}``.
    faults: dict[str, Fault] = {}
    #: Off: no traces, metrics or request logs (the baseline of the overhead benchmark).
    instrumentation: bool = True
    #: Also write the JSON logs to this file (for a log shipper), rotated at 10 MB.
    log_file: Path | None = None
    log_level: str = "INFO"
    #: Longest a log line waits before the writer thread writes it (sooner when 256 wait).
    log_flush_interval: Annotated[float, Field(gt=0, le=3600)] = FLUSH_INTERVAL_S
    #: Run the Alembic migrations when the app starts.
    migrate_on_start: bool = True
    #: Threads that run endpoints and database calls at once (anyio's default is 40).
    #: Python runs one of them at a time; a few keep the database busy, and more
    #: only contend for the interpreter lock (docs/benchmarks.md, instrumentation).
    worker_threads: Annotated[int, Field(ge=1, le=256)] = 8
