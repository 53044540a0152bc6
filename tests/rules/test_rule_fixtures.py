"""Every rule's bad fixtures fire it, and its good fixtures do not (one parametrized test)."""

from __future__ import annotations

import pytest

from pretrain_doctor.check import check_paths

from .fixture_cases import RuleCase, all_cases

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_fixture(case: RuleCase) -> None:
    report = check_paths([case.path], case.options)
    assert not report.errors, f"fixture does not load: {report.errors}"
    assert not report.warnings, report.warnings
    hits = [f for f in report.findings if f.code == case.code]
    if case.bad:
        assert hits, f"{case.code} did not fire on {case.path.name}; findings: {[f.code for f in report.findings]}"
        if case.expect_severity:
            assert case.expect_severity in {f.severity for f in hits}, [(f.severity, f.message) for f in hits]
        assert all(f.file and f.message for f in hits)
    else:
        assert not hits, f"{case.code} fired on a good fixture: {[h.message for h in hits]}"
