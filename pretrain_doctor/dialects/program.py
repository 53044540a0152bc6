"""The program a launch script runs, read from its source when the source is at hand.

A launch script (`torchrun -m train --learning_rate 2e-5 ...`, `deepspeed llava/train/train_mem.py ...`)
passes arguments to a program whose own code may decide what the arguments leave open: it may wrap the
model in LoRA adapters (malaysia-ai/cooking's train.py: `get_peft_model(model, LoraConfig(r=model_args.rank))`),
load pretrained weights without a model argument (malaya-speech's dia_train.py: `load_state_dict(torch.load(
hf_hub_download('nari-labs/Dia-1.6B', ...)))`), freeze part of the model, set its precision or make its own
eval data. When the program's source sits beside the script or up the repository folder it came from, its
text says so; it is read as text and with `ast`, never imported or run.

`find_program_source` is the one lookup (dialects that read a program's own argparse defaults use it too);
`read_program` parses a file once; `program_facts` says what the source decides. No imports beyond the
standard library: it runs on every `check`.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..config.document import COMPUTED, Document, KeyPath
from ..config.python_reader import assignments, dotted_tail, evaluate, parse_module
from ..lazyre import lazy_compile
from ..plan.builder import PlanBuilder
from ..plan.model import Source
from .shared import find_referenced_file, folder_files, same_name_beside, shown_as

# Larger files are no training program's source (a vendored library, data): not read.
_MAX_BYTES = 2_000_000
_MODULE = lazy_compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*")


class ProgramSource(NamedTuple):
    """One source file of a launched program: its text and syntax tree (None when it does not parse)."""

    path: Path
    text: str
    tree: Optional[ast.Module]


def is_module_name(program: str) -> bool:
    """`training.trainer`, `train`: a name `python -m` takes, not a path or a console command."""
    return bool(_MODULE.fullmatch(program.strip()))


def find_program_source(program: Any, doc: Document) -> Optional[Path]:
    """The source file of the program `doc` launches, if it is at hand: a path as the script writes it
    (`llava/train/train_mem.py`, resolved beside the script, up its folders, or in the working directory)
    or a module run with `-m` (`train` -> `train.py`, `fastchat.train.train` -> `fastchat/train/train.py`,
    a package's `__main__.py`). None when no such file is found."""
    if not isinstance(program, str) or not program.strip():
        return None
    name = program.strip()
    if name.endswith(".py") or "/" in name:
        return find_referenced_file(name, doc) or _checkout_copy(name, doc) or _copied_beside(name, doc)
    if not is_module_name(name):
        return None  # a console command (`llamafactory-cli`), not a module
    relative = name.replace(".", "/")
    return find_referenced_file(f"{relative}.py", doc) or find_referenced_file(f"{relative}/__main__.py", doc)


def _copied_beside(name: str, doc: Document) -> Optional[Path]:
    """A program named by a relative path under a folder (`scripts/train_dpo.py`) that is not there, when a file of
    its name sits beside the launch script: the two copied out of their checkout together (held-out review 91, A 08:
    its `peft_config=LoraConfig(...)` unseen, a LoRA DPO judged as a full-model one); so is an absolute path of the
    author's machine (held-out review 114, A 06: `python /teamspace/studios/.../dpo_train/dpo_train.py`, its
    defaults unread)."""
    path = Path(name)
    if len(path.parts) < 2 or ".." in path.parts or path.suffix != ".py":
        return None
    return same_name_beside(name, doc)


def _checkout_copy(name: str, doc: Document) -> Optional[Path]:
    """An absolute path of the author's machine (`/home/jupyter/lit-gpt/finetune/lora.py`) found by its last folders
    in the checkout the script sits in (held-out review 31, B 24); one folder at least, so that a bare `train.py`
    is never taken for another program's."""
    parts = Path(name).parts
    if not Path(name).is_absolute() or len(parts) < 3:
        return None
    for depth in (3, 2):
        if len(parts) > depth:
            found = find_referenced_file(str(Path(*parts[-depth:])), doc)
            if found is not None:
                return found
    return None


def read_program(path: Path) -> Optional[ProgramSource]:
    """The file's text and syntax tree (cached by path and modification time); None when unreadable."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


def program_text(path: Path) -> Optional[str]:
    """The file's text alone (the cached read `read_program` parses); None when unreadable."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _text(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _read(name: str, mtime: int, size: int) -> Optional[ProgramSource]:
    text = _text(name, mtime, size)
    if text is None:
        return None
    try:
        tree: Optional[ast.Module] = parse_module(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    return ProgramSource(Path(name), text, tree)


@lru_cache(maxsize=128)
def _text(name: str, _mtime: int, size: int) -> Optional[str]:
    """A program file's text, read once per file state: the folder lookups below and `read_program` share it."""
    if size > _MAX_BYTES:
        return None
    try:
        return Path(name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


# `torch.manual_seed(1337 + seed_offset)` (nanoGPT), `fabric.seed_everything(1337)` (lit-gpt): the literal seeds it
_SEED_CALL = lazy_compile(r"\b(?:manual_seed|seed_everything)\(\s*(?:(\d+)|([A-Za-z_]\w*)\s*\))")


def literal_seed(text: str) -> Optional[tuple[int, int]]:
    """The number a training script's `text` seeds with, and its line; None when it writes none. A name is followed
    to the one module-level literal it is bound to (`default_seed=3407`, then `fabric.seed_everything(default_seed)`:
    held-out review 119, D 10)."""
    for found in _SEED_CALL.finditer(text):
        line = text.count("\n", 0, found.start()) + 1
        if found.group(1):  # `manual_seed(1337 + seed_offset)`: the literal, whatever is added per rank
            return int(found.group(1)), line
        word = found.group(2)
        bound = re.findall(rf"(?m)^{re.escape(word)}\s*(?::\s*int\s*)?=\s*(\d+)\s*(?:#.*)?$", text)
        if len(bound) == 1:
            return int(bound[0]), line
    return None


CHECKOUT_LEVELS = 6  # the config's folder and five above it: where a trainer's checkout holds the config


def checkout_source(config: str | Path, *names: str) -> Optional[ProgramSource]:
    """The first of `names` (paths relative to a checkout's root: `olmo/config.py`) found in the config's folder or
    one of the folders above it, read as read_program reads (cached by file version): a fork's own source where the
    config sits in its checkout."""
    folder = Path(config).resolve().parent
    for parent in [folder, *folder.parents][:CHECKOUT_LEVELS]:
        for name in names:
            source = read_program(parent / name)
            if source is not None:
                return source
    return None


def program_modules(path: Path, levels: int = 4) -> list[ProgramSource]:
    """The program's source and, when it is a thin wrapper that builds no model itself (LLaVA's and FastChat's
    train_mem.py import `train` from train.py and call it), the local modules it imports from."""
    main = read_program(path)
    if main is None:
        return []
    found = [main]
    if main.tree is None or _builds_model(main.tree):
        return found
    for module in _local_imports(main.tree):
        relative = module.replace(".", "/") + ".py"
        for base in [path.parent, *list(path.parent.parents)[:levels]]:
            candidate = base / relative
            if candidate != path and candidate.is_file():
                loaded = read_program(candidate)
                if loaded is not None:
                    found.append(loaded)
                break
    return found


_MODEL_CALLS = frozenset({"from_pretrained", "from_config", "load_state_dict", "get_peft_model", "Trainer"})


def _builds_model(tree: ast.Module) -> bool:
    return any(_call_name(node) in _MODEL_CALLS or str(_call_name(node)).endswith("Trainer")
               for node in ast.walk(tree) if isinstance(node, ast.Call))


def _local_imports(tree: ast.Module) -> list[str]:
    return [node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0][:8]


def _receiver(node: ast.Call) -> Optional[str]:
    """The class a method is called on (`AutoModelForCausalLM` of `AutoModelForCausalLM.from_pretrained(...)`,
    `transformers.AutoModelForCausalLM.from_pretrained(...)`), None for a plain call."""
    return dotted_tail(node.func.value) or None if isinstance(node.func, ast.Attribute) else None


def _call_name(node: ast.Call) -> Optional[str]:
    return dotted_tail(node.func) or None


def mentions(path: Path, word: str) -> bool:
    """Whether the program or a module beside it (FastChat's train_mem.py imports train.py's train())
    names `word`."""
    for candidate in [path, *sorted(path.parent.glob("*.py"))]:
        loaded = read_program(candidate)
        if loaded is not None and word in loaded.text:
            return True
    return False


# --- the config file a launch script hands its program ---------------------------------------------------
# An HF-style program reads its arguments from a file it is handed, the command line over it:
# alignment-handbook's H4ArgumentParser.parse() (src/alignment/configs.py, 2023-11 on: `sys.argv[1].endswith(".yaml")`
# -> parse_yaml_file alone, or parse_yaml_and_args with the `--key=value` words after it overriding the file),
# TRL's TrlParser.parse_args_and_config() (trl/scripts/utils.py: `--config FILE` sets the parser's defaults from the
# YAML, minus its `env` block, and the command line is parsed over them), transformers' example scripts
# (`len(sys.argv) == 2 and sys.argv[1].endswith(".json")` -> HfArgumentParser.parse_json_file, `.yaml` ->
# parse_yaml_file). The file is opened relative to the folder the program runs in.
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


# The key of a ProgramConfig that is a Python recipe a launch names (torchtitan's `MODULE`/`CONFIG`), not a file.
RECIPE_KEY = ("recipe",)


class ProgramConfig(NamedTuple):
    """The YAML/JSON a launch script hands its program: as written, where the script writes it, how the program
    reads it, the file found here (None: not at hand) and its document (None: not found or unreadable). A
    NamedTuple, not a frozen dataclass: defining one costs a fifth as much at start-up."""

    reference: str
    key: tuple  # the script's key path of the reference: ("positional", 0) or ("--config",)
    how: str
    path: Optional[Path]
    document: Optional[Document]


def llamafactory_train(doc: Document) -> bool:
    """The script runs `llamafactory-cli train ...` (or its `lmf` alias), or v1's `sft|dpo|rm` (v1/launcher.py
    `_DIST_TRAIN_COMMANDS`, under `USE_V1=1`; held-out review 124, B 14: `llamafactory-cli sft FILE` skipped)."""
    program = str(doc.data.get("program") or "").replace("\\", "/").rsplit("/", 1)[-1]
    positional = doc.data.get("positional")
    return program in ("llamafactory-cli", "lmf") and isinstance(positional, list) and bool(positional) \
        and str(positional[0]) in _LLAMAFACTORY_TRAIN_COMMANDS


_LLAMAFACTORY_TRAIN_COMMANDS = ("train", "sft", "dpo", "rm")


# `swift SUBCOMMAND` -> what it trains; 2.x had `dpo`, `orpo` and `simpo` of their own (swift/cli/main.py).
_SWIFT_COMMANDS = {"sft": "sft", "pt": "pt", "rlhf": "rlhf", "dpo": "dpo", "orpo": "orpo", "simpo": "simpo"}
# `python swift/cli/sft.py ...` / `python -m swift.cli.sft ...`: the module `swift sft` runs.
_SWIFT_CLI_MODULE = lazy_compile(r"(?:^|/)swift[/.]cli[/.](sft|pt|rlhf)(?:\.py)?$")


def swift_command(doc: Document) -> Optional[str]:
    """The training subcommand a launch script runs through ms-swift (`sft`, `pt`, `rlhf`, 2.x `dpo`...), None for
    any other script. The shell reader names no launch for `swift infer|export|deploy|eval|app`."""
    return _subcommand(doc, "swift", _SWIFT_COMMANDS, _SWIFT_CLI_MODULE) or swift_library_module(doc) \
        or _swift_fork_entry(doc)


# `python swift/llm/rlhf.py ...`: ms-swift 2.x's library module behind `swift rlhf`, run as a script.
_SWIFT_LIBRARY_MODULE = lazy_compile(r"(?:^|/)swift/llm/(sft|pt|rlhf)\.py$")


def swift_library_module(doc: Document) -> Optional[str]:
    """The subcommand whose library module (`swift/llm/rlhf.py`) a launch runs as a script, None otherwise: the
    module imports its siblings relatively (`from .sft import ...`) and has no main, so python stops on
    "attempted relative import with no known parent package" (held-out review 118, B 19: pihang/swift's DPO.sh)."""
    if doc.format != "shell":
        return None
    match = _SWIFT_LIBRARY_MODULE.search(str(doc.data.get("program") or "").replace("\\", "/"))
    return match.group(1) if match else None


def _swift_fork_entry(doc: Document) -> Optional[str]:
    """A fork's own entry script that hands its command line to ms-swift's pipelines (`python train.py --pipeline
    rlhf --rlhf_type opsd --train_type lora --attn_impl flash_attn ...`: held-out review 116, B 17, read as an HF
    Trainer program): three of ms-swift's own flags or more; its subcommand is `--pipeline`'s, else `rlhf` where
    `--rlhf_type` is given, else `sft`."""
    from . import swift_flags_of_a_fork

    if doc.format != "shell" or not str(doc.data.get("program") or "").endswith(".py") \
            or not swift_flags_of_a_fork(doc):
        return None
    pipeline = str(doc.data.get("--pipeline") or "")
    return _SWIFT_COMMANDS.get(pipeline) or ("rlhf" if "--rlhf_type" in doc.data else "sft")


def _subcommand(doc: Document, script: str, commands: dict[str, str], module: Any) -> Optional[str]:
    """The subcommand of console script `script` (`swift sft`) in `commands`, or the one the module run names."""
    if doc.format != "shell":
        return None
    from ..config.shell_reader import SWIFT_CLI_MODULES  # a launch script's document: read by it already

    program = str(doc.data.get("program") or "").replace("\\", "/")
    if program.rsplit("/", 1)[-1] == script or SWIFT_CLI_MODULES.get(program) == script:
        positional = doc.data.get("positional")
        first = str(positional[0]) if isinstance(positional, list) and positional else ""
        return commands.get(first)
    match = module.search(program)
    return match.group(1) if match else None


# `python swift/cli/_megatron/sft.py ...` / `python -m swift.cli._megatron.sft`: the module `megatron sft` runs.
_MEGATRON_SWIFT_MODULE = lazy_compile(r"(?:^|/)swift[/.]cli[/.]_megatron[/.](sft|pt|rlhf)(?:\.py)?$")


def megatron_swift_command(doc: Document) -> Optional[str]:
    """The subcommand (`sft`, `pt`, `rlhf`) a launch script runs through Megatron-SWIFT, ms-swift's `megatron` console
    script (3.3 and later, swift/cli/_megatron/main.py ROUTE_MAPPING), None for any other script."""
    return _subcommand(doc, "megatron", {name: name for name in ("sft", "pt", "rlhf")}, _MEGATRON_SWIFT_MODULE)


# Flags through which a program takes its whole argument set as one file (Firefly's `--train_args_file`).
_ARGUMENTS_FILE_FLAGS = ("--train_args_file", "--args_file", "--train_args_json", "--args_json")


def _arguments_file(data: dict) -> Optional[tuple[str, str]]:
    for flag in _ARGUMENTS_FILE_FLAGS:
        value = data.get(flag)
        if isinstance(value, str) and value.endswith(_CONFIG_SUFFIXES):
            return flag, value
    return None


def program_config(doc: Document) -> Optional[ProgramConfig]:
    """The config file the launch script `doc` hands its program as the program's first argument
    (`dpo.py recipes/dpo.yaml --learning_rate=1e-6`) or with TRL's `--config FILE`; None when it hands none."""
    data = doc.data
    positional = data.get("positional")
    config_flag = data.get("--config")
    if (llamafactory_train(doc) and isinstance(positional, list) and len(positional) > 1
            and str(positional[1]).endswith(_CONFIG_SUFFIXES)):
        reference, key = str(positional[1]), ("positional", 1)
        how = ("`llamafactory-cli train FILE`: LLaMA-Factory's read_args loads it and merges the `key=value` words "
               "after it over it (OmegaConf dotlist)")
    elif swift_command(doc) is not None and isinstance(positional, list) and len(positional) > 1 \
            and str(positional[1]).endswith(_CONFIG_SUFFIXES):
        reference, key = str(positional[1]), ("positional", 1)
        how = "`swift sft FILE`: parse_yaml_args turns its keys into flags ahead of the command line's"
    elif isinstance(positional, list) and positional and str(positional[0]).endswith(_CONFIG_SUFFIXES):
        reference, key = str(positional[0]), ("positional", 0)
        how = ("the program's first argument: HfArgumentParser reads it (alignment-handbook's H4ArgumentParser "
               "with the `--key=value` flags after it over the file)")
    elif isinstance(config_flag, str) and config_flag.endswith((".yaml", ".yml")):
        reference, key = config_flag, ("--config",)
        how = "`--config`: TRL's TrlParser reads it, the command line over it"
    elif (args_file := _arguments_file(data)) is not None:
        flag, reference = args_file
        key = (flag,)
        how = (f"`{flag}`: the program hands it to HfArgumentParser (parse_json_file / parse_yaml_file; Firefly's "
               "train.py), its dataclasses' fields as keys")
    elif doc.unevaluated.get("positional"):  # `run_sft.py configs/$1.yaml`: named when the script runs
        return ProgramConfig(doc.unevaluated["positional"], ("positional", 0), "the program's first argument, named "
                             "when the script runs", None, None)
    elif config_flag is None and doc.unevaluated.get("--config"):
        # `--config "$config"` from a loop over model/config pairs (held-out review 73, B 10: a litgpt sweep whose
        # file sets the global batch and devices): named when the script runs, so what it sets is not known here
        return ProgramConfig(doc.unevaluated["--config"], ("--config",), "`--config`, named when the script runs",
                             None, None)
    else:
        return None
    path = find_referenced_file(reference, doc)
    if path is None and (path := same_name_beside(reference, doc)) is not None:
        how += "; not found where it points, the file of its name beside the script is read"
    return ProgramConfig(reference, key, how, path, load_handed_config(path, doc) if path is not None else None)


def self_built_arguments(doc: Document) -> Optional[ProgramConfig]:
    """The arguments a launched program builds itself (`SFTConfig(learning_rate=4e-5, ...)` in sft_llama_ds.py, which
    a Slurm script runs as `deepspeed ./sft_llama_ds.py` with no flags: held-out review 38, A 20), as the config
    the script hands it; None when the script passes flags (they go to the program's own parser, which
    `own_arguments` reads) or the program's source at hand builds no Trainer arguments with literals."""
    if any(isinstance(key, str) and key.startswith("--") for key in doc.data):
        return None
    path = find_program_source(doc.data.get("program"), doc)
    if path is None or path.suffix != ".py":
        return None
    program = load_handed_config(path, doc)
    if program is None or program.format != "shell" or "arguments_class" not in program.data:
        return None
    arguments = {key[2:]: value for key, value in program.data.items() if key.startswith("--")}
    positions = {(key[0][2:],): where for key, where in program.positions.items() if key[0].startswith("--")}
    unknown = {key[2:]: why for key, why in program.unevaluated.items() if key.startswith("--")}
    built = dataclasses.replace(program, data=arguments, positions=positions, unevaluated=unknown)
    return ProgramConfig(str(doc.data.get("program")), ("program",), f"the program builds its Trainer arguments "
                         f"itself (`{program.data['arguments_class']}(...)`); the script passes none", path, built)


def mapped_by_program(doc: Document) -> Optional[Document]:
    """A YAML/JSON of Trainer keys that a program beside it loads by name and maps into the Trainer's arguments
    itself (`config = json.loads(f.read())` ... `TrainingArguments(learning_rate=config.get("learning_rate", 1e-5),
    bf16=True, lr_scheduler_type="cosine", ...)`), read as that program's launch: the keys it takes from the file
    at the file's lines, what it writes as literals at its own, what it computes unknown, and every key it does not
    pass at the Trainer's default (held-out review 107, A 02/A 03: `bf16=True` in train.py, yet PD303 said the run
    sets neither bf16 nor fp16). None when no program beside it does so."""
    if doc.format not in ("json", "yaml") or not doc.path:
        return None
    file = Path(doc.path)
    programs = folder_files(file.parent, (".py",))
    program = _mapping_program(programs, file.name)
    named = program is not None
    if program is None and (program := _only_arguments_builder(programs)) is None:
        return None
    text = program_text(program)
    # a program that does not name the file must name one of its keys no Trainer has, before its syntax is walked
    if text is None or not (named or any(names_key(text, key) for key in _own_keys(doc.data))):
        return None
    from ..config.python_program import mapped_arguments  # only for a file a program beside reads

    mapped = mapped_arguments(text, program.name, doc.data, program)
    if mapped is None or not (named or _maps_own_keys(mapped.from_file)):
        return None
    written = {key[2:]: value for key, value in mapped.data.items() if key.startswith("--") and value is not None}
    from_file = dict(mapped.from_file)
    for key in _ADAPTER_KEYS:  # `if config.use_peft: model = get_peft_model(...)`: the file's switch, as it says
        if key in doc.data and key not in written and names_key(text, key):
            written[key], from_file[key] = doc.data[key], (key,)
    own = Document(path=str(program), format="shell", data={k: v for k, v in written.items() if k not in from_file},
                   positions={(key[0][2:],): where for key, where in mapped.positions.items()
                              if key[0].startswith("--")})
    config = ProgramConfig(program.name, ("program",), f"`{program.name}` loads the file itself and builds "
                           f"`{mapped.data['arguments_class']}(...)` from it", program, own)
    data: dict[str, Any] = {**written, "program": program.name, "program_path": program.name,
                            "arguments_class": mapped.data["arguments_class"], "program_config": config,
                            "mapped_keys": sorted(from_file)}
    positions = {}
    for key, path in from_file.items():  # a key the file gives is at the file's line
        where = doc.positions.get(path)
        if where is not None:
            positions[(key,)] = where
    unknown = {key[2:]: why for key, why in mapped.unevaluated.items()}
    return dataclasses.replace(doc, data=data, positions=positions, unevaluated=unknown)


# A program beside a config is read for how it maps or loads the file, or what it imports, when at most this large;
# at most this many of a folder's.
_PROGRAM_BYTES = 400_000
_PROGRAMS_LOOKED_AT = 40


@lru_cache(maxsize=64)
def _mapping_program(programs: tuple, name: str) -> Optional[Path]:
    """The one program among `programs` (a folder's .py files, with their stamps) that names the file `name` in
    quotes and builds Trainer arguments; cached per folder state, as a folder walk asks for every config in it."""
    found = [path for path, text in file_texts(programs)
             if (f'"{name}"' in text or f"'{name}'" in text) and _BUILDS_ARGUMENTS.search(text)]
    return found[0] if len(found) == 1 else None


def _peft_loader(receiver: Optional[str]) -> bool:
    """`PeftModel.from_pretrained` and peft's auto classes (`AutoPeftModelForCausalLM.from_pretrained(path,
    is_trainable=True)`: held-out review 114, A 10, a LoRA DPO read as full-model DPO) load a saved adapter."""
    return receiver is not None and (receiver == "PeftModel" or receiver.startswith(("AutoPeftModel", "PeftModelFor")))


# TRL ModelConfig's adapter switches, which a program that maps a file into the Trainer's arguments reads from it by
# name to wrap the model itself (held-out review 111, A 03: `if config.use_peft: ... get_peft_model(model, ...)`).
_ADAPTER_KEYS = ("use_peft", "lora_r", "lora_alpha", "lora_target_modules", "load_in_4bit", "load_in_8bit")


@lru_cache(maxsize=64)
def _only_arguments_builder(programs: tuple) -> Optional[Path]:
    """The one program of a folder that builds Trainer arguments, where none names the file: it may load the file by
    a name given at launch (`FineTuningConfig.from_yaml(file_name=config_file_name)`, held-out review 111, A 02)."""
    found = [path for path, text in file_texts(programs) if _BUILDS_ARGUMENTS.search(text)]
    return found[0] if len(found) == 1 else None


def _maps_own_keys(from_file: dict) -> bool:
    """Whether a program maps a key of the file that no Trainer has into a Trainer argument (`max_steps=
    config.dataset_size`): the file is the project's own, which that program reads, not one HfArgumentParser reads."""
    from .hf_keys import HF_ALL_KEYS  # only for a file no program names

    return any(path and path[-1] not in HF_ALL_KEYS for path in from_file.values())


def _own_keys(data: Any) -> list[str]:
    """A file's top-level keys that no Trainer has."""
    from .hf_keys import HF_ALL_KEYS  # only for a file no program names

    return [key for key in data if isinstance(key, str) and key not in HF_ALL_KEYS] if isinstance(data, dict) else []


def names_key(text: str, key: str) -> bool:
    """Whether a program's text names `key` as a string or an attribute (`config["key"]`, `cfg.key`)."""
    return re.search(rf"""\.{re.escape(key)}\b|["']{re.escape(key)}["']""", text) is not None


def file_texts(programs: tuple):
    """(path, text) of each of a folder's files small enough to read (`folder_files` stamps: programs, launch
    scripts), the first `_PROGRAMS_LOOKED_AT`."""
    for path, mtime, size in programs[:_PROGRAMS_LOOKED_AT]:
        text = _text(path, mtime, size) if size <= _PROGRAM_BYTES else None
        if text is not None:
            yield Path(path), text


@lru_cache(maxsize=64)
def programs_import(programs: tuple, pattern: Any) -> bool:
    """Whether one of a folder's programs (`folder_files` stamps) imports what `pattern` finds (OmegaConf, Unsloth).
    Cached per folder state and pattern: a folder walk asks for every YAML in it."""
    return any(pattern.search(text, 0, _IMPORTS_HEAD) for _, text in file_texts(programs))


_IMPORTS_HEAD = 20_000  # the characters of a program looked at for its imports


# TRL's configs, bare (`GRPOConfig(`) or a project's subclass (`MyDPOConfig(`)
_BUILDS_ARGUMENTS = lazy_compile(r"\b(TrainingArguments|(?:[A-Z]\w*)?(SFT|DPO|KTO|ORPO|CPO|BCO|GRPO|RLOO|PPO|Reward|GKD)"
                                 r"Config)\s*\(")


def loading_program(doc: Document) -> Optional[Path]:
    """A program in the file's folder or the one above that names the YAML/JSON and loads a config itself (`json.load`,
    `yaml.safe_load`, `OmegaConf.load`), not through HfArgumentParser or TrlParser: it builds the run from the file in
    its own code, which may add adapters, a precision or an optimizer of its own (held-out review 108, A 15: a GRPO
    project's YAML, mapped through a filtered dict into GRPOConfig beside a 4-bit LoRA model). None otherwise."""
    if doc.format not in ("json", "yaml") or not doc.path:
        return None
    file = Path(doc.path).resolve()
    for folder in (file.parent, file.parent.parent):
        found = _loading_program(folder_files(folder, (".py",)), file.name)
        if found is not None:
            return found
    return None


def omegaconf_loader(doc: Document) -> Optional[Path]:
    """The program in a YAML's folder or the one above that loads its config with `OmegaConf.load`, where no program
    there loads YAML another way (yaml.safe_load, HfArgumentParser's parse_yaml_file, TrlParser): OmegaConf refuses a
    key a mapping repeats (held-out review 120, A 19: `fine_tune.py --config` over `OmegaConf.load(args.config)`)."""
    if doc.format != "yaml" or not doc.path:
        return None
    file = Path(doc.path).resolve()
    texts = [(path, text) for folder in (file.parent, file.parent.parent)
             for path, text in file_texts(folder_files(folder, (".py",)))]
    if any(_OTHER_YAML_LOADER.search(text) or _ARGUMENTS_PARSER_LOAD.search(text) for _, text in texts):
        return None
    return next((path for path, text in texts if _OMEGACONF_LOAD.search(text)), None)


_OMEGACONF_LOAD = lazy_compile(r"\b(?:OmegaConf|om)\.load\s*\(")
_OTHER_YAML_LOADER = lazy_compile(r"\byaml\.(?:safe_|full_|unsafe_)?load\s*\(")


@lru_cache(maxsize=64)
def _loading_program(programs: tuple, name: str) -> Optional[Path]:
    # Cached per folder state and file name, as `_mapping_program`.
    named = re.compile(rf"""["'][^"'\n]*(?<![\w.-]){re.escape(name)}["']""")
    return next((path for path, text in file_texts(programs)
                 if named.search(text) and _OWN_LOADER.search(text) and not _ARGUMENTS_PARSER_LOAD.search(text)), None)


_OWN_LOADER = lazy_compile(r"\b(?:json\.loads?|yaml\.(?:safe_|full_)?load|OmegaConf\.load|tomllib\.load|toml\.load)\s*\(")
_ARGUMENTS_PARSER_LOAD = lazy_compile(r"parse_yaml_file|parse_json_file|TrlParser|H4ArgumentParser|parse_args_and_config")


def launched_config(b: PlanBuilder, script: Document, config: ProgramConfig) -> None:
    """The plan's `program` facts for a script that hands its program a config file: the program and the file."""
    program = script.data.get("program")
    if program:
        b.set("program.path", str(program), b.source(script, ("program",)))
    if config.path is not None:
        b.set("program.config", str(config.path), b.source(script, config.key, note=config.how))


class LaunchBuilder(PlanBuilder):
    """A plan builder for a launch script's arguments, read as the program's keys (`docs[0]`, the script's flags
    over the config file it hands the program). A field whose argument the script leaves to launch time is
    unknown, never the trainer's default. A key the command line does not set points into the config file
    when that file sets it; when the script names a config file that is not at hand, what the arguments leave
    open is unknown (the file may set it), never the trainer's default."""

    def __init__(self, dialect: str, docs: list[Document], unknown: dict[str, str],
                 config: Optional[ProgramConfig] = None) -> None:
        super().__init__(dialect, docs)
        self._unknown_keys = unknown
        self._config = config
        # the script's own arguments handed on (`"$@"`), asked for every default: looked up once
        self.passed_on = arguments_passed_on(docs[0])

    def source(self, doc: Document, path: KeyPath, note: Optional[str] = None) -> Source:
        config = self._config
        if (config is not None and config.document is not None and doc is self.primary and path
                and doc.position(path) is None and config.document.position(path) is not None):
            return super().source(config.document, path, note)
        return super().source(doc, path, note)

    def take(self, field: str, doc: Document, path: Any, convert: Any = None) -> Any:
        key = path if isinstance(path, str) else ".".join(map(str, path))
        if key in self._unknown_keys:
            why = self._unknown_keys[key]
            self.unknown(field, why if why.endswith(COMPUTED) else f"the launch-time value of {why} (--{key})")
            return None
        return super().take(field, doc, path, convert)

    def default(self, field: str, value: Any, note: str) -> None:
        if self._config is not None and self._config.key == RECIPE_KEY:
            self.unknown(field, f"`{self._config.reference}`, the Python recipe the launch runs (not read here: it may "
                                "set this)")
        elif self._config is not None and self._config.document is None:
            self.unknown(field, f"`{self._config.reference}`, the config file the script hands the program "
                                "(not found here: it may set this)")
        if self.passed_on is not None:
            self.unknown(field, f"the script hands the program its own arguments (`{self.passed_on}`), which may "
                                "set this")
        if field not in self.unknowns:
            super().default(field, value, note)


# The script's own arguments handed on to the program: `"$@"`, `$*`, `${@:4}` (bash's slice).
_PASSED_ON = lazy_compile(r'^"?\$(\{[@*](:[0-9]+)?\}|[@*])"?$')


def arguments_passed_on(doc: Document) -> Optional[str]:
    """The word that hands the program the script's own arguments when the program's source is not at hand (held-out
    review 53, A 19: `train.py ... ${@:4}`, whose own dataclasses default lr to 1e-5): what the command line leaves
    open may be set at launch, or by a default of the program's, not transformers'."""
    words = doc.data.get("unresolved") or ()
    passed = next((str(w.get("text")) for w in words if isinstance(w, dict) and _PASSED_ON.match(str(w.get("text")))),
                  None)
    if passed is None or find_program_source(doc.data.get("program_path"), doc) is not None:
        return None
    return passed


def load_handed_config(path: Path, script: Document, pick: Optional[str] = None) -> Optional[Document]:
    """The config's document, named as the script is (relative to the working directory when the script's
    name is), so that a folder check that also reads the file on its own reports each finding once. `pick`: the
    recipe of a torchtitan recipe module the launch runs (`FILE.py::RECIPE`)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    suffix = f"::{pick}" if pick else ""
    return _loaded_config(f"{path}{suffix}", f"{shown_as(path, script)}{suffix}", stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _loaded_config(name: str, shown: str, _mtime: int, size: int) -> Optional[Document]:
    """The config read once per check (detection scores the script, then its plan is built)."""
    from ..config.loader import load_document  # the loader imports every reader: only when a script names a file
    from ..errors import ConfigError

    if size > _MAX_BYTES:
        return None
    try:
        loaded = load_document(name, shown)
    except (ConfigError, OSError, ValueError):
        return None
    return loaded if isinstance(loaded.data, dict) else None


# --- what the source decides ------------------------------------------------------------
# Classes whose `from_pretrained` loads no model weights.
_NOT_WEIGHTS = lazy_compile(r"tokeni[sz]er|config|processor|extractor", re.IGNORECASE)
# Objects whose `load_state_dict` restores training state, not the model's weights.
_STATE_HOLDERS = lazy_compile(r"optim|sched|scaler|ema|state", re.IGNORECASE)
# Words by which a program sets a half precision itself (`DPOConfig(bf16=True)`, `torch.autocast(dtype=torch.bfloat16)`).
_PRECISION_WORDS = lazy_compile(r"\b(bf16|fp16|bfloat16|float16|autocast|half\(\))")
# Words by which a program switches evaluation on itself (`DPOConfig(evaluation_strategy="steps")`).
_EVAL_WORDS = lazy_compile(r"\b(eval_strategy|evaluation_strategy|do_eval|eval_steps)\b")


class Evidence(NamedTuple):
    """A call in the program's source that decides a plan fact, and where it is."""

    what: str  # `get_peft_model(...)`, `load_state_dict(...)`
    file: str
    line: int


class ProgramFacts(NamedTuple):
    """What the launched program's source at hand decides. A call under a condition (`if training_args.lora_enable:`)
    decides nothing: the arguments do."""

    source: Path
    adapters: Optional[Evidence] = None  # wraps the model in LoRA adapters whatever the arguments
    quantized: Optional[Evidence] = None  # trains them on a 4-bit base (QLoRA)
    lora_rank: Optional[int] = None  # the adapters' rank when the source or an argument states it
    lora_alpha: Optional[float] = None  # their alpha when the source states it as a literal
    lora_config: Optional[Evidence] = None  # where the source builds the adapters' LoraConfig
    loads_weights: Optional[Evidence] = None  # loads pretrained weights whatever the arguments
    may_load_weights: Optional[Evidence] = None  # loads them under a condition of its own (`if "Vision" in project:`)
    builds_fresh: bool = False  # may build a model from a config instead (`from_config`)
    freezes: Optional[Evidence] = None  # sets `requires_grad` off whatever the arguments
    sets_precision: bool = False  # names bf16/fp16 itself: it may set the precision
    sets_eval: bool = False  # names the Trainer's evaluation switches itself: it may evaluate
    # trains a model that is no causal LM: a reward model (TRL's RewardTrainer/PRMTrainer) or a classification head
    # (`AutoModelForTokenClassification`, SCAN-PRM's process reward model), whatever the arguments
    not_causal_lm: Optional[Evidence] = None
    seq2seq: Optional[Evidence] = None  # builds an encoder-decoder LM (`AutoModelForSeq2SeqLM`, T5, BART)
    fresh_from: Optional[Evidence] = None  # the first `from_config(...)` call: a model built from a config
    # hands the Trainer an optimizer and scheduler of its own (`Trainer(..., optimizers=(optimizer, lr_scheduler))`):
    # TrainingArguments' optim, betas, eps, weight decay, scheduler and warmup are not what trains
    own_optimizer: Optional[Evidence] = None
    # casts the weights it trains to fp16 itself (`from_pretrained(...).half()`, `torch_dtype=torch.float16`)
    fp16_weights: Optional[Evidence] = None
    # builds a trainer or calls `.train(...)`: the source at hand is the training program, not a recipe module
    # whose config another program hands its trainer with the model it loads
    trains: bool = False
    # masks the prompt in the `labels` it builds (-100), then collates with `DataCollatorForLanguageModeling(mlm=
    # False)`, which rebuilds every row's labels from its input ids: where the collator is built
    rebuilds_masked_labels: Optional[Evidence] = None
    # sets `requires_grad` off under a condition the launch's arguments do not settle, a selection by parameter name
    # among them (held-out review 137, B 15: SkipGPT's router tuning, `if 'router' not in name: param.requires_grad =
    # False` in the helper module main.py hands the model to); adapters an unset switch would add count as off
    may_freeze: Optional[Evidence] = None


def program_facts(path: Path, arguments: Optional[dict] = None) -> Optional[ProgramFacts]:
    """What the source at `path` (and the modules a thin wrapper imports) decides; `arguments` are the launch
    script's (`--rank 256`), for an adapter rank the source reads from an argument."""
    modules = program_modules(path)
    if not modules:
        return None
    settled = _argument_values(path, arguments or {})
    found: dict[str, Evidence] = {}
    rank: Any = None
    alpha: Any = None
    fresh = False
    for module in modules:
        if module.tree is None:
            continue
        nodes = list(_guarded_nodes(module.tree, settled))  # one guarded walk per module, read three ways below
        lora_names = _lora_config_names(nodes)
        constants = _constants(nodes)
        both_branches: set[int] = set()  # adapter calls of an `if` whose every branch wraps the model
        for node, guarded in nodes:
            if isinstance(node, ast.If) and not guarded:
                both_branches |= _adapters_either_way(node)
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            evidence = Evidence(f"`{name}(...)`", str(module.path), node.lineno)
            fresh = fresh or name == "from_config"
            if name == "from_config":
                found.setdefault("fresh", evidence)
            if guarded and id(node) in both_branches:
                found.setdefault("adapters", evidence)
            elif guarded:
                # (not `prepare_model_for_kbit_training` under `if args.use_4bit`: it readies a quantized model, and
                # says nothing of whether adapters wrap it; held-out review 104, A 14)
                if name in ("get_peft_model", "LoraConfig", "add_adapter"):
                    found["conditional_adapters"] = evidence
                if name == "requires_grad_" and node.args and _is_false(node.args[0]):
                    found.setdefault("conditional_freezes", evidence)
                if _loads_weights(node):
                    found.setdefault("conditional_weights", evidence)
                continue
            # `get_peft_model(model, config)`, `model.add_adapter(config)` (transformers' PEFT integration), a
            # LoraConfig handed to TRL's trainer as `peft_config=` (the trainer wraps the model itself)
            if name in ("get_peft_model", "add_adapter") or any(
                    k.arg == "peft_config" and _is_lora_config(k.value, lora_names) for k in node.keywords):
                found.setdefault("adapters", evidence)
            if name == "from_pretrained" and _peft_loader(_receiver(node)) and (
                    _true_keyword(node, "is_trainable") or _unfreezes_lora(module.tree)):
                # a saved adapter trained on (held-out review 105, A 07: loaded, then its `lora_` weights unfrozen)
                found.setdefault("adapters", evidence)
            if name == "LoraConfig" and "lora_config" not in found:
                # PEFT's LoraConfig: r=8, lora_alpha=8 when not given (a `**kwargs` may give them: unknown)
                spread = any(k.arg is None for k in node.keywords)
                rank = _resolve(_keyword(node, "r"), constants) or (None if spread else ast.Constant(8))
                alpha = _resolve(_keyword(node, "lora_alpha"), constants) or (None if spread else ast.Constant(8))
                found["lora_config"] = evidence
            if name == "prepare_model_for_kbit_training" or _true_keyword(node, "load_in_4bit"):
                found.setdefault("quantized", evidence)
            if _loads_weights(node):
                found.setdefault("weights", evidence)
            if _casts_to_fp16(node):
                found.setdefault("fp16_weights", evidence)
            if any(k.arg == "optimizers" and not (isinstance(k.value, ast.Tuple) and all(
                    isinstance(e, ast.Constant) and e.value is None for e in k.value.elts)) for k in node.keywords):
                found.setdefault("own_optimizer", evidence)
            if name == "requires_grad_" and node.args and _is_false(node.args[0]):
                found.setdefault("freezes", evidence)
            if name == "DataCollatorForLanguageModeling" and _is_false(_keyword(node, "mlm")) \
                    and _masks_labels(module.tree):
                found.setdefault("rebuilds_masked_labels", evidence)
            # `trl.RewardTrainer(...)`, `AutoModelForTokenClassification.from_pretrained(...)`
            for model_class in (name, _receiver(node)):
                if model_class is not None and _NOT_CAUSAL_LM.fullmatch(model_class):
                    found.setdefault("not_causal_lm", Evidence(f"`{model_class}`", str(module.path), node.lineno))
                elif model_class is not None and _SEQ2SEQ_LM.fullmatch(model_class):
                    found.setdefault("seq2seq", Evidence(f"`{model_class}`", str(module.path), node.lineno))
                elif model_class is not None and _CAUSAL_LM.fullmatch(model_class):
                    found.setdefault("causal_lm", evidence)
        freeze = _freezing_assignment(module, nodes)
        if freeze is not None:
            found.setdefault("freezes", freeze)
        freeze = _freezing_assignment(module, nodes, guarded=True)
        if freeze is not None:
            found.setdefault("conditional_freezes", freeze)
    if "not_causal_lm" not in found and "causal_lm" not in found:
        found.update(_non_text_model(modules))
    adapters = found.get("adapters") if "conditional_adapters" not in found else None
    return ProgramFacts(
        source=path, adapters=adapters, quantized=found.get("quantized") if adapters else None,
        lora_rank=_rank(rank, modules, {**settled, **(arguments or {})}) if adapters else None,
        lora_alpha=_literal_number(_settled_value(alpha, settled)) if adapters else None,
        lora_config=found.get("lora_config") if adapters else None,
        loads_weights=found.get("weights"), may_load_weights=found.get("conditional_weights"), builds_fresh=fresh,
        freezes=found.get("freezes"),
        sets_precision=any(_PRECISION_WORDS.search(m.text) for m in modules),
        sets_eval=any(_EVAL_WORDS.search(m.text) for m in modules),
        not_causal_lm=found.get("not_causal_lm") if "causal_lm" not in found else None,
        own_optimizer=found.get("own_optimizer"), fp16_weights=found.get("fp16_weights"),
        seq2seq=found.get("seq2seq") if "causal_lm" not in found else None, fresh_from=found.get("fresh"),
        trains=any(_TRAINS.search(m.text) for m in modules),
        rebuilds_masked_labels=found.get("rebuilds_masked_labels"),
        may_freeze=found.get("conditional_freezes"))


def _masks_labels(tree: ast.Module) -> bool:
    """The module writes `labels` (`x["labels"] = ...`, `labels = ...`, `dict(labels=...)`) and masks a span of them
    by position with the loss's ignore index: `[-100] * len(prompt_ids)`, `labels[:n] = [IGNORE_INDEX] * n`. Masking
    the padding alone (`-100 if t == pad_id else t`) is what the collator does again: no loss."""
    writes, spans = False, False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            writes = writes or any(_names_labels(target) for target in node.targets)
            spans = spans or any(isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice)
                                 and _holds_ignore_index(node.value) for target in node.targets)
        elif isinstance(node, ast.keyword) and node.arg == "labels":
            writes = True
        elif isinstance(node, ast.Dict):
            writes = writes or any(isinstance(k, ast.Constant) and k.value == "labels" for k in node.keys)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            spans = spans or any(isinstance(side, (ast.List, ast.Tuple)) and _holds_ignore_index(side)
                                 for side in (node.left, node.right))
        if writes and spans:
            return True
    return False


def _holds_ignore_index(node: ast.AST) -> bool:
    """-100 (or an `IGNORE_INDEX`-like name) anywhere in `node`."""
    return any(isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub)
               and isinstance(inner.operand, ast.Constant) and inner.operand.value == 100
               or isinstance(inner, ast.Name) and inner.id.upper() in ("IGNORE_INDEX", "IGNORE_TOKEN_ID")
               for inner in ast.walk(node))


def _names_labels(target: ast.AST) -> bool:
    if isinstance(target, ast.Name):
        return target.id == "labels"
    return isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) and target.slice.value == "labels"


