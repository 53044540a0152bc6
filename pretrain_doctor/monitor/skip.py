"""`should_skip_step`'s rule: skip an update whose gradients are poisoned (PaLM's "skip
the bad batch"), without mistaking a new level of the grad norm for a run of bad batches.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Optional

# A spike this many steps in a row is a new level (an lr jump, a loss-weight change), not a
# bad batch: skipping on would drop every update until the median caught up (half of the
# history: after a 30x lr jump the old rule skipped 97 of 200 updates).
NEW_LEVEL_AFTER = 3


class SkipRule:
    """Judges one global grad norm against the median of the recent ones (the pre-clip
    norms of applied steps, which the doctor's RecordBuilder keeps at each sync)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self._spikes: list[float] = []  # the current run of spiking norms
        # (reason, norm) of the step judged last, until that step is counted (applied or skipped)
        self.verdict: Optional[tuple[str, float]] = None

    def take_verdict(self) -> Optional[tuple[str, float]]:
        verdict, self.verdict = self.verdict, None
        return verdict

    def judge(self, total: float, median: Optional[float], history: deque) -> Optional[str]:
        """Why this step should be skipped, or None. `median`: of `history`, None while
        it is short. After NEW_LEVEL_AFTER spikes in a row the next one is the new level:
        `history` starts over from the spikes."""
        if not math.isfinite(total):
            return "non-finite gradient"
        if not median or total <= self.factor * median:
            self._spikes = []
            return None
        if len(self._spikes) >= NEW_LEVEL_AFTER:
            history.clear()
            history.extend([*self._spikes, total])
            self._spikes = []
            return None
        self._spikes.append(total)
        return f"grad norm {total:.4g} > {self.factor:g} x recent median {median:.4g}"
