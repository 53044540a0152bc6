from __future__ import annotations

from pretrain_doctor.rule import Rule, short_pretraining_test

_HALF = ("fp16", "bf16")


class PureHalfPrecision(Rule):
    """Weights stored and updated in half precision, without fp32 master weights.

    ## What it does
    Fires when the trained weights are fp16 or bf16 and the run is not mixed precision
    (no fp32 master copy): axolotl `float16: true` with AMP off, litgpt
    `precision: bf16-true`, NeoX/DeepSpeed without the fp32 optimizer copy, an HF/TRL
    recipe's `torch_dtype: bfloat16` beside `bf16: true` under an accelerate config that
    uses neither DeepSpeed nor FSDP (the Trainer's autocast keeps no fp32 copy), an
    axolotl full fine-tune with `bf16: true` (or auto) and neither DeepSpeed nor FSDP
    (axolotl loads the model in bf16). It is a
    warning for any training of the full model, pretraining or fine-tuning: fine-tuning
    lrs (1e-5 to 2e-5) make updates even smaller relative to the weights, so more of
    them round away. Under LoRA/QLoRA the frozen base is meant to be half precision, so
    it is only `info` there (and silent where PEFT builds the adapters, in fp32 by default
    since PEFT 0.12: HF/TRL, LLaMA-Factory, axolotl), as it is for a debug or smoke-test config, which wants no
    trained model. Silent for bf16 weights that an HF Trainer (HF, axolotl, LLaMA-Factory)
    hands to DeepSpeed with bf16 on: its engine keeps fp32 master weights.

    ## Why is this bad?
    An update `lr × step` that is smaller than half a unit in the last place of the
    weight is rounded away. bf16 keeps 8 significant bits, so with lr 3e-4 most
    updates to weights of magnitude ~0.01–1 vanish; the loss plateaus early. fp16 keeps
    11 bits but also lacks range: without loss scaling, small gradients underflow to 0.
    Mixed precision computes in half precision and keeps an fp32 master copy for the
    update, which costs memory but not accuracy.

    ## Example
    ```yaml
    precision: bf16-true   # litgpt pretraining
    ```

    ## Use instead
    ```yaml
    precision: bf16-mixed
    ```

    ## References
    - Micikevicius et al. 2018, Mixed Precision Training (fp32 master weights, loss scaling): https://arxiv.org/abs/1710.03740
    - Kalamkar et al. 2019, A Study of BFLOAT16 for Deep Learning Training: https://arxiv.org/abs/1905.12322
    - Zamirai et al. 2020, Revisiting BFloat16 Training (pure bf16 needs stochastic rounding or Kahan summation): https://arxiv.org/abs/2010.06192
    - PEFT `autocast_adapter_dtype` (casts fp16/bf16 adapter weights to fp32, "typically required for stable training"): https://huggingface.co/docs/peft/package_reference/peft_model
    - Lightning precision docs (`bf16-true` vs `bf16-mixed`): https://lightning.ai/docs/fabric/stable/fundamentals/precision.html
    """

    code = "PD302"
    slug = "pure-half-precision"
    severity = "warning"
    premises = ("mode.kind",)  # the run kind: a launched program or a fork's own key may decide it (plan/reading.py)

    def check(self, plan):
        prec = plan.precision
        if prec.params not in _HALF or prec.mixed is not False:
            return
        if plan.dialect in ("hf", "axolotl", "llamafactory") and plan.parallel.deepspeed_config \
                and prec.params == "bf16" and prec.bf16_enabled:
            # DeepSpeed's bf16 engine keeps fp32 master weights of bf16 parameters (ZeRO's fp32 partitions,
            # BF16_Optimizer at stage 0): LLaMA-Factory's `pure_bf16` under ZeRO-2 (held-out review 18, A 01)
            return
        kind = plan.mode.kind
        adapter = kind in ("lora", "qlora") or plan.mode.lora_rank is not None
        field = "precision.params" if "precision.params" in plan.sources else "precision.mixed"
        if adapter and plan.dialect in _PEFT_TRAINERS:
            # get_peft_model's `autocast_adapter_dtype` (default on since PEFT 0.12) creates the adapters in fp32 over
            # a half-precision base, LLaMA-Factory's `pure_bf16` too (held-out review 73, A 01)
            return
        if adapter:
            message = (f"pure {prec.params} weights under {kind}: right for the frozen base, but the trainable adapter "
                       f"weights are {prec.params} too unless the trainer upcasts them, and updates below "
                       f"{prec.params}'s resolution round away (PEFT upcasts adapters to fp32 by default)")
            # litgpt refuses a bnb quantization with mixed precision ("Quantization and mixed precision is not
            # supported", finetune/lora.py setup(); held-out review 22, B 24): no mixed precision to offer there
            mixed = "" if plan.dialect == "litgpt" and kind == "qlora" else f" (or use {prec.params}-mixed)"
            yield self.finding(plan, field, message, hint=f"keep trainable adapter weights in fp32{mixed}",
                               severity="info")
            return
        scaling = " and no loss scaling" if prec.params == "fp16" else ""
        unsharded = _too_big_unsharded(plan)
        # a debug or throughput run wants no trained model (held-out review 18, B 12: torchtitan's full-bf16
        # `training.dtype` in a 1,000-step throughput sweep); a cheap run does: the weights it trains are worse
        # ... and so does a test run of a few hundred steps that costs minutes: its updates at a peak lr are large
        # against bf16's resolution, and it ends before the late, small ones (held-out review 135, C 07: a 200-step
        # recipe of a 500M model, 2e16 FLOPs, the 100-step sibling already an info as a smoke test)
        short_test = not plan.debug and short_pretraining_test(plan)
        context = " (a debug or smoke-test config)" if plan.debug else f" ({short_test})" if short_test else ""
        yield self.finding(
            plan, field,
            f"weights are trained in pure {prec.params} with no fp32 master copy{scaling}{context}: small updates "
            f"round away{unsharded}",
            hint=_LOADED_HINT if (plan.sources.get(field) and plan.sources[field].key == "torch_dtype") else
            _AXOLOTL_HINT if plan.dialect == "axolotl" and prec.params == "bf16" else f"use mixed precision ({prec.params}-mixed / AMP): {prec.params} compute, fp32 master weights",
            severity="info" if plan.debug or unsharded or short_test else None,
        )


