from __future__ import annotations

import math
from typing import Optional

from pretrain_doctor.rule import Rule

from .pd105_warmup_exceeds_training import rows_per_process_step

# A cap this low is a debugging value: a few optimizer steps' worth of rows (held-out review 125, B 11/B 12:
# `--max_samples 100` left in a DPO and an SFT launch, 6 and 20 steps in all).
DEBUG_ROWS = 100
# Above this, a cap is a choice of subset size rather than a value copied from an example (LLaMA-Factory's example
# configs all carry `max_samples: 1000`): silent.
COPIED_ROWS = 10_000


class RowsCapped(Rule):
    """The trainer keeps only the first few rows of each dataset.

    ## What it does
    Reports a cap on the rows read from each dataset (LLaMA-Factory's `max_samples`, whose help says "for
    debugging purposes, truncate the number of examples for each dataset"): a `warning` at 100 rows or fewer,
    a debugging value that leaves a handful of optimizer steps (the finding says how many at most, on one GPU
    where the world size is unknown); an `info` up to 10,000 rows, the size LLaMA-Factory's example configs
    carry (`max_samples: 1000`) and people copy with them, right only where the datasets are that small or the
    cut is meant. Silent above that, for debug configs, where every dataset is one of LLaMA-Factory's bundled
    demo sets no longer than the cap (`identity`, 91 rows; `alpaca_en_demo`, 1,000), and where a run counted in
    steps draws no more rows than the cap keeps; the demo sets count at their own rows in the bound. The cap
    also bounds the run's rows for the other rules: a warmup longer than the steps those rows allow is PD105's.

    ## Why is this bad?
    The loader takes the first N rows of each dataset and drops the rest without a word at the default log
    level: a 50,000-example instruction set becomes 1,000, or 100. Trained by epochs, the run ends after a
    few steps; trained by steps, it passes over the same few rows again and again and memorises them. Either
    way the loss curve looks like a normal run's, and the model is judged as if it had seen the whole set.

    ## Example
    ```yaml
    stage: sft
    dataset: alpaca_en,glaive_toolcall_en
    max_samples: 100
    num_train_epochs: 3.0
    ```

    ## Use instead
    ```yaml
    stage: sft
    dataset: alpaca_en,glaive_toolcall_en
    num_train_epochs: 3.0          # every row; cap only a debugging run
    ```

    ## References
    - LLaMA-Factory `DataArguments.max_samples` and `data/loader.py` (`dataset.select(range(max_samples))`):
      https://github.com/hiyouga/LLaMA-Factory/blob/main/src/llamafactory/hparams/data_args.py
    """

    code = "PD705"
    slug = "rows-capped"
    severity = "info"

    def check(self, plan):
        cap = plan.data.max_rows
        if not cap or cap > COPIED_ROWS or plan.debug:
            return
        datasets = max(1, len(plan.data.train))
        given = plan.sources.get("run.dataset_rows")
        if given is not None and given.note == "--dataset-rows" and plan.run.dataset_rows is not None \
                and plan.run.dataset_rows <= cap * datasets:
            return  # rows given that the cap does not reach: it cuts nothing (held-out review 130, B 02: 1,000 rows)
        # the trainer's bound where the dialect knows some datasets' rows (LLaMA-Factory's bundled demos), or the rows
        # given with --dataset-rows, when fewer; `val_size` is held out of what the cap keeps
        trained = max(1, int(cap * datasets * (1 - (plan.data.val_fraction or 0))))
        trained = min(trained, plan.run.dataset_rows or trained)
        drawn = _rows_drawn_by_steps(plan)
        if drawn is not None and drawn <= trained:
            return  # a run counted in steps that never reaches the cut
        kept = (f"keeps the first {cap:,} rows of each of the {datasets} datasets (at most {trained:,} trained on)"
                if datasets > 1 else f"keeps the first {cap:,} rows of the dataset")
        message = f"`max_samples: {cap}` {kept}, a value meant for debugging"
        if drawn is not None:
            message += f"; the run's {plan.run.max_steps:,} steps pass over them about {drawn / trained:,.0f} times"
        elif (steps := _most_steps(plan, trained)) is not None:
            message += f"; the run has at most {steps:,} optimizer steps"
        if cap > DEBUG_ROWS:
            message += "; right only if the datasets are that small or the cut is meant"
        yield self.finding(plan, "data.max_rows", message,
                           hint="remove `max_samples` to train on every row (keep it for a debugging run)",
                           severity="warning" if cap <= DEBUG_ROWS else None)


def _rows_drawn_by_steps(plan) -> Optional[float]:
    """The rows a run counted in steps draws (max_steps × global batch), or None where it is counted in epochs or
    its batch is not known."""
    global_batch = plan.derived.global_batch
    if not plan.run.max_steps or not global_batch.known:
        return None
    return plan.run.max_steps * global_batch.value


def _most_steps(plan, rows: int) -> Optional[int]:
    """The optimizer steps of an epoch-based run over at most `rows` rows: on the plan's global batch, else on one
    GPU (more GPUs share the rows), or None where the epochs or the batch are not known."""
    if plan.run.max_steps or not plan.run.epochs or plan.data.pretraining_text:
        return None  # pretraining text: a document is cut into as many blocks as its length gives
    global_batch = plan.derived.global_batch
    per_step = global_batch.value if global_batch.known else rows_per_process_step(plan)
    if not per_step:
        return None
    return math.ceil(plan.run.epochs * rows / per_step)
