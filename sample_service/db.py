"""The database edge: the engine, sessions and migrations.

PostgreSQL is reached through psycopg 3: a plain ``postgresql://`` URL is given
the ``+psycopg`` driver so the usual ``DATABASE_URL`` works unchanged. Without a
``DATABASE_URL`` the service uses a SQLite file, so it runs with nothing else
installed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs get the psycopg 3 driver; others are kept."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


#: Connections kept open besides one per worker thread, for start-up work and bursts.
SPARE_CONNECTIONS = 10


def make_engine(url: str, *, threads: int = 10) -> Engine:
    """An engine for ``url``; SQLite files get their directory and foreign keys on.

    Each of the service's ``threads`` worker threads holds at most one
    connection (its request's session), so the pool keeps that many open,
    with ``SPARE_CONNECTIONS`` more allowed on top.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if not in_memory:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        # As many pooled connections as the threads can ask for at once, so
        # none is opened and closed per request under load.
        pool = {} if in_memory else {"pool_size": threads, "max_overflow": SPARE_CONNECTIONS}
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # Write-ahead log: readers no longer wait for a writer, and a
                # commit appends to the log without syncing the database file.
                # NORMAL sync is durable against a crash of the process and
                # loses at most the last commits on a power cut.
                dbapi_connection.execute("PRAGMA journal_mode=WAL")
                dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=threads, max_overflow=SPARE_CONNECTIONS)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration in code: the migrations shipped in the package, on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("sample_service") / "migrations"))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``head``: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)
