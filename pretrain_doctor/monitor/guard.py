"""Keep the doctor from ever crashing the user's training loop.

Every probe runs through `ProbeGuard.call`: an exception is caught, reported once as an
internal error, and that probe is switched off for the rest of the run. Setting
`PRETRAIN_DOCTOR_DEBUG=1` lets exceptions through, for developing probes.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any, Callable

logger = logging.getLogger("pretrain_doctor.monitor")


def debug_mode() -> bool:
    return os.environ.get("PRETRAIN_DOCTOR_DEBUG", "").strip() not in ("", "0", "false", "no")


class ProbeGuard:
    """Runs probes, turning their exceptions into one logged internal error each."""

    def __init__(self) -> None:
        self.disabled: set[str] = set()
        self.errors: list[dict[str, str]] = []

    def enabled(self, probe: str) -> bool:
        return probe not in self.disabled

    def call(self, probe: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn`; on an exception switch `probe` off and return None."""
        if probe in self.disabled:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the user's loop must survive any probe bug
            if debug_mode():
                raise
            self.fail(probe, exc)
            return None

    def fail_or_raise(self, probe: str, exc: Exception) -> None:
        """What `call` does with an exception raised outside it (a hook's inlined probe)."""
        if debug_mode():
            raise exc
        self.fail(probe, exc)

    def fail(self, probe: str, exc: BaseException) -> None:
        self.disabled.add(probe)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.errors.append({"probe": probe, "error": detail})
        logger.warning("pretrain-doctor: internal error in probe %r, probe switched off: %s", probe, detail)
