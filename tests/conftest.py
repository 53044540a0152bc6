from __future__ import annotations

import os
from pathlib import Path

import pytest

# Judge configs against the union of known trainer releases, not the transformers the test
# venv happens to hold: results must not change with the lock or `make test-latest`.
os.environ["PRETRAIN_DOCTOR_IGNORE_INSTALLED_TRAINERS"] = "1"

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
REAL_CONFIGS = SHARED / "real-configs"

# Corpus folders whose trainer `check` does not read yet, with the issue that adds it.
# Tests over the whole corpus leave them out until that issue lands its dialect.
PENDING_CONFIG_FOLDERS: dict[str, str] = {}


def ready_config_folders() -> list[Path]:
    """The corpus folders of trainers `check` reads today."""
    return sorted(p for p in REAL_CONFIGS.iterdir() if p.is_dir() and p.name not in PENDING_CONFIG_FOLDERS)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:
    """Each test's folder one level below pytest's own: the readers look at a config's sibling folders (a nanoGPT
    fork's `models/train.py` beside `config/`), and at pytest's level those are the other tests' folders, whose
    files then decided a test's plan by the order the tests ran in."""
    own = tmp_path / "t"
    own.mkdir()
    return own
