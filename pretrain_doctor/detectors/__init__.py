"""Runtime detectors (PDM codes): streaming checks over StepRecords, shared by the live
monitor and `replay`. Pure Python/NumPy: importing this package never imports torch.

Use
---
    from pretrain_doctor.detectors import DetectorSet, default_detectors
    detectors = DetectorSet(default_detectors(ignore=["PDM5"], PDM201={"z_spike": 8}), annotations=planned)
    alerts = detectors.feed(records)      # streaming; call again with the next records
    alerts = detectors.scan(records)      # a finished run (records or a MetricTable), vectorised: same alerts

`run_detectors(detectors, records, annotations)` and `scan(table, detectors)` are the
one-call forms of the two.

What the detectors read (the monitor, readers and `observe(**scalars)` produce these)
-----------------------------------------------------------------------------------
`StepRecord.metrics` (floats; absent when not measured at that step; a non-finite
loss/grad norm is kept as NaN/inf):

    loss                  training loss of the step                        PDM101 201 202 203 204 502
    grad_norm             global pre-clipping grad norm                    PDM102 201 301 302 502
    lr                    learning rate (group 0)                          PDM206, PDM304 (gates the low band)
    step_time             seconds from optimizer step to optimizer step    PDM501
    loss_scale            fp16 GradScaler / DeepSpeed loss scale           PDM105
    step_skipped          optimizer steps skipped in this record (0/1)     PDM102 (info), PDM105
    nan_iterations        trainer-counted non-finite iterations (Megatron) PDM102
    param_norm            global parameter norm                            PDM104
    grad_norm/<module>    per-layer grad norm (forward order)              PDM303 502
    param_norm/<module>   per-layer weight norm (sampled steps)            PDM303 502
    update_ratio/<module> ||Δθ||/||θ|| of one step (sampled steps)         PDM304 502
    attn_entropy/<module>[/h<k>]  attention entropy, nats (sampled)        PDM401 502
    attn_max_logit/<module>       max pre-softmax logit (sampled)          PDM402 502
    log_z                 mean logsumexp of the output logits (sampled)    PDM403 502
    embed_spread, embed_pos_sim, embed_neg_sim  contrastive embeddings' spread and
                          positive/negative cosine similarity           PDM207
    val_loss              validation loss at an evaluation step             PDM205
    clip_ratio, batch_size ...  logged, read by no detector

`StepRecord.extra` (only when there is something to say):

    nonfinite_grads: list[str]       parameters whose grad holds NaN/Inf                  PDM102
    nonfinite_activation: dict       {"module", "forward_index", "module_type",
                                      "input": stats, "output": stats},
                                     stats = {"nan", "inf", "absmax", "numel"}            PDM103
    nonfinite_params: list[str]      parameters holding NaN/Inf after the update          PDM104
    nonfinite_params_before_update: list[str]  ... already NaN/Inf before it (origin)   PDM104
    skipped_step: bool               the loss scaler skipped this step                    PDM102 105
    replica_mismatch: dict           {"ranks": [...], "checksums": [...]}                 PDM106
    params_not_in_optimizer: list[str], params_in_several_groups: list[str]  (at attach)  PDM305
    params_without_grad: list[str] + steps_observed: int                                 PDM306
    annotations: list[Annotation]    planned changes taking effect before this record

Planned changes (`Annotation(step, kind, note)`, kinds in ANNOTATION_KINDS) re-baseline
the statistical detectors and, for `grace_steps` (100) steps, turn their warnings and
errors into `info` with the change in `data["planned_change"]`. Non-finite checks
(PDM101-PDM106) are never softened.

Alerts carry `data` with the values and thresholds that decided them. Two tiers: a
transient outlier is `info`; a `warning` needs persistence, escalation or a second signal.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

from ..errors import UsageError
from ..selection import matches, split_codes
from .attention import AttentionEntropyCollapse, AttentionLogitGrowth, OutputLogitDrift
from .base import ANNOTATION_KINDS, Alert, Annotation, Detector, MetricTable, StepRecord
from .detector_set import DetectorSet
from .evaluation import EvalDivergence
from .gradients import (ExplodingGradient, GradNormSpike, ParamNeverUpdated, ParamNotInOptimizer,
                        UpdateRatio, VanishingGradient)
from .loss import LossCollapse, LossDivergence, LossPlateau, LossSpike
from .nonfinite import (LossScaleCollapse, NonFiniteActivation, NonFiniteGrad, NonFiniteLoss, NonFiniteParam,
                        ReplicaDivergence)
from .schedule import LrJump
from .representation import RepresentationCollapse
from .system import StaleMetric, StepTimeRegression

_CLASSES: tuple[type[Detector], ...] = (
    NonFiniteLoss, NonFiniteGrad, NonFiniteActivation, NonFiniteParam, LossScaleCollapse, ReplicaDivergence,
    LossSpike, LossDivergence, LossPlateau, LossCollapse, EvalDivergence, LrJump,
    GradNormSpike, ExplodingGradient, VanishingGradient, UpdateRatio, ParamNotInOptimizer, ParamNeverUpdated,
    AttentionEntropyCollapse, AttentionLogitGrowth, OutputLogitDrift,
    RepresentationCollapse,
    StepTimeRegression, StaleMetric,
)


def all_detector_classes() -> list[type[Detector]]:
    """Every built-in runtime detector class, by code."""
    return sorted(_CLASSES, key=lambda cls: cls.code)


def default_detectors(select: Optional[Iterable[str] | str] = None, ignore: Optional[Iterable[str] | str] = None,
                      options: Optional[Mapping[str, Any]] = None, **more: Any) -> list[Detector]:
    """The default detector set, filtered like `check` (codes, prefixes, slugs).

    Options, keyed by detector code or slug with a dict of options
    (`options={"loss-spike": {"z_spike": 8}}`, `PDM201={"z_spike": 8}`), or flat: an
    option name goes to every selected detector that has it (`grace_steps=50`,
    `z_spike=8`). A key that is neither raises UsageError, as do bad option names.
    """
    chosen, dropped = split_codes(select), split_codes(ignore)
    classes = all_detector_classes()
    for token in (*chosen, *dropped):
        if not any(matches(token, cls) for cls in classes):
            raise UsageError(f"{token!r} matches no detector code, prefix or slug")
    enabled = [cls for cls in classes
               if (not chosen or any(matches(t, cls) for t in chosen)) and not any(matches(t, cls) for t in dropped)]
    settings = _options_by_code({**(options or {}), **more}, classes, enabled)
    detectors = []
    for cls in enabled:
        try:
            detectors.append(cls(**settings.get(cls.code, {})))
        except TypeError as exc:
            raise UsageError(str(exc)) from None
    return detectors


def _detector_named(key: str, classes: Sequence[type[Detector]]) -> Optional[type[Detector]]:
    return next((c for c in classes if key.upper() == c.code or key.replace("_", "-") == c.slug), None)


def _options_by_code(options: Mapping[str, Any], classes: Sequence[type[Detector]],
                     enabled: Sequence[type[Detector]]) -> dict[str, dict]:
    settings: dict[str, dict] = {}
    for key, value in options.items():
        cls = _detector_named(key, classes)
        if cls is not None and isinstance(value, Mapping):
            settings.setdefault(cls.code, {}).update(value)
            continue
        takers = [c for c in enabled if key in c.default_options()]
        if not takers and not any(key in c.default_options() for c in classes):
            raise UsageError(f"option {key!r}: no detector has it (see `pretrain-doctor explain PDMxxx`)")
        for taker in takers:
            settings.setdefault(taker.code, {})[key] = value
    return settings


def run_detectors(detectors: Iterable[Detector], records: Iterable[StepRecord],
                  annotations: Sequence[Annotation] = ()) -> list[Alert]:
    """`DetectorSet(detectors, annotations).feed(records)`: the alerts of a stream of records."""
    return DetectorSet(detectors, annotations).feed(records)


def scan(table: MetricTable, detectors: Optional[Iterable[Detector]] = None) -> list[Alert]:
    """`DetectorSet(detectors).scan(table)` (default: `default_detectors()`): the alerts of
    a whole table, vectorised; `detectors` are not modified."""
    return DetectorSet(default_detectors() if detectors is None else detectors).scan(table)


__all__ = [
    "ANNOTATION_KINDS", "Alert", "Annotation", "Detector", "DetectorSet", "MetricTable", "StepRecord", "all_detector_classes",
    "default_detectors", "run_detectors", "scan",
    *(cls.__name__ for cls in _CLASSES),
]
