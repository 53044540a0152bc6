from __future__ import annotations

from pretrain_doctor.rule import Rule, hint_form

# Runs this short (in optimizer steps) are smoke tests: restarting them costs little.
SHORT_RUN_STEPS = 100
# ... and a run cheap to repeat (plan.derived.cheap_to_repeat: under 1e17 FLOPs, about 15 minutes of one A100 at
# 40% MFU) gets an info (held-out review 15, B 11: a 40M model's 1,000-step debug run).
# How each trainer turns periodic checkpoints on (HF's keys elsewhere: axolotl and LLaMA-Factory take them too).
_SAVE_HINTS = {
    "native": "`checkpoint: {enabled: true, interval_steps: 500}`",
    "torchtitan": "`[checkpoint] enable = true` (older releases: `enable_checkpoint`) with `interval = 500`",
    "torchtitan-recipe": "`checkpoint=CheckpointManager.Config(enable=True, interval=500)` in the recipe",
    "litgpt": "`train.save_interval: 500`",
    "llmfoundry": "`save_folder: ...` with `save_interval: 500ba`",
    "nanotron": "`checkpoints.checkpoints_path: ...` with `checkpoints.checkpoint_interval: 500`",
    "neox": "`save: ...` with `checkpoint_factor: 500`",
    "megatron": "`--save DIR --save-interval 500`",
}
_HF_HINT = "HF `save_strategy: steps`, `save_steps: 500`, `save_total_limit: 2`"
# Trainers whose fine-tuning runs write the trained model when they finish, periodic checkpoints or not (HF scripts'
# `trainer.save_model`, LLaMA-Factory's and axolotl's workflows, ms-swift's last checkpoint).
_SAVES_AT_THE_END = frozenset({"hf", "llamafactory", "axolotl", "swift"})
SAVED_FINETUNE_MAX_STEPS = 5000  # ... a fine-tune of hours, not days: a longer one (a continued pretraining) warns
_FINAL_SAVE = "the finished run's model is saved at the end, so what a crash costs is the run's wall time"


class NoCheckpoints(Rule):
    """Checkpointing is turned off for a run longer than a smoke test.

    ## What it does
    Fires when the plan saves no checkpoints at all (HF `save_strategy: "no"`,
    torchtitan `checkpoint.enable = false`, ...) and the run is longer than
    100 optimizer steps: at `info` when the run is small in compute (6 · parameters ·
    tokens under 1e17 FLOPs, minutes of one GPU, or that on each GPU of one node; the model's size unknown, under
    2M tokens), when a from-scratch run's share of one GPU is under an hour of an H100 (1.4e18 FLOPs a process,
    tensor, pipeline and context parallelism dividing it: a crash loses under an hour) and where a failed
    replica recovers from a live peer (torchtitan `[fault_tolerance] enable`, torchft), for a fine-tune (not online
    RL) of at most 5,000 steps by a trainer that saves the finished model at the end (HF scripts, LLaMA-Factory,
    axolotl, ms-swift: periodic saves off trade a crash's wall time for disk), and for the first steps of a
    long recipe's schedule (it decays over 100 times the run or more: a benchmark). Silent for debug configs and
    shorter runs. When the run
    length depends on the dataset size or world size, it reports at `info` and
    names the flags that decide it.

    ## Why is this bad?
    A node failure, a preemption, an NCCL timeout or a loss spike late in the run
    then costs the whole run: there is nothing to resume from and nothing to roll
    back to. Large runs fail often (OPT-175B's logbook records dozens of restarts;
    Llama 3 405B saw 419 unexpected interruptions in 54 days), and even a final
    `save_model()` at the end of a script is lost if the job dies first.

    ## Example
    ```yaml
    save_strategy: "no"
    num_train_epochs: 3
    ```

    ## Use instead
    ```yaml
    save_strategy: steps
    save_steps: 500
    save_total_limit: 2
    num_train_epochs: 3
    ```

    ## References
    - OPT-175B chronicles and logbook (restarts after hardware failures): https://github.com/facebookresearch/metaseq/tree/main/projects/OPT/chronicles
    - Dubey et al. 2024, The Llama 3 Herd of Models, section 3.3.4 (reliability): https://arxiv.org/abs/2407.21783
    - transformers `save_strategy`: https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.save_strategy
    """

    code = "PD801"
    slug = "no-checkpoints"
    severity = "warning"
    premises = ("checkpoint", "run")  # a fork may mean other things by these (plan/reading.py)

    def check(self, plan):
        if plan.checkpoint.enabled is not False or plan.debug:
            return
        total = plan.derived.total_steps
        hint = f"save periodically (e.g. {_SAVE_HINTS.get(hint_form(plan), _HF_HINT)})"
        if total.known:
            if total.value > SHORT_RUN_STEPS:
                # a crash of a from-scratch run loses at most its wall time (held-out review 57, B 05: a 20-minute
                # throughput run); a fine-tune's checkpoints are its product (review 51, B 17: an 8B fine-tune)
                scratch = not plan.mode.is_finetune and not plan.mode.init_from
                cheap = (plan.derived.short_to_repeat if scratch else plan.derived.cheap_to_repeat) \
                    or plan.derived.cut_short  # a benchmark of a long recipe's first steps keeps no model
                # torchft's replicas (held-out review 37, B 03: a DiLoCo run): one group's failure is recovered from a
                # peer's live weights; only losing every group at once (the job itself) loses the run
                peers = "a failed replica recovers from a peer (fault tolerance), " \
                        "but losing the whole job loses the run" if plan.checkpoint.peer_recovery else None
                # a fine-tune's final save is its product, and HF-style scripts and fine-tuning trainers write it
                # at the end: switching the periodic saves off is a choice of disk over a crash's wall time (held-out
                # review 103, D 15: 1,000-step LoRA runs in a sweep, `save_model` at the end); online RL, hours of
                # generation, stays a warning
                final_save = _FINAL_SAVE if plan.mode.is_finetune and plan.mode.kind != "online_rl" \
                    and plan.dialect in _SAVES_AT_THE_END and total.value <= SAVED_FINETUNE_MAX_STEPS else None
                softer = cheap or peers or final_save
                yield self.finding(
                    plan, "checkpoint.enabled",
                    f"checkpointing is off for a {total.value:,.0f}-step run; "
                    + (f"{peers}" if peers else "a crash or preemption loses all of it")
                    + (f" ({cheap})" if cheap else f" ({final_save})" if final_save else ""),
                    hint=hint,
                    severity="info" if softer else None,
                )
        elif total.missing:
            yield self.finding(
                plan, "checkpoint.enabled",
                f"checkpointing is off; the run length ({total.formula}) needs {', '.join(total.missing)}, "
                "and anything past a smoke test loses everything on a crash",
                hint=f"{hint}, or mark the config as a debug run",
                severity="info",
            )

