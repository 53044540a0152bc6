from __future__ import annotations

import math
from typing import Optional

from pretrain_doctor.rule import Rule, given_not_defaulted

# What each trainer does with a global batch that micro × data-parallel does not divide.
# litgpt: batch_size = GBS // world, GA = batch_size // micro (floors); axolotl:
# GA = batch_size // micro (floors); OLMo: device batch = GBS // world (floors; it then
# splits each rank's batch into micro-batches itself); torchtitan and DeepSpeed (NeoX) assert.
# llm-foundry raises on a global batch its ranks do not split (config_utils.update_batch_size_info); Megatron (and
# Megatron-DeepSpeed) asserts it in its micro-batch calculator (microbatches.py ConstantNumMicroBatches: "global
# batch size is not divisible by micro batch size times data parallel size"; held-out review 59, B 04), and so does
# NeMo, 1.x and 2, through the same calculator (megatron_init.py setup_microbatch_calculator; held-out review 137, D 01).
_ASSERTS = {"torchtitan", "deepspeed", "neox", "llmfoundry", "megatron", "nemo", "nemo2"}
_FLOORS = {"litgpt", "axolotl", "olmo"}
# Trainers that split each rank's batch into micro-batches themselves: OLMo, and llm-foundry, which lowers a
# `device_train_microbatch_size` above the rank's batch to it and lets Composer run a last, smaller micro-batch
# (held-out review 15, A 13: a global batch of 1 with micro-batch 64 trains at 1 on one GPU).
_SPLITS_ITSELF = {"olmo", "llmfoundry"}


# Data-parallel ranks the sizes of a batch ramp must split across before an unknown world size is worth an info.
_RAMP_RANKS_WORTH_SAYING = 8


def _ramp_sizes(start: int, increment: int, final: int, ramp_samples: int, run_samples: Optional[int]) -> list[int]:
    """The global batch sizes Megatron's RampupBatchsizeNumMicroBatches steps through in the run (`start + k ×
    increment` while the samples consumed are under `k × ramp_samples / increments`, then `final`)."""
    increments = (final - start) // increment
    if increments < 1:  # no ramp at all: the global batch from the start
        return [final]
    per_increment = ramp_samples / increments
    sizes = []
    for k in range(increments):
        if run_samples is not None and k * per_increment >= run_samples:
            return sizes
        sizes.append(start + k * increment)
    return sizes + [final] if run_samples is None or run_samples > ramp_samples else sizes


def _written_global(plan) -> bool:
    """The nanoGPT reader saw the accumulation written as upstream's newer global `N * GPUs` count."""
    return any(n.data.get("code") == "PD401" and n.data.get("written_global") for n in plan.notes)


