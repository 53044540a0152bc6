"""The progress bar: drawn on a terminal for large inputs, nothing otherwise."""

from __future__ import annotations

import io
import sys

from pretrain_doctor.data import progress as progress_module
from pretrain_doctor.data.progress import LARGE_INPUT, progress_bar
from pretrain_doctor.data.readers import ReadOptions
from pretrain_doctor.data.check import DataOptions
from pretrain_doctor.data.registry import data_check_classes
from pretrain_doctor.data.scan import scan_files

from .test_readers import write_jsonl


def test_nothing_when_not_on_a_terminal_or_small(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar(10 * LARGE_INPUT) as update:
        assert update is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with progress_bar(LARGE_INPUT - 1) as update:
        assert update is None
    with progress_bar(10 * LARGE_INPUT, enabled=False) as update:
        assert update is None


def test_a_bar_with_documents_rate_and_bytes_on_a_terminal(monkeypatch, tmp_path):
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress_module, "LARGE_INPUT", 0)
    path = write_jsonl(tmp_path / "c.jsonl", [{"text": f"document {i}"} for i in range(2000)])
    calls = []
    with progress_bar(path.stat().st_size) as update:
        assert update is not None
        result = scan_files([(path, "train")], ReadOptions(), DataOptions(), data_check_classes(),
                            lambda docs, done: (calls.append((docs, done)), update(docs, done)))
    assert result.documents == 2000
    assert calls[-1] == (2000, path.stat().st_size) and all(a <= b for a, b in zip(calls, calls[1:]))
