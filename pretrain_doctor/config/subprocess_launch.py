"""Launch commands a Python file runs through `subprocess` or `os.system`, read as the launch script they make.

Some runs are started from a small Python file rather than a shell script (held-out review 134, D 08: an
llm-foundry fork's `scripts/local.py` runs `subprocess.run(['composer', 'scripts/train/train.py', 'mpt-125m.yaml',
'max_duration=10ba', ...])`; the folder's YAML alone said 4,800 batches and no checkpoints). The file is parsed with
`ast`, never run. A call whose command is a literal list or string is written, joined as the shell would see it, on
the line the call starts on; every other line is blank, so findings point into the Python file. A list element that
is not a literal (a variable, an f-string) is an unset shell variable there: its value is unknown.
"""

from __future__ import annotations

import ast
import shlex
from typing import Optional

from .markdown_reader import may_launch_training
from .python_reader import parse_module

# The calls that run a command: subprocess's functions and os's.
_RUNNERS = frozenset({("subprocess", "run"), ("subprocess", "call"), ("subprocess", "check_call"),
                      ("subprocess", "check_output"), ("subprocess", "Popen"), ("os", "system")})
_RUNNER_NAMES = frozenset(name for _, name in _RUNNERS)


def subprocess_launch(text: str) -> Optional[str]:
    """The Python text as a launch script: its one training command run through subprocess or os.system, on the
    line its call starts on, every other line blank; None unless exactly one such command may launch training."""
    if "subprocess" not in text and "os.system" not in text:
        return None
    try:
        tree = parse_module(text)  # cached: a folder walk asks whether the file is a launch, then loads it
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    commands = [(node.lineno, command) for node in ast.walk(tree)
                if isinstance(node, ast.Call) and _runs_a_command(node.func) and node.args
                and (command := _command_line(node.args[0])) is not None and _launches(command)]
    if len(commands) != 1:
        return None
    (line, command), = commands
    lines = [""] * max(len(text.splitlines()), line)
    lines[line - 1] = command
    return "\n".join(lines) + "\n"


def _runs_a_command(func: ast.expr) -> bool:
    # `subprocess.run(...)`, `os.system(...)`, or `run(...)` after `from subprocess import run`
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return (func.value.id, func.attr) in _RUNNERS
    return isinstance(func, ast.Name) and func.id in _RUNNER_NAMES and func.id != "system"


def _command_line(node: ast.expr) -> Optional[str]:
    """The shell text of a command given as a literal string, or as a list whose first word is a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return None
    words = [_word(element) for element in node.elts]
    return None if words[0].startswith("$") else " ".join(words)


def _word(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
        return shlex.quote(str(node.value))
    # a variable or computed word: an unset shell variable, its value unknown where it is read
    name = "".join(ch if ch.isalnum() else "_" for ch in ast.unparse(node)).strip("_") or "VALUE"
    return "${" + ("_" + name if name[0].isdigit() else name) + "}"


def _launches(command: str) -> bool:
    # `composer --version` or `torchrun --help` runs nothing: a launch names a program or arguments beyond flags
    words = command.split()
    return may_launch_training(command) and len(words) > 1 and not all(word.startswith("-") for word in words[1:])
