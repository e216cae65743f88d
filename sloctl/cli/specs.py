"""Commands over spec files: validate, apply, diff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.syntax import Syntax

from sloctl import promtool
from sloctl.build import Build, build, default_paths
from sloctl.cli.common import (
    OutputFormat,
    OutputOption,
    SpecPaths,
    print_data,
    print_warnings,
    stderr,
    stdout,
    table,
)
from sloctl.outputs import Change, apply_changes, plan
from sloctl.promql import format_number
from sloctl.slo_math import slo_conditions
from sloctl.spec.models import SLO

RulesDirOption = Annotated[
    Path,
    typer.Option(
        "--rules-dir",
        help="Where the Prometheus rule files go.",
        envvar="SLOCTL_RULES_DIR",
    ),
]
FileOption = Annotated[
    list[str] | None,
    typer.Option(
        "--file",
        "-f",
        help="Spec file or directory; repeat for more. Default: slo_specs/.",
    ),
]


def slo_summary(slo: SLO) -> dict[str, Any]:
    alerts = sorted({c.severity for c in slo_conditions(slo)})
    return {
        "id": slo.id,
        "service": slo.service,
        "team": slo.team,
        "sli": slo.sli.kind,
        "objective": slo.objective,
        "window": str(slo.window),
        "group_by": list(slo.group_by),
        "alerts": alerts,
        "source": slo.source,
    }


def validate(paths: SpecPaths = None, output: OutputOption = OutputFormat.table) -> None:
    """Check spec files: every problem is reported as path:line: field: message."""
    result = build(default_paths(paths))
    print_warnings(result.warnings)
    summaries = [slo_summary(s) for s in result.specs.slos]
    if output is not OutputFormat.table:
        print_data(
            {
                "files": result.specs.files,
                "slos": summaries,
                "warnings": [str(w) for w in result.warnings],
            },
            output,
        )
        return
    rows = [
        (
            s["id"],
            s["sli"],
            f"{format_number(s['objective'])}%",
            s["window"],
            ", ".join(s["group_by"]) or "-",
            ", ".join(s["alerts"]) or "none",
        )
        for s in summaries
    ]
    console = stdout()
    console.print(table(None, ["SLO", "SLI", "objective", "window", "group by", "alerts"], rows))
    console.print(
        f"[green]ok[/]: {len(summaries)} SLOs in {len(result.specs.files)} files are valid"
    )


def _outputs(result: Build, rules_dir: Path) -> list[Change]:
    return plan(result.rules_outputs(rules_dir), managed=[(rules_dir, "*.rules.yml", "rules")])


def _change_rows(changes: list[Change]) -> list[tuple[str, str, str]]:
    styles = {"created": "green", "updated": "yellow", "removed": "red", "unchanged": "dim"}
    return [(c.path.as_posix(), c.kind, f"[{styles[c.status]}]{c.status}[/]") for c in changes]


def _summary(changes: list[Change]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.status] = counts.get(change.status, 0) + 1
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    return f"{len(changes)} files: " + (", ".join(parts) if parts else "nothing to do")


def _changes_data(changes: list[Change]) -> list[dict[str, str]]:
    return [{"path": c.path.as_posix(), "kind": c.kind, "status": c.status} for c in changes]


def apply(
    file: FileOption = None,
    rules_dir: RulesDirOption = Path("alert_rules"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change without writing anything.")
    ] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Compile specs into Prometheus rules and write them, checked by promtool first."""
    result = build(default_paths(file))
    print_warnings(result.warnings)
    changes = _outputs(result, rules_dir)
    if not dry_run:
        apply_changes(changes, check=promtool.check_rules)
    if output is not OutputFormat.table:
        print_data({"dry_run": dry_run, "changes": _changes_data(changes)}, output)
        return
    console = stdout()
    n_slos = len(result.specs.slos)
    verb = "would write" if dry_run else "wrote"
    console.print(
        f"compiled {n_slos} SLOs from {len(result.specs.files)} spec files; {verb}:",
        highlight=False,
    )
    console.print(table(None, ["file", "kind", "status"], _change_rows(changes)))
    console.print(_summary(changes) + (" (dry run: nothing written)" if dry_run else ""))


def diff(
    file: FileOption = None,
    rules_dir: RulesDirOption = Path("alert_rules"),
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show what apply would change; exit 1 when anything would."""
    result = build(default_paths(file))
    print_warnings(result.warnings)
    changes = [c for c in _outputs(result, rules_dir) if c.status != "unchanged"]
    if output is not OutputFormat.table:
        print_data({"changes": _changes_data(changes)}, output)
    else:
        console = stdout()
        for change in changes:
            console.print(Syntax(change.diff(), "diff", theme="ansi_dark", word_wrap=True))
        if changes:
            stderr().print(f"{len(changes)} generated files differ from the specs")
        else:
            console.print("no changes: generated files match the specs")
    if changes:
        raise typer.Exit(1)
