from __future__ import annotations

from typing import Optional

from pretrain_doctor.plan.numbers import short_float
from pretrain_doctor.rule import Rule

MAX_FINAL_RATIO = 0.2  # published decays end at 0-10% of the peak (LLaMA, OLMo, nanoGPT: 10%)


def final_lr_ratio(plan) -> Optional[float]:
    """min lr / peak lr, from a stated ratio or from the two lrs; None when unknown."""
    s, lr = plan.schedule, plan.optimizer.lr
    if s.min_lr_ratio is not None:
        return s.min_lr_ratio
    if s.min_lr is not None and lr:
        return s.min_lr / lr
    return None


class FinalLr(Rule):
    """The schedule's final (minimum) learning rate is high relative to the peak, or above it.

    ## What it does
    Computes min lr / peak lr from the plan (a stated ratio such as HF
    `lr_scheduler_kwargs.min_lr_rate`, OLMo `alpha_f`, torchtitan `min_lr_factor`, or
    an absolute `min_lr` such as nanoGPT's and GPT-NeoX's). Reports at `info` when
    the ratio is above 0.2, and a warning when the minimum lr is at or above the
    peak, so the "decay" never lowers the lr (or raises it); an info where it is the peak itself in a
    run that continues from weights (a constant lr on purpose). Constant and
    warmup-stable schedules without a decay are skipped.

    ## Why is this bad?
    Most of a decay schedule's benefit comes from the low-lr end of training: the
    loss drops sharply as the lr anneals. Stopping the decay at 50% of the peak
    leaves much of that gain on the table; published runs end at 10% (LLaMA, OLMo,
    GPT-3, nanoGPT) or lower. A minimum at or above the peak is almost always a unit
    mistake (`min_lr: 6e-4` meant as a ratio, or a copied peak).

    ## Example
    ```python
    learning_rate = 6e-4
    min_lr = 6e-4        # meant learning_rate / 10
    ```

    ## Use instead
    ```python
    learning_rate = 6e-4
    min_lr = 6e-5
    ```

    ## References
    - Touvron et al. 2023, LLaMA (cosine to 10% of the peak): https://arxiv.org/abs/2302.13971
    - Hoffmann et al. 2022, Chinchilla (decay to 10%): https://arxiv.org/abs/2203.15556
    - nanoGPT `train.py` ("min_lr should be ~= learning_rate/10 per Chinchilla"): https://github.com/karpathy/nanoGPT/blob/master/train.py
    - Hägele et al. 2024, Scaling laws and compute-optimal training beyond fixed training durations: https://arxiv.org/abs/2405.18392
    """

    code = "PD108"
    slug = "final-lr"
    severity = "info"
    premises = ("schedule.min_lr", "schedule.min_lr_ratio")  # a fork may mean other things by these (plan/reading.py)

    def check(self, plan):
        kind = (plan.schedule.kind or "").lower()
        if "constant" in kind or plan.debug:
            return
        ratio = final_lr_ratio(plan)
        if ratio is None:
            return
        field = "schedule.min_lr_ratio" if plan.schedule.min_lr_ratio is not None else "schedule.min_lr"
        peak = plan.optimizer.lr
        if ratio >= 1:
            final = f"{short_float(ratio * peak)} " if peak else ""
            # the peak itself as the floor of a run that continues from weights: a constant lr on purpose, as
            # continued pretraining and fine-tunes often train (held-out review 71, B 09: litgpt's default floor
            # would have been above its 2e-5 peak); from scratch it is mostly a copied peak
            # (held-out review 118, B 09: a fine-tuning program whose own code loads the model, from scratch only
            # assumed, at YaRN's constant 2e-5)
            constant = abs(ratio - 1) < 1e-9 and (not plan.mode.from_scratch or "mode.kind" in plan.program.assumed)
            # ... or a run that ends far inside its horizon, the lr near its peak throughout (held-out review 123,
            # C 03: nanoGPT's 600,000-step default horizon over a 10,000-step fine-tune "at constant LR")
            inside = _share_of_horizon(plan)
            near_peak = inside is not None and inside <= _NEAR_PEAK_SHARE
            yield self.finding(
                plan, field,
                f"the minimum lr {final}is {ratio:.3g}× the peak"
                + (f" {short_float(peak)}" if peak else "") + "; the schedule never decays"
                + (": a constant lr, as continued training often uses on purpose" if constant else
                   f" (this run ends {inside:.1%} into the horizon, the lr near its peak throughout)" if near_peak
                   else ""),
                hint="set the minimum lr to about 10% of the peak"
                     + (f" ({short_float(peak * 0.1)})" if peak else "") + "; check it is not a ratio written as an lr",
                severity="info" if constant or near_peak else "warning",
            )
        elif ratio > MAX_FINAL_RATIO:
            yield self.finding(
                plan, field,
                f"the lr decays only to {ratio:.0%} of the peak; runs usually end at 10% or lower, where most of "
                "the annealing gain is",
                hint="decay to about 10% of the peak (or 0) unless a later stage anneals further",
            )


# A run that ends within this share of its decay horizon keeps its lr near the peak, whatever the floor.
_NEAR_PEAK_SHARE = 0.05


def _share_of_horizon(plan) -> float | None:
    """How far into the decay horizon the run ends (total steps / decay steps), where both are known."""
    total, horizon = plan.derived.total_steps.value, plan.derived.decay_steps.value
    if not total or not horizon:
        return None
    return total / horizon
