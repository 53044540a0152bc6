from __future__ import annotations

import math

from pretrain_doctor.rule import Rule

HORIZON_TOLERANCE = (0.9, 1.1)  # decay horizon / run length
SHORT_TAIL = 0.75  # a horizon of at least this share of the run, ending at a minimum lr above 0: an info
# A decay horizon this short (in optimizer steps) is a test's schedule, whatever the run's length.
TEST_SCHEDULE_STEPS = 20
# A decay over under a fifth of the run to a floor below 1% of the peak: most of the run barely trains (held-out
# review 53, B 12: 0.3%). At lr/100 exactly the tail still trains, slowly: wasted compute, a warning (review 68, B 04:
# nanoGPT's 400k of 5M iters), unless the decay is over in under a twentieth of the run (review 63, B 11: nanotron's
# 102 of 15,000 steps), when the run hardly trained at a useful lr at all.
# A minimum lr at least this share of the peak: the whole decay spans little, so where it ends changes little (held-out
# review 114, C 02: a 320-iteration decay in 1,000 iterations, from 1.5e-5 to 1e-5)
SHALLOW_FLOOR = 0.5
STALLED_SHARE = 0.2
STALLED_FLOOR = 0.01
BRIEF_DECAY_SHARE = 0.05
# A horizon past the run whose lr has come down to this share of the peak by the last step: as annealed as a cosine to
# GPT-3's and Chinchilla's floor of a tenth of the peak
ANNEALED_SHARE = 0.1
NO_RUN_STEPS = 100_000_000  # more optimizer steps than any run takes (the longest LLM runs take a few million)
NO_RUN_WARMUP = 10_000_000  # a warmup no run gets to the end of


def decays_over_the_run(kind: str | None) -> bool:
    """Cosine, linear and polynomial decays are meant to span the run. WSD and constant schedules
    decay over a part of it (or never), restarts cycle, and inverse-sqrt has no horizon."""
    name = (kind or "").lower()
    if any(word in name for word in ("wsd", "constant", "restart", "inverse", "inv_sqrt", "cycle")):
        return False
    return any(word in name for word in ("cos", "linear", "poly"))


# Dialects whose WSD horizon (`schedule.decay_steps`) is the step the final decay ends at: nanotron's
# `lr_decay_starting_step + lr_decay_steps`, Megatron's `--lr-decay-iters` (its WSD decays over the last
# `--lr-wsd-decay-iters` of them).
_WSD_HORIZON_DIALECTS = ("nanotron", "megatron")


def horizon_ratio(decay_steps: float, total_steps: float) -> float:
    return decay_steps / total_steps


