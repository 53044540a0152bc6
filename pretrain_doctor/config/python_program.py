"""A Python training program that builds its Trainer arguments itself, read as the launch of that program.

`args = ORPOConfig(learning_rate=8e-6, beta=0.1, ...)` in train.py is what `python train.py --learning_rate 8e-6
--beta 0.1 ...` hands an HfArgumentParser program: the same keys reach the same Trainer. So such a file becomes
the data of a launch script (`program` = the file itself, one `--key` per keyword, at the keyword's line and
column), and the launch-script machinery does the rest: the HF dialect reads the keys, and the program's own
source (this file) says what the keywords leave open (LoRA adapters, a 4-bit base, the weights it loads).

A keyword's value counts when it is a literal, or a name the module or the enclosing blocks assigned a literal
before the call (`lr = 2e-5` ... `learning_rate=lr`), with the arithmetic `python_reader` evaluates, or a field of
an instance of a settings class the program defines or imports from a module beside it (`cfg = TrainConfig()` ...
`learning_rate=cfg.learning_rate`, the class body's literal default). Anything else (`args.lr`, a function's
result) is unevaluated, with its source. Nothing is imported or run.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Optional

from ..lazyre import lazy_compile
from .document import COMPUTED, KeyPath, Position
from .python_reader import assignments, dotted_tail, evaluate, parse_module

# TrainingArguments and the TRL configs that extend it, a project's own prefixed subclass included (`MyDPOConfig`).
ARGUMENT_CLASSES = lazy_compile(r"^(Seq2Seq)?TrainingArguments$|^[A-Z]\w*(SFT|DPO|KTO|ORPO|CPO|BCO|GRPO|RLOO|PPO|"
                                r"Reward|PRM|GKD|OnlineDPO|XPO|NashMD)Config$|^(SFT|DPO|KTO|ORPO|CPO|BCO|GRPO|"
                                r"RLOO|PPO|Reward|PRM|GKD|OnlineDPO|XPO|NashMD)Config$")
# A cheap look before parsing: most Python configs (nanoGPT's) build no arguments object.
_MENTIONS = lazy_compile(r"(TrainingArguments|[A-Z]\w*Config)\s*\(")
# Classes whose `from_pretrained` loads the weights a run trains (not a tokenizer, config or processor).
_MODEL_CLASSES = lazy_compile(r"^(Auto\w*Model\w*|\w+For(CausalLM|ConditionalGeneration|Seq2SeqLM)|\w*LanguageModel"
                              r"|AutoPeftModel\w*)$")
_MIN_KEYWORDS = 2
# Keywords a program without a command line computes (from a file it loads, the environment) for it to be read.
COMPUTED_KEYWORDS = 8
_PARSES_ARGUMENTS = lazy_compile(r"\b(?:ArgumentParser|parse_args|HfArgumentParser|TrlParser|fire\.Fire|typer|click)\b")


def computes_its_arguments(text: str) -> bool:
    """A program run as itself (`if __name__ == "__main__"`) with no command line of its own: what its Trainer's
    arguments compute comes from a file it loads or the environment, not from a launch (a library function handed a
    config by its caller is the caller's: held-out review 103, A 01)."""
    return "__main__" in text and not _PARSES_ARGUMENTS.search(text)


_Scope = dict[str, Any]


def read_python_program(text: str, shown: str, path: Optional[Path] = None
                        ) -> Optional[tuple[dict[str, Any], dict[KeyPath, Position], dict[str, str]]]:
    """The launch data (as `read_shell` gives it) of a program that builds TrainingArguments or a TRL config
    with keywords; None for any other Python file (a nanoGPT override file, a library module). `path`: the file,
    from whose folder the settings modules it imports are read."""
    found = _arguments_built(text)
    if found is None:
        return None
    tree, call = found
    where = Position(call.lineno, call.col_offset + 1)
    data: dict[str, Any] = {"program": Path(shown).name, "launcher": {"name": "python"},
                            "arguments_class": dotted_tail(call.func)}
    positions: dict[KeyPath, Position] = {("program",): where, ("launcher", "name"): where,
                                          ("arguments_class",): where}
    scope = scope_at(tree, call, program_settings(tree, path))
    unevaluated: dict[str, str] = {}
    evaluated = _keyword_values(call_keywords(tree, call), scope, text, data, positions, unevaluated)
    if evaluated < _MIN_KEYWORDS and (not computes_its_arguments(text) or len(unevaluated) < COMPUTED_KEYWORDS):
        # `TrainingArguments(learning_rate=args.lr, ...)`: the program's command line decides, not this file; a program
        # with no command line that computes many keywords from a file it loads is still read, its values unknown
        # (held-out review 114, A 02: `ORPOConfig(learning_rate=lr, ...)` from an uncommitted orpo_config.yaml)
        return None
    if "--model_name_or_path" not in data:
        _loaded_model(tree, data, positions)
    return data, positions, unevaluated


def _keyword_values(keywords: list[tuple[ast.keyword, bool]], scope: _Scope, text: str, data: dict[str, Any],
                    positions: dict[KeyPath, Position], unevaluated: dict[str, str]) -> int:
    """The call's keywords (`call_keywords`) as `--key` flags into `data` (at their positions), those not evaluated
    into `unevaluated` with why; how many were evaluated."""
    evaluated = 0
    for keyword, certain in keywords:
        if keyword.arg is None or (isinstance(keyword.value, ast.Constant) and keyword.value.value is None):
            continue  # `**kwargs` adds keys not written here; `key=None` leaves the field at its unset default
        flag = f"--{keyword.arg}"
        positions[(flag,)] = Position(keyword.lineno, keyword.col_offset + 1)
        value = evaluate(keyword.value, scope) if certain else None
        if value is None and not certain:
            data[flag] = None
            unevaluated[flag] = f"set only on some paths of the program (`{keyword.arg}=` in a conditional update)"
        elif value is None:
            data[flag] = None
            source = ast.get_source_segment(text, keyword.value) or "<expression>"
            unevaluated[flag] = f"`{source[:120]}`{COMPUTED}"
        else:
            data[flag] = value
            evaluated += 1
    return evaluated


class MappedArguments(NamedTuple):
    """The Trainer arguments a program builds from a config file it loads (`config = json.load(f)` then
    `TrainingArguments(learning_rate=config["learning_rate"], bf16=True, ...)`): `--key` flags as
    `read_python_program` gives them, and for each key the program takes from the file, the file's key path."""

    data: dict[str, Any]
    positions: dict[KeyPath, Position]
    unevaluated: dict[str, str]
    from_file: dict[str, tuple[str, ...]]


# A program maps a config file when at least this many of its Trainer arguments are read from it.
_MIN_MAPPED_KEYS = 2


def mapped_arguments(text: str, shown: str, loaded: dict[str, Any], path: Optional[Path] = None
                     ) -> Optional[MappedArguments]:
    """The arguments the program `text` builds from the config `loaded` (the file's data), which it loads into one
    name (`json.load`, `json.loads(f.read())`, `yaml.safe_load`, `OmegaConf.load`, a section of it: `[...]["train"]`);
    None when it loads no config that way, or reads fewer than two of its Trainer arguments from it."""
    found = _arguments_built(text)
    if found is None:
        return None
    tree, call = found
    bound = _loaded_config_names(tree)
    if len(bound) != 1:
        return None
    [(name, section)] = bound.items()
    name = _parameter_handed(tree, call, name) or name
    config = loaded
    for key in section:
        config = config.get(key) if isinstance(config, dict) else None
    if not isinstance(config, dict):
        return None
    scope = scope_at(tree, call, program_settings(tree, path))
    scope[name] = config
    scope.update(_dotted_items(name, config))  # OmegaConf: `cfg.training.learning_rate`
    data: dict[str, Any] = {"program": Path(shown).name, "arguments_class": dotted_tail(call.func)}
    positions: dict[KeyPath, Position] = {("program",): Position(call.lineno, call.col_offset + 1)}
    unevaluated: dict[str, str] = {}
    keywords = call_keywords(tree, call)
    _keyword_values(keywords, scope, text, data, positions, unevaluated)
    from_file = {}
    for keyword, _ in keywords:
        key = _config_key(keyword.value, name) if keyword.arg is not None else None
        if key is not None and data.get(f"--{keyword.arg}") is not None:
            from_file[keyword.arg] = (*section, key)
    return MappedArguments(data, positions, unevaluated, from_file) if len(from_file) >= _MIN_MAPPED_KEYS else None


def _parameter_handed(tree: ast.Module, call: ast.Call, name: str) -> Optional[str]:
    """The parameter of the function holding `call` that every call of that function hands `name` (`CONFIG =
    _load_config(...)`, then `create_training_arguments(CONFIG)` whose `cfg` builds TrainingArguments: held-out review
    129, A 09); None where there is no such function or parameter."""
    holder = next((node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                   and any(inner is call for inner in ast.walk(node))), None)
    if holder is None:
        return None
    return next((parameter.arg for parameter, handed in _handed(tree, holder)
                 if handed and all(isinstance(value, ast.Name) and value.id == name for value in handed)), None)


def _handed(tree: ast.Module, function: ast.FunctionDef) -> Iterator[tuple[ast.arg, list[Optional[ast.expr]]]]:
    """Each positional parameter of `function` with what every call of it in the module hands it (by keyword or
    position; None where a call leaves it to its default)."""
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id == function.name]
    for position, parameter in enumerate(function.args.args):
        yield parameter, [next((k.value for k in each.keywords if k.arg == parameter.arg),
                               each.args[position] if position < len(each.args) else None) for each in calls]


