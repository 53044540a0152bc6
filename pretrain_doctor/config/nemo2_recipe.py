"""NeMo 2 recipe scripts: `recipe = llm.llama3_8b.pretrain_recipe(num_nodes=2, ...)` and the assignments that
change it (`recipe.trainer.max_steps = 1000`, `recipe.optim.config.lr = 1e-4`), read with `ast`, never executed.

The script becomes the mapping a NeMo-Run YAML export of the same recipe would hold, with only what the script
sets: `_recipe_` names the recipe module, its function and the keyword arguments the call passes; each assignment
below the recipe's name is a key at its dotted path (`trainer.max_steps`), in the order the file runs them, inside
functions too (a script's `def run_pretraining():`). A value is a literal, a name the file binds to one literal,
`run.Config(Cls, k=v)` as `{"_target_": "Cls", k: v}`, or a factory called bare (`bf16_with_fp8_mixed()`) as
`{"_factory_": "bf16_with_fp8_mixed"}`; a name the file binds once to such a call, or a class called with keywords
(`recipe.data = PreTrainingDataModule(seq_length=SL, ...)`), is read keyword by keyword. Anything else is left out,
unknown, with its source. A recipe picked from a dict of models (`config["recipe_fn"](...)`) is the one model's
where the file names a single default, else none (`_recipe_.unread`), with a note either way. The recipe's own
defaults are the nemo2 dialect's (dialects/nemo2_recipes.py).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Optional

from ..lazyre import lazy_compile
from .document import KeyPath, Position
from .python_reader import dotted_tail, evaluate, parse_module

_RECIPE_FUNCTIONS = ("pretrain_recipe", "finetune_recipe")
# A cheap look before parsing: a recipe function named (called, or held in a dict of models to call later) and NeMo.
_MENTIONS = lazy_compile(r"\b(?:pretrain|finetune)_recipe\b")
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
    name, call, module, function = found[:4]
    names = _literals(tree)
    calls = _bound_calls(tree)
    recipe: dict[str, Any] = {"module": module, "function": function, "arguments": {}}
    if len(found) > 4:
        recipe.update(found[4])
    factory = _returning_function(tree, call, name)
    if factory is not None:
        recipe["factory"] = factory
    data: dict[str, Any] = {"_recipe_": recipe}
    where = Position(call.lineno, call.col_offset + 1)
    positions: dict[KeyPath, Position] = {("_recipe_",): where, ("_recipe_", "module"): where,
                                          ("_recipe_", "function"): where}
    unevaluated: dict[str, str] = {}
    put = _Putter(data, positions, unevaluated, names, calls, text)
    for keyword in call.keywords:
        if keyword.arg:
            put(("_recipe_", "arguments", keyword.arg), keyword.value)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for statement in _assignments_below(tree, name):
        path = _path_below(statement.targets[0], name)
        if not path:
            continue
        branch = _branch_taken(statement, parents, names)
        if branch is True:
            put(path, statement.value)
        elif branch is not False:  # under a test only the launch decides: either this value or what stood before
            dotted = ".".join(path)
            _drop(data, path)
            unevaluated[dotted] = f"set only where `{(ast.get_source_segment(text, branch.test) or '...')[:80]}` holds"
    return data, positions, unevaluated


def _branch_taken(statement: ast.stmt, parents: dict[ast.AST, ast.AST], names: dict[str, Any]) -> Any:
    """Whether the script runs `statement`: True (no enclosing `if`, or each one's test holds by the file's literals),
    False (a test the literals rule out), or the innermost `if` whose test only the run decides (held-out review 136,
    D 20: `if args.fp8: recipe.trainer.plugins = bf16_with_fp8_mixed()`, read as an fp8 run)."""
    undecided, node = None, statement
    while node in parents and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parent = parents[node]
        if isinstance(parent, ast.If):
            test = evaluate(parent.test, names)
            in_body = node in parent.body
            if isinstance(test, (bool, int, float, str)):  # decided by the file's own literals
                if bool(test) != in_body:
                    return False
            elif undecided is None:
                undecided = parent
        node = parent
    return True if undecided is None else undecided


def _drop(data: dict[str, Any], path: KeyPath) -> None:
    parent: Any = data
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _recipe_call(tree: ast.Module) -> Optional[tuple]:
    """(the name the recipe is bound to, the call, the recipe module, the function) of the first
    `x = <module>.pretrain_recipe(...)`, or of a function imported from a recipe module by name; else of
    `x = config["recipe_fn"](...)` over a dict of recipe functions (`_picked_recipe`)."""
    imported: dict[str, dict[str, str]] = {}  # the name a recipe function is bound to -> {module: its own name}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and ".recipes." in f".{node.module}.":
            for alias in node.names:
                if alias.name in _RECIPE_FUNCTIONS:
                    imported.setdefault(alias.asname or alias.name, {})[node.module.rsplit(".", 1)[-1]] = alias.name
    for node in sorted(_nodes(tree, ast.Assign), key=lambda n: (n.lineno, n.col_offset)):
        call = node.value
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) or not isinstance(call, ast.Call):
            continue
        function = dotted_tail(call.func)
        if isinstance(call.func, ast.Attribute) and function in _RECIPE_FUNCTIONS:
            module = dotted_tail(call.func.value)
        elif isinstance(call.func, ast.Name) and len(imported.get(call.func.id, ())) > 1:
            return _imported_in_branches(node.targets[0].id, call, imported[call.func.id])
        elif isinstance(call.func, ast.Name) and call.func.id in imported:
            # (`import pretrain_recipe as pretrain_base_recipe`: the recipe's own name, held-out review 135, D 04)
            [(module, function)] = imported[call.func.id].items()
        else:
            continue
        if module:
            return node.targets[0].id, call, module, function
    return _picked_recipe(tree)


def _returning_function(tree: ast.Module, call: ast.Call, name: str) -> Optional[str]:
    """The function the recipe call sits in when it returns the recipe to its caller (`def pretrain_recipe(**kwargs):
    recipe = pretrain_base_recipe(**kwargs) ... return recipe`): a recipe of the project's own, which a training
    program builds and changes further (held-out review 135, D 04); None for a script that runs the recipe."""
    for function in _nodes(tree, ast.FunctionDef):
        if any(node is call for node in ast.walk(function)) and any(
                isinstance(node, ast.Return) and isinstance(node.value, ast.Name) and node.value.id == name
                for node in ast.walk(function)):
            return function.name
    return None


def _imported_in_branches(name: str, call: ast.Call, modules: dict[str, str]) -> tuple:
    """`if arch == "mixtral8x7": from ...mixtral_8x7b import pretrain_recipe` `elif ...`, then `pretrain_recipe(...)`:
    which recipe runs is the caller's pick (held-out review 135, D 04: recipe_utils.py's `get_recipe(arch, ...)`
    over 20 models, read as the last import's Llama 3.1 70B: a false PD405 error on its default 8 GPUs)."""
    listed = ", ".join(sorted(modules))
    return name, call, None, next(iter(modules.values())), {
        "unread": f"the recipe the code picks among {len(modules)} NeMo recipes it imports ({listed})",
        "assumed": f"the recipe is picked at run time among {len(modules)} NeMo recipes ({listed}); none is assumed: "
                   "what the recipe sets is unknown, what the code sets after it is read"}


