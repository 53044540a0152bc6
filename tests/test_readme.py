"""The README's promises: the two set-up commands come first and the rule index is current."""

from __future__ import annotations

from pretrain_doctor.docs.rule_index import with_index

from .conftest import ROOT


def test_readme_rule_index_is_current() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_index(text) == text, "README rule index is stale: run `make rule-index`"


def test_readme_shows_both_setup_commands_first() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_code_block = text.split("```", 2)[1]
    assert "make demo" in first_code_block and "make test" in first_code_block
