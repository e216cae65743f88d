"""Running Prometheus's own checker, ``promtool``, on generated rules and tests."""

from __future__ import annotations

import shutil

# bandit B404: runs promtool, a fixed binary, without a shell.
import subprocess  # nosec B404
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from sloctl.errors import ToolError, ToolNotFoundError

PROMTOOL_PACKAGE = "prometheus"


def find_promtool() -> str:
    """The path of ``promtool``.

    Raises:
        ToolNotFoundError: it is not installed.
    """
    path = shutil.which("promtool")
    if path is None:
        raise ToolNotFoundError("promtool", PROMTOOL_PACKAGE)
    return path


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _run(args: Sequence[str], timeout: float, cwd: Path | None = None) -> Run:
    try:
        # bandit B603: argv list, no shell; paths are ours.
        proc = subprocess.run(  # nosec B603
            [find_promtool(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise ToolError("promtool", f"{args[0]} {args[1]} took longer than {timeout:.0f}s") from err
    return Run(proc.returncode, (proc.stdout + proc.stderr).strip())


def check_rules(paths: Sequence[Path], timeout: float = 120) -> None:
    """Run ``promtool check rules``.

    Raises:
        ToolError: promtool rejected a file; its output says why.
    """
    if not paths:
        return
    run = _run(["check", "rules", *map(str, paths)], timeout)
    if not run.ok:
        raise ToolError("promtool", "check rules rejected the generated rules", run.output)


def check_rule_objects(paths: Sequence[Path], timeout: float = 120) -> None:
    """Run ``promtool check rules`` on the ``spec`` of prometheus-operator PrometheusRule files.

    promtool reads plain rule files, so each object's ``spec`` (``groups: ...``)
    is written to a temporary file named after the object's file.

    Raises:
        ToolError: a file is no PrometheusRule, or promtool rejected its rules.
    """
    with tempfile.TemporaryDirectory(prefix="sloctl-promrule-") as tmp:
        plain: list[Path] = []
        for path in paths:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
                raise ToolError("promtool", f"{path}: not a PrometheusRule object with a spec")
            target = Path(tmp) / f"{len(plain)}-{path.name}"
            target.write_text(yaml.safe_dump(data["spec"], sort_keys=False), encoding="utf-8")
            plain.append(target)
        check_rules(plain, timeout)


def run_rule_tests(paths: Sequence[Path], timeout: float = 600, cwd: Path | None = None) -> Run:
    """Run ``promtool test rules`` and return its exit status and output."""
    return _run(["test", "rules", *map(str, paths)], timeout, cwd)
