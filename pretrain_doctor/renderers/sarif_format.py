"""`--format sarif`: SARIF 2.1.0 with one run, for GitHub code scanning."""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ..check.report import CheckReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
HELP_URI = "https://github.com/pretrain-doctor/pretrain-doctor/blob/main/README.md#rule-index"


def _rule_descriptor(code: str, cls) -> dict:
    descriptor = {"id": code, "name": cls.slug if cls else code}
    if cls is not None:
        sections = cls.sections()
        descriptor["shortDescription"] = {"text": cls.summary()}
        full = sections.get("What it does", cls.summary())
        descriptor["fullDescription"] = {"text": full}
        help_text = "\n\n".join(f"{k}\n{v}" for k, v in sections.items())
        descriptor["help"] = {"text": help_text or cls.summary(), "markdown": cls.__doc__ and _markdown(cls) or ""}
        descriptor["helpUri"] = f"{HELP_URI}"
        descriptor["defaultConfiguration"] = {"level": _LEVEL[cls.severity]}
        descriptor["properties"] = {"tags": [cls.slug]}
    return descriptor


def _markdown(cls) -> str:
    return "\n\n".join(f"## {k}\n{v}" for k, v in cls.sections().items())


def _uri(path: str) -> str:
    return Path(path).as_posix()


def as_dict(report: CheckReport) -> dict:
    fired = sorted({f.code for f in report.findings})
    index = {code: i for i, code in enumerate(fired)}
    results = []
    for f in report.findings:
        location = {"artifactLocation": {"uri": _uri(f.file or "")}}
        if f.line is not None:
            region = {"startLine": f.line}
            if f.column is not None:
                region["startColumn"] = f.column
            location["region"] = region
        message = f.message + (f"\nHint: {f.hint}" if f.hint else "")
        results.append({
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _LEVEL[f.severity],
            "message": {"text": message},
            "locations": [{"physicalLocation": location}],
        })
    notifications = [
        {"level": "error", "message": {"text": e.message},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(e.file)},
                                             **({"region": {"startLine": e.line}} if e.line else {})}}]}
        for e in report.errors
    ]
    run = {
        "tool": {"driver": {
            "name": "pretrain-doctor",
            "version": __version__,
            "informationUri": HELP_URI.split("/blob/")[0],
            "rules": [_rule_descriptor(code, report.rules.get(code)) for code in fired],
        }},
        "results": results,
        "invocations": [{"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: CheckReport, **_: object) -> str:
    return json.dumps(as_dict(report), indent=2) + "\n"
