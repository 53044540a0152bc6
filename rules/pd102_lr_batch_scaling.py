from __future__ import annotations

import math
from typing import NamedTuple, Optional

from pretrain_doctor.plan.numbers import short_count, short_float
from pretrain_doctor.rule import Rule

CRITICAL_BATCH_TOKENS = 4e6  # past ~4M tokens/step a larger batch stops buying a larger lr (McCandlish et al. 2018)
MIN_BATCH_CHANGE = 2.0  # only batch changes larger than this are judged
MIN_FOLLOWED = 0.5  # the lr must move at least this fraction of the rule's change, in log space
SGD_FAMILIES = ("sgd", "momentum", "nesterov")


def scaling_exponent(family: Optional[str]) -> Optional[float]:
    """lr ∝ batch^exponent: 1 for SGD (Goyal et al. 2017), 1/2 for Adam (Malladi et al. 2022); None otherwise."""
    if family is None:
        return None
    if family.startswith(SGD_FAMILIES):
        return 1.0
    if family.startswith("adam"):
        return 0.5
    return None


def capped_batch_ratio(new_tokens: float, old_tokens: float, cap: float = CRITICAL_BATCH_TOKENS) -> float:
    """new/old batch in tokens, with both sides capped at the critical batch size."""
    return min(new_tokens, cap) / min(old_tokens, cap)


def expected_lr_ratio(batch_ratio: float, exponent: float) -> float:
    return batch_ratio ** exponent


def followed_fraction(actual_lr_ratio: float, expected_ratio: float) -> float:
    """How much of the rule's lr change (in log space) the config made: 1 = all of it, 0 = none, < 0 = the wrong way."""
    return math.log(actual_lr_ratio) / math.log(expected_ratio)


class BatchComparison(NamedTuple):
    new: float
    old: float
    unit: str  # "tokens/step" or "tokens/step per replica"
    capped: bool  # whether absolute sizes are known, so the critical-batch cap applies

    @property
    def raw_ratio(self) -> float:
        return self.new / self.old

    @property
    def effective_ratio(self) -> float:
        return capped_batch_ratio(self.new, self.old) if self.capped else self.raw_ratio


def compare_batches(plan, baseline) -> Optional[BatchComparison]:
    """Tokens per step of both plans; per replica when neither knows its world size (it cancels out)."""
    new, old = plan.derived.tokens_per_step, baseline.derived.tokens_per_step
    if new.known and old.known:
        return BatchComparison(new.value, old.value, "tokens/step", capped=True)
    if plan.derived.data_parallel.known or baseline.derived.data_parallel.known:
        return None
    new_replica, old_replica = _per_replica_tokens(plan), _per_replica_tokens(baseline)
    if new_replica and old_replica:
        return BatchComparison(new_replica, old_replica, "tokens/step per replica", capped=False)
    return None


def _per_replica_tokens(plan) -> Optional[float]:
    b = plan.batch
    if not b.micro_batch_size:
        return None
    return b.micro_batch_size * (b.grad_accum or 1) * (b.seq_len or 1)


class LrBatchScaling(Rule):
    """The effective batch changed against a baseline config but the learning rate did not follow.

    ## What it does
    With `check --baseline OTHER` (another config, or `git:REF` for the same file at
    a git ref), compares the tokens per optimizer step of the two configs. When the
    batch changed by more than 2× it computes the lr the scaling rule predicts —
    linear in the batch for SGD (Goyal et al. 2017), square root for Adam-family
    optimizers (Malladi et al. 2022) — with both batches capped at ~4M tokens/step,
    past which a bigger batch buys no bigger lr (McCandlish et al. 2018). It fires
    when the configured lr moved less than half of the predicted change, in log space
    (or moved the other way). When neither config knows its world size, the batches
    are compared per replica, assuming the same number of GPUs.

    ## Why is this bad?
    The lr that worked at one batch size is wrong at another: quadrupling the batch
    of an AdamW run without raising the lr leaves it at half of what the
    square-root rule allows, so the run makes less progress per token; shrinking the
    batch without lowering the lr makes updates noisier and can diverge a recipe
    that was stable. Changing the batch "only to fit memory" is
    the usual way this happens.

    ## Example
    Baseline: 8 × 4 × 2048 tokens on 16 GPUs (1M tokens/step) at lr 3e-4. New config:
    ```yaml
    optimizer: {family: adamw, lr: 3.0e-4}
    batch: {micro_batch_size: 8, grad_accum: 1, data_parallel: 16, seq_len: 2048}  # 0.26M
    ```

    ## Use instead
    ```yaml
    optimizer: {family: adamw, lr: 1.5e-4}   # 3e-4 × √(1/4)
    batch: {micro_batch_size: 8, grad_accum: 1, data_parallel: 16, seq_len: 2048}
    ```

    ## References
    - Goyal et al. 2017, linear scaling rule: https://arxiv.org/abs/1706.02677
    - Malladi et al. 2022, square-root scaling for adaptive methods: https://arxiv.org/abs/2205.10287
    - McCandlish et al. 2018, critical batch size: https://arxiv.org/abs/1812.06162
    """

    code = "PD102"
    slug = "lr-batch-scaling"
    severity = "warning"

    def check(self, plan):
        baseline = plan.baseline
        if baseline is None or plan.debug or not (plan.optimizer.lr and baseline.optimizer.lr):
            return
        exponent = scaling_exponent(plan.optimizer.family)
        if exponent is None or exponent != scaling_exponent(baseline.optimizer.family):
            return
        batches = compare_batches(plan, baseline)
        if batches is None or max(batches.raw_ratio, 1 / batches.raw_ratio) <= MIN_BATCH_CHANGE:
            return
        expected = expected_lr_ratio(batches.effective_ratio, exponent)
        if abs(math.log(expected)) < 1e-9:
            return  # both batches past the critical batch: nothing to follow
        actual = plan.optimizer.lr / baseline.optimizer.lr
        if followed_fraction(actual, expected) >= MIN_FOLLOWED:
            return
        yield self._finding(plan, baseline, batches, exponent, expected)

    def _finding(self, plan, baseline, batches: BatchComparison, exponent: float, expected: float):
        old_lr, new_lr = baseline.optimizer.lr, plan.optimizer.lr
        rule = "linear rule for SGD" if exponent == 1 else "square-root rule for Adam"
        direction = "grew" if batches.raw_ratio > 1 else "shrank"
        change = batches.raw_ratio if batches.raw_ratio > 1 else 1 / batches.raw_ratio
        capped = " (capped at 4M tokens/step)" if batches.capped and max(batches.new, batches.old) > CRITICAL_BATCH_TOKENS else ""
        same_world = "; assuming both run on the same number of GPUs" if not batches.capped else ""
        return self.finding(
            plan, "optimizer.lr",
            f"the batch {direction} {change:.2g}× against {baseline.files[0] if baseline.files else 'the baseline'} "
            f"({short_count(batches.old)} → {short_count(batches.new)} {batches.unit}{same_world}) but the lr went "
            f"{short_float(old_lr)} → {short_float(new_lr)}; the {rule}{capped} gives about "
            f"{short_float(old_lr * expected)}",
            hint=f"set the lr to about {short_float(old_lr * expected)}, or keep the baseline's batch",
        )
