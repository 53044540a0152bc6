"""`--format json`: the check report, schema `pretrain-doctor/check-report` version 1 (cli.md)."""

from __future__ import annotations

import json

from .. import __version__
from ..check.report import CheckReport


def as_dict(report: CheckReport) -> dict:
    counts = report.counts()
    return {
        "schema": "pretrain-doctor/check-report",
        "version": 1,
        "tool": {"name": "pretrain-doctor", "version": __version__},
        "files": [
            {"path": f.path, "dialect": f.dialect, "findings": f.findings, **({"role": f.role} if f.role != "config" else {}),
             **({"note": f.note} if f.note else {}), **({"notices": f.notices} if f.notices else {})}
            for f in report.files
        ],
        "findings": [f.as_dict() for f in report.findings],
        "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in report.errors],
        "summary": {"files": len(report.files), **counts},
        **({"stats": report.stats} if report.stats else {}),
    }


def render(report: CheckReport, **_: object) -> str:
    return json.dumps(as_dict(report), indent=2) + "\n"