# A trainer built or a training loop run: `SFTTrainer(`, `Trainer(`, `trainer.train(`, `optimizer.step()`.
_TRAINS = lazy_compile(r"\w*Trainer\s*\(|\.train\s*\(|\.step\s*\(\s*\)|\.backward\s*\(")


# What a program builds or trains that is no causal LM (transformers' `*ForSequenceClassification`/
# `*ForTokenClassification` heads; TRL's reward trainers build the former), and what is one (a program that builds
# both, a policy beside its reward model, is read as the causal LM it may train).
_NOT_CAUSAL_LM = lazy_compile(r"\w*For(Sequence|Token)Classification|(PRM|Reward)(Trainer|Config)")
_CAUSAL_LM = lazy_compile(r"\w*ForCausalLM|(SFT|DPO|KTO|ORPO|CPO|GRPO|PPO|RLOO)(Trainer|Config)")
# Encoder-decoder language models (not the vision-language `*ForConditionalGeneration` classes, causal LMs).
_SEQ2SEQ_LM = lazy_compile(r"\w*ForSeq2SeqLM|(T5|MT5|UMT5|LongT5|Bart|MBart|Pegasus|Marian|FSMT|PLBart)"
                           r"ForConditionalGeneration")


# Models of images, audio and speech, named anywhere in the program (a table of them it picks from by an argument: held-
# out review 112, A 14/A 15, a ViT classifier and Whisper, read as causal LMs and told to use LLM betas).
_NON_TEXT_MODEL = lazy_compile(r"\b\w*For(?:Image|Audio|Video)Classification\b|\b\w*For(?:SpeechSeq2Seq|CTC|"
                               r"ObjectDetection|SemanticSegmentation|UniversalSegmentation)\b|\bWhisperFor\w+")


