"""Alerts grouped into incidents, and what moved first around each one.

An incident is a run of alerts of related signals close together within one piece of
the run (no restart between them): a grad-norm escalation and the loss spike after it
are one incident, a slow step time an hour later is another. Around each incident the
loss, grad norm, loss scale and update ratio are compared with their level before it,
to say which of them left its level first and by how much.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from ..detectors.base import Alert
from .series import RunSeries

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}

# Which alerts can be one story. Numerics and stability share a group: an fp16
# overflow, a grad-norm escalation, a loss spike and the NaN after it are one incident.
GROUP_OF_CODE = {
    "PDM101": "instability", "PDM102": "instability", "PDM103": "instability", "PDM104": "instability",
    "PDM105": "instability", "PDM201": "instability", "PDM202": "instability", "PDM206": "instability",
    "PDM301": "instability", "PDM302": "instability", "PDM304": "instability",
    "PDM401": "instability", "PDM402": "instability", "PDM403": "instability",
    "PDM106": "replicas",
    "PDM203": "progress", "PDM204": "progress", "PDM207": "progress", "PDM303": "progress",
    "PDM205": "evaluation",
    "PDM305": "setup", "PDM306": "setup",
    "PDM501": "throughput", "PDM502": "logging",
}

# The signals whose lead/lag the report measures: (metric, test, how far counts as moved).
SIGNALS = (
    ("grad_norm", "ratio", 3.0),     # x its level
    ("update_ratio", "ratio", 3.0),  # x its level (largest layer)
    ("loss_scale", "fall", 4.0),     # level / x: two halvings below its level
    ("loss", "zscore", 4.0),         # robust z (MAD, floored at 2% of the level)
)
LOOKBACK_RECORDS = 10   # how far before the first alert a precursor is looked for
HISTORY_RECORDS = 64    # the level a signal is compared with: median of this many earlier values
AFTER_RECORDS = 10      # records of the loss still up after the incident that say it did not come back
RECOVERY_RECORDS = 2000  # how far after the incident a return to the level is looked for


@dataclass
class SignalMove:
    """How one signal behaved around an incident."""

    metric: str
    level: Optional[float]            # its median before the incident
    moved_step: Optional[int] = None  # first step it left its level (None: it did not)
    moved_row: Optional[int] = None
    moved_value: Optional[float] = None
    peak: Optional[float] = None      # the extreme in the incident's direction, and where
    peak_step: Optional[int] = None
    nonfinite: bool = False

    @property
    def moved(self) -> bool:
        return self.moved_step is not None

    def factor(self) -> Optional[float]:
        """peak / level (level / peak for a signal that falls)."""
        if self.peak is None or not self.level or not np.isfinite(self.peak) or self.peak == 0:
            return None
        return self.level / self.peak if self.metric == "loss_scale" else self.peak / self.level

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "level": self.level, "moved_step": self.moved_step,
                "moved_value": self.moved_value, "peak": self.peak, "peak_step": self.peak_step,
                "nonfinite": self.nonfinite}


@dataclass
class Incident:
    """Alerts that tell one story, with the evidence around them."""

    number: int
    group: str
    alerts: list[Alert]
    rows: list[int]
    signals: list[SignalMove] = field(default_factory=list)
    recovered: Optional[bool] = None   # the loss back at its level after the incident (None: cannot tell)
    recovered_step: Optional[int] = None
    cause: str = ""
    headline: str = ""
    response: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    around: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_step(self) -> int:
        return self.alerts[0].step

    @property
    def last_step(self) -> int:
        return self.alerts[-1].step

    @property
    def first_row(self) -> int:
        return min(self.rows)

    @property
    def last_row(self) -> int:
        return max(self.rows)

    @property
    def severity(self) -> str:
        return max((a.severity for a in self.alerts), key=lambda s: SEVERITY_RANK.get(s, 0))

    @property
    def transient(self) -> bool:
        """Only info events: shown and plotted, never a reason to call a run unhealthy."""
        return all(a.severity == "info" for a in self.alerts)

    @property
    def codes(self) -> list[str]:
        return sorted({a.code for a in self.alerts})

    def moved_first(self) -> list[SignalMove]:
        """The signals that moved, earliest first (ties keep SIGNALS order)."""
        moved = [s for s in self.signals if s.moved]
        return sorted(moved, key=lambda s: s.moved_row)

    def signal(self, metric: str) -> Optional[SignalMove]:
        return next((s for s in self.signals if s.metric == metric), None)

    def lead_text(self) -> str:
        """`grad_norm moved first, 1 step before loss` / `loss and grad_norm moved together at step N`."""
        moved = self.moved_first()
        if not moved:
            return "no logged signal left its level before the first alert"
        first = moved[0]
        together = [s.metric for s in moved if s.moved_row == first.moved_row]
        later = [s for s in moved if s.moved_row != first.moved_row]
        head = (f"{first.metric} moved first (step {first.moved_step})" if len(together) == 1 else
                f"{' and '.join(together)} moved together (step {first.moved_step})")
        if later:
            head += ", then " + ", ".join(f"{s.metric} {plural(s.moved_step - first.moved_step, 'step')} later"
                                          for s in later)
        return head


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def group_alerts(alerts: Sequence[Alert], rows: Sequence[int], series: RunSeries,
                 merge_steps: int = 100) -> list[Incident]:
    """Incidents from alerts in record order: an alert joins the open incident of its group
    when it is within `merge_steps` steps (at least 5 records) of that incident's last
    alert, in the same piece of the run.

    Info events that lead up to a warning or an error without a pause stay in its incident
    (an escalation); those before a pause are an incident of their own, so that a transient
    does not give a later incident its start (its verdict step and its restart point)."""
    window = max(merge_steps, 5 * series.spacing())
    open_by_group: dict[str, Incident] = {}
    incidents: list[Incident] = []
    for alert, row in zip(alerts, rows):
        group = GROUP_OF_CODE.get(alert.code, alert.code)
        current = open_by_group.get(group)
        if (current is not None and series.piece_of(current.rows[-1]) == series.piece_of(row)
                and 0 <= alert.step - current.alerts[-1].step <= window):
            current.alerts.append(alert)
            current.rows.append(row)
            if alert.severity != "info":
                lead_in = _split_transient_lead_in(current, 5 * series.spacing())
                if lead_in is not None:
                    incidents.insert(incidents.index(current), lead_in)
            continue
        incident = Incident(len(incidents) + 1, group, [alert], [row])
        incidents.append(incident)
        open_by_group[group] = incident
    for number, incident in enumerate(incidents, start=1):
        incident.number = number
    return incidents


def _split_transient_lead_in(incident: Incident, pause: float) -> Optional[Incident]:
    """When the incident's first warning or error just arrived after info events only, move
    the info events before the last pause longer than `pause` steps into an incident of
    their own (returned); None when there is nothing to move."""
    first_serious = next(i for i, a in enumerate(incident.alerts) if a.severity != "info")
    if first_serious != len(incident.alerts) - 1:
        return None  # the incident was serious already
    cut = first_serious
    while cut > 0 and incident.alerts[cut].step - incident.alerts[cut - 1].step <= pause:
        cut -= 1
    if cut == 0:
        return None
    lead_in = Incident(0, incident.group, incident.alerts[:cut], incident.rows[:cut])
    del incident.alerts[:cut], incident.rows[:cut]
    return lead_in


def measure(incident: Incident, series: RunSeries) -> None:
    """Fill in the incident's signals, recovery and the numbers around it."""
    start, end = series.piece_of(incident.first_row)
    for metric, test, threshold in SIGNALS if incident.group == "instability" else ():
        if series.has(metric) and not series.constant_in_piece(metric, incident.first_row):
            incident.signals.append(_signal_move(series, metric, test, threshold, incident, start, end))
    incident.recovered, incident.recovered_step = _recovery(series, incident, end)
    incident.around = _numbers_around(series, incident, start, end)


