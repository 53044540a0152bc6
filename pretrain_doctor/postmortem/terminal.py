"""The report in a terminal (rich): header, timeline of incidents, verdict."""

from __future__ import annotations

import io
from typing import Any, Optional

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .incidents import Incident
from .report import Report

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "healthy": "bold green"}
SHOWN_TRANSIENTS = 10   # transient events listed one per line; the rest are counted
NUMBER_COLUMNS = ("loss", "grad_norm", "loss_scale", "lr", "update_ratio", "val_loss")


def render_text(report: Report, color: bool = True, width: int = 100) -> str:
    """The whole report as text; ANSI colour only when `color`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None,
                      highlight=False, emoji=False, soft_wrap=False)
    for part in (_header(report), _timeline(report), _verdict(report)):
        console.print(part)
    return buffer.getvalue()


def _header(report: Report) -> Group:
    span = (f"{report.steps:,} records, steps {report.first_step}-{report.last_step}" if report.steps
            else "no records")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column()
    facts.add_row("read as", f"{report.format} · {span}")
    facts.add_row("metrics", ", ".join(report.metrics) or "none")
    if report.layer_metrics:
        facts.add_row("per-layer", ", ".join(f"{k} x{n}" for k, n in report.layer_metrics.items()))
    facts.add_row("detectors run", f"{len(report.detectors)}: " + (" ".join(report.detectors) or "none"))
    facts.add_row("alerts", Text.assemble(*_counts(report.counts())))
    for note in report.notes:
        facts.add_row("note", Text(note, style="dim"))
    title = Text.assemble(("pretrain-doctor replay: ", "bold"), (report.source, "bold"))
    return Group(title, Padding(facts, (0, 0, 0, 2)), Text(""))


def _counts(counts: dict[str, int]) -> list[Any]:
    parts: list[Any] = []
    for severity in ("error", "warning", "info"):
        if parts:
            parts.append(" · ")
        parts.append((f"{counts.get(severity, 0)} {severity}", STYLE[severity] if counts.get(severity) else "dim"))
    return parts


def _timeline(report: Report) -> Group:
    if not report.incidents:
        return Group(Text("Timeline: nothing to report", style="bold"), Text(""))
    parts: list[Any] = [Text("Timeline", style="bold")]
    transients = 0
    for incident in report.incidents:
        if incident.transient:
            transients += 1
            if transients <= SHOWN_TRANSIENTS:
                parts.append(_transient_line(incident))
            continue
        parts.append(_incident_block(incident))
    if transients > SHOWN_TRANSIENTS:
        parts.append(Text(f"  ... and {transients - SHOWN_TRANSIENTS} more transient events (info)", style="dim"))
    parts.append(Text(""))
    return Group(*parts)


def _steps(incident: Incident) -> str:
    if incident.first_step == incident.last_step:
        return f"step {incident.first_step}"
    return f"steps {incident.first_step}-{incident.last_step}"


def _transient_line(incident: Incident) -> Text:
    first = incident.alerts[0]
    more = f" (+{len(incident.alerts) - 1} more)" if len(incident.alerts) > 1 else ""
    return Text.assemble(f"  #{incident.number:<3}", (f"{'info':<8}", STYLE["info"]), f"{_steps(incident):<18}",
                         f"{first.code} {first.message}{more}")


def _incident_block(incident: Incident) -> Group:
    severity = incident.severity
    title = Text.assemble(f"  #{incident.number:<3}", (f"{severity.upper():<8}", STYLE[severity]),
                          f"{_steps(incident):<18}", (incident.headline, "bold"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    first = incident.alerts[0]
    grid.add_row("first signal", f"{first.code} {first.slug} at step {first.step}: {first.message}")
    others = sorted({f"{a.code} {a.slug}" for a in incident.alerts[1:]} - {f"{first.code} {first.slug}"})
    if others:
        grid.add_row("also", ", ".join(others) + f" ({len(incident.alerts)} alerts)")
    if incident.signals:
        grid.add_row("moved first", incident.lead_text())
    if incident.recovered is not None:
        grid.add_row("recovered", "yes: the loss came back to its level" if incident.recovered
                     else "no: the loss stayed above its level")
    grid.add_row("likely cause", incident.cause)
    grid.add_row("response", "\n".join(f"- {line}" for line in incident.response))
    parts: list[Any] = [title, Padding(grid, (0, 0, 0, 7))]
    numbers = _numbers_table(incident)
    if numbers is not None:
        parts.append(Padding(numbers, (0, 0, 0, 7)))
    return Group(*parts)


def _numbers_table(incident: Incident) -> Optional[Table]:
    if not incident.around:
        return None
    names = [n for n in NUMBER_COLUMNS if any(n in row for row in incident.around)]
    if not names:
        return None
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False, header_style="dim")
    table.add_column("step", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    alert_steps = {a.step for a in incident.alerts}
    for row in incident.around:
        style = "bold" if row["step"] in alert_steps else None
        table.add_row(str(row["step"]), *(_fmt(row.get(n)) for n in names), style=style)
    return table


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    return f"{value:.4g}"


def _verdict(report: Report) -> Text:
    status = report.verdict.status
    return Text.assemble(("Verdict: ", "bold"), (report.verdict.line, STYLE["healthy" if status == "healthy"
                                                                          else status]))
