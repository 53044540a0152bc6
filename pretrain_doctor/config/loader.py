"""Read any config file into a `Document`, or fail with one clear `ConfigError`."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import ConfigError, NotAConfigError
from ..lazyre import lazy_compile
from .document import Document, DuplicateKey, merge_documents, scan_suppressions
from .json_reader import read_json
from .python_reader import read_python
from .yaml_reader import read_yaml

MAX_CONFIG_BYTES = 8 * 1024 * 1024
_LFS_POINTER = "version https://git-lfs.github.com/spec/"
CONFIG_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".py": "python",
                   ".sh": "shell", ".bash": "shell", ".slurm": "shell", ".sbatch": "shell",
                   ".slrm": "shell", ".job": "shell", ".pbs": "shell"}  # Slurm/PBS job files (held-out 107, C 12)
_ARGUMENT_LIST = lazy_compile(r"--[A-Za-z]")
_SHEBANG = lazy_compile(r"#!\S*(?:/|env\s+)(?:ba|z|da)?sh\b")
# A first statement that launches training, in a file named without `.sh` (held-out review 121, A 22/A 23: `runfile`,
# `bash_train` holding `accelerate launch --config_file fsdp_config.yaml train.py \`): read as a launch script.
_LAUNCH_HEAD = lazy_compile(r"(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:accelerate\s+launch|torchrun|deepspeed|srun|mpirun|"
                            r"python3?\s+(?:-m\s+\S+|\S+\.py)|swift\s+(?:sft|pt|rlhf)|llamafactory-cli\s+train)\s")


# `check --fix/--diff` re-checks fixed text before (or without) writing it: resolved path -> text.
_TEXT_OVERRIDES: dict[Path, str] = {}


@contextmanager
def text_overrides(texts: dict[Path, str]) -> Iterator[None]:
    """Within the block, reading a file that is a key of `texts` (a resolved path) returns its
    value instead; `texts` is read live, so the caller may add to it inside the block."""
    global _TEXT_OVERRIDES
    saved, _TEXT_OVERRIDES = _TEXT_OVERRIDES, texts
    try:
        yield
    finally:
        _TEXT_OVERRIDES = saved


def format_for(path: Path) -> str | None:
    return CONFIG_SUFFIXES.get(path.suffix.lower())


def is_launch_script_path(path: Path) -> bool:
    """A file that launches a program with arguments: a shell script, VS Code's launch.json, or a MosaicML run spec
    whose `command` is the launch (a YAML with top-level `command:` and `image:`, looked at before it is parsed)."""
    return format_for(path) == "shell" or path.name == _VSCODE_LAUNCH or (
        format_for(path) == "yaml" and _looks_like_run_spec(path)) or is_shell_script_by_its_head(path) or (
        format_for(path) == "python" and _runs_a_launch(path))


# Suffixes of the files a folder walk never opens to ask whether they are shell scripts: data, documents, weights,
# archives, logs, other languages' sources.
_NOT_SCRIPT_SUFFIXES = frozenset((
    ".txt", ".md", ".rst", ".markdown", ".html", ".htm", ".css", ".js", ".ts", ".tsx", ".jsx", ".ipynb", ".csv",
    ".tsv", ".jsonl", ".parquet", ".arrow", ".npy", ".npz", ".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt",
    ".safetensors", ".gguf", ".onnx", ".h5", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".pdf", ".mp4", ".wav",
    ".mp3", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".whl", ".so", ".o", ".a", ".dll", ".exe", ".c",
    ".cc", ".cpp", ".cu", ".cuh", ".h", ".hpp", ".rs", ".go", ".java", ".scala", ".kt", ".rb", ".pl", ".lua", ".r",
    ".jl", ".swift", ".m", ".cfg", ".ini", ".conf", ".lock", ".log", ".out", ".err", ".xml", ".proto", ".tex", ".bib",
    ".pyc", ".pyi", ".env", ".model", ".vocab", ".tiktoken", ".sql", ".db", ".sqlite", ".orig", ".rej", ".patch",
    ".diff", ".bak", ".swp", ".cmake", ".mk", ".gradle", ".dockerfile", ".nix"))
# A suffix naming a cluster or a scheduler rather than a file type (`launch.frontier`, `job.polaris`, `run.lsf`).
_OTHER_SUFFIX = lazy_compile(r"\.[a-z][a-z0-9_]{0,15}")


def is_shell_script_by_its_head(path: Path) -> bool:
    """A file named without a shell suffix whose first line is a shell's `#!`: a launch script a folder walk reads too
    (its first 256 bytes only). Named without a suffix (`submit_deepspeed`, `train`), a first statement that launches
    training counts too (held-out review 121, A 22); named with a suffix no other kind of file has (`launch.frontier`,
    a job script named for its cluster: held-out review 136, D 08), only the `#!`."""
    suffix = path.suffix.lower()
    if path.name.startswith(".") or suffix in CONFIG_SUFFIXES or suffix in _NOT_SCRIPT_SUFFIXES or (
            suffix and not _OTHER_SUFFIX.fullmatch(suffix)):
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    text = head.decode("utf-8", "replace")
    return bool(_SHEBANG.match(text) or (not suffix and _LAUNCH_HEAD.match(_first_statement(text))))


def is_document_launch_path(path: Path) -> bool:
    """A Markdown file, whose fenced shell blocks may show the run's launch (markdown_reader.py)."""
    return path.suffix.lower() in _MARKDOWN_SUFFIXES


