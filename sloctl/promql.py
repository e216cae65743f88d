"""The small part of PromQL sloctl needs to read and write.

Reading: series selectors such as ``http_requests_total{job="api",code=~"5.."}``
and a scan that finds the selectors inside a query (with the functions around
them). Writing: selectors, label values, numbers and histogram ``le`` matchers
that survive the ``le="0.3"`` / ``le="0.30"`` / Prometheus 3 ``le="1.0"`` forms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

MatchOp = Literal["=", "!=", "=~", "!~"]

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

AGGREGATORS = frozenset(
    {
        "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
        "topk", "bottomk", "quantile", "count_values",
    }
)  # fmt: skip
_MODIFIERS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = frozenset(
    {"bool", "offset", "and", "or", "unless", "atan2", "inf", "nan", "start", "end"}
)
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a selector."""

    name: str
    op: MatchOp
    value: str

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` for a missing label) satisfies the matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit

    def render(self) -> str:
        return f"{self.name}{self.op}{quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A series selector: an optional metric name and label matchers."""

    name: str
    matchers: tuple[Matcher, ...] = ()

    def render(self) -> str:
        inner = ",".join(m.render() for m in self.matchers)
        if not self.name:
            return "{" + inner + "}"
        return f"{self.name}{{{inner}}}" if inner else self.name

    def with_name(self, name: str) -> Selector:
        return Selector(name, self.matchers)

    def with_matchers(self, *extra: Matcher) -> Selector:
        return Selector(self.name, (*self.matchers, *extra))

    def without_label(self, label: str) -> Selector:
        return Selector(self.name, tuple(m for m in self.matchers if m.name != label))

    def label_matchers(self, label: str) -> list[Matcher]:
        return [m for m in self.matchers if m.name == label]

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        """Whether a series with this name and labels is selected."""
        if self.name and self.name != name:
            return False
        return all(m.matches(labels.get(m.name, "")) for m in self.matchers)


def quote(value: str) -> str:
    """Quote a label value as a PromQL double-quoted string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def format_number(value: float) -> str:
    """Write a number for PromQL: ``30`` for whole numbers, else the shortest exact form."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ---------------------------------------------------------------- tokenising


@dataclass(frozen=True)
class _Token:
    kind: Literal["ident", "string", "number", "punct"]
    text: str
    pos: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<number>(?:0[xX][0-9a-fA-F]+)|(?:\.?[0-9][0-9a-zA-Z_.]*(?:[eE][+-]?[0-9]+)?))
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<punct>==|!=|>=|<=|=~|!~|[{}()\[\],=+\-*/%^<>@])
    """,
    re.VERBOSE,
)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise ValueError(f"unexpected character {text[pos]!r} at offset {pos}")
        kind = match.lastgroup
        if kind != "ws":
            out.append(_Token(kind, match.group(), pos))  # type: ignore[arg-type]
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _matcher_at(tokens: list[_Token], i: int) -> Matcher:
    """The matcher ``name op "value"`` whose name is token ``i``."""
    name = tokens[i]
    op = tokens[i + 1] if i + 1 < len(tokens) else None
    value = tokens[i + 2] if i + 2 < len(tokens) else None
    if (
        name.kind != "ident"
        or op is None
        or op.text not in ("=", "!=", "=~", "!~")
        or value is None
        or value.kind != "string"
    ):
        raise ValueError(f"bad label matcher at offset {name.pos}")
    return Matcher(name.text, op.text, _unquote(value.text))  # type: ignore[arg-type]


def _parse_matchers(tokens: list[_Token], i: int) -> tuple[tuple[Matcher, ...], int]:
    """Parse ``{a="b", c=~"d"}`` starting at the ``{`` token; return matchers and next index."""
    assert tokens[i].text == "{"
    i += 1
    matchers: list[Matcher] = []
    while i < len(tokens) and tokens[i].text != "}":
        matchers.append(_matcher_at(tokens, i))
        i += 3
        if i < len(tokens) and tokens[i].text == ",":
            i += 1
    if i >= len(tokens):
        raise ValueError("unclosed '{' in selector")
    return tuple(matchers), i + 1


def parse_matcher(text: str) -> Matcher:
    """Parse one label matcher such as ``code=~"5.."``, its value a PromQL string.

    Only the syntax: a regular expression is compiled where it is used.

    Raises:
        ValueError: the text is not exactly one matcher.
    """
    tokens = _tokens(text)
    if not tokens:
        raise ValueError("empty matcher")
    matcher = _matcher_at(tokens, 0)
    if len(tokens) > 3:
        raise ValueError(f"unexpected {tokens[3].text!r} after the matcher")
    if not LABEL_NAME_RE.match(matcher.name):
        raise ValueError(f"{matcher.name!r} is not a label name")
    return matcher


def parse_selector(text: str) -> Selector:
    """Parse one series selector.

    Raises:
        ValueError: the text is not exactly one selector.
    """
    tokens = _tokens(text)
    if not tokens:
        raise ValueError("empty selector")
    i = 0
    name = ""
    if tokens[0].kind == "ident":
        name = tokens[0].text
        i = 1
    matchers: tuple[Matcher, ...] = ()
    if i < len(tokens) and tokens[i].text == "{":
        matchers, i = _parse_matchers(tokens, i)
    if i != len(tokens):
        raise ValueError(f"unexpected {tokens[i].text!r} after the selector")
    for matcher in matchers:
        if matcher.name == "__name__" and matcher.op == "=" and not name:
            name = matcher.value
        if matcher.op in ("=~", "!~"):
            try:
                re.compile(matcher.value)
            except re.error as err:
                raise ValueError(f"label {matcher.name}: invalid regex: {err}") from err
    matchers = tuple(m for m in matchers if not (m.name == "__name__" and m.op == "="))
    if not name and not any(m.value for m in matchers if m.op in ("=", "=~")):
        raise ValueError("a selector needs a metric name or a non-empty matcher")
    if name and not METRIC_NAME_RE.match(name):
        raise ValueError(f"{name!r} is not a metric name")
    return Selector(name, matchers)


@dataclass(frozen=True)
class FoundSelector:
    """A selector found in a query, with the functions it is nested in (innermost last)."""

    selector: Selector
    functions: tuple[str, ...]
    has_range: bool

    @property
    def counter_function(self) -> str | None:
        """The counter function (rate, irate, increase) directly applied, if any."""
        named = [f for f in self.functions if f]
        if self.has_range and named and named[-1] in COUNTER_FUNCTIONS:
            return named[-1]
        return None


def find_selectors(query: str) -> list[FoundSelector]:
    """Find the series selectors in a PromQL query.

    A light scan, not a full parser: it knows functions, aggregations with
    ``by``/``without``, binary-operator modifiers, ranges and subqueries, which
    covers the SLI queries people write.

    Raises:
        ValueError: the query cannot be tokenised.
    """
    tokens = _tokens(query)
    found: list[FoundSelector] = []
    stack: list[str] = []
    pending_function: str | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind == "ident" and tok.text in _MODIFIERS:
            i += 1
            if nxt is not None and nxt.text == "(":
                while i < len(tokens) and tokens[i].text != ")":
                    i += 1
                i += 1
            continue
        if tok.kind == "ident" and tok.text.lower() in _KEYWORDS:
            i += 1
            continue
        if tok.kind == "ident" and nxt is not None and nxt.text == "(":
            pending_function = tok.text
            i += 1
            continue
        if (
            tok.kind == "ident"
            and tok.text in AGGREGATORS
            and nxt is not None
            and nxt.text
            in (
                "by",
                "without",
            )
        ):
            pending_function = tok.text
            i += 1
            continue
        if tok.kind == "ident" or tok.text == "{":
            name = tok.text if tok.kind == "ident" else ""
            j = i + 1 if tok.kind == "ident" else i
            matchers: tuple[Matcher, ...] = ()
            if j < len(tokens) and tokens[j].text == "{":
                matchers, j = _parse_matchers(tokens, j)
            has_range = j < len(tokens) and tokens[j].text == "["
            for m in matchers:
                if m.name == "__name__" and m.op == "=":
                    name = m.value
            matchers = tuple(m for m in matchers if not (m.name == "__name__" and m.op == "="))
            found.append(FoundSelector(Selector(name, matchers), tuple(stack), has_range))
            i = j
            continue
        if tok.text == "(":
            stack.append(pending_function or "")
            pending_function = None
        elif tok.text == ")":
            if stack:
                stack.pop()
        elif tok.text == "[":
            while i < len(tokens) and tokens[i].text != "]":
                i += 1
        i += 1
    return found


# ---------------------------------------------------------------- histograms


def le_values(threshold: float) -> list[str]:
    """Every way an exporter or Prometheus may write a bucket boundary.

    Go clients write ``0.3`` and ``1``; Python writes ``0.3`` and ``1.0``;
    some exporters pad (``0.30``, ``0.300``); Prometheus 3 normalises classic
    histogram ``le`` labels to float form (``1.0``); tiny bounds may come in
    exponent form (``1e-05``).
    """
    plain = f"{threshold:.15f}".rstrip("0").rstrip(".")
    forms = [plain]
    if "." in plain:
        forms += [plain + "0", plain + "00"]
    else:
        forms += [plain + ".0", plain + ".00"]
    forms += [repr(float(threshold)), f"{threshold:g}"]
    seen: list[str] = []
    for form in forms:
        if form not in seen and float(form) == threshold:
            seen.append(form)
    return seen


def le_matcher(threshold: float) -> Matcher:
    """A ``le`` matcher that selects the bucket whichever way its bound is written."""
    alternatives = "|".join(re.escape(v) for v in le_values(threshold))
    return Matcher("le", "=~", alternatives)
