"""What the reference trainer will run, decided from a TrainingPlan and `--scale`, torch-free.

`run_spec(plan, scale, steps)` keeps the plan's optimisation semantics (optimizer family,
lr, betas, eps, weight decay, the schedule's shape with its warmup fraction, clipping,
precision) and shrinks only the sizes; every change it makes is recorded as a `Change`
and everything it cannot honour as a line in `RunSpec.unsupported`, so the trainer can
say both at start instead of dropping anything silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from . import SCALES

if TYPE_CHECKING:
    from ..plan.model import TrainingPlan

OBJECTIVES = ("causal_lm", "masked_lm", "contrastive")


@dataclass(frozen=True)
class Preset:
    """The sizes one `--scale` shrinks a model and its batches to (ceilings: smaller plan values stay)."""

    layers: int
    hidden: int
    heads: int
    seq_len: int
    micro_batch: int
    vocab: int  # the tokenizer trained on the spot (a config's own tokenizer keeps its size)


PRESETS = {
    "tiny": Preset(layers=2, hidden=64, heads=4, seq_len=64, micro_batch=8, vocab=512),
    "small": Preset(layers=4, hidden=256, heads=4, seq_len=256, micro_batch=8, vocab=4096),
}
DEFAULT_LR = 3e-4  # AdamW default of most trainers, used only when the plan has no lr
DEFAULT_STEPS = 100
BERT_FAMILIES = ("bert", "roberta", "distilbert", "electra", "deberta", "modernbert")
# Families built with learned absolute positions (GPT-2 blocks); the rest are Llama-style (RoPE, RMSNorm, SwiGLU).
LEARNED_POSITION_FAMILIES = ("gpt2", "gpt_neo", "gptj", "opt", "bloom", "gpt_bigcode", "codegen")
SUPPORTED_OPTIMIZERS = ("adamw", "adam", "sgd")


@dataclass
class ModelShape:
    """The transformers model the trainer builds, random init."""

    architecture: str  # gpt2 | llama | bert
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    max_positions: int
    tie_embeddings: bool
    dropout: float
    init_std: float
    vocab: Optional[int] = None  # None: the tokenizer's size


@dataclass
class OptimizerShape:
    family: str  # adamw | adam | sgd
    lr: float
    betas: tuple[float, float]
    eps: float
    weight_decay: float


@dataclass
class ScheduleShape:
    """lr(step) = lr · warmup ramp, then the decay `kind` over `decay_steps`, floored at min_lr_ratio."""

    kind: str  # cosine | linear | constant | wsd | inverse_sqrt
    warmup_steps: int
    decay_steps: int
    min_lr_ratio: float
    wsd_decay_fraction: float = 0.2


@dataclass(frozen=True)
class Change:
    """One size or length the trainer changed from the plan, and why."""

    what: str
    planned: object
    used: object
    why: str

    def __str__(self) -> str:
        return f"{self.what}: {self.planned} -> {self.used} ({self.why})"


@dataclass
class RunSpec:
    objective: str
    model: ModelShape
    optimizer: OptimizerShape
    schedule: ScheduleShape
    micro_batch: int
    grad_accum: int
    seq_len: int
    steps: int
    clip: float  # 0: off
    precision: str  # fp32 | bf16 | fp16 (autocast) | bf16-pure
    seed: int
    mlm_probability: float = 0.15
    mlm_replacement: bool = True
    temperature: float = 0.05
    packing: bool = True
    document_mask: bool = False
    padding_side: str = "right"
    sharding: str = "ddp"  # ddp | fsdp2: how torchrun's processes split the model (the plan's fsdp / ZeRO-3)
    scale: str = "tiny"
    changes: list[Change] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def run_spec(plan: "TrainingPlan", scale: str = "tiny", steps: Optional[int] = None) -> RunSpec:
    """The run the trainer makes of `plan` at `scale`, for `steps` optimizer steps."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    unsupported: list[str] = []
    changes: list[Change] = []
    objective = _objective(plan, unsupported)
    preset = PRESETS.get(scale)
    model = _model_shape(plan, objective, preset, changes, unsupported)
    micro, accum, seq = _batch(plan, preset, changes, objective)
    model.max_positions = max(model.max_positions, seq)
    total = _run_length(plan, steps, changes)
    spec = RunSpec(
        objective=objective, model=model, optimizer=_optimizer(plan, unsupported),
        schedule=_schedule(plan, total, changes, unsupported), micro_batch=micro, grad_accum=accum,
        seq_len=seq, steps=total, clip=plan.clipping.max_norm or 0.0, precision=_precision(plan, unsupported),
        seed=plan.seed if plan.seed is not None else 0, scale=scale, changes=changes, unsupported=unsupported,
    )
    _objective_details(plan, spec)
    _mode_notes(plan, unsupported)
    return spec


