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
from functools import lru_cache
from typing import Optional


def metadata_folders() -> Optional[tuple[str, ...]]:
    """Every dist-info/egg-info folder on sys.path; None where importlib.metadata could see
    distributions such a listing cannot (an archive on sys.path, a custom finder)."""
    if any(hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder
           for finder in sys.meta_path):
        return None
    return _listed(tuple(sys.path), os.getcwd())


@lru_cache(maxsize=8)
def _listed(entries: tuple[str, ...], cwd: str) -> Optional[tuple[str, ...]]:
    """The metadata folders of `entries`, listed once per sys.path (and working directory, which "" names): the
    plugin lookup and each trainer's version would otherwise scan site-packages again."""
    found: list[str] = []
    for entry in entries:
        folder = entry or cwd  # importlib.metadata reads "" as the working directory
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return None  # a zip or egg archive
            continue
        try:
            with os.scandir(folder) as children:
                found.extend(c.path for c in children if c.name.lower().endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return tuple(found)


def _normalized(name: str) -> str:
    """PEP 503: runs of `-_.` become one `-`, lower case. Every folder name on sys.path is normalized on each
    `check`; without a run of separators (almost every name) plain replaces give the same, without `re`."""
    plain = name.lower().replace("_", "-").replace(".", "-")
    return plain if "--" not in plain else re.sub(r"[-_.]+", "-", name).lower()


def _first_folder(dist: str) -> Optional[str]:
    """The first metadata folder on sys.path that can be `dist`'s (`name-version.dist-info`,
    `name-version-py3.x.egg-info`, `name.egg-info`), the one importlib.metadata would read;
    "" where only importlib.metadata can tell, None where there is none."""
    folders = metadata_folders()
    if folders is None:
        return ""
    wanted = _normalized(dist)
    for path in folders:
        stem = os.path.basename(path).rsplit(".", 1)[0]
        if _normalized(stem.split("-", 1)[0]) == wanted:
            return path
    return None


def may_be_installed(dist: str) -> bool:
    """False only when importlib.metadata would not find `dist` either."""
    return _first_folder(dist) is not None


def installed_version(dist: str) -> Optional[str]:
    """The version of `dist` as importlib.metadata.version gives it: from the name of its
    dist-info folder (`name-version.dist-info`, version normalized by the installer) where that
    is the folder importlib.metadata would read, else from importlib.metadata itself."""
    path = _first_folder(dist)
    if path is None:
        return None
    name = os.path.basename(path)
    if name.lower().endswith(".dist-info") and name[: -len(".dist-info")].count("-") == 1:
        return name[: -len(".dist-info")].split("-", 1)[1]
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
