"""A torchtitan launch script read as the job config it runs: its TOML with the command line's overrides over it.

torchtitan's `run_train.sh` (and the wrappers of its forks, flame's `train.sh`) start `torchrun ... -m
torchtitan.train --job.config_file ${CONFIG_FILE} "$@"`; the script that calls them names the TOML (`--job.config_file
X` or `CONFIG_FILE=X`) and overrides its keys as `--section.key value` (torchtitan/config/manager.py: a bare flag of
a boolean is true). The world size is the wrapper's `NGPU` × `NNODES` (`NNODE` in flame's) where the script sets
them in the command's environment.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..config.document import Document, Position
from ..config.shell_reader import TORCHTITAN_SECTIONS
from ..lazyre import lazy_compile
from .base import argument_value, lenient_int

# `--section.key` (and deeper), the override torchtitan's ConfigManager parses, in one of its sections.
_OVERRIDE = lazy_compile(rf"^--({'|'.join(TORCHTITAN_SECTIONS)})\.(\w+(?:\.\w+)*)$")
# The entry points whose arguments those are: torchtitan's and flame's module, their `train.py`, or a wrapper script.
_MODULES = ("torchtitan.train", "torchtitan/train.py", "flame.train", "flame/train.py")
_MIN_OVERRIDES = 2
_RL_PROGRAM = lazy_compile(r"(^|\.)rl\.train$")


class Launch(NamedTuple):
    """The job config a launch runs: the merged document, the TOML's reference and path (None: not at hand)."""

    document: Document
    reference: Optional[str]
    path: Optional[Path]
    script: Document
    command_line: frozenset[str]  # the dotted keys the command line sets
    recipe: Optional[str] = None  # the Python recipe the launch names (`MODULE.CONFIG`), read or not


def is_torchtitan_launch(doc: Document) -> bool:
    """A shell script whose command runs torchtitan (or a fork's) trainer with its dotted overrides, or runs a
    trainer module with `--module M --config FUNCTION`, today's way of naming a Python recipe."""
    if doc.format != "shell" or not isinstance(doc.data, dict):
        return False
    program = str(doc.data.get("program") or "").replace("\\", "/")
    if program.endswith(".train") and isinstance(doc.data.get("--module"), str) \
            and isinstance(doc.data.get("--config"), str):
        # (held-out review 134, C 10: an Ascend fork's `torchrun ... -m ascend_titan.train --module ...`); not the RL
        # experiment's trainer (`torchtitan.experiments.rl.train`, GRPO with its generators: C 08), no job config's
        return not _RL_PROGRAM.search(program)
    if not (program.endswith(".sh") or program.endswith(_MODULES)):
        return False
    return sum(1 for key in doc.data if isinstance(key, str) and _OVERRIDE.match(key)) >= _MIN_OVERRIDES


def launched_job(script: Document) -> Launch:
    """The TOML the script names, with its overrides applied: positions of the TOML's own keys point into it, those
    of an override at the script's line. Overrides whose value the script leaves to launch time are `unevaluated`
    (dotted key -> why)."""
    from .program import load_handed_config
    from .shared import find_referenced_file, same_name_beside

    reference = _config_reference(script)
    path = None
    if reference is not None:
        path = find_referenced_file(reference, script) or same_name_beside(reference, script)
    handed = load_handed_config(path, script) if path is not None else None
    recipe = launched_recipe(script)
    if handed is None and recipe is not None:  # a recipe whose module is at hand: read as its job config
        path, function = _recipe_module(script, recipe), recipe.rsplit(".", 1)[-1]
        handed = load_handed_config(path, script, function) if path is not None else None
        reference = f"{path}::{function}" if handed is not None else None
    base = handed if handed is not None and isinstance(handed.data, dict) and (
        handed.format == "toml" or "recipe" in handed.data) else None
    data: dict[str, Any] = copy.deepcopy(base.data) if base is not None else {}
    positions: dict[tuple, Position] = {}
    if base is not None:
        positions.update({key: Position(where.line, where.column, where.file or base.path)
                          for key, where in base.positions.items()})
    unevaluated: dict[str, str] = dict(base.unevaluated) if base is not None else {}
    command_line: set[str] = set()
    for flag, value in script.data.items():
        match = _OVERRIDE.match(flag) if isinstance(flag, str) else None
        if match is None or flag == "--job.config_file":
            continue
        keys = _RECIPE_ERA_NAMES.get((match.group(1), *match.group(2).split(".")),
                                     (match.group(1), *match.group(2).split(".")))
        command_line.add(".".join(keys))
        unevaluated.pop(".".join(keys), None)  # the command line's value over what the recipe leaves unknown
        section = data
        for key in keys[:-1]:
            section = section.setdefault(key, {}) if isinstance(section.get(key, {}), dict) else {}
        if value is None:
            unevaluated[".".join(keys)] = str(script.unevaluated.get(flag, "a value set at launch"))
            section.pop(keys[-1], None)
        else:
            section[keys[-1]] = argument_value(value)
        where = script.positions.get((flag,))
        if where is not None:
            positions[keys] = Position(where.line, where.column)
    _token_budgets(data, positions, unevaluated, command_line)
    merged = Document(path=script.path, format=base.format if base is not None else "toml", data=data,
                      positions=positions, text=script.text, suppressions=script.suppressions,
                      unevaluated=unevaluated, duplicates=script.duplicates)
    return Launch(merged, reference, path, script, frozenset(command_line), recipe)


