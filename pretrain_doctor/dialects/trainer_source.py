"""The fields of a trainer's argument dataclasses, read from its source with `ast` (never imported).

For transformers and TRL installed beside pretrain-doctor, the keys their argument classes
define are the exact keys that version reads: `TrainingArguments` in
`transformers/training_args.py`, and TRL's `*Config` / `ModelConfig` / `ScriptArguments`.
The package is found with importlib.util.find_spec on the top-level name (which imports
nothing) and the result is cached on disk per version, so a check pays for the parse once.

    python -m pretrain_doctor.dialects.trainer_source FILE.py CLASS [CLASS...]

prints the fields of those classes in FILE.py; the version tables in hf_keys.py and
torchtitan.py were made with it from each release's source.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

# dist -> (files relative to the package folder, the classes whose fields are keys; "*" = every
# dataclass-like class whose name ends in Config or Arguments)
_SOURCES = {
    "transformers": (("training_args.py",), ("TrainingArguments",)),
    "trl": (("trainer/*_config.py", "trainer/model_config.py", "scripts/utils.py"), ("*",)),
}
_CACHE_VERSION = 1


def class_fields(source: str | ast.AST, classes: Iterable[str]) -> set[str]:
    """Annotated class attributes (dataclass fields) of `classes` in `source` (its text, or its
    syntax tree); "*" takes every class named `*Config` or `*Arguments`."""
    wanted = set(classes)
    fields: set[str] = set()
    for node in ast.walk(ast.parse(source) if isinstance(source, str) else source):
        if not isinstance(node, ast.ClassDef):
            continue
        if node.name in wanted or ("*" in wanted and node.name.endswith(("Config", "Arguments"))):
            fields.update(stmt.target.id for stmt in node.body
                          if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                          and not stmt.target.id.startswith("_"))
    return fields


def _package_folder(dist: str) -> Optional[Path]:
    from importlib.util import find_spec

    try:
        spec = find_spec(dist)  # a top-level name: found on sys.path, not imported
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _cache_file(dist: str, version: str) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "pretrain-doctor" / f"fields-{dist}-{version}-v{_CACHE_VERSION}.json"


@lru_cache(maxsize=None)
def installed_fields(dist: str, version: str) -> Optional[frozenset[str]]:
    """The keys the installed `dist` (at `version`) reads, or None when its source cannot be read."""
    if dist not in _SOURCES:
        return None
    cache = _cache_file(dist, version)
    try:
        return frozenset(json.loads(cache.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    folder = _package_folder(dist)
    if folder is None:
        return None
    patterns, classes = _SOURCES[dist]
    fields: set[str] = set()
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            try:
                fields |= class_fields(path.read_text(encoding="utf-8"), classes)
            except (OSError, SyntaxError, UnicodeDecodeError):
                continue
    if not fields:
        return None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(sorted(fields)), encoding="utf-8")
    except OSError:
        pass  # a read-only home: parse again next time
    return frozenset(fields)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m pretrain_doctor.dialects.trainer_source FILE.py CLASS [CLASS...]", file=sys.stderr)
        return 2
    source = Path(argv[0]).read_text(encoding="utf-8")
    for name in sorted(class_fields(source, argv[1:])):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
