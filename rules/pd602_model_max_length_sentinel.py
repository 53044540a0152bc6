from __future__ import annotations

from pretrain_doctor.assets.tokenizer_files import MODEL_MAX_LENGTH_SENTINEL
from pretrain_doctor.rule import Rule


class ModelMaxLengthSentinel(Rule):
    """Truncation relies on a `model_max_length` that is only transformers' "unset" value.

    ## What it does
    Fires when the tokenizer's `model_max_length` is 1e6 or more (transformers writes
    `VERY_LARGE_INTEGER` = 1e30 when the tokenizer was saved without a length) and the
    config sets no explicit maximum sequence length.

    ## Why is this bad?
    `tokenizer(text, truncation=True)` truncates to `model_max_length`, which here is
    1e30: nothing is truncated. Long examples then exceed the model's positions (an
    index error with learned positions, silent degradation with RoPE) or run out of
    memory on the first long batch. transformers only logs a warning.

    ## Example
    ```yaml
    # tokenizer_config.json: "model_max_length": 1000000000000000019884624838656
    model_name_or_path: my-org/llama-ft
    output_dir: out
    ```

    ## Use instead
    ```yaml
    model_name_or_path: my-org/llama-ft
    output_dir: out
    max_seq_length: 4096
    ```

    ## References
    - transformers `VERY_LARGE_INTEGER` default of `model_max_length`: https://github.com/huggingface/transformers/blob/main/src/transformers/tokenization_utils_base.py
    - transformers#17173, a missing `model_max_length` reads as 1e30 ("effectively infinite"): https://github.com/huggingface/transformers/issues/17173
    """

    code = "PD602"
    slug = "model-max-length-sentinel"
    severity = "warning"

    def check(self, plan):
        length = plan.tokenizer.model_max_length
        if length is None or length < MODEL_MAX_LENGTH_SENTINEL or plan.batch.seq_len is not None:
            return
        yield self.finding(
            plan, "tokenizer.model_max_length",
            f"the tokenizer's model_max_length is {length:.3g}, transformers' \"unset\" value, and the config sets no "
            "max sequence length: `truncation=True` truncates nothing",
            hint="set the max sequence length explicitly (e.g. `max_seq_length: 2048`), or fix model_max_length in "
                 "tokenizer_config.json",
        )
