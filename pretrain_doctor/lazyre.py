"""Regular expressions compiled at their first use, for the patterns only a rare path needs.

Compiling a pattern costs `re` 0.1-0.5 ms of pure Python; a module-level `re.compile` pays it on every
start of `check`, even when no file of the run takes the path that uses it (a launched program's source,
one dialect's odd key). `lazy_compile` has the same spelling at the definition and the same calls at the
use (`_WORDS.search(text)`), and compiles on the first of them.
"""

from __future__ import annotations

import re
from typing import Any, cast


class _LazyPattern:
    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: Any = None

    def __getattr__(self, name: str) -> Any:  # only what a compiled pattern has: search, sub, pattern ...
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_compile{self._args!r}"


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, done at the first method call. Use its methods only: `re.sub(it, ...)`
    and the other module-level functions want a compiled pattern or a string."""
    return cast("re.Pattern[str]", _LazyPattern(pattern, flags))
