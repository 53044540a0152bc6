"""`python -m pretrain_doctor` and the `pretrain-doctor` console script.

The command is a short-lived process, run once per commit in CI and pre-commit hooks,
so it runs as mypy does: the cyclic garbage collector waits much longer between passes,
and the process ends without the interpreter's teardown once the output is flushed.
Start-up allocates many long-lived objects (pydantic's schemas and validators, typer's
parameter adapters) and little garbage: the collector would re-scan them over and over
(~9 ms of a `check`), and the teardown would free them one by one (~35 ms, a fifth of a
`check`). `pretrain_doctor.cli.main` itself keeps the ordinary exit for in-process use.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Optional

# mypy's setting (mypy/main.py): collect the youngest generation every 200,000
# allocations instead of every 700.
_GC_THRESHOLDS = (200_000, 30, 30)
# What CPython itself exits with when it cannot flush stdout at the end.
_FLUSH_FAILED = 120


def run(argv: Optional[list[str]] = None) -> None:
    """Run the command line and end the process with its exit code."""
    gc.set_threshold(*_GC_THRESHOLDS)
    from .cli import main

    try:
        main(argv)
    except SystemExit as done:
        _exit_now(done.code)


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
