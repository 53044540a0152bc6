"""Dialect adapters, one module each; `detect` picks the one that recognises a document."""

from __future__ import annotations

import importlib
from functools import lru_cache

from ..config.document import Document
from ..errors import UsageError
from .base import BuildContext, Dialect

# Order matters only for ties: more specific formats first.
DIALECT_MODULES = (
    "native",
    "axolotl",
    "litgpt",
    "olmo",
    "llmfoundry",
    "torchtitan",
    "nanogpt",
    "neox",
    "nanotron",
    "megatron",
    "deepspeed",
    "llamafactory",
    "hf",
)


@lru_cache(maxsize=1)
def all_dialects() -> tuple[Dialect, ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}").DIALECT for name in DIALECT_MODULES)


def dialect_names() -> list[str]:
    return [d.name for d in all_dialects()]


def get_dialect(name: str) -> Dialect:
    for dialect in all_dialects():
        if dialect.name == name:
            return dialect
    raise UsageError(f"unknown dialect {name!r}; known: {', '.join(dialect_names())}")


def detect(doc: Document) -> Dialect | None:
    """The best-scoring dialect for `doc`, or None when nothing recognises it."""
    best, best_score = None, 0
    for dialect in all_dialects():
        score = dialect.score(doc)
        if score > best_score:
            best, best_score = dialect, score
    return best


__all__ = ["BuildContext", "Dialect", "all_dialects", "detect", "dialect_names", "get_dialect"]
