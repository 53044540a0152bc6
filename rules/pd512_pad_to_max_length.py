from __future__ import annotations

from pretrain_doctor.rule import Rule


class PadToMaxLength(Rule):
    """Every batch is padded to the maximum length, spending compute on pad tokens.

    ## What it does
    Fires (info) when sequences are padded to a fixed `max_length` rather than to the
    longest sequence of each batch, and examples are not packed.

    ## Why is this bad?
    Attention and MLP compute run on pad tokens too. With variable-length data (chat,
    instructions), most examples are far shorter than `max_length`, so static padding can
    spend more than half of every step on padding. Dynamic padding (`padding: longest`,
    `DataCollatorWithPadding`) or packing gives the same gradients for less compute.

    ## Example
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: gpt2}
    data: {padding: max_length}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: gpt2}
    data: {padding: longest}   # or packing: true
    ```

    ## References
    - transformers padding and truncation, `padding="longest"` vs `"max_length"`: https://huggingface.co/docs/transformers/pad_truncation
    """

    code = "PD512"
    slug = "pad-to-max-length"
    severity = "info"

    def check(self, plan):
        if plan.data.padding == "max_length" and plan.data.packing is not True:
            length = f" ({plan.batch.seq_len} tokens)" if plan.batch.seq_len else ""
            yield self.finding(
                plan, "data.padding",
                f"every sequence is padded to max_length{length}: compute is spent on pad tokens for every shorter "
                "example",
                hint="pad to the longest sequence in each batch (`padding: longest`) or pack examples",
            )
