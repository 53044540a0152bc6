"""Metadata every check (static rule or runtime detector) must carry, validated at class definition.

A check's docstring is its documentation: the first line is the summary, the rest are
markdown sections (ruff's layout). `explain` prints it; `rules` lists the summary.
"""

from __future__ import annotations

import inspect
import re
from typing import Iterable, Optional

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
RULE_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "References")
_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_HEADING = re.compile(r"^##\s+(.*?)\s*$")


class CheckDefinitionError(TypeError):
    """A check class is missing metadata or documentation."""


def doc_sections(doc: str) -> dict[str, str]:
    """Split a docstring into {heading: body} at `## Heading` lines."""
    sections: dict[str, str] = {}
    current = None
    lines: list[str] = []
    for line in inspect.cleandoc(doc).splitlines()[1:]:
        # Every rule's docstring is split at import: skip the regex for the many plain lines.
        heading = _HEADING.match(line) if line.startswith("##") else None
        if heading:
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = heading.group(1), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections


_HEADING_START = re.compile(r"\n[ \t]*##[ \t]")


def _filled_sections(doc: str) -> set[str]:
    """The headings of `doc`'s non-empty sections: what `doc_sections` would find, with one C-level split of the
    raw docstring at its heading lines (every rule's docs are checked on every start: a Python loop over the lines
    cost ~11 M instructions a `check`, a DOTALL regex with a look-ahead at each character ~37 M)."""
    filled: set[str] = set()
    for part in _HEADING_START.split(doc)[1:]:
        heading, _, body = part.partition("\n")
        if body.strip():
            filled.add(heading.strip(" \t"))
    return filled


def summary_of(doc: str | None) -> str:
    """The first non-blank line (what `inspect.cleandoc` would put first, without its cost): every rule's summary is
    checked at each start, so only that line is split, not the whole docstring (~1 M instructions a `check`)."""
    text = (doc or "").lstrip()  # blank lines are whitespace, whatever ends them
    return text.partition("\n")[0].splitlines()[0].strip() if text else ""


def validate_check_class(cls: type, code_pattern: str, required_sections: Iterable[str]) -> None:
    """Raise CheckDefinitionError unless `cls` has code, slug, severity and complete docs."""
    name = cls.__name__
    code = getattr(cls, "code", None)
    if not isinstance(code, str) or not re.fullmatch(code_pattern, code):
        raise CheckDefinitionError(f"{name}: code {code!r} does not match {code_pattern}")
    slug = getattr(cls, "slug", None)
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise CheckDefinitionError(f"{name} ({code}): slug {slug!r} must be kebab-case")
    severity = getattr(cls, "severity", None)
    if severity not in SEVERITIES:
        raise CheckDefinitionError(f"{name} ({code}): severity {severity!r} must be one of {SEVERITIES}")
    doc = cls.__doc__ or ""
    if not summary_of(doc):
        raise CheckDefinitionError(f"{name} ({code}): the docstring's first line (the summary) is empty")
    filled = _filled_sections(doc)
    missing = [s for s in required_sections if s not in filled]
    if missing:
        raise CheckDefinitionError(f"{name} ({code}): docstring lacks section(s): {', '.join(missing)}")


class Documented:
    """What every check class (rule, detector, data check) tells about itself from its docstring."""

    @classmethod
    def summary(cls) -> str:
        return summary_of(cls.__doc__)

    @classmethod
    def sections(cls) -> dict[str, str]:
        return doc_sections(cls.__doc__ or "")


def reference_lines(doc: str | None) -> list[str]:
    """The entries of a check's `## References` section, one per line, bullets removed."""
    body = doc_sections(doc or "").get("References", "")
    return [line.strip().lstrip("-* ").strip() for line in body.splitlines() if line.strip().lstrip("-* ").strip()]


def reference_urls(doc: str | None) -> list[str]:
    """The URLs named in a check's `## References` section."""
    urls = []
    for ref in reference_lines(doc):
        for word in ref.replace("<", " ").replace(">", " ").replace("(", " ").replace(")", " ").split():
            if word.startswith(("http://", "https://")):
                urls.append(word.rstrip(".,;"))
    return urls
