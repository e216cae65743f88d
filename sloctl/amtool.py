"""Running Alertmanager's own checker, ``amtool``, on the generated configuration."""

from __future__ import annotations

import shutil

# bandit B404: runs amtool, a fixed binary, without a shell.
import subprocess  # nosec B404
from collections.abc import Sequence
from pathlib import Path

from sloctl.errors import ToolError, ToolNotFoundError

AMTOOL_PACKAGE = "prometheus-alertmanager"


def find_amtool() -> str:
    """The path of ``amtool``.

    Raises:
        ToolNotFoundError: it is not installed.
    """
    path = shutil.which("amtool")
    if path is None:
        raise ToolNotFoundError("amtool", AMTOOL_PACKAGE)
    return path


def check_config(paths: Sequence[Path], timeout: float = 60) -> None:
    """Run ``amtool check-config``.

    Raises:
        ToolError: amtool rejected a file; its output says why.
    """
    if not paths:
        return
    try:
        # bandit B603: argv list, no shell; paths are ours.
        proc = subprocess.run(  # nosec B603
            [find_amtool(), "check-config", *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise ToolError("amtool", f"check-config took longer than {timeout:.0f}s") from err
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise ToolError("amtool", "check-config rejected the Alertmanager configuration", output)
