"""nanotron configs written as Python: a script that builds `Config(general=GeneralArgs(...), ...)` from nanotron's
argument classes and saves it as the YAML run_train.py reads (nanotron's own examples/config_tiny_llama.py).

Read with `ast` and never executed: the `Config(...)` call becomes the mapping `Config.save_as_yaml` writes, each
argument class a mapping of its keyword arguments (the dataclasses' field names, the YAML's keys), a name the value
assigned to it earlier in the file, an enum member or a dtype (`torch.bfloat16`) its name. What is not a literal
(`os.path.dirname(__file__) + "/checkpoints"`) is left out, as unknown, with its source.
"""

from __future__ import annotations

import ast
from typing import Any, Optional

from .document import KeyPath, Position
from .python_reader import dotted_tail, evaluate, parse_module

# The arguments nanotron's classes take by position (the first fields of the dataclass).
_POSITIONAL = {"TokenizerArgs": ("tokenizer_name_or_path", "tokenizer_revision", "tokenizer_max_length"),
               "RandomInit": ("std",), "SpectralMupInit": ("use_mup",), "ExistingCheckpointInit": ("path",)}
# Fields a class sets by default that the YAML it saves names the class by (`optimizer_factory: {name: adamW}`).
_IMPLIED = {"AdamWOptimizerArgs": {"name": "adamW"}, "SGDOptimizerArgs": {"name": "sgd"}}
_MAX_DEPTH = 24  # names that refer to names: deeper than this is a loop, or nothing a config does


class _Unknown(Exception):
    """The expression is no value read without running the file."""


def is_nanotron_builder(text: str) -> bool:
    """Whether the Python file imports nanotron's config classes and builds a `Config(...)` (cheap: a text test)."""
    return "nanotron.config" in text and "Config(" in text


def read_nanotron_builder(text: str, shown: str) -> Optional[tuple[dict[str, Any], dict[KeyPath, Position],
                                                                   dict[str, str]]]:
    """The mapping the file's last module-level `... = Config(...)` saves, its positions and the keys left unknown
    (dotted path -> source); None when the file builds no Config at module level."""
    try:
        tree = parse_module(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    reader = _Reader(text)
    config: Optional[ast.Call] = None
    for statement in tree.body:
        for name, value in _assigned(statement):
            reader.names[name] = value
            if isinstance(value, ast.Call) and dotted_tail(value.func) == "Config":
                config = value
    if config is None:
        return None
    reader.literals = {name: node.value for name, node in reader.names.items() if isinstance(node, ast.Constant)}
    data = reader.mapping(config, (), 0)
    return data, reader.positions, reader.unknown


def _assigned(statement: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(statement, ast.Assign):
        return [(target.id, statement.value) for target in statement.targets if isinstance(target, ast.Name)]
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
        return [(statement.target.id, statement.value)]
    return []


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.names: dict[str, ast.expr] = {}
        self.positions: dict[KeyPath, Position] = {}
        self.unknown: dict[str, str] = {}
        self.literals: dict[str, Any] = {}  # the names assigned a literal, for arithmetic (`train_steps=steps * 2`)

    def mapping(self, call: ast.Call, path: KeyPath, depth: int) -> dict[str, Any]:
        """An argument class's call as the mapping its dataclass saves."""
        kind = dotted_tail(call.func)
        result: dict[str, Any] = dict(_IMPLIED.get(kind, {}))
        pairs = [(name, argument) for name, argument in zip(_POSITIONAL.get(kind, ()), call.args)]
        pairs += [(keyword.arg, keyword.value) for keyword in call.keywords if keyword.arg is not None]
        for name, argument in pairs:
            key = path + (name,)
            self.positions[key] = Position(argument.lineno, argument.col_offset + 1)
            try:
                result[name] = self.value(argument, key, depth + 1)
            except _Unknown:
                self.unknown[".".join(map(str, key))] = (ast.get_source_segment(self.text, argument) or "")[:200]
        return result

    def value(self, node: ast.expr, path: KeyPath, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise _Unknown
        if isinstance(node, ast.Call) and dotted_tail(node.func)[:1].isupper():
            return self.mapping(node, path, depth)
        if isinstance(node, ast.Name) and node.id in self.names:
            return self.value(self.names[node.id], path, depth + 1)
        if isinstance(node, (ast.List, ast.Tuple)):
            items = []
            for index, element in enumerate(node.elts):
                self.positions[path + (index,)] = Position(element.lineno, element.col_offset + 1)
                items.append(self.value(element, path + (index,), depth + 1))
            return items
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id not in self.names:
            return node.attr  # `TensorParallelLinearMode.REDUCE_SCATTER`, `torch.bfloat16`: the YAML names them
        if isinstance(node, ast.Constant):
            return node.value
        found = evaluate(node, self.literals)
        if found is None:
            raise _Unknown
        return found
