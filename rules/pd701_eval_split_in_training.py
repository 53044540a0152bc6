from __future__ import annotations

import re

from pretrain_doctor.rule import Rule

# Words that name a held-out split (`test_sft`, `validation`, `eval[:500]`, `dev`).
HELD_OUT_WORDS = frozenset({"test", "testing", "valid", "validation", "val", "eval", "evaluation", "dev", "heldout",
                            "holdout"})


def names_held_out_split(split: str | None) -> bool:
    """Whether a split name says it is meant for evaluation (`test_prefs`, `validation[:10%]`)."""
    if not split:
        return False
    return any(word in HELD_OUT_WORDS for word in re.split(r"[^a-z0-9]+", split.lower()))


class EvalSplitInTraining(Rule):
    """A test/validation split is part of the training data, or eval reuses a training split.

    ## What it does
    Looks at the plan's training mixture and fires when one of its splits is named
    like a held-out split (`test`, `test_sft`, `validation`, `valid`, `val`, `eval`,
    `dev`, with any suffix or slice), or when the evaluation split is the same
    dataset and split as one the model trains on and nothing is carved out
    (`val_fraction`/`test_split_size`).

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

    def check(self, plan):
        for split in plan.data.train:
            if names_held_out_split(split.split):
                yield self._at(
                    plan, split,
                    f"split `{split.split}` of {split.dataset} is named as a held-out split but is part of the "
                    "training mixture; evaluation on it (or on the published test set) is contaminated",
                    hint="train on the train split only; evaluate on the held-out split",
                )
        if plan.data.val_fraction:
            return
        trained = {(s.dataset, s.split) for s in plan.data.train}
        for split in plan.data.eval:
            if (split.dataset, split.split) in trained:
                yield self._at(
                    plan, split,
                    f"evaluation uses `{split.split}` of {split.dataset}, which is also a training split, and no "
                    "held-out portion is carved out; eval loss will track training loss",
                    hint="evaluate on a held-out split, or carve one out of the training data",
                )

    def _at(self, plan, split, message: str, hint: str):
        source = plan.source_of("data.train")
        file = source.file if source else (plan.files[0] if plan.files else None)
        if split.line is None or file is None:
            return self.finding(plan, "data.train", message, hint=hint)
        return self.finding_at(message, file=file, line=split.line, key=split.key, hint=hint)
