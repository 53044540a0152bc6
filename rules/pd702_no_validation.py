from __future__ import annotations

from pretrain_doctor.plan.numbers import short_float
from pretrain_doctor.rule import Rule, hint_form


# How each trainer evaluates on held-out data (HF's keys elsewhere): the hint names the file's own keys.
_HINTS = {
    "nanotron": "nanotron's trainer has no validation loop: evaluate saved checkpoints on a held-out split "
                "separately (its `lighteval:` section, or a script of your own)",
    "torchtitan": "turn on `[validation]` (`enable = true`, `freq = 500`, a held-out dataset) where the torchtitan "
                  "release has it",
    "torchtitan-recipe": "give the recipe `validator=Validator.Config(enable=True, freq=500, steps=...)` with a "
                         "held-out dataloader",
    "megatron": "give a validation split (`--split 969,30,1` or `--valid-data-path`) with `--eval-interval 1000 "
                "--eval-iters 10`",
    "llmfoundry": "add an `eval_loader` on a held-out split with `eval_interval: 500ba`",
    "litgpt": "set `eval.interval: 100` with a validation split in the data module",
    "olmo": "add `evaluators:` with a held-out `data:` section, and `eval_interval: 1000`",
    # held-out review 18, B 22: a NeoX config got the HF hint
    "neox": "give a validation share (`split: 969,30,1`) or `valid_data_paths`, with `eval_interval: 1000` and "
            "`eval_iters: 10`",
    "nanogpt": "keep `eval_interval` below `max_iters` (train.py evaluates on the val.bin split)",
    # held-out review 21, A 09: the HF hint's `eval_steps` beside axolotl's own `evals_per_epoch` stops axolotl's
    # config validation; a held-out share is what it lacks
    # held-out review 32: LLaMA-Factory holds out a share with `val_size`, and evaluates on it with the HF keys
    "llamafactory": "hold out a share of the data (`val_size: 0.05`) or give `eval_dataset:`, with "
                    "`eval_strategy: steps` and `eval_steps: 500`",
    # ms-swift's `swift sft` and Megatron-SWIFT's `megatron sft` alike (the latter's `--eval_interval` before 4.0)
    "swift": "hold out a share of the data (`--split_dataset_ratio 0.01`) or give `--val_dataset`, evaluated every "
             "`--eval_steps 500` (Megatron-SWIFT before 4.0: `--eval_interval 500`)",
    "axolotl": "hold out a share of the data (`val_set_size: 0.05`) or give `test_datasets:`; axolotl then "
               "evaluates `evals_per_epoch` times an epoch (or every `eval_steps`, never both)",
}
_HF_HINT = "evaluate every few hundred steps on a small held-out split (`eval_strategy: steps`, `eval_steps: 500`)"
# A held-out share that no evaluation reads, from which it is a warning: a quarter of the data thrown away.
WASTED_SHARE = 0.25


def _steps(interval: float) -> str:
    """`1e32` as the file means it ("never", Ettin's configs), not as its float's 33 digits."""
    return f"{interval:,.0f}" if interval < 1e12 else short_float(interval)


