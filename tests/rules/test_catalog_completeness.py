"""Every PD, PDM and PDD code in the spec's catalog is implemented, listed by `rules` and explained by `explain`."""

from __future__ import annotations

import re

import pytest

from pretrain_doctor.explain import all_checks, find_check, page

from ..conftest import SHARED

RULES_MD = SHARED / "spec" / "rules.md"
MONITOR_MD = SHARED / "spec" / "monitor.md"


# Codes the spec gained on 2026-12-02, each with the issue that implements it.
PENDING: dict[str, str] = {}


def _spec_text(path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} is not beside the checkout")
    return path.read_text(encoding="utf-8")


def _codes(path, pattern: str) -> list[str]:
    return sorted(set(re.findall(pattern, _spec_text(path), re.M)))


def test_every_static_code_in_rules_md_is_implemented() -> None:
    spec = _codes(RULES_MD, r"^\| (PD[0-9]{3}) \|")
    implemented = {c.code for c in all_checks()}
    assert spec and set(spec) - implemented - set(PENDING) == set()


def test_every_data_code_in_rules_md_is_implemented() -> None:
    spec = _codes(RULES_MD, r"^\| (PDD[0-9]{3}) \|")
    implemented = {c.code for c in all_checks()}
    assert spec and set(spec) - implemented - set(PENDING) == set()


def test_every_runtime_code_in_monitor_md_is_implemented() -> None:
    spec = _codes(MONITOR_MD, r"^\| (PDM[0-9]{3}) \|")
    implemented = {c.code for c in all_checks()}
    assert spec and set(spec) - implemented - set(PENDING) == set()


def test_slugs_match_the_spec() -> None:
    spec = dict(re.findall(r"^\| (PD[DM]?[0-9]{3}) \| ([a-z0-9-]+) \|", _spec_text(RULES_MD) + _spec_text(MONITOR_MD), re.M))
    checks = {c.code: c for c in all_checks()}
    wrong = {code: (slug, checks[code].slug) for code, slug in spec.items() if code in checks and checks[code].slug != slug}
    assert not wrong


def test_pending_codes_are_still_pending() -> None:
    """A code that lands leaves PENDING, so the list never hides a regression."""
    assert not set(PENDING) & {c.code for c in all_checks()}


@pytest.mark.parametrize("check", all_checks(), ids=lambda c: c.code)
def test_explain_prints_a_full_page(check) -> None:
    assert find_check(check.code, all_checks()) is check
    assert find_check(check.slug, all_checks()) is check
    text = page(check)
    assert text.startswith(f"{check.code} {check.slug}")
    for heading in check.sections():
        assert heading in text
    assert len(text.splitlines()) > 12
