"""From spec paths to generated files: the steps validate, apply, diff and test share."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sloctl.compile import render_rule_file
from sloctl.compile.rules import RuleFile, check_slo, compile_service
from sloctl.errors import SpecError, SpecProblem
from sloctl.spec.loader import SpecSet, load_specs


@dataclass(frozen=True)
class GeneratedFile:
    """A file sloctl writes: where, what, and which kind of output it is."""

    path: Path
    content: str
    kind: str


@dataclass
class Build:
    """Specs that passed every check, ready to compile."""

    specs: SpecSet
    warnings: list[SpecProblem] = field(default_factory=list)

    def rule_files(self) -> list[RuleFile]:
        out = []
        for service, slos in self.specs.by_service().items():
            sources = {
                display_path(self.specs.origins[s.id].doc.path)
                for s in slos
                if s.id in self.specs.origins
            }
            out.append(compile_service(service, slos, sorted(sources)))
        return out

    def rules_outputs(self, rules_dir: Path) -> list[GeneratedFile]:
        return [
            GeneratedFile(rules_dir / rf.filename, render_rule_file(rf), "rules")
            for rf in self.rule_files()
        ]


def display_path(path: str) -> str:
    """A path relative to the working directory when it is below it, in POSIX form."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(os.path.normpath(path)).as_posix()


def build(paths: Iterable[str | Path]) -> Build:
    """Load specs and run the compiler's checks.

    Raises:
        SpecError: every problem in the specs, from reading or from the compiler's checks.
    """
    specs = load_specs(paths)
    errors: list[SpecProblem] = []
    warnings: list[SpecProblem] = list(specs.warnings)
    for slo in specs.slos:
        errs, warns = check_slo(slo)
        errors.extend(specs.problem(slo, loc, message) for loc, message in errs)
        warnings.extend(specs.problem(slo, loc, message) for loc, message in warns)
    if errors:
        raise SpecError(errors)
    return Build(specs, warnings)


def default_paths(paths: Sequence[str | Path] | None) -> list[str | Path]:
    return list(paths) if paths else ["slo_specs"]
