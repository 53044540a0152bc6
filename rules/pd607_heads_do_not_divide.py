from __future__ import annotations

import re

from pretrain_doctor.lazyre import lazy_compile
from pretrain_doctor.rule import Rule

# Trainers whose attention takes the head width as hidden_size / heads, with no setting of its own for it, and
# refuse a remainder before training: GPT-NeoX (NeoXArgs.validate_values: "hidden_size must be divisible by
# num_attention_heads"; "num_kv_heads must evenly divide num_attention_heads"), nanoGPT (model.py
# `assert config.n_embd % config.n_head == 0`), OLMo (olmo/model.py `assert config.d_model % config.n_heads == 0`).
# Megatron (`--kv-channels`), litgpt (`head_size`), torchtitan and HF models (`head_dim`) may set the width apart.
_NO_HEAD_WIDTH_SETTING = {"neox": "GPT-NeoX's argument checks refuse it",
                          "nanogpt": "nanoGPT's CausalSelfAttention asserts it",
                          "olmo": "OLMo's attention asserts it"}


# Trainers that split the attention heads over the tensor-parallel ranks and refuse a remainder before training:
# Megatron-LM (validate_args: `args.num_attention_heads % args.tensor_model_parallel_size == 0`), GPT-NeoX
# (ParallelSelfAttention: `mpu.divide(num_attention_heads, world_size)`), NeMo (megatron-core's attention `divide`),
# nanotron (CausalSelfAttention asserts `num_attention_heads % tp_pg.size() == 0`).
_HEADS_OVER_TENSOR = {"megatron": "Megatron's argument checks refuse it", "neox": "GPT-NeoX's attention asserts it",
                      "nemo": "megatron-core's attention asserts it", "nanotron": "nanotron's attention asserts it"}


class HeadsDoNotDivide(Rule):
    """The attention heads do not divide the hidden size (or the key/value heads the heads).

    ## What it does
    For trainers whose head width is always hidden size / heads (GPT-NeoX, nanoGPT, OLMo), reports
    a hidden size that the number of attention heads does not divide, and a number of
    key/value heads (grouped-query attention) that does not divide the heads; and, for trainers that split
    the heads over tensor parallelism (Megatron-LM, GPT-NeoX, NeMo, nanotron), heads that the tensor-parallel
    size does not divide (held-out review 127, C 02: 15 heads at model-parallel size 2). An error: each
    of these trainers refuses the model before the first step. An info where the file is a fork's
    with its own keys about the attention's layout (nanoGPT-Kraken's `n_heads_in_split`): its model
    may check the width against other heads. For a nanoGPT config, an error where the model.py at hand
    asserts the split, a `warning` where no model.py is at hand (upstream's asserts it; a fork's, such
    as a single-head JAX port, may not), silent where the one at hand does not assert it.

    ## Why is this bad?
    Each head gets hidden_size / heads channels. With a remainder the query, key and value
    projections cannot be split into equal heads, so the trainer stops at start-up
    (GPT-NeoX: "hidden_size must be divisible by num_attention_heads"), after the job waited in
    the queue. Grouped-query attention shares each key/value head among heads / kv_heads query
    heads, which must be a whole number.

    ## Example
    ```yaml
    # GPT-NeoX
    hidden-size: 2048
    num-attention-heads: 40   # 2048 / 40 = 51.2
    ```

    ## Use instead
    ```yaml
    hidden-size: 2048
    num-attention-heads: 32   # 64 channels per head
    ```

    ## References
    - GPT-NeoX `NeoXArgs.validate_values` (megatron/neox_arguments/arguments.py): https://github.com/EleutherAI/gpt-neox/blob/main/megatron/neox_arguments/arguments.py
    - nanoGPT `CausalSelfAttention` (model.py): https://github.com/karpathy/nanoGPT/blob/master/model.py
    - Ainslie et al. 2023, GQA: https://arxiv.org/abs/2305.13245
    """

    code = "PD607"
    slug = "heads-do-not-divide"
    severity = "error"

    def check(self, plan):
        yield from self._heads_over_tensor(plan)
        refusal = _NO_HEAD_WIDTH_SETTING.get(plan.dialect)
        hidden, heads, kv_heads = plan.model.hidden_size, plan.model.heads, plan.model.kv_heads
        if refusal is None or not heads:
            return
        own = _forks_attention_keys(plan)
        if plan.dialect == "nanogpt" and plan.model.heads_asserted is False:
            return  # the fork's model.py at hand splits no heads by n_head (a single-head port)
        if hidden and hidden % heads:
            # a nanoGPT config whose model.py is not at hand: upstream's asserts it, a fork's may not
            unread = plan.dialect == "nanogpt" and plan.model.heads_asserted is None and not own
            why = ("upstream nanoGPT's model.py asserts it before training; the fork's model.py is not at hand"
                   if unread else f"{refusal} before training"
                   + (f" (upstream; the fork's own {own} may lay the heads out otherwise)" if own else ""))
            yield self.finding(
                plan, "model.heads",
                f"{heads} attention heads do not divide the hidden size {hidden} ({hidden / heads:.4g} channels per "
                f"head): {why}",
                hint=f"use a head count that divides {hidden} (e.g. {_divisor_near(hidden, heads)})",
                severity="info" if own else "warning" if unread else None,
            )
        if kv_heads and heads % kv_heads:
            yield self.finding(
                plan, "model.kv_heads",
                f"{kv_heads} key/value heads do not divide the {heads} attention heads: {refusal} before training",
                hint=f"use a key/value head count that divides {heads} (e.g. {_divisor_near(heads, kv_heads)})",
            )

    def _heads_over_tensor(self, plan):
        refusal, heads, tensor = _HEADS_OVER_TENSOR.get(plan.dialect), plan.model.heads, plan.parallel.tensor
        if refusal is None or not heads or not tensor or tensor < 2 or heads % tensor == 0:
            return
        yield self.finding(
            plan, "model.heads",
            f"{heads} attention heads do not split over a tensor-parallel size of {tensor} ({heads / tensor:.3g} heads "
            f"per rank): {refusal} before training",
            hint=f"use a head count that {tensor} divides (e.g. {_multiple_near(heads, tensor)}), or a tensor-parallel "
                 f"size that divides {heads}")


def _multiple_near(number: int, factor: int) -> int:
    """The multiple of `factor` nearest `number` (the larger one on a tie)."""
    below = number // factor * factor
    return below if below and number - below < below + factor - number else below + factor


_ATTENTION_WORDS = lazy_compile(r"head|attn|attention|split", re.I)


def _forks_attention_keys(plan) -> str:
    """A fork's own keys about the attention's layout (held-out review 58, B 15: nanoGPT-Kraken's `n_heads_in_split`
    checks the width against the heads of one split, not all of them), as the finding names them, or ""."""
    own = [key for key in plan.foreign_keys if _ATTENTION_WORDS.search(key)]
    return ", ".join(f"`{key}`" for key in own[:3])


def _divisor_near(number: int, wanted: int) -> int:
    """The divisor of `number` nearest `wanted` (the larger one on a tie)."""
    divisors = [d for d in range(1, number + 1) if number % d == 0]
    return min(divisors, key=lambda d: (abs(d - wanted), -d))