def _held_recipes(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """`"llama": {"recipe_fn": llm.llama31_8b.pretrain_recipe, ...}`: each dict key's recipe, uncalled."""
    held: dict[str, tuple[str, str]] = {}
    for node in _nodes(tree, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and isinstance(value, ast.Dict)):
                continue
            for inner in value.values:
                if isinstance(inner, ast.Attribute) and inner.attr in _RECIPE_FUNCTIONS and dotted_tail(inner.value):
                    held[key.value] = (dotted_tail(inner.value), inner.attr)
    return held


def _picked_recipe(tree: ast.Module) -> Optional[tuple]:
    """`recipe = config["recipe_fn"](name=..., num_nodes=1)`, the function picked from a dict of recipes. The recipe
    is the one model's when the file names a single default among the dict's keys (`add_argument("--model",
    default="llama")`) or the dict holds one recipe; else none is assumed: `unread` says which it may be."""
    held = _held_recipes(tree)
    if not held:
        return None
    defaults = {k.value.value for k in _nodes(tree, ast.keyword) if k.arg == "default"
                and isinstance(k.value, ast.Constant) and k.value.value in held}
    choices = sorted({module for module, _ in held.values()})
    functions = {function for _, function in held.values()}
    function = functions.pop() if len(functions) == 1 else "pretrain_recipe"
    for node in sorted(_nodes(tree, ast.Assign), key=lambda n: (n.lineno, n.col_offset)):
        call = node.value
        if not (len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(call, ast.Call)
                and isinstance(call.func, ast.Subscript)):
            continue
        if len(defaults) == 1 or len(choices) == 1:
            key = defaults.pop() if defaults else next(iter(held))
            module = held[key][0]
            return node.targets[0].id, call, module, function, {
                "assumed": f"the recipe is picked from a dict of models at run time; read as `{module}.{function}`"
                           f" ({'the default model ' + repr(key) if len(choices) > 1 else 'the only one it holds'})"}
        listed = ", ".join(f"{key!r}: {module}" for key, (module, _) in sorted(held.items()))
        return node.targets[0].id, call, None, function, {
            "unread": f"the recipe the script picks at run time from a dict of models ({listed})",
            "assumed": f"the recipe is picked at run time from a dict of models ({listed}); none is assumed: what "
                       f"the recipe sets is unknown, what the script sets after it is read"}
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


def _bound_calls(tree: ast.Module) -> dict[str, ast.Call]:
    """Names the file binds once to a config call (`data_config = run.Config(FineTuningDataModule, ...)`,
    `data = PreTrainingDataModule(...)`), in a function or at module level: `recipe.data = data_config` reads it."""
    calls: dict[str, ast.Call] = {}
    dropped: set[str] = set()
    for node in _nodes(tree, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                if target.id in calls or not _is_config_call(node.value):
                    dropped.add(target.id)
                else:
                    calls[target.id] = node.value
    return {name: call for name, call in calls.items() if name not in dropped}


def _is_config_call(node: ast.expr) -> bool:
    """`run.Config(Cls, k=v)`, `run.Partial(...)`, or a class called with keywords only (`Cls(k=v)`)."""
    if not isinstance(node, ast.Call):
        return False
    tail = dotted_tail(node.func)
    if tail in ("Config", "Partial"):
        return bool(node.args)
    return tail[:1].isupper() and not node.args and bool(node.keywords)


class _Putter:
    """Writes each value at its dotted path, with its position; a config call's keywords one by one, so a keyword
    the script computes is unknown with its source while its literal neighbours are read."""

    def __init__(self, data: dict[str, Any], positions: dict[KeyPath, Position], unevaluated: dict[str, str],
                 names: dict[str, Any], calls: dict[str, ast.Call], text: str) -> None:
        self.data, self.positions, self.unevaluated = data, positions, unevaluated
        self.names, self.calls, self.text = names, calls, text

    def __call__(self, path: KeyPath, node: ast.expr) -> None:
        call = self.calls.get(node.id) if isinstance(node, ast.Name) else node
        if isinstance(call, ast.Call) and _is_config_call(call):
            target = call.args[0] if call.args else call.func
            _put(self.data, self.positions, self.unevaluated, path, node, {}, self.text,
                 {"_target_": dotted_tail(target)})
            for keyword in call.keywords:
                if keyword.arg:
                    self((*path, keyword.arg), keyword.value)
            return
        _put(self.data, self.positions, self.unevaluated, path, node, self.names, self.text)


def _put(data: dict[str, Any], positions: dict[KeyPath, Position], unevaluated: dict[str, str], path: KeyPath,
         node: ast.expr, names: dict[str, Any], text: str, value: Any = None) -> None:
    where = Position(node.lineno, node.col_offset + 1)
    value = _value(node, names) if value is None else value
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


# NeMo 2's CLI (`nemo llm pretrain --factory llama3_8b trainer.max_steps=20`: NeMo-Run's entrypoints over
# nemo/collections/llm/api.py): the subcommand's recipe function, by subcommand.
_CLI_FUNCTIONS = {"pretrain": "pretrain_recipe", "finetune": "finetune_recipe"}


def read_nemo_cli(launch: dict[str, Any], launch_positions: dict[KeyPath, Position]) -> Optional[_Read]:
    """The recipe mapping of a shell launch of `nemo llm pretrain|finetune --factory RECIPE[(k=v, ...)]` and its
    dotted overrides (held-out review 132, D 05: refused as no training config), as `read_nemo2_recipe` gives a
    script's; None for any other launch. NeMo-Run parses each override's value as a Python literal."""
    positional = launch.get("positional")
    if launch.get("program") != "nemo" or not isinstance(positional, list) or len(positional) < 2 \
            or positional[0] != "llm" or positional[1] not in _CLI_FUNCTIONS:
        return None
    factory = _factory(launch.get("--factory"))
    if factory is None:
        return None
    module, arguments = factory
    where = launch_positions.get(("--factory",)) or Position(1, 1)
    data: dict[str, Any] = {"_recipe_": {"module": module, "function": _CLI_FUNCTIONS[positional[1]],
                                         "arguments": arguments}}
    positions: dict[KeyPath, Position] = {("_recipe_",): where, ("_recipe_", "module"): where,
                                          ("_recipe_", "function"): where}
    positions.update({("_recipe_", "arguments", name): where for name in arguments})
    _override(data, positions, launch, launch_positions, where)
    return data, positions, {}


def _factory(text: Any) -> Optional[tuple[str, dict[str, Any]]]:
    """`llama3_8b` or `llama3_8b(name='x', num_nodes=1)`: the recipe module and the literal keywords of its call."""
    try:
        expression = ast.parse(text.strip(), mode="eval").body if isinstance(text, str) else None
    except SyntaxError:
        return None
    call = expression if isinstance(expression, ast.Call) else None
    module = dotted_tail(call.func if call is not None else expression) if expression is not None else None
    if not module:
        return None
    keywords = call.keywords if call is not None else []
    values = {keyword.arg: _value(keyword.value, {}) for keyword in keywords if keyword.arg}
    return module, {name: value for name, value in values.items() if value is not None}


def read_recipe_launch(launch: dict[str, Any], launch_positions: dict[KeyPath, Position], folder: Path
                       ) -> Optional[_Read]:
    """`python custom_recipe.py trainer.max_steps=30`: a recipe script beside the launch that hands its factory to
    NeMo-Run's CLI (`run.cli.main(llm.finetune, default_factory=custom_llama3_8b)`), its recipe read as
    `read_nemo2_recipe` reads it and the launch's dotted overrides on top (held-out review 132, D 06: the launch
    skipped, the recipe read without them); None for any other launch."""
    program = launch.get("program")
    if not isinstance(program, str) or not program.endswith(".py"):
        return None
    path = folder / program.replace("\\", "/").rsplit("/", 1)[-1]
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except OSError:
        return None
    read = read_nemo2_recipe(text, str(path)) if "run.cli.main" in text and is_nemo2_recipe(text) else None
    if read is None:
        return None
    data, recipe_positions, unevaluated = read
    positions = {key: Position(p.line, p.column, str(path)) for key, p in recipe_positions.items()}
    _override(data, positions, launch, launch_positions, launch_positions.get(("program",)) or Position(1, 1))
    return data, positions, unevaluated


def _override(data: dict[str, Any], positions: dict[KeyPath, Position], launch: dict[str, Any],
              launch_positions: dict[KeyPath, Position], where: Position) -> None:
    """The launch's dotted overrides (`trainer.max_steps=20`) set into the recipe mapping, at the launch's lines."""
    overrides = launch.get("overrides")
    for key, text in (overrides.items() if isinstance(overrides, dict) else []):
        path = tuple(str(key).lstrip("+~").split("."))
        parent = data
        for part in path[:-1]:
            parent = parent.setdefault(part, {}) if isinstance(parent.get(part, {}), dict) else {}
        parent[path[-1]] = _cli_literal(text)
        positions[path] = launch_positions.get(("overrides", key)) or where


def _cli_literal(text: Any) -> Any:
    """`20` → 20, `True` → True, `'a'` → 'a'; any other word stays the string it is."""
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
