"""The post-mortem of a replayed run (no torch): incidents, what moved first, likely
causes and responses, a verdict; rendered for a terminal, as JSON, as one self-contained
HTML file, and as PNGs (matplotlib, the `plots` extra).

    report = build_report(run)                  # run: pretrain_doctor.replay.ReplayRun
    print(render_text(report, color=True))
    json.dumps(report_json(report))             # schema pretrain-doctor/replay-report v1
    write_html(report, run, "report.html")
    write_pngs(report, run, "plots/")
"""

from .html import write_html
from .png import write_pngs
from .report import SCHEMA, SCHEMA_VERSION, Report, Verdict, build_report, report_json
from .terminal import render_text

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Report", "Verdict", "build_report", "render_text", "report_json",
           "write_html", "write_pngs"]
