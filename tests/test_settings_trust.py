"""Settings never run code: a rules-dir named in a settings file is imported only when the
command line or the environment says so; otherwise one notice line says how to allow it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_cli import LR_CONFIG, cli, plugin_source, write

NOTICE = "pretrain-doctor: notice: rules-dir "


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository whose settings name a rules folder holding a rule and a module with a side effect."""
    rules = tmp_path / "evil_rules"
    write(rules / "lr_is_set.py", plugin_source("XPL001", "lr-is-set"))
    write(rules / "side_effect.py", f"open({str(tmp_path / 'ran')!r}, 'w').write('imported')\n")
    write(tmp_path / "pyproject.toml", '[tool.pretrain-doctor]\nrules-dir = ["evil_rules"]\n')
    write(tmp_path / "train.yaml", LR_CONFIG)
    return tmp_path


def _check(capsys, repo: Path, *flags: str) -> tuple[int, set[str], str]:
    code, out, err = cli(capsys, "check", "--format", "json", *flags, str(repo / "train.yaml"))
    return code, {f["code"] for f in json.loads(out)["findings"]}, err


def test_a_settings_rules_dir_is_not_imported_and_one_notice_says_how_to_allow_it(capsys, repo, monkeypatch) -> None:
    monkeypatch.delenv("PRETRAIN_DOCTOR_TRUST_RULES_DIR", raising=False)
    code, found, err = _check(capsys, repo)
    assert code == 0 and "XPL001" not in found
    assert not (repo / "ran").exists(), "a settings file made check import a Python file"
    (notice,) = [line for line in err.splitlines() if line.startswith(NOTICE)]
    assert str(repo / "evil_rules") in notice and str(repo / "pyproject.toml") in notice
    assert "--trust-settings-rules" in notice and "PRETRAIN_DOCTOR_TRUST_RULES_DIR=1" in notice


def test_the_trust_flag_loads_it(capsys, repo) -> None:
    code, found, err = _check(capsys, repo, "--trust-settings-rules")
    assert "XPL001" in found and (repo / "ran").exists() and NOTICE not in err


def test_the_environment_variable_loads_it(capsys, repo, monkeypatch) -> None:
    monkeypatch.setenv("PRETRAIN_DOCTOR_TRUST_RULES_DIR", "1")
    _, found, err = _check(capsys, repo)
    assert "XPL001" in found and NOTICE not in err


def test_naming_the_folder_on_the_command_line_loads_it(capsys, repo, monkeypatch) -> None:
    monkeypatch.delenv("PRETRAIN_DOCTOR_TRUST_RULES_DIR", raising=False)
    _, found, err = _check(capsys, repo, "--rules-dir", str(repo / "evil_rules"))
    assert "XPL001" in found and NOTICE not in err


def test_other_settings_still_apply_without_trust(capsys, repo, monkeypatch) -> None:
    monkeypatch.delenv("PRETRAIN_DOCTOR_TRUST_RULES_DIR", raising=False)
    write(repo / "pyproject.toml", '[tool.pretrain-doctor]\nrules-dir = ["evil_rules"]\nignore = ["PD8"]\n')
    assert "PD803" in _check(capsys, repo, "--isolated")[1]  # no seed: the ignore has something to hide
    _, found, _ = _check(capsys, repo)
    assert not any(code.startswith("PD8") for code in found)
