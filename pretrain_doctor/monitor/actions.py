"""What the doctor does with its alerts, and how it reports them; no torch here.

`AlertActions` carries out `on_alert` ("warn", "raise", "stop" or a callable) on the
alerts at or above `action_level`; `summary_of` and `report_text` are what
`doctor.summary()` and `str(doctor)` return.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence, Union

from ..checkmeta import SEVERITY_RANK
from ..detectors.base import Alert
from .guard import debug_mode

logger = logging.getLogger("pretrain_doctor.monitor")

OnAlert = Union[str, Callable[[Alert], Any]]
ACTIONS = ("warn", "raise", "stop")


class TrainingAlert(RuntimeError):
    """Raised at a sync point when `on_alert="raise"`; `.alert` is the Alert."""

    def __init__(self, alert: Alert) -> None:
        super().__init__(f"step {alert.step}: {alert.code} {alert.slug} ({alert.severity}): {alert.message}")
        self.alert = alert


class AlertActions:
    """`on_alert` on the serious alerts of each sync. A callback that raises is reported
    once and called again for later alerts; "stop" asks the loop to stop (the end record
    is written at detach, after the last step line); "raise" raises TrainingAlert, or,
    once the doctor is detaching, keeps it for detach to raise when everything is removed."""

    def __init__(self, on_alert: OnAlert, action_level: str) -> None:
        if not callable(on_alert) and on_alert not in ACTIONS:
            raise ValueError(f"on_alert must be one of {ACTIONS} or a callable, not {on_alert!r}")
        if action_level not in SEVERITY_RANK:
            raise ValueError(f"action_level must be one of {tuple(SEVERITY_RANK)}")
        self.on_alert = on_alert
        self.action_level = action_level
        self.stop_requested = False
        self.stop_reason: Optional[str] = None
        self.held: Optional[Alert] = None  # a "raise" kept for detach
        self._callback_failed = False

    def act(self, alerts: Sequence[Alert], detaching: bool = False) -> None:
        threshold = SEVERITY_RANK[self.action_level]
        serious = [a for a in alerts if SEVERITY_RANK.get(a.severity, 0) >= threshold]
        if not serious:
            return
        if callable(self.on_alert):
            for alert in serious:
                self._call_back(alert)
        elif self.on_alert == "stop":
            self.stop_requested = True
            self.stop_reason = self.stop_reason or f"stopped: {serious[0].code} {serious[0].slug}"
        elif self.on_alert == "raise":
            if detaching:
                self.held = self.held or serious[0]
            else:
                raise TrainingAlert(serious[0])

    def take_held(self) -> Optional[Alert]:
        """The alert kept for detach to raise (once)."""
        held, self.held = self.held, None
        return held

    def _call_back(self, alert: Alert) -> None:
        try:
            self.on_alert(alert)  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001 - the user's callback must not stop the training loop
            if debug_mode():
                raise
            if not self._callback_failed:
                self._callback_failed = True
                logger.warning("pretrain-doctor: the on_alert callback raised %s: %s (the run goes on; alerts "
                               "are still logged)", type(exc).__name__, exc)


def summary_of(steps: int, alerts: Sequence[Alert], stop_requested: bool, internal_errors: Sequence[Any],
               sampling: dict[str, Any]) -> dict[str, Any]:
    """`doctor.summary()`: steps, alert counts by code, the worst severity, and more."""
    by_code: dict[str, int] = {}
    for alert in alerts:
        by_code[alert.code] = by_code.get(alert.code, 0) + 1
    worst = max((a.severity for a in alerts), key=lambda s: SEVERITY_RANK.get(s, 0), default=None)
    return {
        "steps": steps,
        "alerts": len(alerts),
        "by_code": by_code,
        "worst": worst,
        "stop_requested": stop_requested,
        "internal_errors": list(internal_errors),
        "sampling": sampling,
    }


def report_text(info: dict[str, Any], alerts: Sequence[Alert]) -> str:
    """`str(doctor)`: the summary line, then every alert it counts: one line per code and
    severity, with its steps, the first message and what to do."""
    if not alerts:
        head = f"pretrain-doctor: {info['steps']} steps, no alerts"
    else:
        codes = ", ".join(f"{code} x{count}" for code, count in sorted(info["by_code"].items()))
        head = f"pretrain-doctor: {info['steps']} steps, {info['alerts']} alerts (worst: {info['worst']}): {codes}"
    lines = [head]
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.code, alert.severity), []).append(alert)
    for (code, severity), grouped in sorted(groups.items(), key=lambda g: -SEVERITY_RANK.get(g[0][1], 0)):
        steps = [a.step for a in grouped]
        shown = ", ".join(map(str, steps[:5])) + (f", ... {steps[-1]}" if len(steps) > 5 else "")
        first = grouped[0]
        lines.append(f"  {severity} {code} {first.slug} x{len(grouped)} (step{'s' if len(steps) > 1 else ''} "
                     f"{shown}): {first.message}")
        if first.hint:
            lines.append(f"      what to do: {first.hint}")
    if info["internal_errors"]:
        lines.append(f"  internal errors (probes switched off): {len(info['internal_errors'])}")
    thinned = budget_note(info.get("sampling") or {})
    if thinned:
        lines.append(thinned)
    return "\n".join(lines)


def budget_note(sampling: dict[str, Any]) -> Optional[str]:
    """What an overhead budget thinned: the probes and the sync it stretched past their
    configured intervals (None without a budget)."""
    budget = sampling.get("budget")
    if budget is None:
        return None
    configured = sampling.get("configured_intervals", {})
    stretched = [f"{name} every {every} steps (configured {configured[name]})"
                 for name, every in sampling.get("intervals", {}).items()
                 if configured.get(name) and every > configured[name]]
    return (f"  overhead budget {budget:g}: " + ("; ".join(stretched) if stretched else "nothing thinned yet")
            + "; every step is still transferred, judged and logged")
