"""Trainer versions a checkout pins: the releases a config beside them was written for.

A repository that trains with `transformers==4.36.2` in its requirements runs that release,
whatever pretrain-doctor's own environment has installed; its config is judged against it (see
versions.TrainerVersions). A range (`transformers>=4.49`, `trl~=0.8`, `<4.46`) says the run uses
one release of several, not the one installed beside pretrain-doctor: its config is judged against
every release we know (held-out reviews 25-28: `warmup_ratio` of a `>=4.49` checkout judged by the
linter's 5.24). Read: requirement specifiers (with or without extras) in requirements*.txt,
setup.py, pyproject.toml and conda environment*.yml, in the config's folder and each folder above
it up to the checkout's root (the first holding `.git`), at most MAX_LEVELS up; the nearest file
wins. A bare name pins nothing. Nothing is executed or imported.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Optional

from ..lazyre import lazy_compile
from .versions import TRAINERS

MAX_LEVELS = 5  # folders looked into: the config's and four above it
MAX_BYTES = 256 * 1024  # a pin file larger than this is no pin file
_CLAUSE = r"(?:===?|~=|>=|<=|!=|<|>)\s*v?\d[\w.*+]*"
# `transformers==4.36.2`, `trl[vllm]>=0.18.0,<0.20`, quoted in setup.py/pyproject or bare in requirements
_REQUIREMENT = lazy_compile(rf"""(?:^|[\s"',\[(-])([A-Za-z][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?"""
                            rf"""\s*({_CLAUSE}(?:\s*,\s*{_CLAUSE})*)""", 0)
# A direct reference (`transformers @ git+https://github.com/huggingface/transformers.git@main`, or a bare
# `git+https://github.com/huggingface/trl` line): a development snapshot, no release: judged like a range.
_DIRECT = lazy_compile(r"""(?:^|[\s"',\[(-])(?:([A-Za-z][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?\s*@\s*)?"""
                       r"""((?:git\+)?https?://[^\s"',#]+)""", 0)
_EXACT = lazy_compile(r"^===?\s*v?(\d+(?:\.\d+){0,3})(?:[a-z+][\w.+]*)?$")  # 4.36.2, 4.36.2+cu118, 5.0.0rc1


class Pin(NamedTuple):
    """A trainer's requirement in a checkout: `version` for an exact pin, None for a range (`spec`)."""

    version: Optional[str]
    spec: str  # as written, e.g. ">=4.49.0"
    where: str  # the file, relative to the config's folder


def _is_pin_file(name: str) -> bool:
    lower = name.lower()
    return ((lower.startswith("requirements") and lower.endswith(".txt")) or lower in ("setup.py", "pyproject.toml")
            or (lower.startswith("environment") and lower.endswith((".yml", ".yaml"))))


def requirements_in(text: str) -> dict[str, str]:
    """Trainer distribution -> its version specifier (`==4.36.2`, `>=4.49,<5`), from one file's text
    (comments skipped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for name, spec in _REQUIREMENT.findall(line):
            dist = TRAINERS.get(name.lower().replace("_", "-"))
            if dist is not None:
                found.setdefault(dist, "".join(spec.split()))
        for name, url in _DIRECT.findall(line):
            repository = url.split("@", 1)[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
            dist = TRAINERS.get((name or repository).lower().replace("_", "-"))
            if dist is not None and (name or url.startswith("git+")):
                found.setdefault(dist, f" @ {url}")  # no release: every known one (engine.py's `ranged`)
    return found


def exact_version(spec: str) -> Optional[str]:
    """The release a specifier pins (`==4.36.2`, `==4.36.2+cu118` -> 4.36.2), None for a range (`>=4.49`, `==4.*`)."""
    match = _EXACT.match(spec)
    return match.group(1) if match else None


def checkout_requirements(config: Path) -> dict[str, Pin]:
    """Trainer distribution -> its nearest requirement in the checkout, exact or a range."""
    return dict(_folder_pins(config.resolve().parent))


@lru_cache(maxsize=64)
def _folder_pins(start: Path) -> dict[str, Pin]:
    """`checkout_requirements` of every config in `start`, looked up once per folder (a folder check reads many)."""
    pins: dict[str, Pin] = {}
    folder: Optional[Path] = start
    for _ in range(MAX_LEVELS):
        if folder is None:
            break
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            break
        for entry in entries:
            if _is_pin_file(entry.name) and entry.is_file():
                for dist, spec in _read_requirements(Path(entry.path)).items():
                    pins.setdefault(dist, Pin(exact_version(spec), spec, os.path.relpath(entry.path, start)))
        if any(entry.name == ".git" for entry in entries):
            break  # the checkout's root
        folder = folder.parent if folder.parent != folder else None
    return pins


def _read_requirements(path: Path) -> dict[str, str]:
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        return requirements_in(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}
