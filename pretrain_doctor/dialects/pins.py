"""Trainer versions a checkout pins: the releases a config beside them was written for.

A repository that trains with `transformers==4.36.2` in its requirements runs that release,
whatever pretrain-doctor's own environment has installed; its config is judged against it (see
versions.TrainerVersions). Read: exact pins (`name==X`, with or without extras) in
requirements*.txt, setup.py, pyproject.toml and conda environment*.yml, in the config's folder and
each folder above it up to the checkout's root (the first holding `.git`), at most MAX_LEVELS
up; the nearest file wins. Nothing is executed or imported.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..lazyre import lazy_compile
from .versions import TRAINERS

MAX_LEVELS = 5  # folders looked into: the config's and four above it
MAX_BYTES = 256 * 1024  # a pin file larger than this is no pin file
# `transformers==4.36.2`, `trl[vllm]==0.18.0`, quoted in setup.py/pyproject or bare in requirements
_PIN = lazy_compile(r"""(?:^|[\s"',\[(-])([A-Za-z][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?\s*===?\s*v?(\d+(?:\.\d+){0,3})""",
                    0)


def _is_pin_file(name: str) -> bool:
    lower = name.lower()
    return ((lower.startswith("requirements") and lower.endswith(".txt")) or lower in ("setup.py", "pyproject.toml")
            or (lower.startswith("environment") and lower.endswith((".yml", ".yaml"))))


def pins_in(text: str) -> dict[str, str]:
    """Trainer distribution -> pinned version, from one file's text (comments skipped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for name, version in _PIN.findall(line):
            dist = TRAINERS.get(name.lower().replace("_", "-"))
            if dist is not None:
                found.setdefault(dist, version)
    return found


def checkout_pins(config: Path) -> dict[str, tuple[str, str]]:
    """Trainer distribution -> (version, the file that pins it, relative to the config's folder)."""
    return dict(_folder_pins(config.resolve().parent))


@lru_cache(maxsize=64)
def _folder_pins(start: Path) -> dict[str, tuple[str, str]]:
    """`checkout_pins` of every config in `start`, looked up once per folder (a folder check reads many)."""
    pins: dict[str, tuple[str, str]] = {}
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
                for dist, version in _read_pins(Path(entry.path)).items():
                    pins.setdefault(dist, (version, os.path.relpath(entry.path, start)))
        if any(entry.name == ".git" for entry in entries):
            break  # the checkout's root
        folder = folder.parent if folder.parent != folder else None
    return pins


def _read_pins(path: Path) -> dict[str, str]:
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        return pins_in(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}
