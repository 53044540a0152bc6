"""Safe YAML reading with a position for every key.

We compose PyYAML's node graph (no objects are ever built from tags) and turn it into
plain data ourselves, so that:
- numbers read the way trainers read them (`2e-5` and `5e12` are floats, `2_000` an int),
- any explicit tag other than the standard ones is an error, never a constructor call,
- aliases cannot expand without bound (billion laughs): expansion has a node budget.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError
from ..lazyre import lazy_compile
from .document import DuplicateKey, KeyPath, Position

MAX_NODES = 200_000  # expanded nodes, aliases counted at their full size
# libyaml's parser when PyYAML was built with it: ~10x faster on large configs (OLMo's run
# through 160 KB), and it refuses nesting deeper than 1000 levels by itself.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STANDARD_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {
    _STANDARD_TAG + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "omap", "merge", "timestamp", "binary")
}
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}
_INT = lazy_compile(r"[-+]?(0|[1-9][0-9_]*)$")
_HEX = lazy_compile(r"[-+]?0x[0-9a-fA-F_]+$")
_FLOAT = lazy_compile(r"[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$")
_FLOAT_START = frozenset("+-.0123456789")
_SPECIAL_FLOATS = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}


def resolve_plain_scalar(text: str) -> Any:
    """How a trainer's YAML loader would read an unquoted scalar, numbers made lenient."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text) or _HEX.match(text):
        try:
            return int(text.replace("_", ""), 16 if "x" in text else 10)
        except ValueError:  # longer than Python's 4300-digit conversion limit
            return text
    # a float starts with a sign, a digit or a point (`e5` matches _FLOAT but is no number): most scalars are words
    if text[0] in _FLOAT_START and any(ch.isdigit() for ch in text) and _FLOAT.match(text):
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    lowered = text.lower()
    if lowered in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[lowered]
    return text


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.positions: dict[KeyPath, Position] = {}
        self.expanded = 0
        self._memo: dict[int, tuple[Any, int]] = {}
        # A key a mapping repeats: (its path, the line of each occurrence, whether the values are equal).
        self.duplicates: list[DuplicateKey] = []

    def build(self, node: Node, key_path: KeyPath) -> Any:
        memo = self._memo.get(id(node))
        if memo is not None:  # an alias: charge its full expanded size again
            self._charge(memo[1], node)
            return memo[0]
        before = self.expanded
        value = self._build_fresh(node, key_path)
        self._memo[id(node)] = (value, self.expanded - before)
        return value

    def _charge(self, count: int, node: Node) -> None:
        self.expanded += count
        if self.expanded > MAX_NODES:
            raise ConfigError(
                f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)",
                self.path,
                node.start_mark.line + 1,
            )

    def _check_tag(self, node: Node) -> None:
        if node.tag in _ALLOWED_TAGS:
            return
        if node.tag.startswith("tag:yaml.org,2002:!"):
            # `[!!!add the model path here!!!]` (held-out review 65, A 12): a template's placeholder, not a tag
            raise ConfigError(f"`!!{node.tag.rsplit(':', 1)[1]}` reads as a YAML tag: a placeholder left to fill in "
                              "(the trainer's YAML loader refuses it too)", self.path, node.start_mark.line + 1)
        raise ConfigError(f"YAML tag {node.tag!r} is not allowed in a config", self.path, node.start_mark.line + 1)

    def _build_fresh(self, node: Node, key_path: KeyPath) -> Any:
        self._charge(1, node)
        self._check_tag(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self._mark(key_path + (index,), child)
                items.append(self.build(child, key_path + (index,)))
            return items
        if isinstance(node, MappingNode):
            return self._mapping(node, key_path)
        raise ConfigError(f"unsupported YAML node {type(node).__name__}", self.path, node.start_mark.line + 1)

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _STANDARD_TAG + "binary":
            raise ConfigError("binary YAML scalars are not allowed in a config", self.path, node.start_mark.line + 1)
        if not node.style:  # plain, unquoted (PyYAML says None, libyaml says "")
            return resolve_plain_scalar(node.value)
        return node.value

    def _mapping(self, node: MappingNode, key_path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STANDARD_TAG + "merge":  # `<<: *defaults`
                merged = self.build(value_node, key_path)
                for source in merged if isinstance(merged, list) else [merged]:
                    if isinstance(source, dict):
                        for k, v in source.items():
                            result.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                raise ConfigError("mapping keys must be plain scalars", self.path, key_node.start_mark.line + 1)
            self._check_tag(key_node)
            key = key_node.value
            child_path = key_path + (key,)
            if key in result and child_path in self.positions:
                # PyYAML keeps the last value: positions follow the value kept, and the loss is reported.
                first = self.positions[child_path].line
                for known in [p for p in self.positions if p[:len(child_path)] == child_path]:
                    del self.positions[known]
                self._mark(child_path, key_node)
                value = self.build(value_node, child_path)
                dropped = result[key]
                # `false` then null: both off where the trainer reads the key as a flag (held-out review 34, A 23:
                # axolotl's `lora_fan_in_fan_out`), so nothing meant is lost
                self.duplicates.append(DuplicateKey(child_path, first, key_node.start_mark.line + 1,
                                                    value == dropped, dropped is None or dropped in ("", [], {}),
                                                    dropped is False and value is None,
                                                    is_off(dropped) and value is not None and not is_off(value),
                                                    dropped))
                result[key] = value
                continue
            self._mark(child_path, key_node)
            result[key] = self.build(value_node, child_path)
        return result

    def _mark(self, key_path: KeyPath, node: Node) -> None:
        self.positions.setdefault(key_path, Position(node.start_mark.line + 1, node.start_mark.column + 1))


def read_yaml(text: str, path: str) -> tuple[Any, dict[KeyPath, Position], list[DuplicateKey]]:
    """Parse YAML text into plain data, a key-path -> position map and the keys a mapping repeats."""
    try:
        documents = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", path, line) from None
    except yaml.reader.ReaderError as exc:  # a control character, before any parsing
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
        raise ConfigError(f"invalid YAML: {exc.reason} (character U+{code:04X})", path, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {' '.join(str(exc).split())}", path) from None
    documents = [d for d in documents if d is not None]
    if not documents:
        return None, {}, []
    if len(documents) > 1:
        raise ConfigError(
            "several YAML documents in one file; give one config per file", path, documents[1].start_mark.line + 1
        )
    builder = _Builder(path)
    data = builder.build(documents[0], ())
    return data, builder.positions, builder.duplicates


def is_off(value: Any) -> bool:
    """A value that switches a strategy or flag off (`eval_strategy: "no"`, `false`)."""
    return value is False or (isinstance(value, str) and value.strip().lower() in ("no", "none", "off", "false"))
