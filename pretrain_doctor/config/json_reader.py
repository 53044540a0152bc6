"""JSON reading: values from the standard library, key positions from a small scanner."""

from __future__ import annotations

import bisect
import re
from typing import Any

from ..errors import ConfigError
from ..lazyre import lazy_compile
from .document import KeyPath, LazyPositions, Position


def read_json(text: str, path: str) -> tuple[Any, LazyPositions]:
    import json  # only for a JSON file: the decoder is ~6 M instructions of every `check` start

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        error = ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, exc.lineno)
        placeholder = _PLACEHOLDER.match(text, exc.pos)
        if placeholder:
            # a template a script fills in with sed (Megatron-DeepSpeed's ds_config_gpt_TEMPLATE.json:
            # `"train_batch_size": CONFIG_BATCH_SIZE`): skipped in a folder walk, an error when named
            error = ConfigError(f"{error.message}: `{placeholder.group(0)}` is a template placeholder a script fills "
                                "in, not JSON", path, exc.lineno)
            error.skippable = True
        raise error from None
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit conversion limit
        raise ConfigError(f"invalid JSON: {exc}", path) from None
    return data, LazyPositions(lambda: key_positions(text))


# A bare word where a JSON value goes that a script substitutes: CONFIG_BATCH_SIZE, ${VAR}, {{ var }}.
_PLACEHOLDER = lazy_compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{3,}(?![a-z])|\$\{?\w+\}?|\{\{[^}]*\}\}")

# Tokens of valid JSON: a whole string, one punctuation mark, or a bare scalar (number, true...).
_TOKEN = lazy_compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def _json_string(token: str) -> Any:
    import json

    return json.loads(token)


def key_positions(text: str) -> dict[KeyPath, Position]:
    """Positions of object keys and array items, by one regex pass over valid JSON.

    Each frame of the stack is [container kind, path of the container, current key or
    index, whether the next string is a key].
    """
    offsets: dict[KeyPath, int] = {}
    stack: list[list[Any]] = []

    def start_value(offset: int) -> None:
        if stack and stack[-1][0] == "array":
            frame = stack[-1]
            frame[2] += 1
            offsets.setdefault(frame[1] + (frame[2],), offset)

    for match in _TOKEN.finditer(text):
        token, offset = match.group(), match.start()
        first = token[0]
        if first == '"' and stack and stack[-1][3]:
            frame = stack[-1]
            frame[2], frame[3] = (_json_string(token) if "\\" in token else token[1:-1]), False
            offsets[frame[1] + (frame[2],)] = offset  # the last duplicate wins, as in json.loads
        elif first in "{[":
            start_value(offset)
            base: KeyPath = stack[-1][1] + (stack[-1][2],) if stack else ()
            stack.append(["object", base, None, True] if first == "{" else ["array", base, -1, False])
        elif first in "}]":
            if stack:
                stack.pop()
        elif first == ",":
            if stack and stack[-1][0] == "object":
                stack[-1][3] = True
        elif first != ":":
            start_value(offset)
    return _positions_of(text, offsets)


def _positions_of(text: str, offsets: dict[KeyPath, int]) -> dict[KeyPath, Position]:
    """Character offsets -> 1-based (line, column)."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    positions = {}
    for path, offset in offsets.items():
        line = bisect.bisect_right(line_starts, offset)
        positions[path] = Position(line, offset - line_starts[line - 1] + 1)
    return positions
