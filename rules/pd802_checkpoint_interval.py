from __future__ import annotations

from typing import Optional

from pretrain_doctor.rule import Rule, written_in_a_file

SHORT_RUN_STEPS = 100  # smoke tests need no intermediate checkpoint
SHORT_STAGE_STEPS = 1_000  # a resumed stage this short loses little on a crash: it restarts from its checkpoint
ONE_NODE = 8  # processes
# A full run of a model this large that saves every few steps, this many times, spends much of its time writing
# checkpoints (each takes minutes) and, all of them kept, petabytes of disk (held-out review 65, B 12: CodeGeeX-13B
# every 10 of 100,000 iterations). Every 1,000 steps of a long pretraining run is common practice: not judged.
MANY_SAVES = 1_000
MANY_SAVES_PARAMS = 1e9
EVERY_FEW_STEPS = 20
# An interval this many times the run is a "never" (`checkpoint_interval: 9999999`): checkpointing turned off on
# purpose, judged as PD801 judges a switch that is off (held-out review 68, B 14: a 3B nanotron run).
NEVER_FACTOR = 100
# Bytes a parameter takes in a full-training checkpoint: bf16 weights, fp32 master copy and Adam's two moments.
CHECKPOINT_BYTES_PER_PARAM = 14
WEIGHTS_BYTES_PER_PARAM = 2  # a checkpoint of the bf16 weights alone (HF `save_only_model`)
# Checkpoints kept that fill this much disk: worth knowing before the run (held-out reviews 85 A 07, 86 A 03, 87 A 01
# and B 03, 88 B 10: full fine-tunes saving every few steps with no `save_total_limit`, terabytes kept).
MANY_BYTES_KEPT = 1e12