# trainers whose adapters PEFT builds (HF/TRL, LLaMA-Factory, axolotl), fp32 over any base precision
_PEFT_TRAINERS = frozenset(("hf", "llamafactory", "axolotl"))


def _too_big_unsharded(plan) -> str:
    """An axolotl full fine-tune too big for one GPU without DeepSpeed or FSDP: its launch must shard it from the
    command line (`--deepspeed`), which keeps an fp32 copy, so the pure bf16 the file alone gives is only likely."""
    params = plan.derived.parameters
    if plan.dialect != "axolotl" or not params.known or params.value < _ONE_GPU_FULL_FINETUNE:
        return ""
    return (f" (unless the launch adds `--deepspeed`: a ~{params.value / 1e9:.0f}B-parameter full fine-tune does not "
            "fit one GPU unsharded)")


# bf16 weights and gradients of 20B parameters fill an 80 GB GPU before any optimizer state
_ONE_GPU_FULL_FINETUNE = 20e9

# axolotl's `bf16: true`/auto on a full fine-tune with neither DeepSpeed nor FSDP (dialects/axolotl.py)
_AXOLOTL_HINT = ("run it under DeepSpeed (`deepspeed: deepspeed_configs/zero1.json`: its bf16 engine keeps fp32 master "
                 "weights) or FSDP, which upcasts them; or train a LoRA adapter, which PEFT keeps in fp32")

# An HF recipe's `torch_dtype: bfloat16` beside `bf16: true` on plain DDP (dialects/hf.py `_loaded_half_weights`).
_LOADED_HINT = ("load the model in float32 (drop `torch_dtype`) and keep `bf16: true`, so autocast computes in bf16 "
                "over fp32 weights; or run under DeepSpeed or FSDP, which keep an fp32 copy")
