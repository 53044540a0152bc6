from __future__ import annotations

import re

from pretrain_doctor.plan.builder import is_required_at_launch
from pretrain_doctor.rule import Rule

# Words that name a held-out split (`test_sft`, `validation`, `eval[:500]`, `dev`).
HELD_OUT_WORDS = frozenset({"test", "testing", "valid", "validation", "val", "eval", "evaluation", "dev", "heldout",
                            "holdout"})


def names_held_out_split(split: str | None) -> bool:
    """Whether a split name says it is meant for evaluation (`test_prefs`, `validation[:10%]`)."""
    if not split:
        return False
    return any(word in HELD_OUT_WORDS for word in re.split(r"[^a-z0-9]+", split.lower()))


# A dataset name redacted or left for the launch to fill in (`dataset: xxx`, `eval_dataset: xxx`, whose launch script
# passes `dataset=$NAME eval_dataset=${NAME}_eval_small`: held-out review 136, A 14)
_REDACTED = re.compile(r"[xX]{2,}|\.{3}|TODO|TBD|<[^<>]*>|your[_-]?(?:dataset|data)(?:[_-]?name)?", re.IGNORECASE)


def _placeholder(split) -> bool:
    """A split the launch command names (`???`, OmegaConf's MISSING) or a redacted name (`xxx`): not comparable
    (held-out review 19, A 05)."""
    return any(is_required_at_launch(part) for part in (split.dataset, split.subset, split.split)) \
        or bool(split.dataset and _REDACTED.fullmatch(str(split.dataset).strip()))


def _loaded(split) -> tuple:
    """What the trainer really loads for a split: a split name alone is not the data (`load_dataset("json",
    data_dir=".../test/", split="train")` is the test folder's file, which HF calls `train`)."""
    return split.dataset, split.subset, split.split


def _named(split) -> str:
    return f"{split.dataset} ({split.subset})" if split.subset else split.dataset


