from __future__ import annotations

import math

from pretrain_doctor.plan.reading import a_forks_own_key, fork_key_message, is_fork
from pretrain_doctor.rule import Edit, Fix, Rule


class IgnoredKey(Rule):
    """A key the target trainer silently ignores (unused, rejected, or a likely typo).

    ## What it does
    Reports what the dialect adapter saw while reading the raw file: keys the
    trainer never reads (litgpt finetune `train.min_lr`; a nanoGPT override of a global the
    fork's train.py declares and never reads, such as `n_hidden_multiplier` never handed to
    `model_args`), keys it rejects
    (litgpt finetune `train.max_norm`; a litgpt `train.micro_batch_size:` or `global_batch_size:`
    left empty, which YAML reads as null and the batch arithmetic stops on: an error; a DeepSpeed
    `scheduler.params` key its scheduler's
    `__init__` does not take, such as `warmup_max_lr` under `WarmupCosineLR`, which stops the run at
    start-up and is an error; a launch script's `\\` and `# comment` inside a quoted argument
    string, which pass as arguments: an error, the flags read as meant; a launch script with
    Windows (CRLF) line endings, whose `\\` continues nothing under bash: an error, read as meant; an llm-foundry `hf_causal_lm`
    section's Hugging Face config keys such as `hidden_size` outside `config_overrides`, which llm-foundry 0.10 and
    later pass to ComposerHFCausalLM as keywords and stop on, and earlier releases ignore: one finding for the
    section, and the model's size is left unknown), keys that do nothing in this combination
    (HF `max_grad_norm` under a DeepSpeed JSON without
    `gradient_clipping`; a `warmup_ratio` beside HF's `constant` schedule, which has no
    warmup; the optimizer's lr under a DeepSpeed `WarmupDecayLR`, or a `WarmupLR` before
    DeepSpeed 0.17.2, whose `params` leave out `warmup_max_lr`: the scheduler warms up to
    its own default of 0.001 and overwrites it), and unknown keys that look like a misspelling of a known
    one ("did you mean `warmup_steps`?"). The finding points at the key's line. A key
    that is ignored but only repeats what a read key already does (NeoX `fp16: true`
    beside the `enabled: true` NeoX requires in the block), or whose value is what the run
    does without it (litgpt finetune `train.min_lr: 0.0`: the scripts' cosine decays to 0
    anyway; OLMo `scheduler.t_warmup: 0` under the `constant` scheduler), is reported at
    `info`: nothing the author meant is lost. So is a misspelling of a key that does nothing in this
    run (`eval_step` for `eval_steps` while evaluation is off, `save_step` while checkpoints are saved by
    epoch): renaming it changes nothing now. So is
    GPT-NeoX `fp16.type: bfloat16`, which NeoX 1.0 and 2.0 read (the run is bf16) and NeoX main
    after #787 no longer reads (the run is fp16).

    Keys are judged against the trainer release the config is for (`--trainer-version
    transformers=4.46`, `trainer-versions` in the settings, an exact pin in the checkout's
    requirements, else the installed release unless the checkout allows a range),
    or, when none is known, against every release the adapter knows: a key that some
    release reads is then never a typo. A key the judged release no longer (or does not
    yet) read names the release that changed it and what it reads instead
    (`evaluation_strategy` -> `eval_strategy` from transformers 4.46; torchtitan 0.1.0
    moved `training.data_parallel_shard_degree` to `[parallelism]`), and "did you mean"
    only suggests keys that release reads. When only the release installed beside
    pretrain-doctor says a key is gone and earlier releases read it, the finding is an
    `info` with no rename to apply: the config may be written for one of those releases
    (pin it with `--trainer-version` to have it judged). A file wholly in an older release's layout is that
    release's file, not a finding (nanotron's Adam settings straight under `optimizer:`, the
    layout before 0.5); a file mixing two layouts no release reads together is a `warning`.

    A number a YAML file writes without a dot or without a signed exponent (`learning_rate: 5e-5`) is
    a string to PyYAML's YAML 1.1 resolver: where the trainer loads the file that way and hands the
    values on unconverted, the run stops with TypeError at the first use. It is an error for
    LLaMA-Factory before 0.9.4 (which read its YAML with `yaml.safe_load`; OmegaConf since), a
    warning for an alignment-handbook recipe of the `dataset_mixer` era (H4ArgumentParser's
    `parse_yaml_file`), and an info for other HF recipes and LLaMA-Factory files of an unknown
    release (TrlParser's `--config` converts it); the plan reads the number.

    A launch script whose `\\` continuation a comment line cuts (`#--lr 5e-5 \\` between two flags:
    bash ends the command at the comment and runs the lines after it as commands of their own) is an
    error at the comment's line, naming the flags that never reach the program (it starts without
    them); the plan reads them as the author meant.

    A value no run can use (`lr: -1`, `per_device_train_batch_size: 0`, `learning_rate: fast`, axolotl
    `datasets:` written as one mapping where it takes a list, a `- path:` line commented out, a dataset
    `type:` no axolotl release tokenizes such as `chat` or `json`) is an
    `error` at its line; the field is left unknown and the rest of the file is still checked, never
    refused whole. A value a trainer gives a meaning is read as that meaning first: transformers'
    `save_steps: 0` saves at no step and `eval_steps: 0` falls back to `logging_steps`; Megatron's
    `--eval-interval 0` is no evaluation; a litgpt fork's `eval.interval: 0` is read as "off", as the fork's own
    loop reads it, while upstream litgpt's `step_count % eval.interval` divides by it (an `error`).

    A key one YAML mapping sets twice is reported at its first line, whatever the trainer:
    PyYAML keeps the last value and drops the first without a word (OmegaConf-based trainers
    refuse the file); at `info` when both values are the same. A launch's flag given twice (argparse keeps the
    last) is a warning when a setting this check judges is read from it (`--learning_rate`, `--max_steps`), an `info`
    otherwise: launches append overrides on purpose, and what dropping `--dataloader_pin_memory`'s first value
    changes is not known here.

    A file that reads as a fork or a version not known here (two or more keys no known release
    reads; `plan` shows the line "Reading: read as a fork of ...") gets no finding for a key
    more than one edit from every known one: the fork's own argument most likely, which it reads
    (`plan` still lists it among the keys no known version has). A key one edit away, or one that
    shortens the known key's words, is named with its near key in words, at `info` and with no
    rename, whatever the trainer: the fork may define it (a LLaMA-Factory fork's own `grpo_beta`, one edit from upstream's `orpo_beta`: the rename would
    drop the KL coefficient; brrr's top-level `profile`, one edit from later nanotron's `profiler`:
    the rename makes its strict loader refuse the file). Only where the fork's own source was read
    and names no such key (a nanoGPT fork's train.py at hand) is it still a warning with the rename.
    So is a key beside another unknown key with the same first word (`grpo_beta` beside
    `grpo_num_generations`), fork or not: a family of the program's own arguments. A near miss in a
    file that is not a fork is a warning with its rename.

    `check --fix` renames a misspelt key when the suggestion is certain: the key is read by
    no known release of the trainer and exactly one known key is close to it (a safe fix:
    the trainer then reads the value the author wrote). A key some release reads, or one
    another trainer spells that way (`lora_r` in a LLaMA-Factory file), is renamed only with
    `--unsafe-fixes`: whether the new name is right depends on the release that runs it.

    ## Why is this bad?
    The author believes the setting is in force and it is not: a misspelt
    `warmup_step: 2000` leaves the run with no warmup, a `min_lr` the finetune script
    never reads leaves the schedule decaying to zero, and nothing in the logs says so.
    Most trainers accept unknown keys without a word (HF argument parsers in YAML mode,
    OmegaConf merges, DeepSpeed JSON), so only a linter notices.

    ## Example
    ```yaml
    learning_rate: 2.0e-5
    warmup_step: 100     # typo: transformers reads `warmup_steps`
    ```

    ## Use instead
    ```yaml
    learning_rate: 2.0e-5
    warmup_steps: 100
    ```

    ## References
    - axolotl#1381, `max_grad_norm` ignored under DeepSpeed: https://github.com/axolotl-ai-cloud/axolotl/issues/1381
    - litgpt finetune arguments (no `min_lr`): https://github.com/Lightning-AI/litgpt/blob/main/litgpt/args.py
    - transformers `TrainingArguments` (each release's `training_args.py`): https://github.com/huggingface/transformers/blob/main/src/transformers/training_args.py
    - torchtitan#980, parallel degrees moved to `[parallelism]`: https://github.com/pytorch/torchtitan/pull/980
    - GPT-NeoX configuration reference (`fp16`): https://github.com/EleutherAI/gpt-neox/blob/main/configs/neox_arguments.md
    """

    code = "PD002"
    slug = "ignored-key"
    severity = "warning"
    fix_availability = "sometimes"

    def check(self, plan):
        for note in self.notes_for(plan, "ignored-key"):
            if a_forks_own_key(plan, note):
                continue
            fork_key = fork_key_message(plan, note)
            if fork_key is not None:  # maybe a fork's or the program's own key: named in words, no rename
                yield self.finding_from_note(plan, note.model_copy(update={"message": fork_key, "hint": None}),
                                             severity="info")
                continue
            if note.data.get("fork_may_read") and is_fork(plan) and note.data.get("severity") != "error" \
                    and not _happens_anyway(plan, note):
                # upstream's class does not take the key; the fork's own, whose source is not at hand, may (held-out
                # review 44, B 08: a vendored llm-foundry whose ComposerHFCausalLM reads `model.loss`)
                yield self.finding_from_note(plan, note.model_copy(update={
                    "message": f"{note.message}; this file reads as a fork, whose own code may take them "
                               f"({plan.reading})",
                    "hint": f"on upstream {plan.dialect}: {note.hint}" if note.hint else None}), severity="info")
                continue
            # An adapter marks a key that is ignored but harmless (it repeats what another key does) as info.
            if _happens_anyway(plan, note):
                yield self.finding_from_note(plan, note.model_copy(update={
                    "message": f"{note.message}; its value {_shown(note.data['value'])} is what the run does anyway, "
                               "so nothing is lost", "hint": f"{note.hint}: it changes nothing" if note.hint else None}),
                    severity="info", fix=self._fix(note))
                continue
            off = _inert_while_off(plan, note)
            if off is not None:
                yield self.finding_from_note(plan, note.model_copy(update={
                    "message": f"{note.message} ({off}, so the key it stands for would change nothing now)"}),
                    severity="info", fix=self._fix(note))
                continue
            yield self.finding_from_note(plan, note, severity=note.data.get("severity"), fix=self._fix(note))

    @staticmethod
    def _fix(note) -> Fix | None:
        new, key = note.data.get("suggestion"), note.source.key if note.source else None
        if not new or not key or "." in new or "[" in new:
            return None  # nothing to rename to, or a move to another table (not a rename)
        title = f"rename `{key}` to `{new}`"
        if note.data.get("typo"):
            return Fix.safe(title, Edit.rename(key, new)) if note.data.get("unique") else None
        return Fix.unsafe(title, Edit.rename(key, new))


