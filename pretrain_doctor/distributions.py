"""What is installed, answered from sys.path's folder listings where that settles it.

Importing importlib.metadata (with email, zipfile and csv) costs a `check` 10-20 ms, spent
on most machines to learn that no plugin and no trainer is installed. The folders on
sys.path tell that much: importlib.metadata finds distributions only through their
dist-info/egg-info folders there, unless an archive sits on sys.path or a custom finder
provides distributions, in which case every answer here defers to it.
"""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys
from typing import Optional


def metadata_folders() -> Optional[list[str]]:
    """Every dist-info/egg-info folder on sys.path; None where importlib.metadata could see
    distributions such a listing cannot (an archive on sys.path, a custom finder)."""
    if any(hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder
           for finder in sys.meta_path):
        return None
    found: list[str] = []
    for entry in sys.path:
        folder = entry or "."  # importlib.metadata reads "" as the working directory
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return None  # a zip or egg archive
            continue
        try:
            with os.scandir(folder) as children:
                found.extend(c.path for c in children if c.name.lower().endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return found


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def may_be_installed(dist: str) -> bool:
    """False only when no metadata folder on sys.path can be `dist`'s (`name-version.dist-info`,
    `name-version-py3.x.egg-info`, `name.egg-info`): then importlib.metadata would not find it."""
    folders = metadata_folders()
    if folders is None:
        return True
    wanted = _normalized(dist)
    for path in folders:
        stem = os.path.basename(path).rsplit(".", 1)[0]
        if _normalized(stem.split("-", 1)[0]) == wanted:
            return True
    return False
