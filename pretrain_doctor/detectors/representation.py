"""Contrastive runs: the embeddings themselves collapse (PDM207)."""

from __future__ import annotations

from typing import Optional

from .base import Alert, Detector, StepRecord

# The metrics a contrastive loop reports (the reference trainer's contrastive objective
# computes them from each batch's L2-normalised embeddings, a few numbers per step).
SPREAD = "embed_spread"  # mean over dimensions of the per-dimension std, × sqrt(dim): about 1 when spread out
POSITIVE = "embed_pos_sim"  # mean cosine similarity of the positive pairs
NEGATIVE = "embed_neg_sim"  # mean cosine similarity of the in-batch negatives


class RepresentationCollapse(Detector):
    """Contrastive training collapsed its embeddings: every input maps to nearly the same vector.

    ## What it does
    Reads what a contrastive loop reports of each batch's L2-normalised embeddings:
    `embed_spread` (the per-dimension standard deviation averaged over dimensions, times
    √dim: about 1 for embeddings spread over the sphere, 0 when all are equal),
    `embed_pos_sim` and `embed_neg_sim` (mean cosine similarity of positive pairs and of
    in-batch negatives). A `warning` when, for `persist` consecutive records, the spread
    stays below `spread_fraction` × the highest spread of the first `baseline_records`
    records, or, after `min_records` records, the negatives are as similar as the positives
    (gap below `min_gap`) while both are above `similarity_ceiling`. Re-armed once the
    embeddings recover.

    ## Why is this bad?
    InfoNCE is minimised by pulling positives together and pushing negatives apart; a
    collapsed encoder maps everything to one point, where both similarities are 1 and the
    loss sits at log(batch). It happens with too small a temperature (the loss follows a
    few hardest negatives and the gradients blow up), with too large a learning rate, or
    without negatives (a missing stop-gradient in BYOL/SimSiam-style setups). The loss can
    look merely flat while the representation is gone, so the embeddings are watched directly.

    ## What to do
    Raise the temperature to 0.05–0.1 (or learn it, 1/τ clamped at 100), lower the lr, and make sure
    each batch has negatives; restart from a checkpoint before the collapse.

    ## Thresholds
    `baseline_records` = 5, `spread_fraction` = 0.1, `min_records` = 10, `min_gap` = 0.02,
    `similarity_ceiling` = 0.95, `persist` = 3 records.

    ## References
    - Wang & Isola 2020, "Understanding Contrastive Representation Learning through Alignment and Uniformity on the Hypersphere": https://arxiv.org/abs/2005.10242
    - Jing et al. 2022, "Understanding Dimensional Collapse in Contrastive Self-supervised Learning": https://arxiv.org/abs/2110.09348
    - Gao et al. 2021, SimCSE (τ = 0.05): https://arxiv.org/abs/2104.08821
    """

    code = "PDM207"
    slug = "representation-collapse"
    severity = "warning"
    needs = (SPREAD, POSITIVE, NEGATIVE)
    defaults = {"baseline_records": 5, "spread_fraction": 0.1, "min_records": 10, "min_gap": 0.02,
                "similarity_ceiling": 0.95, "persist": 3}
    state_fields = ("_count", "_baseline", "_low_spread", "_no_gap", "_warned")

    def _reset_state(self) -> None:
        self._count, self._baseline = 0, None
        self._low_spread, self._no_gap, self._warned = 0, 0, False

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
        collapsed = self._low_spread >= self.persist or self._no_gap >= self.persist
        if not collapsed:
            if self._low_spread == 0 and self._no_gap == 0:
                self._warned = False
            return []
        if self._warned:
            return []
        self._warned = True
        return [self._alert(record.step, spread, positive, negative)]

    def _judge_spread(self, spread: float) -> None:
        if self._count <= self.baseline_records:
            self._baseline = spread if self._baseline is None else max(self._baseline, spread)
            return
        low = self._baseline is not None and spread < self.spread_fraction * self._baseline
        self._low_spread = self._low_spread + 1 if low else 0

    def _alert(self, step: int, spread: Optional[float], positive: Optional[float],
               negative: Optional[float]) -> Alert:
        parts = []
        if self._low_spread >= self.persist and spread is not None:
            parts.append(f"embedding spread {spread:.3g} is below {self.spread_fraction:g}x its early {self._baseline:.3g}")
        if self._no_gap >= self.persist and positive is not None and negative is not None:
            parts.append(f"negatives are as similar as positives ({negative:.3f} vs {positive:.3f})")
        return self.alert(step, "representation collapse: " + "; ".join(parts) + f" for {self.persist}+ records",
                          spread=spread, baseline_spread=self._baseline, positive_similarity=positive,
                          negative_similarity=negative, spread_fraction=self.spread_fraction,
                          min_gap=self.min_gap, persist=self.persist)