def _signal_move(series: RunSeries, metric: str, test: str, threshold: float, incident: Incident,
                 start: int, end: int) -> SignalMove:
    data = series.series(metric)
    first, last = incident.first_row, incident.last_row
    lo = max(start, first - LOOKBACK_RECORDS)
    hi = min(end - 1, last + 2)
    history = data.between(max(start, first - HISTORY_RECORDS), first).values
    history = history[np.isfinite(history)]
    window = data.between(lo, hi + 1)
    rows, steps, values = window.rows, window.steps, window.values
    if not len(history):  # the incident opens the piece: its own first value is the level
        finite = values[np.isfinite(values)]
        history = finite[:1]
    level = float(np.median(history)) if len(history) else None
    move = SignalMove(metric, level)
    if level is None or not len(values) or (test != "zscore" and level <= 0):
        return move
    departed = _departed(values, history, level, test, threshold)
    if departed.any():
        i = int(np.flatnonzero(departed)[0])
        move.moved_row, move.moved_step, move.moved_value = int(rows[i]), int(steps[i]), float(values[i])
    after = rows >= (move.moved_row if move.moved else first)
    candidates = values[after]
    move.nonfinite = bool((~np.isfinite(candidates)).any())
    finite = np.isfinite(candidates)
    if finite.any():
        falls = test == "fall"
        pick = np.argmin if falls else np.argmax
        j = int(pick(np.where(finite, candidates, np.inf if falls else -np.inf)))
        move.peak, move.peak_step = float(candidates[j]), int(steps[after][j])
    return move