def _non_text_model(modules: list) -> dict[str, Evidence]:
    for module in modules:
        match = _NON_TEXT_MODEL.search(module.text)
        if match is not None:
            line = module.text.count("\n", 0, match.start()) + 1
            return {"not_causal_lm": Evidence(f"`{match.group(0)}`", str(module.path), line)}
    return {}


def _constants(nodes: list[tuple[ast.AST, bool]]) -> dict[str, ast.AST]:
    """Names bound once to a literal outside any condition (LLM_finetune's qwen_dpo.py: `LORA_R = 32` then
    `LoraConfig(r=LORA_R, ...)`); a name bound twice is not a constant."""
    seen: dict[str, list[ast.AST]] = {}
    for node, guarded in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    seen.setdefault(target.id, []).append(node.value if not guarded else ast.Name("?"))
    return {name: values[0] for name, values in seen.items()
            if len(values) == 1 and isinstance(values[0], ast.Constant)}


def _resolve(value: Any, constants: dict[str, ast.AST]) -> Any:
    if isinstance(value, ast.Name) and value.id in constants:
        return constants[value.id]
    return value


def _literal_number(value: Any) -> Optional[float]:
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return value.value if value.value > 0 else None
    return None


def _guarded_nodes(tree: Optional[ast.Module], settled: Optional[dict[str, Any]] = None):
    """Every node with whether a condition guards it (the branches of an `if`, a conditional expression or a
    `while`, an exception handler, the later operands of `and`/`or`, the body of a helper every call of which
    is guarded: InternVL's `_freeze_params` runs only `if model_args.freeze_backbone:`).
    `if __name__ == "__main__":` and `hasattr`/`isinstance` tests guard nothing; a loop over the parameters is
    no condition. `settled`: argparse arguments whose value the launch decides (given, else their default): an
    `if` on them alone (`if not args.no_lora:`) runs its taken branch unguarded and never the other."""
    if tree is None:
        return []
    sites: dict[str, list[bool]] = {}
    for node, guarded in _walk_guarded(tree, frozenset(), settled or {}):
        if isinstance(node, ast.Call) and _call_name(node):
            sites.setdefault(str(_call_name(node)), []).append(guarded)
    helpers = frozenset(name for name, guards in sites.items() if all(guards))
    return _walk_guarded(tree, helpers, settled or {})


