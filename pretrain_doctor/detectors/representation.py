"""Contrastive runs: the embeddings themselves collapse (PDM207)."""

from __future__ import annotations

from typing import Optional

from .base import Alert, Detector, StepRecord

# The metrics a contrastive loop reports (the reference trainer's contrastive objective
# computes them from each batch's L2-normalised embeddings, a few numbers per step).
SPREAD = "embed_spread"  # mean over dimensions of the per-dimension std, × sqrt(dim): about 1 when spread out
POSITIVE = "embed_pos_sim"  # mean cosine similarity of the positive pairs
NEGATIVE = "embed_neg_sim"  # mean cosine similarity of the in-batch negatives

# Thresholds other detectors take on a contrastive run (the plan's `objective.kind`). PDM204's
# floor and fast-fall tests rest on token prediction's entropy floor; InfoNCE has none: a healthy
# unsupervised SimCSE loss falls by 90% within a few steps and "should converge to almost 0"
# (SimCSE's authors, princeton-nlp/SimCSE issues 40 and 193). Only an exactly-zero loss (no
# gradient at all) stays suspect there; a collapse is PDM207's to see.
OBJECTIVE_OPTIONS: dict[str, dict[str, dict[str, float]]] = {
    "contrastive": {"PDM204": {"floor": 0.0, "fast_fraction": 0.0}},
}


def objective_options(kind: Optional[str]) -> dict[str, dict[str, float]]:
    """Detector options (`{code: {option: value}}`, as `attach` takes them) for an objective."""
    return {code: dict(options) for code, options in OBJECTIVE_OPTIONS.get(kind or "", {}).items()}