def readme_launch_lines(path: Path) -> list[int]:
    """The lines on which the commands that may launch training start in a Markdown file's shell blocks."""
    from .markdown_reader import markdown_launches

    try:
        return markdown_launches(read_text(path, str(path)))
    except ConfigError:
        return []


_RUN_SPEC = lazy_compile(r"(?ms)^command:.*^image:|^image:.*^command:")


def _looks_like_run_spec(path: Path) -> bool:
    try:
        if not path.is_file():  # a FIFO would block the read; the loader refuses it with its own message
            return False
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return "command:" in head and _RUN_SPEC.search(head) is not None


def _runs_a_launch(path: Path) -> bool:
    """A Python file that runs one training launch through subprocess or os.system (subprocess_launch.py)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if "subprocess" not in text and "os.system" not in text:
        return False
    from .subprocess_launch import subprocess_launch

    return subprocess_launch(text) is not None


_VSCODE_LAUNCH = "launch.json"


def _is_vscode_launch(file: Path | None, text: str) -> bool:
    return file is not None and file.name == _VSCODE_LAUNCH and '"configurations"' in text


def load_document(path: str | os.PathLike[str], display: str | None = None,
                  shell_env: dict[str, str] | None = None, documents: bool = False) -> Document:
    """Load one config file. Every failure is a `ConfigError` naming the file (and line). `shell_env`: for a
    launch script, the variables the wrapper that runs it exports. `documents`: a Markdown file is read as the
    launch its fenced shell blocks show (markdown_reader.py), when it shows one. `FILE.py::RECIPE` picks one recipe of
    a torchtitan recipe module (torchtitan_recipe.py); the document is the file's, its path without the pick."""
    written, pick = split_pick(path)
    file = Path(written)
    shown = split_pick(display)[0] if display else written
    text = read_text(file, shown)
    if text.startswith(_LFS_POINTER):
        # the repository keeps the file in Git LFS and this checkout has only its pointer (held-out review 41, A 15:
        # "invalid JSON"): skipped in a folder walk, an input error when named
        error = ConfigError("a Git LFS pointer, not the file itself: its content is not checked out (`git lfs pull`)",
                            shown, 1)
        error.skippable = True
        raise error
    kind = _DOCUMENT_SUFFIXES.get(file.suffix.lower())
    looked = documents and is_document_launch_path(file)
    if looked:
        launch = _markdown_launch(text, shown, pick)
        if launch is not None:
            return _parse(launch, "shell", shown, shell_env, file, shown_text=text)
    if kind is not None and not (file.suffix.lower() == ".txt" and _sniff(text) == "shell"):  # `args.txt` flags
        # a README beside a config holds its launch as prose; parsed as YAML it was "invalid YAML: found character
        # that cannot start any token" (held-out review 73, A 05)
        shows = " whose shell blocks show no single training launch" if looked else ""
        error = ConfigError(f"{kind}{shows}, not a config: the formats read are YAML, JSON, TOML, Python and shell "
                            "scripts", shown)
        error.skippable = True
        raise error
    fmt = format_for(file) or _sniff(text)
    if fmt == "python" and ("subprocess" in text or "os.system" in text):
        from .subprocess_launch import subprocess_launch  # a Python file that runs the launch: start-up time

        launch = subprocess_launch(text)
        if launch is not None:
            return _parse(launch, "shell", shown, shell_env, file, shown_text=text)
    try:
        return _with_bases(_parse(text, fmt, shown, shell_env, file, pick=pick), file)
    except RecursionError:
        raise ConfigError("nesting too deep to be a config", shown) from None
    except MemoryError:
        raise ConfigError("file too large to parse", shown) from None


