from __future__ import annotations

from pretrain_doctor.rule import Rule

# How each trainer builds causal-LM labels when the config does not say (data.label_masking).
# HF/TRL's DataCollatorForLanguageModeling sets labels[input_ids == pad_token_id] = -100;
# axolotl and litgpt mask prompt and padding spans by position.
_LABEL_MASKING_BY_DIALECT = {"hf": "pad_id", "axolotl": "positional", "litgpt": "positional"}


class PadIsEos(Rule):
    """The pad token is the eos token, and labels are masked wherever the pad id appears.

    ## What it does
    Fires when the pad token (id or string) equals the eos token in a causal-LM fine-tune.
    It warns when labels are masked by comparing with the pad id (transformers'
    `DataCollatorForLanguageModeling`, used by the HF Trainer and TRL's SFTTrainer), and
    reports at `info` where labels are built by position (axolotl, litgpt), where only
    code that derives attention masks from the pad id is affected. Pretraining loops
    that pack documents without padding are not concerned and stay silent.

    ## Why is this bad?
    `tokenizer.pad_token = tokenizer.eos_token` is the usual shortcut for tokenizers
    without a pad token. With a collator that sets `labels[input_ids == pad_token_id] =
    -100`, every real eos token is masked out of the loss too: the model is never trained
    to emit eos and, after fine-tuning, rambles on until `max_new_tokens`.

    ## Example
    ```yaml
    # tokenizer_config.json saved after `tokenizer.pad_token = tokenizer.eos_token`
    {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
    ```

    ## Use instead
    ```yaml
    # a dedicated pad token (resize the embeddings), or the unk token for Llama-style vocabularies
    {"eos_token": "<|endoftext|>", "pad_token": "<|pad|>"}
    ```

    ## References
    - trl#1623, the model never learns to stop when pad == eos: https://github.com/huggingface/trl/issues/1623
    - transformers DataCollatorForLanguageModeling (labels[labels == pad_token_id] = -100): https://github.com/huggingface/transformers/blob/main/src/transformers/data/data_collator.py
    """

    code = "PD503"
    slug = "pad-is-eos"
    severity = "warning"

    def check(self, plan):
        if plan.objective.kind != "causal_lm":
            return
        shared = self._shared_token(plan)
        if shared is None:
            return
        masking = plan.data.label_masking or _LABEL_MASKING_BY_DIALECT.get(plan.dialect)
        field = "tokenizer.pad_token_id" if plan.tokenizer.pad_token_id is not None else "tokenizer.pad_token"
        if masking == "pad_id":
            yield self.finding(
                plan, field,
                f"the pad token is the eos token ({shared}) and labels are set to -100 wherever the input equals the "
                "pad id, so every eos is masked out of the loss too: the model never learns to stop",
                hint="add a dedicated pad token (e.g. `<|pad|>`, then resize the embeddings) or pad with the unk token",
            )
        elif masking == "positional":
            yield self.finding(
                plan, field,
                f"the pad token is the eos token ({shared}); this trainer masks labels by position, so eos keeps its "
                "label, but any attention mask derived from `input_ids != pad_token_id` hides every eos",
                hint="prefer a dedicated pad token (or unk) so pad and eos can never be confused",
                severity="info",
            )

    @staticmethod
    def _shared_token(plan) -> str | None:
        tok = plan.tokenizer
        if tok.pad_token_id is not None and tok.pad_token_id == tok.eos_token_id:
            label = f"`{tok.eos_token}`, id {tok.eos_token_id}" if tok.eos_token else f"id {tok.eos_token_id}"
            return label
        if tok.pad_token is not None and tok.pad_token == tok.eos_token:
            return f"`{tok.eos_token}`"
        return None
