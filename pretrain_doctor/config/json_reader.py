"""JSON reading: values from the standard library, key positions from a small scanner."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ConfigError
from .document import KeyPath, Position


def read_json(text: str, path: str) -> tuple[Any, dict[KeyPath, Position]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, exc.lineno) from None
    return data, _key_positions(text)


def _key_positions(text: str) -> dict[KeyPath, Position]:
    """Positions of object keys and array items, by one linear pass over valid JSON."""
    positions: dict[KeyPath, Position] = {}
    # Each frame: [container kind, path of the container, current key or index]
    stack: list[list[Any]] = []
    line, column, i, n = 1, 1, 0, len(text)
    pending_key: str | None = None
    pending_pos: Position | None = None

    def start_value(pos: Position) -> None:
        if stack and stack[-1][0] == "array":
            frame = stack[-1]
            frame[2] += 1
            positions.setdefault(frame[1] + (frame[2],), pos)

    while i < n:
        ch = text[i]
        if ch == "\n":
            line, column, i = line + 1, 1, i + 1
            continue
        here = Position(line, column)
        if ch == '"':
            end = _string_end(text, i)
            if stack and stack[-1][0] == "object" and stack[-1][2] is None:
                pending_key, pending_pos = json.loads(text[i : end + 1]), here
                stack[-1][2] = pending_key
            else:
                start_value(here)
            column += end + 1 - i
            i = end + 1
            continue
        if ch in "{[":
            if not (stack and stack[-1][0] == "object"):
                start_value(here)
            parent = stack[-1] if stack else None
            base: KeyPath = ()
            if parent is not None:
                base = parent[1] + (parent[2],)
            stack.append(["object" if ch == "{" else "array", base, None if ch == "{" else -1])
        elif ch in "}]":
            stack.pop()
        elif ch == ":" and pending_key is not None and stack:
            positions.setdefault(stack[-1][1] + (pending_key,), pending_pos)  # type: ignore[arg-type]
            pending_key = None
        elif ch == ",":
            if stack and stack[-1][0] == "object":
                stack[-1][2] = None
        elif not ch.isspace() and stack and stack[-1][0] == "array" and (i == 0 or text[i - 1] in "[, \t\r\n"):
            start_value(here)
        i += 1
        column += 1
    return positions


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return len(text) - 1