def _objective(plan: "TrainingPlan", unsupported: list[str]) -> str:
    kind = plan.objective.kind
    if kind in OBJECTIVES:
        return kind
    unsupported.append(f"objective {kind!r}: the trainer has causal_lm, masked_lm and contrastive; "
                       "training causal_lm on the same model instead")
    return "causal_lm"


def _architecture(plan: "TrainingPlan", objective: str) -> str:
    family = (plan.model.family or "").lower()
    if objective == "masked_lm" or family in BERT_FAMILIES:
        return "bert"
    if family in LEARNED_POSITION_FAMILIES or plan.model.position_encoding == "learned":
        return "gpt2"
    return "llama"


def _model_shape(plan: "TrainingPlan", objective: str, preset: Optional[Preset], changes: list[Change],
                 unsupported: list[str]) -> ModelShape:
    m = plan.model
    arch = _architecture(plan, objective)
    if not (m.layers and m.hidden_size):
        fallback = preset or Preset(layers=12, hidden=768, heads=12, seq_len=1024, micro_batch=8, vocab=32000)
        unsupported.append(f"the config does not state the model's size: {fallback.layers} layers of width "
                           f"{fallback.hidden} ({'the --scale preset' if preset else 'GPT-2 small'})")
    layers = m.layers or (preset.layers if preset else 12)
    hidden = m.hidden_size or (preset.hidden if preset else 768)
    heads = m.heads or (preset.heads if preset else 12)
    kv_heads = m.kv_heads or heads
    ffn_ratio = (m.ffn_size / hidden) if (m.ffn_size and m.hidden_size) else (8 / 3 if arch == "llama" else 4.0)
    if preset is not None:
        layers = _shrink(changes, "layers", layers, preset.layers)
        new_hidden = min(hidden, preset.hidden)
        new_heads = min(heads, preset.heads)
        # Keep grouped-query attention grouped: the same heads-per-kv-head ratio when it divides.
        group = max(1, heads // kv_heads)
        new_kv = max(1, new_heads // group) if new_heads % group == 0 else new_heads
        if (new_hidden, new_heads) != (hidden, heads):
            changes.append(Change("width (hidden, heads, kv heads)", (hidden, heads, kv_heads),
                                  (new_hidden, new_heads, new_kv), f"--scale {_scale_name(preset)}"))
        hidden, heads, kv_heads = new_hidden, new_heads, new_kv
    ffn = int(round(hidden * ffn_ratio))
    if m.num_experts and m.num_experts > 1:
        unsupported.append(f"mixture of experts ({m.num_experts} experts): the trainer builds a dense MLP")
    positions = m.max_positions or 2048
    dropout = m.dropout or 0.0
    if objective == "contrastive" and dropout == 0:
        # Unsupervised SimCSE's positive pair is one sentence under two dropout masks.
        changes.append(Change("dropout", 0.0, 0.1, "the contrastive objective's positives are two dropout views"))
        dropout = 0.1
    return ModelShape(
        architecture=arch, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads, ffn=ffn,
        max_positions=positions if preset is None else min(positions, 4096),
        tie_embeddings=bool(m.tie_embeddings) if m.tie_embeddings is not None else arch != "llama",
        dropout=dropout, init_std=m.init_std or 0.02,
    )


def _scale_name(preset: Preset) -> str:
    return next(name for name, p in PRESETS.items() if p is preset)


def _shrink(changes: list[Change], what: str, planned: int, ceiling: int) -> int:
    used = min(planned, ceiling)
    if used != planned:
        changes.append(Change(what, planned, used, f"capped at {ceiling}"))
    return used


# In-batch negatives are the contrastive objective itself (InfoNCE is bounded by log(batch)):
# small scales keep up to SimCSE's 64 sentences per batch; sentences are short, so this stays cheap.
CONTRASTIVE_MICRO_BATCH = 64


def _batch(plan: "TrainingPlan", preset: Optional[Preset], changes: list[Change],
           objective: str = "causal_lm") -> tuple[int, int, int]:
    b = plan.batch
    micro = b.micro_batch_size or (preset.micro_batch if preset else 8)
    accum = b.grad_accum or 1
    seq = b.seq_len or (preset.seq_len if preset else 1024)
    if preset is None:
        return micro, accum, seq
    ceiling = CONTRASTIVE_MICRO_BATCH if objective == "contrastive" else preset.micro_batch
    micro = _shrink(changes, "micro batch", micro, ceiling)
    if accum != 1:
        # Accumulation multiplies CPU time without changing what a repro shows at this size.
        changes.append(Change("gradient accumulation", accum, 1, "one micro-batch per step at small scale"))
        accum = 1
    seq = _shrink(changes, "sequence length", seq, preset.seq_len)
    return micro, accum, seq


def _run_length(plan: "TrainingPlan", steps: Optional[int], changes: list[Change]) -> int:
    planned = plan.derived.total_steps.value
    used = steps or DEFAULT_STEPS
    if planned is None or int(planned) != used:
        changes.append(Change("steps", int(planned) if planned else "unknown", used,
                              "--steps" if steps else f"default {DEFAULT_STEPS}"))
    return used


def _optimizer(plan: "TrainingPlan", unsupported: list[str]) -> OptimizerShape:
    o = plan.optimizer
    family = (o.family or "adamw").lower()
    if family not in SUPPORTED_OPTIMIZERS:
        if o.is_adam_family:
            unsupported.append(f"optimizer {o.name or family!r}: trained with torch AdamW (same lr, betas, eps, decay)")
        else:
            unsupported.append(f"optimizer {o.name or family!r} is not in the trainer; using AdamW with the plan's lr")
        family = "adamw"
    if o.relative_step:
        unsupported.append("Adafactor's relative step (its own lr): the trainer uses the plan's lr")
    if o.mup:
        unsupported.append("muP parametrisation: the trainer uses standard parametrisation")
    return OptimizerShape(family=family, lr=o.lr or DEFAULT_LR, betas=o.betas or (0.9, 0.999),
                          eps=o.eps if o.eps is not None else 1e-8,
                          weight_decay=o.weight_decay if o.weight_decay is not None else 0.0)


KNOWN_SCHEDULES = {"cosine": "cosine", "cosine_with_min_lr": "cosine", "linear": "linear",
                   "constant": "constant", "constant_with_warmup": "constant", "wsd": "wsd",
                   "warmup_stable_decay": "wsd", "inverse_sqrt": "inverse_sqrt"}


def _schedule(plan: "TrainingPlan", total: int, changes: list[Change], unsupported: list[str]) -> ScheduleShape:
    """Warmup and decay keep their fraction of the run: the lr curve has the plan's shape over `total` steps."""
    s, d = plan.schedule, plan.derived
    kind = KNOWN_SCHEDULES.get((s.kind or "cosine").lower())
    if kind is None:
        unsupported.append(f"lr schedule {s.kind!r}: using cosine")
        kind = "cosine"
    planned_total, warmup = d.total_steps.value, d.warmup_steps.value
    if warmup is None and s.warmup_ratio is None:
        used_warmup = 0
    elif planned_total and warmup is not None:
        used_warmup = _fraction_of(warmup, planned_total, total)
    elif s.warmup_ratio is not None:
        used_warmup = math.ceil(s.warmup_ratio * total)
    else:
        used_warmup = min(int(warmup), total // 2)
    if warmup is not None and used_warmup != warmup:
        changes.append(Change("warmup steps", int(warmup), used_warmup,
                              "same fraction of the run" if planned_total else f"capped at half of {total} steps"))
    decay = d.decay_steps.value
    used_decay = _fraction_of(decay, planned_total, total) if (decay and planned_total) else total
    used_decay = max(used_decay, used_warmup + 1)
    min_ratio = s.min_lr_ratio if s.min_lr_ratio is not None else (
        s.min_lr / plan.optimizer.lr if (s.min_lr is not None and plan.optimizer.lr) else 0.0)
    shape = ScheduleShape(kind=kind, warmup_steps=used_warmup, decay_steps=used_decay, min_lr_ratio=min_ratio)
    fraction = _wsd_decay_fraction(s.wsd_decay_steps, decay or planned_total, warmup or 0)
    if kind == "wsd" and fraction is not None:
        shape.wsd_decay_fraction = fraction
    return shape


def _wsd_decay_fraction(wsd_decay: Optional[int], horizon: Optional[int], warmup: int) -> Optional[float]:
    """The share of the steps after warmup that a WSD schedule decays over (the plan's stated decay length)."""
    if not wsd_decay or not horizon or horizon <= warmup:
        return None
    return min(1.0, wsd_decay / (horizon - warmup))


def _fraction_of(part: float, whole: float, total: int) -> int:
    """`part` of `whole` steps as the same fraction of `total` steps (at least 1 when part > 0)."""
    if part <= 0:
        return 0
    return max(1, min(total, round(total * part / whole)))


def _precision(plan: "TrainingPlan", unsupported: list[str]) -> str:
    p = plan.precision
    compute = p.compute or ("bf16" if p.bf16_enabled else "fp16" if p.fp16_enabled else "fp32")
    if compute == "fp8":
        unsupported.append("fp8 matmuls: the trainer runs bf16 autocast instead")
        return "bf16"
    if compute in ("bf16", "fp16") and p.params == compute and p.mixed is False:
        return f"{compute}-pure" if compute == "bf16" else "fp16"
    return compute


def _objective_details(plan: "TrainingPlan", spec: RunSpec) -> None:
    o, data, tok = plan.objective, plan.data, plan.tokenizer
    if o.mlm_probability is not None:
        spec.mlm_probability = o.mlm_probability
    if o.mlm_replacement is not None:
        spec.mlm_replacement = o.mlm_replacement
    if o.temperature is not None:
        spec.temperature = o.temperature
    if data.packing is not None:
        spec.packing = data.packing
    spec.document_mask = bool(data.document_mask)
    if tok.padding_side:
        spec.padding_side = tok.padding_side
    parallel = plan.parallel
    if parallel.fsdp or parallel.full_shard or parallel.zero_stage == 3:
        spec.sharding = "fsdp2"


def _mode_notes(plan: "TrainingPlan", unsupported: list[str]) -> None:
    mode = plan.mode
    if mode.kind in ("lora", "qlora", "partial_finetune"):
        unsupported.append(f"{mode.kind}: the trainer trains every weight of a randomly initialised model")
    if mode.init_from:
        unsupported.append(f"starting weights {mode.init_from!r}: never downloaded; random init instead")
    if plan.parallel.tensor and plan.parallel.tensor > 1 or plan.parallel.pipeline and plan.parallel.pipeline > 1:
        unsupported.append("tensor/pipeline parallelism: the trainer runs data parallel only (torchrun)")