_PICK = "::"


def split_pick(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """`FILE.py::RECIPE` as ("FILE.py", "RECIPE"), pytest's way of naming one function of a module (one torchtitan
    recipe), and `README.md::LINE` as ("README.md", "LINE"), the launch command starting on that line of a README
    that shows several; any other path as (the path as written, None)."""
    raw = os.fspath(path)
    head, found, name = raw.rpartition(_PICK)
    if found and head.lower().endswith(".py") and name.isidentifier():
        return head, name
    if found and head.lower().endswith(_MARKDOWN_SUFFIXES) and name.isdigit():
        return head, name
    return raw, None


_DOCUMENT_SUFFIXES = {".md": "a Markdown document", ".markdown": "a Markdown document",
                      ".rst": "a reStructuredText document", ".txt": "a plain-text file",
                      ".ipynb": "a Jupyter notebook", ".html": "an HTML page"}
_MARKDOWN_SUFFIXES = (".md", ".markdown")
_BASES_DEPTH = 4  # `_base_` chains deeper than this (or cycling) are not followed further


def _with_bases(doc: Document, file: Path, depth: int = 0) -> Document:
    """A YAML/JSON config that inherits `_base_: base.yaml` (a list, or one path, relative to the file: the
    mmengine convention repositories' own wrappers follow) merged over its bases, as those wrappers load it
    (held-out review 59, A 06: the warmup, eval and LoRA settings sat in base.yaml). A base that is missing or
    unreadable is left out, the file read as written."""
    bases = doc.data.get("_base_") if doc.format in ("yaml", "json") else None
    names = [bases] if isinstance(bases, str) else bases if isinstance(bases, list) else []
    if not names or depth >= _BASES_DEPTH:
        return doc
    loaded = []
    for name in names:
        path = file.parent / str(name)
        if not path.is_file() or path.resolve() == file.resolve():
            continue
        try:
            base = _parse(read_text(path, str(path)), format_for(path) or "yaml", str(path), None, path)
        except ConfigError:
            continue
        loaded.append(_with_bases(base, path, depth + 1))
    if not loaded:
        return doc
    merged = merge_documents([*loaded, doc], doc)
    merged.data.pop("_base_", None)
    return merged


def parse_text(text: str, shown: str, fmt: str | None = None) -> Document:
    """A Document from text in hand (`check --fix` reads its edits back through this)."""
    return _parse(text, fmt or format_for(Path(shown)) or _sniff(text), shown, None, Path(shown))


def read_text(file: Path, shown: str) -> str:
    if _TEXT_OVERRIDES and file.resolve() in _TEXT_OVERRIDES:
        return _TEXT_OVERRIDES[file.resolve()]
    if not file.exists():
        raise ConfigError("no such file", shown)
    if file.is_dir():
        raise ConfigError("is a directory, not a config file", shown)
    if not file.is_file():  # a FIFO or a device would block the read, or never end
        raise ConfigError("not a regular file", shown)
    try:
        with file.open("rb") as stream:
            raw = stream.read(MAX_CONFIG_BYTES + 1)  # bounded even if the file grows meanwhile
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", shown) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"file is over {MAX_CONFIG_BYTES:,} bytes; larger configs are refused", shown)
    return decode_text(raw, shown)


def decode_text(raw: bytes, shown: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # held-out review 131, B 14: a launch script committed as UTF-16 LE with a BOM, which bash cannot run either
        raise ConfigError("saved as UTF-16 (it starts with a byte-order mark): YAML and JSON loaders and bash read "
                          "UTF-8, and a UTF-16 shell script does not run (bash stops at its first line); save it as UTF-8",
                          shown, 1)
    if b"\x00" in raw:
        raise ConfigError("binary file (contains NUL bytes), not a config", shown, raw[: raw.index(b"\x00")].count(b"\n") + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", shown, line) from None
    return text.removeprefix("\ufeff")


def _sniff(text: str) -> str:
    head = text.lstrip()[:1]
    if head in "{[" and head:
        return "json"
    first = _first_statement(text)
    if _SHEBANG.match(text) or _ARGUMENT_LIST.match(first) or _LAUNCH_HEAD.match(first):
        return "shell"  # a launch script without `.sh`, or a bare `--num-layers 24 ...` argument list
    return "yaml"


def _first_statement(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return ""


def _markdown_launch(text: str, shown: str, pick: str | None) -> str | None:
    """The launch a README shows (its only one, or the one starting on the line `README.md::LINE` picks), or None
    when it shows none. One of several, unpicked, is a skippable error naming the picks."""
    from .markdown_reader import markdown_launch, markdown_launches  # only for READMEs named or alone: start-up

    launch = markdown_launch(text, int(pick) if pick is not None else None)
    if launch is not None:
        return launch
    lines = markdown_launches(text)
    if pick is None and len(lines) < 2:
        return None
    listed = ", ".join(str(line) for line in lines[:12]) + (", …" if len(lines) > 12 else "")
    what = f"no training launch starts on line {pick}" if pick is not None else \
        f"{len(lines)} training launches in this file's shell blocks"
    error = ConfigError(f"{what} (lines {listed}): check one as `{Path(shown).name}::LINE`" if lines else what, shown)
    error.skippable = pick is None
    raise error


def _nanotron_builder(text: str, shown: str) -> tuple[dict, dict, dict[str, str]] | None:
    """The Config a nanotron Python builder (examples/config_tiny_llama.py) saves as YAML, or None for any other file."""
    from .nanotron_builder import is_nanotron_builder, read_nanotron_builder

    return read_nanotron_builder(text, shown) if is_nanotron_builder(text) else None


def _nemo2_recipe(text: str, shown: str) -> tuple[dict, dict, dict[str, str]] | None:
    """The mapping a NeMo 2 recipe script (`llm.llama3_8b.pretrain_recipe(...)` and its changes) stands for, or None."""
    from .nemo2_recipe import is_nemo2_recipe, read_nemo2_recipe

    return read_nemo2_recipe(text, shown) if is_nemo2_recipe(text) else None


def _torchtitan_recipe(text: str, shown: str, pick: str | None) -> tuple[dict, dict, dict[str, str]] | None:
    """The recipe of a torchtitan recipe module (its only one, or the one `FILE.py::RECIPE` picks), or None for
    any other file."""
    if pick is None and "Trainer.Config" not in text:  # most Python configs: no import of the reader (start-up time)
        return None
    from .torchtitan_recipe import is_torchtitan_recipe_module, read_torchtitan_recipe, recipe_names

    if not is_torchtitan_recipe_module(text):
        if pick is not None:
            raise ConfigError(f"`::{pick}` picks a recipe, but this file defines no torchtitan recipe (a function "
                              "returning `Trainer.Config`)", shown)
        return None
    names = recipe_names(text)
    if pick is None and len(names) == 1:
        pick = names[0]
    if pick is None or pick not in names:
        listed = ", ".join(f"`{name}`" for name in names[:8]) + (", …" if len(names) > 8 else "")
        what = f"no recipe `{pick}`" if pick is not None else f"{len(names)} torchtitan recipes"
        error = ConfigError(f"{what} in this file (it defines {listed or 'none that takes no argument'}): check one "
                            f"as `{Path(shown).name}::RECIPE`", shown)
        error.skippable = pick is None  # a folder walk passes over a module of several; a wrong pick is an error
        raise error
    return read_torchtitan_recipe(text, shown, pick)


def _parse(text: str, fmt: str, shown: str, shell_env: dict[str, str] | None = None,
           file: Path | None = None, shown_text: str | None = None, pick: str | None = None) -> Document:
    """`shown_text`: the file as written when `text` is what of it is read (a README's blocks), line for line.
    `pick`: the torchtitan recipe a `FILE.py::RECIPE` path names."""
    unevaluated: dict[str, str] = {}
    duplicates: list = []
    if fmt == "json" and _is_vscode_launch(file, text):
        from .vscode_reader import read_vscode_launch  # VS Code's debug configurations: a launch script

        assert file is not None
        data, positions, unevaluated = read_vscode_launch(text, shown, file, shell_env)
        fmt = "shell"
    elif fmt == "json":
        data, positions = read_json(text, shown)
    elif fmt == "toml":
        from .toml_reader import read_toml  # tomllib only for TOML configs: start-up time

        data, positions = read_toml(text, shown)
    elif fmt == "python":
        from .python_program import read_dataclass_config, read_python_program  # programs' own Trainer settings

        built = _torchtitan_recipe(text, shown, pick) or _nanotron_builder(text, shown) or _nemo2_recipe(text, shown)
        launched = read_python_program(text, shown, file) if built is None else None
        sectioned = read_dataclass_config(text, shown) if built is None and launched is None else None
        if built is not None:
            data, positions, unevaluated = built
        elif launched is not None:
            data, positions, unevaluated = launched
            fmt = "shell"
        elif sectioned is not None:  # a project's settings dataclasses: read as its sectioned YAML would be
            data, positions = sectioned
        else:
            data, positions, unevaluated = read_python(text, shown)
    elif fmt == "shell":
        from .shell_reader import read_shell  # only for launch scripts: start-up time

        data, positions, unevaluated = read_shell(text, shown, shell_env, file)
        duplicates = _repeated_flags(data)
        program = str(data.get("program") or "")
        if program == "nemo" or (program.endswith(".py") and data.get("overrides") and file is not None):
            from .nemo2_recipe import read_nemo_cli, read_recipe_launch  # a NeMo 2 recipe run from its CLI

            recipe = read_nemo_cli(data, positions) if program == "nemo" else \
                read_recipe_launch(data, positions, file.parent)  # type: ignore[union-attr]
            if recipe is not None:
                (data, positions, unevaluated), duplicates = recipe, []
    else:
        data, positions, duplicates = read_yaml(text, shown)
        if isinstance(data, dict) and isinstance(data.get("command"), str):
            from .mcli_reader import is_mcli_launch, read_mcli_launch  # MosaicML run specs: a launch script in YAML

            if is_mcli_launch(data):
                data, positions, unevaluated = read_mcli_launch(text, shown, data, positions, shell_env, file)
                fmt = "shell"
        elif isinstance(data, dict) and isinstance(data.get("run"), str):
            from .mcli_reader import is_skypilot_task, read_skypilot_task  # SkyPilot tasks: a launch in YAML

            if is_skypilot_task(data):
                data, positions, unevaluated = read_skypilot_task(text, shown, data, positions, shell_env, file)
                fmt = "shell"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise NotAConfigError(f"a config must be a mapping of keys to values, not a {_kind(data)}", shown, 1)
    suppressions = scan_suppressions(text) if fmt != "json" else []
    return Document(
        path=shown,
        format=fmt,
        data=data,
        positions=positions,
        text=text if shown_text is None else shown_text,
        suppressions=suppressions,
        unevaluated=unevaluated,
        duplicates=duplicates,
    )


def _kind(value: object) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), "value")


def _same_flag_value(dropped: Any, kept: Any) -> bool:
    """Two values of a flag that mean the same: equal, or a bare switch (`True`) and a word HfArgumentParser reads as
    true, in either order (`--bf16 --bf16 true`; `--overwrite_cache True ... --overwrite_cache`: held-out review 119,
    B 05)."""
    def true_word(value: Any) -> bool:
        return isinstance(value, str) and value.strip().lower() == "true"

    return dropped == kept or (dropped is True and true_word(kept)) or (kept is True and true_word(dropped))


def _repeated_flags(data: Any) -> list[DuplicateKey]:
    """A launch's flags given twice, as repeated keys (argparse keeps the last value, as YAML loaders do): taken out
    of the launch data, where the reader keeps them."""
    repeated = data.pop("repeated_flags", None) if isinstance(data, dict) else None
    from .yaml_reader import is_off

    return [DuplicateKey(path=(str(item["flag"]).lstrip("-"),), first_line=item["first_line"],
                         last_line=item["last_line"], same_value=_same_flag_value(item["dropped"], item["kept"]),
                         # `--evaluation_strategy no`, later `steps` (held-out review 123, B 16)
                         turned_on=is_off(item["dropped"]) and item["kept"] is not None and not is_off(item["kept"]),
                         dropped=item["dropped"])
            for item in repeated or ()]


# Keys a project's own config loader reads to stack a file on its bases (QwenMath2026's `inherit: base`, a Megatron
# fork's `inherit: [base_gpt2_345m.yaml, ...]`, mmengine's `_base_`): no trainer here reads them itself.
_INHERIT_KEYS = ("inherit", "_base_", "extends")
_BASE_SUFFIXES = ("", ".yaml", ".yml", ".json")
_MAX_INHERIT_DEPTH = 4


def with_inherited_bases(doc: Document, depth: int = 0) -> Document:
    """A YAML/JSON file that names its base files (`inherit: base`) merged over them, as the project's loader
    merges it: the bases in order, then the file, mappings key by key (held-out review 119, A 07: LoRA and bf16 in
    `base.yaml`, a DPO file read as full-model tuning). The file itself when it names none, or a base is not beside
    it: what a missing base holds is unknown, and the file is read as it is."""
    if doc.format not in ("yaml", "json") or not isinstance(doc.data, dict) or depth >= _MAX_INHERIT_DEPTH:
        return doc
    key = next((k for k in _INHERIT_KEYS if k in doc.data), None)
    if key is None:
        return doc
    names = doc.data[key] if isinstance(doc.data[key], list) else [doc.data[key]]
    if not names or not all(isinstance(name, str) and name.strip() for name in names):
        return doc
    bases = []
    folder = Path(doc.path).parent
    for name in names:
        found = next((path for suffix in _BASE_SUFFIXES if (path := folder / f"{name.strip()}{suffix}").is_file()),
                     None)
        if found is None or found.resolve() == Path(doc.path).resolve():
            return doc
        try:
            bases.append(with_inherited_bases(load_document(found), depth + 1))
        except ConfigError:
            return doc
    merged = merge_documents([*bases, doc], doc)
    merged.data.pop(key, None)
    return merged
