"""Attention and output-logit detectors (PDM401-PDM403), fed by sampled probes."""

from __future__ import annotations



from .base import Alert, Detector, StepRecord
from .stats import median_of


def _series(record: StepRecord, prefix: str) -> list[tuple[str, float]]:
    """(module, value) of the finite `prefix/<module>` metrics, sorted by name."""
    found = []
    for name in sorted(record.metrics):
        if name.startswith(prefix + "/"):
            value = record.finite(name)
            if value is not None:
                found.append((name[len(prefix) + 1:], value))
    return found


class AttentionEntropyCollapse(Detector):
    """A head's or layer's attention entropy fell far below its own early baseline.

    ## What it does
    Reads `attn_entropy/<module>` (mean attention entropy of a layer, in nats) and
    `attn_entropy/<module>/h<k>` (one head). Each series is judged against itself: its
    baseline is the median of its first `baseline_samples` samples (after the last
    planned change, e.g. the end of warmup), then frozen. A sample is low when it is
    below `fraction` × that baseline and at least `min_drop` nats under it, or, from the
    second sample on (the baseline need not be complete), below the absolute `floor`
    (nats) and at least `min_drop` under the series' first sample; low samples never
    enter the baseline. A `warning` when a series stays low for `persist` consecutive
    samples: one per incident of a layer (its mean and its heads together), which ends
    only when every series of the layer is back above `recover` × its reference, so a
    series hovering around the bound over a long run is one alert, not one per dip. Sink heads (attending mostly to the first token) are low from the start:
    their own low first sample and baseline keep them quiet, and `min_drop` keeps tiny
    baselines from turning noise into alerts.

    ## Why is this bad?
    Zhai et al. (2023) show that attention entropy collapsing towards zero accompanies
    and predicts training instability (loss spikes, divergence) in Transformers; the
    attention becomes one-hot, gradients through it vanish or explode. Remedies: lower
    learning rate, qk-layernorm, σReparam, longer warmup.

    ## What to do
    Attention is collapsing onto few tokens: lower the lr, add QK-layernorm or softmax
    temperature/logit capping, and check the attention logits (PDM402).

    ## Thresholds
    `fraction` = 0.2, `min_drop` = 0.5 nats, `floor` = 0.1 nats, `persist` = 2 samples,
    `baseline_samples` = 3, `recover` = 0.5.

    ## References
    - Zhai et al. 2023, Stabilizing Transformer Training by Preventing Attention Entropy Collapse (ICML).
    - Xiao et al. 2023, Efficient Streaming Language Models with Attention Sinks.
    """

    code = "PDM401"
    slug = "attention-entropy-collapse"
    severity = "warning"
    needs = ("attn_entropy/*",)
    defaults = {"fraction": 0.2, "min_drop": 0.5, "floor": 0.1, "persist": 2, "baseline_samples": 3,
                "recover": 0.5}
    state_fields = ("_first", "_early", "_baseline", "_runs", "_incidents")

    def _reset_state(self) -> None:
        self._first: dict[str, float] = {}
        self._early: dict[str, list[float]] = {}
        self._baseline: dict[str, float] = {}
        self._runs: dict[str, int] = {}
        self._incidents: list[str] = []  # layers with an alert whose series have not all recovered

    def update(self, record: StepRecord) -> list[Alert]:
        collapsed: dict[str, list[tuple[str, float, float, int]]] = {}  # layer -> its series low for long enough
        recovered: dict[str, bool] = {}
        for module, entropy in _series(record, "attn_entropy"):
            first = self._first.setdefault(module, entropy)
            baseline = self._baseline.get(module)
            below_floor = entropy < self.floor and first - entropy >= self.min_drop
            low = below_floor or (baseline is not None and entropy < self.fraction * baseline
                                  and baseline - entropy >= self.min_drop)
            if baseline is None and not low:
                early = self._early.setdefault(module, [])
                early.append(entropy)
                if len(early) == self.baseline_samples:
                    self._baseline[module] = median_of(early)
                    del self._early[module]
            run = self._runs[module] = self._runs.get(module, 0) + 1 if low else 0
            reference = baseline if baseline is not None else first
            layer = module.rsplit("/h", 1)[0]  # a head's series `<layer>/h<k>` belongs to its layer
            recovered[layer] = recovered.get(layer, True) and entropy >= self.recover * reference
            if run >= self.persist:
                collapsed.setdefault(layer, []).append((module, entropy, reference, run))
        alerts = []
        for layer, ok in recovered.items():
            if layer in self._incidents:
                if ok:
                    self._incidents.remove(layer)
            elif layer in collapsed:
                self._incidents.append(layer)
                alerts.append(self._collapse(record.step, layer, collapsed[layer]))
        return alerts

    def _collapse(self, step: int, layer: str, series: list[tuple[str, float, float, int]]) -> Alert:
        """One alert for a layer: its lowest series against its reference, and the others named."""
        module, entropy, reference, run = min(series, key=lambda s: s[1] / s[2] if s[2] > 0 else s[1])
        others = [name for name, *_ in series if name != module]
        message = (f"attention entropy of {module} collapsed: {entropy:.3g} nats vs its early {reference:.3g} for "
                   f"{run} samples" + (f" (also low: {', '.join(others)})" if others else ""))
        return self.alert(step, message, module=module, layer=layer, entropy=entropy, baseline=reference,
                          also_low=others, fraction=self.fraction, floor=self.floor, min_drop=self.min_drop,
                          persist=self.persist)