# The calls that load a config file into a dict, by module: `json.load(f)`, `json.loads(f.read())`,
# `yaml.safe_load(f)`, `yaml.load(f, Loader=...)`, `OmegaConf.load(path)`, `tomllib.load(f)`.
_LOADER_MODULES = frozenset({"json", "yaml", "OmegaConf", "tomllib", "toml", "tomli"})
_LOADER_FUNCTIONS = frozenset({"load", "loads", "safe_load", "full_load"})


def _loaded_config_names(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """The names a loaded config is assigned to, each with the section of it taken (`yaml.safe_load(f)["train"]`)."""
    found: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value, section = node.value, []
        while isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant) \
                and isinstance(value.slice.value, str):
            section.insert(0, value.slice.value)
            value = value.value
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr in _LOADER_FUNCTIONS and isinstance(value.func.value, ast.Name)
                and value.func.value.id in _LOADER_MODULES) or (
                isinstance(value, ast.Call) and _CONFIG_CONSTRUCTOR.match(dotted_tail(value.func).rsplit(".", 1)[-1])):
            found[node.targets[0].id] = tuple(section)
    return found


# A project's own loader of its config file, a class method or a function (`FineTuningConfig.from_yaml(file_name=...)`,
# held-out review 111, A 02; `load_config(args.config)`, a module's private `_load_config(...)`: held-out review 129,
# A 09): the file's keys as the object's attributes.
_CONFIG_CONSTRUCTOR = lazy_compile(r"^_*(?:from_(?:yaml|yml|json|toml|file)|load_(?:yaml|json|config)(?:_file)?"
                                   r"|read_(?:yaml|json|config))$")


