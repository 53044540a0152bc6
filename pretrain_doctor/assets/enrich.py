"""Fill the plan's tokenizer and model facts from files on disk (a `check` enricher).

Where the files are: `--tokenizer` / `--model-config` first, else a local path the config
names (`tokenizer.path`, a tokenizer or model name, the checkpoint it starts from) when
that path exists, resolved against the config's folder and its ancestors (OLMo's
`tokenizer.identifier` is relative to the repository root). Values the training config
sets win over the files, because that is what the trainer uses; the files fill the rest,
each with a Source naming the file and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from pydantic import ValidationError

from ..errors import ConfigError
from ..lazyre import lazy_compile
from ..plan.model import Source, TrainingPlan
from .model_files import ModelFiles, is_model_location, load_model_files
from .tokenizer_files import TOKENIZER_JSON, TokenizerFiles, is_tokenizer_location, load_tokenizer_files

TOKENIZER_FLAG = "--tokenizer"
MODEL_CONFIG_FLAG = "--model-config"
# Source notes of facts read from files: the flag, or a path the config names.
FOUND_TOKENIZER = "tokenizer files"
FOUND_MODEL_CONFIG = "model config"
TOKENIZER_NOTES = (TOKENIZER_FLAG, FOUND_TOKENIZER)


def enrich_plan(plan: TrainingPlan, options: Any, config_path: Path) -> TrainingPlan:
    """The engine's enricher: tokenizer files, then the model's config.json."""
    base = config_path.resolve().parent
    tokenizer_at = _tokenizer_location(plan, getattr(options, "tokenizer", None), base)
    if tokenizer_at is not None:
        apply_tokenizer(plan, load_tokenizer_files(tokenizer_at[0]), tokenizer_at[1])
    elif plan.tokenizer.length is None and not _known_tokenizer_length(plan):
        plan.unknown["tokenizer.length"] = TOKENIZER_FLAG
    model_at = _model_location(plan, getattr(options, "model_config", None), base)
    if model_at is not None:
        apply_model(plan, load_model_files(model_at[0]), model_at[1])
    return plan


# len(tokenizer) of tokenizers named by their Hub id, for a config that names one and ships no files (held-out
# review 49, B 10: a nanotron model of 256 rows fed `HuggingFaceTB/cosmo2-tokenizer`, 49,152 tokens). Added tokens
# included, as `len(tokenizer)` counts them (GPT-NeoX-20B's whitespace runs are added tokens: 50,277).
# Each with a word the name must hold, looked for before the pattern is compiled (a check of another model compiles
# none of them: start-up time).
_HUB_TOKENIZER_LENGTHS = (
    ("gpt2", lazy_compile(r"(?i)(openai-community/)?gpt2(-medium|-large|-xl)?"), 50257),
    ("bert-base-uncased", lazy_compile(r"(?i)(google-bert/)?bert-base-uncased"), 30522),
    ("huggingfacetb/",
     lazy_compile(r"(?i)HuggingFaceTB/(cosmo2-tokenizer|SmolLM2?-\d+(\.\d+)?[MB](-Instruct)?)"), 49152),
    ("eleutherai/", lazy_compile(r"(?i)EleutherAI/(gpt-neox-20b|pythia-\d+(\.\d+)?[mb](-deduped)?)"), 50277),
    ("llama-3", lazy_compile(r"(?i)meta-llama/(Meta-)?Llama-3(\.\d)?-\d+B(-Instruct)?"), 128256),
    ("llama-2", lazy_compile(r"(?i)meta-llama/Llama-2-\d+b(-chat)?-hf"), 32000),
)


def _known_tokenizer_length(plan: TrainingPlan) -> bool:
    """Set `tokenizer.length` from a tokenizer's Hub id known here; whether it was."""
    field = "tokenizer.name" if isinstance(plan.tokenizer.name, str) else "tokenizer.path"
    name = plan.get(field)
    if not isinstance(name, str):
        return False
    lowered = name.strip().lower()
    length = next((size for word, pattern, size in _HUB_TOKENIZER_LENGTHS
                   if word in lowered and pattern.fullmatch(name.strip())), None)
    if length is None:
        return False
    source = plan.sources.get(field)
    plan.tokenizer.length = length
    plan.sources["tokenizer.length"] = Source(
        file=source.file if source is not None else None, line=source.line if source is not None else None,
        note=f"len(tokenizer) of `{name.strip()}` on the Hub, known here; pass --tokenizer to read the files")
    return True


