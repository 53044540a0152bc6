"""torchtitan's Python recipes: module-level functions that return a `Trainer.Config` (the per-model
`config_registry.py` modules and `torchtitan_recipes/`, run as `--module M --config FUNCTION`), read with `ast`,
never imported or executed.

One recipe's body is evaluated as far as it can be without running it: literals, arithmetic on numbers, its local
names, calls of the module's own functions (arguments bound to parameters and defaults), `X.Config(...)` and
`XConfig(...)` constructors as the mapping of their keywords, `default_adamw(lr=...)`, `model_registry("flavor")` as
the model's flavor, `dataclasses.replace`, `config.a.b = v` after a call of another recipe, and `return`. The result
is written in the TOML-table layout of torchtitan's older job configs (`training.steps`, `optimizer.lr`, ...), with
the key `recipe` naming the function, so the torchtitan dialect reads it as it reads a TOML file.

Left unknown, with a short reason in `unevaluated` and never guessed: what an `if`/`for`/`with`/`try` block sets,
what a call of anything else returns (a function imported from another module, a method), the sections a recipe
it builds on leaves unknown, and a local batch that `num_tokens_per_microbatch_per_dp_rank` does not divide into
whole sequences of `max_context_length`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..lazyre import lazy_compile
from .document import KeyPath, Position
from .python_reader import evaluate, parse_module

_Read = tuple[dict[str, Any], dict[KeyPath, Position], dict[str, str]]
_MAX_CALL_DEPTH = 8  # recipes built on recipes built on helpers; deeper (or recursive) calls are left unknown
_MAX_CALLS = 256  # calls evaluated for one recipe: a module whose functions call each other many times over ends
_RETURNS_TRAINER_CONFIG = lazy_compile(r"Trainer\.Config\b")  # GraphTrainer.Config too
# Trainer.Config's sections as the older TOML layout names them (the dialect reads that layout).
_SECTIONS = {"optimizer": "optimizer", "lr_scheduler": "lr_scheduler", "training": "training",
             "parallelism": "parallelism", "checkpoint": "checkpoint", "compile": "compile",
             "validator": "validation", "debug": "debug"}
# Sections a recipe that is itself unknown leaves unknown, in the layout's names.
_LAYOUT_SECTIONS = ("model", "optimizer", "lr_scheduler", "training", "parallelism", "checkpoint",
                    "activation_checkpoint", "compile", "validation")
# TrainingConfig's default token budget per micro-batch (torchtitan/config/configs.py at b5bcd76, 2026-08-21).
DEFAULT_TOKENS_PER_MICROBATCH = 16384
DEFAULT_MAX_CONTEXT_LENGTH = 2048
_AC_MODES = {"SelectiveAC": "selective", "FullAC": "full"}


@dataclass
class _Unknown:
    why: str


@dataclass
class _Built:
    """A config object a constructor call builds: its keywords, each with the line that wrote it. Keys it leaves
    out take the class's defaults, or are unknown (`unknown_rest`) where the object came from code not read here."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    line: int = 0
    unknown_rest: Optional[str] = None


@dataclass
class _Flavor:
    family: Optional[str]
    flavor: Any
    line: int


@dataclass
class _Scope:
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # where the value a name holds was written

    def bind(self, name: str, value: Any, line: int) -> None:
        self.values[name], self.lines[name] = value, line


def is_torchtitan_recipe_module(text: str) -> bool:
    """A module that imports from torchtitan and defines module-level functions returning `Trainer.Config`."""
    if "torchtitan" not in text or _RETURNS_TRAINER_CONFIG.search(text) is None:
        return False
    tree = _parsed(text)
    return tree is not None and _imports_torchtitan(tree) and bool(_config_functions(tree))


def recipe_names(text: str) -> list[str]:
    """The recipes, in file order: public module-level functions returning a Trainer.Config that need no argument
    (a helper like `_pretrain_config(flavor, *, max_context_length)` is not one, nor a private `_base()`)."""
    tree = _parsed(text)
    if tree is None:
        return []
    return [fn.name for fn in _config_functions(tree) if not _required_parameters(fn) and not fn.name.startswith("_")]