def _dotted_items(name: str, config: dict[str, Any], depth: int = 3) -> _Scope:
    items: _Scope = {}
    for key, value in config.items():
        if isinstance(key, str) and key.isidentifier():
            items[f"{name}.{key}"] = value
            if isinstance(value, dict) and depth > 1:
                items.update(_dotted_items(f"{name}.{key}", value, depth - 1))
    return items


def _config_key(value: ast.expr, name: str) -> Optional[str]:
    """The key of the loaded config `name` that `value` reads: `name["key"]`, `name.get("key", ...)`, `name.key`."""
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and value.value.id == name \
            and isinstance(value.slice, ast.Constant) and isinstance(value.slice.value, str):
        return value.slice.value
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "get"
            and isinstance(value.func.value, ast.Name) and value.func.value.id == name and value.args
            and isinstance(value.args[0], ast.Constant) and isinstance(value.args[0].value, str)):
        return value.args[0].value
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == name:
        return value.attr
    return None


def _arguments_built(text: str) -> Optional[tuple[ast.Module, ast.Call]]:
    """The program's syntax tree and its call that builds the Trainer's arguments; None for a file that builds none."""
    if not _MENTIONS.search(text):
        return None
    try:
        tree = parse_module(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    call = _arguments_call(tree)
    return (tree, call) if call is not None else None


def _arguments_call(tree: ast.Module) -> Optional[ast.Call]:
    """The call that builds the Trainer's arguments: the one assigned to the name a Trainer is given as `args=`,
    else the one with the most keywords (a script may build a second, smaller one for evaluation); None when no call
    builds them with at least two keywords."""
    calls = [node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and ARGUMENT_CLASSES.match(dotted_tail(node.func))]
    counted = [(call, sum(1 for keyword, _ in call_keywords(tree, call) if keyword.arg is not None)) for call in calls]
    counted = [(call, count) for call, count in counted if count >= _MIN_KEYWORDS]
    # (held-out review 134, B 07: two TrainingArguments of 17 keywords each, `Trainer(args=training_arguments_one_doc)`
    # running the second; the first, never used, was read)
    used = _assigned_to(tree, _trainer_argument_names(tree))
    chosen = [(call, count) for call, count in counted if call in used] or counted
    return max(chosen, key=lambda pair: pair[1], default=(None, 0))[0]


def _trainer_argument_names(tree: ast.Module) -> set[str]:
    """The names a Trainer call is given as its `args=` (`Trainer(model=model, args=training_args, ...)`)."""
    return {keyword.value.id for node in ast.walk(tree)
            if isinstance(node, ast.Call) and dotted_tail(node.func).endswith("Trainer")
            for keyword in node.keywords if keyword.arg == "args" and isinstance(keyword.value, ast.Name)}


def _assigned_to(tree: ast.Module, names: set[str]) -> set[ast.Call]:
    """The calls assigned to one of `names` (`training_args = TrainingArguments(...)`)."""
    return {node.value for node in ast.walk(tree) if names and isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and any(isinstance(target, ast.Name) and target.id in names for target in node.targets)}


def call_keywords(tree: ast.Module, call: ast.Call) -> list[tuple[ast.keyword, bool]]:
    """The call's keywords, each with whether it is given on every path: a `**name` whose dict the program builds
    before the call (`kwargs = dict(learning_rate=args.lr, ...)` or a `{"key": ...}` literal) stands for its keys,
    and what `name.update(...)` adds after that, certain only when the update is in the same block (held-out review
    92, A 11: `GRPOConfig(**grpo_kwargs)` refused, an `if args.use_vllm: grpo_kwargs.update(use_vllm=True, ...)`)."""
    found: list[tuple[ast.keyword, bool]] = []
    for keyword in call.keywords:
        built = _built_dict(tree, keyword.value, call) if keyword.arg is None else None
        found.extend(built if built is not None else [(keyword, True)])
    return found


def _built_dict(tree: ast.Module, value: ast.expr, call: ast.Call) -> Optional[list[tuple[ast.keyword, bool]]]:
    if not isinstance(value, ast.Name):
        return None
    body, assigned = _assignment_before(tree, value.id, call.lineno)
    if assigned is None:
        return None
    keywords = [(keyword, True) for keyword in _dict_keywords(assigned)]
    for statement in ast.walk(tree):
        update = statement.value if isinstance(statement, ast.Expr) else None
        if (isinstance(update, ast.Call) and isinstance(update.func, ast.Attribute) and update.func.attr == "update"
                and isinstance(update.func.value, ast.Name) and update.func.value.id == value.id
                and assigned.lineno < update.lineno < call.lineno):
            keywords += [(keyword, statement in body) for keyword in update.keywords if keyword.arg is not None]
        item = _item_assignment(statement, value.id)  # `kwargs["bf16"] = True`
        if item is not None and assigned.lineno < statement.lineno < call.lineno:
            keywords.append((item, statement in body))
    return keywords


def _item_assignment(statement: ast.AST, name: str) -> Optional[ast.keyword]:
    """`name["key"] = value` as the keyword it adds to the dict `name`."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return None
    target = statement.targets[0]
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == name \
            and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
        return ast.keyword(arg=target.slice.value, value=statement.value, lineno=statement.lineno,
                           col_offset=statement.col_offset)
    return None


def _assignment_before(tree: ast.Module, name: str, line: int) -> tuple[list[ast.stmt], Optional[ast.expr]]:
    """The block and the dict expression of the last `name = dict(...)` / `name = {...}` before `line`."""
    best: tuple[list[ast.stmt], Optional[ast.expr]] = ([], None)
    for node in ast.walk(tree):
        for statement in getattr(node, "body", []) if isinstance(getattr(node, "body", None), list) else []:
            # `kwargs = {...}`, or annotated: `training_kwargs: dict[str, Any] = {...}` (held-out review 95, A 08)
            target = statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                else statement.target if isinstance(statement, ast.AnnAssign) else None
            value = getattr(statement, "value", None)
            if (isinstance(target, ast.Name) and target.id == name and value is not None
                    and statement.lineno < line and _dict_keywords(value) is not None
                    and (best[1] is None or statement.lineno > best[1].lineno)):
                best = (node.body, value)
    return best


def _dict_keywords(expression: ast.expr) -> Optional[list[ast.keyword]]:
    """`dict(a=1, b=x)` or `{"a": 1, "b": x}` as keywords (positioned at each value); None for anything else."""
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name) and expression.func.id == "dict" \
            and not expression.args:
        return [keyword for keyword in expression.keywords if keyword.arg is not None]
    if isinstance(expression, ast.Dict) and all(isinstance(key, ast.Constant) and isinstance(key.value, str)
                                                for key in expression.keys):
        return [ast.keyword(arg=key.value, value=item, lineno=key.lineno, col_offset=key.col_offset)
                for key, item in zip(expression.keys, expression.values)]
    return None


def scope_at(tree: ast.Module, target: ast.AST, settings: Optional[Settings] = None) -> _Scope:
    """The names assigned a value we evaluate before `target`, block by block from the module down to it: the
    module's globals, then those of the `if __name__ == "__main__":` block or function that holds it. An instance
    of one of the program's `settings` classes (`cfg = TrainConfig()`) holds its fields as dotted names
    (`cfg.learning_rate`)."""
    scope: _Scope = _class_attributes(tree, settings) if settings is not None else {}
    entries = _cli_entry_points(tree)
    for block, holder in _blocks_to(tree.body, target):
        if isinstance(holder, ast.FunctionDef) and holder.name in entries:
            scope.update(_parameter_defaults(holder, scope))  # `fire.Fire(train)` run bare: train's defaults
        elif isinstance(holder, ast.FunctionDef) and settings is not None:
            scope.update(_parsed_parameters(tree, holder, settings))
        for statement in block:
            if statement is holder:
                break
            for name in _assigned_inside(statement):
                # `if ddp: gradient_accumulation_steps = gradient_accumulation_steps // world_size` (held-out review
                # 132, A 16, alpaca-lora's finetune.py, read as the 32 before it): a name some path changes is unknown
                _forget(scope, name)
            results = [(name, value, evaluate(value, scope)) for name, value in assignments(statement)]
            for name, expression, value in results:
                _forget(scope, name)
                if value is None:
                    if settings is not None:
                        scope.update(_instance_fields(name, expression, scope, settings))
                else:
                    scope[name] = value
    return scope


def _assigned_inside(statement: ast.stmt) -> set[str]:
    """The names a compound statement (`if`, `for`, `with`, `try`) assigns in its blocks: on some paths only."""
    if not isinstance(statement, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
        return set()
    names: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(_target_names(target))
    return names


def _target_names(target: ast.expr) -> list[str]:
    """`x` for `x = ...`, `args.name` for `args.name = ...` (only that field: held-out review 123, A 20's
    `if not args.dataset_name: args.dataset_name = None` keeps every other `args.*`), each name of a tuple."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        return [f"{target.value.id}.{target.attr}"]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names(element)]
    return []


def _forget(scope: _Scope, name: str) -> None:
    scope.pop(name, None)
    for dotted in [key for key in scope if key.startswith(name + ".")]:
        del scope[dotted]


def _class_attributes(tree: ast.Module, settings: Settings) -> _Scope:
    """`Config.beta` read off a settings class itself, never instantiated (held-out review 96, A 09: `class Config:
    beta = 0.1 ...` then `KTOConfig(beta=Config.beta, ...)`), for the fields the program never reassigns
    (`Config.lr = ...`); a class the program fills with `setattr` holds nothing known."""
    reassigned: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        reassigned.update((t.value.id, t.attr) for t in targets
                          if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name))
        if isinstance(node, ast.Call) and dotted_tail(node.func) == "setattr" and node.args \
                and isinstance(node.args[0], ast.Name):
            reassigned.add((node.args[0].id, "*"))
    return {f"{cls}.{field}": value for cls, fields in settings.classes.items() if (cls, "*") not in reassigned
            for field, value in fields.items() if (cls, field) not in reassigned}


