"""One ``sloctl apply`` at a time: an fcntl lock on a file beside the outputs.

Two applies that interleave could reload Prometheus with half of each one's
rule files, or restore files the other one wrote. The second apply waits for
the lock (``--lock-timeout`` seconds), then fails naming the process that
holds it. The kernel drops the lock when its holder exits, however it exits,
so a crashed apply never leaves a stale lock; the file itself stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sloctl.errors import LockError

LOCK_FILE = ".sloctl.lock"


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text


@contextlib.contextmanager
def apply_lock(
    directory: Path,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    poll: float = 0.1,
) -> Iterator[Path]:
    """Hold the apply lock of ``directory`` for the duration of the block.

    Raises:
        LockError: another process held it for more than ``timeout`` seconds.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                who = f"another sloctl apply (pid {holder})" if holder else "another sloctl apply"
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"{who} holds {path}; gave up after {timeout:g}s "
                        "(wait for it, or raise --lock-timeout)"
                    ) from None
                if not told and on_wait is not None:
                    on_wait(f"waiting for {who} to release {path}")
                    told = True
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