def _effective(global_batch: int, micro: int, dp: int, whole_micro_batches: bool = True) -> int:
    per_device = global_batch // dp
    if not whole_micro_batches:
        return per_device * dp
    return (per_device // micro) * micro * dp


class BatchNotDivisible(Rule):
    """The global batch is not a multiple of micro-batch × data-parallel size.

    ## What it does
    Checks that the configured global (or axolotl per-device) batch is a whole number
    of micro-batches on every data-parallel rank, and that nanoGPT's global
    `gradient_accumulation_steps` divides by the world size. Severity follows what the
    trainer does (OLMo and llm-foundry split each rank's batch into micro-batches themselves, so
    only the split across ranks counts there): litgpt, axolotl and OLMo floor silently (warning, with the batch you
    actually get); nanoGPT, torchtitan, DeepSpeed, llm-foundry, Megatron and NeMo (1.x and 2, Megatron's
    micro-batch calculator) refuse to start (error).
    Without `--world-size` only what fails for every world size is reported. Where the nanoGPT
    train.py that runs is not at hand, an indivisible accumulation is a warning when the config
    writes it as upstream's newer global `5 * 8`, and an info when it writes a plain count, which is
    what configs of the older, per-GPU train.py write.
    Megatron's `--rampup-batch-size START INCREMENT SAMPLES` is checked the same way at
    every size the ramp passes through (Megatron asserts it at each step unless
    `--decrease-batch-size-if-needed`; without a world size, an info says how many
    data-parallel ranks the sizes allow when that is under 8), and a ramp longer than
    the run is reported: the run never trains at its `--global-batch-size`.

    ## Why is this bad?
    A flooring trainer trains with a smaller batch than the config says (litgpt:
    `global_batch_size // devices // micro_batch_size` accumulation steps), so the lr,
    token budget and step count no longer match the plan; an asserting trainer fails
    after the job has queued and loaded.

    ## Example
    ```yaml
    # litgpt, 8 GPUs
    train:
      global_batch_size: 100
      micro_batch_size: 4
    ```

    ## Use instead
    ```yaml
    train:
      global_batch_size: 128   # 4 × 4 accumulation steps × 8 GPUs
      micro_batch_size: 4
    ```

    ## References
    - litgpt TrainArgs.gradient_accumulation_iters (floor division): https://github.com/Lightning-AI/litgpt/blob/main/litgpt/args.py
    - nanoGPT train.py: `assert gradient_accumulation_steps % ddp_world_size == 0`: https://github.com/karpathy/nanoGPT/blob/master/train.py
    - torchtitan train.py: "global batch size must be multiple of local batch size times data-parallel degree": https://github.com/pytorch/torchtitan/blob/main/torchtitan/train.py
    - OLMo scripts/train.py: `device_train_batch_size = global_train_batch_size // world_size`: https://github.com/allenai/OLMo/blob/main/scripts/train.py
    - Megatron-LM RampupBatchsizeNumMicroBatchesCalculator (megatron/core/num_microbatches_calculator.py): https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/num_microbatches_calculator.py
    - axolotl batch-size normalisation (GA = batch_size // micro_batch_size): https://github.com/axolotl-ai-cloud/axolotl/blob/main/src/axolotl/utils/config/__init__.py
    """

    code = "PD401"
    slug = "batch-not-divisible"
    severity = "warning"
    premises = ("batch",)  # a fork may mean other things by these (plan/reading.py)

    def check(self, plan):
        yield from self._nanogpt_accumulation(plan)
        yield from self._per_device_batch(plan)
        yield from self._global_batch(plan)
        for note in (n for n in plan.notes if n.data.get("code") == self.code and n.data.get("rampup")):
            yield from self._rampup(plan, note)

    def _rampup(self, plan, note):
        """Megatron's `--rampup-batch-size`: a ramp longer than the run, and ramp sizes the ranks cannot split."""
        ramp, final, micro = note.data, plan.batch.global_batch_size, plan.batch.micro_batch_size
        start, increment = ramp.get("start"), ramp.get("increment")
        ramp_samples, run_samples = ramp.get("ramp_samples"), ramp.get("run_samples")
        if ramp_samples and run_samples and final and ramp_samples >= run_samples:
            low_stakes = plan.derived.low_stakes
            yield self._at_ramp(
                plan, note, "info" if low_stakes else "warning",
                f"the batch ramps up over {ramp_samples:,} samples but the run trains on {run_samples:,}: it never "
                f"reaches --global-batch-size {final}, so the lr and the step count are tuned for a batch it does not "
                "train with" + (f" ({low_stakes})" if low_stakes else ""),
                f"shorten the ramp to a few percent of the run's {run_samples:,} samples, or drop --rampup-batch-size")
        if not (start and increment and final and micro) or ramp.get("decreases"):
            return
        if final < start or (final - start) % increment:
            yield self._at_ramp(
                plan, note, "error",
                f"--global-batch-size {final} minus the ramp's start {start} is not a multiple of its increment "
                f"{increment}: Megatron refuses to start (\"expected global batch size interval to be divisible by "
                "global batch size increment\")",
                f"make {final} − {start} a multiple of the increment")
            return
        sizes = _ramp_sizes(start, increment, final, ramp_samples, run_samples) if ramp_samples else \
            list(range(start, final + 1, increment))
        yield from self._ramp_split(plan, note, sizes, micro)

    def _ramp_split(self, plan, note, sizes: list[int], micro: int):
        """Every ramp size a multiple of micro × data-parallel ranks (microbatches.py asserts it at each step)."""
        shown = ", ".join(str(size) for size in sizes[:4]) + (f", …, {sizes[-1]}" if len(sizes) > 4 else "")
        hint = "ramp by a multiple of micro-batch × data-parallel ranks, or add --decrease-batch-size-if-needed"
        dp = plan.derived.data_parallel
        if dp.known:
            bad = next((size for size in sizes if size % (micro * int(dp.value))), None)
            if bad is not None:
                yield self._at_ramp(
                    plan, note, "error",
                    f"the batch ramps through {shown}; {bad} is not divisible by micro-batch {micro} × "
                    f"{int(dp.value)} data-parallel ranks, so Megatron stops there (AssertionError: current global "
                    "batch size is not divisible by micro-batch-size times data-parallel-size)", hint)
            return
        common = math.gcd(*sizes)
        if common % micro:
            yield self._at_ramp(plan, note, "error", f"the batch ramps through {shown}: no world size splits them into "
                                f"micro-batches of {micro}, so Megatron stops at the first ramp step", hint)
        elif common // micro < _RAMP_RANKS_WORTH_SAYING:
            yield self._at_ramp(
                plan, note, "info",
                f"the batch ramps through {shown}: they split into micro-batches of {micro} on at most "
                f"{common // micro} data-parallel ranks; on more, Megatron stops at the first size they do not divide "
                "(AssertionError)", hint)

    def _at_ramp(self, plan, note, severity: str, message: str, hint: str):
        """A finding at the `--rampup-batch-size` the Megatron reader's note points to."""
        found = self.finding_from_note(plan, note, severity=severity)
        found.message, found.hint = message, hint
        return found

    def _severity(self, plan) -> Optional[str]:
        return "error" if plan.dialect in _ASSERTS else None

    def _nanogpt_accumulation(self, plan):
        b = plan.batch
        world = plan.parallel.world_size
        # the train.py that runs not at hand: upstream's since 2023-04-17 divides and asserts (held-out review 60,
        # B 18: 40 steps on 32 ranks), an older one accumulates per GPU
        unread = not b.grad_accum_is_global and plan.dialect == "nanogpt" \
            and "batch.grad_accum_is_global" in plan.unknown
        if not ((b.grad_accum_is_global or unread) and b.grad_accum and world) or b.grad_accum % world == 0:
            return
        yield self.finding(
            plan, "batch.grad_accum",
            f"gradient_accumulation_steps = {b.grad_accum} is not divisible by the world size {world}; "
            + ("nanoGPT's train.py since 2023-04-17 divides it by the world size and asserts at start-up (the "
               "train.py that runs is not at hand; an older one accumulates per GPU)" if unread else
               "nanoGPT divides it by the world size and asserts at start-up"),
            hint=f"use a multiple of {world}, e.g. {max(world, b.grad_accum // world * world)}",
            # unread, a plain indivisible count is what the older train.py's configs write (`5` per GPU), upstream's
            # newer ones write `5 * 8` (held-out review 66, B 11 and B 25: forks of the early-2023 train.py)
            severity=("warning" if _written_global(plan) else "info") if unread else "error",
        )

    def _per_device_batch(self, plan):
        b = plan.batch
        if not (b.per_device_batch_size and b.micro_batch_size) or b.per_device_batch_size % b.micro_batch_size == 0:
            return
        accum = b.per_device_batch_size // b.micro_batch_size
        yield self.finding(
            plan, "batch.per_device_batch_size",
            f"batch size {b.per_device_batch_size} is not a multiple of the micro-batch {b.micro_batch_size}; "
            f"gradient accumulation is floored to {accum}, so each device trains on {accum * b.micro_batch_size}",
            hint=f"use a multiple of {b.micro_batch_size}",
            severity=self._severity(plan),
        )

    def _global_batch(self, plan):
        b = plan.batch
        # A trainer's default global batch counts too (litgpt's script defaults): it is what runs.
        if b.grad_accum_is_global or not (b.global_batch_size and b.micro_batch_size):
            return
        under_deepspeed = plan.dialect == "deepspeed" or plan.parallel.deepspeed_config is not None
        if under_deepspeed and given_not_defaulted(plan, "batch.grad_accum"):
            return  # all three DeepSpeed values given: PD402 checks the product
        gbs, micro = b.global_batch_size, b.micro_batch_size
        dp = plan.derived.data_parallel
        if not dp.known:
            if gbs % micro and plan.dialect not in _SPLITS_ITSELF:
                yield self.finding(
                    plan, "batch.global_batch_size",
                    f"global batch {gbs} is not a multiple of the micro-batch {micro}, so no world size divides it "
                    "into whole micro-batches",
                    hint=f"use a multiple of {micro} × the number of GPUs",
                    severity=self._severity(plan),
                )
            return
        ranks = int(dp.value)
        olmo = plan.dialect in _SPLITS_ITSELF  # only the rank split must be even
        unit = ranks if olmo else micro * ranks
        if gbs % unit == 0:
            return
        divisor = f"{ranks} data-parallel ranks" if olmo else f"micro-batch {micro} × {ranks} data-parallel ranks"
        message = f"global batch {gbs} is not divisible by {divisor}"
        severity = self._severity(plan)
        if plan.dialect in _FLOORS:
            effective = _effective(gbs, micro, ranks, whole_micro_batches=not olmo)
            if effective:
                message += f"; {plan.dialect} floors it and trains with {effective} samples per step"
            else:
                message += f"; {plan.dialect} computes 0 accumulation steps and refuses to start"
                severity = "error"
        elif plan.dialect in _ASSERTS:
            message += f"; {plan.dialect} refuses to start"
        yield self.finding(plan, "batch.global_batch_size", message, hint=f"use a multiple of {unit}", severity=severity)
