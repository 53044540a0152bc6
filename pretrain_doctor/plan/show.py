"""Render a TrainingPlan for `pretrain-doctor plan`: every field with its source, every
derived quantity with its formula."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .model import Source, TrainingPlan

_META = {"dialect", "files", "sources", "unknown", "notes", "foreign_keys", "foreign_key_words", "fork_areas", "reading"}


def plan_fields(plan: TrainingPlan) -> list[tuple[str, Any]]:
    """(dotted field, value) for every field that is set, in schema order."""
    out: list[tuple[str, Any]] = []
    for name in type(plan).model_fields:
        if name in _META:
            continue
        value = getattr(plan, name)
        # A sub-model is tested by type: `model_fields` read on an instance is deprecated (pydantic 2.11).
        if isinstance(value, BaseModel):
            for inner in type(value).model_fields:
                inner_value = getattr(value, inner)
                if inner_value not in (None, [], {}, False) or f"{name}.{inner}" in plan.sources:
                    out.append((f"{name}.{inner}", inner_value))
        elif value not in (None, False):
            out.append((name, value))
    return out


def describe_source(source: Source | None) -> str:
    if source is None:
        return "derived"
    where = source.file
    if source.line is not None:
        where += f":{source.line}"
    parts = [where]
    if source.key:
        parts.append(f"`{source.key}`")
    if source.note:
        parts.append(source.note)
    return " ".join(parts)


def _value(value: Any) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=True)
    if isinstance(value, list):
        value = [v.model_dump(exclude_none=True) if hasattr(v, "model_dump") else v for v in value]
    if isinstance(value, float):
        return f"{value:g}"
    text = repr(value) if not isinstance(value, str) or "\n" in value else value
    return text if len(text) <= 80 else text[:77] + "..."


def _shown(plan: TrainingPlan, field: str, value: Any) -> str:
    """A field's value as `plan` prints it: a preference or RL run through adapters says so beside its kind (the
    kind names the method; `mode.lora_rank` the adapters: held-out review 124, B 17/18/22 read "preference" as a
    full-model run)."""
    if field == "program.assumed":
        return _value(list(value))
    if field == "mode.kind" and value in ("preference", "online_rl") and plan.mode.lora_rank is not None:
        return f"{value}, through LoRA adapters"
    return _value(value)


def render_text(plan: TrainingPlan) -> str:
    lines = [f"TrainingPlan for {', '.join(plan.files)} (dialect: {plan.dialect})", ""]
    if plan.reading:  # a fork or an unknown version: findings resting on the trainer's semantics say less
        lines[1:1] = [f"Reading: {plan.reading}"]
    rows = [(field, _shown(plan, field, value), describe_source(plan.sources.get(field)))
            for field, value in plan_fields(plan)]
    width = max((len(f) for f, _, _ in rows), default=10)
    vwidth = min(max((len(v) for _, v, _ in rows), default=10), 40)
    for field, value, source in rows:
        lines.append(f"  {field:<{width}}  {value:<{vwidth}}  {source}")
    lines += ["", "Derived:"]
    derived = plan.derived
    for name in derived.NAMES:
        item = getattr(derived, name)
        value = _value(item.value) if item.known else "unknown"
        note = item.formula
        if item.missing:
            note += "  (" + "; ".join(([f"needs {', '.join(item.flags)}"] if item.flags else []) + item.reasons) + ")"
        lines.append(f"  {name:<17} {value:<16} {note}")
    if plan.unknown:
        lines += ["", "Unknown (supply with a flag):"]
        for field, flag in sorted(plan.unknown.items()):
            lines.append(f"  {field:<{width}}  {flag}")
    return "\n".join(lines) + "\n"


def as_json(plan: TrainingPlan) -> dict[str, Any]:
    data = plan.model_dump(mode="json", exclude={"sources", "notes"})
    data["sources"] = {k: v.model_dump(exclude_none=True) for k, v in plan.sources.items()}
    data["derived"] = plan.derived.as_dict()
    data["formulas"] = {name: getattr(plan.derived, name).formula for name in plan.derived.NAMES}
    return data