# -- locating files ----------------------------------------------------------------------
def resolve_local(raw: Optional[str], base: Path, accept: Callable[[Path], bool]) -> Optional[Path]:
    """`raw` as an existing local path accepted by `accept`: absolute, or relative to `base` or an ancestor."""
    if not raw or "://" in raw:
        return None
    candidate = Path(raw).expanduser()
    if candidate.is_absolute():
        return candidate if accept(candidate) else None
    for folder in (base, *base.parents, Path.cwd()):
        path = folder / candidate
        if accept(path):
            return path.resolve()
    return None


def _tokenizer_location(plan: TrainingPlan, flag: Optional[Path], base: Path) -> Optional[tuple[Path, str]]:
    if flag is not None:
        if not Path(flag).exists():
            raise ConfigError(f"{TOKENIZER_FLAG} {flag}: no such file or folder")
        return Path(flag).resolve(), TOKENIZER_FLAG
    for raw in _named_paths(plan, ("tokenizer.path", "tokenizer.name", "mode.init_from", "model.name")):
        found = resolve_local(raw, base, is_tokenizer_location)
        if found is not None:
            return found, FOUND_TOKENIZER
    return None


def _model_location(plan: TrainingPlan, flag: Optional[Path], base: Path) -> Optional[tuple[Path, str]]:
    if flag is not None:
        if not Path(flag).exists():
            raise ConfigError(f"{MODEL_CONFIG_FLAG} {flag}: no such file or folder")
        return Path(flag).resolve(), MODEL_CONFIG_FLAG
    for raw in _named_paths(plan, ("model.config_path", "mode.init_from", "model.name")):
        found = resolve_local(raw, base, is_model_location)
        if found is not None:
            return found, FOUND_MODEL_CONFIG
    for raw in _named_paths(plan, ("model.config_path",)):
        # a model config JSON the launch names on its own machine, copied beside the script (held-out review 94,
        # C 12: `--config_name ${INPUT_DIR}/configs/models/Llama-2-300M.json`, the file in the script's folder)
        beside = base / Path(raw.strip()).name
        if beside.suffix == ".json" and is_model_location(beside):
            return beside.resolve(), FOUND_MODEL_CONFIG
    return None


def _named_paths(plan: TrainingPlan, fields: Iterable[str]) -> list[str]:
    values = (plan.get(f) for f in fields)
    return [v for v in values if isinstance(v, str) and v.strip()]


# -- tokenizer ---------------------------------------------------------------------------
def apply_tokenizer(plan: TrainingPlan, tok: TokenizerFiles, note: str) -> None:
    """Copy the tokenizer's facts into `plan.tokenizer` where the config left them unset."""
    where = _Filler(plan, note)
    where.force("tokenizer.path", str(tok.location), _file(tok, None), keep_config_source=note != TOKENIZER_FLAG)
    if tok.vocabulary_known:
        where.force("tokenizer.length", len(tok), Source(file=_file(tok, None), key="len(tokenizer)", note=note))
        plan.unknown.pop("tokenizer.length", None)
    elif plan.tokenizer.length is None:
        plan.unknown["tokenizer.length"] = tok.unread_vocabulary or TOKENIZER_FLAG
    for role in ("bos", "eos", "pad"):
        token = where.fill(f"tokenizer.{role}_token", tok.declared(role), _file(tok, f"{role}_token"), f"{role}_token")
        chosen = getattr(plan.tokenizer, f"{role}_token") or token
        if chosen is not None:
            where.fill(f"tokenizer.{role}_token_id", tok.token_to_id(chosen), _file(tok, f"{role}_token"),
                       f"{role}_token")
    where.fill("tokenizer.padding_side", tok.padding_side, _file(tok, "padding_side"), "padding_side")
    where.fill("tokenizer.model_max_length", tok.model_max_length, _file(tok, "model_max_length"), "model_max_length")
    where.fill("tokenizer.chat_template", tok.chat_template, _file(tok, "chat_template"), "chat_template")
    where.fill("tokenizer.add_bos_token", tok.adds_bos, _file(tok, "add_bos_token"), "add_bos_token")
    where.fill("tokenizer.returns_attention_mask", tok.returns_attention_mask, _file(tok, "model_input_names"),
               "model_input_names")