# Keys that only tune evaluation, or saving by steps: a misspelling of one loses nothing while that is off.
_EVALUATION_KEYS = frozenset({"eval_steps", "eval_delay", "per_device_eval_batch_size", "eval_accumulation_steps",
                              "eval_on_start", "eval_do_concat_batches"})
_STEP_SAVING_KEYS = frozenset({"save_steps"})


def _inert_while_off(plan, note) -> str | None:
    """Why a typo's intended key does nothing in this run, or None: an evaluation setting when evaluation is off, a
    saving interval when checkpoints are not saved by steps (held-out review 92, A 02: `eval_step` beside
    `eval_strategy: "no"` warned, where renaming it changes nothing)."""
    intended = note.data.get("suggestion") if note.data.get("typo") and note.data.get("severity") != "error" else None
    if intended in _EVALUATION_KEYS and plan.eval.enabled is False:
        return "evaluation is off"
    if intended in _STEP_SAVING_KEYS and plan.checkpoint.strategy in ("epoch", "no"):
        return f"checkpoints are saved by {plan.checkpoint.strategy}" if plan.checkpoint.strategy == "epoch" \
            else "checkpointing is off"
    return None


def _happens_anyway(plan, note) -> bool:
    """The ignored key stands for a plan field (`data["field"]`, set by the adapter) and its value
    (`data["value"]`) is what the run does without it: litgpt finetune `train.min_lr: 0.0` (held-out
    review 10, A 17)."""
    field, value = note.data.get("field"), note.data.get("value")
    if not field or value is None or note.data.get("severity") == "error":
        return False
    actual = plan.get(field)
    if isinstance(value, bool) or isinstance(actual, bool):
        return value == actual
    if isinstance(value, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(value, actual, rel_tol=1e-9, abs_tol=1e-12)
    return value == actual


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
