"""What the doctor does with its alerts (actions.py, torch-free): on_alert's forms, the
action level, a callback that raises, a raise kept for detach, the report text."""

from __future__ import annotations

import logging

import pytest

from pretrain_doctor.detectors.base import Alert
from pretrain_doctor.monitor.actions import AlertActions, TrainingAlert, report_text, summary_of


def _alert(step: int, code: str = "PDM201", severity: str = "warning") -> Alert:
    return Alert(step=step, code=code, slug="loss-spike", severity=severity, message=f"spike at {step}",
                 hint="lower the lr")


def test_stop_asks_once_with_the_first_reason_and_ignores_alerts_below_the_level():
    actions = AlertActions("stop", "warning")
    actions.act([_alert(3, severity="info")])
    assert not actions.stop_requested
    actions.act([_alert(4, "PDM101", "error"), _alert(4)])
    actions.act([_alert(9)])
    assert actions.stop_requested and actions.stop_reason == "stopped: PDM101 loss-spike"


def test_raise_raises_at_a_sync_and_is_kept_for_detach_while_detaching():
    actions = AlertActions("raise", "warning")
    with pytest.raises(TrainingAlert) as raised:
        actions.act([_alert(5)])
    assert raised.value.alert.step == 5
    actions.act([_alert(7), _alert(8)], detaching=True)
    assert actions.take_held().step == 7 and actions.take_held() is None


def test_a_raising_callback_is_reported_once_and_still_called(caplog):
    calls = []

    def callback(alert):
        calls.append(alert.step)
        raise RuntimeError("boom")

    actions = AlertActions(callback, "warning")
    with caplog.at_level(logging.WARNING, logger="pretrain_doctor.monitor"):
        actions.act([_alert(1)])
        actions.act([_alert(2)])
    assert calls == [1, 2]
    assert sum("on_alert callback raised" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("on_alert, level", [("shout", "warning"), ("warn", "loud")])
def test_unknown_actions_and_levels_are_refused(on_alert, level):
    with pytest.raises(ValueError):
        AlertActions(on_alert, level)


def test_the_report_lists_every_alert_it_counts():
    alerts = [_alert(step) for step in range(1, 8)] + [_alert(3, "PDM101", "error")]
    info = summary_of(10, alerts, False, [], {})
    assert info["by_code"] == {"PDM201": 7, "PDM101": 1} and info["worst"] == "error"
    text = report_text(info, alerts).splitlines()
    assert text[0] == "pretrain-doctor: 10 steps, 8 alerts (worst: error): PDM101 x1, PDM201 x7"
    assert text[1].startswith("  error PDM101") and "x7 (steps 1, 2, 3, 4, 5, ... 7)" in text[3]
    assert text[2] == text[4] == "      what to do: lower the lr"
