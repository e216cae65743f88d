"""Helpers the bench scripts share: a free port, readiness, a process's CPU time.

The scripts run as ``.venv/bin/python bench/NAME.py``, so this directory is
``sys.path[0]`` and they import it as ``_common``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers 200, so no measurement starts against a server that
    is still starting.

    Raises:
        RuntimeError: not ready within ``timeout`` seconds, or ``process`` (the server
            behind ``url``, when given) exited first, which waiting longer cannot mend.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server of {url} exited with status {process.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc): less sensitive to
    other processes' scheduling on a shared machine than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environ_without(prefixes: tuple[str, ...], **extra: str) -> dict[str, str]:
    """This process's environment less the variables starting with ``prefixes``, plus ``extra``.

    For a measured child: the caller's settings must not change what is measured.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env
