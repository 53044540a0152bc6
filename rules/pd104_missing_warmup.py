from __future__ import annotations

import math

from pretrain_doctor.lazyre import lazy_compile
from pretrain_doctor.plan.lr_bands import published_band, reference_band
from pretrain_doctor.plan.numbers import short_float
from pretrain_doctor.rule import Edit, Fix, Rule, hf_constant_schedule, warmup_example

# The rule's own advice: about 1% of a from-scratch run, 3% of a fine-tune.
_FROM_SCRATCH_FRACTION = 0.01
_FINETUNE_FRACTION = 0.03

# An lr this many times below the published band for its size (at its batch) takes small first steps: a missing
# warmup is an info there (held-out review 44, B 25: GPT-2 small at 6e-5, a tenth of its band, as nanoGPT's own
# finetune_shakespeare.py runs with no warmup at 3e-5).
_GENTLE_BELOW_BAND = 5.0


def _named_without_warmup(plan) -> str | None:
    """The config's file name says no warmup is the point (`small-NoWarmup-SmallEmb-Pile.yml`, an ablation of
    warmup's effect: held-out review 118, C 20): the missing warmup is the experiment, not a slip."""
    name = plan.files[0].replace("\\", "/").rsplit("/", 1)[-1] if plan.files else ""
    if _NO_WARMUP_NAME.search(name.lower().replace("-", "").replace("_", "")):
        return "the file's name says no warmup is the experiment's choice"
    return None


_NO_WARMUP_NAME = lazy_compile(r"no(lr)?warm(up)?|warmup0(?!\d)|wu0(?!\d)")