def read_torchtitan_recipe(text: str, shown: str, name: str) -> _Read:
    """The recipe `name` as (data, positions, unevaluated) in the TOML layout; `recipe` holds its name."""
    tree = _parsed(text)
    assert tree is not None, "read only after is_torchtitan_recipe_module"
    reader = _Evaluator(tree, text, Path(shown))
    result = reader.call_function(name, [], {}, 1)
    return _Layout(name, reader.function_line(name)).written(result)


def _parsed(text: str) -> Optional[ast.Module]:
    try:
        return parse_module(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None


def _imports_torchtitan(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("torchtitan", "torchtitan_recipes")
               or isinstance(node, ast.Import) and any(a.name.split(".")[0] == "torchtitan" for a in node.names)
               for node in tree.body)


def _config_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    """The module's functions that return a Trainer.Config: their own, or what another of them returns
    (`def deepseek_v4_1_debugmodel(seq_len=...): return _debugmodel_trainer_config(seq_len=seq_len, ...)`: held-out
    review 137, C 10, refused as defining no recipe)."""
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    found = {fn.name for fn in functions if _returns_trainer_config(fn)}
    while True:
        more = {fn.name for fn in functions if fn.name not in found and any(
            isinstance(node, ast.Return) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id in found for node in ast.walk(fn))}
        if not more:
            return [fn for fn in functions if fn.name in found]
        found |= more


def _returns_trainer_config(fn: ast.FunctionDef) -> bool:
    """Annotated `-> Trainer.Config` (or a subclass's `X.Config`/`XTrainer.Config`), or returning `Trainer.Config(...)`."""
    if fn.returns is not None and _is_trainer_config(fn.returns):
        return True
    return any(isinstance(node, ast.Return) and isinstance(node.value, ast.Call) and _is_trainer_config(node.value.func)
               for node in ast.walk(fn))


def _is_trainer_config(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "Config" and isinstance(node.value, (ast.Name, ast.Attribute))
            and _dotted(node.value).rsplit(".", 1)[-1].endswith("Trainer"))


def _required_parameters(fn: ast.FunctionDef) -> list[str]:
    arguments = fn.args
    positional = [*arguments.posonlyargs, *arguments.args]
    required = [a.arg for a in positional[:len(positional) - len(arguments.defaults)]]
    required += [a.arg for a, default in zip(arguments.kwonlyargs, arguments.kw_defaults) if default is None]
    return required


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([node.id, *reversed(parts)])


def _model_family(module: str, level: int, file: Path) -> Optional[str]:
    """The model family `model_registry` is imported from: `torchtitan.models.qwen3` -> qwen3; `from . import` in
    a file at `models/<family>/config_registry.py`. None where the path names no family."""
    parts = module.split(".") if module else []
    if level == 0 and "models" in parts[:-1]:
        return parts[parts.index("models") + 1]
    if level == 1 and not parts and file.parent.parent.name == "models":
        return file.parent.name
    return None


class _Evaluator:
    """Evaluates recipe functions statement by statement; anything it does not read becomes `_Unknown`."""

    def __init__(self, tree: ast.Module, text: str, file: Path) -> None:
        self.text = text
        self.functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        self.imported: dict[str, str] = {}  # local name -> the module it comes from
        self.registries: dict[str, Optional[str]] = {}  # local name of a `model_registry` -> the model family
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    local = alias.asname or alias.name
                    self.imported[local] = "." * node.level + (node.module or "")
                    if alias.name == "model_registry":
                        self.registries[local] = _model_family(node.module or "", node.level, file)
        self.constants = _module_constants(tree)
        self.constant_values: dict[str, Any] = {}
        self.depth = 0
        self.calls = 0

    def function_line(self, name: str) -> int:
        return self.functions[name].lineno

    def source(self, node: ast.AST) -> str:
        return (ast.get_source_segment(self.text, node) or "<expression>").split("\n")[0][:80]

    def call_function(self, name: str, args: list[tuple[Any, int]], kwargs: dict[str, tuple[Any, int]],
                      line: int) -> Any:
        function = self.functions[name]
        if self.depth >= _MAX_CALL_DEPTH:
            return _Unknown(f"`{name}()` calls nest deeper than {_MAX_CALL_DEPTH}")
        self.calls += 1
        if self.calls > _MAX_CALLS:
            return _Unknown(f"the recipe makes more than {_MAX_CALLS} calls of the module's functions")
        scope = self._bound(function, args, kwargs, line)
        if isinstance(scope, _Unknown):
            return scope
        self.depth += 1
        try:
            return self._run(function.body, scope, name)
        finally:
            self.depth -= 1

    def _bound(self, fn: ast.FunctionDef, args: list[tuple[Any, int]], kwargs: dict[str, tuple[Any, int]],
               line: int) -> Any:
        """The function's parameters bound to the call's arguments, then to their defaults."""
        spec = fn.args
        positional = [*spec.posonlyargs, *spec.args]
        if len(args) > len(positional) and spec.vararg is None:
            return _Unknown(f"`{fn.name}()` is called with more arguments than it takes")
        scope = _Scope()
        for parameter, (value, where) in zip(positional, args):
            scope.bind(parameter.arg, value, where)
        defaults = dict(zip([a.arg for a in positional[len(positional) - len(spec.defaults):]], spec.defaults))
        defaults.update({a.arg: d for a, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is not None})
        for parameter in [*positional, *spec.kwonlyargs]:
            name = parameter.arg
            if name in kwargs:
                scope.bind(name, *kwargs[name])
            elif name not in scope.values and name in defaults:
                scope.bind(name, self.value(defaults[name], _Scope()), defaults[name].lineno)
            elif name not in scope.values:
                return _Unknown(f"`{fn.name}()` is called without its parameter `{name}` (line {line})")
        return scope

    def _run(self, body: list[ast.stmt], scope: _Scope, name: str) -> Any:
        for statement in body:
            if isinstance(statement, ast.Return):
                return self.value(statement.value, scope) if statement.value is not None else _Unknown(
                    f"`{name}()` returns nothing")
            if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                self._assign(statement, scope)
            elif isinstance(statement, ast.Expr):
                self._expression_statement(statement, scope)
            elif isinstance(statement, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.Match, ast.AsyncFor,
                                        ast.AsyncWith)):
                kind = type(statement).__name__.lower().removeprefix("async")
                why = f"set inside a `{kind}` block (line {statement.lineno}), which is not evaluated"
                if any(isinstance(node, ast.Return) for node in ast.walk(statement)):
                    return _Unknown(f"`{name}()` returns from inside a `{kind}` block (line {statement.lineno})")
                self._touched_unknown(statement, scope, why)
            elif isinstance(statement, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                scope.bind(statement.name, _Unknown(f"`{statement.name}`, defined inside `{name}()`"), statement.lineno)
        return _Unknown(f"`{name}()` returns nothing")

    def _assign(self, statement: ast.stmt, scope: _Scope) -> None:
        if isinstance(statement, ast.AugAssign):
            targets = [statement.target]
            value = self.value(ast.BinOp(left=_as_load(statement.target), op=statement.op, right=statement.value,
                                         lineno=statement.lineno, col_offset=statement.col_offset), scope)
        elif isinstance(statement, ast.AnnAssign):
            if statement.value is None:
                return
            targets, value = [statement.target], self.value(statement.value, scope)
        else:
            assert isinstance(statement, ast.Assign)
            targets, value = statement.targets, self.value(statement.value, scope)
        for target in targets:
            self._store(target, value, statement.lineno, scope)

    def _store(self, target: ast.expr, value: Any, line: int, scope: _Scope) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, value, line)
        elif isinstance(target, ast.Attribute):
            self._store_path(target, value, line, scope)
        else:  # `a, b = ...`, `x[k] = ...`
            for node in ast.walk(target):
                if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Store):
                    self._store(node, _Unknown(f"unpacked at line {line}, not evaluated"), line, scope)

    def _store_path(self, target: ast.Attribute, value: Any, line: int, scope: _Scope) -> None:
        """`config.training.steps = 100`: the value written into the object a local name holds, building the
        default section object where the recipe had not set it."""
        path = _dotted(target).split(".")
        if len(path) < 2 or path[0] not in scope.values:
            return
        holder = _as_built(scope.values[path[0]], line)
        scope.values[path[0]] = holder
        for attr in path[1:-1]:
            child = holder.fields.get(attr)
            if child is None or isinstance(child, _Unknown):
                why = child.why if isinstance(child, _Unknown) else holder.unknown_rest
                child = _Built(kind="default", line=line, unknown_rest=why)
            elif not isinstance(child, _Built):
                holder.fields[attr] = _Unknown(f"`{'.'.join(path)}` changes it (line {line})")
                holder.lines[attr] = line
                return
            holder.fields[attr] = child
            holder.lines.setdefault(attr, line)
            holder = child
        holder.fields[path[-1]], holder.lines[path[-1]] = value, line

    def _expression_statement(self, statement: ast.Expr, scope: _Scope) -> None:
        """A docstring is nothing; a method called on a section (`config.override.imports.append(x)`) leaves what it
        changes unknown."""
        call = statement.value
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            return
        changed = call.func.value
        if isinstance(changed, ast.Attribute) and _dotted(changed).split(".")[0] in scope.values:
            why = f"`{self.source(call)}` changes it (line {statement.lineno}), not evaluated"
            self._store_path(changed, _Unknown(why), statement.lineno, scope)

    def _touched_unknown(self, block: ast.stmt, scope: _Scope, why: str) -> None:
        for node in ast.walk(block):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets = [node.target]
            for target in targets:
                self._store(target, _Unknown(why), node.lineno, scope)
            if isinstance(node, ast.Expr):
                self._expression_statement(node, scope)

    def value(self, node: ast.expr, scope: _Scope) -> Any:
        """What `node` evaluates to, `_Unknown` with the reason where it is not read."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._name(node, scope)
        if isinstance(node, ast.Call):
            return self._call(node, scope)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, scope)
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.value(item, scope) for item in node.elts]
            unknown = next((item for item in items if isinstance(item, _Unknown)), None)
            return unknown or (items if isinstance(node, ast.List) else tuple(items))
        if isinstance(node, ast.IfExp):
            test = self.value(node.test, scope)
            if isinstance(test, (bool, int, str)) or test is None:
                return self.value(node.body if test else node.orelse, scope)
            return _Unknown(f"`{self.source(node)}`: its condition is not known")
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            return self._arithmetic(node, scope)
        return _Unknown(f"`{self.source(node)}`, not evaluated")

    def _name(self, node: ast.Name, scope: _Scope) -> Any:
        if node.id in scope.values:
            return scope.values[node.id]
        if node.id in self.constants:
            if node.id not in self.constant_values:  # marked first: a constant naming itself is unknown
                self.constant_values[node.id] = _Unknown(f"`{node.id}` is defined in terms of itself")
                self.constant_values[node.id] = self.value(self.constants[node.id], _Scope())
            return self.constant_values[node.id]
        if node.id in self.imported:
            return _Unknown(f"`{node.id}`, imported from `{self.imported[node.id]}`, which is not read here")
        return _Unknown(f"`{node.id}`, a name not read here")

    def _attribute(self, node: ast.Attribute, scope: _Scope) -> Any:
        base = self.value(node.value, scope)
        if isinstance(base, _Built):
            if node.attr in base.fields:
                return base.fields[node.attr]
            return _Unknown(base.unknown_rest or f"`{self.source(node)}`, a default of `{base.kind}` not read here")
        return base if isinstance(base, _Unknown) else _Unknown(f"`{self.source(node)}`, not evaluated")

    def _arithmetic(self, node: ast.expr, scope: _Scope) -> Any:
        """Numbers only, by the plain reader's bounded arithmetic, over the values the expression's names and
        attributes (`config.training.max_context_length * 2`) hold."""
        names: dict[str, Any] = {}
        for leaf in _operands(node):
            known = self.value(leaf, scope)
            if isinstance(known, _Unknown):
                return known
            names[_operand_name(leaf)] = known
        result = evaluate(_with_operands_named(node), names)
        return result if isinstance(result, (int, float, str)) else _Unknown(f"`{self.source(node)}`, not evaluated")

    def _call(self, node: ast.Call, scope: _Scope) -> Any:
        name = _dotted(node.func)
        tail = name.rsplit(".", 1)[-1]
        if isinstance(node.func, ast.Name) and name in self.functions and name not in scope.values:
            return self._call_own(node, scope)
        if tail == "default_adamw":
            return self._adamw(node, scope)
        if isinstance(node.func, ast.Name) and name in self.registries and node.args:
            return _Flavor(self.registries[name], self.value(node.args[0], scope), node.lineno)
        if tail == "replace" and node.args and self.imported.get(name.split(".")[0], "dataclasses") == "dataclasses":
            return self._replaced(node, scope)
        if tail == "cast" and len(node.args) == 2:
            return self.value(node.args[1], scope)
        if tail == "Config" or (tail.endswith("Config") and tail[:1].isupper()):
            return self._built(name, node, scope)
        root = name.split(".")[0]
        if root in self.imported:
            return _Unknown(f"`{self.source(node)}` comes from `{self.imported[root]}`, which is not read here")
        return _Unknown(f"`{self.source(node)}`, a call not read here")

    def _call_own(self, node: ast.Call, scope: _Scope) -> Any:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return _Unknown(f"`{self.source(node)}` passes `*`/`**` arguments, not evaluated")
        args = [(self.value(a, scope), self._line(a, scope)) for a in node.args]
        kwargs = {k.arg: (self.value(k.value, scope), self._line(k.value, scope)) for k in node.keywords if k.arg}
        return self.call_function(_dotted(node.func), args, kwargs, node.lineno)

    def _line(self, node: ast.expr, scope: _Scope) -> int:
        """Where a value was written: a name passed on points at the line that gave it its value."""
        if isinstance(node, ast.Name) and node.id in scope.lines:
            return scope.lines[node.id]
        return node.lineno

    def _keywords(self, built: _Built, node: ast.Call, scope: _Scope) -> _Built:
        for keyword in node.keywords:
            if keyword.arg is None:
                built.unknown_rest = f"`**{self.source(keyword.value)}` (line {keyword.lineno}), not evaluated"
                continue
            built.fields[keyword.arg] = self.value(keyword.value, scope)
            built.lines[keyword.arg] = self._line(keyword.value, scope)
        return built

    def _built(self, name: str, node: ast.Call, scope: _Scope) -> _Built:
        built = _Built(kind=name, line=node.lineno)
        if node.args:
            built.unknown_rest = f"`{self.source(node)}` passes positional arguments, not evaluated"
        return self._keywords(built, node, scope)

    def _adamw(self, node: ast.Call, scope: _Scope) -> _Built:
        """`default_adamw(lr=3e-4)`: one AdamW group over every parameter (components/optimizer/optimizer.py); what
        it leaves out (lr 8e-4, betas 0.9/0.95, eps 1e-8, weight decay 0.1) is the dialect's default."""
        built = _Built(kind="default_adamw", fields={"name": "AdamW"}, lines={"name": node.lineno}, line=node.lineno)
        if node.args:
            built.fields["lr"], built.lines["lr"] = self.value(node.args[0], scope), self._line(node.args[0], scope)
        return self._keywords(built, node, scope)

    def _replaced(self, node: ast.Call, scope: _Scope) -> Any:
        """`dataclasses.replace(section, enable=False)`: a copy of the section with the keywords over it."""
        base = self.value(node.args[0], scope)
        if isinstance(base, _Unknown):
            base = _Built(kind="replace", line=node.lineno, unknown_rest=base.why)
        if not isinstance(base, _Built):
            return _Unknown(f"`{self.source(node)}`, not evaluated")
        copy = _Built(kind=base.kind, fields=dict(base.fields), lines=dict(base.lines), line=node.lineno,
                      unknown_rest=base.unknown_rest)
        return self._keywords(copy, node, scope)


