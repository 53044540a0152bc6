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


@pytest.mark.parametrize(
    "doc",
    [
        "Summary.\n\n    ## What it does\n    Fires.\n\n    ## Why is this bad?\n\n    ## Example\n    x\n",
        "Summary.\n## Example\n   \n## References\nA paper",  # blank body, unindented, no final newline
        "Summary.\n\n    ## Example\n    ```yaml\n    # a comment\n    lr: 1\n    ```\n    ## Use instead",
    ],
)
def test_load_time_doc_check_agrees_with_the_docs_parser(doc) -> None:
    # Class definition checks sections with one regex pass; `explain` renders with doc_sections.
    from pretrain_doctor.checkmeta import _filled_sections, doc_sections

    assert _filled_sections(doc) == {heading for heading, body in doc_sections(doc).items() if body}


def test_load_time_doc_check_agrees_on_every_registered_check() -> None:
    from pretrain_doctor.checkmeta import _filled_sections, doc_sections
    from pretrain_doctor.detectors import all_detector_classes

    for cls in [*load_rules().sorted(), *all_detector_classes()]:
        assert _filled_sections(cls.__doc__) == {h for h, body in doc_sections(cls.__doc__).items() if body}
