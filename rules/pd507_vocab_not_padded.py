from __future__ import annotations

from pretrain_doctor.rule import Edit, Fix, Rule

# Megatron-style trainers pad the vocabulary to make_vocab_size_divisible_by (128) × TP.
_MEGATRON_STYLE = frozenset({"neox", "megatron"})


class VocabNotPadded(Rule):
    """The embedding's row count is not a multiple of 64, which slows every step.

    ## What it does
    For a model trained from scratch, fires (info) when the embedding table's rows
    (`embedding_size`, `padded_vocab_size`, or `vocab_size`) are not a multiple of 64, or
    of 128 × tensor-parallel size for Megatron/GPT-NeoX. Debug configs and fine-tunes are
    skipped: a fine-tune's rows are fixed by its checkpoint (NeoX with
    `make_vocab_size_divisible_by: 1` loading HF weights is deliberate).

    ## Why is this bad?
    The output projection is a (hidden × rows) matmul run on every token, the largest one
    in small models. Tensor cores want dimensions that are multiples of 8–64; an odd row
    count such as GPT-2's 50257 falls back to slower kernels. Padding to 50304 made
    nanoGPT about 25% faster; the extra rows are never produced by the tokenizer, so
    padding costs nothing else.

    `check --unsafe-fixes` pads it: it sets the embedding-rows key where the trainer has one
    (native `model.embedding_rows`, OLMo `model.embedding_size`), else the model's
    `vocab_size` (llm-foundry), rounded up to the multiple. Unsafe: the embedding and output
    layer change shape, and so does every checkpoint the run writes; a checkpoint of an
    earlier attempt no longer loads, and a converter that expects the tokenizer's size sees
    another.

    ## Example
    ```yaml
    pretrain_doctor: 1
    model: {vocab_size: 50257}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    model: {vocab_size: 50257, embedding_rows: 50304}   # OLMo `embedding_size`, nanoGPT vocab_size 50304
    ```

    ## References
    - nanoGPT model.py, "vocab_size of 50257, padded up to nearest multiple of 64 for efficiency": https://github.com/karpathy/nanoGPT/blob/master/model.py
    - NVIDIA, matrix multiplication performance and tensor-core alignment: https://docs.nvidia.com/deeplearning/performance/dl-performance-matrix-multiplication/index.html
    - Megatron-LM `--make-vocab-size-divisible-by` (default 128): https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/training/arguments.py
    """

    code = "PD507"
    slug = "vocab-not-padded"
    severity = "info"
    premises = ("mode.kind",)  # the run kind: a launched program or a fork's own key may decide it (plan/reading.py)
    fix_availability = "sometimes"

    def check(self, plan):
        if not plan.mode.from_scratch or plan.debug:
            return
        field = "model.embedding_rows" if plan.model.embedding_rows else "model.vocab_size"
        rows = plan.get(field)
        if rows is None:
            return
        multiple = 128 * (plan.parallel.tensor or 1) if plan.dialect in _MEGATRON_STYLE else 64
        if rows % multiple:
            padded = -(-rows // multiple) * multiple
            yield self.finding(
                plan, field,
                f"the embedding has {rows} rows, not a multiple of {multiple}: the output-layer matmul on every "
                "token runs on slower kernels",
                hint=f"pad the embedding to {padded} rows (the tokenizer never produces the extra ids)",
                fix=Fix.unsafe(f"pad the embedding to {padded} rows",
                               Edit.set_field(("model.embedding_rows", padded), ("model.vocab_size", padded))),
            )
