"""`check --fix`, `--unsafe-fixes` and `--diff`: apply the fixes findings carry, re-check, repeat.

Fixes are applied in passes: check, apply every applicable fix of each file at once, check the
fixed text again (a rename can reveal a finding that has a fix of its own), until nothing
changes. Fixed text is kept in memory until the end, so `--diff` writes nothing. Every edited
file is read back through the project's own loader and must hold exactly the data the edits
describe, or that file is left as it was.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from ..check.engine import check_paths
from ..check.report import CheckReport
from ..config.loader import format_for, parse_text, read_text, text_overrides
from ..errors import ConfigError
from ..rule import Edit, Finding
from ..settings import CheckOptions
from .editors import FixError, _Editor, editor_for
from .resolve import key_path, new_key_path

MAX_PASSES = 10  # ruff stops at 100; a config needs two or three
NOT_EDITED = {"python": "Python (nanoGPT)", "shell": "shell (Megatron)"}


@dataclass
class FixResult:
    report: CheckReport  # the check of the fixed files: what remains
    originals: dict[Path, str] = field(default_factory=dict)
    texts: dict[Path, str] = field(default_factory=dict)  # resolved path -> fixed text
    shown: dict[Path, str] = field(default_factory=dict)  # resolved path -> the name the user gave
    problems: list[str] = field(default_factory=list)  # files that could not be edited, and why
    applied: list[Finding] = field(default_factory=list)  # the findings whose fix was made

    @property
    def fixed(self) -> int:
        return len(self.applied)

    @property
    def changed(self) -> list[Path]:
        return [path for path, text in self.texts.items() if text != self.originals[path]]

    def diff(self) -> str:
        out = []
        for path in self.changed:
            name = self.shown[path]
            for line in difflib.unified_diff(self.originals[path].splitlines(True),
                                             self.texts[path].splitlines(True), name, name):
                out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)

    def write(self) -> None:
        for path in self.changed:
            try:
                path.write_text(self.texts[path], encoding="utf-8")
            except OSError as exc:
                self.problems.append(f"{self.shown[path]}: cannot write: {exc.strerror or exc}")


def fix_paths(paths: Iterable[str | Path], options: Optional[CheckOptions] = None, *, unsafe: bool = False
              ) -> FixResult:
    """Check `paths`, apply their fixes in memory until none is left; `write()` or `diff()` after."""
    paths = list(paths)
    options = options or CheckOptions()
    texts: dict[Path, str] = {}
    result = FixResult(report=CheckReport())
    refused: set[tuple[str, str]] = set()  # (file, code) whose fix failed: not retried
    with text_overrides(texts):
        last_pass: dict[Path, tuple[Optional[str], list[Finding]]] = {}  # path -> (text before, applied)
        passes = 0
        while True:  # every way out follows a check of the current text
            result.report = check_paths(paths, options)
            if _revert_unloadable(result, texts, last_pass, refused):
                continue  # check again without the edit that broke a file
            if passes == MAX_PASSES:
                break
            passes += 1
            todo = _by_file(f for f in result.report.findings
                            if f.fix and (unsafe or f.fix.is_safe) and (f.file, f.code) not in refused)
            last_pass = {}
            for shown, findings in todo.items():
                path = Path(shown).resolve()
                original = result.originals.setdefault(path, texts.get(path) or read_text(Path(shown), shown))
                result.shown[path] = shown
                done: list[Finding] = []
                try:
                    text, applied = apply_fixes(texts.get(path, original), findings, shown, done)
                except FixError as exc:
                    result.problems.append(f"{shown}: not fixed: {exc}")
                    refused.update((f.file, f.code) for f in findings)
                    continue
                if applied:
                    last_pass[path] = (texts.get(path), done)
                    texts[path] = text
                    result.applied.extend(done)
            if not last_pass:
                break
    result.texts = {path: texts[path] for path in result.originals if path in texts}
    return result


def _revert_unloadable(result: FixResult, texts: dict[Path, str],
                       last_pass: dict[Path, tuple[Optional[str], list[Finding]]], refused: set) -> bool:
    """Undo the last pass's edits of any file that no longer loads (a value the trainer takes but
    the dialect cannot read, say). The pass's unsafe fixes are the suspects and are not tried
    again; its safe fixes are, alone, in the next pass (refused only if they break it themselves).
    True when something was undone."""
    broken = {Path(e.file).resolve(): e for e in result.report.errors if Path(e.file).resolve() in last_pass}
    for path, error in broken.items():
        before, applied = last_pass.pop(path)
        if before is None:
            texts.pop(path)
        else:
            texts[path] = before
        suspects = [f for f in applied if not f.fix.is_safe] or applied
        refused.update((f.file, f.code) for f in suspects)
        result.applied = [f for f in result.applied if all(f is not a for a in applied)]
        codes = ", ".join(sorted({f.code for f in suspects}))
        result.problems.append(f"{result.shown[path]}: not fixed ({codes}): the fixed file would not load: {error.message}")
    return bool(broken)


def apply_fixes(text: str, findings: list[Finding], shown: str, done: Optional[list[Finding]] = None
                ) -> tuple[str, int]:
    """`text` with the edits of `findings` made (one edit per key per pass), and how many were
    applied (those findings are appended to `done` once the edited text has been read back)."""
    doc = parse_text(text, shown)
    editor, expected = editor_for(doc.format, text), _PlainEditor(doc.data)
    touched: list[tuple] = []
    applied: list[Finding] = []
    for finding in findings:
        assert finding.fix is not None
        paths = [_path_of(edit, doc.data) for edit in finding.fix.edits]
        if any(p is None or _overlaps(p, touched) for p in paths):
            continue  # gone already, or its key was edited by another fix in this pass: next pass
        for edit, path in zip(finding.fix.edits, paths):
            for target in (editor, expected):
                _apply(target, edit, path)
            touched.append(path)
        applied.append(finding)
    if not applied:
        return text, 0
    fixed = editor.text()
    try:
        readback = parse_text(fixed, shown, doc.format).data
    except ConfigError as exc:
        raise FixError(f"the edited text does not load ({exc.message})") from None
    if readback != expected.data:
        raise FixError("the edit could not be made without changing other values")
    if done is not None:
        done.extend(applied)
    return fixed, len(applied)


def _overlaps(path: tuple, touched: list[tuple]) -> bool:
    return any(path[:len(t)] == t or t[:len(path)] == path for t in touched)


def _path_of(edit: Edit, data: Any) -> Optional[tuple]:
    assert edit.key is not None
    return new_key_path(data, edit.key) if edit.op == "add" else key_path(data, edit.key)


def _apply(target: Any, edit: Edit, path: tuple) -> None:
    if edit.op == "rename":
        target.rename(path, edit.new_name)
    elif edit.op == "drop":
        target.drop(path)
    elif edit.op == "set":
        target.set(path, edit.value)
    else:
        target.add(path, edit.value)


def _by_file(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings by the file their fix edits (a fix edits one file)."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        assert finding.fix is not None
        grouped.setdefault(finding.fix.edits[0].file or finding.file or "", []).append(finding)
    return grouped


class _PlainEditor(_Editor):
    """The same edits on plain data: what the edited file must load as."""

    def __init__(self, data: dict) -> None:
        self.data = copy.deepcopy(data)

    def text(self) -> str:
        raise NotImplementedError


def not_edited_note(report: CheckReport) -> Optional[str]:
    """One line for the findings in configs `--fix` does not edit (their values are code)."""
    kinds = {}
    for finding in report.findings:
        fmt = format_for(Path(finding.file or ""))
        if fmt in NOT_EDITED:
            kinds.setdefault(NOT_EDITED[fmt], 0)
            kinds[NOT_EDITED[fmt]] += 1
    if not kinds:
        return None
    what = " and ".join(kinds)
    return (f"--fix does not edit {what} configs: their values are code; "
            f"{sum(kinds.values())} finding(s) there are left to fix by hand")
