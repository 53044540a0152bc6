"""Project settings: `[tool.pretrain-doctor]` in pyproject.toml or `.pretrain-doctor.toml`,
found by walking up from the checked file, the way ruff finds its settings."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Optional

from .errors import UsageError
from .selection import split_codes

SETTINGS_FILE = ".pretrain-doctor.toml"
_KNOWN_KEYS = {"select", "ignore", "severity", "per-file-ignores", "fail-on", "rules-dir", "trainer-versions"}
FAIL_ON_LEVELS = ("error", "warning", "info", "never")
# Settings never run code on their own: a `rules-dir` they name is imported only when the
# command line says so (`--trust-settings-rules`) or this variable is 1 (a repository's
# pull request can add both a settings file and the Python files it names).
TRUST_RULES_ENV = "PRETRAIN_DOCTOR_TRUST_RULES_DIR"
# Quotes, spaces and tabs removed, every spelling of the table reads `tool.pretrain-doctor`,
# `[tool]` or `tool={` (TOML keys hold no newline).
_QUOTES_AND_BLANKS = str.maketrans("", "", "\"' \t")


class Settings(NamedTuple):
    path: Optional[Path] = None  # the file they came from
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fail_on: Optional[str] = None
    rules_dirs: tuple[Path, ...] = ()
    trainer_versions: tuple[tuple[str, str], ...] = ()  # `trainer-versions = {transformers = "4.46"}`

    def ignores_for(self, file: Path) -> list[str]:
        """Codes ignored for `file` by `per-file-ignores` globs (relative to the settings file)."""
        if self.path is None:
            return []
        try:
            relative = file.resolve().relative_to(self.path.parent.resolve()).as_posix()
        except ValueError:
            relative = file.as_posix()
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(file.name, pattern):
                codes.extend(ignored)
        return codes


def find_settings(start: Path) -> Settings:
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    return _find_from(directory)


@lru_cache(maxsize=256)
def _find_from(directory: Path) -> Settings:
    for folder in (directory, *directory.parents):
        dedicated = folder / SETTINGS_FILE
        if dedicated.is_file():
            return _read(dedicated, _load_toml(dedicated))
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            text = _read_text(pyproject)
            # A project whose pyproject cannot hold our table is not parsed (tomllib costs a
            # few ms of start-up), nor refused when its pyproject is broken for other tools.
            if _may_hold_table(text):
                table = _parse_toml(pyproject, text).get("tool", {}).get("pretrain-doctor")
                if table is not None:
                    return _read(pyproject, table)
    return Settings()


def _may_hold_table(pyproject_text: str) -> bool:
    """Whether a pyproject.toml can hold `[tool.pretrain-doctor]`: a cheap over-estimate.

    Every spelling of the table names `tool` then `pretrain-doctor` (`[tool.pretrain-doctor]`,
    `[ tool . "pretrain-doctor" ]`, dotted keys), or is a `[tool]` table or `tool = {...}`
    holding the key. A project merely named `pretrain-doctor`, as ours is, is not parsed.
    """
    if "pretrain-doctor" not in pyproject_text:
        return False
    squeezed = pyproject_text.translate(_QUOTES_AND_BLANKS)
    return "tool.pretrain-doctor" in squeezed or "\n[tool]" in f"\n{squeezed}" or "\ntool={" in f"\n{squeezed}"


def _load_toml(path: Path) -> dict[str, Any]:
    return _parse_toml(path, _read_text(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read settings: {exc}") from None


def _parse_toml(path: Path, text: str) -> dict[str, Any]:
    from .config.toml_reader import tomllib  # only when a settings file exists: a few ms of start-up

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: cannot read settings: {exc}") from None


def _read(path: Path, table: dict[str, Any]) -> Settings:
    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        raise UsageError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_KNOWN_KEYS))}")
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON_LEVELS:
        raise UsageError(f"{path}: fail-on must be one of {', '.join(FAIL_ON_LEVELS)}, not {fail_on!r}")
    severity = table.get("severity", {})
    per_file = table.get("per-file-ignores", {})
    if not isinstance(severity, dict) or not isinstance(per_file, dict):
        raise UsageError(f"{path}: `severity` and `per-file-ignores` must be tables")
    trainer_versions = table.get("trainer-versions", {})
    if not isinstance(trainer_versions, dict):
        raise UsageError(f"{path}: `trainer-versions` must be a table, e.g. {{transformers = \"4.46\"}}")
    rules_dirs = table.get("rules-dir", [])
    if isinstance(rules_dirs, str):
        rules_dirs = [rules_dirs]
    return Settings(
        path=path,
        select=tuple(split_codes(table.get("select"))),
        ignore=tuple(split_codes(table.get("ignore"))),
        severity=tuple((str(k), str(v).lower()) for k, v in severity.items()),
        per_file_ignores=tuple((str(k), tuple(split_codes(v))) for k, v in per_file.items()),
        fail_on=fail_on,
        rules_dirs=tuple((path.parent / d).resolve() for d in rules_dirs),
        trainer_versions=tuple(_trainer_versions(path, trainer_versions).items()),
    )


def _trainer_versions(path: Path, table: dict[str, Any]) -> dict[str, str]:
    from .dialects.versions import normalise

    try:
        return normalise(table)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


@dataclass
class CheckOptions:
    """Everything `check` was asked to do, after merging flags over settings."""

    dialect: str = "auto"
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    fail_on: Optional[str] = None
    rules_dirs: list[Path] = field(default_factory=list)
    tokenizer: Optional[Path] = None
    model_config: Optional[Path] = None
    accelerate_config: Optional[Path] = None
    world_size: Optional[int] = None
    dataset_rows: Optional[int] = None
    baseline: Optional[str] = None
    merge: bool = False
    use_settings: bool = True
    trainer_versions: dict[str, str] = field(default_factory=dict)  # --trainer-version, dist -> version
    # Read the versions of trainers installed beside pretrain-doctor (the test suite turns it off
    # with PRETRAIN_DOCTOR_IGNORE_INSTALLED_TRAINERS=1 so its results do not depend on the venv).
    detect_installed_trainers: bool = field(
        default_factory=lambda: os.environ.get("PRETRAIN_DOCTOR_IGNORE_INSTALLED_TRAINERS") not in ("1", "installed"))
    # Read the releases the checkout pins (requirements, pyproject): off with the test suite's `=1`, kept with
    # `=installed`, which ignores only what is installed (a linter environment without the trainers: the
    # held-out review's harness).
    read_checkout_pins: bool = field(
        default_factory=lambda: os.environ.get("PRETRAIN_DOCTOR_IGNORE_INSTALLED_TRAINERS") != "1")
    trust_settings_rules: bool = False  # load the rules-dir that settings files name
    # Named files are taken as a folder's are: one no trainer reads, or that does not parse, is
    # skipped with a note instead of exit 2 (a pre-commit hook is handed every matching file).
    skip_non_configs: bool = False


def untrusted_rules_notice(dirs: dict[Path, Path]) -> str:
    """The one line that says which settings-named rule folders were not loaded, and how to allow them."""
    named = ", ".join(f"{folder} (from {source})" for folder, source in dirs.items())
    return (f"rules-dir {named} not loaded: settings files never run code; pass --trust-settings-rules "
            f"or set {TRUST_RULES_ENV}=1 to load it, or name it with --rules-dir")