# Today's `[training]` names for what the TOML era's keys hold: the context length is the sequence length.
_RECIPE_ERA_NAMES = {("training", "max_context_length"): ("training", "seq_len")}
# Token budgets of today's TrainingConfig and the batch in sequences each gives (trainer.py divides by the length).
_TOKEN_BUDGETS = (("num_tokens_per_microbatch_per_dp_rank", "local_batch_size"),
                  ("num_tokens_per_train_step", "global_batch_size"))


def _token_budgets(data: dict, positions: dict, unevaluated: dict[str, str], command_line: set[str]) -> None:
    """The command line's token budgets (`--training.num_tokens_per_microbatch_per_dp_rank 256`) as the batch in
    sequences of the sequence length; unknown where they are no whole number of sequences."""
    training = data.get("training")
    if not isinstance(training, dict):
        return
    length = training.get("seq_len")
    for budget, batch in _TOKEN_BUDGETS:
        tokens = training.pop(budget, None)
        if f"training.{budget}" not in command_line or tokens is None:
            continue
        where = positions.pop(("training", budget), None)
        tokens, length_known = lenient_int(tokens), lenient_int(length)
        if batch == "global_batch_size" and tokens == -1:
            continue  # every rank's micro-batches, no accumulation
        if tokens and length_known and tokens > 0 and tokens % length_known == 0:
            training[batch] = tokens // length_known
            unevaluated.pop(f"training.{batch}", None)
            if where is not None:
                positions[("training", batch)] = where
        else:
            training.pop(batch, None)
            unevaluated[f"training.{batch}"] = (f"`--training.{budget} {tokens}` over a sequence length "
                                                f"{length if length is not None else 'not known here'}")
        command_line.add(f"training.{batch}")


def _recipe_module(script: Document, recipe: str) -> Optional[Path]:
    """The file of a recipe's module at hand: the module's path (`ascend_titan/recipes/qwen3.py`) beside the script
    or above it, a bare model name's `torchtitan/models/NAME/config_registry.py` or `torchtitan_recipes/NAME.py`, or
    the module's file name beside the script."""
    from .shared import find_referenced_file, same_name_beside

    module = recipe.rsplit(".", 1)[0] if "." in recipe else ""
    if not module:
        return None
    parts = module.split(".")
    candidates = ["/".join(parts) + ".py"]
    if len(parts) == 1:
        candidates += [f"torchtitan/models/{module}/config_registry.py", f"torchtitan_recipes/{module}.py"]
    for candidate in candidates:
        found = find_referenced_file(candidate, script)
        if found is not None:
            return found
    return same_name_beside(parts[-1] + ".py", script)


def launch_world_size(script: Document) -> Optional[tuple[int, int]]:
    """`NGPU` × `NNODES` (or flame's `NNODE`) of the command's environment, with the line they are set on."""
    env = script.data.get("environment") or {}
    gpus = env.get("NGPU")
    nodes = env.get("NNODES") or env.get("NNODE")
    per_node = lenient_int(gpus.get("value")) if isinstance(gpus, dict) else None
    count = lenient_int(nodes.get("value")) if isinstance(nodes, dict) else 1
    if not isinstance(per_node, int) or not isinstance(count, int) or per_node <= 0 or count <= 0:
        return None
    return per_node * count, int(gpus.get("line") or 0)


def _config_reference(script: Document) -> Optional[str]:
    named = script.data.get("--job.config_file")
    if isinstance(named, str) and named:
        return named
    return _environment_value(script, "CONFIG_FILE")


def launched_recipe(script: Document) -> Optional[str]:
    """The Python recipe a launch of today's torchtitan runs, `MODULE.CONFIG` (run_train.sh's `MODULE=llama3
    CONFIG=llama3_debugmodel`, or `--module X --config Y`): torchtitan reads no TOML since its configs became Python
    functions returning `Trainer.Config` (torchtitan/config/README.md); None for a TOML launch."""
    module = script.data.get("--module") or _environment_value(script, "MODULE")
    config = script.data.get("--config") or _environment_value(script, "CONFIG")
    if not isinstance(config, str) or not config or _config_reference(script) is not None:
        return None
    return f"{module}.{config}" if isinstance(module, str) and module else config


def _environment_value(script: Document, name: str) -> Optional[str]:
    env = (script.data.get("environment") or {}).get(name)
    value = env.get("value") if isinstance(env, dict) else None
    return value if isinstance(value, str) and value else None
