"""Comparing generated files with what is on disk, and replacing them atomically.

A write happens in three steps: every new file goes to a temporary file in
its target directory (:func:`stage`); the check of each kind (``promtool check
rules``, ``amtool check-config``) runs on the temporary files; only then is
each one renamed over its target (:meth:`Staged.commit`), kind by kind, so
that ``sloctl apply`` can replace the rule files, reload Prometheus, and put
the old files back with :func:`restore` when the reload fails. If anything
fails before the renames, the old files are untouched and the temporary files
are removed.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import tempfile
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
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
    """Whether a file carries sloctl's generated header (so sloctl may replace or remove it).

    YAML files carry it as the first comment line; JSON dashboards, which have no
    comments, start their ``description`` with it.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            text = handle.read() if path.suffix == ".json" else handle.read(512)
    except (OSError, UnicodeDecodeError):
        return False
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError:
            return False
        description = data.get("description") if isinstance(data, dict) else None
        return isinstance(description, str) and description.startswith(GENERATED_MARK)
    return GENERATED_MARK in text.split("\n", 2)[0]


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


@dataclass
class Staged:
    """New contents written to temporary files and checked, waiting to replace the old."""

    changes: list[Change]
    temps: dict[Path, Path] = field(default_factory=dict)

    def commit(self, kinds: Container[str] | None = None) -> list[Change]:
        """Rename the temporary files of ``kinds`` (default: all) over their targets.

        Returns:
            The changes now on disk (removals included), for :func:`restore`.
        """
        done: list[Change] = []
        for change in self.changes:
            if kinds is not None and change.kind not in kinds:
                continue
            if change.status in ("created", "updated"):
                os.replace(self.temps.pop(change.path), change.path)
            elif change.status == "removed":
                with contextlib.suppress(FileNotFoundError):
                    change.path.unlink()
            done.append(change)
        return done

    def discard(self) -> None:
        """Remove the temporary files not committed; their targets keep the old contents."""
        for temp in self.temps.values():
            with contextlib.suppress(OSError):
                temp.unlink()
        self.temps.clear()


def stage(changes: Sequence[Change], checks: Mapping[str, Check] | None = None) -> Staged:
    """Write every new file next to its target and run the check of its kind on them.

    Raises:
        SloctlError: from a check, with nothing replaced and the temporary files removed.
        OutputError: a file could not be written; nothing was replaced.
    """
    staged = Staged(list(changes))
    try:
        for change in changes:
            if change.status not in ("created", "updated"):
                continue
            assert change.new is not None
            staged.temps[change.path] = write_temp(change.path, change.new)
        for kind, check in (checks or {}).items():
            paths = [
                staged.temps[c.path] for c in changes if c.kind == kind and c.path in staged.temps
            ]
            if paths:
                check(paths)
    except SloctlError:
        staged.discard()
        raise
    except OSError as err:
        staged.discard()
        raise OutputError(f"cannot write {err.filename or 'output'}: {err.strerror}") from err
    return staged


def write_temp(path: Path, text: str) -> Path:
    """``text`` in a new temporary file beside ``path`` (same file system: renames are atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(name, 0o644)
    return Path(name)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename."""
    os.replace(write_temp(path, text), path)


def apply_changes(changes: Sequence[Change], checks: Mapping[str, Check] | None = None) -> None:
    """Write the changes atomically; each kind's check sees its new files first.

    Raises:
        SloctlError: from a check, with nothing replaced.
        OutputError: a file could not be written; nothing was replaced.
    """
    stage(changes, checks).commit()


def restore(done: Sequence[Change]) -> None:
    """Undo committed changes: created files go, updated and removed ones get their old text.

    Raises:
        OutputError: a file could not be restored.
    """
    try:
        for change in done:
            if change.status == "created":
                with contextlib.suppress(FileNotFoundError):
                    change.path.unlink()
            elif change.status in ("updated", "removed"):
                assert change.old is not None
                write_atomic(change.path, change.old)
    except OSError as err:
        raise OutputError(f"cannot restore {err.filename or 'output'}: {err.strerror}") from err
