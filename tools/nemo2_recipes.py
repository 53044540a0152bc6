"""Generate `pretrain_doctor/dialects/nemo2_recipes.py`: what each NeMo 2 recipe module's `pretrain_recipe()` and
`finetune_recipe()` set, read from NeMo's own source with `ast` (nothing is imported or executed).

    python tools/nemo2_recipes.py MIRROR TAG [--out FILE]

MIRROR is a git checkout or bare mirror of NVIDIA/NeMo; each `nemo/collections/llm/recipes/*.py` of TAG is read
with `git show TAG:path`. `pretrain_recipe()` is run by a small evaluator over the ast (`_Recipes`): its
parameters are placeholders (`"$max_steps"`, bound to the script's keywords or the defaults by the dialect), and
calls are followed into `model()`, a local `trainer(...)`, a shared helper of a sibling module
(`qwen2_trainer(...)`/`qwen2_model(version=NAME)` of recipes/qwen2.py, gemma2.py, nemotron.py, starcoder2.py,
qwen3.py, deepseek.py) or a base recipe (`llama3_8b.pretrain_recipe(...)` of the 16k/64k ones), each call's
arguments bound to the callee's parameters; `recipe.a.b = v` after the `run.Partial` is applied. An `if` on a
parameter becomes a `_switch_` (`precision == "16-mixed"` picks `fp16_mixed()`); `if performance_mode:` around
the whole recipe is recorded as `requires` (the table holds the default's recipe). Left out: recipes whose
pretraining is not a GPT `run.Partial` of these parts (bert*, e5, the embedding/reranker ones, hyena_* whose data
module is built by a call with positional arguments, the distilled Nemotron Ultra/Super that raise
NotImplementedError): the dialect says their defaults are not known. `ARCHITECTURES` holds each named config
class's literal fields over its bases' in gpt/model/*.py. Not run by the tests: the generated table is committed.
"""

from __future__ import annotations

import argparse
import ast
import copy
import subprocess
from typing import Any, Optional

from pretrain_doctor.config.python_reader import dotted_tail

_FOLDER = "nemo/collections/llm/recipes"
_PACKAGE = "nemo.collections.llm.recipes."
# A recipe's parameters that decide no setting
_NOT_SETTINGS = frozenset({"dir", "name", "fn"})
# The Trainer's and MegatronStrategy's arguments the dialect reads (the rest is no training setting: callbacks,
# checkpoint I/O, logging).
_TRAINER_KEYS = frozenset({"devices", "num_nodes", "max_steps", "max_epochs", "val_check_interval",
                           "limit_val_batches", "accumulate_grad_batches", "plugins", "gradient_clip_val"})
_STRATEGY_KEYS = frozenset({"tensor_model_parallel_size", "pipeline_model_parallel_size", "context_parallel_size",
                            "virtual_pipeline_model_parallel_size", "sequence_parallel", "expert_model_parallel_size",
                            "expert_tensor_parallel_size"})
_RECIPE_PARAMETERS = frozenset({"num_nodes", "num_gpus_per_node", "peft_scheme", "seq_length", "packed_sequence",
                                "performance_mode"})
class _Skipped:
    """A value that is no literal (a tensor dtype, a list of callbacks): not in the table. One instance, kept by
    `copy.deepcopy` (the evaluator copies scopes for each branch of an `if`)."""

    def __deepcopy__(self, memo: dict) -> "_Skipped":
        return self


_SKIPPED = _Skipped()