def _walk_guarded(tree: ast.AST, guarded_functions: frozenset, settled: dict[str, Any]):
    stack: list[tuple[ast.AST, bool, frozenset]] = [(tree, False, frozenset())]
    while stack:
        node, guarded, loop_names = stack.pop()
        yield node, guarded
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in guarded_functions:
            guarded = True
        if isinstance(node, ast.For):
            loop_names = loop_names | {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        taken = _settled_test(node.test, settled) if isinstance(node, ast.If) and settled else None
        if taken is not None:
            assert isinstance(node, ast.If)
            stack.extend((child, guarded, loop_names) for child in (node.body if taken else node.orelse))
            continue
        for child in ast.iter_child_nodes(node):
            inner = guarded
            if (isinstance(node, (ast.If, ast.IfExp, ast.While)) and child is not node.test
                    and not _harmless(node.test) and not _on_loop_item(node.test, loop_names)):
                inner = True
            elif isinstance(node, ast.ExceptHandler) or (isinstance(node, ast.BoolOp) and child is not node.values[0]):
                inner = True
            stack.append((child, inner, loop_names))


def _argument_values(path: Path, arguments: dict) -> dict[str, Any]:
    """The argparse destinations of the program at `path` whose value the launch settles: the `--flag`s it gives
    (a bare switch reads True), else the literal defaults; a flag given a value unknown here settles nothing."""
    parsed = argparse_arguments(path)
    if parsed is None:
        return {}
    values = dict(parsed.defaults)
    for flag, value in arguments.items():
        dest = _destination(parsed, flag) if isinstance(flag, str) else None
        if dest is not None and value is None:
            values.pop(dest, None)  # given a value the launch computes: unknown here
        elif dest is not None:
            values[dest] = value
    return values


def _destination(parsed: "ProgramArguments", flag: str) -> Optional[str]:
    """The destination of a launch's `--flag`, or of a flag's name as own_args spells it (`train_mode` for
    `--train-mode`: held-out review 103, A 17, whose launch-time `--train-mode "$4"` settled the default `lora`)."""
    if flag.startswith("--"):
        return parsed.resolve(flag)
    return parsed.resolve(f"--{flag}") or parsed.resolve(f"--{flag.replace('_', '-')}")


def _settled_value(node: Any, settled: dict[str, Any]) -> Any:
    """`args.lora_alpha` as the literal the launch settles it to (`lora_alpha=args.lora_alpha`), else the node."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr in settled:
        value = settled[node.attr]
        return ast.Constant(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else node
    return node


def _settled_test(test: ast.AST, settled: dict[str, Any]) -> Optional[bool]:
    """Whether an `if` on one argparse argument is taken (`args.no_lora`, `not args.use_lora`, `args.mode == "orpo"`,
    `args.x is None`), None when the test reads anything else."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _settled_test(test.operand, settled)
        return None if inner is None else not inner
    if isinstance(test, ast.Attribute) and isinstance(test.value, ast.Name) and test.attr in settled:
        value = settled[test.attr]
        return value if isinstance(value, bool) else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Attribute) \
            and isinstance(test.left.value, ast.Name) and test.left.attr in settled \
            and isinstance(test.comparators[0], ast.Constant):
        value, other, op = settled[test.left.attr], test.comparators[0].value, test.ops[0]
        if isinstance(op, (ast.Is, ast.IsNot)) and other is None:
            return (value is None) == isinstance(op, ast.Is)
        if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(value, (str, int, float)) and value is not None:
            return (str(value) == str(other)) == isinstance(op, ast.Eq)
    return None


