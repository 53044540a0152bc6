"""Rebuild the example post-mortem under docs/ from a real logged run (BigScience tr8-104B),
exactly as the command writes it:

    pretrain-doctor replay ../shared/real-runs/bigscience/tr8-104B-wide.megatron.log \\
        --html docs/replay-report-tr8-104B.html --png DIR --fail-on never

Run from the repository root with ../shared beside it: `.venv/bin/python docs/build_example_report.py`.
It writes docs/replay-report-tr8-104B.html and docs/replay-report-tr8-104B.png (the
overview chart, shown in the README).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from pretrain_doctor.replay.command import ReplayOptions, run_replay

LOG = Path("../shared/real-runs/bigscience/tr8-104B-wide.megatron.log")
DOCS = Path(__file__).resolve().parent
STEM = "replay-report-tr8-104B"


def main() -> int:
    if not LOG.is_file():
        print(f"{LOG} not found: run from the repository root with ../shared beside it", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        run_replay(ReplayOptions([LOG], html=DOCS / f"{STEM}.html", png=Path(folder), fail_on="never"))
        shutil.copy(Path(folder) / "overview.png", DOCS / f"{STEM}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
