"""Likely cause and suggested response of an incident, each decided from evidence the
report states (the alerts, what moved first, whether the loss came back, the lr phase,
fp16 or not).

The responses are the ones the large-run reports used: restart from a checkpoint about
100 steps before the instability and skip the batches around it (PaLM), a lower lr or a
longer warmup, z-loss on the output logits (PaLM), qk-norm against attention-logit growth
(Dehghani et al. 2023; Wortsman et al. 2023), bf16 instead of fp16 (BigScience BLOOM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .incidents import Incident, SignalMove, plural
from .series import RunSeries

RESTART_MARGIN = 100   # steps before the first sign to restart from (PaLM: "about 100 steps")
SKIP_BATCHES = 200     # batches to skip at least (PaLM: 200-500)
NONFINITE = {"PDM101", "PDM102", "PDM103", "PDM104"}
SPIKES = {"PDM201", "PDM202", "PDM301", "PDM302"}


@dataclass
class Diagnosis:
    headline: str           # a few words for the verdict and the timeline
    cause: str              # one or two sentences
    response: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


def diagnose(incident: Incident, series: RunSeries) -> Diagnosis:
    """The first diagnosis whose evidence is present (most specific first)."""
    codes = set(incident.codes)
    for wants, decide in _DIAGNOSES:
        if wants(codes):
            found = decide(incident, series, codes)
            if found is not None:
                found.evidence = _evidence(incident) + found.evidence
                return found
    return Diagnosis("alerts without a known pattern",
                     f"{', '.join(incident.codes)} fired together; no known pattern of causes matches them.",
                     ["read the alerts' messages and `pretrain-doctor explain CODE` for each"], _evidence(incident))


# -- evidence ------------------------------------------------------------------------
def _evidence(incident: Incident) -> list[str]:
    first = incident.alerts[0]
    lines = [f"first signal: {first.code} {first.slug} at step {first.step}: {first.message}"]
    if incident.signals:
        lines.append(incident.lead_text())
    for move in incident.moved_first():
        factor = move.factor()
        if move.nonfinite:
            lines.append(f"{move.metric} went non-finite (level before: {_num(move.level)})")
        elif factor is not None:
            verb = "fell" if move.metric == "loss_scale" else "rose"
            lines.append(f"{move.metric} {verb} from {_num(move.level)} to {_num(move.peak)} "
                         f"(x{factor:.3g}) at step {move.peak_step}")
    if incident.recovered is True:
        lines.append(f"the loss was back at its level by step {incident.recovered_step}")
    elif incident.recovered is False:
        lines.append("the loss did not come back to its level after the incident")
    return lines


def _num(value: Optional[float]) -> str:
    return "?" if value is None else f"{value:.4g}"


def _first_sign(incident: Incident) -> int:
    moved = incident.moved_first()
    return min([incident.first_step, *(m.moved_step for m in moved if m.moved_step is not None)])


def restart_advice(incident: Incident, series: RunSeries) -> str:
    sign = _first_sign(incident)
    restart = max(0, sign - RESTART_MARGIN)
    skip_to = max(incident.last_step, restart + SKIP_BATCHES)
    return (f"restart from the last checkpoint at or before step {restart} ({plural(sign - restart, 'step')} "
            f"before the first sign at step {sign}) and skip the data batches of steps {restart}-{skip_to}")


def in_warmup(series: RunSeries, row: int) -> bool:
    """The lr was still rising at `row` (compared with 10 records earlier in the same piece)."""
    if not series.has("lr"):
        return False
    start, _ = series.piece_of(row)
    now = series.series("lr").between(max(start, row - 1000), row + 1).values
    if len(now) < 2:
        return False
    earlier = now[max(0, len(now) - 11)]
    return bool(np.isfinite(now[-1]) and now[-1] > earlier * 1.01)


def _grad_led(incident: Incident) -> Optional[SignalMove]:
    """The grad norm (or update ratio) moved before the loss did."""
    loss = incident.signal("loss")
    for metric in ("grad_norm", "update_ratio"):
        move = incident.signal(metric)
        if move is not None and move.moved and (loss is None or not loss.moved or move.moved_row < loss.moved_row):
            return move
    return None


def _scale_fell(incident: Incident) -> Optional[SignalMove]:
    move = incident.signal("loss_scale")
    return move if move is not None and move.moved else None


def _stability_responses(incident: Incident, series: RunSeries) -> list[str]:
    out = [restart_advice(incident, series)]
    if in_warmup(series, incident.first_row):
        out.append("a longer warmup: the lr was still rising when this started")
    out.append("a lower peak lr (e.g. x0.5-0.7) if it comes back at other data")
    if _scale_fell(incident) is not None:
        out.append("bf16 instead of fp16: the fp16 loss scale fell with it")
    out.append("if it keeps coming back: qk-norm (attention logits) and z-loss (output logits)")
    return out


# -- the diagnoses, most specific first ------------------------------------------------
def _replicas(incident: Incident, series: RunSeries, codes: set[str]) -> Diagnosis:
    return Diagnosis("replicas diverged",
                     "Data-parallel replicas hold different weights: silent data corruption on one GPU, a missed "
                     "all-reduce, or a rank that skipped a step the others took.",
                     ["find the rank whose checksum differs (the alert's `ranks`), drain its node, and restart "
                      f"every rank from the last checkpoint before step {incident.first_step}"])


def _evaluation(incident: Incident, series: RunSeries, codes: set[str]) -> Diagnosis:
    alert = next(a for a in incident.alerts if a.code == "PDM205")
    best = alert.data.get("best_step")
    return Diagnosis("validation loss rising while training falls",
                     "The model is memorising its training data (repeated epochs, little or duplicated data, too "
                     "many steps for the data), or the evaluation set changed under the run.",
                     [f"keep the checkpoint nearest the best evaluation (step {best}) and stop or roll back there",
                      "more (or less repeated) data, or more regularisation (dropout, weight decay)",
                      "check that the evaluation data did not change at that step"],
                     [f"best validation loss {_num(alert.data.get('best_val_loss'))} at step {best}"])


# Diagnoses that read nothing but the codes: (headline, cause, response).
_FIXED = {
    "setup": ("parameters not trained",
              "Some parameters are outside the optimizer or never receive a gradient: frozen by mistake, missing "
              "from the parameter groups, or a module the forward pass never uses.",
              "fix the optimizer's parameter groups (or remove the unused module) and restart; "
              "`pretrain-doctor check` flags most of these before a run"),
    "throughput": ("step time rose",
                   "The run got slower and stayed slower: a data loader that became the bottleneck, a throttled or "
                   "failing GPU, repeated recompilation, or a straggler rank.",
                   "profile a few steps around it; check the data loader's workers, GPU clocks and temperatures, "
                   "and `TORCH_LOGS=recompiles`"),
}


def _fixed(incident: Incident, series: RunSeries, codes: set[str]) -> Diagnosis:
    headline, cause, response = _FIXED[incident.group]
    return Diagnosis(headline, cause, [response])


def _logging(incident: Incident, series: RunSeries, codes: set[str]) -> Diagnosis:
    metrics = sorted({str(a.data.get("metric", "")) for a in incident.alerts} - {""})
    named = ", ".join(metrics) or "a metric"
    return Diagnosis(f"stale metric ({named})",
                     f"{named} stopped changing: it is logged but not recomputed (a stale value, or one this "
                     "configuration never measures), so it is not evidence of anything.",
                     [f"do not judge the run by {named}; fix the logging if it is needed"])


def _progress(incident: Incident, series: RunSeries, codes: set[str]) -> Diagnosis:
    if "PDM204" in codes:
        return Diagnosis("loss collapsed towards zero",
                         "The loss fell implausibly fast or close to zero: the model sees its answers (labels not "
                         "shifted, MLM without masking, duplicated data, an evaluation set inside the training data).",
                         ["check label shifting and masking on one batch by hand", "deduplicate the data"])
    if "PDM303" in codes:
        module = _module_named(incident)
        return Diagnosis("gradients vanishing",
                         f"Gradients vanish{f' in {module}' if module else ''}: those layers have stopped learning "
                         "(initialisation, residual scaling, saturated activations, or a detached graph).",
                         ["check the initialisation and residual scaling of those layers, and that no tensor is "
                          "detached on the way"])
    return Diagnosis("no progress",
                     "The loss stopped improving early: an lr far too low or too high, frozen weights, or a data "
                     "pipeline serving the same batches.",
                     ["check the lr schedule (and that the scheduler steps)", "check that the data shuffles and "
                      "advances", "compare with `pretrain-doctor train --scale tiny` on the same config"])


def _module_named(incident: Incident) -> Optional[str]:
    return next((str(a.data["module"]) for a in incident.alerts if a.data.get("module")), None)


def _nonfinite(incident: Incident, series: RunSeries, codes: set[str]) -> Diagnosis:
    step = min(a.step for a in incident.alerts if a.code in NONFINITE)
    module = next((str(a.data["module"]) for a in incident.alerts if a.code == "PDM103" and a.data.get("module")),
                  None)
    response = [restart_advice(incident, series)]
    scale, led = _scale_fell(incident), _grad_led(incident)
    if "PDM105" in codes or scale is not None:
        cause = (f"fp16 overflow: the loss scale fell{f' from {_num(scale.level)} to {_num(scale.peak)}' if scale else ''}"
                 f" before the non-finite values at step {step}; fp16 ran out of range.")
        response.insert(0, "bf16 instead of fp16 (fp32's exponent range); if fp16 must stay, a lower lr")
        headline = f"fp16 overflow, non-finite at step {step}"
    elif led is not None:
        cause = (f"The {led.metric} rose x{led.factor() or 0:.3g} from step {led.moved_step} before the values went "
                 f"non-finite at step {step}: an instability that overflowed.")
        response.append("a lower peak lr (e.g. x0.5) or a longer warmup")
        headline = f"{led.metric} blew up, non-finite at step {step}"
    else:
        cause = (f"A non-finite value at step {step} with no precursor in the logged metrics: a bad batch or a "
                 "numerics bug (log of 0, a division by zero, an overflow in one op).")
        response.append("if it comes back at the same batch, inspect that batch; otherwise attach the monitor "
                        "(`pretrain_doctor.attach`) to find the first module that went non-finite (PDM103)")
        headline = f"non-finite at step {step}"
    if module:
        cause += f" The first non-finite activation was in {module}."
        if "attn" in module.lower() or "attention" in module.lower():
            response.append("qk-norm on that attention (its logits overflowed)")
    return Diagnosis(headline, cause, response)


def _scale_collapse(incident: Incident, series: RunSeries, codes: set[str]) -> Optional[Diagnosis]:
    if codes & SPIKES:
        return None  # a spike with the scale falling: the stability diagnosis says bf16 too
    return Diagnosis("fp16 loss scale collapsing",
                     "The fp16 loss scale keeps halving: gradients overflow fp16 again and again, and the steps "
                     "that overflow are skipped (no update).",
                     ["bf16 instead of fp16", "a lower lr if the gradients are growing",
                      restart_advice(incident, series)])


def _attention(incident: Incident, series: RunSeries, codes: set[str]) -> Optional[Diagnosis]:
    module = _module_named(incident)
    where = f" in {module}" if module else ""
    if "PDM402" in codes or "PDM401" in codes:
        what = "attention logits growing" if "PDM402" in codes else "attention entropy collapsing"
        return Diagnosis(what + where,
                         f"The attention{where} is saturating ({what}): the instability Dehghani et al. 2023 and "
                         "Wortsman et al. 2023 traced to unbounded query-key logits; it precedes loss spikes.",
                         ["qk-norm (LayerNorm on queries and keys)", "a lower lr or a longer warmup",
                          restart_advice(incident, series)])
    if "PDM403" in codes and not codes & SPIKES:
        return Diagnosis("output logits drifting",
                         "The output logits' normaliser (log Z) is drifting away from 0: the softmax is becoming "
                         "numerically fragile (PaLM's reason for z-loss).",
                         ["z-loss (1e-4 * log(Z)^2, PaLM)", "watch the loss for spikes"])
    return None


def _lr_jump(incident: Incident, series: RunSeries, codes: set[str]) -> Optional[Diagnosis]:
    """The incident began with an lr the schedule does not explain: what follows is its effect,
    whatever the later detectors name (attention, loss, NaN)."""
    jump = incident.alerts[0]
    if jump.code != "PDM206" or not jump.data.get("ratio"):
        return None
    ratio, step = float(jump.data["ratio"]), jump.step
    change = f"x{ratio:.3g}" if ratio >= 1 else f"/{1 / ratio:.3g}"
    followed = [code for code in incident.codes if code != "PDM206"]
    return Diagnosis(f"lr jump {change} at step {step}",
                     f"The lr changed {change} in one step at step {step}, far more than its schedule explains "
                     "(a restart that lost the scheduler's state, an edited config, a schedule bug)"
                     + (f"; {', '.join(followed)} followed from it." if followed else "."),
                     [f"check the lr schedule and the scheduler state at step {step}, then restart from the last "
                      f"checkpoint before step {step} with the intended lr",
                      f"if the change was planned, annotate it (`--annotate {step}=...`, or `doctor.annotate`) "
                      "so that its alerts drop to info"])


def _update_ratio(incident: Incident, series: RunSeries, codes: set[str]) -> Optional[Diagnosis]:
    if codes & SPIKES:
        return None
    module = _module_named(incident)
    return Diagnosis(f"updates too large{f' in {module}' if module else ''}",
                     f"The optimizer's updates are a large fraction of the weights{f' of {module}' if module else ''}: "
                     "the lr is too high for those parameters.",
                     ["a lower lr (or a lower lr for that parameter group)", "a longer warmup"])


def _spike(incident: Incident, series: RunSeries, codes: set[str]) -> Diagnosis:
    loss = incident.signal("loss")
    led = _grad_led(incident)
    diverged = "PDM202" in codes or incident.recovered is False
    if incident.transient and incident.recovered is not False and led is None:
        z = max((a.data.get("z") or 0 for a in incident.alerts), default=0)
        return Diagnosis("transient loss spike",
                         f"One loss outlier{f' (z={z:.1f})' if z else ''} that came back, without a gradient "
                         "escalation: a bad batch, not an instability.",
                         ["nothing to do; if outliers come back at the same steps in other runs on this data, "
                          "inspect those batches"])
    if led is not None:
        lag = (loss.moved_step - led.moved_step) if loss is not None and loss.moved else None
        cause = (f"An optimizer instability: the {led.metric} rose x{led.factor() or 0:.3g} at step {led.moved_step}"
                 + (f", {plural(lag, 'step')} before the loss left its level" if lag else ", and the loss did not follow")
                 + (", and the loss did not come back." if diverged else "."))
        headline = f"{led.metric} rose first, then the loss" if lag else f"{led.metric} escalation"
    elif loss is not None and loss.moved:
        grad = incident.signal("grad_norm")
        if grad is None:
            gradients = " (the log has no usable grad norm to compare)"
        elif not grad.moved:
            gradients = " without the gradients moving"
        elif grad.moved_row == loss.moved_row:
            gradients = " together with the grad norm"
        else:
            gradients = " before the gradients moved"
        cause = (f"The loss left its level at step {loss.moved_step}{gradients}: a stretch of bad data, or the "
                 "first visible sign of an instability" + (", and it did not come back." if diverged else "."))
        headline = "loss spike"
    else:
        cause = "The detectors flagged the loss or the gradients, but no signal clearly left its level first."
        headline = "loss/gradient alert"
    scale = _scale_fell(incident)
    if scale is not None and scale.moved_step is not None:
        cause += (f" The fp16 loss scale fell from {_num(scale.level)} to {_num(scale.peak)} from step "
                  f"{scale.moved_step}: the gradients overflowed fp16.")
        headline += ", fp16 loss scale collapsing"
    if diverged:
        headline = ("diverged: " if "PDM202" in codes else "not recovered: ") + headline
    return Diagnosis(headline, cause, _stability_responses(incident, series))


def _any(*wanted: str) -> Callable[[set[str]], bool]:
    return lambda codes: bool(codes & set(wanted))


_DIAGNOSES: tuple[tuple[Callable[[set[str]], bool], Callable[..., Optional[Diagnosis]]], ...] = (
    (_any("PDM106"), _replicas),
    (_any("PDM206"), _lr_jump),
    (_any(*NONFINITE), _nonfinite),
    (_any("PDM105"), _scale_collapse),
    (_any("PDM401", "PDM402", "PDM403"), _attention),
    (_any("PDM304"), _update_ratio),
    (_any(*SPIKES, "PDM105", "PDM206", "PDM304", "PDM403"), _spike),
    (_any("PDM205"), _evaluation),
    (_any("PDM305", "PDM306"), _fixed),
    (_any("PDM501"), _fixed),
    (_any("PDM502"), _logging),
    (_any("PDM203", "PDM204", "PDM207", "PDM303"), _progress),
)