def _on_loop_item(test: ast.AST, loop_names: frozenset) -> bool:
    """A test on the loop's own item only (`for name, p in model.named_parameters(): if "lora_" in name:`,
    meteora's meteora_train.py): which parameters, not whether the arguments switch it on."""
    names = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    return bool(names) and names <= loop_names


def _harmless(test: ast.AST) -> bool:
    # `if __name__ == "__main__":`, or written the other way round (self-llm's `if "__main__" == __name__:`,
    # held-out review 24, A 17: the weights it loads went unseen and the LoRA run read as pretraining)
    if isinstance(test, ast.Compare) and any(isinstance(side, ast.Name) and side.id == "__name__"
                                             for side in (test.left, *test.comparators)):
        return True
    return isinstance(test, ast.Call) and _call_name(test) in ("hasattr", "isinstance", "callable")


# TRL's trainers load the model themselves when handed its name (`RewardTrainer(model="Qwen/Qwen2.5-7B-Instruct")`:
# held-out review 88, A 01, read as pretraining from scratch).
_TRL_TRAINER = lazy_compile(r"^(SFT|DPO|KTO|ORPO|CPO|BCO|GRPO|RLOO|PPO|Reward|PRM|GKD|OnlineDPO|XPO|NashMD)Trainer$")


def _loads_weights(node: ast.Call) -> bool:
    name = _call_name(node)
    func = node.func
    if name is not None and _TRL_TRAINER.match(name):
        given = _keyword(node, "model") or (node.args[0] if node.args else None)
        return isinstance(given, ast.Constant) and isinstance(given.value, str) and bool(given.value)
    if name == "from_pretrained" and isinstance(func, ast.Attribute):
        owner = func.value
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
        return not _NOT_WEIGHTS.search(owner_name)
    if name == "load_state_dict" and isinstance(func, ast.Attribute):
        owner = ast.unparse(func.value)
        return not _STATE_HOLDERS.search(owner)
    # OLMo-core: `trainer.load_checkpoint(path, load_trainer_state=False)` and `load_model_and_optim_state(path, model)`
    # start from saved weights, the trainer's step afresh (held-out review 124, C 11: an SFT read as from scratch)
    if name == "load_model_and_optim_state":
        return True
    return name == "load_checkpoint" and _is_false(_keyword(node, "load_trainer_state"))