class CheckpointInterval(Rule):
    """The checkpoint interval is as long as the run, so nothing is saved before the end.

    ## What it does
    Compares the checkpoint interval in optimizer steps (HF `save_steps`, litgpt
    `save_interval`, OLMo `save_interval`, torchtitan `checkpoint.interval`) with the
    run length, and fires when the interval is as long as the run or longer: the
    first checkpoint, if any, comes at the very end. Silent when checkpointing is off
    (PD801), when the run length is unknown, for runs of 100 steps or fewer, and for
    debug configs. An info for a long recipe's schedule cut short (its lr decays over 100 times the run or more:
    a benchmark), and for a run cheap to repeat, as PD801 judges it: under 1e17 FLOPs,
    or, the model's size unknown, under 2M training tokens. A resumed run whose config names the
    step it continues from (nanotron's checkpoint folder) is judged on the steps it trains from
    there, at info when that stage is under 1,000 steps (a crash restarts it from its checkpoint); so is
    a resumed run of under 1,000 steps that goes on from a checkpoint's step the config does not say, and
    a LoRA/QLoRA fine-tune of under 1,000 steps on at most one node, and a run whose interval and
    length are both written and equal (`--max_steps=500 --save_steps=500`: a save at the end, chosen). An error when no interval save falls
    within the run and the trainer writes nothing at the end either (nanotron's `save_final_state: false`;
    left unset it saves at the end on main since March 2025, in no release, so that is not judged), so the run
    keeps no trained weights; a warning (an info when cheap to repeat) where the interval is a "never" of 100
    times the run or more (`checkpoint_interval: 9999999`): checkpointing turned off on purpose, as PD801 judges it.

    It also fires the other way: a full training run of a model of 1B parameters or more that saves
    every 20 steps or fewer, 1,000 times or more (CodeGeeX-13B saving every 10 of 100,000 iterations),
    spends much of its time saving and, every checkpoint kept (about 14 bytes a parameter with the
    optimizer states), fills petabytes of disk: an info, since a retention limit the plan does not read
    may bound the disk. Adapter runs save only the adapter and are left out. Where the trainer's retention is
    known (HF, axolotl, LLaMA-Factory: `save_total_limit`, unset keeping every checkpoint), a full training run
    whose kept checkpoints fill a terabyte or more (14 bytes a parameter, 2 with `save_only_model`) is an info too.

    ## Why is this bad?
    Checkpointing is on, so the config looks safe, but a crash at 95% of the run
    still loses everything. This usually happens when `max_steps` is shortened (or the
    batch is raised, which shortens an epoch-based run) and the save interval is left
    at its old value or at a trainer default (HF: 500 steps; litgpt: 1000).

    ## Example
    ```yaml
    max_steps: 400
    save_strategy: steps
    save_steps: 500
    ```

    ## Use instead
    ```yaml
    max_steps: 400
    save_strategy: steps
    save_steps: 100
    save_total_limit: 2
    ```

    ## References
    - transformers `save_steps`: https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.save_steps
    - Dubey et al. 2024, The Llama 3 Herd of Models, section 3.3.4 (frequent interruptions at scale): https://arxiv.org/abs/2407.21783
    """

    code = "PD802"
    slug = "checkpoint-interval"
    severity = "warning"
    premises = ("checkpoint", "run")  # a fork may mean other things by these (plan/reading.py)

    def check(self, plan):
        interval = plan.checkpoint.interval_steps
        if not interval or plan.checkpoint.enabled is False or plan.debug:
            return
        total = plan.derived.total_steps
        if not total.known:
            yield from self._kept_on_disk(plan, interval, None)  # a retention limit bounds it whatever the length
            return
        start = plan.run.start_step or 0
        steps = total.value - start  # a resumed run trains from its checkpoint's step on
        if interval < steps:
            found = list(self._too_often(plan, interval, steps))
            yield from found or self._kept_on_disk(plan, interval, steps)
            return
        if steps <= SHORT_RUN_STEPS:
            return
        source = plan.sources.get("checkpoint.interval_steps")
        origin = f" ({source.note})" if source is not None and source.note else ""
        cheap = plan.derived.cheap_to_repeat or plan.derived.cut_short
        if start:
            run = f"the {steps:,.0f} steps this resumed run trains ({start:,} to {total.value:,.0f})"
            # a short stage resumed from a checkpoint (a WSD decay) is restarted from that checkpoint: a crash
            # loses at most the stage (held-out review 44, B 02: 476 decay steps)
            cheap = cheap or (f"a stage of under {SHORT_STAGE_STEPS:,} steps, restarted from its checkpoint"
                              if steps < SHORT_STAGE_STEPS else None)
        else:
            run = f"a {total.value:,.0f}-step run"
            # a short adapter run on one node (held-out review 46, B 21: a ~590-step LoRA run on one GPU, under an
            # hour, that still saves its final adapter) loses little; a full 8B SFT of 250 steps on several nodes is
            # no such thing (review 43, B 24 wanted more than a warning there)
            world = plan.parallel.world_size
            # ... a preference run through adapters too (held-out review 101, B 07: a 500-step LoRA DPO on one GPU)
            adapters = plan.mode.kind in ("lora", "qlora") or plan.mode.lora_rank is not None
            if adapters and steps < SHORT_STAGE_STEPS and (world or 1) <= ONE_NODE:
                cheap = cheap or f"an adapter fine-tune of under {SHORT_STAGE_STEPS:,} steps on one node, soon run again"
            if "run.start_step" in plan.unknown and steps < SHORT_STAGE_STEPS:
                # the run goes on from a checkpoint's step the config does not say (nanoGPT's `init_from = 'resume'`):
                # it trains at most these few steps, and a crash restarts it from that checkpoint (held-out review
                # 110, C 04). A new stage from loaded weights counts its own steps: judged as any run (81, B 04).
                cheap = cheap or (f"a resumed run of at most {steps:,.0f} steps, going on from its checkpoint's step, "
                                  "restarted from that checkpoint")
        if not cheap and not start and interval == steps and _written_as_the_run_length(plan):
            # both written, the one equal to the other: a save at the run's end chosen, not an interval left over
            # from a longer run (held-out review 116, A 15: `--max_steps=500 --save_steps=500`, the next iteration
            # loading checkpoint-500; D 18: Megatron's TRAIN_ITERS=200, SAVE_INTERVAL=200)
            cheap = "the interval written as the run's length: a save at the end, as chosen"
        if plan.checkpoint.final_save is False and total.value // interval * interval <= start:
            # no interval save falls within the run and nothing is saved at the end either: even a run that succeeds
            # keeps no trained weights (an interval equal to the run length saves at its last step)
            final = plan.sources.get("checkpoint.final_save")
            stated = final is not None and final.note is None
            never = interval >= NEVER_FACTOR * steps
            yield self.finding(
                plan, "checkpoint.interval_steps",
                f"checkpoints every {interval:,} steps{origin} in {run}, and no checkpoint at the end "
                f"({'`save_final_state: false`' if stated else final.note if final else 'the trainer saves none'}): "
                "the run keeps no trained weights",
                hint=f"save every {max(1, int(steps // 10)):,} steps or so, and "
                     + ("set `save_final_state: true`" if stated else "one that divides the run's steps saves at its end"),
                severity=("info" if cheap else "warning") if never else "error" if stated or not cheap else "warning",
            )
            return
        yield self.finding(
            plan, "checkpoint.interval_steps",
            f"checkpoints every {interval:,} steps{origin} in {run}: no checkpoint is written "
            "before the end, so a crash loses the whole run" + (f" ({cheap})" if cheap else ""),
            hint=f"save every {max(1, int(steps // 10)):,} steps or so, keeping the last few",
            severity="info" if cheap else None,
        )

    def _too_often(self, plan, interval: int, steps: float):
        """A full training run of a large model that writes a thousand checkpoints or more."""
        params = plan.derived.parameters
        saves = int(steps // interval)
        if saves < MANY_SAVES or interval > EVERY_FEW_STEPS or not params.known or params.value < MANY_SAVES_PARAMS \
                or plan.mode.kind in ("lora", "qlora", "partial_finetune") or plan.mode.lora_rank is not None:
            return  # (a preference or RL run over LoRA adapters saves only them too)
        size = params.value * CHECKPOINT_BYTES_PER_PARAM
        keep = plan.checkpoint.keep_last
        # a retention limit the config sets (NeoX's `keep_last_n_checkpoints: 2`: held-out review 138, C 10, told all
        # were kept, 958 TB) bounds the disk; only the time is at stake
        disk = (f", and the last {keep:,} kept take {_bytes(size * min(keep, saves))}" if keep else
                f", and all kept (no retention limit such as HF `save_total_limit`) they fill {_bytes(size * saves)}")
        yield self.finding(
            plan, "checkpoint.interval_steps",
            f"checkpoints every {interval:,} steps write {saves:,} checkpoints of a ~{params.value / 1e9:.3g}B model "
            f"(about {_bytes(size)} each with its optimizer states): saving that often takes a large share of the "
            f"run's time{disk}",
            hint=f"save every {max(interval * 10, int(steps // 100)):,} steps or so, keeping the last few",
            severity="info",  # a retention limit (OLMo's `save_num_checkpoints_to_keep: 1`) may bound the disk
        )


    def _kept_on_disk(self, plan, interval: int, steps: Optional[float]):
        """A full training run that keeps its checkpoints (every one, or a large `save_total_limit`) and fills a
        terabyte or more of disk with them (`steps` None: the run's length unknown, judged by the limit alone)."""
        params, keep = plan.derived.parameters, plan.checkpoint.keep_last
        if keep is None or not params.known or plan.mode.kind in ("lora", "qlora", "partial_finetune") \
                or plan.mode.lora_rank is not None or (steps is None and keep == 0):
            return
        if steps is None and keep * interval > _LONGEST_PLAUSIBLE_RUN:
            return  # as many saves would take a run longer than any trains (held-out review 94, A 03: `save_steps:
            # 1000000` in a DPO run of about 480 steps, told it could keep 2.24 TB)
        kept = keep if steps is None else int(steps // interval) if keep == 0 else min(int(steps // interval), keep)
        each = params.value * (WEIGHTS_BYTES_PER_PARAM if plan.checkpoint.weights_only else CHECKPOINT_BYTES_PER_PARAM)
        if kept * each < MANY_BYTES_KEPT:
            return
        what = "the weights alone" if plan.checkpoint.weights_only else "with its optimizer states"
        limit = "no `save_total_limit`, every one kept" if keep == 0 else f"`save_total_limit: {keep}`"
        yield self.finding(
            plan, "checkpoint.interval_steps",
            f"checkpoints every {interval:,} steps of a ~{params.value / 1e9:.3g}B model ({limit}) keep "
            f"{'up to ' if steps is None else ''}{kept:,} of about {_bytes(each)} each ({what}): "
            f"{'up to ' if steps is None else ''}{_bytes(kept * each)} of disk",
            hint="keep the last few (`save_total_limit: 2`), save less often, or save the model alone "
                 "(`save_only_model: true`) where no resume is needed",
            severity="info",
        )


def _written_as_the_run_length(plan) -> bool:
    """The interval and the run's length in steps (`max_steps`, `--train-iters`) are both written in the config."""
    return written_in_a_file(plan, "checkpoint.interval_steps") and written_in_a_file(plan, "run.max_steps") \
        and plan.derived.total_steps.formula == "stated"


# Optimizer steps no run is known to take (the longest published pretraining runs take a few hundred thousand).
_LONGEST_PLAUSIBLE_RUN = 1_000_000


def _bytes(count: float) -> str:
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count / 1e6:.3g} MB"

