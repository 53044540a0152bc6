"""The report as one self-contained HTML file: inline CSS and SVG, no scripts, no network."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any, Optional

from .. import __version__
from ..replay.run import ReplayRun
from .incidents import Incident
from .plots import SEVERITY_COLORS, charts
from .report import Report
from .svg import chart_svgs

NUMBER_COLUMNS = ("loss", "grad_norm", "loss_scale", "lr", "update_ratio", "val_loss")
STATUS_COLORS = {"healthy": "#15803d", "warning": "#b45309", "error": "#b91c1c"}

CSS = """
:root { color-scheme: light; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --card: #ffffff; }
* { box-sizing: border-box; }
body { margin: 0; background: #f1f5f9; color: var(--ink);
       font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 16px 48px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 10px; }
.source { color: var(--muted); word-break: break-all; }
.verdict { margin: 16px 0; padding: 12px 16px; border-radius: 8px; color: #fff; font-weight: 600; font-size: 15px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 8px; margin: 0; }
.facts div { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.facts dt { color: var(--muted); font-size: 12px; } .facts dd { margin: 0; font-weight: 600; }
.facts .wide { grid-column: span 3; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px;
        margin: 10px 0; }
svg.chart { width: 100%; height: auto; display: block; }
svg .title { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg .tick, svg .legend { font-size: 11px; fill: var(--muted); }
svg .grid { stroke: var(--line); stroke-width: 1; } svg .axis { stroke: #94a3b8; stroke-width: 1; }
svg .break { stroke: #94a3b8; stroke-width: 1.5; fill: none; }
svg .series { stroke-width: 1.4; stroke-linejoin: round; }
svg .incident { fill-opacity: 0.16; } svg .event { stroke-width: 1.5; stroke-opacity: 0.8; }
svg .band-label { font-size: 11px; font-weight: 700; } svg .nonfinite { fill: #dc2626; }
.incident-card { border-left: 5px solid var(--muted); }
.incident-card h3 { margin: 0 0 6px; font-size: 15px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; color: #fff; font-size: 12px;
         font-weight: 600; margin-right: 6px; vertical-align: 1px; }
.kv { display: grid; grid-template-columns: 120px 1fr; gap: 4px 12px; margin: 6px 0; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; }
.kv ul { margin: 0; padding-left: 18px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; } tr.alerted td { font-weight: 700; }
td.text, th.text { text-align: left; }
details { margin: 8px 0; } summary { cursor: pointer; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
"""


def write_html(report: Report, run: ReplayRun, path: str | Path) -> Path:
    """Write the report as one HTML file viewable offline; returns its path."""
    path = Path(path)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(report, run), encoding="utf-8")
    return path


def html_report(report: Report, run: ReplayRun) -> str:
    series, found = charts(report, run)
    svgs = chart_svgs(found, series)
    name = Path(report.source).name or report.source
    status = report.verdict.status
    body = [
        f"<h1>Post-mortem: {escape(name)}</h1>",
        f'<div class="source">{escape(report.source)} · read as {escape(report.format)}</div>',
        f'<div class="verdict" style="background:{STATUS_COLORS.get(status, "#334155")}">'
        f"{escape(report.verdict.line)}</div>",
        _facts(report),
        "<h2>Metrics</h2>",
        *(f'<div class="card">{svg}</div>' for svg in svgs),
    ]
    if not svgs:
        body.append('<div class="card">No metric to plot.</div>')
    body += _incidents(report)
    body += _alerts(report)
    if report.notes:
        body.append("<h2>Reader notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in report.notes) + "</ul>")
    body.append(f"<footer>pretrain-doctor {escape(__version__)} · one self-contained file: no scripts, "
                "nothing fetched from the network.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>pretrain-doctor post-mortem: {escape(name)}</title><style>{CSS}</style></head>\n"
            "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


def _facts(report: Report) -> str:
    counts = report.counts()
    facts = [
        ("records", f"{report.steps:,}"),
        ("steps", f"{report.first_step}–{report.last_step}" if report.steps else "none"),
        ("metrics", ", ".join(report.metrics) or "none"),
        ("per-layer", ", ".join(f"{k} ×{n}" for k, n in report.layer_metrics.items()) or "none"),
        ("detectors run", f"{len(report.detectors)}"),
        ("alerts", f"{counts['error']} error · {counts['warning']} warning · {counts['info']} info"),
    ]
    cells = "".join(f'<div{" class=wide" if len(v) > 40 else ""}><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>'
                    for k, v in facts)
    return f'<dl class="facts">{cells}</dl>'


def _incidents(report: Report) -> list[str]:
    serious = [i for i in report.incidents if not i.transient]
    transient = [i for i in report.incidents if i.transient]
    out = ["<h2>Incidents</h2>"]
    if not report.incidents:
        out.append('<div class="card">No alerts: nothing to report.</div>')
    out += [_incident_card(i) for i in serious]
    if transient:
        rows = "".join(f'<tr><td>#{i.number}</td><td>{_steps(i)}</td><td class="text">{escape(i.alerts[0].code)} '
                       f"{escape(i.alerts[0].message)}</td></tr>" for i in transient)
        out.append(f"<details{' open' if not serious and len(transient) <= 10 else ''}><summary>{len(transient)} transient event(s) "
                   "(info: logged and plotted, they do not make the run unhealthy)</summary>"
                   f'<div class="card"><table><tr><th>#</th><th>steps</th><th class="text">first signal</th></tr>'
                   f"{rows}</table></div></details>")
    return out


def _steps(incident: Incident) -> str:
    if incident.first_step == incident.last_step:
        return str(incident.first_step)
    return f"{incident.first_step}–{incident.last_step}"


def _incident_card(incident: Incident) -> str:
    color = SEVERITY_COLORS.get(incident.severity, "#64748b")
    first = incident.alerts[0]
    items: list[tuple[str, str]] = [("first signal", f"<b>{escape(first.code)} {escape(first.slug)}</b> at step "
                                                     f"{first.step}: {escape(first.message)}")]
    others = sorted({f"{a.code} {a.slug}" for a in incident.alerts} - {f"{first.code} {first.slug}"})
    if others:
        items.append(("also", escape(", ".join(others)) + f" ({len(incident.alerts)} alerts)"))
    if incident.signals:
        items.append(("moved first", escape(incident.lead_text())))
    if incident.recovered is not None:
        items.append(("recovered", f"yes, by step {incident.recovered_step}" if incident.recovered
                      else "no: the loss stayed above its level"))
    items.append(("likely cause", escape(incident.cause)))
    items.append(("response", "<ul>" + "".join(f"<li>{escape(r)}</li>" for r in incident.response) + "</ul>"))
    evidence = [e for e in incident.evidence if not e.startswith("first signal:")]  # shown above
    if evidence:
        items.append(("evidence", "<ul>" + "".join(f"<li>{escape(e)}</li>" for e in evidence) + "</ul>"))
    kv = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return (f'<section class="card incident-card" id="incident-{incident.number}" style="border-left-color:{color}">'
            f'<h3><span class="badge" style="background:{color}">{escape(incident.severity)}</span>'
            f"#{incident.number} · step {_steps(incident)} · {escape(incident.headline)}</h3>"
            f'<dl class="kv">{kv}</dl>{_numbers(incident)}</section>')


def _numbers(incident: Incident) -> str:
    names = [n for n in NUMBER_COLUMNS if any(n in row for row in incident.around)]
    if not names:
        return ""
    alerted = {a.step for a in incident.alerts}
    head = "<tr><th>step</th>" + "".join(f"<th>{escape(n)}</th>" for n in names) + "</tr>"
    rows = "".join(f'<tr{" class=alerted" if row["step"] in alerted else ""}><td>{row["step"]}</td>'
                   + "".join(f"<td>{_fmt(row.get(n))}</td>" for n in names) + "</tr>" for row in incident.around)
    return f"<table>{head}{rows}</table>"


def _fmt(value: Optional[Any]) -> str:
    if value is None:
        return "–"
    return escape(f"{value:.4g}" if isinstance(value, float) else str(value))


def _alerts(report: Report) -> list[str]:
    if not report.alerts:
        return []
    rows = "".join(f"<tr><td>{a.step}</td><td class=text>{escape(a.code)} {escape(a.slug)}</td>"
                   f"<td class=text>{escape(a.severity)}</td><td class=text>{escape(a.message)}</td></tr>"
                   for a in report.alerts[:2000])
    more = f" (first 2000 of {len(report.alerts)})" if len(report.alerts) > 2000 else ""
    return [f"<details><summary>All {len(report.alerts)} alerts{more}</summary><div class=card><table>"
            f'<tr><th>step</th><th class="text">check</th><th class="text">severity</th>'
            f'<th class="text">message</th></tr>{rows}</table></div></details>']
