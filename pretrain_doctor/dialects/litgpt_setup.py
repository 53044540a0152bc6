"""litgpt's and lit-gpt's training scripts checked as their own config: `litgpt/finetune/lora.py`,
`finetune/lora.py`, `litgpt/pretrain.py` and the scripts forks derive from them (a `dpo.py`, a
`finetune_forward.py`), whose `setup()` defaults are the run's settings when the script is run with few flags
(held-out review 123, D 06/07/09/14/15: five such scripts, their defaults edited by their owners, refused).

jsonargparse's `CLI(setup)` (and litgpt's own CLI) read `setup()`'s parameters as the keys a litgpt YAML writes:
`train: TrainArgs = TrainArgs(global_batch_size=16, ...)` is `train: {global_batch_size: 16, ...}`, and the
fields the call leaves out keep the dataclass's own defaults (litgpt/args.py, lit_gpt/args.py: which differ from
the upstream scripts' setup() defaults a YAML falls back to). The script is read with `ast`, never run.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..config.document import Document, KeyPath, Position
from ..config.python_reader import assignments, dotted_tail, evaluate
from .program import ProgramSource, find_program_source, read_program

# The argument dataclasses of litgpt/args.py (lit_gpt/args.py before the March 2024 rename) and the setup() key
# each is: their calls' keywords are that key's fields.
_ARGUMENT_CLASSES = frozenset({"TrainArgs", "EvalArgs", "IOArgs", "LogArgs", "DPOArgs", "OptimizerArgs"})
# TrainArgs/EvalArgs dataclass defaults the plan reads (both eras: 62004641 to 31e5fcaf); None where the field has none.
_DATACLASS_DEFAULTS: dict[str, Any] = {
    "train.global_batch_size": 64, "train.micro_batch_size": 4, "train.lr_warmup_steps": 100, "train.min_lr": 6e-5,
    "train.save_interval": 1000, "train.max_norm": None, "train.max_tokens": None, "train.epochs": None,
    "eval.interval": 600, "seed": None,
}
# lit-gpt's TrainArgs optimization fields (an AdamW built from them; litgpt 0.4 moved them to `optimizer`)
LIT_GPT_LR = 1e-3


class SetupScript(NamedTuple):
    """The script's setup() defaults as a litgpt config document, and what else the script says."""

    document: Document
    defaults: dict[str, Any]  # the dataclass defaults of fields the calls leave out
    era: str  # "lit_gpt": imports `lit_gpt.args` (TrainArgs with learning_rate and epoch_size); else "litgpt"
    preference: bool  # a DPO script of a fork's (a `DPOArgs` parameter)

    @property
    def label(self) -> str:
        return f"{Path(self.document.path).name} setup() default"


def setup_script(doc: Document) -> Optional[SetupScript]:
    """The litgpt script `doc` is, read as its setup() defaults; None for any other Python file."""
    if doc.format != "python" or "TrainArgs(" not in doc.text or "def setup(" not in doc.text:
        return None
    return _setup_script_at(Path(doc.path))


def launched_setup_script(doc: Document) -> Optional[SetupScript]:
    """The litgpt script a launch script runs (`python finetune/lora.py --io.checkpoint_dir ...`), when its source
    is at hand: a fork's edited defaults are what the flags leave alone, not upstream's."""
    program = str(doc.data.get("program") or "")
    path = find_program_source(program, doc) if program.endswith(".py") else None
    return _setup_script_at(path) if path is not None else None


def _setup_script_at(path: Path) -> Optional[SetupScript]:
    source = read_program(path)
    if source is None or "TrainArgs(" not in source.text or "def setup(" not in source.text:
        return None
    return _setup_script(source, str(path))


