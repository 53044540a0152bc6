from __future__ import annotations

from pretrain_doctor.rule import Rule


class MutuallyExclusiveKeys(Rule):
    """Two keys that exclude each other are both set; the trainer silently uses only one.

    ## What it does
    Reports pairs of keys the dialect adapter found together although the trainer
    honours only one of them: HF `warmup_steps` with `warmup_ratio` (the steps win);
    litgpt `lr_warmup_steps` with `lr_warmup_fraction`; axolotl
    `gradient_accumulation_steps` with `batch_size`; HF `save_steps` with a
    `save_strategy` other than `steps`; axolotl `eval_steps` with `val_set_size: 0`.
    The finding points at the key that loses.

    ## Why is this bad?
    The config says two different things and the reader cannot tell which one runs.
    Whoever edits the losing key (raises `warmup_ratio`, shortens `save_steps`) sees no
    effect and no error; whoever reviews the config trusts a number the trainer never
    reads.

    ## Example
    ```yaml
    warmup_steps: 100
    warmup_ratio: 0.1     # ignored: transformers prefers warmup_steps
    ```

    ## Use instead
    ```yaml
    warmup_ratio: 0.1
    ```

    ## References
    - transformers `TrainingArguments.get_warmup_steps` (steps override the ratio): https://github.com/huggingface/transformers/blob/main/src/transformers/training_args.py
    - litgpt `TrainArgs.warmup_iters` (steps and fraction are exclusive): https://github.com/Lightning-AI/litgpt/blob/main/litgpt/args.py
    - axolotl config reference (`batch_size` vs `gradient_accumulation_steps`): https://docs.axolotl.ai/docs/config-reference.html
    """

    code = "PD003"
    slug = "mutually-exclusive-keys"
    severity = "error"

    def check(self, plan):
        for note in self.notes_for(plan, "mutually-exclusive"):
            yield self.finding_from_note(plan, note)
