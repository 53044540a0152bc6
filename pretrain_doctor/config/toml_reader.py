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
    return data, _key_positions(text)


def _split_key(raw: str) -> KeyPath:
    return tuple(part.strip().strip("\"'") for part in raw.split("."))


def _key_positions(text: str) -> dict[KeyPath, Position]:
    positions: dict[KeyPath, Position] = {}
    table: KeyPath = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if in_multiline:
            in_multiline = stripped.count('"""') % 2 == 0 and stripped.count("'''") % 2 == 0
            continue
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
            value = line[assign.end() :]
            if value.count('"""') == 1 or value.count("'''") == 1:
                in_multiline = True
    return positions
