"""A progress bar for long scans (documents/s, MB/s, ETA) on stderr, only on a terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from .scan import Progress

LARGE_INPUT = 32 << 20  # bytes: smaller corpora are read before a bar would be worth drawing


@contextmanager
def progress_bar(total_bytes: int, enabled: bool = True) -> Iterator[Optional[Progress]]:
    """A Progress callback drawing a rich bar; None when not on a terminal, small input, or disabled."""
    if not enabled or total_bytes < LARGE_INPUT or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, Progress as Bar, TaskProgressColumn, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    bar = Bar(TextColumn("scanning"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[docs]} docs"),
              TextColumn("{task.fields[rate]} docs/s"), TransferSpeedColumn(), TimeRemainingColumn(),
              console=Console(stderr=True), transient=True)
    task = bar.add_task("scan", total=total_bytes, docs="0", rate="0")

    def update(documents: int, done: int) -> None:
        elapsed = bar.tasks[0].elapsed or 0.0
        rate = f"{documents / elapsed:,.0f}" if elapsed > 0 else "0"
        bar.update(task, completed=done, docs=f"{documents:,}", rate=rate)

    with bar:
        yield update