def _freezing_assignment(module: ProgramSource, nodes: list[tuple[ast.AST, bool]],
                         guarded: bool = False) -> Optional[Evidence]:
    """`param.requires_grad = False` outside any condition (a loop over the parameters is no condition), or with
    `guarded` under one; `nodes`: the module's `_guarded_nodes`."""
    for node, under_condition in nodes:
        if (isinstance(node, ast.Assign) and under_condition == guarded and _is_false(node.value)
                and any(isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in node.targets)):
            return Evidence("`requires_grad = False`", str(module.path), node.lineno)
    return None


def _unfreezes_lora(tree: ast.Module) -> bool:
    """`if "lora_" in name: param.requires_grad = True`: the program trains the adapters' weights."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Constant) \
                and "lora" in str(node.test.left.value).lower() and any(isinstance(op, ast.In) for op in node.test.ops):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) \
                        and statement.value.value is True and any(isinstance(t, ast.Attribute)
                                                                  and t.attr == "requires_grad" for t in statement.targets):
                    return True
    return False


def _keyword(node: ast.Call, name: str) -> Any:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _adapter_calls(statements: list) -> list[ast.Call]:
    """The calls among `statements` that wrap a model in trainable adapters: `get_peft_model`, `add_adapter`,
    `PeftModel.from_pretrained(..., is_trainable=True)` (a saved adapter trained on), with their LoraConfigs; also
    those of a nested `if` that wraps it either way."""
    reached = [n for statement in statements for n in _walk_unconditional(statement)]
    calls = [n for n in reached if isinstance(n, ast.Call)]
    wraps = [n for n in calls if _call_name(n) in ("get_peft_model", "add_adapter") or (
        _call_name(n) == "from_pretrained" and _peft_loader(_receiver(n)) and _true_keyword(n, "is_trainable"))]
    wraps += [n for inner in reached if isinstance(inner, ast.If) for n in _either_way_calls(inner)]
    if not wraps:
        return []
    return wraps + [n for n in calls if _call_name(n) in ("LoraConfig", "prepare_model_for_kbit_training")]


def _loads_saved_adapter(statements: list) -> bool:
    """`PeftModel.from_pretrained(model, path)` among `statements`: the model wears a saved adapter (frozen, to
    evaluate or generate with), so this branch trains no full model either."""
    return any(isinstance(n, ast.Call) and _call_name(n) == "from_pretrained" and _peft_loader(_receiver(n))
               for statement in statements for n in _walk_unconditional(statement))


def _walk_unconditional(node: ast.AST):
    """`node` and what it runs whatever a condition inside it says: not the branches of a nested `if` (held-out review
    106, D 06: `if use_unsloth: ... if is_peft: get_peft_model(...) else: ... if is_peft: ...` wraps in neither branch
    unless `is_peft`)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (ast.If, ast.IfExp, ast.While)):
            stack.append(current.test)
            continue
        stack.extend(ast.iter_child_nodes(current))


def _adapters_either_way(node: ast.If) -> set[int]:
    """The adapter calls of an `if`/`else` that wraps the model in adapters in both branches (held-out review 53,
    A 13: `PeftModel.from_pretrained(previous, is_trainable=True)` to resume a phase, else `get_peft_model`)."""
    return {id(call) for call in _either_way_calls(node)}


def _either_way_calls(node: ast.If) -> list[ast.Call]:
    """`_adapters_either_way`'s calls. A branch that only loads a saved adapter to generate with counts as one with
    adapters, where the other trains some; an `if` nested in a branch counts where it wraps either way (held-out review
    96, A 13: `if test: PeftModel.from_pretrained(...)` else `if pt_model: ...(is_trainable=True)` else
    `get_peft_model`)."""
    body, otherwise = _adapter_calls(node.body), _adapter_calls(node.orelse)
    if not (body or otherwise):
        return []
    if (body or _loads_saved_adapter(node.body)) and (otherwise or _loads_saved_adapter(node.orelse)):
        return body + otherwise
    return []


