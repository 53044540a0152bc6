"""Rebuild the example post-mortem under docs/ from a real logged run (BigScience tr8-104B).

    .venv/bin/python docs/build_example_report.py     # from the repository root, ../shared beside it

Writes docs/replay-report-tr8-104B.html (the self-contained report) and
docs/replay-report-tr8-104B.png (its overview chart, shown in the README).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from pretrain_doctor.detectors import MetricTable, default_detectors, scan
from pretrain_doctor.postmortem import build_report, render_text, write_html, write_pngs
from pretrain_doctor.readers.text_log import read_text_log
from pretrain_doctor.replay import ReplayRun

LOG = Path("../shared/real-runs/bigscience/tr8-104B-wide.megatron.log")
DOCS = Path(__file__).resolve().parent
STEM = "replay-report-tr8-104B"


def main() -> int:
    if not LOG.is_file():
        print(f"{LOG} not found: run from the repository root with ../shared beside it", file=sys.stderr)
        return 2
    records = read_text_log(LOG).records
    run = ReplayRun(str(LOG), "megatron text log", records,
                    scan(MetricTable.from_records(records), default_detectors()))
    report = build_report(run)
    write_html(report, run, DOCS / f"{STEM}.html")
    with tempfile.TemporaryDirectory() as folder:
        overview = next(p for p in write_pngs(report, run, folder) if p.name == "overview.png")
        shutil.copy(overview, DOCS / f"{STEM}.png")
    print(render_text(report, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
