"""`python -m pretrain_doctor` and the `pretrain-doctor` console script.

The command is a short-lived process, run once per commit in CI and pre-commit hooks,
so it runs as mypy does: the cyclic garbage collector waits much longer between passes,
and the process ends without the interpreter's teardown once the output is flushed.
Start-up allocates many long-lived objects (pydantic's schemas and validators, typer's
parameter adapters) and little garbage: the collector would re-scan them over and over
(~9 ms of a `check`), and the teardown would free them one by one (~35 ms, a fifth of a
`check`). `pretrain_doctor.cli.main` itself keeps the ordinary exit for in-process use.

pydantic's plugin lookup is answered without importlib.metadata while plugins are off
(`_defer_pydantic_plugin_loader`).
"""

from __future__ import annotations

import gc
import os
import sys
from types import ModuleType
from typing import Any, Optional

# mypy's setting (mypy/main.py): collect the youngest generation every 200,000
# allocations instead of every 700.
_GC_THRESHOLDS = (200_000, 30, 30)
# What CPython itself exits with when it cannot flush stdout at the end.
_FLUSH_FAILED = 120
_PYDANTIC_LOADER = "pydantic.plugin._loader"
# The values pydantic's own loader reads as "no plugins" (typer sets "1" around its adapters,
# the CLI "__all__").
_PLUGINS_OFF = ("__all__", "1", "true")


def run(argv: Optional[list[str]] = None) -> None:
    """Run the command line and end the process with its exit code."""
    gc.set_threshold(*_GC_THRESHOLDS)
    _defer_pydantic_plugin_loader()
    from .cli import main

    try:
        main(argv)
    except SystemExit as done:
        _exit_now(done.code)


def _defer_pydantic_plugin_loader() -> None:
    """Stand in for pydantic's plugin loader until plugins are on.

    The first validator pydantic builds imports `pydantic.plugin._loader`, whose top line
    imports importlib.metadata (with email, zipfile, csv: ~50 M instructions, 5% of a `check`)
    only to find plugins, which typer turns off around its adapters and the CLI turns off
    (PYDANTIC_DISABLE_PLUGINS). The stand-in answers "none" while that variable says so;
    asked anything else, it hands over to the real loader for good.
    """
    if _PYDANTIC_LOADER in sys.modules:
        return
    stand_in = ModuleType(_PYDANTIC_LOADER)

    def real_loader() -> ModuleType:
        if sys.modules.get(_PYDANTIC_LOADER) is stand_in:
            del sys.modules[_PYDANTIC_LOADER]
        import importlib

        return importlib.import_module(_PYDANTIC_LOADER)

    def get_plugins(*args: Any, **kwargs: Any) -> Any:
        if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in _PLUGINS_OFF and not args and not kwargs:
            return ()
        return real_loader().get_plugins(*args, **kwargs)

    def other_name(name: str) -> Any:
        if name.startswith("__"):  # the import system asks for `__path__` and the like
            raise AttributeError(name)
        return getattr(real_loader(), name)

    stand_in.get_plugins = get_plugins  # type: ignore[attr-defined]
    stand_in.__getattr__ = other_name  # type: ignore[method-assign]
    sys.modules[_PYDANTIC_LOADER] = stand_in


def _exit_now(code: object) -> None:
    """End the process at once with `code`, read the way `sys.exit` reads it."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
        status = status or _FLUSH_FAILED
    os._exit(status)


if __name__ == "__main__":
    run()