def _git(mirror: str, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={mirror}", *args], check=True, capture_output=True, text=True).stdout


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _defaults(function: ast.FunctionDef) -> dict[str, Any]:
    args = function.args.args
    values = function.args.defaults
    pairs = ((arg.arg, _literal(value, {})) for arg, value in zip(args[len(args) - len(values):], values))
    return {name: value for name, value in pairs if value is not _SKIPPED}


def _parameters(function: ast.FunctionDef) -> dict[str, Any]:
    """The recipe function's defaults for the parameters that decide a setting (not `dir`, `name`, `fn`)."""
    return {key: value for key, value in _defaults(function).items() if key in _RECIPE_PARAMETERS}


def _literal(node: Optional[ast.expr], names: dict[str, Any]) -> Any:
    """A constant, a parameter's value (`names`), `run.Config(Cls, k=v)` as `{"_target_": "Cls", k: v}`, or a
    factory called without arguments (`bf16_mixed()`) as `{"_factory_": "bf16_mixed"}`; `_SKIPPED` otherwise."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id, _SKIPPED)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    if isinstance(node, ast.Call) and dotted_tail(node.func) == "Config" and node.args:
        return {"_target_": dotted_tail(node.args[0]), **_keywords(node, names)}
    if isinstance(node, ast.Call) and not node.args:
        return {"_factory_": dotted_tail(node.func), **_keywords(node, names)}
    return _SKIPPED


def _keywords(call: ast.Call, names: dict[str, Any]) -> dict[str, Any]:
    pairs = ((k.arg, _literal(k.value, names)) for k in call.keywords if k.arg)
    return {key: value for key, value in pairs if value is not _SKIPPED}


def _set_path(holder: Any, parts: list[str], value: Any) -> None:
    """`holder.a.b = value` into nested mappings, into each case of a `_switch_` on the way."""
    if isinstance(holder, dict) and "_switch_" in holder:
        for case in [*holder["cases"].values(), holder["default"]]:
            _set_path(case, parts, copy.deepcopy(value))
    elif isinstance(holder, dict) and len(parts) > 1:
        _set_path(holder.get(parts[0]), parts[1:], value)
    elif isinstance(holder, dict) and value is _SKIPPED:
        holder.pop(parts[0], None)
    elif isinstance(holder, dict):
        holder[parts[0]] = value


class _Return:
    """A `return` reached while running a function body."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _Recipes:
    """The recipe modules of a tag, parsed on demand, and a small evaluator over their functions: enough to follow
    `pretrain_recipe()` into `model()`, a local `trainer(...)` or a shared helper (`qwen2_trainer(...)` of
    recipes/qwen2.py), each call's arguments bound to the callee's parameters. A recipe's own parameters stay
    placeholders (`"$max_steps"`) for the script's keywords; an `if` on one of them (`precision == "16-mixed"`)
    becomes a `{"_switch_": "$precision", "cases": {...}, "default": ...}` the dialect resolves. An `if` it cannot
    decide otherwise (`if performance_mode:` around an opaque call) is left out, as before."""

    def __init__(self, mirror: str, tag: str) -> None:
        self.mirror, self.tag = mirror, tag
        self.modules: dict[str, Optional[ast.Module]] = {}

    def module(self, name: str) -> Optional[ast.Module]:
        if name not in self.modules:
            try:
                self.modules[name] = ast.parse(_git(self.mirror, "show", f"{self.tag}:{_FOLDER}/{name}.py"))
            except subprocess.CalledProcessError:
                self.modules[name] = None
        return self.modules[name]

    def function(self, module: str, name: str) -> Optional[tuple[str, ast.FunctionDef]]:
        """`name` as `module` sees it: its own function, or one it imports from a sibling recipe module (not from
        `recipes/optim/`, `precision/`, `log/`: those factories stay `{"_factory_": ...}` for the dialect)."""
        tree = self.module(module)
        if tree is None:
            return None
        if name in _functions(tree):
            return module, _functions(tree)[name]
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_PACKAGE):
                sibling = node.module[len(_PACKAGE):]
                for alias in node.names:
                    if (alias.asname or alias.name) == name and "." not in sibling:
                        found = self.function(sibling, alias.name)
                        return found
        return None

    def callee(self, module: str, func: ast.expr) -> Optional[tuple[str, ast.FunctionDef]]:
        """`f(...)` as `function` finds it, or `llama3_8b.pretrain_recipe(...)` of a recipe module imported whole
        (`from nemo.collections.llm.recipes import llama3_8b`: the 16k/64k recipes build on the base one)."""
        if isinstance(func, ast.Name):
            return self.function(module, func.id)
        tree = self.module(module)
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)) or tree is None:
            return None
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == _PACKAGE[:-1]:
                for alias in node.names:
                    if (alias.asname or alias.name) == func.value.id:
                        return self.function(alias.name, func.attr)
        return None

    def constants(self, module: str) -> dict[str, Any]:
        """Module-level `NAME = "qwen25_500m"` literals."""
        tree = self.module(module)
        pairs = ((node.targets[0].id, node.value) for node in (tree.body if tree else [])
                 if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                 and isinstance(node.value, ast.Constant))
        return {name: value.value for name, value in pairs}

    def call(self, module: str, function: ast.FunctionDef, bound: dict[str, Any]) -> Any:
        env = {**self.constants(module), **_defaults(function), **bound}
        returned = self.block(module, function.body, env)
        return returned.value if isinstance(returned, _Return) else _SKIPPED

    def block(self, module: str, body: list[ast.stmt], env: dict[str, Any]) -> Optional[_Return]:
        for statement in body:
            if isinstance(statement, ast.Return):
                return _Return(self.value(module, statement.value, env))
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                self.assign(module, statement.targets[0], statement.value, env)
            elif isinstance(statement, ast.If):
                returned = self.branch(module, statement, env)
                if returned is not None:
                    return returned
        return None

    def assign(self, module: str, target: ast.expr, node: ast.expr, env: dict[str, Any]) -> None:
        """`x = value`, or `recipe.a.b = value` into the mapping `recipe` holds."""
        if isinstance(target, ast.Name):
            env[target.id] = self.value(module, node, env)
            return
        parts: list[str] = []
        while isinstance(target, ast.Attribute):
            parts.insert(0, target.attr)
            target = target.value
        holder = env.get(target.id) if isinstance(target, ast.Name) else None
        if parts:
            _set_path(holder, parts, self.value(module, node, env))

    def branch(self, module: str, statement: ast.If, env: dict[str, Any]) -> Optional[_Return]:
        decided = self.test(module, statement.test, env)
        if decided is not None:
            return self.block(module, statement.body if decided else statement.orelse, env)
        chain = self.switch_chain(module, statement, env)
        if chain is None:
            return None  # undecidable and no switch on a parameter: left out
        parameter, cases, default = chain
        runs = [(key, copy.deepcopy(env)) for key, _ in cases] + [(None, copy.deepcopy(env))]
        for (key, scope), body in zip(runs, [body for _, body in cases] + [default]):
            if self.block(module, body, scope) is not None:
                return _Return(_SKIPPED)  # a branch that returns: the function's result depends on the call
        for name in set().union(*(scope for _, scope in runs)):
            values = [scope.get(name, _SKIPPED) for _, scope in runs]
            if all(value == values[0] for value in values):
                env[name] = values[0]
            else:
                env[name] = {"_switch_": parameter, "default": values[-1],
                             "cases": {key: value for (key, _), value in zip(runs[:-1], values[:-1])}}
        return None

    def switch_chain(self, module: str, statement: ast.If, env: dict[str, Any]) -> Optional[tuple]:
        """`if p == "a": ... elif p == "b": ... else: ...` over one placeholder `p`: ("$p", [(a, body)...], else)."""
        parameter, cases = None, []
        node: Any = statement
        while isinstance(node, ast.If):
            test = node.test
            held = env.get(test.id) if isinstance(test, ast.Name) else None
            if isinstance(held, str) and held.startswith("$") and parameter in (None, held):  # `if use_mtp:`
                parameter = held
                cases.append((True, node.body))
                node = node.orelse[0] if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) else node.orelse
                continue
            if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
                    and isinstance(test.left, ast.Name) and isinstance(test.comparators[0], ast.Constant)):
                return None
            held = env.get(test.left.id)
            if not (isinstance(held, str) and held.startswith("$")) or parameter not in (None, held):
                return None
            parameter = held
            cases.append((test.comparators[0].value, node.body))
            node = node.orelse[0] if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) else node.orelse
        return parameter, cases, node

    def test(self, module: str, node: ast.expr, env: dict[str, Any]) -> Optional[bool]:
        """An `if` test decided from constants and bound values; None where it depends on a placeholder."""
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = self.value(module, node.left, env), self.value(module, node.comparators[0], env)
            if any(v is _SKIPPED or (isinstance(v, str) and v.startswith("$")) for v in (left, right)):
                return None
            operation = node.ops[0]
            if isinstance(operation, (ast.Eq, ast.Is)):
                return left == right
            if isinstance(operation, (ast.NotEq, ast.IsNot)):
                return left != right
            return None
        value = self.value(module, node, env)
        if value is _SKIPPED or (isinstance(value, str) and value.startswith("$")) or isinstance(value, dict):
            return None
        return bool(value)

    def value(self, module: str, node: Optional[ast.expr], env: dict[str, Any]) -> Any:
        """`_literal`'s values, a name the function bound, and a recipe function's call run with its arguments."""
        if isinstance(node, ast.Name):
            return copy.deepcopy(env.get(node.id, _SKIPPED))
        if isinstance(node, ast.IfExp):
            decided = self.test(module, node.test, env)
            return _SKIPPED if decided is None else self.value(module, node.body if decided else node.orelse, env)
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            found = self.callee(module, node.func)
            if found is not None:
                callee_module, callee = found
                names = [arg.arg for arg in callee.args.args]
                bound = {name: self.value(module, arg, env) for name, arg in zip(names, node.args)}
                bound.update({k.arg: self.value(module, k.value, env) for k in node.keywords if k.arg})
                return self.call(callee_module, callee, {k: v for k, v in bound.items() if v is not _SKIPPED})
        if isinstance(node, ast.Call) and dotted_tail(node.func) in ("Config", "Partial") and node.args:
            return {"_target_": dotted_tail(node.args[0]), **self.keywords(module, node, env)}
        if isinstance(node, ast.Call) and not node.args:
            return {"_factory_": dotted_tail(node.func), **self.keywords(module, node, env)}
        return _literal(node, {})

    def keywords(self, module: str, call: ast.Call, env: dict[str, Any]) -> dict[str, Any]:
        pairs = ((k.arg, self.value(module, k.value, env)) for k in call.keywords if k.arg)
        return {key: value for key, value in pairs if value is not _SKIPPED}


