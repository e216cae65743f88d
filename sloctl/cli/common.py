"""What every command shares: consoles, the output format option, data printing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sloctl.errors import SpecProblem


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="How to print the result: table for people, json or yaml for scripts.",
    ),
]

SpecPaths = Annotated[
    list[str] | None,
    typer.Argument(
        help="Spec files or directories (searched for *.yaml, *.yml). Default: slo_specs/."
    ),
]


def _width(stream: Any) -> int | None:
    """Full width for pipes and files, so tables are not folded at 80 columns."""
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return None
    return 200


def stdout() -> Console:
    return Console(soft_wrap=True, width=_width(sys.stdout))


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, width=_width(sys.stderr))


def print_warnings(warnings: Sequence[SpecProblem]) -> None:
    console = stderr()
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {escape(str(warning))}", highlight=False, markup=True)


def print_data(data: Any, fmt: OutputFormat) -> None:
    """Print machine-readable output (json or yaml) on stdout."""
    if fmt is OutputFormat.json:
        print(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        print(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), end="")


def when(value: object) -> str:
    """A time for a table cell: ``2026-11-24 10:45:36``, ``-`` when there is none."""
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A table whose title and cells print as they are.

    Cells are often a server's or a file's text (an alert's title, a log line,
    a path), so a ``str`` is never read as rich markup, where ``[/]`` would
    crash and ``[red]`` would vanish; a cell that should be styled is a
    :class:`rich.text.Text` (``Text.from_markup("[green]ok[/]")``).
    """
    out = Table(
        title=Text(title) if title is not None else None,
        title_justify="left",
        header_style="bold",
    )
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(cell if isinstance(cell, Text) else Text(str(cell)) for cell in row))
    return out
