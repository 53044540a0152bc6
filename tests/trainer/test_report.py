"""At the end of `train` the post-mortem `replay` gives for the run log is printed and written
beside it (report.json, report.html)."""

from __future__ import annotations

import io
import json

from pretrain_doctor.replay.command import ReplayOptions, run_replay
from pretrain_doctor.trainer import TrainOptions
from pretrain_doctor.trainer.loop import train

from .helpers import TINY_GPT2


def test_the_run_ends_with_the_report_replay_gives_for_its_log(tmp_path, capsys):
    heard: list[str] = []
    result = train(TrainOptions(config=TINY_GPT2, steps=12, out=tmp_path, progress=False, inject=["lr_spike@6"],
                                sync_every=2, monitor_options={"console": False}), say=heard.append)
    printed = capsys.readouterr().out
    replayed = io.StringIO()
    run_replay(ReplayOptions(paths=[tmp_path / "doctor.jsonl"]), out=replayed)
    assert printed == replayed.getvalue()
    assert "Verdict:" in printed and not result.report.verdict.healthy

    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["schema"] == "pretrain-doctor/replay-report" and saved["run"]["last_step"] == 12
    assert saved["verdict"]["line"] == result.report.verdict.line
    assert any(a["code"] == "PDM206" and a["step"] == 6 for a in saved["alerts"])
    html = (tmp_path / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert any(line.startswith("post-mortem: ") and "report.json" in line for line in heard)


def test_without_the_monitor_there_is_no_report_and_the_run_says_so(tmp_path, capsys):
    heard: list[str] = []
    result = train(TrainOptions(config=TINY_GPT2, steps=2, out=tmp_path, progress=False, monitor=False),
                   say=heard.append)
    assert result.report is None and capsys.readouterr().out == ""
    assert not (tmp_path / "report.json").exists()
    assert any("post-mortem: none" in line for line in heard)

