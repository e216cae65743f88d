"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sloctl.cli import main
from tests.helpers import CliResult, local_time_zone


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``sloctl`` in-process and return its exit code and output."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def specs_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "slo_specs"
    directory.mkdir()
    return directory


@pytest.fixture
def new_york_local_time() -> Iterator[None]:
    """The process's local zone is America/New_York (not UTC) for the test, then restored."""
    with local_time_zone("America/New_York"):
        yield