def _file(tok: TokenizerFiles, key: Optional[str]) -> str:
    path = tok.file_for(key) if key else tok.files.get(TOKENIZER_JSON) or next(iter(tok.files.values()))
    return shown_path(path or tok.location)


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when inside it, as findings show config files."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# -- model config ------------------------------------------------------------------------
_MODEL_CONCEPTS = ("vocab_size", "max_positions", "hidden_size", "layers", "heads", "kv_heads", "head_dim", "ffn_size",
                   "init_std", "dropout", "torch_dtype")


def apply_model(plan: TrainingPlan, model: ModelFiles, note: str) -> None:
    """Copy a model config.json's facts into `plan.model` where the config left them unset."""
    where = _Filler(plan, note)
    config_file = shown_path(model.config_path)
    where.fill("model.config_path", str(model.config_path), config_file, None)
    where.fill("model.family", model.model_type, config_file, "model_type")
    for concept in _MODEL_CONCEPTS:
        key, value = model.value(concept)
        where.fill(f"model.{concept}", value, config_file, key)
    for field, (key, value) in model.moe_counts().items():
        where.fill(f"model.{field}", value, config_file, key)
    vocab_key, vocab = model.value("vocab_size")
    where.fill("model.embedding_rows", vocab, config_file, vocab_key)  # HF: the table has vocab_size rows
    where.fill("model.position_encoding", model.position_encoding, config_file, "model_type")
    where.fill("model.gated_mlp", model.gated_mlp, config_file, "model_type")
    where.fill("model.rope_scaling", model.rope_scaling, config_file, "rope_scaling")
    for role in ("bos", "eos", "pad"):
        # With several ids listed, keep the one the tokenizer uses (they agree, nothing to report).
        chosen = model.token_id(role, prefer=getattr(plan.tokenizer, f"{role}_token_id"))
        where.fill(f"model.{role}_token_id", chosen, config_file, f"{role}_token_id")
    if model.generation_path is not None:
        where.fill("model.generation_eos_token_ids", model.generation_eos_ids, shown_path(model.generation_path),
                   "eos_token_id")
    tie_key = "tie_word_embeddings" if "tie_word_embeddings" in model.config else None
    if not plan.mode.from_scratch:
        # Fine-tuning or resuming: config.json describes the checkpoint the run starts from.
        where.fill("model.base_tie_embeddings", model.tie_embeddings, config_file, tie_key)
        where.fill("model.base_max_positions", model.value("max_positions")[1], config_file,
                   model.value("max_positions")[0])
    where.fill("model.tie_embeddings", model.tie_embeddings, config_file, tie_key)


class _Filler:
    """Sets plan fields with provenance; a value the file holds but the plan rejects names the file."""

    def __init__(self, plan: TrainingPlan, note: str) -> None:
        self.plan = plan
        self.note = note

    def fill(self, field: str, value: Any, file: str, key: Optional[str]) -> Any:
        """Set `field` when the plan has no value yet and the file has one. Returns the plan's value."""
        current = self.plan.get(field)
        if current is not None or value is None:
            return current
        self._set(field, value, Source(file=file, key=key, note=self.note))
        return value

    def force(self, field: str, value: Any, source: Source | str, keep_config_source: bool = False) -> None:
        if isinstance(source, str):
            source = Source(file=source, note=self.note)
        if keep_config_source and field in self.plan.sources:
            source = self.plan.sources[field]
        self._set(field, value, source)

    def _set(self, field: str, value: Any, source: Source) -> None:
        section_name, name = field.rsplit(".", 1)
        section = self.plan.get(section_name)
        try:
            setattr(section, name, value)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].lower()
            raise ConfigError(f"`{source.key or name}`: {message}, got {value!r}", source.file) from None
        self.plan.sources[field] = source
        self.plan.unknown.pop(field, None)
