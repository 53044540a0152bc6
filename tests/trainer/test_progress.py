"""The trainer's progress in plain lines (not on a terminal): a tenth of the run apart, and the last step."""

from __future__ import annotations

from pretrain_doctor.trainer import TrainOptions
from pretrain_doctor.trainer.loop import train

from .helpers import TINY_GPT2


def test_the_progress_shows_the_last_step_of_a_stopped_run(tmp_path, capsys):
    train(TrainOptions(config=TINY_GPT2, steps=40, stop_at=7, out=tmp_path, progress=False, report=False,
                       monitor=False), say=lambda line: None)
    shown = [line.split()[1] for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]
    assert shown == ["4/40", "7/40"]  # every 4th step (a tenth of the run), and where it stopped
