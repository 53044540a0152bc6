"""Build a plan from config text written to a temporary file, through one dialect."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

from pretrain_doctor.config.loader import load_document
from pretrain_doctor.dialects import BuildContext, detect, get_dialect
from pretrain_doctor.plan.model import TrainingPlan


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def plan_of(path: Path, dialect: Optional[str] = None, **context: object) -> TrainingPlan:
    """The plan `dialect` (or the detected one) builds for `path`, with flags given as keywords."""
    doc = load_document(path)
    chosen = get_dialect(dialect) if dialect else detect(doc)
    assert chosen is not None, f"no dialect recognises {path}"
    return chosen.build_plan([doc], BuildContext(load=load_document, **context))


def detected(path: Path) -> Optional[str]:
    found = detect(load_document(path))
    return found.name if found else None


def notes(plan: TrainingPlan, kind: Optional[str] = None, code: Optional[str] = None) -> list:
    return [n for n in plan.notes if (kind is None or n.kind == kind) and (code is None or n.data.get("code") == code)]


def findings(plan: TrainingPlan, code: str) -> list:
    """What the built-in rule `code` says about `plan` (the rule that reads an adapter's facts)."""
    from pretrain_doctor.registry import load_rules

    return list(load_rules([]).rules[code]().check(plan) or ())


def reported(plan: TrainingPlan, code: str) -> list:
    """What `check` reports for rule `code`: its findings, softened where a premise is a fork's or only assumed
    (plan/reading.py)."""
    from pretrain_doctor.plan.reading import soften
    from pretrain_doctor.registry import load_rules

    rule = load_rules([]).rules[code]
    return soften(rule().check(plan) or (), rule.premises, plan)


def assert_trains_only(plan: TrainingPlan, part: str, field: str, line: int) -> None:
    """The plan trains only a part of the model (`part` in `mode.trains_only`), read from `field` at `line`,
    and PD103's fine-tuning bands leave it alone."""
    assert plan.mode.kind == "partial_finetune" and part in (plan.mode.trains_only or "")
    assert plan.sources[field].line == line
    assert findings(plan, "PD103") == []


def judged(*assignments: str):
    """The trainer versions `--trainer-version` would give (`judged("trl=0.16.0")`), nothing installed consulted."""
    from pretrain_doctor.dialects.versions import TrainerVersions, parse_assignments

    return TrainerVersions(parse_assignments(list(assignments)), detect_installed=False)
