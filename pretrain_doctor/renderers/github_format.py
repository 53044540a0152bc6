"""`--format github`: GitHub Actions workflow commands, one per finding, as cli.md shows them:
`::warning file=configs/pretrain.yaml,line=12,title=PD101 lr-batch-scaling::message`."""

from __future__ import annotations

from ..check.report import CheckReport

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: CheckReport, **_: object) -> str:
    lines = []
    for error in report.errors:
        props = f"file={_escape_property(error.file)}" + (f",line={error.line}" if error.line else "")
        lines.append(f"::error {props},title=pretrain-doctor::{_escape_data(error.message)}")
    for f in report.findings:
        props = [f"file={_escape_property(f.file or '')}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        props.append(f"title={_escape_property(f'{f.code} {f.slug}')}")
        lines.append(f"::{_LEVEL[f.severity]} {','.join(props)}::{_escape_data(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
