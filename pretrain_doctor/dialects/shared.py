"""Helpers several dialect adapters share: optimizer names, referenced files (DeepSpeed
JSON, accelerate YAML), OmegaConf-style `${...}` interpolation, durations with units.

Nothing here imports torch or transformers: `check` must stay fast.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional, Sequence

from ..config.document import UNSEEN_OPTIONS, Document, KeyPath
from ..errors import ConfigError
from ..lazyre import lazy_compile
from ..plan.builder import PlanBuilder
from ..plan.derive import SMOKE_TEST_STEPS
from ..plan.model import Source
from .base import BuildContext, lenient_bool, lenient_int, lenient_number, positive_count
from .versions import TrainerVersions

# Optimizer names as trainers spell them -> the plan's normalised family.
_FAMILIES = (
    ("adamw", "adamw"), ("fusedadam", "adamw"), ("adam", "adam"), ("lion", "lion"), ("muon", "muon"),
    ("lamb", "lamb"), ("adafactor", "adafactor"), ("soap", "soap"), ("shampoo", "shampoo"), ("sgd", "sgd"),
    ("sophia", "sophia"), ("adagrad", "adagrad"), ("rmsprop", "rmsprop"),
)

# The words configs spell a dtype with (`torch_dtype: bfloat16`, `--precision bf16`, nanotron's `dtype: bfloat16`).
DTYPE_NAMES = {"bfloat16": "bf16", "bf16": "bf16", "float16": "fp16", "fp16": "fp16", "half": "fp16",
               "float32": "fp32", "fp32": "fp32", "float": "fp32"}


def mark_smoke_test(b: Any, steps: Any, source: Callable[[str], Any], unit: str = "step") -> bool:
    """A run of at most SMOKE_TEST_STEPS steps (batches, iterations) is a smoke test: the plan's `debug`, with
    `source(note)` saying why. Whether it is one."""
    if not (isinstance(steps, int) and not isinstance(steps, bool) and 0 < steps <= SMOKE_TEST_STEPS):
        return False
    b.set("debug", True, source(f"{steps}-{unit} run: a smoke test"))
    return True


# Lightning's precision strings (Fabric and Trainer: litgpt's `precision:`, NeMo's `trainer.precision`) -> (compute,
# params, mixed).
_LIGHTNING_PRECISIONS = {"bf16-true": ("bf16", "bf16", False), "bf16-mixed": ("bf16", "fp32", True),
                         "16-true": ("fp16", "fp16", False), "16-mixed": ("fp16", "fp32", True),
                         "32-true": ("fp32", "fp32", False), "32": ("fp32", "fp32", False),
                         "transformer-engine": ("fp8", "fp32", True)}


def set_lightning_precision(b: Any, precision: Any, source: Any) -> bool:
    """Lightning's precision string (`bf16-true`, `bf16-mixed`, `16-mixed` ...) as the plan's precision, from `source`
    (a config's `precision:`, a launch script's `--precision`); whether it was one."""
    mapped = _LIGHTNING_PRECISIONS.get(str(precision).lower()) if precision is not None else None
    if mapped is None:
        return False
    compute, params, mixed = mapped
    b.set("precision.compute", compute, source)
    b.set("precision.params", params, source)
    b.set("precision.mixed", mixed, source)
    b.set("precision.bf16_enabled", compute == "bf16", source)
    b.set("precision.fp16_enabled", compute == "fp16", source)
    return True


def checkpoint_step_folder(path: Any) -> Optional[str]:
    """The last part of a `load` path that names one saved step (`global_step20000`, Megatron's `iter_0001000`), not
    the checkpoint folder that holds them with the tracker file (`latest`, `latest_checkpointed_iteration.txt`)."""
    if not isinstance(path, str):
        return None
    last = path.strip().rstrip("/").rsplit("/", 1)[-1]
    for prefix in ("global_step", "iter_"):
        if last.startswith(prefix) and last[len(prefix):].isdigit():
            return last
    return None


def mark_keeps_nothing(b: Any, never_evaluates: bool, source: Callable[[str], Any], why: str) -> None:
    """A run that writes no checkpoint (no `save` folder for GPT-NeoX or Megatron, which then write nothing) and, as
    its config says, never evaluates keeps nothing but its logs: a throughput or profiling benchmark, judged as a
    debug run (held-out reviews 70, B 06: a 200-iteration NeoX sweep; 71, B 01: Seq1F1B's profiled Megatron sweep
    with `--eval-iters 0`). `source(why)` says where, as `mark_smoke_test`'s does."""
    if b.get("checkpoint.enabled") is False and never_evaluates and not b.get("debug"):
        b.set("debug", True, source(f"{why}: a throughput or profiling benchmark, its logs its result"))


def warmup_share(fraction: Any, horizon: Any, total: Any) -> Optional[float]:
    """The share of a `total`-step run that a warmup of `fraction` × the decay `horizon` takes, as the Megatron line
    of trainers computes it: Megatron's `lr_warmup_fraction × lr_decay_steps` (in samples), old Megatron-LM's and
    GPT-NeoX's `warmup × num_iters` (AnnealingLR's warmup_iter) are floats, never rounded to whole steps, so the
    warmup is judged as that share (the fraction itself when the horizon is the run), not as a truncated step
    count (held-out review 10, B 03: 0.001 × 1,600 is 1.6 iterations, not 1). None when a length is unknown or
    the warmup outlasts the run (its steps then say so)."""
    if not (isinstance(fraction, (int, float)) and isinstance(horizon, int) and isinstance(total, int) and total > 0):
        return None
    share = fraction if horizon == total else float(f"{fraction * horizon / total:.12g}")
    return share if 0 <= share <= 1 else None


# A `datasets` split slice in rows (`train[0:100]`, `train[:500]`); percents (`train[:10%]`) say no row count.
_SPLIT_SLICE = lazy_compile(r"^[^\[\]]+\[\s*(\d*)\s*:\s*(\d+)\s*\]$")


def sliced_rows(split: object) -> Optional[int]:
    """The rows a split slice such as `train[0:100]` keeps at most (the split may hold fewer), or None."""
    found = _SPLIT_SLICE.match(str(split).strip()) if split is not None else None
    if found is None:
        return None
    rows = int(found.group(2)) - int(found.group(1) or 0)
    return rows if rows > 0 else None


def dataset_subset(entry: Any, keys: tuple[str, ...] = ("name", "data_dir", "data_files")) -> Optional[str]:
    """What of a dataset `datasets.load_dataset(path, name=, data_dir=, data_files=)` loads beyond its split,
    from a loader's mapping of those arguments (`hf_kwargs`, an axolotl dataset entry): `data_dir=/data/test/`.
    None when none is set (the dataset's default config, every file)."""
    if not isinstance(entry, dict):
        return None
    parts = [f"{key}={_canonical(entry[key])}" for key in keys if entry.get(key) not in (None, "", [], {})]
    return " ".join(parts) or None


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_canonical(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_canonical(v) for v in value) + "]"
    text = str(value)
    return text.rstrip("/") if len(text) > 1 else text


def optimizer_family(name: Any) -> Optional[str]:
    """`torch.optim.AdamW` -> adamw, `lionw` -> lion, `paged_adamw_8bit` -> adamw_8bit."""
    if not isinstance(name, str) or not name.strip():
        return None
    text = name.strip().rsplit(".", 1)[-1].lower().replace("-", "_")
    if "adamw" in text and "8bit" in text:
        return "adamw_8bit"
    compact = text.replace("_", "")
    for marker, family in _FAMILIES:
        if marker in compact:
            return family
    return compact


_ALL_LINEAR = frozenset(("all", "all-linear", "all_linear"))


def lora_target_list(value: Any) -> Optional[list[str]]:
    """LoRA's target module names from a YAML list (or LLaMA-Factory's comma-separated string), as PEFT matches
    them: a module's whole name or its dotted suffix. None for every linear layer (`all-linear`, `all`) and for a
    lone string elsewhere, which PEFT reads as a regular expression over the full module names."""
    if isinstance(value, str) and "," in value:
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        return None
    names = [v.strip() for v in value if v.strip()]
    return names if names and not _ALL_LINEAR & {n.lower() for n in names} else None


def names_optimizer(value: Any) -> bool:
    """Whether `value` names an optimizer of a known family (`adam_mini`, `AdamW`, `muon`), not some other
    algorithm (a fork's `algorithm = 'dpo'`)."""
    compact = str(value).lower().replace("_", "").replace("-", "")
    return any(marker in compact for marker, _ in _FAMILIES)


# --- OmegaConf interpolation -------------------------------------------------------
# Words in a program's, a file's or a run's name that say it fine-tunes (`finetune_lora.py`, `sft.yaml`, a torchtitan
# model `qwen3_5_hybrid_diffusion_sft`, `fine-tune` in a job's description).
FINETUNE_WORDS = lazy_compile(r"(^|[^a-z])(fine[_-]?tun\w*|finetun\w*|sft|instruct\w*)([^a-z]|$)", re.IGNORECASE)
# Preference methods other than DPO that a name gives as a word (`run_orpo.py`, `cpo_config.yaml`); DPO's `dpo` is
# taken anywhere in a name (`dpo_training.py`, `rlhf-dpo`), see `preference_named`.
PREFERENCE_VARIANTS = lazy_compile(r"(?<![a-z])(orpo|simpo|cpo|kto|ipo)(?![a-z])")


def preference_named(names: str) -> Optional[str]:
    """The preference method names (paths, program names, lower-cased) give: a variant as a word, else `dpo` anywhere;
    None when they name none."""
    found = PREFERENCE_VARIANTS.search(names)
    return found.group(1) if found else "dpo" if "dpo" in names else None


_WHOLE = lazy_compile(r"^\$\{(\.*[A-Za-z_][\w.\-]*)\}$")
_EMBEDDED = lazy_compile(r"\$\{(\.*[A-Za-z_][\w.\-]*)\}")


def resolve_interpolations(doc: Document) -> Document:
    """A copy of `doc` with `${a.b}` references to other keys of the same file resolved, and OmegaConf's relative
    ones (`${.encoder_seq_length}`: a key beside this one; each further dot one level up).

    Resolver calls (`${oc.env:X}`, `${path.choose:...}`) and references to keys the file
    lacks stay as written; the lenient number readers treat them as unknown.
    """
    if "${" not in doc.text:
        return doc
    try:
        data = _resolve_node(doc.data, doc.data, 0, ())
    except RecursionError:  # references nested too deep to be a real config: leave them unresolved
        return doc
    return dataclasses.replace(doc, data=data)


def _lookup(root: dict, dotted_key: str, parents: tuple) -> Any:
    node: Any = root
    if dotted_key.startswith("."):  # relative: `.x` in the mapping that holds the reference, `..x` one above
        up = len(dotted_key) - len(dotted_key.lstrip("."))
        if up > len(parents):
            raise KeyError(dotted_key)
        node, dotted_key = parents[-up], dotted_key[up:]
    for part in dotted_key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(dotted_key)
    return node


def _resolve_node(node: Any, root: dict, depth: int, parents: tuple) -> Any:
    if depth > 8:  # a reference cycle (`a: ${a}`): leave it unresolved
        return node
    if isinstance(node, dict):
        return {k: _resolve_node(v, root, depth, (*parents, node)) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_node(v, root, depth, (*parents, node)) for v in node]
    if not isinstance(node, str) or "${" not in node:
        return node
    whole = _WHOLE.match(node.strip())
    if whole:
        try:
            return _resolve_node(_lookup(root, whole.group(1), parents), root, depth + 1, parents)
        except KeyError:
            return node

    def substitute(match: re.Match) -> str:
        try:
            value = _resolve_node(_lookup(root, match.group(1), parents), root, depth + 1, parents)
        except KeyError:
            return match.group(0)
        return match.group(0) if isinstance(value, (dict, list)) else str(value)

    return _EMBEDDED.sub(substitute, node)


# --- durations with units ----------------------------------------------------------
_DURATION = lazy_compile(r"^\s*([0-9][0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9]+)?)\s*(ep|T|tok|tokens|steps?|ba)?\s*$")


class Duration(NamedTuple):
    value: float
    unit: str  # steps | tokens | epochs


def parse_duration(value: Any) -> Optional[Duration]:
    """OLMo/Composer durations: `1000` (steps), `"4e12T"` (tokens), `"2ep"` (epochs)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return Duration(float(value), "steps") if value > 0 else None
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    if not match:
        return None
    number = float(match.group(1).replace("_", ""))
    unit = {"ep": "epochs", "T": "tokens", "tok": "tokens", "tokens": "tokens"}.get(match.group(2) or "", "steps")
    return Duration(number, unit) if number > 0 else None


# --- files referenced by a config --------------------------------------------------
def find_referenced_file(reference: Any, doc: Document, levels: int = 4) -> Optional[Path]:
    """Where a relative path written in `doc` points: beside it, above it, or in the cwd.

    Trainers resolve such paths against the launch directory (usually the repository
    root, a few levels above the config), so the parents are tried too.
    """
    if not _is_local_path(reference):
        return None
    candidate = Path(os.path.expanduser(reference.strip()))
    if candidate.is_absolute():
        return candidate if _is_file(candidate) else None
    folder = Path(doc.path).resolve().parent
    for base in [*_workdir(doc, folder), folder, *list(folder.parents)[:levels], Path.cwd()]:
        path = base / candidate
        if _is_file(path):
            return path
    return None


def set_dotted(data: dict, path: Sequence[str], value: Any) -> None:
    """Set `a.b.c` in nested mappings as an OmegaConf dotlist override does, making (or replacing with) a mapping
    wherever a parent is missing or not one (OLMo's and Composer's `--key.sub=value` command-line overrides)."""
    for part in path[:-1]:
        node = data.get(part)
        if not isinstance(node, dict):
            node = data[part] = {}
        data = node
    data[path[-1]] = value


def shown_as(path: Path, script: Document) -> Path:
    """`path` named as `script` is (relative to the working directory when the script's name is), so that a finding
    on a file the script reads and the same file checked on its own in a folder read as one file."""
    if Path(script.path).is_absolute():
        return path
    try:
        return Path(os.path.relpath(path))
    except ValueError:  # another drive (Windows)
        return path


def _workdir(doc: Document, folder: Path) -> list[Path]:
    """The folder a launch script `cd`s into before its command (shell_reader's `workdir`), tried first: the
    program resolves the paths it is handed from there. An absolute folder counts only when it exists here."""
    workdir = doc.data.get("workdir") if doc.format == "shell" else None
    path = workdir.get("path") if isinstance(workdir, dict) else None
    if not isinstance(path, str) or path == ".":
        return []
    base = Path(path) if path.startswith("/") else folder / path
    try:
        return [base] if base.is_dir() else []
    except OSError:
        return []


def _is_local_path(reference: Any) -> bool:
    """A path written in a config that may name a local file (not a `${var}` or a URL)."""
    return isinstance(reference, str) and bool(reference.strip()) and "${" not in reference and "://" not in reference


def same_name_beside(reference: Any, doc: Document) -> Optional[Path]:
    """A file of the reference's name beside `doc`: configs are often copied out of the
    repository they were launched from together with their DeepSpeed JSON, into one folder."""
    if not _is_local_path(reference):
        return None
    name = Path(reference.strip()).name
    path = Path(doc.path).resolve().parent / name
    return path if name and _is_file(path) else None


def _is_file(path: Path) -> bool:
    """`Path.is_file` that treats an unusable name (too long, NUL byte) as "no such file"."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def load_companion(path: Path, context: BuildContext) -> Optional[Document]:
    """Load a referenced file; a broken companion is a note-worthy fact, never a crash."""
    if context.load is None:
        return None
    try:
        return context.load(path)
    except ConfigError:
        return None


# --- DeepSpeed JSON referenced by an HF-style (hf, axolotl) config --------------------
def _parses_as_json(text: str) -> bool:
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# transformers 4.6 (2021-05) fills a DeepSpeed JSON's "auto" values from the Trainer's arguments and only those;
# before it, init_deepspeed kept the JSON's optimizer as written and set `gradient_clipping` where it was missing.
TRANSFORMERS_AUTO_CONFIG = (4, 6)


def merge_deepspeed_reference(b: PlanBuilder, doc: Document, context: BuildContext,
                              key: str | KeyPath = "deepspeed") -> Optional[tuple[Document, KeyPath]]:
    """Merge the facts of the DeepSpeed JSON that `doc[key]` names; return where it was read (the document
    and the key path of the JSON in it: `()` for a file of its own, `(key,)` inline), None if it was not.

    With DeepSpeed, the HF Trainer hands clipping to DeepSpeed: if the JSON has no
    `gradient_clipping`, `max_grad_norm` silently does nothing (axolotl#1381), which is
    recorded as `clipping.ignored_by` for PD206; explicit precisions go to
    `precision.declared_by` for PD303.
    """
    where: KeyPath = key if isinstance(key, tuple) else (key,)
    reference = doc.get(where)
    if isinstance(reference, dict):  # inline DeepSpeed config
        ds_doc, ds_data = doc, reference
        prefix: KeyPath = where
    else:
        by_name = None
        if reference is None and isinstance(key, str):
            # a path the launch sets at launch time (`$LF_DIR/examples/deepspeed/ds_z3_config.json`, LF_DIR a template's
            # placeholder): its file name beside the script is the one it names (held-out review 65, A 22)
            unevaluated = doc.unevaluated.get(f"--{key}") or doc.unevaluated.get(key)
            by_name = same_name_beside(unevaluated, doc) if unevaluated and unevaluated.endswith(".json") else None
            reference = unevaluated if by_name is not None else None
        if not isinstance(reference, str):
            return None
        path = None if by_name is not None else find_referenced_file(reference, doc)
        if path is None:
            path = by_name or same_name_beside(reference, doc)
            if path is None:
                b.note("other", f"DeepSpeed config `{reference}` not found beside the config or in the working "
                       "directory; its settings are not checked", b.source(doc, where), code="deepspeed-not-found")
                return None
            b.note("other", f"DeepSpeed config `{reference}` not found where it points; read `{path.name}` "
                   "beside the config instead", b.source(doc, where), code="deepspeed-by-name")
        loaded = load_companion(path, context)
        if loaded is None or not isinstance(loaded.data, dict):
            return None
        if loaded.format != "json" and not _parses_as_json(loaded.text):
            # transformers' HfDeepSpeedConfig opens a path with json.load (held-out review 49, A 16: axolotl's
            # `deepspeed: configs/zero2.yaml`, an accelerate launcher YAML): the run stops before training
            what = "an accelerate launcher config" if is_accelerate_config(loaded.data) else "YAML"
            b.note("ignored-key", f"`{'.'.join(map(str, where))}` names `{reference}`, {what}, not a DeepSpeed JSON: "
                   "transformers reads the file with json.load and stops at start-up (JSONDecodeError)",
                   b.source(doc, where), hint="name a DeepSpeed JSON (`deepspeed_configs/zero2.json`); an accelerate "
                   "YAML goes to `accelerate launch --config_file`", key=".".join(map(str, where)), severity="error")
            return None
        ds_doc, ds_data, prefix = loaded, loaded.data, ()
        b.documents.append(loaded)
        b.set("parallel.deepspeed_config", str(path), b.source(doc, where))
    stage = lenient_int(ds_data.get("zero_optimization", {}).get("stage")) if isinstance(
        ds_data.get("zero_optimization"), dict) else None
    if isinstance(stage, int):
        b.set("parallel.zero_stage", stage, b.source(ds_doc, prefix + ("zero_optimization", "stage")))
    if _offloads(ds_data):
        b.set("parallel.cpu_offload", True, b.source(ds_doc, prefix + ("zero_optimization",)))
    _deepspeed_scheduler(b, doc, ds_doc, ds_data, prefix)
    _deepspeed_optimizer(b, ds_doc, ds_data, prefix)
    deepspeed_default_peak(b, ds_doc, ds_data.get("scheduler"), prefix, context.trainer_versions)
    transformers = context.trainer_versions.get("transformers")
    if "gradient_clipping" not in ds_data and (transformers is None or transformers.at_least(TRANSFORMERS_AUTO_CONFIG)):
        # PD206 reads this: the JSON owns clipping and DeepSpeed's default is no clipping. (transformers before 4.6
        # wrote `max_grad_norm` into a JSON without the key: held-out review 112, A 05.)
        b.set("clipping.ignored_by", "deepspeed", b.source(ds_doc, prefix, note="no gradient_clipping"))
    _declare_deepspeed_precision(b, ds_doc, ds_data, prefix)
    _deepspeed_loss_scaling(b, ds_doc, ds_data, prefix)
    precision_block_not_an_object(b, ds_doc, ds_data, prefix)
    return ds_doc, prefix


def precision_block_not_an_object(b: PlanBuilder, ds_doc: Document, ds_data: dict, prefix: KeyPath = ()) -> None:
    """`"bf16": true` where DeepSpeed reads a block (`{"enabled": true}`): its config parser takes the setting's
    `enabled` with `.get`, and stops on a bare value (deepspeed/runtime/config.py get_bfloat16_enabled /
    get_fp16_enabled: `'bool' object has no attribute 'get'`) (held-out review 118, A 21)."""
    for key in ("fp16", "bf16", "bfloat16"):
        value = ds_data.get(key, {})
        if isinstance(value, dict) or value is None:
            continue
        shown = str(value).lower() if isinstance(value, bool) else value  # as the JSON writes it
        b.note("ignored-key", f"`\"{key}\": {shown}` is no block: DeepSpeed reads `{key}` as an object "
               f"(`{{\"enabled\": true}}`) and its config parser stops on a bare value ('bool' object has no "
               "attribute 'get') before training",
               b.source(ds_doc, prefix + (key,)), key=key, severity="error",
               hint=f"write `\"{key}\": {{\"enabled\": {shown if isinstance(value, bool) else 'true'}}}`")


# The peak WarmupLR and WarmupDecayLR warm up to when `warmup_max_lr` is left out (deepspeed/runtime/lr_schedules.py):
# their __init__ default, which overwrites the optimizer's lr at the first step. WarmupLR keeps the optimizer's lr
# instead from 0.17.2 on (22cf1a440, #7360, June 2025); WarmupDecayLR passes its own 0.001 at every release.
DEEPSPEED_DEFAULT_PEAK = 0.001
_WARMUPLR_INHERITS_LR = (0, 17, 2)


def deepspeed_default_peak(b: PlanBuilder, ds_doc: Document, block: Any, prefix: KeyPath,
                           versions: TrainerVersions) -> None:
    """A DeepSpeed WarmupLR/WarmupDecayLR with no `warmup_max_lr` runs at DeepSpeed's 0.001, not the optimizer's lr
    (an HF Trainer fills only an `auto` value, never an absent one: HfTrainerDeepSpeedConfig.fill_match): the plan's
    lr becomes 0.001 and a warning says what was lost; for WarmupLR with no DeepSpeed version judged, a warning
    says which releases do it and the plan keeps the optimizer's lr."""
    if not isinstance(block, dict) or block.get("type") not in ("WarmupLR", "WarmupDecayLR"):
        return
    params = block.get("params") if isinstance(block.get("params"), dict) else {}
    if "warmup_max_lr" in params:
        return
    name, judged = block["type"], versions.get("deepspeed")
    if name == "WarmupLR" and judged is not None and judged.at_least(_WARMUPLR_INHERITS_LR):
        return
    lr, lr_source = b.get("optimizer.lr"), b.sources.get("optimizer.lr")
    if isinstance(lr, (int, float)) and math.isclose(lr, DEEPSPEED_DEFAULT_PEAK):
        return
    path = prefix + ("scheduler", "params" if "params" in block else "type")
    where = b.source(ds_doc, path)
    shown = f"the optimizer's lr ({lr:g})" if isinstance(lr, (int, float)) else "the optimizer's lr"
    if name == "WarmupLR" and judged is None:
        releases, consequence = "before 0.17.2 (June 2025)", f"; 0.17.2 and later keep {shown}"
    else:
        releases, consequence = (f"at {judged.describe()}" if judged else "at every release"), ""
        b.set("optimizer.lr", DEEPSPEED_DEFAULT_PEAK, b.source(
            ds_doc, path, note=f"DeepSpeed's {name} default `warmup_max_lr`, which overwrites the optimizer's lr"))
    b.note("ignored-key", f"`scheduler.params` sets no `warmup_max_lr`: DeepSpeed's {name} ({releases}) warms up to "
           f"its default of 0.001 and overwrites {shown} at the first step{consequence}", where,
           hint="set `warmup_max_lr` to the peak lr you mean (`auto` under the HF Trainer)",
           key=lr_source.key if lr_source is not None and lr_source.key else "warmup_max_lr", severity="warning")


# DeepSpeed's schedulers (deepspeed/runtime/lr_schedules.py) as the plan names schedules.
_DEEPSPEED_SCHEDULES = {"WarmupLR": "constant_with_warmup", "WarmupDecayLR": "linear", "WarmupCosineLR": "cosine",
                        "OneCycle": "one_cycle", "LRRangeTest": "lr_range_test"}


# The keyword arguments each DeepSpeed scheduler's __init__ takes (deepspeed/runtime/lr_schedules.py; unchanged
# since WarmupCosineLR came in 4388a605f, Nov 2023). The engine builds it as `scheduler(optimizer, **params)`.
_DEEPSPEED_SCHEDULER_PARAMS = {
    "WarmupLR": ("warmup_min_lr", "warmup_max_lr", "warmup_num_steps", "warmup_type", "last_batch_iteration"),
    "WarmupDecayLR": ("total_num_steps", "warmup_min_lr", "warmup_max_lr", "warmup_num_steps", "warmup_type",
                      "last_batch_iteration"),
    "WarmupCosineLR": ("total_num_steps", "warmup_min_ratio", "warmup_num_steps", "cos_min_ratio", "warmup_type",
                       "last_batch_iteration"),
    "LRRangeTest": ("lr_range_test_min_lr", "lr_range_test_step_size", "lr_range_test_step_rate",
                    "lr_range_test_staircase", "last_batch_iteration"),
    "OneCycle": ("cycle_min_lr", "cycle_max_lr", "decay_lr_rate", "cycle_first_step_size", "cycle_second_step_size",
                 "cycle_first_stair_count", "cycle_second_stair_count", "decay_step_size", "cycle_momentum",
                 "cycle_min_mom", "cycle_max_mom", "decay_mom_rate", "last_batch_iteration"),
}


def deepspeed_scheduler_rejected(b: PlanBuilder, ds_doc: Document, block: Any, prefix: KeyPath = ()) -> bool:
    """Whether DeepSpeed refuses the JSON's `scheduler` block at start-up: a `params` key its scheduler's
    __init__ does not take (`WarmupCosineLR` with WarmupDecayLR's `warmup_min_lr`/`warmup_max_lr`), or one it
    requires left out (WarmupDecayLR's `total_num_steps`: transformers fills only a key written "auto"), is a
    TypeError when the engine builds it. Reported once (an error), and the plan keeps no schedule from it."""
    if not isinstance(block, dict):
        return False
    params = block.get("params", {})
    name = block.get("type")
    accepted = _DEEPSPEED_SCHEDULER_PARAMS.get(name) if isinstance(name, str) else None
    if not isinstance(params, dict) or not accepted:
        return False
    rejected = [key for key in params if isinstance(key, str) and key not in accepted]
    missing = [key for key in _DEEPSPEED_SCHEDULER_REQUIRED.get(name, ()) if key not in params]
    if not rejected and not missing:
        return False
    for field in ("schedule.kind", "schedule.warmup_steps", "schedule.warmup_ratio", "schedule.decay_steps",
                  "schedule.min_lr"):
        b.values.pop(field, None)
        b.sources.pop(field, None)
    stops = f"DeepSpeed's {name} refuses `{rejected[0]}`" if rejected else f"DeepSpeed's {name} needs `{missing[0]}`"
    b.unknown("schedule.kind", f"{stops}: the run stops before training")
    b.unknown("schedule.warmup_steps", f"{stops}: the run stops before training")  # nor is no warmup (review 53, A 17)
    if any(note.data.get("scheduler_rejects") for note in b.notes):
        return True
    if rejected:
        shown = ", ".join(f"`{key}`" for key in rejected)
        b.note("ignored-key", f"`scheduler.params` {shown}: DeepSpeed's {name} takes only {', '.join(accepted)}; "
               f"the engine builds it as {name}(optimizer, **params), so the run stops at start-up with a TypeError "
               "(unexpected keyword argument)", b.source(ds_doc, prefix + ("scheduler", "params", rejected[0])),
               hint=_SCHEDULER_HINTS.get(name, f"keep only the parameters {name} takes"), key=rejected[0],
               keys=rejected, severity="error", scheduler_rejects=True)
        return True
    shown = ", ".join(f"`{key}`" for key in missing)
    where = prefix + (("scheduler", "params") if "params" in block else ("scheduler",))
    # (held-out review 69, A 25: WarmupDecayLR with warmup settings and no `total_num_steps`)
    b.note("ignored-key", f"`scheduler.params` lacks {shown}, which DeepSpeed's {name} requires: the engine builds it "
           f"as {name}(optimizer, **params), so the run stops at start-up with a TypeError (missing argument); "
           "transformers fills only a key written \"auto\"", b.source(ds_doc, where),
           hint=f"add `\"{missing[0]}\": \"auto\"` (the Trainer's step count) or the number", key=missing[0],
           keys=missing, severity="error", scheduler_rejects=True)
    return True


# The parameters each scheduler's __init__ has no default for (deepspeed/runtime/lr_schedules.py, every release).
_DEEPSPEED_SCHEDULER_REQUIRED = {"WarmupDecayLR": ("total_num_steps",), "WarmupCosineLR": ("total_num_steps",),
                                 "OneCycle": ("cycle_min_lr", "cycle_max_lr")}


_SCHEDULER_HINTS = {"WarmupCosineLR": "WarmupCosineLR scales the optimizer's lr: give `warmup_min_ratio` and "
                    "`cos_min_ratio` (fractions of the lr), or use WarmupDecayLR for `warmup_min_lr`/`warmup_max_lr`"}


_WARMUP_LR_LEAST_STEPS = 2  # deepspeed/runtime/lr_schedules.py WarmupLR: `max(2, warmup_num_steps)`


def _deepspeed_scheduler(b: PlanBuilder, doc: Document, ds_doc: Document, ds_data: dict, prefix: KeyPath) -> None:
    """A `scheduler` block in the DeepSpeed JSON replaces the Trainer's: transformers' deepspeed_optim_sched
    builds no scheduler of its own then, so `lr_scheduler_type` is ignored (WarmupLR warms up and holds
    the peak lr). Its `auto` values are the Trainer's warmup, lr and steps; a number is DeepSpeed's own."""
    block = ds_data.get("scheduler")
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return
    if deepspeed_scheduler_rejected(b, ds_doc, block, prefix):
        return
    name = block["type"]
    kind = _DEEPSPEED_SCHEDULES.get(name, name.lower())
    source = b.source(ds_doc, prefix + ("scheduler", "type"))
    chosen = b.get("schedule.kind")
    b.set("schedule.kind", kind, source)
    params = block.get("params") if isinstance(block.get("params"), dict) else {}
    if b.dialect in _HF_TRAINER_DIALECTS and ds_doc is not doc:
        _numbers_the_trainer_must_match(b, doc, ds_doc, params, prefix)
    warmup = lenient_int(params.get("warmup_num_steps"))
    if isinstance(warmup, int):
        b.set("schedule.warmup_steps", warmup, b.source(ds_doc, prefix + ("scheduler", "params", "warmup_num_steps")))
        b.set("schedule.warmup_ratio", 0.0, b.source(ds_doc, prefix + ("scheduler", "params", "warmup_num_steps")))
    if doc.has("lr_scheduler_type") and ds_doc is not doc and chosen != kind:
        # a constant lr under WarmupLR with no warmup to give (`auto`: the Trainer's 0) is the same constant after
        # WarmupLR's own 2 steps at least (held-out review 68, A 16: `constant`, `warmup_steps 0`)
        steps = warmup if isinstance(warmup, int) else b.get("schedule.warmup_steps")
        alike = chosen == "constant" and kind == "constant_with_warmup" and (steps or 0) <= _WARMUP_LR_LEAST_STEPS \
            and not b.get("schedule.warmup_ratio")
        # both decaying over the run (cosine asked, WarmupDecayLR's linear run): only the curve's shape differs
        # (held-out review 115, A 08: a one-epoch fine-tune warned); a decay that never comes stays a warning
        shape = chosen in _DECAYING and kind in _DECAYING
        b.note("ignored-key", f"`lr_scheduler_type` {chosen} is ignored: the DeepSpeed config's scheduler ({name}) "
               f"replaces the Trainer's, so the run follows {kind}"
               + (f", here a constant lr after a warmup of {_WARMUP_LR_LEAST_STEPS} steps (WarmupLR's least): all "
                  "but the same" if alike else "; both decay over the run, only the curve's shape differs" if shape
                  else ""), b.source(doc, ("lr_scheduler_type",)),
               hint="remove the `scheduler` block from the DeepSpeed JSON to use `lr_scheduler_type`, or set the "
                    "schedule there", key="lr_scheduler_type", **({"severity": "info"} if alike or shape else {}))


# Trainers that hand the DeepSpeed JSON to transformers' HfTrainerDeepSpeedConfig (the Trainer's integration).
_HF_TRAINER_DIALECTS = frozenset({"hf", "llamafactory", "axolotl", "swift"})


def _numbers_the_trainer_must_match(b: PlanBuilder, doc: Document, ds_doc: Document, params: dict,
                                    prefix: KeyPath) -> None:
    """The scheduler's step counts written as numbers: transformers' trainer_config_finalize fill_match()es them
    against the steps and warmup it computes (`num_training_steps`, `args.get_warmup_steps(...)`) and raises ValueError
    ("Please correct the following DeepSpeed config values that mismatch TrainingArguments") on any difference, before
    training (held-out review 124, A 05: `total_num_steps: 10000` under an epoch-counted run, said to be a decay
    horizon). An error where the Trainer's count is known and differs; a warning where the run's length is the data's."""
    steps = lenient_int(params.get("total_num_steps"))
    if isinstance(steps, int) and not isinstance(params.get("total_num_steps"), bool):
        trainer_steps = lenient_int(doc.get("max_steps"))
        known = isinstance(trainer_steps, int) and trainer_steps > 0
        if not (known and trainer_steps == steps):
            where = prefix + ("scheduler", "params", "total_num_steps")
            said = (f"the Trainer's {trainer_steps:,} (`max_steps`)" if known else
                    "the optimizer steps the Trainer computes from the data, which the config does not fix")
            b.note("ignored-key", f"`scheduler.params.total_num_steps: {steps}` is a number, and transformers requires "
                   f"it to equal {said}: trainer_config_finalize raises ValueError on a mismatch, so the run stops at "
                   "start-up" + ("" if known else " unless the two happen to agree"), b.source(ds_doc, where),
                   hint='write `"total_num_steps": "auto"` (the Trainer fills its own count)',
                   key="total_num_steps", severity="error" if known else "warning")
    warmup = lenient_int(params.get("warmup_num_steps"))
    hf_warmup = lenient_int(doc.get("warmup_steps", 0))
    ratio = lenient_number(doc.get("warmup_ratio", 0))
    if b.dialect in ("hf", "llamafactory") and isinstance(warmup, int) and isinstance(hf_warmup, int) \
            and (hf_warmup > 0 or not ratio) and max(1, warmup) != max(1, hf_warmup):
        # (axolotl and ms-swift default a warmup of their own; transformers 4.57 on compares `max(1, warmup)`)
        # get_warmup_steps: `warmup_steps` when positive, else ceil(ratio × steps); 0 with neither
        where = prefix + ("scheduler", "params", "warmup_num_steps")
        b.note("ignored-key", f"`scheduler.params.warmup_num_steps: {warmup}` is a number, and transformers requires it "
               f"to equal the Trainer's warmup, {hf_warmup} (`warmup_steps`{'' if doc.has('warmup_steps') else ', its default'}): "
               "trainer_config_finalize raises ValueError on the mismatch, so the run stops at start-up",
               b.source(ds_doc, where), hint='write `"warmup_num_steps": "auto"` and set `warmup_steps` on the Trainer',
               key="warmup_num_steps", severity="error")
    elif b.dialect in ("hf", "llamafactory") and isinstance(warmup, int) and hf_warmup == 0 \
            and isinstance(ratio, (int, float)) and ratio > 0:
        _ratio_against_fixed_warmup(b, doc, ds_doc, warmup, ratio, prefix + ("scheduler", "params", "warmup_num_steps"))


def _ratio_against_fixed_warmup(b: PlanBuilder, doc: Document, ds_doc: Document, warmup: int, ratio: float,
                                where: KeyPath) -> None:
    """A fixed `warmup_num_steps` beside the Trainer's `warmup_ratio`: transformers compares it with
    ceil(ratio × steps) and stops on a mismatch (held-out review 130, B 06: 2,500 against `--warmup_ratio 0.01`). An
    error where `max_steps` fixes the Trainer's count, a warning where the data's size decides it."""
    steps = lenient_int(doc.get("max_steps"))
    expected = math.ceil(ratio * steps) if isinstance(steps, int) and steps > 0 else None
    if expected is not None and max(1, expected) == max(1, warmup):
        return
    said = (f"{expected} (ceil({ratio:g} × max_steps {steps:,}))" if expected is not None else
            f"ceil({ratio:g} × the optimizer steps the Trainer computes from the data)")
    b.note("ignored-key", f"`scheduler.params.warmup_num_steps: {warmup}` is a number, and transformers requires it to "
           f"equal the Trainer's warmup, {said} (`warmup_ratio`): trainer_config_finalize raises ValueError on the "
           "mismatch, so the run stops at start-up" + ("" if expected is not None else " unless the two happen to agree"),
           b.source(ds_doc, where), hint='write `"warmup_num_steps": "auto"` (the Trainer fills its own warmup)',
           key="warmup_num_steps", severity="error" if expected is not None else "warning")


# Schedules that decay the lr over the whole run (to a floor or to 0).
_DECAYING = frozenset({"linear", "cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "polynomial"})


def _deepspeed_optimizer(b: PlanBuilder, ds_doc: Document, ds_data: dict, prefix: KeyPath) -> None:
    """An `optimizer` block in the DeepSpeed JSON is the optimizer that trains: transformers' deepspeed_optim_sched
    hands it to DeepSpeed and builds no `optim` of its own (held-out review 49, A 04: Firefly's `adamw_hf` beside a
    DeepSpeed `Adam`). DeepSpeed's Adam (FusedAdam, DeepSpeedCPUAdam under offload) is AdamW unless `adam_w_mode`
    is off; its `auto` parameters are the Trainer's."""
    block = ds_data.get("optimizer")
    if not isinstance(block, dict) or not isinstance(block.get("type"), str) or not block["type"].strip():
        return
    name = block["type"].strip()
    source = b.source(ds_doc, prefix + ("optimizer", "type"))
    b.set("optimizer.name", f"DeepSpeed {name}", source)
    params = block.get("params") if isinstance(block.get("params"), dict) else {}
    if name.lower() in ("adam", "adamw"):
        decoupled = name.lower() == "adamw" or lenient_bool(params.get("adam_w_mode", True)) is not False
        b.set("optimizer.family", "adamw" if decoupled else "adam", source)


def _offloads(ds_data: dict) -> bool:
    zero = ds_data.get("zero_optimization")
    if not isinstance(zero, dict):
        return False
    for key in ("offload_optimizer", "offload_param"):
        block = zero.get(key)
        if isinstance(block, dict) and str(block.get("device", "none")).lower() not in ("none", ""):
            return True
    return bool(lenient_bool(zero.get("cpu_offload")))


def assume(b: PlanBuilder, doc: Document, field: str, what: str, key: KeyPath, why: str) -> None:
    """`field` is only assumed (`what`): a launched program's own code, or a fork's own key (`key`), may decide
    it; rules whose premises include it say less (plan/reading.py `soften`)."""
    b.assume(field, what, b.source(doc, key, note=why))


def declare_precision(b: PlanBuilder, component: str, value: str, source: Source | None) -> None:
    """Record the precision one component of the run asks for (PD303 compares them).

    The trainer's own choice is recorded alongside, so that a disagreement is visible, unless it is only
    assumed: a launched program may set bf16/fp16 in its own code (`program.assumed`, dialects/hf.py).
    """
    compute = b.get("precision.compute")
    guessed = "precision.compute" in (b.get("program.assumed") or {})
    if compute and not guessed and not b.has("precision.declared_by.trainer"):
        b.set("precision.declared_by.trainer", compute, b.sources.get("precision.compute"))
    b.set(f"precision.declared_by.{component}", value, source)


def _declare_deepspeed_precision(b: PlanBuilder, ds_doc: Document, ds_data: dict, prefix: KeyPath) -> None:
    """An explicit `"enabled": true` in the JSON's fp16/bf16 block (`"auto"` follows the trainer)."""
    for dtype in ("fp16", "bf16"):
        block = ds_data.get(dtype)
        if isinstance(block, dict) and lenient_bool(block.get("enabled")) is True:
            declare_precision(b, "deepspeed", dtype, b.source(ds_doc, prefix + (dtype, "enabled")))
            return


# The fp16 block's loss-scaling settings (DeepSpeed's config reference; PD304 judges them when the run is fp16).
_DEEPSPEED_LOSS_SCALING = (("precision.loss_scale", "loss_scale", lenient_number),
                           ("precision.initial_scale_power", "initial_scale_power", lenient_int),
                           ("precision.min_loss_scale", "min_loss_scale", lenient_number))


def _deepspeed_loss_scaling(b: PlanBuilder, ds_doc: Document, ds_data: dict, prefix: KeyPath) -> None:
    """Under DeepSpeed its engine scales the fp16 loss, as the JSON's fp16 block says (HF fills in only
    `"enabled": "auto"`, from `--fp16`): a static `loss_scale` there is the run's (held-out review 13 A 14)."""
    block = ds_data.get("fp16")
    if not isinstance(block, dict) or lenient_bool(block.get("enabled")) is False:
        return
    for field, key, convert in _DEEPSPEED_LOSS_SCALING:
        b.take(field, ds_doc, prefix + ("fp16", key), convert)


# --- accelerate launcher config --------------------------------------------------------
def is_accelerate_config(data: dict) -> bool:
    return "compute_environment" in data and ("num_processes" in data or "distributed_type" in data)


def apply_accelerate(b: PlanBuilder, doc: Document, context: BuildContext, script: Optional[Document] = None) -> None:
    """World size and distribution from `--accelerate-config`, the YAML a launch script's `accelerate launch
    --config_file` names, or the one accelerate YAML beside the config; then the launch's own flags over it."""
    launcher = accelerate_launcher(script)
    named = _launcher_config_file(launcher, script, context) if launcher is not None else None
    # a launch that names its YAML reads that one alone, found or not
    names_one = launcher is not None and isinstance(launcher.get("config_file"), str)
    path = context.accelerate_config or named or (None if names_one else _accelerate_beside(doc, script))
    if names_one and named is None and script is not None and not context.accelerate_config:
        message, twin = _unfound_launch_config(launcher["config_file"], script)
        if twin is None:
            context.notices.append(message)
        else:  # a `.yaml`/`.yml` slip: the launch stops before training (held-out review 49, A 17)
            b.note("ignored-key", message, b.source(script, ("launcher", "config_file")), key="launcher.config_file",
                   severity="error", hint=f"`--config_file {twin}`")
    acc = load_companion(Path(path), context) if path is not None else None
    if acc is not None and is_accelerate_config(acc.data):
        _accelerate_yaml(b, acc, context, named=path == named)
    if launcher is not None and script is not None:
        _accelerate_flags(b, script, launcher, context)


def accelerate_launcher(script: Optional[Document]) -> Optional[dict]:
    launcher = script.data.get("launcher") if script is not None and script.format == "shell" else None
    if not isinstance(launcher, dict):
        return None
    if launcher.get("name") in ("accelerate", "accelerate.commands.launch"):  # `python -m accelerate.commands.launch`
        return launcher
    # `srun ... bash -c "accelerate launch --config_file X --num_processes N ..."`: the reader keeps the outer
    # launcher's name with the flags of both; `--config_file` with a process count is accelerate's, not Slurm's
    # (held-out review 39, A 13: LumiOpen's multi-node handbook launch)
    if launcher.get("name") in ("srun", "mpirun") and "config_file" in launcher and (
            "num_processes" in launcher or "num_machines" in launcher):
        return launcher
    return None


def _launcher_config_file(launcher: dict, script: Document, context: BuildContext) -> Optional[Path]:
    """Where `--config_file` points, or a file of its name beside the script (a cluster's absolute path, the
    YAML copied along with the script: the report says it was read so)."""
    reference = launcher.get("config_file")
    if not isinstance(reference, str):
        return None
    found = find_referenced_file(reference, script)
    if found is None and (found := same_name_beside(reference, script)) is not None:
        context.notices.append(f"`accelerate launch --config_file {reference}` is not found where it points; "
                               f"read {found} beside the script instead")
    return found


def _unfound_launch_config(reference: str, script: Document) -> tuple[str, Optional[str]]:
    """What the report says of an `accelerate launch --config_file` not found, and the name of a file of the other
    YAML extension where there is one (`.yml` for `.yaml`, a typo accelerate stops on with FileNotFoundError); else
    that its settings are unknown."""
    stem, suffix = os.path.splitext(reference.strip())
    other = {".yaml": ".yml", ".yml": ".yaml"}.get(suffix.lower())
    twin = find_referenced_file(stem + other, script) if other else None
    said = f"`accelerate launch --config_file {reference}`: no such file"
    if twin is not None:
        return (f"{said}, but {stem + other} is there; accelerate stops with FileNotFoundError on the name as "
                "written", stem + other)
    return (f"{said} beside the script, up its folders or in the working directory; the world size and "
            "distribution it sets are unknown", None)


def _accelerate_flags(b: PlanBuilder, script: Document, launcher: dict, context: BuildContext) -> None:
    """`accelerate launch --num_processes 3 --mixed_precision bf16 ...`: the launch's flags beat its config file
    (accelerate's launch_command fills only the arguments not given). `--num_processes` is the total over all
    machines."""
    processes = lenient_int(launcher.get("num_processes"))
    if context.world_size is None and isinstance(processes, int) and processes > 0:
        b.set("parallel.world_size", processes, b.source(script, ("launcher", "num_processes"),
                                                          note="accelerate launch --num_processes"))
    elif context.world_size is None and "num_processes" in launcher and launcher["num_processes"] is None:
        # `--num_processes=${N_GPU}` counted at launch: the config file's count is not the run's (held-out review 120,
        # A 10: zero2.yaml's 8 over a launch on the one GPU of CUDA_VISIBLE_DEVICES)
        b.discard("parallel.world_size")
        b.unknown("parallel.world_size", "the launch-time value of `accelerate launch --num_processes`")
    mixed = str(launcher.get("mixed_precision", "")).lower()
    if mixed in ("fp16", "bf16"):
        _accelerate_precision(b, mixed, b.source(script, ("launcher", "mixed_precision")))
    stage = lenient_int(launcher.get("zero_stage"))
    if isinstance(stage, int) and not b.has("parallel.zero_stage"):
        b.set("parallel.zero_stage", stage, b.source(script, ("launcher", "zero_stage")))
    if lenient_bool(launcher.get("use_fsdp")):
        b.set("parallel.fsdp", True, b.source(script, ("launcher", "use_fsdp")))
    _unknown_launch_options(b, script, launcher)


def _unknown_launch_options(b: PlanBuilder, script: Document, launcher: dict) -> None:
    """An option before the program that `accelerate launch` does not have (held-out review 74, A 03: STAR-1's
    `--train_bsz_per_gpu 1` ahead of `sft.py`): its parser (allow_abbrev off since 0.22) stops with "unrecognized
    arguments" before any process starts; one finding, at the first such option. A prefix of an option is left alone
    (older releases took those)."""
    if launcher.get("name") not in ("accelerate", "accelerate.commands.launch"):
        return
    from .accelerate_flags import ACCELERATE_LAUNCH_OPTIONS  # only here: a launch script's accelerate line

    for key in launcher:
        if key in ("name", UNSEEN_OPTIONS) or not isinstance(key, str) or key in ACCELERATE_LAUNCH_OPTIONS or any(
                option.startswith(key) for option in ACCELERATE_LAUNCH_OPTIONS):
            continue
        b.note("ignored-key", f"`--{key}` comes before the program, where `accelerate launch` reads it as its own "
               "option, and it has none of that name: the launch stops (\"unrecognized arguments\") before training",
               b.source(script, ("launcher", key)), key=f"launcher.{key}", severity="error",
               hint=f"move `--{key}` after the program's name, among the program's own arguments")
        return


# Dialects whose run is an HF Trainer: TrainingArguments overrides ACCELERATE_MIXED_PRECISION only with fp16/bf16 on.
_HF_TRAINER_DIALECTS = ("hf", "llamafactory", "axolotl")


# A TRL config that sets neither bf16 nor fp16, its release not known: TRL from 0.19 turns bf16 on itself.
TRL_PRECISION_BY_RELEASE = ("TRL trains in bf16 when neither bf16 nor fp16 is set from 0.19 on, in fp32 before; which "
                            "TRL runs it is not known (`--trainer-version trl=VER` decides)")


def _accelerate_precision_under_trl(b: PlanBuilder, mixed: str, source: Optional[Source], plugin_json: bool) -> None:
    """accelerate's mixed precision under a TRL config whose own default depends on its release: before 0.19 the
    Trainer leaves ACCELERATE_MIXED_PRECISION as it is, from 0.19 its bf16 overwrites it. Under DDP, bf16 runs either
    way; DeepSpeed's plugin config is matched against the Trainer's flags, which refuses the older releases only
    (nothing said where a launched program not at hand may set the precision itself). An info: the release is not
    known, and every TRL since June 2025 turns bf16 on (held-out review 127, A 01: a gpt-oss recipe pinning
    trl>=0.21, judged wrong as a warning)."""
    if plugin_json and "precision.compute" not in (b.get("program.assumed") or {}):
        b.note("other", f"accelerate's DeepSpeed plugin enables {mixed} (`mixed_precision: {mixed}`) and the TRL config "
               f"sets neither bf16 nor fp16: before TRL 0.19 the Trainer's `{mixed}` is off and transformers refuses "
               f"the mismatch at start-up (ValueError: ds {mixed}.enabled=True vs hf {mixed}|{mixed}_full_eval=False); "
               "from 0.19 the config turns bf16 on itself", source,
               hint=f"set `{mixed}: true` in the training config", code="PD303", severity="info")
    elif mixed == "bf16" and not plugin_json:
        where = source.model_copy(update={"note": "accelerate's mixed_precision; a TRL config from 0.19 turns bf16 on "
                                                  "itself, an older one leaves accelerate's"}) if source else None
        b.set("precision.compute", "bf16", where)
        b.set("precision.mixed", True, where)


def _mostly_not_hf(doc: Document) -> bool:
    """A file most of whose top-level keys are no TrainingArguments/TRL key: a project's own config (a Hydra YAML its
    main.py maps onto TrainingArguments), read as HF only as a guess."""
    from .hf_keys import HF_ALL_KEYS  # only where an accelerate DeepSpeed plugin meets an unset precision flag

    if doc.format not in ("yaml", "json", "toml") or not isinstance(doc.data, dict):
        return False  # a launch's flags are the program's own arguments beside TrainingArguments': no evidence
    keys = [key for key in doc.data if isinstance(key, str)]
    return len(keys) >= 3 and sum(key in HF_ALL_KEYS for key in keys) < 0.8 * len(keys)


def _accelerate_precision(b: PlanBuilder, mixed: str, source: Optional[Source], plugin_json: bool = False,
                          launch_omits: Optional[Callable[[], bool]] = None) -> None:
    """accelerate's mixed precision (`accelerate launch` exports ACCELERATE_MIXED_PRECISION): an HF Trainer whose
    arguments turn neither fp16 nor bf16 on leaves it, and its Accelerator autocasts to it (held-out review 40, A 03:
    accelerate bf16 beside `bf16: false` is a bf16 mixed-precision run, no conflict); otherwise the two declarations
    are compared (PD303). `launch_omits`: for an accelerate config only found beside the training config, whether a
    launch script there runs its program without that config (`_launch_beside_omits`), asked only where it matters."""
    compute = b.get("precision.compute")
    if TRL_PRECISION_BY_RELEASE in (b.unknowns.get("precision.compute"), b.unknowns.get("precision.bf16_enabled")):
        _accelerate_precision_under_trl(b, mixed, source, plugin_json)
        return
    if b.dialect in _HF_TRAINER_DIALECTS and "precision.compute" not in (b.get("program.assumed") or {}):
        computed = any(field in b.unknowns for field in ("precision.compute", f"precision.{mixed}_enabled"))
        if plugin_json and b.dialect in ("hf", "llamafactory") and b.get("precision.bf16_enabled") is not True \
                and b.get("precision.fp16_enabled") is not True and not computed:
            # (`computed`: the program hands the Trainer a flag of its own, `DPOConfig(bf16=args.bf16)`, whose value is
            # not read: held-out review 129, A 12, an error where the program's own default turns bf16 on)
            # the Trainer sets neither, so ACCELERATE_MIXED_PRECISION keeps accelerate's value; DeepSpeed's plugin then
            # writes `"<dtype>": {"enabled": true}` into the config it builds, and the Trainer's trainer_config_process
            # matches it against its own fp16/bf16, both off: ValueError at start-up
            # (held-out review 46, A 08: "ds bf16.enabled=True vs hf bf16|bf16_full_eval=False")
            # ... but where the launch beside runs the program with the accelerate config and not this one, the
            # program reads the config its own way and may set the flag itself (held-out review 68, A 03: train.py
            # maps its own JSON onto TrainingArguments with `bf16=True`): only a config that writes it off is certain
            # (written: a value the file gives, not the trainer's default the plan holds; held-out review 96, D 10: a
            # Hydra project's YAML that leaves bf16 to its main.py, which hard-codes `bf16=True`)
            given = b.sources.get(f"precision.{mixed}_enabled")
            written = given is not None and given.line is not None
            # ... and a file with keys no release reads is its own program's to map, unwritten values included
            own = len(set(b.foreign_keys)) >= 2 or _mostly_not_hf(b.documents[0])
            certain = written or (not own and (launch_omits is None or not launch_omits()))
            off = "is off" if certain else "is left unset (off, unless the program sets it)"
            b.note("other", f"accelerate's DeepSpeed plugin enables {mixed} (`mixed_precision: {mixed}`) but the "
                   f"Trainer's `{mixed}` {off}: transformers refuses the mismatch at start-up (ValueError: ds "
                   f"{mixed}.enabled=True vs hf {mixed}|{mixed}_full_eval=False)", source,
                   hint=f"set `{mixed}: true` in the training config", code="PD303",
                   severity="error" if certain else "info")
            return
        if compute in (None, "fp32"):
            note = "accelerate's mixed_precision: the Trainer's arguments turn neither fp16 nor bf16 on, so it stands"
            where = source.model_copy(update={"note": note}) if source is not None else None
            b.set("precision.compute", mixed, where)
            b.set("precision.mixed", True, where)
            return
        if mixed != compute:
            # TrainingArguments.__post_init__ writes its own fp16/bf16 over ACCELERATE_MIXED_PRECISION ("if training
            # args is specified, it will override the one specified in the accelerate config"): the run trains in
            # the Trainer's precision and nothing fails (held-out review 44, A 03: accelerate fp16 under `bf16: true`)
            b.note("other", f"accelerate's `mixed_precision: {mixed}` gives way: the Trainer's {compute} overwrites "
                   f"ACCELERATE_MIXED_PRECISION, so the run trains in {compute}", source,
                   hint=f"set `mixed_precision: {compute}` in the accelerate config so that it says what runs",
                   code="PD303", severity="info")
            return
    declare_precision(b, "accelerate", mixed, source)


def _accelerate_yaml(b: PlanBuilder, acc: Document, context: BuildContext, named: bool) -> None:
    """The accelerate YAML's world size, distribution and mixed precision (`named`: by the launch script)."""
    flag = "--accelerate-config" if context.accelerate_config else \
        "accelerate launch --config_file" if named else "accelerate config beside the config"
    processes = lenient_int(acc.data.get("num_processes"))
    if context.world_size is None and isinstance(processes, int) and processes > 0:
        source = b.source(acc, ("num_processes",), note=flag)
        b.set("parallel.world_size", processes, source)
    kind = accelerate_distribution(acc.data)
    if kind == "FSDP":
        b.set("parallel.fsdp", True, b.source(acc, ("distributed_type",)))
        strategy = str(acc.get(("fsdp_config", "fsdp_sharding_strategy"), "FULL_SHARD")).upper()
        b.set("parallel.full_shard", strategy in ("FULL_SHARD", "1"), b.source(acc, ("fsdp_config",)))
        if lenient_bool(acc.get(("fsdp_config", "fsdp_offload_params"))):
            b.set("parallel.cpu_offload", True, b.source(acc, ("fsdp_config", "fsdp_offload_params")))
        if str(acc.get(("fsdp_config", "fsdp_auto_wrap_policy")) or "").upper() == "TRANSFORMER_BASED_WRAP" \
                and not b.has("parallel.fsdp_wrap_classes"):
            take_wrap_classes(b, acc, ("fsdp_config", "fsdp_transformer_layer_cls_to_wrap"))
    elif kind == "DEEPSPEED":
        stage = lenient_int(acc.get(("deepspeed_config", "zero_stage")))
        if isinstance(stage, int) and not b.has("parallel.zero_stage"):
            b.set("parallel.zero_stage", stage, b.source(acc, ("deepspeed_config", "zero_stage")))
        _accelerate_deepspeed_keys(b, acc)
        if isinstance(acc.get(("deepspeed_config", "deepspeed_config_file")), str) \
                and not b.has("parallel.deepspeed_config"):
            # the plugin's JSON is the run's DeepSpeed config, as one TrainingArguments names (held-out review 46,
            # A 24/A 25: its gradient accumulation and precision against the Trainer's)
            merge_deepspeed_reference(b, acc, context, key=("deepspeed_config", "deepspeed_config_file"))
        for key in ("offload_optimizer_device", "offload_param_device"):
            if str(acc.get(("deepspeed_config", key), "none")).lower() not in ("none", ""):
                b.set("parallel.cpu_offload", True, b.source(acc, ("deepspeed_config", key)))
    mixed = str(acc.data.get("mixed_precision", "")).lower()
    if mixed in ("fp16", "bf16"):
        plugin_json = kind == "DEEPSPEED" and not acc.get(("deepspeed_config", "deepspeed_config_file"))
        config = b.documents[0]
        # reading the scripts beside is only for a mismatch to judge (not every bf16 config with an accelerate YAML)
        omits = None if named or context.accelerate_config else (lambda: _launch_beside_omits(config, acc))
        _accelerate_precision(b, mixed, b.source(acc, ("mixed_precision",)), plugin_json, launch_omits=omits)
    b.documents.append(acc)
    if not context.accelerate_config and not named:
        context.read_beside.append(str(acc.path))


# The `deepspeed_config` keys accelerate's DeepSpeed plugin reads (accelerate/commands/config/cluster.py, every
# release v0.10-v1.x); `accelerate launch` sets any other key as an argument nothing reads.
ACCELERATE_DEEPSPEED_KEYS = frozenset({
    "zero_stage", "zero3_init_flag", "zero3_save_16bit_model", "deepspeed_multinode_launcher", "deepspeed_config_file",
    "offload_param_device", "offload_optimizer_device", "offload_param_nvme_path", "offload_optimizer_nvme_path",
    "gradient_clipping", "gradient_accumulation_steps", "deepspeed_hostfile", "deepspeed_inclusion_filter",
    "deepspeed_exclusion_filter", "deepspeed_moe_layer_cls_names",
})
ACCELERATE_DEFAULT_ZERO_STAGE = 2  # DeepSpeedPlugin: ACCELERATE_DEEPSPEED_ZERO_STAGE, default 2


def _accelerate_deepspeed_keys(b: PlanBuilder, acc: Document) -> None:
    """A DeepSpeed JSON block written into accelerate's `deepspeed_config` (`zero_optimization: {stage: 3,
    offload_param: ...}`): the plugin reads none of it, so the run gets its default ZeRO stage 2 and no offload
    (held-out review 44, A 25: a 32B model meant for ZeRO-3 with NVMe offload)."""
    block = acc.get(("deepspeed_config",))
    if not isinstance(block, dict):
        return
    unread = [key for key in block if isinstance(key, str) and key not in ACCELERATE_DEEPSPEED_KEYS]
    if unread:
        from .accelerate_flags import ACCELERATE_LAUNCH_OPTIONS

        # `accelerate launch` sets every key of the block on its arguments (launch.py `_validate_launch_command`:
        # `setattr(args, k, defaults.deepspeed_config[k])`), so a launch option there is read as that option
        # (held-out review 136, B 13: `main_process_port` inside the block)
        unread = [key for key in unread if key not in ACCELERATE_LAUNCH_OPTIONS]
    if not unread:
        return
    if "zero_stage" not in block and "deepspeed_config_file" not in block and not b.has("parallel.zero_stage"):
        b.set("parallel.zero_stage", ACCELERATE_DEFAULT_ZERO_STAGE,
              b.source(acc, ("deepspeed_config",), note="accelerate's DeepSpeed plugin default (no zero_stage)"))
    shown = ", ".join(f"`deepspeed_config.{key}`" for key in unread)
    stage = lenient_int(block.get("zero_stage", ACCELERATE_DEFAULT_ZERO_STAGE))
    lost = _lost_zero_settings(block, stage)
    b.note("ignored-key", f"{shown}: accelerate's DeepSpeed plugin reads none of it (it takes `zero_stage`, "
           "`offload_optimizer_device`, `offload_param_device`, ... or a JSON file named by `deepspeed_config_file`), "
           f"so the run gets ZeRO stage {stage}" + (f" {lost}" if lost else
                                                    ", as the block asks, and the plugin's defaults for the rest"),
           b.source(acc, ("deepspeed_config", unread[0])), key=f"deepspeed_config.{unread[0]}",
           hint="move the DeepSpeed JSON into a file and name it with `deepspeed_config_file`, or use the plugin's "
                "own keys (`zero_stage: 3`, `offload_param_device: nvme`, ...)", **({} if lost else {"severity": "info"}))


def _lost_zero_settings(block: dict, stage: Optional[int]) -> Optional[str]:
    """What the ignored `zero_optimization` block asked for that the run does not get: another stage, or an offload
    the plugin's own keys do not give; None when the plugin's settings already match (held-out review 38, A 12: a
    stage-2 block under the default stage 2)."""
    zero = block.get("zero_optimization")
    if isinstance(zero, dict):
        wanted = lenient_int(zero.get("stage"))
        if isinstance(wanted, int) and wanted != stage:
            return f"instead of the stage {wanted} the block asks for"
    else:
        # DeepSpeed's offload sections written straight into the plugin's block (held-out review 98, A 20:
        # `offload_optimizer: {device: disk, ...}` beside `zero_stage: 3`): no offload either
        zero = block
    for part in ("optimizer", "param"):
        asked = zero.get(f"offload_{part}")
        device = str(asked.get("device", "none")).lower() if isinstance(asked, dict) else "none"
        given = str(block.get(f"offload_{part}_device", "none")).lower()
        if device not in ("none", "") and given in ("none", ""):
            return f"with no {part} offload, though the block offloads it to {device}"
    return None


def _launch_beside_omits(config: Document, acc: Document) -> bool:
    """Whether a launch script in the accelerate config's folder runs its program with that config (`accelerate
    launch --config_file`) but without the training config `config` among its arguments: the program then reads
    `config` (if at all) its own way, not as the arguments of the launch."""
    acc_path = Path(acc.path)
    training = Path(config.path).name
    for data in _launches_beside(acc_path.resolve().parent):
        launcher = data.get("launcher")
        named = launcher.get("config_file") if isinstance(launcher, dict) else None
        if isinstance(named, str) and Path(named).name == acc_path.name and not _names_file(data, training):
            return True
    return False


def _accelerate_beside(doc: Document, script: Optional[Document] = None) -> Optional[Path]:
    """The single accelerate YAML in the config's own folder, if there is exactly one, and not the file the config
    names as its DeepSpeed config (held-out review 49, A 16: axolotl's `deepspeed: configs/zero2.yaml` is read as
    JSON, not by `accelerate launch`), nor where the run is launched with plain `python` (`script`, or a launch
    script beside the config that names it), which reads no accelerate config, nor where `accelerate launch` is
    given no config file (`_default_accelerate_config`)."""
    folder = Path(doc.path).resolve().parent
    found = _accelerate_among(folder_files(folder, (".yaml", ".yml")))
    named = doc.get("deepspeed")
    if found is not None and isinstance(named, str) and Path(named).name == found.name:
        return None
    if found is not None and (_launched_with_python(doc, script, folder) or _default_accelerate_config(script, folder)):
        return None
    return found


def _default_accelerate_config(script: Optional[Document], folder: Path) -> bool:
    """Whether the run starts with `accelerate launch` and no `--config_file`: accelerate then reads the machine's
    default config (its cache's default_config.yaml), not a YAML beside the training config. By the launch script
    checked with the config, else by every `accelerate launch` among the scripts in its folder (held-out review 86,
    B 13: pretrain.sh passes `--num_processes` and `--mixed_precision` alone, and the ZeRO-3 YAML beside, with a
    DeepSpeed JSON's keys in its plugin block, was read as the run's, two false errors)."""
    if script is not None:
        launches = [script.data] if script.format == "shell" else []
    else:
        launches = list(_launches_beside(folder))
    started = [data["launcher"] for data in launches
               if isinstance(data.get("launcher"), dict) and data["launcher"].get("name") == "accelerate"]
    return bool(started) and all("config_file" not in launcher for launcher in started)


def _launched_with_python(doc: Document, script: Optional[Document], folder: Path) -> bool:
    """Whether the config's program is started by plain `python` (no `accelerate launch`, torchrun or deepspeed):
    by the launch script checked with it, else by a launch script in its folder that names it (held-out review 77,
    A 11: test.sh's one live line, `python scripts/run_simpo.py training_configs/x.yaml`, beside an accelerate
    ZeRO-3 YAML of 4 processes that only its commented-out lines use)."""
    if script is not None:
        return script.format == "shell" and _plain_python(script.data)
    name = Path(doc.path).name
    return any(_plain_python(data) and _names_file(data, name) for data in _launches_beside(folder))


def _plain_python(data: dict) -> bool:
    launcher = data.get("launcher")
    return bool(data.get("program")) and isinstance(launcher, dict) and launcher.get("name") in ("python", "python3") \
        and set(launcher) <= {"name"}


def _names_file(data: dict, name: str) -> bool:
    """Whether a launch's arguments (its flags' values and positional words) name a file called `name`."""
    return any(isinstance(value, str) and Path(value).name == name
               for value in [*data.values(), *(data.get("positional") or [])])


def _launches_beside(folder: Path) -> tuple[dict, ...]:
    """The launch data of the shell scripts in `folder` (read once per folder state, as the accelerate YAML beside
    is: a folder walk asks for every config in it)."""
    return _read_launches(folder_files(folder, (".sh",)))


@lru_cache(maxsize=64)
def _read_launches(files: tuple[FileStamp, ...]) -> tuple[dict, ...]:
    from ..config.shell_reader import read_shell  # only where an accelerate YAML is beside a config

    launches = []
    for path, _, size in files[:_LAUNCH_SCRIPTS_READ]:
        if size > _LAUNCH_SCRIPT_BYTES:
            continue
        try:
            launches.append(read_shell(Path(path).read_text(errors="replace"), path)[0])
        except (OSError, ConfigError):
            continue
    return tuple(launches)


# Launch scripts beside a config read for how it is started: at most this many, each at most this large.
_LAUNCH_SCRIPTS_READ = 8
_LAUNCH_SCRIPT_BYTES = 64_000


FileStamp = tuple[str, int, int]  # path, mtime_ns, size


def folder_files(folder: Path, suffixes: tuple[str, ...] = (), pattern: Any = None) -> tuple[FileStamp, ...]:
    """The files of `folder` with one of `suffixes` (or whose name `pattern` finds), each with its mtime and size,
    sorted: the key of a per-folder cache, so that a long-lived process (the monitor, an editor's linter) sees a
    file added, removed or rewritten since."""
    try:
        with os.scandir(folder) as entries:
            found = []
            for entry in entries:
                if not (entry.name.endswith(suffixes) if suffixes else pattern.search(entry.name)):
                    continue
                try:
                    if entry.is_file():
                        stat = entry.stat()
                        found.append((entry.path, stat.st_mtime_ns, stat.st_size))
                except OSError:
                    continue
    except OSError:
        return ()
    return tuple(sorted(found))


@lru_cache(maxsize=256)
def _accelerate_among(files: tuple[FileStamp, ...]) -> Optional[Path]:
    # Cached per folder state: a folder walk checks every config in it against the same files.
    found = []
    for name, _, _ in files:
        path = Path(name)
        try:
            with path.open("rb") as handle:
                head = handle.read(20000).decode("utf-8", errors="replace")
        except OSError:
            continue
        if "compute_environment" in head:
            found.append(path)
    return found[0] if len(found) == 1 else None


def take_or_default(b: PlanBuilder, doc: Document, field: str, path: KeyPath | str, convert: Any,
                    default: Any, note: str) -> Any:
    """`doc[path]` if readable, else the trainer's default; an unresolved `${...}` stays unknown.

    A resolver the file cannot answer (`${oc.env:LR}`) is set at launch time, so falling
    back to the trainer default would be a guess presented as a fact.
    """
    value = b.take(field, doc, path, convert)
    if value is not None:
        return value
    raw = doc.get(tuple(path.split(".")) if isinstance(path, str) else path)
    if isinstance(raw, str) and "${" in raw:
        b.unknown(field, f"the launch-time value of {raw}")
        return None
    b.default(field, default, note)
    return default


def take_wrap_classes(b: PlanBuilder, doc: Document, *paths: KeyPath) -> None:
    """`parallel.fsdp_wrap_classes` from the first of `paths` that names layer classes (transformers' and
    accelerate's spellings of `transformer_layer_cls_to_wrap`); the caller has checked the wrap is transformer-based."""
    for path in paths:
        names = _class_names(doc.get(path))
        if names:
            b.set("parallel.fsdp_wrap_classes", names, b.source(doc, path))
            return


def _class_names(value: Any) -> Optional[list[str]]:
    """Layer class names as a list: `"LlamaDecoderLayer,MistralDecoderLayer"` (accelerate's comma-separated
    string), a YAML list, or one name; None for anything else."""
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
    elif isinstance(value, list):
        names = [str(name).strip() for name in value if isinstance(name, str) and name.strip()]
    else:
        return None
    return names or None


def launcher_world_size(b: PlanBuilder, doc: Document) -> None:
    """The world size a launch script's launcher starts (`torchrun --nproc_per_node 8 --nnodes 1`,
    `deepspeed --num_gpus 8`), where the shell reader found one (the document's `launcher`)."""
    launcher = doc.data.get("launcher")
    world = launched_processes(doc)
    if world is not None and isinstance(launcher, dict):
        key = "nproc_per_node" if "nproc_per_node" in launcher else "num_gpus"
        b.set("parallel.world_size", world, b.source(doc, ("launcher", key) if doc.position(("launcher", key))
                                                     else ("program",), note=f"{launcher.get('name')} processes"))


def model_parallel_degree(b: PlanBuilder) -> int:
    """tp × pp × cp as the plan holds them so far (1 for each not set): the GPUs one model replica spans."""
    product = 1
    for field in ("parallel.tensor", "parallel.pipeline", "parallel.context"):
        product *= b.get(field) or 1
    return product


def env_world_size(b: PlanBuilder, script: Document, how: str) -> bool:
    """`NPROC_PER_NODE × NNODES` the script sets, as a CLI that starts torchrun itself reads them (ms-swift's,
    LLaMA-Factory's: `how` says whose); False where it sets neither, or a value is no number (a caller's)."""
    env = script.data.get("environment") or {}
    nproc, nnodes = env.get("NPROC_PER_NODE"), env.get("NNODES")
    per_node, nodes = _env_count(nproc), _env_count(nnodes)
    if (nproc is None and nnodes is None) or per_node is None or nodes is None:
        return False
    first = nproc or nnodes
    b.set("parallel.world_size", per_node * nodes, Source(
        file=script.path, line=first.get("line") or None, key="NPROC_PER_NODE" if nproc else "NNODES",
        note=f"NPROC_PER_NODE {per_node} × NNODES {nodes} ({how})"))
    return True


def _env_count(entry: Optional[dict]) -> Optional[int]:
    if entry is None:
        return 1
    value = str(entry.get("value") or "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def launched_processes(doc: Document) -> Optional[int]:
    """The processes a launch script's launcher starts, where the shell reader found one (None otherwise)."""
    launcher = doc.data.get("launcher")
    return _processes(launcher) if isinstance(launcher, dict) else None


def accelerate_distribution(data: dict) -> str:
    """An accelerate config's `distributed_type`, upper-cased; `NO` also where YAML 1.1 read it as false."""
    kind = str(data.get("distributed_type", "")).upper()
    return "NO" if kind == "FALSE" else kind


# Launchers that leave WORLD_SIZE as the script exported it (torchrun, deepspeed and accelerate set their own).
_KEEPS_WORLD_SIZE = frozenset(("srun", "mpirun", "python", "python3"))


def exported_world_size(b: PlanBuilder, doc: Document) -> None:
    """The world size a Megatron script exports (`int(os.getenv("WORLD_SIZE", '1'))` in validate_args) when its
    launcher keeps it (srun, mpirun, plain python)."""
    exported = doc.data.get("exported_world_size")
    launcher = doc.data.get("launcher")
    name = launcher.get("name") if isinstance(launcher, dict) else None
    if isinstance(exported, dict) and (name is None or name in _KEEPS_WORLD_SIZE):
        b.set("parallel.world_size", exported["value"],
              Source(file=doc.path, line=exported["line"] or None, key="WORLD_SIZE", note="exported by the script"))


def _processes(launcher: dict) -> Optional[int]:
    """Processes started: `torchrun --nproc_per_node × --nnodes`, `deepspeed --num_gpus × --num_nodes`."""
    def number(*keys: str, default: Optional[int] = None) -> Optional[int]:
        for key in keys:
            if key in launcher:
                return positive_count(launcher[key])
        return default

    name = str(launcher.get("name", ""))
    if "deepspeed" in name:
        if "num_gpus" not in launcher and isinstance(launcher.get("include"), str):
            return _included_slots(launcher["include"])
        return _product(number("num_gpus"), number("num_nodes", default=1) if "hostfile" not in launcher else number("num_nodes"))
    if name in ("mpirun", "mpiexec", "srun"):
        return number("np")  # `mpirun -np 16`, `srun -n 8` (held-out review 93, C 06: `mpirun --np 1` unread)
    if name in ("torchrun", "torch.distributed.run", "torch.distributed.launch"):
        # torchrun's `--nproc-per-node` defaults to 1: a bare `torchrun pretrain_gpt.py` trains on one GPU (held-out
        # review 73, B 12), unless options the script leaves to run time may set it
        unseen = launcher.get(UNSEEN_OPTIONS)
        return _product(number("nproc_per_node", "nproc-per-node", default=None if unseen else 1),
                        number("nnodes", default=None if unseen else 1))
    return None


def _included_slots(include: str) -> Optional[int]:
    """The GPUs DeepSpeed's runner starts for `--include "localhost:0,1,2,3"` (`host:slots@host:slots`, runner.py
    parse_inclusion_exclusion): the slots listed; a host named without slots takes all of its GPUs, unknown here
    (held-out reviews 25, A 17 and 27, A 12)."""
    total = 0
    for host in include.strip().strip("\"'").split("@"):
        _, sep, slots = host.partition(":")
        listed = [slot for slot in slots.split(",") if slot.strip().isdigit()]
        if not sep or not listed:
            return None
        total += len(listed)
    return total or None


def _product(a: Optional[int], b: Optional[int]) -> Optional[int]:
    return a * b if isinstance(a, int) and isinstance(b, int) else None


def pyyaml_strings(doc: Document) -> list[tuple[str, str]]:
    """Top-level numbers of a YAML file that PyYAML's YAML 1.1 resolver reads as strings (`5e-5`: no dot; `1.0e5`: no
    exponent sign), as (key, token): a program that loads the file with `yaml.safe_load` and hands the values on
    unconverted (HfArgumentParser.parse_yaml_file, LLaMA-Factory before 0.9.4) passes `"5e-5"` to the optimizer,
    which raises TypeError; OmegaConf and TrlParser's argparse defaults read a float."""
    if doc.format != "yaml" or not doc.text or not isinstance(doc.data, dict):
        return []
    lines = doc.text.splitlines()
    found = []
    for key, value in doc.data.items():
        position = doc.positions.get((key,))
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, float)) \
                or position is None or position.line > len(lines):
            continue
        if position.file and position.file != doc.path:
            continue  # a base file merged under this one (`inherit: base`): its lines are not this text's
        _, colon, rest = lines[position.line - 1].partition(":")
        words = rest.split(" #", 1)[0].lower().split() if colon else []
        while words and words[0].startswith(("&", "!")):  # an anchor or a tag before the number (held-out review
            words = words[1:]                              # 74, A 08: `learning_rate: &learning_rate 1.0e-4`)
        token = words[0] if len(words) == 1 else ""
        if "e" in token and not _yaml_11_number(token):
            found.append((key, token))
    return found


def _yaml_11_number(token: str) -> bool:
    """A number token with an `e` that PyYAML's YAML 1.1 resolver reads as a number: a hex int (`0x1e`), or a float
    with a dot and, where it has an exponent, a signed one (resolver.py's float pattern)."""
    if token.lstrip("+-").startswith("0x"):
        return True
    mantissa, _, exponent = token.partition("e")
    return "." in mantissa and exponent[:1] in ("+", "-") and exponent[1:].isdigit()


def note_pyyaml_strings(b: PlanBuilder, doc: Document, reader: str, severity: str) -> None:
    """PD002 on the numbers `reader` (the trainer's YAML loading, said in the message) keeps as strings: one finding
    for the file, at its first such key (held-out review 65, A 23: `alpha: 5e-2` in a SimPO-style recipe)."""
    found = pyyaml_strings(doc)
    if not found:
        return
    key, token = found[0]
    more = f" (and {', '.join(f'`{k}: {t}`' for k, t in found[1:4])}{', …' if len(found) > 4 else ''})" \
        if len(found) > 1 else ""
    mantissa, _, exponent = token.partition("e")
    fixed = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent if exponent[:1] in '+-' else '+' + exponent}"
    b.note("ignored-key", f"`{key}: {token}`{more} is a string to YAML 1.1 (a float needs a dot and a signed "
           f"exponent): {reader}", b.source(doc, (key,)), hint=f"write `{key}: {fixed}`, a float to every YAML loader",
           severity=severity, key=key)


# A word of a command that expands a variable (`$EXTRA_ARGS`, `${EXTRA}`, `"${ARGS[@]}"`), and a `--flag` in a value.
_VARIABLE_WORD = lazy_compile(r'^"?\$\{?([A-Za-z_][A-Za-z0-9_]*)(?:\[[@*]\])?\}?"?$')
_FLAG_WORD = lazy_compile(r"--[A-Za-z0-9][A-Za-z0-9_-]*")


def assigned_flags(text: str, word: str) -> Optional[frozenset[str]]:
    """The `--flags` a script assigns the variable `word` expands anywhere in its `text` (`NAME=(...)`, `NAME="..."`,
    `NAME+=(...)`, `export`/`local`), whichever branch runs; None where the word expands no variable or the script
    assigns it nothing (it comes from the caller)."""
    name = _VARIABLE_WORD.match(word)
    if name is None:
        return None
    assigned = re.findall(rf"(?m)^[ \t]*(?:export[ \t]+|local[ \t]+)?{name.group(1)}\+?="
                          r"""("(?:[^"\\]|\\[\s\S])*"|'[^']*'|\([^)]*\)|\S*)""", text)
    if not assigned:
        return None
    return frozenset(flag for value in assigned for flag in _FLAG_WORD.findall(value))


def only_match(name: str, script: Path, fits: Optional[Callable[[Path], bool]] = None) -> Optional[Path]:
    """The one file beside the script that a name with a script argument in it can be (`mpt-$1.yaml`, `mpt-1b.yaml`
    the only `mpt-*.yaml` there: held-out review 53, B 19, whose sweep runs it with `1b`), among those `fits` accepts
    (the first 20 read); None when none or several match."""
    pattern = _SCRIPT_VARIABLE.sub("*", name)
    if "/" in pattern or pattern.strip("*") == "":
        return None
    matches = [path for path in sorted(script.parent.glob(pattern))[:20] if path.is_file() and (fits is None or fits(path))]
    return matches[0] if len(matches) == 1 else None


_SCRIPT_VARIABLE = lazy_compile(r"\$\{[^}]*\}|\$\w+")