class RepresentationCollapse(Detector):
    """Contrastive training collapsed its embeddings: every input maps to nearly the same vector.

    ## What it does
    Reads what a contrastive loop reports of each batch's L2-normalised embeddings:
    `embed_spread` (the per-dimension standard deviation averaged over dimensions, times
    √dim: about 1 for embeddings spread over the sphere, 0 when all are equal),
    `embed_pos_sim` and `embed_neg_sim` (mean cosine similarity of positive pairs and of
    in-batch negatives), with the `loss`. A `warning` when, for `persist` consecutive
    records, (1) the spread stays below `spread_fraction` × the highest spread of the first
    `baseline_records` records; or, after `min_records` records, (2) the negatives are as
    similar as the positives (gap below `min_gap`) while both are above
    `similarity_ceiling`; or (3) the loss is saturated (≤ `saturated_loss`) while the
    negatives are still alike (mean cosine ≥ `uniformity_ceiling`): the embeddings sit in a
    narrow cone and nothing pushes them apart any more. Re-armed once the embeddings recover
    (none of the three holds and the negatives' mean cosine is below `uniformity_ceiling`).

    ## Why is this bad?
    InfoNCE is minimised by pulling positives together and pushing negatives apart; a
    collapsed encoder maps everything to one point, where both similarities are 1 and the
    loss sits at log(batch). It happens with too small a temperature (the loss follows a
    few hardest negatives and the gradients blow up), with too large a learning rate, or
    without negatives (a missing stop-gradient in BYOL/SimSiam-style setups). Too small a
    temperature also fails quietly: the logits are cos/τ, so at τ = 0.005 a cosine gap of
    0.1 between the positive and every negative is already 20 nats and the loss is ~0,
    while the negatives still share a cosine of 0.6 (an anisotropic, partly collapsed
    space, the opposite of the uniformity contrastive learning is for). At τ = 0.05 the
    same loss needs the negatives about 0.45 below the positives. The loss looks perfect
    while the representation is poor, so the embeddings are watched directly.

    ## What to do
    Raise the temperature to 0.05–0.1 (or learn it, 1/τ clamped at 100), lower the lr, and make sure
    each batch has negatives; restart from a checkpoint before the collapse.

    ## Thresholds
    `baseline_records` = 5, `spread_fraction` = 0.1, `min_records` = 10, `min_gap` = 0.02,
    `similarity_ceiling` = 0.95, `saturated_loss` = 0.01 nats, `uniformity_ceiling` = 0.5,
    `persist` = 3 records.

    ## References
    - Wang & Isola 2020, "Understanding Contrastive Representation Learning through Alignment and Uniformity on the Hypersphere": https://arxiv.org/abs/2005.10242
    - Jing et al. 2022, "Understanding Dimensional Collapse in Contrastive Self-supervised Learning": https://arxiv.org/abs/2110.09348
    - Gao et al. 2021, SimCSE (τ = 0.05): https://arxiv.org/abs/2104.08821
    - Wang & Liu 2021, "Understanding the Behaviour of Contrastive Loss" (the temperature): https://arxiv.org/abs/2012.09740
    - Ethayarajh 2019, anisotropic contextual embeddings: https://arxiv.org/abs/1909.00512
    """

    code = "PDM207"
    slug = "representation-collapse"
    severity = "warning"
    needs = (SPREAD, POSITIVE, NEGATIVE)
    also_reads = ("loss",)
    defaults = {"baseline_records": 5, "spread_fraction": 0.1, "min_records": 10, "min_gap": 0.02,
                "similarity_ceiling": 0.95, "saturated_loss": 0.01, "uniformity_ceiling": 0.5, "persist": 3}
    state_fields = ("_count", "_baseline", "_low_spread", "_no_gap", "_saturated", "_warned")

    def _reset_state(self) -> None:
        self._count, self._baseline = 0, None
        self._low_spread, self._no_gap, self._saturated, self._warned = 0, 0, 0, False

    def _rebaseline(self) -> None:
        """A planned change keeps the baseline: collapse is judged against the run's start."""

    def update(self, record: StepRecord) -> list[Alert]:
        spread, positive, negative = record.finite(SPREAD), record.finite(POSITIVE), record.finite(NEGATIVE)
        if spread is None and (positive is None or negative is None):
            return []
        self._count += 1
        if spread is not None:
            self._judge_spread(spread)
        if positive is not None and negative is not None and self._count > self.min_records:
            same = positive - negative < self.min_gap and negative > self.similarity_ceiling
            self._no_gap = self._no_gap + 1 if same else 0
        loss = record.finite("loss")
        if negative is not None and loss is not None and self._count > self.min_records:
            stuck = loss <= self.saturated_loss and negative >= self.uniformity_ceiling
            self._saturated = self._saturated + 1 if stuck else 0
        counters = (self._low_spread, self._no_gap, self._saturated)
        if max(counters) < self.persist:
            # Re-armed by embeddings that recovered, not by one batch whose loss rose a little.
            spread_out = negative is None or negative < self.uniformity_ceiling
            if not any(counters) and spread_out:
                self._warned = False
            return []
        if self._warned:
            return []
        self._warned = True
        return [self._alert(record.step, spread, positive, negative, loss)]

    def _judge_spread(self, spread: float) -> None:
        if self._count <= self.baseline_records:
            self._baseline = spread if self._baseline is None else max(self._baseline, spread)
            return
        low = self._baseline is not None and spread < self.spread_fraction * self._baseline
        self._low_spread = self._low_spread + 1 if low else 0

    def _alert(self, step: int, spread: Optional[float], positive: Optional[float],
               negative: Optional[float], loss: Optional[float]) -> Alert:
        parts = []
        if self._low_spread >= self.persist and spread is not None:
            parts.append(f"embedding spread {spread:.3g} is below {self.spread_fraction:g}x its early {self._baseline:.3g}")
        if self._no_gap >= self.persist and positive is not None and negative is not None:
            parts.append(f"negatives are as similar as positives ({negative:.3f} vs {positive:.3f})")
        if self._saturated >= self.persist and negative is not None and loss is not None:
            parts.append(f"the loss {loss:.2g} is saturated while negatives keep a mean cosine of {negative:.2f} "
                         f"(>= {self.uniformity_ceiling:g}): temperature too small?")
        return self.alert(step, "representation collapse: " + "; ".join(parts) + f" for {self.persist}+ records",
                          spread=spread, baseline_spread=self._baseline, positive_similarity=positive,
                          negative_similarity=negative, spread_fraction=self.spread_fraction,
                          min_gap=self.min_gap, loss=loss, saturated_loss=self.saturated_loss,
                          uniformity_ceiling=self.uniformity_ceiling, persist=self.persist)