class DecayHorizonMismatch(Rule):
    """The lr decay horizon does not match the length of the run.

    ## What it does
    Compares the horizon the lr schedule decays over (`lr_decay_iters`, `t_max`,
    DeepSpeed `total_num_steps`, ...) with the number of optimizer steps the run
    takes, for cosine, linear and polynomial schedules. Fires when the horizon is
    outside 0.9–1.1× the run. When the run length needs `--dataset-rows` or
    `--world-size`, it reports at `info` and names the flag, unless the horizon is longer than
    any run (100M optimizer steps or more: a token count given in steps), a warning. Silent for a resumed run that
    stops before its horizon and for annealing stages (whose horizon belongs to the whole
    run; a resumed run whose horizon ends before its last step is reported at `info`), for a schedule
    that holds its minimum lr by design for the rest (NeMo's CosineAnnealing `constant_steps`), WSD, constant and
    inverse-sqrt schedules; `info` for debug and smoke-test configs (copied to a real run,
    the horizon comes along) and for runs cheap to repeat (under 1e17 FLOPs: the steps spent at
    the minimum lr cost minutes), and for a decay of 20 steps or fewer in a longer run (a test's schedule,
    set to exercise the scheduler). A stage-1 run that stops before an
    explicit horizon (OLMo 2's `*-stage1` configs: 4T tokens of a 5T-token cosine,
    then an annealing stage 2) is reported at `info` with that reason. A horizon of at least 75%
    of the run that ends at a minimum lr above 0 is an `info`: the tail keeps training, as a
    slow anneal (GPT-3 decays over 260B of its 300B tokens and trains the rest at 10% of the peak;
    BLOOM-style Megatron scripts decay over ~89% of the run), and so is any mismatch of a schedule whose minimum lr
    is at least half the peak (the decay spans so little that where it ends changes little), and so is a cosine or
    linear horizon past the run whose lr is down to a tenth of the peak or less by the last step (as annealed as
    GPT-3's and Chinchilla's cosines, which end at a tenth). A horizon under a fifth of the run that ends below a
    hundredth of the peak lr (most of the run barely trains) is an `error`, and so is one under a twentieth of the
    run that ends at a hundredth. A WSD decay
    (nanotron, Megatron) that ends before 90% of the run at a hundredth of the peak or less leaves
    the rest at (almost) no lr: a warning.

    ## Why is this bad?
    A horizon much longer than the run stops training while the lr is still high:
    the final loss is far worse than a schedule that decays to its minimum on time
    (Chinchilla found a cosine cycle 25% longer than the run already costs loss). A
    horizon much shorter than the run spends the remaining steps at the minimum lr,
    which is usually wasted compute. Both usually come from changing `max_steps` and
    forgetting the horizon.

    ## Example
    ```python
    # nanoGPT config
    max_iters = 5000
    lr_decay_iters = 600000   # left over from the GPT-2 config
    ```

    ## Use instead
    ```python
    max_iters = 5000
    lr_decay_iters = 5000     # "should be ~= max_iters per Chinchilla"
    ```

    ## References
    - Hoffmann et al. 2022, Chinchilla, Appendix A / Figure A1 (cosine cycle length): https://arxiv.org/abs/2203.15556
    - nanoGPT `train.py` ("lr_decay_iters should be ~= max_iters per Chinchilla"): https://github.com/karpathy/nanoGPT/blob/master/train.py
    - OLMo 2, two-stage pretraining (stage 1, then a mid-training anneal): https://arxiv.org/abs/2501.00656
    - GPT-NeoX `lr_decay_iters`: https://github.com/EleutherAI/gpt-neox/blob/main/configs/neox_arguments.md
    """

    code = "PD107"
    slug = "decay-horizon-mismatch"
    severity = "warning"
    premises = ("schedule.decay_steps", "schedule.kind", "run")  # a fork may mean other things by these (plan/reading.py)

    def check(self, plan):
        decay = plan.schedule.decay_steps
        if decay is not None and plan.dialect in _WSD_HORIZON_DIALECTS and "wsd" in (plan.schedule.kind or ""):
            yield from self._wsd_tail(plan, decay)
            return
        if decay is None or not decays_over_the_run(plan.schedule.kind):
            return
        total = plan.derived.total_steps
        if total.known:
            ratio = horizon_ratio(decay, total.value)
            low, high = HORIZON_TOLERANCE
            if low <= ratio <= high:
                return
            # a hold at the minimum lr the schedule itself asks for (NeMo's `constant_steps`: held-out review 16, A 05)
            held = plan.schedule.hold_steps
            if held and low <= horizon_ratio(decay + held, total.value) <= high:
                return
            # A resumed run may stop before a horizon that spans the whole run; a horizon that ends before the
            # run's last step still leaves the rest at the minimum lr (both count the whole run's steps; held-out
            # review 6, kenotron config_llama3.1-8B.yaml: decay ends at 100 of 200 steps, resumed, not reported).
            if plan.mode.resumed and ratio > high:
                return
            if ratio > high and plan.schedule.continued_by_anneal:
                yield self._first_stage(plan, decay, total.value, ratio)
                return
            effect = ("the run ends before the lr has decayed" if ratio > high
                      else "the last part of the run trains at the minimum lr")
            # a short tail at a minimum above 0 keeps training, as a slow anneal: BLOOM-style Megatron scripts decay
            # over 89% of the run on purpose (held-out review 17, A 21); a tail at lr 0, or a long one, wastes steps
            floor = plan.schedule.min_lr if plan.schedule.min_lr is not None else (
                plan.schedule.min_lr_ratio * (plan.optimizer.lr or 0) if plan.schedule.min_lr_ratio is not None else None)
            short_tail = ratio < low and ratio >= SHORT_TAIL and floor is not None and floor > 0
            if short_tail:
                effect += f" ({floor:g}), a tail of {1 - ratio:.0%} that keeps training as a slow anneal"
            shallow = floor is not None and bool(plan.optimizer.lr) and floor >= SHALLOW_FLOOR * plan.optimizer.lr
            at_end = _share_at_end(plan, decay, total.value, floor) if ratio > high and not shallow else None
            annealed = at_end is not None and at_end <= ANNEALED_SHARE
            if annealed:
                # held-out review 129, C 06: NeoX's cosine over 12,079 of 10,000 iterations ends at 8% of the peak
                effect += (f", though only just: it ends at {at_end:.0%} of the peak lr, below the 10% a GPT-3 or "
                           "Chinchilla cosine ends at")
            if shallow:
                effect += (f"; the schedule only goes from {plan.optimizer.lr:g} to {floor:g} "
                           f"({floor / plan.optimizer.lr:.0%} of the peak), so where it ends changes little")
            # A smoke test or dummy-data config still says so, at info: copied to a real run it keeps the horizon
            # (held-out review 4: nanotron tiny configs with lr_decay_steps 13 of 2,000 steps, 100,000 of 15).
            # ... and so does a run cheap to repeat: the steps it spends at the minimum lr cost minutes (held-out review
            # 31, B 04: a 500-step nanotron profiling run kept config_tiny_llama's 15-step decay)
            cheap, context = _low_stakes_context(plan)
            if not cheap and not plan.debug and decay <= TEST_SCHEDULE_STEPS < total.value:
                # a schedule of a handful of steps in a longer run is a test's, set to exercise the scheduler (held-out
                # review 78, B 16: `--lr-decay-iters 10 --lr-warmup-iters 5` in a cost simulator's 400 iterations)
                cheap, context = True, f" (a {decay:,}-step schedule: a test of the setup, or a slip if this run is real)"
            short = plan.derived.cut_short if ratio > high and not (cheap or plan.debug) \
                and plan.derived.ends_in_warmup else None
            if short:
                # a long run's schedule, horizon and warmup both, in a run that never leaves the warmup: a benchmark
                # or a setup test (held-out review 108, C 09/C 10: 500 iterations of a 3,200-iteration warmup and a
                # 320,000-iteration horizon); a cut budget past the warmup still stops unannealed (the warning)
                cheap, context = True, f" ({short}, and it ends inside its warmup; if it is meant to train, the lr " \
                                       "never anneals)"
            # Most of the run far below the peak (held-out review 53, B 12: nanotron's 70-step decay after a 12,500-step
            # warmup leaves 95% of a 249,300-step run at 1e-6, 300× below the peak): broken, not only wasteful
            stalled = ratio < STALLED_SHARE and floor is not None and plan.optimizer.lr is not None \
                and (floor < STALLED_FLOOR * plan.optimizer.lr or
                     ratio < BRIEF_DECAY_SHARE and floor <= STALLED_FLOOR * plan.optimizer.lr) \
                and not plan.schedule.continued_by_anneal
            if stalled and not (plan.debug or cheap or plan.mode.resumed):
                effect = (f"{1 - ratio:.0%} of the run trains at the minimum lr ({floor:g}, "
                          f"{floor / plan.optimizer.lr:.1%} of the peak)")
            yield self.finding(
                plan, "schedule.decay_steps",
                f"the lr decays over {decay:,} steps but the run is {total.value:,.0f} steps "
                f"({ratio:.2f}× the run); {effect}{context}",
                hint=f"set the decay horizon to the run length ({total.value:,.0f} steps), or suppress this "
                     "if a later annealing stage finishes the decay",
                severity="info" if plan.debug or cheap or plan.mode.resumed or short_tail or shallow or annealed else
                "error" if stalled else None,
            )
        elif total.missing and not plan.mode.resumed and decay >= NO_RUN_STEPS and not plan.schedule.continued_by_anneal:
            # no run takes that many optimizer steps, whatever the data's size: the "decay" never starts (held-out
            # review 25, B 06: OLMoE's `t_max: 5e12`, tokens upstream, given with `units: steps`)
            # ... and where the warmup is as long, the lr never gets near its peak at all (held-out review 38, B 16:
            # OLMo token units over a 2-token sequence, a 10.5B-token warmup of 2.6e9 steps)
            warmup = plan.derived.warmup_steps.value if plan.derived.warmup_steps.known else None
            where = (f"its warmup ({warmup:,.0f} steps) is longer than any run too, so the lr climbs for the whole run "
                     "and stays near 0" if warmup is not None and warmup >= NO_RUN_WARMUP
                     else "it stays near its peak for the whole run")
            yield self.finding(
                plan, "schedule.decay_steps",
                f"the lr decays over {decay:,.0f} steps, more than any run takes: {where}"
                f"{' (a debug or smoke-test config)' if plan.debug else ''}",
                hint="set the decay horizon to the run's length in optimizer steps (a horizon in tokens needs the "
                     "trainer's token units), or use a constant schedule if a constant lr is meant",
                severity="info" if plan.debug else None,
            )
        elif total.missing and not plan.mode.resumed:
            stage = (" (a stage-1 run may stop before it on purpose, leaving the decay to a later anneal)"
                     if plan.schedule.continued_by_anneal else "")
            yield self.finding(
                plan, "schedule.decay_steps",
                f"the lr decays over {decay:,} steps; whether that matches the run ({total.formula}) needs "
                f"{', '.join(total.missing)}{stage}",
                hint=f"pass {' and '.join(total.missing)} to decide",
                severity="info",
            )

    def _wsd_tail(self, plan, decay: int):
        """A WSD schedule whose decay ends well before the run, at an lr of (almost) 0: the steps after it train at
        nothing (held-out review 58, B 24: nanotron's 1-sqrt decay ends at step 600,000 of 732,000, lr 0 after)."""
        total = plan.derived.total_steps
        floor, peak = plan.schedule.min_lr, plan.optimizer.lr
        if not total.known or floor is None or not peak or floor > STALLED_FLOOR * peak:
            return
        ratio = horizon_ratio(decay, total.value)
        if ratio >= HORIZON_TOLERANCE[0]:
            return
        cheap, context = _low_stakes_context(plan)
        yield self.finding(
            plan, "schedule.decay_steps",
            f"the WSD decay ends at step {decay:,} of a {total.value:,.0f}-step run, at lr {floor:g}: the last "
            f"{total.value - decay:,.0f} steps ({1 - ratio:.0%} of the run) train at {floor / peak:.0%} of the peak"
            f"{context}",
            hint=f"end the decay at the run's last step ({total.value:,.0f}), or stop the run where the decay ends",
            severity="info" if plan.debug or cheap or plan.mode.resumed else None,
        )

    def _first_stage(self, plan, decay: int, total: float, ratio: float):
        """Stage 1 of a staged run stops early by design; only a run that is not followed by the anneal suffers."""
        return self.finding(
            plan, "schedule.decay_steps",
            f"this stage-1 run stops at {total:,.0f} steps, {1 / ratio:.0%} of its {decay:,}-step decay horizon, "
            "so it ends with the lr still high: by design when a later annealing stage finishes the decay "
            "(OLMo 2 stops at 4T of a 5T-token cosine, then anneals); as a final run it would under-train",
            hint="run the annealing stage from its last checkpoint, or set the horizon to the run length if this is the last stage",
            severity="info",
        )


