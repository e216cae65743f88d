"""Turning pydantic validation errors into ``path:line: field: message`` problems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from sloctl.errors import SpecError, SpecProblem
from sloctl.spec.yamlsrc import Loc, YamlDocument

M = TypeVar("M", bound=BaseModel)

_PREFIXES = ("Value error, ", "Assertion failed, ")
_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
}


def error_message(error: dict[str, object]) -> str:
    kind = str(error.get("type", ""))
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    message = str(error.get("msg", "invalid value"))
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message.splitlines()[0]


def clean_loc(loc: Sequence[object]) -> Loc:
    """Drop pydantic's internal steps (``function-after[...]``) from a location."""
    return tuple(
        part
        for part in loc
        if isinstance(part, int) or (isinstance(part, str) and "[" not in part and "-" not in part)
    )


def validation_problems(
    doc: YamlDocument, err: ValidationError, base: Loc = ()
) -> list[SpecProblem]:
    """One problem per pydantic error, located in ``doc`` under ``base``."""
    problems = []
    for error in err.errors():
        loc = (*base, *clean_loc(error["loc"]))
        problems.append(doc.problem(loc, error_message(dict(error))))
    return problems


def validated(doc: YamlDocument, model: type[M]) -> M:
    """``doc`` as ``model``.

    Raises:
        SpecError: one problem per pydantic error, at its line in ``doc``.
    """
    try:
        return model.model_validate(doc.data)
    except ValidationError as err:
        raise SpecError(validation_problems(doc, err)) from err


def raise_problems(doc: YamlDocument, base: Loc, problems: Sequence[tuple[Loc, str]]) -> None:
    """Raise the (location under ``base``, message) problems found in ``doc``, if any.

    Raises:
        SpecError: one problem per pair, at its line in ``doc``.
    """
    if problems:
        raise SpecError(doc.problem((*base, *loc), message) for loc, message in problems)