def _case(switch: dict[str, Any], value: Any) -> Any:
    """The value a `_switch_` takes for its parameter's `value` (the dialect's `_bound` does the same)."""
    cases = switch["cases"]
    key = bool(value) if all(isinstance(k, bool) for k in cases) else value
    return cases.get(key, switch["default"]) if isinstance(key, (str, int, float, bool)) else switch["default"]


def _targets(config: Any) -> set[str]:
    """The config classes a model config names, each case's where it is a `_switch_` (`model(use_mtp=...)`)."""
    if isinstance(config, dict) and "_switch_" in config:
        cases = [*config["cases"].values(), config["default"]]
        found = [_targets(case) for case in cases]
        return set().union(*found) if all(found) else set()
    return {config["_target_"]} if isinstance(config, dict) and config.get("_target_") else set()


def _pretrain(recipes: _Recipes, module: str) -> Optional[dict[str, Any]]:
    """What `pretrain_recipe()` builds, its parameters as placeholders, helpers followed."""
    found = recipes.function(module, "pretrain_recipe")
    if found is None or found[0] != module:
        return None
    recipe = found[1]
    placeholders = {arg.arg: f"${arg.arg}" for arg in recipe.args.args}  # the script's keywords, bound later
    built = recipes.call(module, recipe, placeholders)
    requires: dict[str, Any] = {}
    if isinstance(built, dict) and "_switch_" in built:
        # `if performance_mode: recipe = pretrain_performance_optimizations(recipe)`: the table holds the recipe its
        # default builds; a script that passes another value leaves the recipe unread (`requires`)
        parameter = built["_switch_"][1:]
        requires[parameter] = _defaults(recipe).get(parameter)
        built = _case(built, requires[parameter])
    if not isinstance(built, dict):
        return None
    model, trainer, data, optim = (built.get(key) for key in ("model", "trainer", "data", "optim"))
    config = model.get("config") if isinstance(model, dict) else None
    if not (_targets(config) and isinstance(trainer, dict)
            and isinstance(trainer.get("strategy"), dict) and isinstance(data, dict) and isinstance(optim, dict)):
        return None
    out_trainer = {key: value for key, value in trainer.items() if key in _TRAINER_KEYS}
    out_trainer["strategy"] = {key: value for key, value in trainer["strategy"].items() if key in _STRATEGY_KEYS}
    parameters = {key: value for key, value in _defaults(recipe).items() if key not in _NOT_SETTINGS}
    return {"parameters": parameters, **({"requires": requires} if requires else {}), "model": {"config": config}, "trainer": out_trainer,
            "data": data, "optim": optim}


