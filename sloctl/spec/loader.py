"""Finding spec files, recognising their format per document, and reading them into SLOs.

Every problem in every file is collected before anything is reported, so one
run shows them all. Readers for other formats register themselves in
:data:`READERS`; a document no reader claims is an error, not silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sloctl.errors import SpecError, SpecProblem
from sloctl.spec import native, openslo, pyrra, slogen, sloth
from sloctl.spec.models import SLO
from sloctl.spec.reader import Origin, Reader, ReadResult
from sloctl.spec.yamlsrc import Loc, YamlDocument, load_documents

__all__ = ["READERS", "Origin", "ReadResult", "Reader", "SpecSet", "discover", "load_specs"]

SPEC_SUFFIXES = (".yaml", ".yml")


#: Every format sloctl reads, tried in order on each YAML document.
READERS: list[Reader] = [
    native.READER,
    openslo.READER,
    sloth.READER,
    pyrra.READER,
    slogen.READER,
]


@dataclass
class SpecSet:
    """The SLOs of a run, with where each came from."""

    slos: list[SLO]
    origins: dict[str, Origin] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    warnings: list[SpecProblem] = field(default_factory=list)

    def by_service(self) -> dict[str, list[SLO]]:
        out: dict[str, list[SLO]] = {}
        for slo in self.slos:
            out.setdefault(slo.service, []).append(slo)
        return dict(sorted(out.items()))

    def problem(self, slo: SLO, sub: Loc, message: str) -> SpecProblem:
        origin = self.origins.get(slo.id)
        if origin is None:
            return SpecProblem(slo.source or slo.id, 0, ".".join(map(str, sub)), message)
        return origin.problem(sub, message)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Spec files under the given paths: files as named, directories searched recursively.

    Raises:
        SpecError: a path does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            raise SpecError.at(str(path), 0, "", "no such file or directory")
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def _describe(data: object) -> str:
    if not isinstance(data, dict):
        return f"a YAML {type(data).__name__}"
    api = data.get("apiVersion") or data.get("version")
    kind = data.get("kind")
    return f"apiVersion {api!r}, kind {kind!r}" if api or kind else "a mapping without apiVersion"


def load_specs(paths: Iterable[str | Path], readers: Sequence[Reader] | None = None) -> SpecSet:
    """Read every spec under ``paths`` into SLOs.

    Raises:
        SpecError: any problem in any file; all of them are reported together.
    """
    readers = READERS if readers is None else readers
    files = discover(paths)
    problems: list[SpecProblem] = []
    claimed: dict[str, list[YamlDocument]] = {r.name: [] for r in readers}
    for path in files:
        try:
            docs = load_documents(str(path), path.read_text(encoding="utf-8"))
        except SpecError as err:
            problems.extend(err.problems)
            continue
        except (OSError, UnicodeDecodeError) as err:
            problems.append(SpecProblem(str(path), 0, "", f"cannot read file: {err}"))
            continue
        for doc in docs:
            reader = next((r for r in readers if r.claims(doc)), None)
            if reader is None:
                problems.append(
                    SpecProblem(
                        doc.path,
                        doc.line,
                        "apiVersion",
                        f"{_describe(doc.data)} is not a spec format sloctl reads "
                        "(sloctl.dev/v1, openslo/v1, Sloth prometheus/v1, pyrra.dev/v1alpha1, "
                        "slo-generator sre.google.com/v2)",
                    )
                )
                continue
            claimed[reader.name].append(doc)
    read = ReadResult()
    for reader in readers:
        if claimed[reader.name]:
            read.extend(reader.read(claimed[reader.name]))
    problems.extend(read.problems)
    result = SpecSet(slos=[], files=[str(p) for p in files], warnings=sorted(set(read.warnings)))
    for slo, origin in read.slos:
        previous = result.origins.get(slo.id)
        if previous is not None:
            first = previous.doc.line_of(previous.loc)
            problems.append(
                origin.problem(
                    ("name",),
                    f"SLO id {slo.id!r} is already defined at {previous.doc.path}:{first}",
                )
            )
            continue
        result.slos.append(slo)
        result.origins[slo.id] = origin
    if problems:
        raise SpecError(problems)
    result.slos.sort(key=lambda s: s.id)
    return result
