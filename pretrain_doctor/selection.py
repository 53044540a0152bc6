"""Select, ignore and re-grade checks by code, code prefix or slug: the same syntax everywhere."""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable, Mapping, NamedTuple, Protocol, Sequence

from .checkmeta import SEVERITIES
from .errors import UsageError


class _Check(Protocol):
    code: str
    slug: str
    aliases: tuple[str, ...]


def split_codes(values: Iterable[str] | str | None) -> list[str]:
    """`["PD1,PD201", "no-seed"]` -> `["PD1", "PD201", "no-seed"]`."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def matches(token: str, check: _Check) -> bool:
    upper = token.upper()
    if upper == "ALL":
        return True
    if check.code.startswith(upper) and upper[:2] == check.code[:2]:
        return True
    return token == check.slug or token in getattr(check, "aliases", ())


def validate_tokens(tokens: Iterable[str], checks: Iterable[_Check], what: str) -> None:
    checks = list(checks)
    for token in tokens:
        if not any(matches(token, c) for c in checks):
            raise UsageError(f"{what}: {token!r} matches no rule code, prefix or slug (see `pretrain-doctor rules`)")


class Selection(NamedTuple):
    """Which checks run and at what severity: --select, --ignore and --severity over the settings."""

    select: Sequence[str] = ()  # empty: everything
    ignore: Sequence[str] = ()
    severity: Mapping[str, str] = MappingProxyType({})  # token -> level

    def is_enabled(self, check: _Check) -> bool:
        if self.select and not any(matches(t, check) for t in self.select):
            return False
        return not any(matches(t, check) for t in self.ignore)

    def severity_for(self, check: _Check, default: str) -> str:
        # The most specific match wins: an exact code beats a prefix.
        best, best_len = default, -1
        for token, level in self.severity.items():
            if matches(token, check) and len(token) > best_len:
                best, best_len = level, len(token)
        return best

    def validate(self, checks: Iterable[_Check]) -> None:
        checks = list(checks)
        validate_tokens(self.select, checks, "--select")
        validate_tokens(self.ignore, checks, "--ignore")
        validate_tokens(self.severity, checks, "--severity")
        for token, level in self.severity.items():
            if level not in SEVERITIES:
                raise UsageError(f"--severity {token}={level}: level must be one of {', '.join(SEVERITIES)}")


def parse_severity_overrides(values: Iterable[str]) -> dict[str, str]:
    overrides = {}
    for value in values:
        if "=" not in value:
            raise UsageError(f"--severity {value!r}: expected CODE=LEVEL, e.g. PD203=warning")
        token, level = value.split("=", 1)
        overrides[token.strip()] = level.strip().lower()
    return overrides
