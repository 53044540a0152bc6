"""Settings lookup in pyproject.toml: every TOML spelling of `[tool.pretrain-doctor]` is read,
and a pyproject that cannot hold it is not parsed at all (no tomllib at start-up)."""

from __future__ import annotations

import pytest

from pretrain_doctor.settings import _find_from, find_settings

SPELLINGS = [
    '[tool.pretrain-doctor]\nselect = ["PD1"]\n',
    '[ tool . "pretrain-doctor" ]\nselect = ["PD1"]\n',
    "['tool'.'pretrain-doctor']\nselect = ['PD1']\n",
    'tool.pretrain-doctor.select = ["PD1"]\n',
    '[tool]\npretrain-doctor = {select = ["PD1"]}\n',
    'tool = {pretrain-doctor = {select = ["PD1"]}}\n',
    '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 100\n\n[tool.pretrain-doctor]\nselect = ["PD1"]\n',
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_every_spelling_of_the_table_is_read(tmp_path, text):
    (tmp_path / "pyproject.toml").write_text(text)
    _find_from.cache_clear()
    settings = find_settings(tmp_path / "train.yaml")
    assert settings.select == ("PD1",) and settings.path == tmp_path / "pyproject.toml"


def test_a_project_only_named_pretrain_doctor_is_not_parsed(tmp_path):
    # Broken TOML further down: parsing it would refuse the run with exit 2.
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "pretrain-doctor"\n\n[tool.setuptools]\nx = = 1\n')
    _find_from.cache_clear()
    assert find_settings(tmp_path / "train.yaml").path is None
