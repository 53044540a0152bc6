"""The tokenizer and model fixtures are exactly what fixtures/tokenizers/build.py produces."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import tokenizers

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _build_module():
    spec = importlib.util.spec_from_file_location("fixture_build", FIXTURES / "tokenizers" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.name != "build.py"}


def test_rebuilding_reproduces_the_committed_fixtures(tmp_path: Path) -> None:
    build = _build_module()
    if tokenizers.__version__ != build.BUILT_WITH:
        pytest.skip(f"fixtures were built with tokenizers {build.BUILT_WITH}, this is {tokenizers.__version__}")
    if build.sentencepiece.__version__ != build.SENTENCEPIECE_BUILT_WITH:
        pytest.skip(f"fixtures were built with sentencepiece {build.SENTENCEPIECE_BUILT_WITH}, "
                    f"this is {build.sentencepiece.__version__}")
    build.main(tmp_path / "tokenizers", tmp_path / "models")
    assert _files(tmp_path / "tokenizers") == _files(FIXTURES / "tokenizers")
    assert _files(tmp_path / "models") == _files(FIXTURES / "models")
