"""NeMo 2 recipe scripts: `recipe = llm.llama3_8b.pretrain_recipe(num_nodes=2, ...)` and the assignments that
change it (`recipe.trainer.max_steps = 1000`, `recipe.optim.config.lr = 1e-4`), read with `ast`, never executed.

The script becomes the mapping a NeMo-Run YAML export of the same recipe would hold, with only what the script
sets: `_recipe_` names the recipe module, its function and the keyword arguments the call passes; each assignment
below the recipe's name is a key at its dotted path (`trainer.max_steps`), in the order the file runs them, inside
functions too (a script's `def run_pretraining():`). A value is a literal, a name the file binds to one literal,
`run.Config(Cls, k=v)` as `{"_target_": "Cls", k: v}`, or a factory called bare (`bf16_with_fp8_mixed()`) as
`{"_factory_": "bf16_with_fp8_mixed"}`. Anything else is left out, unknown, with its source. The recipe's own
defaults are the nemo2 dialect's (dialects/nemo2_recipes.py).
"""

from __future__ import annotations

import ast
from typing import Any, Optional

from ..lazyre import lazy_compile
from .document import KeyPath, Position
from .python_reader import dotted_tail, evaluate, parse_module

_RECIPE_FUNCTIONS = ("pretrain_recipe", "finetune_recipe")
# A cheap look before parsing: a recipe function called and NeMo named.
_MENTIONS = lazy_compile(r"\b(?:pretrain|finetune)_recipe\s*\(")
_Read = tuple[dict[str, Any], dict[KeyPath, Position], dict[str, str]]


def is_nemo2_recipe(text: str) -> bool:
    return "nemo" in text and _MENTIONS.search(text) is not None


def read_nemo2_recipe(text: str, shown: str) -> Optional[_Read]:
    """The mapping, positions and unknown keys of a script that builds a NeMo 2 recipe; None for another file."""
    try:
        tree = parse_module(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    found = _recipe_call(tree)
    if found is None:
        return None
    name, call, module, function = found
    names = _literals(tree)
    data: dict[str, Any] = {"_recipe_": {"module": module, "function": function, "arguments": {}}}
    where = Position(call.lineno, call.col_offset + 1)
    positions: dict[KeyPath, Position] = {("_recipe_",): where, ("_recipe_", "module"): where,
                                          ("_recipe_", "function"): where}
    unevaluated: dict[str, str] = {}
    for keyword in call.keywords:
        if keyword.arg:
            _put(data, positions, unevaluated, ("_recipe_", "arguments", keyword.arg), keyword.value, names, text)
    for statement in _assignments_below(tree, name):
        path = _path_below(statement.targets[0], name)
        if path:
            _put(data, positions, unevaluated, path, statement.value, names, text)
    return data, positions, unevaluated


def _recipe_call(tree: ast.Module) -> Optional[tuple[str, ast.Call, str, str]]:
    """(the name the recipe is bound to, the call, the recipe module, the function) of the first
    `x = <module>.pretrain_recipe(...)`, or of a function imported from a recipe module by name."""
    imported = {alias.asname or alias.name: node.module.rsplit(".", 1)[-1] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module and ".recipes." in f".{node.module}."
                for alias in node.names if alias.name in _RECIPE_FUNCTIONS}
    for node in sorted(_nodes(tree, ast.Assign), key=lambda n: (n.lineno, n.col_offset)):
        call = node.value
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) or not isinstance(call, ast.Call):
            continue
        function = dotted_tail(call.func)
        if isinstance(call.func, ast.Attribute) and function in _RECIPE_FUNCTIONS:
            module = dotted_tail(call.func.value)
        elif isinstance(call.func, ast.Name) and call.func.id in imported:
            module = imported[call.func.id]
        else:
            continue
        if module:
            return node.targets[0].id, call, module, function
    return None


def _nodes(tree: ast.AST, kind: type) -> list[Any]:
    return [node for node in ast.walk(tree) if isinstance(node, kind)]


def _literals(tree: ast.Module) -> dict[str, Any]:
    """Names the file binds to one literal value (a name bound to two values, or to anything else, is left out)."""
    values: dict[str, Any] = {}
    dropped: set[str] = set()
    for node in _nodes(tree, ast.Assign):
        for target in node.targets:
            if not isinstance(target, ast.Name):
                continue
            value = evaluate(node.value, {})
            if value is None or (target.id in values and values[target.id] != value):
                dropped.add(target.id)
            values[target.id] = value
    return {name: value for name, value in values.items() if name not in dropped}


def _assignments_below(tree: ast.Module, name: str) -> list[ast.Assign]:
    """`name.a.b = value` statements, in the order of the file."""
    found = [node for node in _nodes(tree, ast.Assign)
             if len(node.targets) == 1 and _path_below(node.targets[0], name)]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _path_below(target: ast.expr, name: str) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(target, ast.Attribute):
        parts.append(target.attr)
        target = target.value
    return tuple(reversed(parts)) if isinstance(target, ast.Name) and target.id == name else ()


def _put(data: dict[str, Any], positions: dict[KeyPath, Position], unevaluated: dict[str, str], path: KeyPath,
         node: ast.expr, names: dict[str, Any], text: str) -> None:
    where = Position(node.lineno, node.col_offset + 1)
    value = _value(node, names)
    parent = data
    for depth, part in enumerate(path[:-1], start=1):
        if not isinstance(parent.get(part), dict):
            parent[part] = {}
        parent = parent[part]
        positions.setdefault(tuple(path[:depth]), where)
    dotted = ".".join(map(str, path))
    if value is None and not (isinstance(node, ast.Constant) and node.value is None):
        parent.pop(path[-1], None)
        unevaluated[dotted] = (ast.get_source_segment(text, node) or "<expression>")[:200]
        return
    parent[path[-1]] = value
    unevaluated.pop(dotted, None)
    positions[path] = where
    if isinstance(value, dict):
        for key in value:
            positions[(*path, key)] = where


def _value(node: ast.expr, names: dict[str, Any]) -> Any:
    """A literal, `run.Config(Cls, k=v)`'s mapping, or a bare factory call's; None for anything else."""
    if isinstance(node, ast.Call) and dotted_tail(node.func) in ("Config", "Partial") and node.args:
        mapping = {"_target_": dotted_tail(node.args[0])}
        mapping.update({k.arg: _value(k.value, names) for k in node.keywords if k.arg})
        return mapping
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        return {"_factory_": dotted_tail(node.func)}
    return evaluate(node, names)