class NoValidation(Rule):
    """The run never evaluates on held-out data.

    ## What it does
    Reports (at `info`) a plan with evaluation turned off (HF `eval_strategy: "no"`,
    axolotl `val_set_size: 0`, no validation section) or with an evaluation interval
    as long as the run or longer, so the first evaluation would come after training
    ends (Megatron, Composer and OLMo evaluate once at the end: the finding says so; a
    Megatron launch with no `--eval-interval`, which megatron-core 0.16 and later read
    as "only after training", is said the same way). With evaluation off and a share of the data held out for it anyway (LLaMA-Factory
    `val_size: 0.1`, a Megatron `--split`), the finding says that share is neither trained on
    nor evaluated: a `warning` from a quarter of the data on. Silent for debug configs and when
    the plan does not say, for online RL (GRPO and kin score fresh prompts at every step), and for a file read as a fork whose own keys are about evaluation
    outside the section that turns the upstream evaluation off (an OLMo fork's top-level `probe_dataset`, scored at every `eval_interval`
    by the fork's own `eval()`, beside `evaluators: []`; Adam-mini's torchtitan copy with
    `training.val_interval`); a fork's keys inside a `[validation]` section with `enable = false`
    change nothing.

    ## Why is this bad?
    Training loss alone cannot show overfitting, memorisation of a small fine-tuning
    set, or a data-pipeline bug that feeds the model the same batch again and again;
    a held-out loss curve shows all three. Without one there is also nothing to pick
    a checkpoint by. Cheap periodic evaluation on a few hundred held-out examples is
    enough.

    ## Example
    ```yaml
    eval_strategy: "no"
    num_train_epochs: 3
    ```

    ## Use instead
    ```yaml
    eval_strategy: steps
    eval_steps: 500
    per_device_eval_batch_size: 8
    num_train_epochs: 3
    ```

    ## References
    - transformers `eval_strategy`: https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.eval_strategy
    - Karpathy 2019, A Recipe for Training Neural Networks (watch validation loss): https://karpathy.github.io/2019/04/25/recipe/
    - Goodfellow, Bengio & Courville 2016, Deep Learning, section 5.3 (validation sets): https://www.deeplearningbook.org/contents/ml.html
    """

    code = "PD702"
    slug = "no-validation"
    severity = "info"

    def check(self, plan):
        if plan.debug or _fork_evaluates(plan) or plan.mode.kind == "online_rl" or plan.mode.rl_method:
            # online RL scores fresh prompts at every step (its rewards are the measure); a held-out loss is no
            # part of it (held-out review 46, A 09: a one-epoch GRPO run), with adapters too (review 63, A 10)
            return
        # a held-out share of 0 beside an eval dataset of its own is evaluation all the same (held-out review 32,
        # A 24: axolotl's `test_datasets` with `val_set_size: 0.0`)
        # ... and where evaluation is left to the program (a NeoX fork's lm-eval `eval_tasks`), a zero share says
        # nothing (held-out review 45, B 01)
        if plan.eval.enabled is False or (plan.data.val_fraction == 0 and not plan.data.eval
                                          and "eval.enabled" not in plan.unknown):
            field = "eval.enabled" if plan.eval.enabled is False else "data.val_fraction"
            held_out = plan.data.val_fraction if plan.eval.enabled is False else None
            if isinstance(held_out, float) and 0 < held_out < 1:
                # held-out review 29, A 03: LLaMA-Factory's `val_size: 0.7` beside no evaluation trains on 30%
                yield self.finding(
                    plan, "data.val_fraction",
                    f"evaluation is off, yet {held_out:.0%} of the data is held out for it: that share is neither "
                    "trained on nor evaluated",
                    hint="turn evaluation on to use the held-out share, or hold none out; "
                         + _HINTS.get(hint_form(plan), _HF_HINT),
                    severity="warning" if held_out >= WASTED_SHARE else None,
                )
                return
            yield self.finding(
                plan, field,
                "evaluation is off: nothing measures held-out loss, so overfitting and data bugs go unseen",
                # held-out review 15, B 23/B 24: nanotron never evaluates, whatever the file says
                hint=_HINTS.get(hint_form(plan), _HF_HINT),
            )
            return
        interval, total = plan.eval.interval_steps, plan.derived.total_steps
        # (an interval given a value only the launch knows is given: held-out review 94, C 06, `--eval-interval
        # $eval_interval` from the model's YAML read with yq)
        if plan.eval.enabled and interval is None and plan.dialect == "megatron" \
                and "eval.interval_steps" not in plan.unknown:
            yield self.finding(
                plan, "eval.enabled",
                "evaluation runs once, when training ends, never during it: no `--eval-interval` (megatron-core 0.16 "
                "and later evaluate only after training without one)",
                hint="add `--eval-interval 1000 --eval-iters 10` to evaluate during training", severity="info")
            return
        if plan.eval.enabled and interval and total.known and interval >= total.value:
            # Composer evaluates once more when fit ends, whatever the interval (`eval_at_fit_end`, default on:
            # held-out review 16, A 18): the run gets one held-out loss, at its end
            if plan.dialect == "llmfoundry":
                when = "it runs once, when training ends (Composer's eval_at_fit_end), never during it"
            elif plan.dialect == "olmo":
                # OLMo's loop also evaluates when it reaches its last step (`or self.global_step >= stop_at`;
                # later releases `last_step and eval_on_last_step`): held-out review 23, B 10
                when = "it runs at most once, at the last step (OLMo's loop evaluates there), never during training"
            elif plan.dialect == "megatron":
                # pretrain() evaluates the validation set once more after training (`if args.do_valid:`)
                when = "it runs once, when training ends, never during it"
            elif plan.eval.at_start and plan.eval.at_end:
                # litgpt's initial_validation and final_validation (held-out review 120, C 14)
                when = "it runs before the first step and when training ends, never during it"
            elif plan.eval.at_end:
                when = "it runs once, when training ends, never during it"
            elif interval == total.value:
                when = "it runs once, at the last step, never during training"
            else:
                when = "it never runs during training"
            yield self.finding(
                plan, "eval.interval_steps",
                f"evaluation every {_steps(interval)} steps in a {total.value:,.0f}-step run: {when}",
                hint=f"evaluate every {max(1, int(total.value // 10)):,} steps or so (about 10 times per run)",
            )


def _fork_evaluates(plan) -> bool:
    """The file reads as a fork (plan/reading.py) with evaluation keys of its own outside the section
    whose key turned the upstream evaluation off (held-out review 5: kaistAI's OLMo fork)."""
    if plan.reading is None or "eval" not in plan.fork_areas:
        return False
    from pretrain_doctor.plan.reading import _areas

    source = plan.sources.get("eval.enabled")
    off_key = source.key if source is not None else None
    section = off_key.rsplit(".", 1)[0] + "." if off_key and "." in off_key else None
    return any("eval" in _areas([key], plan.foreign_key_words) and not (section and key.startswith(section))
               for key in plan.foreign_keys)
