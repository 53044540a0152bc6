from __future__ import annotations

from pretrain_doctor.rule import Rule

IGNORE_INDEX = -100  # torch.nn.CrossEntropyLoss(ignore_index=-100), the default every trainer relies on


class LabelsNotMasked(Rule):
    """Padded or masked positions are trained on or attended to.

    ## What it does
    When batches are padded (`padding: max_length`/`longest`, or fine-tuning without
    packing at a micro-batch above 1), fires if the label pad id is not the loss's
    ignore index (-100), or if the tokenizer does not return an attention mask
    (`model_input_names` in `tokenizer_config.json` lacks `attention_mask`). Also fires,
    padded or not, when a training program masks positions in the `labels` it builds
    (-100 over the prompt) and then collates with `DataCollatorForLanguageModeling(mlm=False)`,
    which replaces every row's labels with a copy of its input ids (pad positions only masked):
    the masking never reaches the loss.

    ## Why is this bad?
    Cross-entropy skips only targets equal to `ignore_index` (-100). Labels padded with
    another id (0, the pad id) train the model to predict padding: the loss is dominated
    by trivial pad targets and the model learns to emit pad. Without an attention mask,
    real tokens attend to the padding and results depend on the batch's longest row.

    ## Example
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: gpt2}
    data: {padding: longest, label_pad_token_id: 0}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: gpt2}
    data: {padding: longest, label_pad_token_id: -100}
    ```

    ## References
    - PyTorch CrossEntropyLoss, `ignore_index=-100`: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
    - transformers DataCollatorForSeq2Seq `label_pad_token_id=-100`: https://github.com/huggingface/transformers/blob/main/src/transformers/data/data_collator.py
    - transformers DataCollatorForLanguageModeling (`mlm=False`: "labels are the same as the inputs, with the padding
      tokens ignored"): https://huggingface.co/docs/transformers/main_classes/data_collator
    """

    code = "PD505"
    slug = "labels-not-masked"
    severity = "warning"

    def check(self, plan):
        if plan.data.labels_rebuilt_by:
            yield self.finding(
                plan, "data.labels_rebuilt_by",
                f"the program masks positions of the labels it builds (-100), then collates with "
                f"{plan.data.labels_rebuilt_by}, which rebuilds every row's labels from its input ids: the prompt "
                "tokens it meant to leave out are trained on, and the answer is a small share of the loss",
                hint="collate with `DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)` (or `default_data_"
                     "collator` on rows padded to one length), which keeps the labels the dataset holds",
            )
        if not self._pads(plan):
            return
        label_pad = plan.data.label_pad_token_id
        if label_pad is not None and label_pad != IGNORE_INDEX:
            yield self.finding(
                plan, "data.label_pad_token_id",
                f"labels are padded with {label_pad}, not the loss's ignore index {IGNORE_INDEX}: every pad position "
                "is a training target and the model learns to predict padding",
                hint=f"set `label_pad_token_id: {IGNORE_INDEX}`",
            )
        if plan.tokenizer.returns_attention_mask is False:
            yield self.finding(
                plan, "tokenizer.returns_attention_mask",
                "batches are padded but the tokenizer returns no attention mask (`model_input_names` lacks "
                "`attention_mask`): real tokens attend to the padding",
                hint='add "attention_mask" to `model_input_names` in tokenizer_config.json, or pass the mask yourself',
            )

    @staticmethod
    def _pads(plan) -> bool:
        if plan.data.padding in ("max_length", "longest"):
            return True
        if plan.data.padding == "none" or plan.data.packing:
            return False
        return plan.mode.is_finetune and plan.data.packing is False and (plan.batch.micro_batch_size or 1) > 1
