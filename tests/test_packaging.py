"""The wheel ships every subpackage and the built-in rules, without a top-level `rules` module."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from pretrain_doctor.config.toml_reader import tomllib

from .conftest import ROOT


def _declared_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(project["tool"]["setuptools"]["packages"])


def test_every_subpackage_is_declared() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "pretrain_doctor").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - _declared_packages() == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_wheel_holds_builtin_rules_not_a_top_level_rules_module(tmp_path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(tmp_path.glob("pretrain_doctor-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("pretrain_doctor/builtin_rules/pd105_") for n in names)
    assert not any(n.startswith("rules/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pretrain_doctor.rules]" in text and "pretrain_doctor.builtin_rules" in text