def _departed(values: np.ndarray, history: np.ndarray, level: float, test: str, threshold: float) -> np.ndarray:
    """Which values left the level: non-finite, or beyond the test's threshold."""
    nonfinite = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):
        if test == "fall":
            return nonfinite | (values * threshold <= level)
        if test == "ratio":
            return nonfinite | (values >= level * threshold)
        spread = 1.4826 * float(np.median(np.abs(history - level))) if len(history) > 1 else 0.0
        scale = max(spread, 0.02 * abs(level), 1e-6)
        return nonfinite | ((values - level) / scale >= threshold)


def _recovery(series: RunSeries, incident: Incident, end: int) -> tuple[Optional[bool], Optional[int]]:
    """(came back, at which step): the loss back within 5% of its level within RECOVERY_RECORDS
    records after the incident, in the same piece. False when it stays up for AFTER_RECORDS
    records or to the end of the log;
    None when the log skips ahead or restarts before telling (or there is no loss)."""
    loss = incident.signal("loss")
    if loss is None or loss.level is None or not loss.moved:
        return None, None
    after = series.series("loss").between(incident.last_row + 1, min(end, incident.last_row + 1 + RECOVERY_RECORDS))
    values, steps = after.values, after.steps
    with np.errstate(invalid="ignore"):
        back = np.flatnonzero(np.isfinite(values) & (values <= loss.level * 1.05 + 1e-9))
    if len(back):
        return True, int(steps[back[0]])
    if len(values) >= AFTER_RECORDS or end == len(series):
        return False, None  # stayed up for a while, or to the end of the log
    return None, None


def _numbers_around(series: RunSeries, incident: Incident, start: int, end: int) -> list[dict[str, Any]]:
    """A few records before, the incident's own records (at most 8) and a few after."""
    names = [m for m in ("loss", "grad_norm", "loss_scale", "lr", "update_ratio", "val_loss") if series.has(m)]
    if incident.group == "evaluation":  # the evaluations leading to it, and the next one
        evals = series.series("val_loss").rows
        shown = [*evals[evals <= incident.last_row][-5:].tolist(), *evals[evals > incident.last_row][:1].tolist()]
        return _rows_of(series, names, shown)
    before = list(range(max(start, incident.first_row - 3), incident.first_row))
    inside = sorted(set(incident.rows))
    moved = [s.moved_row for s in incident.signals if s.moved and s.moved_row < incident.first_row]
    if moved:
        before = sorted(set(before) | set(range(max(start, min(moved) - 1), incident.first_row)))[-8:]
    if len(inside) > 8:
        inside = inside[:4] + inside[-4:]
    after = list(range(incident.last_row + 1, min(end, incident.last_row + 3)))
    return _rows_of(series, names, [*before, *inside, *after])


def _rows_of(series: RunSeries, names: list[str], rows: list[int]) -> list[dict[str, Any]]:
    columns = {name: series.series(name) for name in names}
    out = []
    for row in rows:
        entry: dict[str, Any] = {"step": int(series.steps[row])}
        for name, data in columns.items():
            at = np.searchsorted(data.rows, row)
            if at < len(data.rows) and data.rows[at] == row:
                entry[name] = float(data.values[at])
        out.append(entry)
    return out
