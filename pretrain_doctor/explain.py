"""Pages for `explain` and the list for `rules`: both read the checks' own docstrings."""

from __future__ import annotations

import importlib
from typing import Iterable, Optional, Protocol

from .registry import RuleSet, load_rules


class CheckClass(Protocol):
    code: str
    slug: str
    severity: str
    origin: str
    aliases: tuple[str, ...]

    @classmethod
    def summary(cls) -> str: ...

    @classmethod
    def sections(cls) -> dict[str, str]: ...


# As ruff says it on a rule's page; the `rules` listing marks these rules `fix`.
FIX_AVAILABILITY_TEXT = {"sometimes": "Fix is sometimes available (`check --fix`; some only with --unsafe-fixes).",
                         "always": "Fix is always available (`check --fix`)."}


def runtime_checks() -> list[CheckClass]:
    """Runtime detectors (PDM codes), when the detectors package is present. No torch is imported."""
    try:
        module = importlib.import_module("pretrain_doctor.detectors")
    except ImportError:
        return []
    return list(getattr(module, "all_detector_classes", lambda: [])())


def data_checks() -> list[CheckClass]:
    """Data checks (PDD codes) of `pretrain-doctor data`. Nothing optional is imported."""
    from .data.registry import data_check_classes

    return list(data_check_classes())


def all_checks(rules: Optional[RuleSet] = None) -> list[CheckClass]:
    rules = rules or load_rules()
    return sorted([*rules.sorted(), *runtime_checks(), *data_checks()], key=lambda c: c.code)


def find_check(name: str, checks: Iterable[CheckClass]) -> Optional[CheckClass]:
    for check in checks:
        if name.upper() == check.code or name == check.slug or name in getattr(check, "aliases", ()):
            return check
    return None


def page(check: CheckClass) -> str:
    """The full `explain` page: summary, metadata, then every docstring section."""
    title = f"{check.code} {check.slug} ({check.severity})"
    lines = [title, "=" * len(title), "", check.summary(), ""]
    origin = getattr(check, "origin", "built-in")
    lines.append(f"Source: {origin}")
    aliases = getattr(check, "aliases", ())
    if aliases:
        lines.append(f"Also known as: {', '.join(aliases)}")
    if check.code.startswith("PDM"):  # runtime: nothing to annotate in a config file
        lines.append(f'Suppress: `attach(..., ignore=["{check.code}"])` (or the callbacks\' `ignore=`) while '
                     f"training, `--ignore {check.code}` in replay")
        lines.append(f'Change a threshold: `attach(..., detector_options={{"{check.code}": {{"option": value}}}})` '
                     "(the callbacks take `detector_options=` too)")
    elif check.code.startswith("PDD"):  # a corpus has no comments to annotate
        lines.append(f"Suppress: --ignore {check.code}, or `ignore` / `per-file-ignores` in [tool.pretrain-doctor]")
    else:
        lines.append(f"Suppress: `# pretrain-doctor: ignore[{check.code}]` on the line, or --ignore {check.code}")
    fixable = FIX_AVAILABILITY_TEXT.get(getattr(check, "fix_availability", "never"))
    if fixable:
        lines.append(fixable)
    lines.append("")
    for heading, body in check.sections().items():
        lines += [heading, "-" * len(heading), body, ""]
    return "\n".join(lines).rstrip() + "\n"
