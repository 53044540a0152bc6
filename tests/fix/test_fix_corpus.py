"""Acceptance for `check --fix`: on a copy of every bad rule fixture and of every real config,
with unsafe fixes too, each fixed file still loads with its dialect, keeps its comment lines,
no longer has the findings that were fixed, and a second `--fix` changes nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pretrain_doctor.check import check_paths
from pretrain_doctor.fix.runner import fix_paths
from pretrain_doctor.settings import CheckOptions

from ..conftest import REAL_CONFIGS
from ..rules.fixture_cases import all_cases

pytest.importorskip("ruamel.yaml")
pytest.importorskip("tomlkit")

BAD_CASES = [case for case in all_cases() if case.bad]
_COMMENT = re.compile(r"(?:^|\s)(#.*)$")


def comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def end_of_line_comments(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        match = _COMMENT.search(line)
        if match and not line.strip().startswith("#") and "'" not in line and '"' not in line:
            found.append(match.group(1).strip())
    return found


def assert_fix_is_sound(paths: list[Path], options: CheckOptions) -> int:
    """Fix `paths` (copies) with unsafe fixes, check the acceptance points; how many fixes were
    tried (applied, or undone because the file would no longer load)."""
    before = check_paths(paths, options)
    dialects = {f.path: f.dialect for f in before.files}
    result = fix_paths(paths, options, unsafe=True)
    # The one refusal allowed: an edit whose file the dialect would no longer load is undone.
    assert [p for p in result.problems if "the fixed file would not load" not in p] == []
    result.write()

    after = check_paths(paths, options)
    assert [str(e) for e in after.errors] == [str(e) for e in before.errors], "a fixed file no longer loads"
    assert {f.path: f.dialect for f in after.files} == dialects, "a fixed file is read as another dialect"
    for path in result.changed:
        old, new = result.originals[path], path.read_text(encoding="utf-8")
        missing = [c for c in comment_lines(old) if c not in comment_lines(new)]
        assert missing == [], f"{path}: comment lines lost"
        drops = sum(1 for f in result.applied for e in f.fix.edits if e.op == "drop" and Path(e.file).resolve() == path)
        lost = [c for c in end_of_line_comments(old) if c not in end_of_line_comments(new)]
        assert len(lost) <= drops, f"{path}: comments lost beyond the dropped keys' own: {lost}"
    remaining = {(f.file, f.code, f.key) for f in after.findings}
    for fixed in result.applied:
        assert (fixed.file, fixed.code, fixed.key) not in remaining, f"{fixed.code} at {fixed.key} still reported"

    again = fix_paths(paths, options, unsafe=True)
    assert again.changed == [] and again.fixed == 0, "a second --fix changed something"
    return result.fixed + len(result.problems)


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.id for c in BAD_CASES])
def test_fix_on_bad_fixture(case, tmp_path):
    folder = tmp_path / case.code
    shutil.copytree(case.path.parent, folder)  # companions (a DeepSpeed JSON beside it) come along
    assert_fix_is_sound([folder / case.path.name], case.options)


def test_fix_repairs_the_rules_own_fixtures(tmp_path):
    """The four fixes the issue names each repair their rule's bad fixture."""
    fixed = {}
    for case in BAD_CASES:
        if case.code in ("PD002", "PD003", "PD104", "PD507") and case.path.name in ("bad.yaml", "bad-native.yaml"):
            folder = tmp_path / case.code / case.path.stem
            shutil.copytree(case.path.parent, folder)
            result = fix_paths([folder / case.path.name], case.options, unsafe=True)
            fixed.setdefault(case.code, set()).update(f.code for f in result.applied)
    assert all(code in fixed[code] for code in ("PD002", "PD003", "PD104", "PD507")), fixed


@pytest.mark.skipif(not REAL_CONFIGS.is_dir(), reason="../shared/real-configs is not beside the checkout")
def test_fix_on_real_configs(tmp_path):
    copy = tmp_path / "real-configs"
    shutil.copytree(REAL_CONFIGS, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    # Judged against transformers 5.24, the corpus has keys that release renamed (PD002, unsafe fixes);
    # `warmup_ratio: 0.1` -> `warmup_steps: 0.1` is then undone (the hf dialect reads whole steps only).
    options = CheckOptions(use_settings=False, trainer_versions={"transformers": "5.24.0"})
    assert assert_fix_is_sound([copy], options) > 0