def _parsed_parameters(tree: ast.Module, function: ast.FunctionDef, settings: Settings) -> _Scope:
    """A function's parameter that every call of it hands the parsed command line (`args = parser.parse_args()`
    then `main(args)`): its fields are the argparse defaults, as for `args.lr` at module level (held-out review 95,
    A 07: `def main(args): ... TrainingArguments(learning_rate=args.learning_rate, ...)`)."""
    if not settings.parsed and not settings.hf_parsers:
        return {}
    parsed = {name for node in ast.walk(tree) for name, expression in assignments(node)
              if isinstance(expression, ast.Call) and _parses_arguments(expression, settings)}
    # `(args, ) = parser.parse_args_into_dataclasses()` then `main(args)` (held-out review 129, A 12)
    dataclasses = {name: found for node in ast.walk(tree) for name, expression in assignments(node)
                   for found in [_parsed_dataclass(expression, settings)] if found is not None}
    found: _Scope = {}
    for parameter, handed in _handed(tree, function):
        if handed and all((isinstance(value, ast.Name) and value.id in parsed)
                          or (isinstance(value, ast.Call) and _parses_arguments(value, settings)) for value in handed):
            found.update({f"{parameter.arg}.{field}": value for field, value in settings.parsed.items()})
        # `build_config(max_steps=args.max_steps, ...)`, the one argparse default (held-out review 129, A 18)
        fields = {value.attr if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                  and value.value.id in parsed else None for value in handed}
        if handed and len(fields) == 1 and None not in fields and (field := fields.pop()) in settings.parsed:
            found[parameter.arg] = settings.parsed[field]
        classes = {dataclasses.get(value.id) if isinstance(value, ast.Name) else None for value in handed}
        if handed and len(classes) == 1 and None not in classes:
            found.update({f"{parameter.arg}.{field}": value for field, value in settings.classes[classes.pop()].items()})
    return found


