"""The interface every spec format implements, and where each SLO came from.

A :class:`Reader` claims YAML documents (per document, so a file may mix
formats) and reads all the documents it claimed in one run at once, so that a
format with references between objects (OpenSLO) can resolve them across
files. It returns the SLOs with their :class:`Origin`, the problems that make
the run fail, and warnings (things read but changed on the way in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sloctl.errors import SpecProblem
from sloctl.spec.models import SLO
from sloctl.spec.yamlsrc import Loc, YamlDocument


@dataclass(frozen=True)
class Origin:
    """Where an SLO was defined: the document and the location of its entry.

    ``fields`` maps a location in sloctl's own terms (``("alerting", "page")``,
    or any location under it) to where that setting lives in the source
    document, for formats whose field names differ (Sloth's
    ``alerting.page_alert``); checks that run on the typed SLO then point at
    the user's own line and field.
    """

    doc: YamlDocument
    loc: Loc
    fields: tuple[tuple[Loc, Loc], ...] = ()

    def problem(self, sub: Loc, message: str) -> SpecProblem:
        for ours, theirs in sorted(self.fields, key=lambda pair: -len(pair[0])):
            if tuple(sub[: len(ours)]) == ours:
                return self.doc.problem(theirs, message)
        return self.doc.problem((*self.loc, *sub), message)


@dataclass
class ReadResult:
    """What a reader found in the documents it claimed."""

    slos: list[tuple[SLO, Origin]] = field(default_factory=list)
    problems: list[SpecProblem] = field(default_factory=list)
    warnings: list[SpecProblem] = field(default_factory=list)

    def extend(self, other: ReadResult) -> None:
        self.slos.extend(other.slos)
        self.problems.extend(other.problems)
        self.warnings.extend(other.warnings)


@dataclass(frozen=True)
class Reader:
    """A spec format: which documents it claims and how it reads them.

    ``read`` gets every claimed document of the run at once, so formats with
    references between documents (OpenSLO) can resolve them across files.
    """

    name: str
    claims: Callable[[YamlDocument], bool]
    read: Callable[[Sequence[YamlDocument]], ReadResult]
