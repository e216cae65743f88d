"""YAML documents that remember where each value came from.

PyYAML (with libyaml when present) composes the node tree; we build plain
Python values from it while recording the line of every mapping key and list
item, so that a validation error at ``spec.slos[2].objective`` can be reported
as ``orders.yaml:17``. Duplicate keys, which YAML silently lets the last one
win, are errors here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sloctl.errors import SpecError, SpecProblem

Loc = tuple[str | int, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlDocument:
    """One YAML document of a file, with the line of every value in it."""

    path: str
    index: int
    data: Any
    line: int
    positions: dict[Loc, int] = field(repr=False, compare=False)

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The line of the deepest known part of ``loc`` (the document start at worst)."""
        key = tuple(loc)
        while key:
            if key in self.positions:
                return self.positions[key]
            key = key[:-1]
        return self.line

    def problem(self, loc: Sequence[str | int], message: str) -> SpecProblem:
        """A problem located at ``loc`` in this document."""
        return SpecProblem(self.path, self.line_of(loc), format_loc(loc), message)


def format_loc(loc: Sequence[str | int]) -> str:
    """Render a location as ``spec.slos[0].sli``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Builder:
    def __init__(self) -> None:
        self.positions: dict[Loc, int] = {}
        self.constructor = yaml.constructor.SafeConstructor()
        self.problems: list[tuple[int, Loc, str]] = []

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.positions.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            return self.constructor.construct_object(node, deep=True)
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        pairs = list(node.value)
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in pairs:
            if key_node.tag == _MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    if isinstance(source, yaml.MappingNode):
                        merged.extend(source.value)
        tagged = [(k, v, True) for k, v in pairs] + [(k, v, False) for k, v in merged]
        for key_node, value_node, is_own in tagged:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                self.problems.append(
                    (key_node.start_mark.line + 1, loc, "mapping keys must be plain values")
                )
                continue
            if key in out:
                if is_own:
                    self.problems.append(
                        (key_node.start_mark.line + 1, (*loc, str(key)), "duplicate key")
                    )
                continue
            child_loc: Loc = (*loc, key if isinstance(key, (str, int)) else str(key))
            self.positions[child_loc] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child_loc)
        return out


def load_documents(path: str, text: str) -> list[YamlDocument]:
    """Parse every document of a YAML file.

    Raises:
        SpecError: the text is not valid YAML, or a mapping repeats a key.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else 0
        reason = err.problem or err.context or "invalid YAML"
        raise SpecError.at(path, line, "", f"invalid YAML: {reason}") from err
    except yaml.YAMLError as err:  # pragma: no cover - libyaml reader errors
        raise SpecError.at(path, 0, "", f"invalid YAML: {err}") from err
    documents = []
    for index, node in enumerate(nodes):
        if node is None:
            continue
        builder = _Builder()
        try:
            data = builder.build(node, ())
        except yaml.constructor.ConstructorError as err:
            mark = err.problem_mark
            line = mark.line + 1 if mark else 0
            raise SpecError.at(path, line, "", f"invalid YAML: {err.problem}") from err
        if data is None:
            continue
        if builder.problems:
            line, loc, message = builder.problems[0]
            raise SpecError.at(path, line, format_loc(loc), message)
        documents.append(
            YamlDocument(
                path=path,
                index=index,
                data=data,
                line=node.start_mark.line + 1,
                positions=builder.positions,
            )
        )
    return documents


def read_source(path: Path, what: str) -> str:
    """The text of a file the user named, read once.

    Raises:
        SpecError: ``path: cannot read <what>: <reason>``, one line rather than a traceback.
    """
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError.at(str(path), 0, "", f"cannot read {what}: {err.strerror}") from err


def only_document(path: str, text: str, what: str) -> YamlDocument:
    """The one document of a file that holds a single object (a routing or on-call file).

    Raises:
        SpecError: invalid YAML, or ``<what> holds exactly one YAML document``.
    """
    docs = load_documents(path, text)
    if len(docs) != 1:
        raise SpecError.at(path, 0, "", f"{what} holds exactly one YAML document")
    return docs[0]
