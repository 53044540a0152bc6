"""Turn the fixes rules attach into edits on this file's own keys, or drop them.

Runs inside `check` (no editor library is imported): a finding is counted as fixable only
when every edit of its fix names a key that is there (or, for `add`, a place it can go) in
a format `--fix` edits. Plan-field edits become `set` on the key the value came from, or
`add` at the key the dialect reads the field from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..config.document import Document, KeyPath
from ..config.loader import format_for
from ..plan.model import TrainingPlan
from ..rule import Edit, Finding, Fix

EDITABLE_FORMATS = ("yaml", "json", "toml")


def key_path(data: Any, dotted_key: str) -> Optional[KeyPath]:
    """The key path a dotted key (`optimizer.betas[1]`, `model.a.b`) names in `data`, or None.

    Keys may themselves hold dots, so each step tries the longest key that fits."""
    if dotted_key == "":
        return ()
    if isinstance(data, list) and dotted_key.startswith("["):
        index, _, rest = dotted_key[1:].partition("]")
        if index.isdigit() and int(index) < len(data):
            tail = key_path(data[int(index)], rest.removeprefix("."))
            return None if tail is None else (int(index), *tail)
        return None
    if not isinstance(data, dict):
        return None
    for key in sorted((k for k in data if isinstance(k, str)), key=len, reverse=True):
        if dotted_key == key:
            return (key,)
        if dotted_key.startswith(key) and dotted_key[len(key)] in ".[":
            tail = key_path(data[key], dotted_key[len(key):].removeprefix("."))
            if tail is not None:
                return (key, *tail)
    return None


def new_key_path(data: Any, dotted_key: str) -> Optional[KeyPath]:
    """Where `add` puts a dotted key: the longest part that exists, then new tables (None: it exists)."""
    parts = dotted_key.split(".")
    for end in range(len(parts), -1, -1):
        found = key_path(data, ".".join(parts[:end]))
        if found is not None:
            node = _get(data, found)
            if end == len(parts) or not isinstance(node, dict):
                return None  # already there, or the parent is not a table
            return (*found, *parts[end:])
    return None


def resolve_fixes(findings: list[Finding], plan: TrainingPlan, doc: Document, field_keys: dict[str, str]) -> None:
    """Replace each finding's fix by one on this file's keys, or by None where it cannot be made."""
    for finding in findings:
        if finding.fix is not None:
            finding.fix = _resolve(finding.fix, finding, plan, doc, field_keys)


def _resolve(fix: Fix, finding: Finding, plan: TrainingPlan, doc: Document, field_keys: dict[str, str]) -> Optional[Fix]:
    edits = []
    for edit in fix.edits:
        resolved = _resolve_edit(edit, finding.file or doc.path, plan, doc, field_keys)
        if resolved is None:
            return None
        edits.append(resolved)
    if len({edit.file for edit in edits}) != 1:
        return None  # a fix edits one file (or none: a fix without edits fixes nothing)
    return Fix(fix.title, tuple(edits), fix.applicability)


def _resolve_edit(edit: Edit, file: str, plan: TrainingPlan, doc: Document, field_keys: dict[str, str]
                  ) -> Optional[Edit]:
    if edit.choices:
        return _resolve_field(edit, plan, doc, field_keys)
    file = edit.file or file
    fmt = doc.format if file == doc.path else format_for(Path(file))
    if fmt not in EDITABLE_FORMATS or edit.key is None:
        return None
    if file != doc.path:  # another file of the run (a DeepSpeed JSON): the editor checks the key
        return Edit(edit.op, edit.key, edit.value, edit.new_name, file=file)
    if edit.op == "add":
        return edit if new_key_path(doc.data, edit.key) is not None else None
    path = key_path(doc.data, edit.key)
    if path is None:
        return None
    if edit.op == "rename" and (not edit.new_name or edit.new_name in _get(doc.data, path[:-1])):
        return None  # the new name is taken: renaming would shadow or duplicate it
    return Edit(edit.op, edit.key, edit.value, edit.new_name, file=file)


def _resolve_field(edit: Edit, plan: TrainingPlan, doc: Document, field_keys: dict[str, str]) -> Optional[Edit]:
    if doc.format not in EDITABLE_FORMATS:
        return None
    for field, value in edit.choices:
        key = field_keys.get(field)  # only a key that holds the field's value as it is (no units to convert)
        if not key:
            continue
        source = plan.sources.get(field)
        stated = source is not None and source.note is None and source.file == doc.path and source.key
        if stated and key_path(doc.data, key) is not None and key_path(doc.data, key) == key_path(doc.data, source.key):
            return Edit.set(key, value, file=doc.path)
        if not stated and new_key_path(doc.data, key) is not None:
            return Edit.add(key, value, file=doc.path)
    return None


def _get(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data