def _cli_entry_points(tree: ast.Module) -> set[str]:
    """Functions a command-line wrapper runs with their parameters as flags: python-fire's `fire.Fire(train)`,
    jsonargparse's `CLI(setup)`, typer's `typer.run(main)` (held-out review 90, A 15: alpaca-lora's finetune.py,
    `TrainingArguments(learning_rate=learning_rate, ...)` inside `train`, refused)."""
    return {node.args[0].id for node in ast.walk(tree) if isinstance(node, ast.Call)
            and dotted_tail(node.func) in ("Fire", "CLI", "run") and node.args and isinstance(node.args[0], ast.Name)
            and (dotted_tail(node.func) != "run" or (isinstance(node.func, ast.Attribute)
                                                     and isinstance(node.func.value, ast.Name)
                                                     and node.func.value.id == "typer"))}


def _defaulted(function: ast.FunctionDef) -> list[tuple[ast.arg, ast.expr]]:
    """Each parameter of `function` that has a default, with it."""
    arguments = function.args
    positional = arguments.args[len(arguments.args) - len(arguments.defaults):] if arguments.defaults else []
    return list(zip(positional, arguments.defaults)) + [
        (arg, default) for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults) if default is not None]


def _parameter_defaults(function: ast.FunctionDef, scope: _Scope) -> _Scope:
    """The literal defaults of a function's parameters, as the names its body reads."""
    found: _Scope = {}
    for arg, default in _defaulted(function):
        value = evaluate(default, scope)
        if value is not None:
            found[arg.arg] = value
    return found


def _instance_fields(name: str, expression: ast.expr, scope: _Scope, settings: Settings) -> _Scope:
    """`name.field` for each field of `Cls(...)` where Cls is a settings class: its literal defaults, then the
    keywords the call gives; for `args = parse_args()`, the argparse defaults."""
    if isinstance(expression, ast.Call) and settings.parsed and _parses_arguments(expression, settings):
        return {f"{name}.{field}": value for field, value in settings.parsed.items()}
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name) and not expression.args \
            and not expression.keywords and expression.func.id in settings.class_builders:
        return {f"{name}.{field}": value
                for field, value in settings.classes[settings.class_builders[expression.func.id]].items()}
    parsed_class = _parsed_dataclass(expression, settings)
    if parsed_class is not None:  # `script_args = parser.parse_args_into_dataclasses()[0]`, run without flags
        return {f"{name}.{field}": value for field, value in settings.classes[parsed_class].items()}
    if not (isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name)
            and expression.func.id in settings.classes and not expression.args):
        return {}
    fields = dict(settings.classes[expression.func.id])
    for keyword in expression.keywords:
        if keyword.arg is None:
            return {}  # `Cls(**overrides)`: any field may differ
        value = evaluate(keyword.value, scope)
        if value is None:
            fields.pop(keyword.arg, None)
        else:
            fields[keyword.arg] = value
    return {f"{name}.{field}": value for field, value in fields.items()}


