from __future__ import annotations

from pretrain_doctor.rule import Rule


class TiedEmbeddingsMismatch(Rule):
    """The run ties (or unties) the embeddings differently from the checkpoint it starts from.

    ## What it does
    When a run starts from a checkpoint, compares the configured weight tying
    (`tie_word_embeddings`, OLMo `weight_tying`, litgpt `tie_embeddings`) with the
    checkpoint's own `config.json` (`--model-config`, or the checkpoint folder), and
    reports at `info` when they differ.

    ## Why is this bad?
    Tying shares one matrix between the input embedding and the output head. Loading an
    untied checkpoint into a tied model silently drops one of the two trained matrices
    (the head usually becomes a copy of the embedding); loading a tied one untied starts
    a separate head that then drifts. Either way the starting loss is far worse than the
    checkpoint's and fine-tuning starts from a damaged model.

    ## Example
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-2-7b-hf}   # tie_word_embeddings: false
    model: {tie_embeddings: true}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-2-7b-hf}
    model: {tie_embeddings: false}   # as in the checkpoint
    ```

    ## References
    - Press & Wolf 2017, "Using the Output Embedding to Improve Language Models": https://arxiv.org/abs/1608.05859
    - transformers `tie_word_embeddings` (PretrainedConfig): https://huggingface.co/docs/transformers/main_classes/configuration
    """

    code = "PD605"
    slug = "tied-embeddings-mismatch"
    severity = "info"

    def check(self, plan):
        tied, base = plan.model.tie_embeddings, plan.model.base_tie_embeddings
        if tied is None or base is None or tied == base or plan.mode.from_scratch:
            return
        state = {True: "tied", False: "untied"}
        yield self.finding(
            plan, "model.tie_embeddings",
            f"the run's embeddings are {state[tied]} but the checkpoint it starts from has them {state[base]}: "
            "one trained matrix is dropped or a fresh head starts to drift",
            hint=f"set tie_embeddings: {str(base).lower()} as in the checkpoint",
        )