def _finetune(functions: dict[str, ast.FunctionDef]) -> Optional[dict[str, Any]]:
    """`finetune_recipe()` over `default_finetune_recipe(model(), "<hf id>", ...)`: the weights it starts from and
    what each `peft_scheme` branch sets (`recipe.optim.config.lr = 1e-4`)."""
    recipe = functions.get("finetune_recipe")
    if recipe is None:
        return None
    base = next((node for node in ast.walk(recipe) if isinstance(node, ast.Call)
                 and dotted_tail(node.func) == "default_finetune_recipe"), None)
    if base is None or len(base.args) < 2 or not isinstance(base.args[1], ast.Constant):
        return None
    branches: dict[str, dict[str, Any]] = {}
    for node in ast.walk(recipe):
        if isinstance(node, ast.If) and "peft_scheme" in ast.unparse(node.test) and "none" in ast.unparse(node.test):
            branches["none"] = _assigned(node.body)
            lora = node.orelse[0] if node.orelse and isinstance(node.orelse[0], ast.If) else None
            if lora is not None:
                branches["lora"] = _assigned(lora.body)
            break
    return {"parameters": _parameters(recipe), "restore_path": base.args[1].value, "branches": branches}


def _assigned(body: list[ast.stmt]) -> dict[str, Any]:
    """`recipe.a.b = literal` of a block, dotted below `recipe`; `recipe.peft = run.Config(LoRA)` as its target."""
    out: dict[str, Any] = {}
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            path = ast.unparse(statement.targets[0])
            value = _literal(statement.value, {})
            if path.startswith("recipe.") and value is not _SKIPPED:
                out[path[len("recipe."):]] = value
    return out


