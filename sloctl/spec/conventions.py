"""Conventions of the tools whose specs sloctl reads, translated into sloctl's.

Shared by the Sloth, Pyrra, OpenSLO and slo-generator readers:

* Go-template window placeholders (``{{.window}}``) become ``{{window}}``.
* A ``severity`` label the user set (Sloth's ``severity: pageteam``) is kept
  under :data:`ORIGINAL_SEVERITY`, because sloctl's own ``severity`` label is
  always ``page`` or ``ticket`` (a contract the server and the routing rely on).
* Kubernetes object metadata, exact percentages, and turning pydantic errors
  raised while building sloctl's models into problems at the user's lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sloctl.errors import SpecProblem
from sloctl.spec.errors import clean_loc, error_message, validation_problems
from sloctl.spec.models import WINDOW_PLACEHOLDER, StrMap
from sloctl.spec.yamlsrc import Loc, YamlDocument

T = TypeVar("T")

#: Where a user's own ``severity`` label value goes (sloctl's ``severity`` is page or ticket).
ORIGINAL_SEVERITY = "original_severity"

_GO_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")


def has_go_window(query: str) -> bool:
    """Whether a query has Sloth's ``{{.window}}`` placeholder (or sloctl's own)."""
    return bool(_GO_WINDOW.search(query)) or WINDOW_PLACEHOLDER in query


def go_window(query: str) -> str:
    """``{{.window}}`` (Sloth, OpenSLO examples) becomes sloctl's ``{{window}}``."""
    return _GO_WINDOW.sub(WINDOW_PLACEHOLDER, query).strip()


def percent(fraction: float) -> float:
    """A fraction as an exact percentage: 0.999 gives 99.9, not 99.90000000000001."""
    return float(Decimal(repr(fraction)) * 100)


def keep_severity(
    labels: Mapping[str, str],
    doc: YamlDocument,
    loc: Loc,
    warnings: list[SpecProblem],
    tool: str,
    own: str | None = None,
) -> dict[str, str]:
    """The labels with a ``severity`` label moved to ``original_severity``, warning about it.

    ``own`` is the severity of the alert the labels belong to: ``severity: page`` on a
    page alert says nothing new and is dropped without a warning.
    """
    out = dict(labels)
    if "severity" not in out:
        return out
    value = out.pop("severity")
    if value == own:
        return out
    if ORIGINAL_SEVERITY in out and out[ORIGINAL_SEVERITY] != value:
        out["severity"] = value  # the model rejects it, at this location
        return out
    out[ORIGINAL_SEVERITY] = value
    warnings.append(
        doc.problem(
            (*loc, "severity"),
            f"{tool} label severity={value!r} is kept as {ORIGINAL_SEVERITY}={value!r} "
            "(sloctl's severity label is always page or ticket)",
        )
    )
    return out


class ObjectMeta(BaseModel):
    """Kubernetes object metadata: the fields sloctl reads; the rest is Kubernetes' own."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    namespace: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


def attempt(
    factory: Callable[[], T],
    doc: YamlDocument,
    loc: Loc,
    problems: list[SpecProblem],
    rename: Mapping[str, Loc] | None = None,
) -> T | None:
    """Build a model, turning its validation errors into problems located under ``loc``.

    ``rename`` maps the first step of an error's location (sloctl's field name)
    to the path of the same setting in the source format.
    """
    try:
        return factory()
    except ValidationError as err:
        problems.extend(_renamed(doc, err, loc, rename or {}))
        return None
    except ValueError as err:
        problems.append(doc.problem(loc, str(err)))
        return None


def _renamed(
    doc: YamlDocument, err: ValidationError, loc: Loc, rename: Mapping[str, Loc]
) -> list[SpecProblem]:
    if not rename:
        return validation_problems(doc, err, loc)
    out = []
    for error in err.errors():
        steps = clean_loc(error["loc"])
        if steps and isinstance(steps[0], str) and steps[0] in rename:
            steps = (*rename[steps[0]], *steps[1:])
        out.append(doc.problem((*loc, *steps), error_message(dict(error))))
    return out
