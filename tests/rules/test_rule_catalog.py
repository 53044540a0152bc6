"""Meta-tests: every registered rule is documented and has fixtures."""

from __future__ import annotations

import pytest

from pretrain_doctor.checkmeta import RULE_SECTIONS, SEVERITIES
from pretrain_doctor.registry import load_rules

from .fixture_cases import RULE_FIXTURES

RULES = load_rules().sorted()


def test_rules_load_without_problems() -> None:
    assert not load_rules().problems


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_metadata_and_docs(rule) -> None:
    assert rule.code.startswith("PD") and rule.slug and rule.severity in SEVERITIES
    assert rule.summary() and not rule.summary().endswith(":")
    sections = rule.sections()
    for heading in RULE_SECTIONS:
        assert sections.get(heading, "").strip(), f"{rule.code} lacks {heading}"
    assert rule.references(), f"{rule.code} has no references"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_has_bad_and_good_fixture(rule) -> None:
    folder = RULE_FIXTURES / rule.code
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    assert any(n.startswith("bad") for n in names), f"{rule.code}: no bad fixture in {folder}"
    assert any(n.startswith("good") for n in names), f"{rule.code}: no good fixture in {folder}"
