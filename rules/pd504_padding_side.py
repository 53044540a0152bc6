from __future__ import annotations

from pretrain_doctor.rule import Rule

_ENCODER_DECODER = frozenset({"t5", "mt5", "bart", "mbart", "pegasus", "marian", "umt5", "longt5", "flan-t5"})


class PaddingSide(Rule):
    """The tokenizer pads on the wrong side for what the run does with the batch.

    ## What it does
    Fires when a decoder-only model generates in batches during training or evaluation
    (`predict_with_generate`, `eval.generate`) with right padding, and when training in
    fp16 with left padding. Reads `padding_side` from the config or from the tokenizer's
    `tokenizer_config.json`.

    ## Why is this bad?
    A decoder-only model continues from the last position of each row. With right
    padding, the shorter prompts end in pad tokens and the model generates after the
    padding: the outputs (and any metric computed from them) are garbage. transformers
    warns "A decoder-only architecture is being used, but right-padding was detected"
    only at generation time. Left padding in fp16 training puts fully masked rows at the
    start of attention; with fp16's narrow range their softmax overflows to NaN/inf
    losses for Llama-style models (transformers#25311), which is why Llama recipes train
    with right padding.

    ## Example
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-2-7b-hf}
    precision: {compute: fp16}
    tokenizer: {padding_side: left}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-2-7b-hf}
    precision: {compute: fp16}
    tokenizer: {padding_side: right}   # switch to left only for batched generation
    ```

    ## References
    - transformers#25311, fp16 training with left padding gives NaN loss: https://github.com/huggingface/transformers/issues/25311
    - transformers docs, "Wrong padding side" for batched generation: https://huggingface.co/docs/transformers/llm_tutorial#wrong-padding-side
    """

    code = "PD504"
    slug = "padding-side"
    severity = "warning"

    def check(self, plan):
        side = plan.tokenizer.padding_side
        if side == "right" and plan.eval.generate and self._decoder_only(plan):
            yield self.finding(
                plan, "tokenizer.padding_side",
                "batched generation with right padding: a decoder-only model continues after the pad tokens of "
                "shorter prompts, so generated text and generation metrics are wrong",
                hint="set `padding_side: left` for generation (keep right padding for the training batches)",
            )
        if side == "left" and plan.precision.fp16:
            yield self.finding(
                plan, "tokenizer.padding_side",
                "left padding while training in fp16: fully masked leading positions overflow the fp16 softmax and "
                "produce NaN/inf losses (transformers#25311)",
                hint="train with `padding_side: right` (or in bf16); use left padding only for generation",
            )

    @staticmethod
    def _decoder_only(plan) -> bool:
        family = (plan.model.family or "").lower()
        # an unknown objective (a fork's or a program's own, None) is no known decoder-only LM's
        return plan.objective.kind not in (None, "seq2seq") and family not in _ENCODER_DECODER