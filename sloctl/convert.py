"""Writing SLOs read from any format as native ``ServiceSLOs`` documents (``sloctl convert``).

A converted file holds every SLO of one service (one document per team, as a
native document has one team). Reading it back gives the same SLOs, so it
compiles to the same rules: :func:`check_round_trip` proves that on the
written text before anything replaces a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sloctl.compile.yamlout import dump
from sloctl.errors import CompileError
from sloctl.spec.loader import SpecSet, load_specs
from sloctl.spec.models import SLO
from sloctl.spec.native import to_native

CONVERT_MARK = "Converted by sloctl"


@dataclass(frozen=True)
class Converted:
    """The native spec text of one service and the SLOs it must read back as."""

    service: str
    sources: tuple[str, ...]
    text: str
    slos: tuple[SLO, ...]

    @property
    def filename(self) -> str:
        return f"{self.service}.yaml"


def _by_team(slos: Sequence[SLO]) -> list[list[SLO]]:
    groups: dict[str | None, list[SLO]] = {}
    for slo in slos:
        groups.setdefault(slo.team, []).append(slo)
    return list(groups.values())


def header(sources: Sequence[str]) -> list[str]:
    return [
        f"{CONVERT_MARK} from {', '.join(sources)}.",
        "This file is now the spec: edit it, and remove the original (the same SLO ids "
        "cannot be defined twice).",
    ]


def convert(specs: SpecSet, sources: dict[str, str]) -> list[Converted]:
    """The native text of every service in ``specs``.

    Args:
        specs: the SLOs read from any format.
        sources: the display path of the file each SLO id came from.
    """
    out = []
    for service, slos in specs.by_service().items():
        files = tuple(sorted({sources[s.id] for s in slos if s.id in sources}))
        docs: list[dict[str, Any]] = [to_native(group) for group in _by_team(slos)]
        parts = [dump(doc, header(files) if i == 0 else ()) for i, doc in enumerate(docs)]
        out.append(Converted(service, files, "---\n".join(parts), tuple(slos)))
    return out


def _comparable(slo: SLO) -> dict[str, Any]:
    data = slo.model_dump(mode="json", by_alias=True)
    data.pop("source", None)
    return data


def check_round_trip(converted: Sequence[Converted], paths: Sequence[Path]) -> None:
    """Read the written files back and compare them with the SLOs they were made from.

    Raises:
        CompileError: a converted SLO reads back differently (a bug in sloctl, never the input).
        SpecError: the written text is not a valid spec.
    """
    expected = {s.id: _comparable(s) for c in converted for s in c.slos}
    found = {s.id: _comparable(s) for s in load_specs(paths).slos}
    for slo_id in sorted(set(expected) | set(found)):
        if expected.get(slo_id) != found.get(slo_id):
            raise CompileError(
                f"converting SLO {slo_id} would change it; nothing was written "
                "(please report this as a bug)"
            )
