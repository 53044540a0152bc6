"""The wheel ships every subpackage and the built-in rules, without a top-level `rules` module."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from pretrain_doctor import __version__
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


@pytest.mark.xdist_group("builds-in-checkout")  # pip wheel and build both write build/ in the checkout
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
    # Built-ins are imported directly: declaring them as a plugin would make every `check`
    # scan all installed distributions through importlib.metadata.
    assert "pretrain-doctor = pretrain_doctor.__main__:run" in text and "builtin_rules" not in text


# -- the release: sdist and wheel built as for PyPI, the wheel installed into a fresh venv ------

@pytest.mark.xdist_group("builds-in-checkout")  # about 15 s
def test_release_builds_passes_twine_and_runs_from_a_fresh_venv(tmp_path) -> None:
    """`python -m build` (sdist, then the wheel from the sdist) without build isolation, since
    nothing downloads in tests; `twine check --strict`; the wheel installed alone into a new venv
    whose dependencies are this test venv's (a .pth line, whose own .pth files, among them the
    editable install of the checkout, are not read), then `--version` and a `check` from it."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "-o", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("pretrain_doctor-*.whl"))
    sdist = next(dist.glob("pretrain_doctor-*.tar.gz"))
    twine = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                           capture_output=True, text=True, timeout=120)
    assert twine.returncode == 0, twine.stdout + twine.stderr
    metadata = zipfile.ZipFile(wheel).read(f"pretrain_doctor-{__version__}.dist-info/METADATA").decode()
    assert "Description-Content-Type: text/markdown" in metadata and "License-Expression: Apache-2.0" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "LICENSE" in " ".join(tarfile.open(sdist).getnames()) and "CHANGELOG.md" in " ".join(tarfile.open(sdist).getnames())

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "test-venv-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    where = run(str(python), "-c", "import pretrain_doctor; print(pretrain_doctor.__file__)")
    assert where.stdout.startswith(site), where.stdout + where.stderr  # the wheel's copy, not the checkout
    version = run(str(venv / "bin" / "pretrain-doctor"), "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"pretrain-doctor {__version__}", version.stderr
    checked = run(str(venv / "bin" / "pretrain-doctor"), "check", str(ROOT / "fixtures" / "demo"))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "PD601 error seq-len-exceeds-positions" in checked.stdout  # a built-in rule, from the wheel
