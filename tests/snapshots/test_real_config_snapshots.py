"""Every real config is checked without a crash, and its findings match the reviewed snapshot."""

from __future__ import annotations

import difflib

import pytest

from ..conftest import PENDING_CONFIG_FOLDERS
from .real_configs import CORPUS, folders, render, snapshot_path

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/real-configs is not beside the checkout")

FOLDERS = [f for f in folders() if f not in PENDING_CONFIG_FOLDERS] if CORPUS.is_dir() else []


@pytest.mark.parametrize("folder", FOLDERS)
def test_findings_match_reviewed_snapshot(folder: str) -> None:
    actual = render(folder)
    assert "\nERROR " not in "\n" + actual, "a real config failed to load"
    expected = snapshot_path(folder).read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "snapshot", "now"))
    assert actual == expected, f"findings changed for {folder}; review, then regenerate:\n{diff}"
