"""A Python training program that builds its Trainer arguments itself, read as the launch of that program.

`args = ORPOConfig(learning_rate=8e-6, beta=0.1, ...)` in train.py is what `python train.py --learning_rate 8e-6
--beta 0.1 ...` hands an HfArgumentParser program: the same keys reach the same Trainer. So such a file becomes
the data of a launch script (`program` = the file itself, one `--key` per keyword, at the keyword's line and
column), and the launch-script machinery does the rest: the HF dialect reads the keys, and the program's own
source (this file) says what the keywords leave open (LoRA adapters, a 4-bit base, the weights it loads).

A keyword's value counts when it is a literal, or a name the module or the enclosing blocks assigned a literal
before the call (`lr = 2e-5` ... `learning_rate=lr`), with the arithmetic `python_reader` evaluates. Anything
else (`args.lr`, a function's result) is unevaluated, with its source. Nothing is imported or run.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Iterator, Optional

from ..lazyre import lazy_compile
from .document import COMPUTED, KeyPath, Position
from .python_reader import assignments, dotted_tail, evaluate, parse_module

# TrainingArguments and the TRL configs that extend it, a project's own prefixed subclass included (`MyDPOConfig`).
ARGUMENT_CLASSES = lazy_compile(r"^(Seq2Seq)?TrainingArguments$|^[A-Z]\w*(SFT|DPO|KTO|ORPO|CPO|BCO|GRPO|RLOO|PPO|"
                                r"Reward|PRM|GKD|OnlineDPO|XPO|NashMD)Config$|^(SFT|DPO|KTO|ORPO|CPO|BCO|GRPO|"
                                r"RLOO|PPO|Reward|PRM|GKD|OnlineDPO|XPO|NashMD)Config$")
# A cheap look before parsing: most Python configs (nanoGPT's) build no arguments object.
_MENTIONS = lazy_compile(r"(TrainingArguments|[A-Z]{2,}\w*Config)\s*\(")
# Classes whose `from_pretrained` loads the weights a run trains (not a tokenizer, config or processor).
_MODEL_CLASSES = lazy_compile(r"^(Auto\w*Model\w*|\w+For(CausalLM|ConditionalGeneration|Seq2SeqLM)|\w*LanguageModel"
                              r"|AutoPeftModel\w*)$")
_MIN_KEYWORDS = 2
_Scope = dict[str, Any]


def read_python_program(text: str, shown: str
                        ) -> Optional[tuple[dict[str, Any], dict[KeyPath, Position], dict[str, str]]]:
    """The launch data (as `read_shell` gives it) of a program that builds TrainingArguments or a TRL config
    with keywords; None for any other Python file (a nanoGPT override file, a library module)."""
    if not _MENTIONS.search(text):
        return None
    try:
        tree = parse_module(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    call = _arguments_call(tree)
    if call is None:
        return None
    where = Position(call.lineno, call.col_offset + 1)
    data: dict[str, Any] = {"program": Path(shown).name, "launcher": {"name": "python"},
                            "arguments_class": dotted_tail(call.func)}
    positions: dict[KeyPath, Position] = {("program",): where, ("launcher", "name"): where,
                                          ("arguments_class",): where}
    unevaluated: dict[str, str] = {}
    scope = scope_at(tree, call)
    evaluated = 0
    for keyword in call.keywords:
        if keyword.arg is None or (isinstance(keyword.value, ast.Constant) and keyword.value.value is None):
            continue  # `**kwargs` adds keys not written here; `key=None` leaves the field at its unset default
        flag = f"--{keyword.arg}"
        positions[(flag,)] = Position(keyword.lineno, keyword.col_offset + 1)
        value = evaluate(keyword.value, scope)
        if value is None:
            data[flag] = None
            source = ast.get_source_segment(text, keyword.value) or "<expression>"
            unevaluated[flag] = f"`{source[:120]}`{COMPUTED}"
        else:
            data[flag] = value
            evaluated += 1
    if evaluated < _MIN_KEYWORDS:
        return None  # `TrainingArguments(learning_rate=args.lr, ...)`: the program's command line decides, not this file
    if "--model_name_or_path" not in data:
        _loaded_model(tree, data, positions)
    return data, positions, unevaluated


def _arguments_call(tree: ast.Module) -> Optional[ast.Call]:
    """The call that builds the Trainer's arguments with the most keywords (a script may build a second, smaller one
    for evaluation); None when no call builds them with at least two."""
    best: Optional[ast.Call] = None
    most = _MIN_KEYWORDS - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ARGUMENT_CLASSES.match(dotted_tail(node.func)):
            count = sum(1 for keyword in node.keywords if keyword.arg is not None)
            if count > most:
                best, most = node, count
    return best


def scope_at(tree: ast.Module, target: ast.AST) -> _Scope:
    """The names assigned a value we evaluate before `target`, block by block from the module down to it: the
    module's globals, then those of the `if __name__ == "__main__":` block or function that holds it."""
    scope: _Scope = {}
    for block, holder in _blocks_to(tree.body, target):
        for statement in block:
            if statement is holder:
                break
            results = [(name, evaluate(value, scope)) for name, value in assignments(statement)]
            for name, value in results:
                if value is None:
                    scope.pop(name, None)
                else:
                    scope[name] = value
    return scope


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
