"""TOML reading: values from `tomllib`, key positions from a line scan."""

from __future__ import annotations

import re
import sys
from typing import Any

from ..errors import ConfigError
from .document import KeyPath, Position

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^(\s*)([A-Za-z0-9_\-\.\"' ]+?)\s*=")
_LINE_IN_MESSAGE = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(text: str, path: str) -> tuple[Any, dict[KeyPath, Position]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _LINE_IN_MESSAGE.search(message)
        line = int(found.group(1)) if found else getattr(exc, "lineno", None)
        raise ConfigError(f"invalid TOML: {_LINE_IN_MESSAGE.sub('', message).strip()}", path, line) from None
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit conversion limit
        raise ConfigError(f"invalid TOML: {exc}", path) from None
    return data, _key_positions(text)


def _split_key(raw: str) -> KeyPath:
    return tuple(part.strip().strip("\"'") for part in raw.split("."))


def _key_positions(text: str) -> dict[KeyPath, Position]:
    """Key -> position by a line scan that skips the inside of multi-line strings, arrays and
    inline tables (a `"x = y"` inside a string is not a key)."""
    positions: dict[KeyPath, Position] = {}
    table: KeyPath = ()
    open_string: str | None = None  # the delimiter of a multi-line string still open
    depth = 0  # brackets of a multi-line array or inline table still open
    # tomllib counts lines by "\n" only; str.splitlines would also split at U+2028 in a string.
    for number, line in enumerate(text.split("\n"), start=1):
        if open_string or depth:
            open_string, depth = _scan_value(line, open_string, depth)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _TABLE.match(line)
        if header and "=" not in header.group(1):
            table = _split_key(header.group(1))
            positions.setdefault(table, Position(number, line.index("[") + 1))
            continue
        assign = _ASSIGN.match(line)
        if assign:
            key = table + _split_key(assign.group(2))
            positions.setdefault(key, Position(number, len(assign.group(1)) + 1))
            open_string, depth = _scan_value(line[assign.end() :], None, 0)
    return positions


def _scan_value(segment: str, open_string: str | None, depth: int) -> tuple[str | None, int]:
    """Carry the string / bracket state of a value across one line."""
    i, n = 0, len(segment)
    while i < n:
        if open_string:
            close = _find_closing(segment, i, open_string)
            if close < 0:
                return open_string, depth
            i, open_string = close + 3, None
            continue
        char = segment[i]
        if char == "#":
            break
        if segment.startswith(('"""', "'''"), i):
            open_string, i = segment[i : i + 3], i + 3
        elif char in "\"'":
            i = _find_closing(segment, i + 1, char)
            i = n if i < 0 else i + 1
        else:
            depth += char in "[{"
            depth -= depth > 0 and char in "]}"
            i += 1
    return open_string, depth


def _find_closing(segment: str, start: int, delimiter: str) -> int:
    """Index of `delimiter` closing a string from `start` (escapes count in basic strings), or -1."""
    i = start
    while i < len(segment):
        if delimiter[0] == '"' and segment[i] == "\\":
            i += 2
            continue
        if segment.startswith(delimiter, i):
            return i
        i += 1
    return -1