def _parsed_dataclass(expression: ast.expr, settings: Settings) -> Optional[str]:
    """The settings class of `parser.parse_args_into_dataclasses()[k]` (held-out review 112, A 11: TRL's DPO example
    script, `TrainingArguments(learning_rate=script_args.learning_rate, ...)`, refused as naming no setting)."""
    if not (isinstance(expression, ast.Subscript) and isinstance(expression.slice, ast.Constant)
            and isinstance(expression.slice.value, int) and isinstance(expression.value, ast.Call)):
        return None
    call = expression.value
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "parse_args_into_dataclasses"
            and isinstance(call.func.value, ast.Name) and not call.args):
        return None
    classes = settings.hf_parsers.get(call.func.value.id, ())
    index = expression.slice.value
    return classes[index] if 0 <= index < len(classes) and classes[index] in settings.classes else None


class Settings(NamedTuple):
    """What an instance a program builds holds, field by field: its settings classes' literal defaults by class
    name; its argparse defaults (the namespace `parse_args()` returns when the program runs without flags); and the
    module functions that return that namespace."""

    classes: dict[str, _Scope]
    parsed: _Scope
    parse_functions: frozenset[str]
    class_builders: dict[str, str]  # module function -> the settings class whose instance it returns
    # `parser = HfArgumentParser((ScriptArguments, ...))`: the parser's name -> its dataclasses' names, in order
    hf_parsers: dict[str, tuple[str, ...]]


def _parses_arguments(call: ast.Call, settings: Settings) -> bool:
    """`parser.parse_args()` with no arguments, or a call of a module function that returns one."""
    return _bare_parse(call) or (isinstance(call.func, ast.Name) and call.func.id in settings.parse_functions
                                 and not call.args)


def _argparse_defaults(tree: ast.Module) -> tuple[_Scope, frozenset[str]]:
    """The literal defaults of the module's `add_argument("--name", default=...)` calls (dest: the long option with
    dashes as underscores, or `dest=`), and the module functions that return `parser.parse_args()` (held-out review
    88, A 02: `args = args_parse()` then `TrainingArguments(learning_rate=args.learning_rate, ...)`, the program run
    with its defaults)."""
    defaults: _Scope = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
            continue
        options = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        dest = next((k.value.value for k in node.keywords if k.arg == "dest" and isinstance(k.value, ast.Constant)),
                    next((o[2:].replace("-", "_") for o in options if o.startswith("--")), None))
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        value = evaluate(default, {}) if default is not None else None
        if isinstance(dest, str) and value is not None:
            defaults[dest] = value
    functions = frozenset(node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                          and _returns_parsed_arguments(node))
    return defaults, functions


def _returns_parsed_arguments(function: ast.FunctionDef) -> bool:
    """`return parser.parse_args()`, or the name the function parsed the command line into."""
    returned = [node.value for node in ast.walk(function) if isinstance(node, ast.Return)]
    if any(_bare_parse(value, function) for value in returned):
        return True
    parsed = _parsed_names(function) if any(isinstance(value, ast.Name) for value in returned) else set()
    return any(isinstance(value, ast.Name) and value.id in parsed for value in returned)


def _bare_parse(node: Optional[ast.AST], function: Optional[ast.FunctionDef] = None) -> bool:
    """`parser.parse_args()` with no arguments: the command line as launched; inside `function`, also
    `parser.parse_args(argv)` with `argv` a parameter defaulting to None (`def _parse_args(argv=None)`, called bare:
    held-out review 129, A 18)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "parse_args"):
        return False
    if not node.args:
        return True
    return function is not None and len(node.args) == 1 and isinstance(node.args[0], ast.Name) \
        and node.args[0].id in _parameters_defaulting_to_none(function)


def _parameters_defaulting_to_none(function: ast.FunctionDef) -> set[str]:
    return {arg.arg for arg, default in _defaulted(function)
            if isinstance(default, ast.Constant) and default.value is None}


def _parsed_names(function: ast.FunctionDef) -> set[str]:
    """The names a function assigns `parser.parse_args()` (`args = parser.parse_args(); return args`: held-out review
    100, A 15, refused)."""
    return {name for statement in ast.walk(function) for name, value in assignments(statement)
            if _bare_parse(value, function)}


# A settings module beside the program is read when at most this large.
_SETTINGS_MODULE_BYTES = 400_000


def program_settings(tree: ast.Module, path: Optional[Path]) -> Settings:
    """The program's settings: the classes whose literal defaults an instance of them holds (held-out review 86,
    B 12: `dpo_config = MiniPhi3DPOConfig()` from the config.py beside dpo_miniphi3.py, then
    `learning_rate=dpo_config.learning_rate`), those it defines and those it imports by name from a module in its
    own folder; and its argparse defaults."""
    parsed, functions = _argparse_defaults(tree)
    classes = _settings_classes(tree, path)
    return Settings(classes, parsed, functions, _class_builders(tree, classes), _hf_parsers(tree))


def _hf_parsers(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """`parser = HfArgumentParser(ScriptArguments)` or `HfArgumentParser((A, B))`: the parser's dataclasses."""
    parsers: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and dotted_tail(node.value.func) == "HfArgumentParser"
                and node.value.args):
            continue
        first = node.value.args[0]
        items = first.elts if isinstance(first, (ast.Tuple, ast.List)) else [first]
        if all(isinstance(item, ast.Name) for item in items):
            parsers[node.targets[0].id] = tuple(item.id for item in items)  # type: ignore[attr-defined]
    return parsers