_FP16_NAMES = frozenset({"torch.float16", "torch.half", "float16", "half", "fp16"})


def _casts_to_fp16(node: ast.Call) -> bool:
    """`AutoModelForCausalLM.from_pretrained(...).half()` or `model.half()`, or weights loaded with
    `torch_dtype=torch.float16` (`dtype=` since transformers 4.56); not under `load_in_4bit`/`load_in_8bit`,
    where float16 is the compute dtype of a quantized base."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "half" and not node.args:
        receiver = func.value
        return (isinstance(receiver, ast.Call) and _loads_weights(receiver)) or (
            isinstance(receiver, ast.Name) and "model" in receiver.id.lower())
    if not _loads_weights(node) or any(_true_keyword(node, key) for key in ("load_in_4bit", "load_in_8bit")) \
            or _keyword(node, "quantization_config") is not None:
        return False
    dtype = _keyword(node, "torch_dtype") or _keyword(node, "dtype")
    written = ast.unparse(dtype).strip("'\"") if dtype is not None else ""
    return written in _FP16_NAMES


def _true_keyword(node: ast.Call, name: str) -> bool:
    value = _keyword(node, name)
    return isinstance(value, ast.Constant) and value.value is True


def _is_false(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _lora_config_names(nodes: list[tuple[ast.AST, bool]]) -> set[str]:
    """Names assigned a LoraConfig(...) outside any condition (`peft_config = LoraConfig(r=16, ...)`), or the result
    of a module function that returns one (held-out review 104, A 14: `peft_config = create_peft_config(args)`);
    `nodes`: the module's `_guarded_nodes`."""
    builders = {"LoraConfig", *_lora_builders(nodes)}
    return {target.id for node, guarded in nodes
            if isinstance(node, ast.Assign) and not guarded and isinstance(node.value, ast.Call)
            and _call_name(node.value) in builders for target in node.targets if isinstance(target, ast.Name)}


def _lora_builders(nodes: list[tuple[ast.AST, bool]]) -> set[str]:
    """Functions every `return` of which gives a LoraConfig: `return LoraConfig(...)`, or a local name assigned one."""
    found = set()
    for node, _ in nodes:
        if not isinstance(node, ast.FunctionDef):
            continue
        local = {target.id for inner in ast.walk(node) if isinstance(inner, ast.Assign)
                 and isinstance(inner.value, ast.Call) and _call_name(inner.value) == "LoraConfig"
                 for target in inner.targets if isinstance(target, ast.Name)}
        returns = [inner.value for inner in ast.walk(node) if isinstance(inner, ast.Return)]
        if returns and all((isinstance(value, ast.Call) and _call_name(value) == "LoraConfig")
                           or (isinstance(value, ast.Name) and value.id in local) for value in returns):
            found.add(node.name)
    return found


def _is_lora_config(value: ast.AST, names: set[str]) -> bool:
    """`peft_config=LoraConfig(...)` or a name bound to one; not TRL's `get_peft_config(model_args)`, which is
    None unless `--use_peft` (the arguments decide)."""
    if isinstance(value, ast.Call):
        return _call_name(value) == "LoraConfig"
    return isinstance(value, ast.Name) and value.id in names


def _rank(value: Any, modules: list[ProgramSource], arguments: dict) -> Optional[int]:
    """`r=256`, or `r=model_args.rank` with `--rank 256` passed or the field's default in the source."""
    if isinstance(value, ast.Constant) and isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value if value.value > 0 else None
    name = value.attr if isinstance(value, ast.Attribute) else value.id if isinstance(value, ast.Name) else None
    if name is None:
        return None
    passed = arguments.get(name)
    if isinstance(passed, int) and not isinstance(passed, bool):
        return passed if passed > 0 else None
    if passed is not None:
        return None  # a launch-time value or a word: not known here
    default = argument_default(modules, name)
    if default is None and isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
        default = class_attribute(modules, value.value.id, name)
    return default if isinstance(default, int) and not isinstance(default, bool) and default > 0 else None


def class_attribute(modules: list[ProgramSource], owner: str, name: str) -> Any:
    """The literal a module-level settings class assigns its attribute in its body (`class Config: lora_r = 8`,
    read as `Config.lora_r`: held-out review 96, A 09); None when there is none or it is not a literal."""
    for module in modules:
        for node in module.tree.body if module.tree is not None else ():
            if not (isinstance(node, ast.ClassDef) and node.name == owner):
                continue
            values = [evaluate(expression, {}) for statement in node.body
                      for target, expression in assignments(statement) if target == name]
            return values[-1] if values else None
    return None


def argument_default(modules: list[ProgramSource], name: str) -> Any:
    """The literal default of a dataclass field `name` HfArgumentParser reads (`rank: int = field(default=256)`
    or `rank: int = 256`) in the program's modules; None when there is none or it is not a literal."""
    for module in modules:
        for node in ast.walk(module.tree) if module.tree is not None else ():
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name):
                continue
            value = node.value
            if isinstance(value, ast.Call) and _call_name(value) == "field":
                value = _keyword(value, "default")
            try:
                return ast.literal_eval(value) if value is not None else None
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return None
    return None


# --- argparse declarations (dialects/own_args.py: programs that parse their own arguments) ---------------
class ProgramArguments(NamedTuple):
    """What a program's argparse declares: each destination's literal default (absent: not literal),
    and every option string (`--model_path`, `-model`) -> destination."""

    path: Path
    defaults: dict[str, Any]
    options: dict[str, str]

    def resolve(self, flag: str) -> Optional[str]:
        """The destination argparse gives `--flag`: exact, else the one option it abbreviates."""
        if flag in self.options:
            return self.options[flag]
        matches = {dest for option, dest in self.options.items() if option.startswith(flag) and option[:2] == "--"}
        return matches.pop() if len(matches) == 1 else None


# Parsers of TrainingArguments dataclasses: transformers' own, TRL's and alignment-handbook's subclasses of it.
DATACLASS_PARSERS = frozenset({"HfArgumentParser", "TrlParser", "H4ArgumentParser"})


