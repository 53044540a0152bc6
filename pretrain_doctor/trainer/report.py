"""The post-mortem at the end of a run: the very report `replay` gives for the run's log,
printed, and written beside the log as `report.json` and a self-contained `report.html`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


def postmortem(run_log: Path, stream: TextIO, color: bool = False) -> Any:
    """Replay `run_log` (read, judged by the detectors, reported as `replay` does); returns the Report."""
    from .. import postmortem as pm
    from ..readers import read_run
    from ..replay.engine import judge_table

    run = read_run([run_log])
    report = pm.build_report(run, table=judge_table(run))
    stream.write(pm.render_text(report, color))
    stream.flush()
    folder = run_log.parent
    (folder / REPORT_JSON).write_text(json.dumps(pm.report_json(report), indent=2, default=str) + "\n",
                                      encoding="utf-8")
    pm.write_html(report, run, folder / REPORT_HTML)
    return report
