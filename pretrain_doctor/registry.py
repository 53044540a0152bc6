"""Find and load rules: the built-ins, plugin packages (the `pretrain_doctor.rules` entry-point
group), and `--rules-dir` folders.

The built-ins are imported directly. Plugins are looked up through importlib.metadata only
when an installed distribution's entry_points.txt names the group: importing
importlib.metadata and scanning every distribution with it was ~19 ms of each `check`,
spent to find nothing on most machines.

A plugin that fails to import or defines a rule with bad metadata is reported and
skipped; it never stops the run.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterable, NamedTuple

from .distributions import metadata_folders
from .rule import Rule, iter_rule_classes

ENTRY_POINT_GROUP = "pretrain_doctor.rules"
BUILTIN_PACKAGE = "pretrain_doctor.builtin_rules"
_SOURCE_TREE_RULES = Path(__file__).resolve().parent.parent / "rules"


class RuleSet(NamedTuple):
    """The rules found (code -> class) and the plugins that failed to load."""

    rules: dict[str, type[Rule]]  # code -> class
    problems: list[str]  # plugins that failed to load

    def add(self, cls: type[Rule], origin: str) -> None:
        existing = self.rules.get(cls.code)
        if existing is not None and existing is not cls:
            self.problems.append(
                f"rule {cls.code} from {origin} clashes with {cls.code} from {existing.origin}; kept the first"
            )
            return
        cls.origin = origin
        self.rules[cls.code] = cls

    def sorted(self) -> list[type[Rule]]:
        return [self.rules[code] for code in sorted(self.rules)]



def load_rules(rules_dirs: Iterable[str | Path] = ()) -> RuleSet:
    found = RuleSet({}, [])
    _collect_builtin(found)
    for name, target in _entry_points():
        if target == BUILTIN_PACKAGE:
            continue  # loaded above (installs from before 2026-12-03 still declare it)
        try:
            module = importlib.import_module(target)
        except Exception as exc:  # a plugin's bug must not stop the linter
            found.problems.append(f"plugin {name!r} ({target}) failed to load: {type(exc).__name__}: {exc}")
            continue
        _collect_package(module, name, found)
    for directory in rules_dirs:
        _collect_directory(Path(directory), f"rules-dir {directory}", found)
    return found


def _collect_builtin(found: RuleSet) -> None:
    """The built-in rules: the installed package, else the source tree's `rules/` folder."""
    try:
        module = importlib.import_module(BUILTIN_PACKAGE)
    except ImportError:
        if _SOURCE_TREE_RULES.is_dir():
            _collect_directory(_SOURCE_TREE_RULES, "built-in", found)
        return
    _collect_package(module, "built-in", found)


def _entry_points() -> list[tuple[str, str]]:
    """(name, target) of each installed plugin package, sorted."""
    if not _group_may_be_declared():
        return []
    from importlib.metadata import entry_points

    return sorted((ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP))


def _group_may_be_declared() -> bool:
    """False only when no distribution importlib.metadata would see can declare our group:
    no dist-info/egg-info folder on sys.path has an entry_points.txt that names it (see
    `distributions.metadata_folders`). A cheap over-estimate: a True answer is settled by
    importlib.metadata itself."""
    folders = metadata_folders()
    if folders is None:
        return True
    group = ENTRY_POINT_GROUP.encode()
    for path in folders:
        try:
            with open(os.path.join(path, "entry_points.txt"), "rb") as file:
                if group in file.read():
                    return True
        except OSError:  # no entry points, or an egg-info that is a file
            continue
    return False


def _collect_package(module: ModuleType, origin: str, found: RuleSet) -> None:
    for cls in iter_rule_classes(vars(module)):
        found.add(cls, origin)
    if not hasattr(module, "__path__"):
        return
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        full = f"{module.__name__}.{info.name}"
        try:
            sub = importlib.import_module(full)
        except Exception as exc:
            found.problems.append(f"rule module {full} ({origin}) failed to load: {type(exc).__name__}: {exc}")
            continue
        for cls in iter_rule_classes(vars(sub)):
            found.add(cls, origin)


def _collect_directory(directory: Path, origin: str, found: RuleSet) -> None:
    if not directory.is_dir():
        found.problems.append(f"rules directory {directory} does not exist")
        return
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        digest = _path_digest(path)
        module_name = f"_pretrain_doctor_rules_{digest}_{path.stem}"
        try:
            module = sys.modules.get(module_name) or _import_file(module_name, path)
        except Exception as exc:
            found.problems.append(f"rule file {path} ({origin}) failed to load: {type(exc).__name__}: {exc}")
            continue
        for cls in iter_rule_classes(vars(module)):
            found.add(cls, origin)


def _path_digest(path: Path) -> str:
    """A short stable tag that keeps same-named rule files from different folders apart."""
    import hashlib  # only with --rules-dir: OpenSSL's start-up is not free

    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]


def _import_file(module_name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
