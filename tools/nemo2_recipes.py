"""Generate `pretrain_doctor/dialects/nemo2_recipes.py`: what each NeMo 2 recipe module's `pretrain_recipe()` and
`finetune_recipe()` set, read from NeMo's own source with `ast` (nothing is imported or executed).

    python tools/nemo2_recipes.py MIRROR TAG [--out FILE]

MIRROR is a git checkout or bare mirror of NVIDIA/NeMo; each `nemo/collections/llm/recipes/*.py` of TAG is read
with `git show TAG:path`. A recipe is read where it has the shape most of them share (llama3_8b.py): `model()`
returning `run.Config(XModel, config=run.Config(XConfig))`, `trainer(...)` building `nl.Trainer` and
`nl.MegatronStrategy` from its parameters, and `pretrain_recipe()` building `run.Partial(fn, model=model(),
trainer=trainer(...), data=run.Config(...), optim=factory(...))`. Other recipes (those that call a shared helper:
qwen2.py, gemma2.py, ...) are left out: the dialect says their defaults are not known. Not run by the tests: the
generated table is committed.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from typing import Any, Optional

_FOLDER = "nemo/collections/llm/recipes"
# The Trainer's and MegatronStrategy's arguments the dialect reads (the rest is no training setting: callbacks,
# checkpoint I/O, logging).
_TRAINER_KEYS = frozenset({"devices", "num_nodes", "max_steps", "max_epochs", "val_check_interval",
                           "limit_val_batches", "accumulate_grad_batches", "plugins", "gradient_clip_val"})
_STRATEGY_KEYS = frozenset({"tensor_model_parallel_size", "pipeline_model_parallel_size", "context_parallel_size",
                            "virtual_pipeline_model_parallel_size", "sequence_parallel", "expert_model_parallel_size",
                            "expert_tensor_parallel_size"})
_RECIPE_PARAMETERS = frozenset({"num_nodes", "num_gpus_per_node", "peft_scheme", "seq_length", "packed_sequence",
                                "performance_mode"})
_SKIPPED = object()  # a value that is no literal (a tensor dtype, a list of callbacks): not in the table


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


def _tail(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


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
    if isinstance(node, ast.Call) and _tail(node.func) == "Config" and node.args:
        return {"_target_": _tail(node.args[0]), **_keywords(node, names)}
    if isinstance(node, ast.Call) and not node.args:
        return {"_factory_": _tail(node.func), **_keywords(node, names)}
    return _SKIPPED


def _keywords(call: ast.Call, names: dict[str, Any]) -> dict[str, Any]:
    pairs = ((k.arg, _literal(k.value, names)) for k in call.keywords if k.arg)
    return {key: value for key, value in pairs if value is not _SKIPPED}


def _returned_config(function: ast.FunctionDef, names: dict[str, Any], target: str) -> Optional[dict[str, Any]]:
    """The `run.Config(<target>, ...)` the function builds, its parameters bound to `names`."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and _tail(node.func) == "Config" and node.args and _tail(node.args[0]) == target:
            return _literal(node, names)
    return None


def _trainer(functions: dict[str, ast.FunctionDef], call: ast.Call, recipe_names: dict[str, Any]) -> Optional[dict]:
    """The Trainer `trainer(...)` builds for the keywords `pretrain_recipe` passes (its own parameters by name)."""
    function = functions.get("trainer")
    if function is None:
        return None
    names = _defaults(function)
    names.update({k.arg: _literal(k.value, recipe_names) for k in call.keywords if k.arg})
    config = _returned_config(function, names, "Trainer")
    strategy = _returned_config(function, names, "MegatronStrategy")
    if config is None or strategy is None:
        return None
    config = {key: value for key, value in config.items() if key in _TRAINER_KEYS}
    config["strategy"] = {key: value for key, value in strategy.items() if key in _STRATEGY_KEYS}
    return config


def _partial_keywords(function: ast.FunctionDef) -> Optional[dict[str, ast.expr]]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and _tail(node.func) == "Partial":
            return {k.arg: k.value for k in node.keywords if k.arg}
    return None


def _pretrain(functions: dict[str, ast.FunctionDef]) -> Optional[dict[str, Any]]:
    recipe = functions.get("pretrain_recipe")
    model = functions.get("model")
    if recipe is None or model is None:
        return None
    names = {name: f"${name}" for name in _defaults(recipe)}  # the recipe's own parameters: the script's kwargs
    parts = _partial_keywords(recipe)
    model_config = _model_config(model)
    if not parts or model_config is None or not isinstance(parts.get("trainer"), ast.Call):
        return None
    trainer = _trainer(functions, parts["trainer"], names)
    data = _literal(parts.get("data"), names)
    optim = parts.get("optim")
    if trainer is None or not isinstance(data, dict) or not isinstance(optim, ast.Call):
        return None
    return {"parameters": _parameters(recipe), "model": {"config": {"_target_": model_config}}, "trainer": trainer,
            "data": data, "optim": {"_factory_": _tail(optim.func), **_keywords(optim, names)}}


def _model_config(model: ast.FunctionDef) -> Optional[str]:
    """The config class of `run.Config(XModel, config=run.Config(XConfig))`, or of `conf = run.Config(XConfig)`."""
    assigned = {node.targets[0].id: node.value for node in ast.walk(model) if isinstance(node, ast.Assign)
                and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)}
    for node in ast.walk(model):
        if isinstance(node, ast.keyword) and node.arg == "config":
            value = assigned.get(node.value.id) if isinstance(node.value, ast.Name) else node.value
            if isinstance(value, ast.Call) and value.args:
                return _tail(value.args[0])
    return None


def _finetune(functions: dict[str, ast.FunctionDef]) -> Optional[dict[str, Any]]:
    """`finetune_recipe()` over `default_finetune_recipe(model(), "<hf id>", ...)`: the weights it starts from and
    what each `peft_scheme` branch sets (`recipe.optim.config.lr = 1e-4`)."""
    recipe = functions.get("finetune_recipe")
    if recipe is None:
        return None
    base = next((node for node in ast.walk(recipe) if isinstance(node, ast.Call)
                 and _tail(node.func) == "default_finetune_recipe"), None)
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
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(_git(mirror, "ls-tree", "--name-only", f"{tag}:{_FOLDER}").split()):
        if not path.endswith(".py") or path.startswith("__"):
            continue
        tree = ast.parse(_git(mirror, "show", f"{tag}:{_FOLDER}/{path}"))
        functions = _functions(tree)
        entry = {"pretrain": _pretrain(functions), "finetune": _finetune(functions)}
        if any(entry.values()):
            out[path[:-3]] = {key: value for key, value in entry.items() if value}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirror")
    parser.add_argument("tag")
    parser.add_argument("--out")
    args = parser.parse_args()
    # one line per recipe and function: the entries share their shape, which a line-wise listing would repeat
    rows = [f"    {name!r}: {{" + ",\n        ".join(f"{kind!r}: {entry!r}" for kind, entry in kinds.items()) + "},"
            for name, kinds in table(args.mirror, args.tag).items()]
    body = "{\n" + "\n".join(rows) + "\n}"
    text = (f'"""NeMo 2 recipe defaults, generated by tools/nemo2_recipes.py from NVIDIA/NeMo {args.tag} '
            f'(`nemo/collections/llm/recipes/*.py`). Do not edit by hand."""\n\nTAG = {args.tag!r}\n'
            f"RECIPES = {body}\n")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