def _operands(node: ast.expr) -> list[ast.expr]:
    """The names and attribute chains an arithmetic expression reads (calls in it are evaluated as operands too)."""
    if isinstance(node, ast.BinOp):
        return _operands(node.left) + _operands(node.right)
    if isinstance(node, ast.UnaryOp):
        return _operands(node.operand)
    return [] if isinstance(node, ast.Constant) else [node]


def _operand_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else f"_operand_{node.lineno}_{node.col_offset}"


def _with_operands_named(node: ast.expr) -> ast.expr:
    """The expression with each operand that is not a plain name replaced by the name its value is bound to."""
    if isinstance(node, ast.BinOp):
        return ast.BinOp(left=_with_operands_named(node.left), op=node.op, right=_with_operands_named(node.right))
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(op=node.op, operand=_with_operands_named(node.operand))
    if isinstance(node, ast.Constant) or isinstance(node, ast.Name):
        return node
    return ast.Name(id=_operand_name(node), ctx=ast.Load())


def _as_load(target: ast.expr) -> ast.expr:
    """The target of `x.a += 1` read as a value."""
    copied = ast.parse(ast.unparse(target), mode="eval").body
    return ast.fix_missing_locations(ast.copy_location(copied, target))


def _as_built(value: Any, line: int) -> _Built:
    """An object a recipe assigns into: an unknown one keeps what is assigned and leaves the rest unknown."""
    if isinstance(value, _Built):
        return value
    why = value.why if isinstance(value, _Unknown) else f"not a config object (line {line})"
    return _Built(kind="unknown", line=line, unknown_rest=why)


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound once, to the expression that binds them (evaluated when a recipe reads them)."""
    bound: dict[str, ast.expr] = {}
    twice: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            (twice.add(name) if name in bound else bound.__setitem__(name, node.value))
    return {name: value for name, value in bound.items() if name not in twice}


class _Layout:
    """The evaluated Trainer.Config written as the TOML tables the dialect reads, with positions and unknowns."""

    def __init__(self, name: str, line: int) -> None:
        self.data: dict[str, Any] = {"recipe": name}
        self.positions: dict[KeyPath, Position] = {("recipe",): Position(line, 1)}
        self.unevaluated: dict[str, str] = {}
        self._training: Optional[_Built] = None  # the TrainingConfig, for the batch its token counts give

    def written(self, result: Any) -> _Read:
        if not isinstance(result, _Built):
            why = result.why if isinstance(result, _Unknown) else "the recipe returns no config object"
            for section in _LAYOUT_SECTIONS:
                self.unevaluated[section] = why
            return self.data, self.positions, self.unevaluated
        self._model(result)
        for attr, table in _SECTIONS.items():
            self._section(result, attr, table)
        self._optimizer_missing(result)
        self._activation_checkpoint(result)
        self._batch()
        if isinstance(result.fields.get("hf_assets_path"), str):
            self.put(("model", "hf_assets_path"), result.fields["hf_assets_path"], result.lines["hf_assets_path"])
        return self.data, self.positions, self.unevaluated

    def put(self, path: tuple[str, ...], value: Any, line: int) -> None:
        if isinstance(value, _Unknown):
            self.unevaluated[".".join(path)] = value.why
            return
        if not _plain(value):  # a config object where the dialect reads a plain value
            self.unevaluated[".".join(path)] = "a config object, not a value read here"
            return
        value = list(value) if isinstance(value, tuple) else value
        table = self.data.setdefault(path[0], {})
        table[path[1]] = value
        self.positions[path[:1]] = self.positions.get(path[:1], Position(line, 1))
        self.positions[path] = Position(line, 1)

    def _missing(self, result: _Built, attr: str, table: str) -> bool:
        """Whether the recipe leaves section `attr` out; unknown where the config it came from is unknown."""
        if attr in result.fields:
            return False
        if result.unknown_rest:
            self.unevaluated[table] = result.unknown_rest
        return True

    def _model(self, result: _Built) -> None:
        if self._missing(result, "model_spec", "model"):
            if not result.unknown_rest:
                self.unevaluated["model"] = "the recipe sets no `model_spec`"
            return
        spec, line = result.fields["model_spec"], result.lines["model_spec"]
        if not isinstance(spec, _Flavor):
            why = spec.why if isinstance(spec, _Unknown) else "a `model_spec` not built by `model_registry`"
            self.unevaluated["model"] = why
            return
        if spec.family:
            self.put(("model", "name"), spec.family, spec.line)
        else:
            self.unevaluated["model.name"] = "the model family `model_registry` comes from is not named here"
        self.put(("model", "flavor"), spec.flavor, spec.line)
        self.positions[("model",)] = Position(line, 1)

    def _section(self, result: _Built, attr: str, table: str) -> None:
        if self._missing(result, attr, table):
            return
        section, line = result.fields[attr], result.lines[attr]
        if not isinstance(section, _Built):
            self.unevaluated[table] = section.why if isinstance(section, _Unknown) else f"`{attr}` is no config object"
            return
        if section.unknown_rest:
            self.unevaluated[table] = section.unknown_rest
        self.positions[(table,)] = Position(line, 1)
        for key, value in section.fields.items():
            if attr == "optimizer" and key == "betas":
                self._betas(value, section.lines[key])
            elif attr == "training" and key == "max_context_length":
                self.put((table, "seq_len"), value, section.lines[key])
            elif not (attr == "training" and key.startswith("num_tokens_")):
                self.put((table, key), value, section.lines[key])
        if attr == "training":
            self._training = section

    def _betas(self, value: Any, line: int) -> None:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            self.put(("optimizer", "beta1"), value[0], line)
            self.put(("optimizer", "beta2"), value[1], line)
        else:
            self.put(("optimizer", "betas"), value, line)

    def _optimizer_missing(self, result: _Built) -> None:
        optimizer = result.fields.get("optimizer")
        if "optimizer" not in result.fields and not result.unknown_rest:
            self.unevaluated["optimizer"] = ("the recipe sets no `optimizer`: OptimizersContainer.Config's default "
                                             "has no parameter groups")
        elif isinstance(optimizer, _Built) and optimizer.kind != "default_adamw" and "name" not in optimizer.fields:
            # `OptimizersContainer.Config(param_groups=[...])`: each group its own optimizer, not read here
            self.unevaluated["optimizer"] = f"`{optimizer.kind}(...)`: its parameter groups are not read here"

    def _activation_checkpoint(self, result: _Built) -> None:
        if self._missing(result, "activation_checkpoint", "activation_checkpoint"):
            return
        value, line = result.fields["activation_checkpoint"], result.lines["activation_checkpoint"]
        kind = value.kind.split(".")[0] if isinstance(value, _Built) else None
        if kind in _AC_MODES:
            self.put(("activation_checkpoint", "mode"), _AC_MODES[kind], line)
        else:
            self.unevaluated["activation_checkpoint.mode"] = (
                value.why if isinstance(value, _Unknown) else f"`{kind}`, an activation checkpointing not read here")

    def _batch(self) -> None:
        """The local batch in sequences: num_tokens_per_microbatch_per_dp_rank / max_context_length (trainer.py
        builds the dataloader with both; packed sequences of max_context_length tokens fill the micro-batch); the
        global batch likewise from num_tokens_per_train_step."""
        training = self._training
        if training is None:
            return
        length = training.fields.get("max_context_length", DEFAULT_MAX_CONTEXT_LENGTH)
        for key, target in (("num_tokens_per_microbatch_per_dp_rank", "local_batch_size"),
                            ("num_tokens_per_train_step", "global_batch_size")):
            if key not in training.fields:
                if target == "local_batch_size" and isinstance(length, _Unknown):  # the default tokens over it
                    self.unevaluated["training.local_batch_size"] = length.why
                continue
            tokens, line = training.fields[key], training.lines[key]
            path = ("training", target)
            if isinstance(tokens, _Unknown) or isinstance(length, _Unknown):
                self.unevaluated[".".join(path)] = (tokens if isinstance(tokens, _Unknown) else length).why
            elif target == "global_batch_size" and tokens == -1:
                continue  # TrainingConfig's "every rank's micro-batches, no accumulation"
            elif _whole(tokens, length):
                self.put(path, tokens // length, line)
            else:
                self.unevaluated[".".join(path)] = (f"`{key} = {tokens}` is not a whole number of sequences of "
                                                    f"`max_context_length` {length}")


def _plain(value: Any) -> bool:
    """A value a TOML file could hold: numbers, strings, booleans, and lists of them."""
    if isinstance(value, (list, tuple)):
        return all(map(_plain, value))
    return value is None or isinstance(value, (bool, int, float, str))


def _whole(tokens: Any, length: Any) -> bool:
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (tokens, length))
    return numbers and length > 0 and tokens > 0 and tokens % length == 0
