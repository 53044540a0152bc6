"""The post-mortem of a replayed run: incidents, their causes, and a one-line verdict."""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from ..detectors import all_detector_classes
from ..detectors.base import Alert, MetricTable
from ..replay.run import ReplayRun
from .causes import diagnose
from .incidents import SEVERITY_RANK, Incident, group_alerts, measure
from .series import CORE_METRICS, RunSeries, alert_rows

SCHEMA = "pretrain-doctor/replay-report"
SCHEMA_VERSION = 1


@dataclass
class Verdict:
    status: str       # "healthy" | "warning" | "error"
    line: str         # the one-line verdict

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"


@dataclass
class Report:
    """What `replay` tells a person about a run."""

    source: str
    format: str
    steps: int                      # records read
    first_step: Optional[int]
    last_step: Optional[int]
    metrics: list[str]              # run-level metrics (loss, lr, ...)
    layer_metrics: dict[str, int]   # per-layer family -> number of layers
    detectors: list[str]            # codes of the detectors that had something to read
    alerts: list[Alert]
    incidents: list[Incident]
    verdict: Verdict
    notes: list[str] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    # the run's metrics as columns, kept for the charts (not part of the JSON)
    series: Optional[RunSeries] = field(default=None, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0}
        for alert in self.alerts:
            out[alert.severity] = out.get(alert.severity, 0) + 1
        return out


def build_report(run: ReplayRun, merge_steps: int = 100, table: Optional[MetricTable] = None) -> Report:
    """Group the run's alerts into incidents, measure what moved first around each,
    decide a likely cause and response for each, and a verdict for the run.
    `table`: the run's MetricTable when the caller built one for `scan` (saves rebuilding it)."""
    series = RunSeries(run.records, table)
    rows = alert_rows(run.records, run.alerts)
    order = sorted(range(len(run.alerts)), key=lambda i: (rows[i], i))
    alerts = [run.alerts[i] for i in order]
    incidents = group_alerts(alerts, [rows[i] for i in order], series, merge_steps)
    for incident in incidents:
        measure(incident, series)
        found = diagnose(incident, series)
        incident.headline, incident.cause = found.headline, found.cause
        incident.response, incident.evidence = found.response, found.evidence
    families = series.families()
    return Report(
        source=run.source, format=run.format, steps=run.steps,
        first_step=int(series.steps[0]) if len(series) else None,
        last_step=int(series.steps.max()) if len(series) else None,
        metrics=[m for m in run.metrics if "/" not in m],
        layer_metrics={family: len(names) for family, names in families.items()},
        detectors=_detectors_run(series.names),
        alerts=alerts, incidents=incidents, verdict=verdict(incidents, run.steps, series),
        notes=list(run.notes),
        annotations=[{"step": a.step, "kind": a.kind, "note": a.note} for a in run.annotations],
        series=series,
    )


def _detectors_run(metrics: list[str]) -> list[str]:
    """Codes of the detectors with at least one metric to read in this log."""
    return [cls.code for cls in all_detector_classes()
            if any(fnmatch.fnmatchcase(m, p) for p in cls.needs for m in metrics)]


def verdict(incidents: list[Incident], steps: int, series: RunSeries) -> Verdict:
    serious = [i for i in incidents if not i.transient]
    transient = [i for i in incidents if i.transient]
    if not serious:
        span = f"{steps} records" + (f", steps {int(series.steps[0])}-{int(series.steps.max())}" if steps else "")
        if not transient:
            return Verdict("healthy", f"healthy: {span}, no alerts")
        if len(transient) == 1:
            return Verdict("healthy", f"healthy: one transient {_kind(transient[0])} at step "
                                      f"{transient[0].first_step} ({span})")
        shown = ", ".join(str(i.first_step) for i in transient[:5]) + (", ..." if len(transient) > 5 else "")
        return Verdict("healthy", f"healthy: {len(transient)} transient events at steps {shown} ({span})")
    worst = max(serious, key=lambda i: (SEVERITY_RANK[i.severity], -i.first_row))
    status = worst.severity if worst.severity in ("warning", "error") else "warning"
    diverged = next((i for i in serious if "PDM202" in i.codes or i.recovered is False and i.group == "instability"),
                    None)
    if diverged is not None:
        headline = diverged.headline.removeprefix("diverged: ").removeprefix("not recovered: ")
        line = f"diverged at step {diverged.first_step}: {headline}"
    else:
        line = f"{worst.severity} at step {worst.first_step}: {worst.headline}"
    if len(serious) > 1:
        line += f" ({len(serious)} incidents need attention, first at step {serious[0].first_step})"
    return Verdict(status, line)


def _kind(incident: Incident) -> str:
    return "loss spike" if incident.codes == ["PDM201"] else incident.alerts[0].slug.replace("-", " ")


# -- JSON ---------------------------------------------------------------------------------
def report_json(report: Report) -> dict[str, Any]:
    """The report as `pretrain-doctor/replay-report` v1 (replay-report.schema.json beside this module).
    Non-finite numbers become the strings "NaN", "Infinity", "-Infinity" so the document is strict JSON."""
    alerts = [_alert_json(a) for a in report.alerts]
    index = {id(a): i for i, a in enumerate(report.alerts)}
    return strict_json({
        "schema": SCHEMA, "version": SCHEMA_VERSION,
        "run": {"source": report.source, "format": report.format, "steps": report.steps,
                "first_step": report.first_step, "last_step": report.last_step, "metrics": report.metrics,
                "layer_metrics": report.layer_metrics, "detectors": report.detectors, "notes": report.notes,
                "annotations": report.annotations},
        "verdict": {"status": report.verdict.status, "line": report.verdict.line},
        "counts": report.counts(),
        "alerts": alerts,
        "incidents": [{
            "id": incident.number, "group": incident.group, "severity": incident.severity,
            "transient": incident.transient, "first_step": incident.first_step, "last_step": incident.last_step,
            "alerts": [alerts[index[id(a)]] for a in incident.alerts],
            "first_signal": _alert_json(incident.alerts[0]),
            "moved_first": [s.metric for s in incident.moved_first()],
            "signals": [s.as_dict() for s in incident.signals],
            "lead_lag": incident.lead_text() if incident.signals else None,
            "recovered": incident.recovered, "recovered_step": incident.recovered_step,
            "headline": incident.headline, "likely_cause": incident.cause,
            "suggested_response": incident.response, "evidence": incident.evidence,
            "around": incident.around,
        } for incident in report.incidents],
    })


def _alert_json(alert: Alert) -> dict[str, Any]:
    return {"step": alert.step, "code": alert.code, "slug": alert.slug, "severity": alert.severity,
            "message": alert.message, "data": alert.data}


def strict_json(value: Any) -> Any:
    """`value` as strict JSON data: non-finite floats as "NaN"/"Infinity"/"-Infinity", NumPy scalars as numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # NumPy scalars
        return strict_json(value.item())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


__all__ = ["CORE_METRICS", "Report", "SCHEMA", "SCHEMA_VERSION", "Verdict", "build_report", "report_json", "verdict"]
