from __future__ import annotations

from pretrain_doctor.rule import Edit, Fix, Rule


class MutuallyExclusiveKeys(Rule):
    """Two keys that exclude each other are both set; the trainer silently uses only one.

    ## What it does
    Reports pairs of keys the dialect adapter found together although the trainer
    honours only one of them: HF `warmup_steps` with `warmup_ratio` (an info: the steps win and
    the run starts);
    litgpt `lr_warmup_steps` with `lr_warmup_fraction`; axolotl
    `gradient_accumulation_steps` with `batch_size`; HF `save_steps` with a
    `save_strategy` other than `steps` (an info: the run still saves on its strategy), and `eval_steps` with no `eval_strategy` (transformers'
    "no": a warning where there is data to evaluate on, since the run evaluates at most once, at
    the end) or `epoch` (an info; beside an explicit "no" the interval is a leftover, and PD702
    says evaluation is off); axolotl `eval_steps` or `eval_strategy` with
    `val_set_size: 0` and no `test_datasets` (axolotl 0.4 and later refuse to start); an
    HF launch script that turns evaluation on for a program that then gets no eval dataset
    (FastChat without `--eval_data_path`: the Trainer refuses it); a LLaMA-Factory config that asks
    for evaluation (`do_eval`, `do_predict`, an `eval_strategy`) with no `eval_dataset` and no
    `val_size` (its parser refuses to start); HF `load_best_model_at_end: true` with save and
    eval strategies that differ, or under `steps` a `save_steps` that is no whole multiple of
    `eval_steps` (TrainingArguments refuses to start; `save_strategy: best` is exempt); axolotl
    `load_in_4bit`/`load_in_8bit` with no `adapter` (before 0.13 the base loads quantized and the
    Trainer refuses to train it whole: an error; from 0.13 the flag is ignored, PD002); GRPO
    `reward_weights` of another length than open-r1's `reward_funcs` (GRPOTrainer stops at start; a
    warning, since a program of its own may add reward functions); a preference run's (TRL DPO, ORPO, CPO,
    KTO) `max_length` not above its `max_prompt_length` (an info: TRL keeps a prompt at up to
    `max_prompt_length` tokens and cuts each pair to `max_length`, so a prompt that long leaves its
    responses no token to train on). The finding points at the key that loses.

    `check --fix` drops the losing key where the trainer ignores it (HF `warmup_ratio` beside
    `warmup_steps`, `save_steps` without `save_strategy: steps`, axolotl `eval_steps` with
    nothing to evaluate): a safe fix, the run does what it did. Where the trainer refuses the
    pair (litgpt, axolotl's warmup pair, GPT-NeoX duplicates), dropping one of them chooses
    what the run will do, so it is applied only with `--unsafe-fixes`.

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
    fix_availability = "sometimes"

    def check(self, plan):
        for note in self.notes_for(plan, "mutually-exclusive"):
            # info where the conflict rests on an assumption about a program whose source is not at hand
            yield self.finding_from_note(plan, note, severity=note.data.get("severity"), fix=self._fix(note))

    @staticmethod
    def _fix(note) -> Fix | None:
        source = note.source
        if source is None or not source.key:
            return None
        drop = Edit.drop(source.key, file=source.file)
        if note.data.get("loser_ignored"):
            return Fix.safe(f"drop `{source.key}`, which the trainer ignores", drop)
        return Fix.unsafe(f"drop `{source.key}` and keep the other", drop)