@lru_cache(maxsize=16)
def _setup_script(source: ProgramSource, shown: str) -> Optional[SetupScript]:
    """Once per version of the file (the dialect's score and its plan both ask)."""
    if source.tree is None or not _imports_args(source.tree):
        return None
    setup = next((node for node in source.tree.body if isinstance(node, ast.FunctionDef) and node.name == "setup"), None)
    if setup is None or not _called_by_cli(source.tree):
        return None
    constants: dict[str, Any] = {}
    for statement in source.tree.body:
        for name, expression in assignments(statement):
            constants[name] = evaluate(expression, constants)
    data: dict[str, Any] = {}
    positions: dict[KeyPath, Position] = {}
    unknown: dict[str, str] = {}
    arguments = setup.args.args + setup.args.kwonlyargs
    defaults: list[Optional[ast.expr]] = [None] * (len(setup.args.args) - len(setup.args.defaults)) \
        + list(setup.args.defaults) + list(setup.args.kw_defaults)
    has_train = False
    for argument, default in zip(arguments, defaults):
        key = argument.arg
        positions[(key,)] = Position(argument.lineno, argument.col_offset + 1)
        if default is None:  # a required argument: given at launch (`checkpoint_dir: Path,`)
            data[key] = None
            unknown[key] = f"`{key}`, setup()'s required argument, given at launch"
        elif isinstance(default, ast.Call) and dotted_tail(default.func) in _ARGUMENT_CLASSES:
            has_train |= dotted_tail(default.func) == "TrainArgs"
            data[key] = _fields(default, (key,), constants, source.text, positions, unknown)
        else:
            value, known = _value(default, constants)
            data[key] = value
            if not known:
                unknown[key] = (ast.get_source_segment(source.text, default) or "<expression>")[:200]
    if not has_train:
        return None
    era = "lit_gpt" if "lit_gpt.args" in source.text else "litgpt"
    if era == "lit_gpt" and isinstance(data.get("io"), dict):
        for key in ("checkpoint_dir", "out_dir"):  # IOArgs' fields, setup()'s own arguments in litgpt
            if key in data["io"] and key not in data:
                data[key] = data["io"][key]
                positions[(key,)] = positions.get(("io", key), positions[("io",)])
    document = Document(path=shown, format="python", data=data, positions=positions, text=source.text,
                        unevaluated=unknown)
    return SetupScript(document, dict(_DATACLASS_DEFAULTS), era, "DPOArgs(" in source.text or "dpo" in data)


def _fields(call: ast.Call, path: KeyPath, constants: dict[str, Any], text: str,
            positions: dict[KeyPath, Position], unknown: dict[str, str]) -> dict[str, Any]:
    """An argument dataclass's call as the mapping of its keywords (`TrainArgs(epochs=5)` -> `{epochs: 5}`)."""
    fields: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:  # `**overrides`: not read
            continue
        where = (*path, keyword.arg)
        positions[where] = Position(keyword.value.lineno, keyword.value.col_offset + 1)
        value, known = _value(keyword.value, constants)
        if known:
            fields[keyword.arg] = value
        else:
            unknown[".".join(where)] = (ast.get_source_segment(text, keyword.value) or "<expression>")[:200]
    return fields


def _value(node: ast.expr, constants: dict[str, Any]) -> tuple[Any, bool]:
    """A default's value, and whether it is known: a literal, a module constant, `Path("out")` as its string,
    `int(3e12)` evaluated; None (known) for `None`."""
    if isinstance(node, ast.Constant) and node.value is None:
        return None, True
    if isinstance(node, ast.Call) and dotted_tail(node.func) == "Path" and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    value = evaluate(node, constants)
    return value, value is not None


def _imports_args(tree: ast.Module) -> bool:
    """The script imports litgpt's (or lit-gpt's) argument dataclasses."""
    return any(isinstance(node, ast.ImportFrom) and node.module in ("litgpt.args", "lit_gpt.args", "litgpt")
               and any(alias.name == "TrainArgs" for alias in node.names) for node in ast.walk(tree))


def _called_by_cli(tree: ast.Module) -> bool:
    """`CLI(setup)` (jsonargparse), or the module run by litgpt's own CLI (litgpt 0.4 on: the script's setup()
    is a command's; its `__main__` block may be gone)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted_tail(node.func) in ("CLI", "auto_cli") and node.args \
                and isinstance(node.args[0], ast.Name) and node.args[0].id == "setup":
            return True
    return any(isinstance(node, ast.ImportFrom) and node.module == "litgpt.args" for node in tree.body)