def argparse_arguments(path: Path) -> Optional[ProgramArguments]:
    """What the program at `path` declares with argparse `add_argument` calls (and the modules beside it that
    it imports); None for an HfArgumentParser program, one that declares nothing, or an unreadable file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    found = _declared(str(path), stat.st_mtime_ns, stat.st_size)
    return None if found is None else ProgramArguments(path, *found)


@lru_cache(maxsize=64)
def _declared(path: str, _mtime: int, _size: int) -> Optional[tuple[dict[str, Any], dict[str, str]]]:
    """(defaults, options) of the `add_argument` calls in the program and the modules beside it that it
    imports (DeepSpeed-Chat's options); None for an HfArgumentParser program or one that declares none."""
    defaults: dict[str, Any] = {}
    options: dict[str, str] = {}
    for tree in _trees(Path(path)):
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in DATACLASS_PARSERS:
                return None  # (held-out review 89, A 11: TRL's dpo.py, `TrlParser(...)` plus one `add_argument`)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                _add_argument(node, defaults, options)
    if not options:
        for tree in _trees(Path(path))[:1]:
            _cli_function_arguments(tree, defaults, options)
    if not options:
        _tyro_arguments(_trees(Path(path)), defaults, options)
    if not options:
        for tree in _trees(Path(path))[:1]:
            _click_options(tree, defaults, options)
    return (defaults, options) if options else None


def _click_options(tree: ast.Module, defaults: dict[str, Any], options: dict[str, str]) -> None:
    """click's `@click.option('--batch-size', default=5)` on the program's command: each option a flag whose value
    is the function parameter named after its long name, dashes as underscores (click's own rule), its literal
    default the run's unless given; `is_flag=True` defaults to off (held-out review 130, D 05: a TransformerEngine
    program's `--batch-size 8 --grad-accumulation 4`, refused as naming no setting)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and _call_name(decorator) == "option" \
                    and _receiver(decorator) == "click":
                _click_option(decorator, defaults, options)


def _click_option(call: ast.Call, defaults: dict[str, Any], options: dict[str, str]) -> None:
    names = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    flags = [name for name in names if name.startswith("-")]
    if not flags:
        return
    named = [name for name in names if name.isidentifier()]  # `@click.option('--lr', 'learning_rate')`
    long = max(flags, key=len)
    dest = named[0] if named else long.lstrip("-").replace("-", "_")
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    is_flag = isinstance(keywords.get("is_flag"), ast.Constant) and keywords["is_flag"].value is True
    _declare(flags, dest, keywords, False if is_flag else None, defaults, options)


def _cli_function_arguments(tree: ast.Module, defaults: dict[str, Any], options: dict[str, str]) -> None:
    """jsonargparse's `CLI(setup)` (old lit-gpt's finetune/*.py and pretrain/*.py, many Lightning-era programs) and
    python-fire's `fire.Fire(train)` (alpaca-lora's finetune.py and its many copies): the function's parameters are
    the program's flags, `--max_iters` for `max_iters: int = MAX_ITERS`; a default is a literal or a module constant
    (held-out reviews 26, B 08 and 34, A 18: such launches were refused as naming no setting)."""
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    constants: dict[str, Any] = {}
    for statement in tree.body:  # the module's constants (`MAX_ITERS = 50000`), read as a nanoGPT config's lines
        for name, expression in assignments(statement):
            constants[name] = evaluate(expression, constants)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _call_name(node) in ("CLI", "Fire") and node.args
                and isinstance(node.args[0], ast.Name)):
            continue
        function = functions.get(node.args[0].id)
        if function is None:
            continue
        parameters = function.args.args + function.args.kwonlyargs
        values = [None] * (len(function.args.args) - len(function.args.defaults)) + list(function.args.defaults) \
            + list(function.args.kw_defaults)
        for parameter, default in zip(parameters, values):
            options[f"--{parameter.arg}"] = parameter.arg
            literal = default is None or (isinstance(default, ast.Constant) and default.value is None)
            value = None if literal else evaluate(default, constants)
            if literal or value is not None:  # else computed at run time: not a default the plan can show
                defaults[parameter.arg] = value
        return


def _tyro_arguments(trees: list[ast.Module], defaults: dict[str, Any], options: dict[str, str]) -> None:
    """tyro's `tyro.cli(Config)`: the dataclass's fields are the program's flags (`--learning_rate`, tyro's
    `--learning-rate` too), their literal defaults its defaults; the class may live in a module beside the program
    (held-out review 89, C 05: a modded-nanoGPT fork's `tyro.cli(NanoConfig)` from config.py, its launches refused)."""
    main = trees[0] if trees else None
    called = next((node.args[0].id for node in ast.walk(main) if isinstance(node, ast.Call) and _call_name(node) == "cli"
                   and _receiver(node) == "tyro" and node.args and isinstance(node.args[0], ast.Name)),
                  None) if main is not None else None
    if called is None:
        return
    for tree in trees:
        constants: dict[str, Any] = {}
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef) and statement.name == called:
                from ..config.python_program import class_fields  # only for tyro programs

                names, found = class_fields(statement, constants)
                for name in names:
                    options[f"--{name}"] = options[f"--{name.replace('_', '-')}"] = name
                defaults.update({name: value for name, value in found.items() if name in names})
                return
            for name, expression in assignments(statement):
                constants[name] = evaluate(expression, constants)


def _trees(path: Path) -> list[ast.Module]:
    """The program's syntax tree and those of the modules beside it that it imports by name (DeepSpeed-Chat's
    parser may live in an options module)."""
    sources = [read_program(source) for source in [path, *_imported_beside(path)]]
    return [source.tree for source in sources if source is not None and source.tree is not None]


def _imported_beside(path: Path) -> list[Path]:
    main = read_program(path)
    tree = main.tree if main is not None else None
    if tree is None:
        return []
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[-1])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[-1] for alias in node.names)
    return [path.parent / f"{name}.py" for name in sorted(names) if (path.parent / f"{name}.py").is_file()]


def _add_argument(call: ast.Call, defaults: dict[str, Any], options: dict[str, str]) -> None:
    flags = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if not flags or not flags[0].startswith("-"):
        return
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    long = next((f for f in flags if f.startswith("--")), flags[0])
    dest = long.lstrip("-").replace("-", "_")
    if isinstance(keywords.get("dest"), ast.Constant):
        dest = str(keywords["dest"].value)
    action = keywords.get("action")
    action_name = action.value if isinstance(action, ast.Constant) else None
    switch = action_name == "store_false" if action_name in ("store_true", "store_false") else None
    _declare(flags, dest, keywords, switch, defaults, options)


def _declare(flags: list[str], dest: str, keywords: dict[str, ast.expr], switch: Optional[bool],
             defaults: dict[str, Any], options: dict[str, str]) -> None:
    """An option's flags and its default: the literal `default=`, else a switch's off value (`switch`), else None
    (the parser's default); a default computed at run time is no literal the plan can show."""
    for flag in flags:
        options[flag] = dest
    if "default" in keywords:
        try:
            defaults[dest] = ast.literal_eval(keywords["default"])
        except (ValueError, TypeError, SyntaxError, RecursionError):
            pass
    else:
        defaults[dest] = switch


# --- HfArgumentParser over the program's own dataclasses --------------------------------------------------
# A program may parse its flags into dataclasses of its own and build TrainingArguments itself (meteora's
# meteora_train.py: HfArgumentParser(ScriptArguments), then `TrainingArguments(optim=args.optim,
# evaluation_strategy="steps", ...)`), or subclass TrainingArguments with defaults of its own (lawer-llm's
# app/finetune/train.py: `warmup_ratio: float = 0.03`). Then the flags are facts of the run only as the program
# passes them on, and the defaults are the program's.


class OwnArguments(NamedTuple):
    """How a program with its own HfArgumentParser dataclasses turns them into the Trainer's arguments.

    `defaults`: field -> (literal default, file, line) of the program's own classes (a subclass of
    TrainingArguments included). `builds_arguments`: True when no class of the parser is TrainingArguments or a
    TRL config (or a subclass): the program builds them itself, and `passed` (Trainer key -> the field it is
    given, or None with `literals` holding a value the source writes) says what reaches the Trainer; a field
    read nowhere in the source (`reads`) does nothing. `fields`: every field of the program's own classes (argparse
    takes a unique prefix of one, `--max_seq_len` for `max_seq_length`); `plain_fields`: those of its classes that
    are no Trainer arguments, which only the program's own code reads."""

    defaults: dict[str, tuple[Any, str, int]]
    builds_arguments: bool
    passed: dict[str, Optional[str]]
    literals: dict[str, tuple[Any, str, int]]
    reads: frozenset[str]
    fields: frozenset[str] = frozenset()
    plain_fields: frozenset[str] = frozenset()


def own_arguments(path: Path) -> Optional[OwnArguments]:
    """The program's own HfArgumentParser dataclasses at `path` (and the local modules a thin wrapper imports);
    None when it parses none of its own."""
    from ..config.python_program import ARGUMENT_CLASSES  # only where a program's source is at hand: start-up time

    modules = [m for m in program_modules(path) if m.tree is not None]
    classes: dict[str, tuple[ast.ClassDef, ProgramSource]] = {}
    parsed: list[str] = []
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, (node, module))
            elif isinstance(node, ast.Call) and _call_name(node) == "HfArgumentParser" and node.args:
                first = node.args[0]
                items = first.elts if isinstance(first, (ast.Tuple, ast.List)) else [first]
                parsed += [dotted_tail(item) for item in items]
    _imported_classes(modules, [name for name in parsed if name not in classes], classes)
    own = [name for name in parsed if name in classes]
    if not own:
        return None
    defaults: dict[str, tuple[Any, str, int]] = {}
    fields: set[str] = set()
    plain_fields: set[str] = set()
    hf_based = False
    for name in parsed:
        if name not in classes:
            hf_based = hf_based or bool(ARGUMENT_CLASSES.match(name))
            continue
        node, module = classes[name]
        trainer_class = any(ARGUMENT_CLASSES.match(dotted_tail(base)) for base in node.bases)
        hf_based = hf_based or trainer_class
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                fields.add(item.target.id)
                if not trainer_class:
                    plain_fields.add(item.target.id)
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value is not None):
                continue
            value = item.value
            if isinstance(value, ast.Call) and _call_name(value) == "field":
                value = _keyword(value, "default")
                if value is None:
                    continue
            try:
                defaults.setdefault(item.target.id, (ast.literal_eval(value), str(module.path), item.lineno))
            except (ValueError, TypeError, SyntaxError, RecursionError):
                continue
    passed: dict[str, Optional[str]] = {}
    literals: dict[str, tuple[Any, str, int]] = {}
    reads: set[str] = set()
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                reads.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE.fullmatch(node.value):
                reads.add(node.value)  # getattr(args, "packing"), asdict(args)["packing"]
            elif isinstance(node, ast.Call) and _builds_trainer_arguments(node, ARGUMENT_CLASSES):
                if any(k.arg is None for k in node.keywords):
                    reads.add("**")  # `TrainingArguments(**vars(args))`: every field may reach it
                for keyword in node.keywords:
                    if keyword.arg is None:
                        continue
                    value = keyword.value
                    if isinstance(value, ast.Attribute):
                        passed.setdefault(keyword.arg, value.attr)
                        continue
                    try:
                        literal = ast.literal_eval(value)
                    except (ValueError, TypeError, SyntaxError, RecursionError):
                        passed.setdefault(keyword.arg, None)  # computed: neither a field nor a literal
                        continue
                    passed.setdefault(keyword.arg, None)
                    literals.setdefault(keyword.arg, (literal, str(module.path), value.lineno))
    return OwnArguments(defaults, not hf_based, passed, literals, frozenset(reads), frozenset(fields),
                        frozenset(plain_fields))


def _imported_classes(modules: list[ProgramSource], names: list[str],
                      classes: dict[str, tuple[ast.ClassDef, ProgramSource]], levels: int = 4) -> None:
    """Add to `classes` those of `names` the program imports from a local module (`from arguments import
    TraningArguments`, Merge-MoE's main.py: held-out review 14, A 21, its TrainingArguments subclass sets
    warmup_ratio 0.03), found beside it or up to `levels` folders above, as program_modules looks."""
    for module in modules:
        for node in ast.walk(module.tree):  # type: ignore[arg-type]
            if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
                continue
            wanted = {alias.asname or alias.name: alias.name for alias in node.names
                      if (alias.asname or alias.name) in names and (alias.asname or alias.name) not in classes}
            if not wanted:
                continue
            relative = node.module.replace(".", "/") + ".py"
            for base in [module.path.parent, *list(module.path.parent.parents)[:levels]]:
                loaded = read_program(base / relative) if (base / relative).is_file() else None
                if loaded is None or loaded.tree is None:
                    continue
                for item in loaded.tree.body:
                    if isinstance(item, ast.ClassDef) and item.name in wanted.values():
                        for local, name in wanted.items():
                            if name == item.name:
                                classes.setdefault(local, (item, loaded))
                break


def _builds_trainer_arguments(node: ast.Call, classes: "re.Pattern[str]") -> bool:
    name = _call_name(node) or ""
    return bool(classes.match(name)) or (name.endswith("Trainer") and name != "Trainer")