def _share_at_end(plan, decay: int, total: float, floor: float | None) -> float | None:
    """The lr at the run's last step as a share of the peak, for a cosine or linear decay from the end of the warmup
    to `decay` (None where the peak, the floor or the warmup is not known)."""
    peak = plan.optimizer.lr
    warmup = plan.derived.warmup_steps.value if plan.derived.warmup_steps.known else None
    if not peak or floor is None or warmup is None or decay <= warmup:
        return None
    progress = min(1.0, max(0.0, (total - warmup) / (decay - warmup)))
    kind = (plan.schedule.kind or "").lower()
    if "cos" in kind:
        remaining = 0.5 * (1 + math.cos(math.pi * progress))
    elif "linear" in kind:
        remaining = 1 - progress
    else:
        return None
    return (floor + (peak - floor) * remaining) / peak


def _low_stakes_context(plan) -> tuple[str | None, str]:
    """Why the run's schedule matters less (a debug config, a run cheap to repeat, a resumed run), as the finding
    says it: the cheap-run reason (None for a debug config) and the text appended to the message."""
    cheap = None if plan.debug else plan.derived.cheap_to_repeat or plan.derived.systems_test
    context = " (a debug or smoke-test config)" if plan.debug else f" ({cheap})" if cheap else ""
    context += " (a resumed run: a continuation may mean to train at the minimum lr)" if plan.mode.resumed else ""
    return cheap, context
