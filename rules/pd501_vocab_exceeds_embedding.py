from __future__ import annotations

from pretrain_doctor.assets import from_tokenizer_files, plan_tokenizer
from pretrain_doctor.rule import Rule


class VocabExceedsEmbedding(Rule):
    """The tokenizer produces ids the embedding table has no row for.

    ## What it does
    Compares the tokenizer's length (added tokens included, as `len(tokenizer)` counts
    them; the highest id when ids have holes) and every configured bos/eos/pad id with
    the number of rows of the embedding table (`embedding_size`, `padded_vocab_size`, or
    the model config's `vocab_size`). Fires when an id can reach past the last row.
    More rows than tokens is normal padding (GPT-NeoX pads 50277 tokens to 50304 rows)
    and is not reported. Needs the tokenizer (`--tokenizer`, or a local path in the
    config) for the length check; the special-id check needs only the config.

    ## Why is this bad?
    An embedding lookup with an id ≥ rows is out of bounds: on GPU it is a device-side
    assert (`indexSelectLargeIndex ... Assertion srcIndex < srcSelectDimSize failed`) that
    kills the run at the first batch containing such a token, often hours in, and on CPU an
    `IndexError`. It happens after adding tokens without `resize_token_embeddings`, or when
    a model config is paired with another model's tokenizer.

    ## Example
    ```yaml
    pretrain_doctor: 1
    model: {vocab_size: 32000}     # Llama-2 rows
    tokenizer: {path: tokenizers/llama3, eos_token_id: 128001}   # 128256 tokens
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    model: {vocab_size: 128256}    # at least len(tokenizer); or resize_token_embeddings(len(tokenizer))
    tokenizer: {path: tokenizers/llama3, eos_token_id: 128001}
    ```

    ## References
    - torchtitan#1495, DeepSeek tokenizer (128815 tokens) larger than the embedding: cudaErrorAssert: https://github.com/pytorch/torchtitan/pull/1495
    - transformers#1848, index out of range after adding tokens without resizing: https://github.com/huggingface/transformers/issues/1848
    - Yi#448, device-side assert from a vocab/embedding mismatch: https://github.com/01-ai/Yi/issues/448
    """

    code = "PD501"
    slug = "vocab-exceeds-embedding"
    severity = "error"

    def check(self, plan):
        rows_field = "model.embedding_rows" if plan.model.embedding_rows else "model.vocab_size"
        rows = plan.get(rows_field)
        if rows is None:
            return
        too_long = list(self._length(plan, rows, rows_field))
        yield from too_long
        # Ids the tokenizer's own files declare are inside its length: already reported above.
        yield from self._special_ids(plan, rows, rows_field, skip_tokenizer_ids=bool(too_long))

    def _length(self, plan, rows: int, rows_field: str):
        tok = plan_tokenizer(plan)
        if tok is not None and tok.vocabulary_known:
            needed, length = tok.rows_needed, len(tok)
        elif plan.tokenizer.length is not None:
            needed = length = max(plan.tokenizer.length, tok.rows_needed if tok is not None else 0)
        elif tok is not None:  # no vocabulary read: the ids its files name are all that is known
            needed = length = tok.rows_needed
        else:
            return
        if needed <= rows:
            return
        detail = ""
        if tok is not None:
            beyond = [i for i in range(rows, needed) if tok.id_to_token(i) is not None][:3]
            detail = "; e.g. " + ", ".join(tok.describe_id(i) for i in beyond) + " have no row"
        counted = tok is None or tok.vocabulary_known or plan.tokenizer.length == needed
        size = f"has {length} tokens (added tokens included)" if counted else f"files name ids up to {needed - 1}"
        yield self.finding(
            plan, rows_field,
            f"the tokenizer {size} but the embedding table has only {rows} rows: "
            f"ids {rows}–{needed - 1} index past the table (a device-side assert on GPU){detail}",
            hint=f"make the embedding at least {needed} rows (e.g. model.resize_token_embeddings(len(tokenizer), "
                 f"pad_to_multiple_of=64) → {-(-needed // 64) * 64}), or use the tokenizer this model was trained with",
        )

    def _special_ids(self, plan, rows: int, rows_field: str, skip_tokenizer_ids: bool):
        tok = plan_tokenizer(plan)
        seen: set[int] = set()
        for section in ("tokenizer", "model"):
            for role in ("bos", "eos", "pad"):
                field = f"{section}.{role}_token_id"
                index = plan.get(field)
                if index is None or index < rows or index in seen:
                    continue
                if skip_tokenizer_ids and from_tokenizer_files(plan, field):
                    continue
                seen.add(index)
                shown = tok.describe_id(index) if tok is not None else str(index)
                yield self.finding(
                    plan, field,
                    f"{role}_token_id {shown} is ≥ the {rows} rows of the embedding table ({rows_field}): "
                    "the first batch that contains it hits an out-of-bounds lookup",
                    hint=f"use an id below {rows}, or grow the embedding to more than {index} rows",
                )
