"""Trainer versions: which version of a trainer a config is judged against, and how its keys changed.

The version comes from, in order: `--trainer-version NAME=VER`, `[tool.pretrain-doctor]
trainer-versions`, the trainer installed beside pretrain-doctor (importlib.metadata: nothing is
imported), or nothing, in which case a config is judged against the union of the versions we know.

Key changes are tables of renames and removals read from each trainer's own argument classes at
its releases (see hf_keys.py and torchtitan_keys.py); a key one of those versions has is never a
typo, and a key the judged version lacks says in which version it went and what replaced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Optional

from ..errors import UsageError

# Distribution names people pass to --trainer-version, with the spellings they may use.
TRAINERS = {
    "transformers": "transformers", "trl": "trl", "torchtitan": "torchtitan", "axolotl": "axolotl",
    "litgpt": "litgpt", "olmo": "ai2-olmo", "ai2-olmo": "ai2-olmo", "gpt-neox": "gpt-neox", "neox": "gpt-neox",
    "deepspeed": "deepspeed", "accelerate": "accelerate", "peft": "peft",
}
_VERSION = re.compile(r"^\s*v?(\d+(?:\.\d+){0,3})")


def parse_version(text: str) -> tuple[int, ...]:
    """`"4.46.3"` -> (4, 46, 3), `"v0.2"` -> (0, 2), `"5.0.0rc1"` -> (5, 0, 0); a usage error otherwise."""
    match = _VERSION.match(str(text))
    if not match:
        raise UsageError(f"trainer version {text!r} is not a version number like 4.46 or 0.19.1")
    return tuple(int(part) for part in match.group(1).split("."))


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """`["transformers=4.46", "trl=0.19"]` (repeatable `--trainer-version`) -> {name: version}."""
    versions: dict[str, str] = {}
    for item in items:
        name, sep, version = str(item).partition("=")
        if not sep or not version.strip():
            raise UsageError(f"--trainer-version takes NAME=VERSION (e.g. transformers=4.46), not {item!r}")
        versions.update(normalise({name: version}))
    return versions


def normalise(versions: Mapping[str, object]) -> dict[str, str]:
    """Trainer names to their distribution names, versions checked; unknown names are a usage error."""
    out = {}
    for name, version in versions.items():
        if not isinstance(version, str):  # TOML 4.50 is the float 4.5: only a string keeps the release
            raise UsageError(f"trainer version of {name} must be a string like \"4.46\", not {version!r}")
        dist = TRAINERS.get(str(name).strip().lower())
        if dist is None:
            raise UsageError(f"unknown trainer {name!r} in trainer versions; known: {', '.join(sorted(set(TRAINERS.values())))}")
        parse_version(str(version))
        out[dist] = str(version).strip()
    return out


@lru_cache(maxsize=None)
def installed_version(dist: str) -> Optional[str]:
    """The version of `dist` installed beside pretrain-doctor, read from its metadata (never imported)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class TrainerVersion:
    trainer: str  # distribution name
    version: str
    origin: str  # "--trainer-version", "settings", "installed"
    # The keys that version reads, when its argument classes were parsed (installed transformers/TRL).
    fields: Optional[frozenset[str]] = None

    @property
    def key(self) -> tuple[int, ...]:
        return parse_version(self.version)

    def describe(self) -> str:
        where = {"installed": "installed here", "settings": "from trainer-versions"}.get(self.origin, f"from {self.origin}")
        return f"{self.trainer} {self.version} ({where})"


@dataclass(frozen=True)
class TrainerVersions:
    """The versions a check was given, and whether to look at what is installed."""

    given: Mapping[str, str] = field(default_factory=dict)  # dist -> version, flags over settings
    origins: Mapping[str, str] = field(default_factory=dict)  # dist -> "--trainer-version" / "settings"
    detect_installed: bool = True

    def get(self, trainer: str) -> Optional[TrainerVersion]:
        if trainer in self.given:
            return TrainerVersion(trainer, self.given[trainer], self.origins.get(trainer, "--trainer-version"))
        if self.detect_installed:
            version = installed_version(trainer)
            if version is not None:
                from .trainer_source import installed_fields

                return TrainerVersion(trainer, version, "installed", installed_fields(trainer, version))
        return None


@dataclass(frozen=True)
class KeyChange:
    """A key that only some versions of a trainer read, as their argument classes show.

    `since`: the first release seen with the key (None: the oldest we read has it);
    `until`: the first release seen without it again (None: the newest still has it);
    `before`/`last`: the release read just before `since` (without it) / the last one with it,
    so a version between two releases we read is never judged.
    """

    key: str
    trainer: str
    since: Optional[str] = None
    before: Optional[str] = None
    until: Optional[str] = None
    last: Optional[str] = None
    replacement: Optional[str] = None  # what that version reads instead
    note: str = ""

    def missing_in(self, judged: TrainerVersion) -> bool:
        if judged.fields is not None:
            return self.key.rsplit(".", 1)[-1] not in judged.fields  # the installed source says exactly
        if self.until is not None and _at_least(judged.key, parse_version(self.until)):
            return True
        return self.before is not None and not _at_least(judged.key, _next(parse_version(self.before)))

    def explain(self, judged: TrainerVersion) -> tuple[str, str]:
        """The finding text and hint for a config judged against `judged`, which lacks the key."""
        name = f"{judged.trainer} {judged.version}"
        if self.until is not None and (judged.fields is not None or _at_least(judged.key, parse_version(self.until))):
            when = f"{self.trainer} {self.last} reads it, {self.until} and later do not"
        else:
            when = f"{self.trainer} {self.since} and later read it, {self.before} does not"
        instead = f"; {name} reads `{self.replacement}` instead" if self.replacement else ""
        message = f"`{self.key}` is not a key of {judged.describe()}: {when}{instead}{self.note}"
        hint = (f"rename it to `{self.replacement}`" if self.replacement else "drop it") + \
            f", or judge against the version the config was written for (--trainer-version {self.trainer}=VER)"
        return message, hint


def _at_least(version: tuple[int, ...], release: tuple[int, ...]) -> bool:
    """`version` is `release` or later, a release named to fewer parts standing for all of them (4.46 = 4.46.x)."""
    return version[:len(release)] >= release


def _next(release: tuple[int, ...]) -> tuple[int, ...]:
    """The first release after every `release.x`: 4.40 -> 4.41."""
    return release[:-1] + (release[-1] + 1,)


def changes_by_key(changes: Iterable[KeyChange]) -> dict[str, KeyChange]:
    return {change.key: change for change in changes}