class AttentionLogitGrowth(Detector):
    """The largest pre-softmax attention logit grew past a bound.

    ## What it does
    Reads `attn_max_logit/<module>` (max |q·k|/√d over the sampled heads and
    positions). A value ≥ `max_logit` is `info` on its first sample and a `warning`
    once it stays there for `persist` consecutive samples; a value ≥ `saturated_logit`
    is a `warning` at first sight (exp(-300) is 0 in fp32 and bf16: such a logit makes
    that softmax one-hot). One warning per incident: it ends when the logit falls below
    `recover` × `max_logit`, so a logit hovering around the bound is said once.

    ## Why is this bad?
    Uncontrolled growth of attention logits makes the softmax one-hot (entropy
    collapse, PDM401) and was the instability behind loss divergence in ViT-22B
    (Dehghani et al. 2023) and in the small-scale proxies of Wortsman et al. (2023);
    qk-layernorm fixes it. Kimi K2 caps the max logit at 100 with QK-Clip for the same
    reason.

    ## What to do
    Cap or normalise the attention logits (QK-layernorm, logit soft-capping), lower the
    lr, or keep the attention softmax in fp32; rewind before the growth if the loss
    already spiked.

    ## Thresholds
    `max_logit` = 100, `saturated_logit` = 300, `persist` = 2 samples, `recover` = 0.5.

    ## References
    - Dehghani et al. 2023, Scaling Vision Transformers to 22 Billion Parameters.
    - Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training instabilities.
    - Kimi Team 2025, Kimi K2 (MuonClip, QK-Clip threshold 100).
    """

    code = "PDM402"
    slug = "attention-logit-growth"
    severity = "warning"
    needs = ("attn_max_logit/*",)
    defaults = {"max_logit": 100.0, "saturated_logit": 300.0, "persist": 2, "recover": 0.5}
    state_fields = ("_runs", "_warned")

    def _reset_state(self) -> None:
        self._runs: dict[str, int] = {}
        self._warned: dict[str, bool] = {}

    def update(self, record: StepRecord) -> list[Alert]:
        alerts = []
        for module, logit in _series(record, "attn_max_logit"):
            run = self._runs[module] = self._runs.get(module, 0) + 1 if logit >= self.max_logit else 0
            if logit < self.recover * self.max_logit:
                self._warned.pop(module, None)  # the incident is over
            if run == 0:
                continue
            warn = run >= self.persist or logit >= self.saturated_logit
            if self._warned.get(module) or not (run == 1 or warn):
                continue
            level = "warning" if warn else "info"
            if warn:
                self._warned[module] = True
            alerts.append(self.alert(record.step, f"max attention logit of {module} is {logit:.4g} >= "
                                                  f"{self.max_logit:g}" + (f" for {run} samples" if run > 1 else ""),
                                     level, module=module, max_logit=logit, bound=self.max_logit, samples=run))
        return alerts


class OutputLogitDrift(Detector):
    """log Z of the output logits drifted far from 0.

    ## What it does
    Reads `log_z` (mean over positions of logsumexp of the output logits, sampled
    steps). An `info` event when |log_z| ≥ `max_abs` for `persist` consecutive samples;
    re-armed once it comes back.

    ## Why is this bad?
    The softmax is invariant to a shift of all logits, so nothing anchors log Z; when it
    drifts far, bf16 round-off of large logits degrades the loss and the output layer
    can diverge. PaLM adds a z-loss (1e-4 · log²Z) to keep it near 0. At
    initialisation log Z ≈ ln(vocabulary size) (≈ 10.8 for 50k tokens), below the bound.

    ## What to do
    Add a z-loss (1e-4 · log²Z) or lower the lr of the output layer; check the output
    layer's init.

    ## Thresholds
    `max_abs` = 30 nats, `persist` = 3 samples.

    ## References
    - Chowdhery et al. 2022, PaLM, section 5 (z-loss).
    - Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training instabilities (output logit divergence).
    """

    code = "PDM403"
    slug = "output-logit-drift"
    severity = "info"
    needs = ("log_z",)
    defaults = {"max_abs": 30.0, "persist": 3}
    state_fields = ("_run",)

    def _reset_state(self) -> None:
        self._run = 0

    def update(self, record: StepRecord) -> list[Alert]:
        log_z = record.finite("log_z")
        if log_z is None:
            return []
        self._run = self._run + 1 if abs(log_z) >= self.max_abs else 0
        if self._run != self.persist:
            return []
        return [self.alert(record.step, f"log Z of the output logits is {log_z:.3g} (|log Z| >= {self.max_abs:g} for "
                                        f"{self.persist} samples); consider z-loss", log_z=log_z,
                           max_abs=self.max_abs, persist=self.persist)]


