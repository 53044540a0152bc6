"""The result of one `check` run, independent of how it is rendered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Sequence

from ..checkmeta import SEVERITY_RANK
from ..rule import Finding


class FileResult(NamedTuple):
    """One file a check read: its dialect, role and how many findings it has."""

    path: str
    dialect: Optional[str]
    findings: int = 0
    role: str = "config"  # config | companion | skipped | error
    note: Optional[str] = None
    # What the reader should know about how the file was read: a dialect that was a guess,
    # a companion file picked up beside it.
    notices: Sequence[str] = ()


class InputError(NamedTuple):
    """A file the check could not read (exit 2), with the line where that is known."""

    file: str
    line: Optional[int]
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class CheckReport:
    """Everything one `check` found, for the renderers."""

    files: list[FileResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # broken plugins, rules that crashed
    notices: list[str] = field(default_factory=list)  # what was deliberately not done (an untrusted rules-dir)
    rules: dict = field(default_factory=dict)  # code -> rule class, for renderers that describe rules
    stats: dict = field(default_factory=dict)  # what was measured (`data`: documents, tokens, rates), for JSON
    footer: list[str] = field(default_factory=list)  # lines the text report prints after its summary

    def counts(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts

    def exit_code(self, fail_on: str = "error") -> int:
        if self.errors:
            return 2
        if fail_on == "never":
            return 0
        threshold = SEVERITY_RANK[fail_on]
        return 1 if any(SEVERITY_RANK[f.severity] >= threshold for f in self.findings) else 0
