"""A small, fast, deterministic YAML writer for generated files.

Generated files are read by people in reviews, so PromQL stays readable:
plain scalars where YAML allows them, single quotes for one-line expressions
(PromQL is full of double quotes), literal blocks for multi-line ones. Keys
keep the order they are built in; callers sort what must be sorted. Output is
checked to load back to the same data in the unit tests.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z0-9_/$][A-Za-z0-9_./:$@()+ -]*$")
_AMBIGUOUS = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|"
    r"off|Off|OFF|y|Y|n|N|[-+]?(?:\d[\d_]*)?(?:\.\d*)?(?:[eE][-+]?\d+)?|"
    r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0x[0-9a-fA-F_]+|0o?[0-7_]+|"
    r"[-+]?\d[\d_]*(?::[0-5]?\d)+(?:\.\d*)?|\d{4}-\d\d?-\d\d?.*)$"
)


def scalar(value: Any) -> str:
    """One scalar in its most readable safe YAML form (single-line values only)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return _string(str(value))


@functools.lru_cache(maxsize=65536)
def _string(text: str) -> str:
    if (
        text
        and _PLAIN.fullmatch(text)
        and not _AMBIGUOUS.fullmatch(text)
        and not text.endswith((" ", ":"))
        and ": " not in text
        and " #" not in text
    ):
        return text
    if "\n" not in text and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return double_quoted(text)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def double_quoted(text: str) -> str:
    """A YAML double-quoted scalar; anything not plainly printable is escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            if code < 0x100:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _block(text: str, indent: str) -> list[str] | None:
    """A literal block for multi-line text, or None when one cannot hold it exactly."""
    if "\n" not in text or text.startswith((" ", "\n")) or text.endswith("\n"):
        return None
    if not text.replace("\n", "").isprintable():
        return None
    if any(line.endswith(" ") for line in text.split("\n")):
        return None
    return ["|-"] + [f"{indent}{line}" if line else "" for line in text.split("\n")]


def _emit(value: Any, indent: int, out: list[str], prefix: str) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            out.append(f"{prefix}{{}}")
            return
        first = True
        for key, item in value.items():
            lead = prefix if first else pad
            first = False
            _emit_item(f"{lead}{scalar(str(key))}:", item, indent, out)
        return
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            out.append(f"{prefix}[]")
            return
        first = True
        for item in value:
            lead = prefix if first else pad
            first = False
            nested = isinstance(item, Mapping) or (
                isinstance(item, Sequence) and not isinstance(item, str)
            )
            if nested and item:
                _emit(item, indent + 2, out, f"{lead}- ")
            elif nested:
                out.append(f"{lead}- {'{}' if isinstance(item, Mapping) else '[]'}")
            else:
                out.append(f"{lead}- {scalar(item)}")
        return
    out.append(f"{prefix}{scalar(value)}")


def _emit_item(head: str, item: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(item, Mapping) and item:
        out.append(head)
        _emit(item, indent + 2, out, " " * (indent + 2))
    elif isinstance(item, Sequence) and not isinstance(item, str) and item:
        out.append(head)
        _emit(item, indent, out, pad)
    elif isinstance(item, str) and "\n" in item:
        block = _block(item, " " * (indent + 2))
        if block is None:
            out.append(f"{head} {scalar(item)}")
        else:
            out.append(f"{head} {block[0]}")
            out.extend(block[1:])
    elif isinstance(item, Mapping):
        out.append(f"{head} {{}}")
    elif isinstance(item, (list, tuple)):
        out.append(f"{head} []")
    else:
        out.append(f"{head} {scalar(item)}")


def dump(data: Any, header: Sequence[str] = ()) -> str:
    """YAML text for ``data``, with ``header`` lines as comments on top."""
    out = [f"# {line}" if line else "#" for line in header]
    _emit(data, 0, out, "")
    return "\n".join(out) + "\n"
