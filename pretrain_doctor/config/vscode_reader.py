"""VS Code's `launch.json`: the debug configurations that run a training program, read as a launch script.

A configuration (`"module": "accelerate.commands.launch"` or `"program": "train.py"`, with `"args"`, `"env"`,
`"cwd"`) starts the program as `python -m MODULE ARGS...` with that environment, in that folder; VS Code
substitutes its `${workspaceFolder}` first and passes each argument as one word, no shell in between. The file
is JSON with comments and trailing commas. Each configuration becomes one command of a shell script whose
words sit on the lines (and near the columns) where the file writes them, so that the launch-script reader
(shell_reader.py) picks the training command and every finding points into `launch.json` itself.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, Optional

from ..errors import ConfigError
from ..lazyre import lazy_compile
from .document import KeyPath, Position

# A JSON string, or a comment (removed outside strings only).
_STRING_OR_COMMENT = lazy_compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/', re.S)
# A JSON string, or a comma with only whitespace before the `}`/`]` that closes its container.
_STRING_OR_TRAILING_COMMA = lazy_compile(r'"(?:[^"\\\n]|\\.)*"|,(?=\s*[}\]])')
# VS Code's variables: `${workspaceFolder}`, `${env:NAME}`, `${file}`, `${input:id}` ...
_VARIABLE = lazy_compile(r"\$\{(\w+)(?::([^}]*))?\}")
_WORKSPACE = ("workspaceFolder", "workspaceRoot")


def read_vscode_launch(text: str, shown: str, file: Path, env: Optional[dict[str, str]] = None
                       ) -> tuple[dict[str, Any], dict[KeyPath, Position], dict[str, str]]:
    """The training command among `launch.json`'s configurations, as `read_shell` reads a launch script."""
    import json

    from .json_reader import key_positions
    from .shell_reader import read_shell

    plain = strip_json_comments(text)
    try:
        data = json.loads(plain)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON (with comments, as VS Code reads it): {exc.msg} (column {exc.colno})",
                          shown, exc.lineno) from None
    configurations = data.get("configurations") if isinstance(data, dict) else None
    if not isinstance(configurations, list):
        raise ConfigError("a VS Code launch.json without a `configurations` list", shown, 1)
    positions = key_positions(plain)
    workspace = _workspace(file)
    lines = [""] * (plain.count("\n") + 1)
    for index, configuration in enumerate(configurations):
        if isinstance(configuration, dict):
            _place_command(lines, configuration, ("configurations", index), positions, workspace)
    return read_shell("\n".join(lines), shown, env, file)


def strip_json_comments(text: str) -> str:
    """JSON with comments and trailing commas as plain JSON, every other character where it was (comments and
    the commas become spaces, a block comment keeps its line breaks), so lines and columns still match."""
    def blank(match: re.Match[str]) -> str:
        token = match.group(0)
        return token if token.startswith('"') else re.sub(r"[^\n]", " ", token)

    return _STRING_OR_TRAILING_COMMA.sub(blank, _STRING_OR_COMMENT.sub(blank, text))


def _workspace(file: Path) -> Path:
    """The folder VS Code opened: the one holding `.vscode/`, or the file's own folder when it was copied out."""
    folder = file.resolve().parent
    return folder.parent if folder.name == ".vscode" else folder


def _place_command(lines: list[str], configuration: dict[str, Any], at: KeyPath,
                   positions: dict[KeyPath, Position], workspace: Path) -> None:
    """Write one Python configuration's command into `lines`: `cd CWD; NAME=value python -m MODULE \\` on the
    line of its `module`/`program`, each argument on its own line, every line of the command continued."""
    if configuration.get("type") not in ("debugpy", "python", None):
        return
    module, program = configuration.get("module"), configuration.get("program")
    if isinstance(module, str):
        head, head_key = f"python -m {_word(module, workspace)}", "module"
    elif isinstance(program, str):
        head, head_key = f"python {_word(program, workspace)}", "program"
    else:
        return
    start = positions.get(at + (head_key,)) or positions.get(at)
    if start is None:
        return
    cwd = configuration.get("cwd")
    if isinstance(cwd, str) and not cwd.startswith(("/", "${")):
        cwd = f"${{workspaceFolder}}/{cwd}"  # relative to the workspace, as VS Code resolves it
    folder = _word(cwd, workspace) if isinstance(cwd, str) else _quote(str(workspace))
    variables = configuration.get("env")
    assignments = [f"{name}={_word(str(value), workspace)}" for name, value in variables.items()
                   if re.fullmatch(r"[A-Za-z_]\w*", str(name))] if isinstance(variables, dict) else []
    words = [(start, " ".join([*assignments, head]))]
    args = configuration.get("args")
    if isinstance(args, str):  # one string: VS Code hands it to a shell as written
        words.append((positions.get(at + ("args",), start), args))
    elif isinstance(args, list):
        for number, arg in enumerate(args):
            where = positions.get(at + ("args", number), start)
            words.append((max(where, start, key=lambda p: p.line), _word(_scalar(arg), workspace)))
    _write(lines, words, f"cd {folder};")


def _write(lines: list[str], words: list[tuple[Position, str]], prefix: str) -> None:
    first, last = words[0][0].line - 1, words[-1][0].line - 1
    if lines[first].strip():  # an earlier configuration ends on this line (a file written on one line)
        lines[first] += " ;"
    for number, (position, word) in enumerate(words):
        line = position.line - 1
        if not lines[line]:
            lines[line] = " " * max(position.column - 1, 0)
        lines[line] += (" " if lines[line].strip() else "") + (f"{prefix} {word}" if number == 0 else word)
    for line in range(first, last):
        lines[line] += " \\"  # a line holding only `\` continues the command too


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _word(value: str, workspace: Path) -> str:
    """One argument as a shell word that reads back as VS Code passes it: the workspace variables replaced,
    `${env:NAME}` the launch-time `$NAME`, any other variable (`${file}`, `${input:lr}`) unknown until launch."""
    parts: list[str] = []
    end = 0
    for match in _VARIABLE.finditer(value):
        parts.append(_quote(value[end:match.start()]))
        name, argument = match.group(1), match.group(2)
        if name in _WORKSPACE and argument is None:
            parts.append(_quote(str(workspace)))
        else:
            variable = argument if name == "env" and argument else f"VSCODE_{name}_{argument or ''}".rstrip("_")
            parts.append(f"${{{re.sub(r'[^A-Za-z0-9_]', '_', variable)}}}")
        end = match.end()
    parts.append(_quote(value[end:]))
    return "".join(part for part in parts if part) or "''"


def _quote(text: str) -> str:
    return shlex.quote(text) if text else ""  # an empty stretch between two variables adds nothing
