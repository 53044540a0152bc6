"""Small configs and a quiet `train` call shared by the trainer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pretrain_doctor.trainer import TrainOptions, train

from ..conftest import REAL_CONFIGS, ROOT

TINYLLAMA = REAL_CONFIGS / "litgpt" / "pretrain" / "tinyllama.yaml"


TINY_GPT2 = ROOT / "fixtures" / "trainer" / "tiny-gpt2.yaml"


def run(config: Path, out: Path, steps: int, **options: Any) -> Any:
    """The trainer without a progress bar or the post-mortem report."""
    return train(TrainOptions(config=config, steps=steps, out=out, progress=False, report=False, **options))