class EvalSplitInTraining(Rule):
    """A test/validation split is part of the training data, or eval reuses a training split.

    ## What it does
    Looks at the plan's training mixture and fires when one of its splits is named
    like a held-out split (`test`, `test_sft`, `validation`, `valid`, `val`, `eval`,
    `dev`, with any suffix or slice), or when evaluation loads the same data as one
    of the training splits and nothing is carved out (`val_fraction`/`test_split_size`).

    "The same data" is what the trainer loads, not the split's name: the dataset
    name or path, what `datasets.load_dataset` is told beyond it (the config name,
    `data_dir`, `data_files`: llm-foundry's `hf_kwargs`, axolotl's `name`/`data_files`),
    and the split. `hf_name: json, split: train` with `hf_kwargs.data_dir: data/test/`
    is the test folder's single file, which HF calls `train`; it is held out.
    Trainers that take whole files per role compare the files: GPT-NeoX's
    `valid_data_paths`/`test_data_paths` (and `pos_`/`neg_` preference variants)
    against `train_data_paths`, LLaMA-Factory's `eval_dataset` against `dataset`.

    A held-out split in the training mixture is an error (the test set is trained on), an info where
    the same dataset's train split trains beside it (the whole dataset on purpose: only later results on
    its published test split are contaminated); evaluation
    on training data is a warning (an info for a debug config or a run cheap to repeat, under 1e17 FLOPs), one
    for all the datasets it reuses: training is unharmed, only
    its eval loss says nothing (GPT-NeoX's own templates validate on their training prefixes).
    An eval set the run never evaluates (evaluation off) is no finding. A file that reads as a fork
    whose own keys touch evaluation gets each finding one level softer: the fork may build its
    evaluation set its own way.

    ## Why is this bad?
    Evaluation then measures memorisation, not generalisation: eval loss falls for as
    long as training loss falls, early stopping and checkpoint selection pick
    overfit models, and the reported benchmark numbers are contaminated. Several
    alignment-handbook recipes list the `test_sft` split of their SFT dataset in the
    training mixture, so the published test split is trained on.

    ## Example
    ```yaml
    dataset_mixture:
      datasets:
        - id: HuggingFaceH4/ultrachat_200k
          split: train_sft
        - id: HuggingFaceH4/ultrachat_200k
          split: test_sft      # trained on
      test_split_size: 1000
    ```

    ## Use instead
    ```yaml
    dataset_mixture:
      datasets:
        - id: HuggingFaceH4/ultrachat_200k
          split: train_sft
      test_split_size: 1000    # held out from the training splits only
    ```

    ## References
    - alignment-handbook recipe with `test_sft` in the training mixture: https://github.com/huggingface/alignment-handbook/blob/main/recipes/zephyr-7b-beta/sft/config_qlora.yaml
    - Kapoor & Narayanan 2023, Leakage and the reproducibility crisis in ML-based science: https://arxiv.org/abs/2207.07048
    - Sainz et al. 2023, NLP evaluation in trouble (data contamination): https://arxiv.org/abs/2310.18018
    """

    code = "PD701"
    slug = "eval-split-in-training"
    severity = "error"
    # a fork whose own keys touch evaluation may build its evaluation set its own way (held-out review 34, A 16: a
    # ModernBERT fork's loader picks held-out sets by its own `subset`, whatever `eval_loader.dataset.split` says)
    premises = ("eval",)

    def check(self, plan):
        for split in plan.data.train:
            if not names_held_out_split(split.split):
                continue
            beside = next((other.split for other in plan.data.train if other.dataset == split.dataset
                           and other.split and not names_held_out_split(other.split)), None)
            if beside is not None:
                # the train split and the held-out one, both on purpose: the run trains on the whole dataset, and only
                # a later evaluation on its published test split is contaminated (held-out review 76, A 07:
                # UltraFeedback's train_prefs and test_prefs in a DPO mixture that carves its own eval rows out; 117,
                # A 22: alignment-handbook's own zephyr QLoRA recipe does so, a warning judged too severe)
                yield self._at(
                    plan, split,
                    f"split `{split.split}` of {split.dataset} trains beside `{beside}`: the dataset's held-out split "
                    "is no longer held out, so any later evaluation on it (its published test set) is contaminated",
                    hint=f"train on `{beside}` only, or never report results on `{split.split}`", severity="info")
                continue
            yield self._at(
                plan, split,
                f"split `{split.split}` of {split.dataset} is named as a held-out split but is part of the "
                "training mixture; evaluation on it (or on the published test set) is contaminated",
                hint="train on the train split only; evaluate on the held-out split",
            )
        if plan.data.val_fraction or plan.eval.enabled is False:
            return  # a share is carved out, or the eval data is never evaluated (held-out review 12, A 02)
        trained = {_loaded(s) for s in plan.data.train if not _placeholder(s)}
        overlap = []
        for split in plan.data.eval:  # once per data: NeoX's Pythia 14M names its training prefix for validation and test
            if _loaded(split) in trained and _loaded(split) not in {_loaded(seen) for seen in overlap}:
                overlap.append(split)
        if not overlap:
            return
        # Training itself is unharmed, only its eval loss means nothing: a warning, once for all the overlap
        # (held-out review 17, B 22: three NeoX data prefixes, three errors; NeoX's own templates do this).
        first = overlap[0]
        if len(overlap) > 1:
            message = (f"evaluation reads {len(overlap)} of the training datasets ({', '.join(_named(s) for s in overlap)})"
                       " and no held-out portion is carved out; eval loss will track training loss")
        elif first.split is None:
            message = (f"evaluation reads {_named(first)}, which is also training data, and no held-out portion "
                       "is carved out; eval loss will track training loss")
        else:
            message = (f"evaluation uses `{first.split}` of {_named(first)}, which is also a training split, and "
                       "no held-out portion is carved out; eval loss will track training loss")
        # a debug run or one cheap to repeat reads its eval loss for nothing that matters (held-out review 54, B 09: a
        # 32-step Pythia replay whose eval prefix is its training data, as Pythia's own configs have it)
        low_stakes = plan.derived.low_stakes if plan.debug else plan.derived.cheap_to_repeat
        interval, total = plan.eval.interval_steps, plan.derived.total_steps
        if not low_stakes and interval and total.known and interval >= total.value:
            # no evaluation during the run, one at most at its end (held-out review 94, B 08: `eval_steps: 50000` in a
            # run of about 470 steps): a final number that means little, no curve anyone steers by
            low_stakes = f"evaluation every {interval:,} steps in a {total.value:,.0f}-step run: at most one, at its end"
        if not low_stakes and plan.mode.kind == "online_rl":
            # the policy's eval reward on prompts it trains on: the training reward again, training unharmed (held-out
            # review 132, B 11: a GRPO fork's `--val_dataset` the training file, its own eval loop reading others)
            low_stakes = "an online RL run: the eval reward on training prompts repeats the training reward"
        if low_stakes:
            message += f" ({low_stakes})"
        yield self._at(plan, first, message, hint="evaluate on a held-out split, or carve one out of the training data",
                       field="data.eval", severity="info" if low_stakes else "warning")

    def _at(self, plan, split, message: str, hint: str, field: str = "data.train", severity: str | None = None):
        if plan.source_of(field) is None:
            field = "data.train"
        source = plan.source_of(field)
        file = source.file if source else (plan.files[0] if plan.files else None)
        if split.line is None or file is None:
            return self.finding(plan, field, message, hint=hint, severity=severity)
        return self.finding_at(message, file=file, line=split.line, key=split.key, hint=hint, severity=severity)
