"""``sloctl convert``: write the native equivalent of specs in any format."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from sloctl.build import GeneratedFile, build, display_path
from sloctl.cli.common import print_warnings, stdout, table
from sloctl.convert import check_round_trip, convert
from sloctl.errors import OutputError
from sloctl.outputs import apply_changes, plan


def convert_command(
    files: Annotated[
        list[str],
        typer.Argument(help="Spec files or directories in any format sloctl reads."),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            help="Write one <service>.yaml per service here; without it, print to stdout.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files that already exist in the directory.")
    ] = False,
) -> None:
    """Convert OpenSLO, Sloth, Pyrra or slo-generator specs into native specs that compile alike."""
    result = build(files)
    print_warnings(result.warnings)
    sources = {
        slo_id: display_path(origin.doc.path) for slo_id, origin in result.specs.origins.items()
    }
    converted = convert(result.specs, sources)
    if output_dir is None:
        with tempfile.TemporaryDirectory(prefix="sloctl-convert-") as tmp:
            paths = []
            for item in converted:
                path = Path(tmp) / item.filename
                path.write_text(item.text, encoding="utf-8")
                paths.append(path)
            check_round_trip(converted, paths)
        print("---\n".join(item.text for item in converted), end="")
        return
    outputs = [GeneratedFile(output_dir / c.filename, c.text, "spec") for c in converted]
    changes = plan(outputs)
    clashes = [c.path for c in changes if c.status == "updated"]
    if clashes and not force:
        raise OutputError(
            f"{clashes[0].as_posix()} exists and differs; pass --force to replace it "
            "(nothing was written)"
        )
    apply_changes(changes, checks={"spec": lambda temps: check_round_trip(converted, temps)})
    by_path = {output_dir / c.filename: c for c in converted}
    rows = [
        (
            change.path.as_posix(),
            len(by_path[change.path].slos),
            ", ".join(by_path[change.path].sources),
            change.status,
        )
        for change in changes
    ]
    n_slos = sum(len(c.slos) for c in converted)
    console = stdout()
    console.print(table(None, ["file", "SLOs", "from", "status"], rows))
    console.print(
        f"converted {n_slos} SLOs of {len(converted)} services; remove the original files "
        "before applying, or their SLO ids are defined twice",
        highlight=False,
    )