def _class_builders(tree: ast.Module, classes: dict[str, _Scope]) -> dict[str, str]:
    """Module functions that return an instance of a settings class (`def parse_config(): ... return
    Config(**vars(parser.parse_args()))`, an argparse built from the class's own fields): run bare, the instance
    holds the class's defaults (held-out review 93, A 12: `cfg = parse_config()` then `max_steps=cfg.max_steps`)."""
    builders = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.args.args:
            continue
        returned = [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
        if len(returned) == 1 and isinstance(returned[0], ast.Call) and isinstance(returned[0].func, ast.Name) \
                and returned[0].func.id in classes and _from_arguments_only(returned[0]):
            builders[node.name] = returned[0].func.id
    return builders


def _from_arguments_only(call: ast.Call) -> bool:
    """`Cls()` or `Cls(**vars(args))` / `Cls(**vars(parser.parse_args()))`: nothing but the parsed arguments, whose
    defaults are the class's own when the program builds its parser from the class's fields."""
    if call.args:
        return False
    return all(keyword.arg is None and isinstance(keyword.value, ast.Call)
               and dotted_tail(keyword.value.func) == "vars" for keyword in call.keywords)


def _settings_classes(tree: ast.Module, path: Optional[Path]) -> dict[str, _Scope]:
    classes = _class_defaults(tree, None)
    if path is None:
        return classes
    for node in tree.body:
        if isinstance(node, ast.Import):
            # `import config as code_config`, then `learning_rate=code_config.TASKA_LEARNING_RATE` (held-out review
            # 111, A 09): a settings module beside the program, its literal globals read as a class's fields
            for alias in node.names:
                tree_of = _module_beside(path, alias.name) if "." not in alias.name else None
                constants = _module_globals(tree_of) if tree_of is not None else {}
                if constants:
                    classes[alias.asname or alias.name] = constants
            continue
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level <= 1 and "." not in node.module):
            continue
        wanted = {alias.name: alias.asname or alias.name for alias in node.names if alias.name != "*"}
        module_tree = _module_beside(path, node.module)
        if module_tree is None:
            continue
        found = _class_defaults(module_tree, set(wanted))
        classes.update({wanted[name]: fields for name, fields in found.items()})
    return classes