def table(mirror: str, tag: str) -> dict[str, dict[str, Any]]:
    recipes = _Recipes(mirror, tag)
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(_git(mirror, "ls-tree", "--name-only", f"{tag}:{_FOLDER}").split()):
        if not path.endswith(".py") or path.startswith("__"):
            continue
        tree = recipes.module(path[:-3])
        assert tree is not None
        entry = {"pretrain": _pretrain(recipes, path[:-3]), "finetune": _finetune(_functions(tree))}
        if any(entry.values()):
            out[path[:-3]] = {key: value for key, value in entry.items() if value}
    return out


# The model config fields the dialect reads (`num_layers: int = 24` in a config dataclass of gpt/model/*.py).
_ARCHITECTURE_FIELDS = ("num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads", "num_query_groups",
                        "kv_channels", "gated_linear_unit", "share_embeddings_and_output_weights", "vocab_size",
                        "num_moe_experts", "moe_router_topk", "seq_length", "moe_ffn_hidden_size",
                        "moe_shared_expert_intermediate_size")
_MODELS = "nemo/collections/llm/gpt/model"


def architectures(mirror: str, tag: str, names: set[str]) -> dict[str, dict[str, Any]]:
    """Each named config class's literal fields, its own over its bases' (across gpt/model/*.py; a base outside
    them, Megatron's TransformerConfig, adds nothing: a field only it sets stays unknown)."""
    classes: dict[str, tuple[list[str], dict[str, Any], str]] = {}
    for path in _git(mirror, "ls-tree", "--name-only", f"{tag}:{_MODELS}/").split():
        if path.endswith(".py"):
            for node in ast.parse(_git(mirror, "show", f"{tag}:{_MODELS}/{path}")).body:
                if isinstance(node, ast.ClassDef):
                    fields = {t.target.id: _literal(t.value, {}) for t in node.body if isinstance(t, ast.AnnAssign)
                              and isinstance(t.target, ast.Name) and t.value is not None}
                    fields.update({t.targets[0].id: _literal(t.value, {}) for t in node.body
                                   if isinstance(t, ast.Assign) and isinstance(t.targets[0], ast.Name)})
                    classes[node.name] = ([dotted_tail(base) for base in node.bases], fields, path)

    def resolved(name: str, depth: int = 0) -> dict[str, Any]:
        if name not in classes or depth > 20:
            return {}
        bases, fields, _ = classes[name]
        out: dict[str, Any] = {}
        for base in reversed(bases):
            out.update(resolved(base, depth + 1))
        out.update(fields)
        return out

    return {name: {"file": classes[name][2], **{key: value for key, value in resolved(name).items()
                                                  if key in _ARCHITECTURE_FIELDS and value not in (_SKIPPED, None)}}
            for name in sorted(names) if name in classes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirror")
    parser.add_argument("tag")
    parser.add_argument("--out")
    args = parser.parse_args()
    # one line per recipe and function: the entries share their shape, which a line-wise listing would repeat
    recipes = table(args.mirror, args.tag)
    rows = [f"    {name!r}: {{" + ",\n        ".join(f"{kind!r}: {entry!r}" for kind, entry in kinds.items()) + "},"
            for name, kinds in recipes.items()]
    body = "{\n" + "\n".join(rows) + "\n}"
    named = set().union(*(_targets(kinds["pretrain"]["model"]["config"]) for kinds in recipes.values()
                          if "pretrain" in kinds))
    shapes = "{\n" + "\n".join(f"    {name!r}: {shape!r}," for name, shape in
                                architectures(args.mirror, args.tag, named).items()) + "\n}"
    text = (f'"""NeMo 2 recipe defaults, generated by tools/nemo2_recipes.py from NVIDIA/NeMo {args.tag} '
            f'(`nemo/collections/llm/recipes/*.py`). Do not edit by hand."""\n\nTAG = {args.tag!r}\n'
            f"RECIPES = {body}\n# Each recipe's model config class, its literal fields over its bases' ({_MODELS}/*.py)\n"
            f"ARCHITECTURES = {shapes}\n")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
