"""Comparing generated files with what is on disk, and replacing them atomically.

A write happens in three steps: every new file goes to a temporary file in
its target directory; the caller's check (``promtool check rules``) runs on
the temporary files; only then is each one renamed over its target. If
anything fails before the renames, the old files are untouched and the
temporary files are removed.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sloctl.build import GeneratedFile
from sloctl.compile import GENERATED_MARK
from sloctl.errors import OutputError, SloctlError

Status = Literal["created", "updated", "unchanged", "removed"]


@dataclass(frozen=True)
class Change:
    """What writing one file would do."""

    path: Path
    kind: str
    status: Status
    old: str | None
    new: str | None

    def diff(self) -> str:
        """A unified diff of the change (empty when unchanged)."""
        old = (self.old or "").splitlines(keepends=True)
        new = (self.new or "").splitlines(keepends=True)
        label = self.path.as_posix()
        return "".join(
            difflib.unified_diff(
                old,
                new,
                fromfile=f"a/{label}" if self.old is not None else "/dev/null",
                tofile=f"b/{label}" if self.new is not None else "/dev/null",
            )
        )


def is_generated(path: Path) -> bool:
    """Whether a file carries sloctl's generated header (so sloctl may replace or remove it)."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(512)
    except (OSError, UnicodeDecodeError):
        return False
    return GENERATED_MARK in head.split("\n", 2)[0]


def plan(
    files: Sequence[GeneratedFile], managed: Sequence[tuple[Path, str, str]] = ()
) -> list[Change]:
    """The changes writing ``files`` makes.

    Args:
        files: the generated files.
        managed: (directory, glob, kind) triples whose generated files that are
            no longer produced get removed, e.g. the rule file of a deleted service.
    """
    changes: list[Change] = []
    wanted = {f.path.resolve() for f in files}
    for gen in files:
        old = gen.path.read_text(encoding="utf-8") if gen.path.is_file() else None
        if old is None:
            status: Status = "created"
        elif old == gen.content:
            status = "unchanged"
        else:
            status = "updated"
        changes.append(Change(gen.path, gen.kind, status, old, gen.content))
    for directory, pattern, kind in managed:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob(pattern)):
            if path.resolve() not in wanted and is_generated(path):
                changes.append(
                    Change(path, kind, "removed", path.read_text(encoding="utf-8"), None)
                )
    return sorted(changes, key=lambda c: (c.kind, c.path.as_posix()))


Check = Callable[[Sequence[Path]], None]


def apply_changes(changes: Sequence[Change], check: Check | None = None) -> None:
    """Write the changes atomically; ``check`` sees the new files before they replace the old.

    Raises:
        SloctlError: from ``check``, with nothing replaced.
        OutputError: a file could not be written; nothing was replaced.
    """
    pending = [c for c in changes if c.status in ("created", "updated")]
    temps: list[tuple[Path, Path]] = []
    try:
        for change in pending:
            assert change.new is not None
            change.path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                prefix=f".{change.path.name}.", suffix=".tmp", dir=change.path.parent
            )
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(change.new)
            os.chmod(name, 0o644)
            temps.append((Path(name), change.path))
        if check is not None and temps:
            check([temp for temp, _ in temps])
    except SloctlError:
        _cleanup(temps)
        raise
    except OSError as err:
        _cleanup(temps)
        raise OutputError(f"cannot write {err.filename or 'output'}: {err.strerror}") from err
    for temp, target in temps:
        os.replace(temp, target)
    for change in changes:
        if change.status == "removed":
            with contextlib.suppress(FileNotFoundError):
                change.path.unlink()


def _cleanup(temps: Sequence[tuple[Path, Path]]) -> None:
    for temp, _ in temps:
        with contextlib.suppress(OSError):
            temp.unlink()