def _module_beside(path: Path, name: str) -> Optional[ast.Module]:
    """The syntax tree of the module `name` in the program's folder, when it is there and small enough."""
    module = path.parent / f"{name}.py"
    try:
        stat = module.stat()
    except OSError:
        return None
    if not module.is_file() or stat.st_size > _SETTINGS_MODULE_BYTES:
        return None
    return _parsed_module(str(module), stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _parsed_module(name: str, _mtime: int) -> Optional[ast.Module]:
    """A settings module read and parsed once per file state: every config beside its program asks again."""
    try:
        return parse_module(Path(name).read_text(errors="replace"))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _module_globals(tree: ast.Module) -> _Scope:
    """A module's globals whose values are literals (or built from literals), as its top level assigns them."""
    scope: _Scope = {}
    for statement in tree.body:
        _assign_global(statement, scope)
    return scope


def _assign_global(statement: ast.stmt, scope: _Scope) -> None:
    for name, expression in assignments(statement):
        value = evaluate(expression, scope)
        if value is None:
            scope.pop(name, None)
        else:
            scope[name] = value


def _class_defaults(tree: ast.Module, wanted: Optional[set[str]]) -> dict[str, _Scope]:
    """Module-level classes (those in `wanted`, or all) with the literal defaults their bodies assign, evaluated with
    the module's literal globals (`DATA_ROOT + '/sft'`); `x: int = field(default=3)` counts as 3."""
    module_scope: _Scope = {}
    classes: dict[str, _Scope] = {}
    for statement in [*tree.body, *_main_block(tree)]:
        if isinstance(statement, ast.ClassDef):
            if wanted is None or statement.name in wanted:
                classes[statement.name] = class_fields(statement, module_scope)[1]
            continue
        _assign_global(statement, module_scope)
    return {name: fields for name, fields in classes.items() if fields}


def _main_block(tree: ast.Module) -> list[ast.stmt]:
    """The body of the module's `if __name__ == "__main__":`, where some programs define their argument dataclasses
    (held-out review 129, A 12: `class ScriptArguments` there, parsed with HfArgumentParser)."""
    for statement in tree.body:
        test = statement.test if isinstance(statement, ast.If) else None
        if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__" \
                and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators):
            return statement.body  # type: ignore[union-attr]
    return []


def class_fields(node: ast.ClassDef, module_scope: _Scope) -> tuple[list[str], _Scope]:
    """A settings class's annotated fields in order, and the literal defaults of those that have one (a dataclass's
    `x: int = field(default=3)` as 3), evaluated with the module's literal globals and the fields before them."""
    names: list[str] = []
    fields: _Scope = {}
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.append(statement.target.id)
        for name, expression in assignments(statement):
            if (isinstance(expression, ast.Call) and dotted_tail(expression.func) == "field"
                    and not expression.args):
                expression = next((k.value for k in expression.keywords if k.arg == "default"), expression)
            value = evaluate(expression, {**module_scope, **fields})
            if value is not None:
                fields[name] = value
    return names, fields


def _blocks_to(body: list[ast.stmt], target: ast.AST) -> Iterator[tuple[list[ast.stmt], ast.stmt]]:
    """(block, its statement that holds `target`) from the module's body down to the innermost block."""
    line = getattr(target, "lineno", 0)
    while True:
        holder = next((s for s in body if s.lineno <= line <= (s.end_lineno or s.lineno) and _holds(s, target)), None)
        if holder is None:
            return
        yield body, holder
        inner = next((b for b in _child_blocks(holder) if any(_holds(s, target) for s in b)), None)
        if inner is None:
            return
        body = inner


def _holds(statement: ast.stmt, target: ast.AST) -> bool:
    return any(node is target for node in ast.walk(statement))


def _child_blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    blocks = [getattr(statement, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(statement, "handlers", [])]
    return [block for block in blocks if isinstance(block, list) and block and isinstance(block[0], ast.stmt)]


def _loaded_model(tree: ast.Module, data: dict[str, Any], positions: dict[KeyPath, Position]) -> None:
    """`--model_name_or_path` from the first `AutoModelForCausalLM.from_pretrained("org/name", ...)` (or unsloth's
    `FastLanguageModel.from_pretrained(model_name=...)`) whose model the source names as a string."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "from_pretrained" and _MODEL_CLASSES.match(dotted_tail(node.func.value))):
            continue
        given = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in ("pretrained_model_name_or_path", "model_name")), None)
        model = evaluate(given, scope_at(tree, node)) if given is not None else None
        if isinstance(model, str) and model.strip():
            data["--model_name_or_path"] = model
            positions[("--model_name_or_path",)] = Position(given.lineno, given.col_offset + 1)  # type: ignore[union-attr]
            return


# TrainingArguments' names a settings class of a project uses for its Trainer's arguments: this many of them, at
# least, in one class make the module the run's config.
_TRAINER_FIELDS = frozenset({"output_dir", "learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps",
                             "num_train_epochs", "max_steps", "lr_scheduler_type", "warmup_steps", "warmup_ratio",
                             "weight_decay", "max_grad_norm", "optim", "logging_steps", "save_steps", "eval_steps",
                             "gradient_checkpointing", "bf16", "fp16", "seed"})
_MIN_TRAINER_FIELDS = 6


def read_dataclass_config(text: str, shown: str) -> Optional[tuple[dict[str, Any], dict[KeyPath, Position]]]:
    """A settings module of dataclasses whose program hands one of them to its Trainer (`class TrainConfig:
    learning_rate: float = 2e-4 ...` beside `ModelConfig` and `LoraConfig_`, a root `Config` holding each as `train:
    TrainConfig = field(default_factory=TrainConfig)`): each class a section of its defaults, named as the root names
    it (else by the class), as a project's sectioned YAML would hold them (held-out review 133, A 03: refused). None
    where no class carries the Trainer's arguments."""
    if "dataclass" not in text:
        return None
    try:
        tree = parse_module(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    classes = _class_defaults(tree, None)
    if not any(len(set(fields) & _TRAINER_FIELDS) >= _MIN_TRAINER_FIELDS for fields in classes.values()):
        return None
    sections = _sections_of_root(tree, set(classes))
    data: dict[str, Any] = {}
    positions: dict[KeyPath, Position] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in classes:
            section = sections.get(node.name, node.name)
            data[section] = classes[node.name]
            positions[(section,)] = Position(node.lineno, node.col_offset + 1)
            for statement in node.body:
                for name, _ in assignments(statement):
                    if name in classes[node.name]:
                        positions[(section, name)] = Position(statement.lineno, statement.col_offset + 1)
    return data, positions


def _sections_of_root(tree: ast.Module, classes: set[str]) -> dict[str, str]:
    """`train: TrainConfig = field(default_factory=TrainConfig)` in a root dataclass: TrainConfig's section is `train`."""
    named: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(node.value, ast.Call)
                and dotted_tail(node.value.func) == "field"):
            continue
        factory = next((k.value for k in node.value.keywords if k.arg == "default_factory"), None)
        if isinstance(factory, ast.Name) and factory.id in classes:
            named[factory.id] = node.target.id
    return named
