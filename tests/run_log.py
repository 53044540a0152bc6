"""Reading the monitor's JSONL run log back, for the tests of every part that writes one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_run_log(log_dir: Path) -> list[dict[str, Any]]:
    """Every line of `log_dir`'s run log, parsed (header, steps, alerts, annotations, end)."""
    from pretrain_doctor.monitor.sinks import RUN_LOG_NAME  # imports torch: only when a test reads a log

    return [json.loads(line) for line in (Path(log_dir) / RUN_LOG_NAME).read_text().splitlines()]