class MissingWarmup(Rule):
    """An Adam-family optimizer starts at its peak learning rate, with no warmup.

    ## What it does
    Fires when a run with an Adam-family optimizer (Adam, AdamW, 8-bit and fused
    variants) has no learning-rate warmup: warmup steps and ratio both absent or 0.
    A warning for pretraining from scratch; `info` for a model under 30M parameters (a
    pre-LN model that small usually trains without warmup: held-out review 15, B 17, a 3-layer
    study model), for a run cheap to repeat (under 1e17 FLOPs), for a peak lr 5× or more below the
    published AdamW band for the model's size (its first steps stay small), for fine-tuning, LoRA, preference
    tuning and continued pretraining from a checkpoint. Silent for resumed runs and
    annealing stages (the optimizer state is restored, so there is nothing to warm
    up), for debug configs, for runs so short that the usual warmup (1% from scratch, 3% for a
    fine-tune) is under one step (a benchmark of a few steps), for optimizers outside the Adam family, and when the
    format cannot say where the weights come from (a bare DeepSpeed JSON, whose
    training script builds the model and often the schedule). A warmup the schedule
    ignores (HF `constant` with `warmup_ratio`) is reported once, by PD002.

    `check --unsafe-fixes` adds the warmup this page advises, at the key the trainer reads
    (`warmup_steps`/`warmup_ratio` for HF, axolotl and LLaMA-Factory, `train.lr_warmup_steps`
    for litgpt, `lr_scheduler.warmup_steps` for torchtitan, ...): 1% of the steps from
    scratch, 3% for a fine-tune, in steps when the run length is known, else as a ratio where
    the trainer takes one. The fix is unsafe: it changes the learning-rate schedule, and the
    length is a rule of thumb, not something the config says.

    ## Why is this bad?
    Adam's second-moment estimate is built from very few gradients in the first
    steps, so its updates are large and noisy exactly when the network is least
    stable; without warmup a from-scratch run often spikes or diverges early
    (Liu et al. 2020, RAdam; Ma & Yarats 2021). Every published LLM pretraining
    config warms up (GPT-3: 375M tokens; LLaMA: 2,000 steps). After loading
    pretrained weights with a fresh optimizer the same early noise can undo
    pretraining, which is why fine-tuning recipes keep a short warmup.

    ## Example
    ```yaml
    optimizer: {family: adamw, lr: 3.0e-4}
    schedule: {kind: cosine}
    run: {max_steps: 100000}
    ```

    ## Use instead
    ```yaml
    optimizer: {family: adamw, lr: 3.0e-4}
    schedule: {kind: cosine, warmup_steps: 2000}
    run: {max_steps: 100000}
    ```

    ## References
    - Liu et al. 2020, On the Variance of the Adaptive Learning Rate and Beyond: https://arxiv.org/abs/1908.03265
    - Ma & Yarats 2021, On the adequacy of untuned warmup for adaptive optimization: https://arxiv.org/abs/1910.04209
    - Goyal et al. 2017, gradual warmup: https://arxiv.org/abs/1706.02677
    - Xiong et al. 2020, On Layer Normalization in the Transformer Architecture (pre-LN trains without
      warmup): https://arxiv.org/abs/2002.04745
    - Gupta et al. 2023, Continual pre-training of LLMs: how to (re)warm your model?: https://arxiv.org/abs/2308.04014
    """

    code = "PD104"
    slug = "missing-warmup"
    severity = "warning"
    premises = ("schedule.warmup_steps", "schedule.warmup_ratio", "mode.kind")  # a fork may mean other things by these; a launched program may decide the run kind (plan/reading.py)
    fix_availability = "sometimes"

    def check(self, plan):
        if plan.mode.resumed or plan.debug or not plan.optimizer.is_adam_family:
            return
        if not plan.starting_point_known:
            return  # a bare DeepSpeed JSON: the script decides what is loaded (and may own the schedule)
        warmup = plan.derived.warmup_steps
        if warmup.value is None and warmup.inputs:
            return  # a warmup ratio whose step count is unknown is still a warmup
        if {"schedule.warmup_steps", "schedule.warmup_ratio"} & set(plan.unknown):
            return  # set at launch (`--lr-warmup-samples ${N}` with an unknown batch): not known to be absent
        if warmup.value:
            return
        if any(note.data.get("warmup_ignored") for note in self.notes_for(plan, "ignored-key")):
            return  # a warmup written but dropped by the schedule: PD002 says so, once
        total = plan.derived.total_steps.value
        fraction = _FROM_SCRATCH_FRACTION if plan.mode.from_scratch else _FINETUNE_FRACTION
        if total is not None and total * fraction < 1:
            return  # the usual warmup is under one step: a benchmark or a smoke test (held-out review 111, D 10: 2 steps)
        field = self._field(plan)
        if plan.mode.from_scratch:
            # a small model survives it; a cheap run is soon run again; an lr far below its size's band takes
            # small steps from the first one
            low_stakes = plan.derived.low_stakes or _gentle_lr(plan) or _named_without_warmup(plan)
            yield self.finding(
                plan, field,
                f"{plan.optimizer.family} starts at its peak lr{self._lr(plan)} with no warmup; "
                "early Adam updates are large and noisy and from-scratch runs often spike or diverge"
                + (f" ({low_stakes})" if low_stakes else ""),
                hint=self._hint(plan),
                severity="info" if low_stakes else None,
                fix=self._fix(plan, _FROM_SCRATCH_FRACTION),
            )
        else:
            yield self.finding(
                plan, field,
                f"{plan.optimizer.family} with a fresh optimizer state starts at the peak lr with no warmup; "
                + ("the adapters' first updates, from Adam's uninformed moments, are its noisiest at full size"
                   if plan.mode.kind in ("lora", "qlora") else
                   # what a partial fine-tune trains may be new parameters only (held-out review 114, B 14: BiTA's
                   # `finetuning_type: pt2`, prompt tokens over a frozen model; LLaMA-Pro's added blocks)
                   "the first updates, from Adam's uninformed moments, are its noisiest at full size"
                   if plan.mode.kind == "partial_finetune" else
                   "the first noisy updates can disturb the pretrained weights"),
                hint=self._finetune_hint(plan),
                severity="info",
                fix=self._fix(plan, _FINETUNE_FRACTION),
            )

    @staticmethod
    def _fix(plan, fraction: float) -> Fix | None:
        if hf_constant_schedule(plan):
            return None  # HF's `constant` schedule ignores a warmup: the scheduler itself has to change
        total = plan.derived.total_steps.value
        if total:
            steps = max(1, math.ceil(fraction * total))
            choices = [("schedule.warmup_steps", steps), ("schedule.warmup_ratio", fraction)]
            title = f"add a warmup of {steps} steps ({fraction:.0%} of {int(total)})"
        else:
            choices = [("schedule.warmup_ratio", fraction)]
            title = f"add a warmup of {fraction:.0%} of the steps"
        return Fix.unsafe(title, Edit.set_field(*choices))

    @staticmethod
    def _hint(plan) -> str:
        """About 1% of this run's steps, the count the fix writes (a fixed 2,000 steps was 10% of the README's
        20,000-step demo), at the key this trainer reads."""
        example = warmup_example(plan, _FROM_SCRATCH_FRACTION, ratio=False)
        return f"add a warmup of about 1% of the run (e.g. {example})" if example else "add a warmup of about 1% of the run"

    @staticmethod
    def _finetune_hint(plan) -> str:
        example = warmup_example(plan, _FINETUNE_FRACTION, ratio=True)
        return f"a short warmup (3–10% of the steps{f', e.g. {example}' if example else ''}) is the usual fine-tuning choice"

    @staticmethod
    def _lr(plan) -> str:
        return f" {short_float(plan.optimizer.lr)}" if plan.optimizer.lr else ""

    @staticmethod
    def _field(plan) -> str:
        for field in ("schedule.warmup_steps", "schedule.warmup_ratio", "schedule.kind"):
            if field in plan.sources and plan.sources[field].line is not None:
                return field
        return "schedule"


def _gentle_lr(plan) -> str | None:
    """Why the peak lr is low enough that early Adam steps stay small (`_GENTLE_BELOW_BAND` below the published
    band for the model's size, scaled to the batch where it is known), or None."""
    lr, parameters = plan.optimizer.lr, plan.derived.parameters
    if not lr or not parameters.known:
        return None
    tokens = plan.derived.tokens_per_step
    band = reference_band(parameters.value, tokens.value) if tokens.known else published_band(parameters.value)
    if band is None or lr * _GENTLE_BELOW_BAND > band.low:
        return None
    return (f"a peak lr {band.low / lr:.0f}× below the AdamW band for its size ({band.label()}), whose first steps "
            "stay small")
