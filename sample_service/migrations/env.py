"""Alembic environment: runs the migrations on the engine the service hands in.

``sample_service.db.migrate`` puts its engine into ``config.attributes``; run
from the ``alembic`` command line instead, the engine comes from the
service's settings (``DATABASE_URL``).
"""

from __future__ import annotations

from alembic import context

from sample_service.db import make_engine
from sample_service.models import Base
from sample_service.settings import Settings

config = context.config
engine = config.attributes.get("engine") or make_engine(Settings().database_url)

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
