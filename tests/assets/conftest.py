from __future__ import annotations

import sys

import pytest


@pytest.fixture
def without_sentencepiece(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the optional `sentencepiece` package were not installed, with the tokenizer
    cache bypassed so that no folder read with the package is served from it."""
    from pretrain_doctor.assets import tokenizer_files

    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # `import sentencepiece` raises ImportError
    monkeypatch.setattr(tokenizer_files, "_load_cached", tokenizer_files._load_cached.__wrapped__)
