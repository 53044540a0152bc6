"""A torchtitan recipe (a Python function returning `Trainer.Config`, read by config/torchtitan_recipe.py into the TOML
tables' layout) as the torchtitan dialect builds its plan: what the recipe leaves unknown stays unknown, never a
default, and the defaults it does take are the Trainer.Config dataclasses' of torchtitan's recipe era (upstream
b5bcd76, 2026-08-21), each named with the class that holds it.
"""

from __future__ import annotations

from typing import Any, Optional

from ..config.document import Document
from ..plan.builder import PlanBuilder
from ..plan.model import Source

RECIPE_KEY = "recipe"
_UPSTREAM = "torchtitan b5bcd76, 2026-08-21"
# Where each plan field's default lives in the recipe era's code.
_DEFAULT_NOTES = (
    ("optimizer.", f"default_adamw's default (components/optimizer/optimizer.py, {_UPSTREAM})"),
    ("schedule.", f"LRSchedulersContainer.Config default (components/optimizer/lr_scheduler.py, {_UPSTREAM})"),
    ("checkpoint.", f"CheckpointManager.Config default (components/checkpointer/base.py, {_UPSTREAM}): no saving "
                    "unless `enable=True`"),
    ("eval.", f"Validator.Config default (components/validate.py, {_UPSTREAM}): no validation unless `enable=True`"),
    ("parallel.", f"ParallelismConfig default (config/configs.py, {_UPSTREAM})"),
    ("seed", f"DebugConfig default (config/configs.py, {_UPSTREAM}): no seed"),
)
_TRAINING_DEFAULT = f"TrainingConfig default (config/configs.py, {_UPSTREAM})"
# TrainingConfig's token budget per micro-batch and context length (config/configs.py).
_DEFAULT_TOKENS = 16384
_DEFAULT_CONTEXT = 2048
# The recipe keys a plan field is read from (the first that the recipe leaves unknown makes the field unknown); a
# field not listed is judged by its section.
_FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "optimizer.name": ("optimizer.name",), "optimizer.family": ("optimizer.name",),
    "optimizer.betas": ("optimizer.beta1", "optimizer.beta2"),
    "schedule.kind": ("lr_scheduler.decay_type", "lr_scheduler.decay_ratio", "training.steps"),
    "schedule.wsd_decay_steps": ("lr_scheduler.decay_ratio", "training.steps"),
    "schedule.min_lr_ratio": ("lr_scheduler.min_lr_factor",),
    "batch.micro_batch_size": ("training.local_batch_size",), "batch.seq_len": ("training.seq_len",),
    "batch.global_batch_size": ("training.global_batch_size",), "run.max_steps": ("training.steps",),
    "clipping.max_norm": ("training.max_norm",),
    "checkpoint.enabled": ("checkpoint.enable",), "checkpoint.interval_steps": ("checkpoint.interval",),
    "eval.enabled": ("validation.enable",), "eval.interval_steps": ("validation.freq",),
    "seed": ("debug.seed",),
}
_SECTION_OF_FIELD = (("optimizer.", "optimizer"), ("schedule.", "lr_scheduler"), ("batch.", "training"),
                     ("run.", "training"), ("clipping.", "training"), ("precision.", "training"),
                     ("parallel.", "parallelism"), ("checkpoint.", "checkpoint"), ("eval.", "validation"),
                     ("model.", "model"), ("tokenizer.", "model"), ("seed", "debug"))
_NOT_FROM_THE_RECIPE = frozenset({"parallel.world_size"})  # the launch's, never the recipe's


class RecipeBuilder(PlanBuilder):
    """A plan builder for a recipe: a field whose recipe key (or whole section) the reader left unknown is unknown,
    whether the dialect takes it, defaults it or sets it from a default (`doc.get(key, 1)`)."""

    def __init__(self, dialect: str, docs: list[Document]) -> None:
        super().__init__(dialect, docs)
        self._unknown_keys = dict(docs[0].unevaluated)

    def take(self, field: str, doc: Document, path: Any, convert: Any = None) -> Any:
        key = path if isinstance(path, str) else ".".join(map(str, path))
        why = None if doc.has(tuple(key.split("."))) else self._why(key)
        if why is not None:
            self._mark_unknown(field, why)
            return None
        return super().take(field, doc, path, convert)

    def default(self, field: str, value: Any, note: str) -> None:
        why = self._field_unknown(field)
        if why is not None and field not in self.values:
            self._mark_unknown(field, why)
            return
        super().default(field, value, note)

    def set(self, field: str, value: Any, source: Optional[Source] = None) -> None:
        why = self._field_unknown(field) if source is None or source.line is None else None
        if why is not None:
            self._mark_unknown(field, why)
            return
        super().set(field, value, source)

    def _mark_unknown(self, field: str, why: str) -> None:
        self.values.pop(field, None)
        self.sources.pop(field, None)
        self.unknowns[field] = f"{why} (in recipe `{self.primary.data[RECIPE_KEY]}`)"

    def _why(self, key: str) -> Optional[str]:
        """Why the recipe key `key` is unknown: its own reason, or its section's; None when it is not."""
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            why = self._unknown_keys.get(".".join(parts[:end]))
            if why is not None:
                return why
        return None

    def _field_unknown(self, field: str) -> Optional[str]:
        """Why a value the dialect assumes for `field` (a default, no line of the recipe) is unknown: a key it is
        read from is, or its section is only partly known (built on a recipe not read here)."""
        if field in _NOT_FROM_THE_RECIPE:
            return None
        doc = self.primary
        keys = _FIELD_KEYS.get(field, ())
        why = next((why for key in keys if not doc.has(tuple(key.split("."))) and (why := self._why(key))), None)
        sections = [section for prefix, section in _SECTION_OF_FIELD if field.startswith(prefix)]
        return why or next((self._unknown_keys[s] for s in sections if s in self._unknown_keys), None)


def recipe_batch_default(b: PlanBuilder, doc: Document) -> None:
    """TrainingConfig's local batch where the recipe gives no token budget: 16,384 tokens per micro-batch in
    sequences of `max_context_length` (2,048 unless set), left to the dialect where they do not divide."""
    length = doc.get(("training", "seq_len"), _DEFAULT_CONTEXT)
    if doc.has(("training", "local_batch_size")) or not isinstance(length, int) or length <= 0 \
            or _DEFAULT_TOKENS % length:
        return
    b.default("batch.micro_batch_size", _DEFAULT_TOKENS // length,
              f"{_TRAINING_DEFAULT}: num_tokens_per_microbatch_per_dp_rank {_DEFAULT_TOKENS:,} / max_context_length "
              f"{length:,}")


def recipe_model_is_read(b: PlanBuilder, doc: Document) -> bool:
    """Whether the dialect can read the model from the recipe: `model_registry("flavor")` of a known family; else
    the size is unknown, and the name is the flavor alone."""
    if doc.has(("model", "name")) and doc.has(("model", "flavor")):
        return True
    b.unknown("model.parameters", "--model-config")
    if doc.has(("model", "flavor")):
        b.set("model.name", str(doc.get(("model", "flavor"))), b.source(doc, ("model", "flavor")))
    return False


def relabel_defaults(b: PlanBuilder, job_config_note: str) -> None:
    """The TOML era's "JobConfig default" notes, named with the recipe era's class that holds each default."""
    for field, source in list(b.sources.items()):
        if source.note != job_config_note:
            continue
        note = next((note for prefix, note in _DEFAULT_NOTES if field.startswith(prefix)), _TRAINING_DEFAULT)
        b.sources[field] = source.model_copy(update={"note": note})
