"""Streaming statistics with exact vectorised twins.

Every streaming statistic here has an array function computing, for each position, the
very value the streaming object would hold at that moment, bit for bit (same NumPy
reductions over the same numbers), so `scan` and `update` agree exactly.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Any, Iterable, Optional

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# 1.4826 * MAD estimates sigma for Gaussian noise.
MAD_TO_SIGMA = 1.4826
_CHUNK = 1 << 15


class RollingBaseline:
    """Median (and MAD) of the last `window` values, for judging the next value.

    Past only: the value being judged is pushed after it is judged. While the window
    fills, the statistics are recomputed at every value (from `min_history` values on,
    so short logs get a baseline early); once full, every `refresh` values, which keeps
    a million-step replay cheap and changes nothing a detector can notice.
    """

    def __init__(self, window: int, min_history: int, refresh: int = 1, with_mad: bool = True) -> None:
        if window < 1 or min_history < 1 or refresh < 1 or min_history > window:
            raise ValueError("need 1 <= min_history <= window and refresh >= 1")
        self.window, self.min_history, self.refresh, self.with_mad = window, min_history, refresh, with_mad
        self.values: deque[float] = deque(maxlen=window)
        self.count = 0
        self.median: Optional[float] = None
        self.mad: Optional[float] = None

    @property
    def ready(self) -> bool:
        return self.median is not None

    def push(self, value: float) -> None:
        self.values.append(float(value))
        count = self.count = self.count + 1
        # recompute from min_history values on, at every value until the window is full, then every `refresh`
        if count >= self.min_history and (count <= self.window or (count - self.window) % self.refresh == 0):
            if self.with_mad:
                self.median, self.mad = median_and_mad(self.values)
            else:
                self.median = median_of(self.values)

    def push_all(self, values: list[float]) -> tuple[list[Optional[float]], list[Optional[float]]]:
        """`push` each of `values` (floats) in turn; returns the median and MAD held just
        before each push (None: not ready), i.e. what judged each value (window paths)."""
        medians: list[Optional[float]] = []
        mads: list[Optional[float]] = []
        for length, median, mad in self.push_pieces(values):
            medians += [median] * length
            mads += [mad] * length
        return medians, mads

    def push_pieces(self, values: list[float]) -> list[tuple[int, Optional[float], Optional[float]]]:
        """`push_all`, as pieces: (how many values, the median and MAD that judged them).
        The values between two recomputations go in as one slice: the statistics change
        only at the counts `push` recomputes them at."""
        pieces: list[tuple[int, Optional[float], Optional[float]]] = []
        held, with_mad, total, at = self.values, self.with_mad, len(values), 0
        while at < total:
            due = self._next_recompute()
            end = min(total, at + due - self.count)
            pieces.append((end - at, self.median, self.mad))
            held.extend(values[at:end])
            self.count += end - at
            if self.count == due:
                if with_mad:
                    self.median, self.mad = median_and_mad(held)
                else:
                    self.median = median_of(held)
            at = end
        return pieces

    def _next_recompute(self) -> int:
        """The next count (after the current one) at which `push` recomputes the statistics."""
        low = max(self.count + 1, self.min_history)
        if low <= self.window:
            return low
        return self.window + -(-(low - self.window) // self.refresh) * self.refresh

    def follow_all(self, leader: "RollingBaseline", values: list[float]) -> None:
        """`follow` for each of `values` in turn (the leader has just pushed them all)."""
        if not values:
            return
        self.values.extend(values)
        self.count += len(values)
        self.median, self.mad = leader.median, leader.mad

    def follow(self, leader: "RollingBaseline", value: float) -> None:
        """`push(value)` for a baseline with `leader`'s settings and history, which has just
        pushed `value`: its statistics are taken, not computed again (PDM202 following
        PDM201's loss baseline, see DetectorSet)."""
        self.values.append(float(value))
        self.count += 1
        self.median, self.mad = leader.median, leader.mad

    def to_state(self) -> dict[str, Any]:
        return {"window": self.window, "min_history": self.min_history, "refresh": self.refresh,
                "with_mad": self.with_mad, "values": list(self.values), "count": self.count,
                "median": self.median, "mad": self.mad}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "RollingBaseline":
        baseline = cls(state["window"], state["min_history"], state["refresh"], state["with_mad"])
        baseline.values.extend(state["values"])
        baseline.count, baseline.median, baseline.mad = state["count"], state["median"], state["mad"]
        return baseline


STATEFUL_TYPES = {"RollingBaseline": RollingBaseline}


def median_of(values: Iterable[float]) -> float:
    """np.median's result, bit for bit (the mean of the two middle values is (a + b) / 2),
    without NumPy's per-call overhead on the short windows of streaming detectors."""
    return median_of_sorted(sorted(values))


def median_and_mad(values: Iterable[float]) -> tuple[float, float]:
    """(median_of(values), median_of(|v - median| for v in values)), bit for bit, with one
    sort: the deviations of the values below the median, read from it outwards, and of the
    rest, read from it upwards, are two sorted runs (abs(v - m) is m - v exactly below m),
    whose middle elements a binary search finds without building them."""
    ordered = sorted(values)
    median = median_of_sorted(ordered)
    count = len(ordered)
    split = bisect.bisect_left(ordered, median)  # deviations below: median - ordered[split - 1 - i]
    middle = count // 2
    if count % 2:
        return median, float(_kth_deviation(ordered, median, split, middle))
    if median == 0:  # a zero deviation may be -0.0 (0.0 - -0.0 ...): which of equal ones is taken matters
        return median, (_kth_deviation(ordered, median, split, middle - 1)
                        + _kth_deviation(ordered, median, split, middle)) / 2
    # the two middle deviations from one search: the next after the `middle`-th smallest is the
    # smaller of the next one of each run (equal deviations of a non-zero median are equal bits)
    k = middle - 1
    low = _taken_below(ordered, median, split, k)
    kth = _kth_deviation(ordered, median, split, k, low)
    following = []
    if low < split:
        following.append(median - ordered[split - 1 - low])
    if k + 1 - low < count - split:
        following.append(ordered[split + k + 1 - low] - median)
    return median, (kth + min(following)) / 2


def _taken_below(ordered: list[float], median: float, split: int, k: int) -> int:
    """How many of the k + 1 smallest of |v - median| come from below the median (see `_kth_deviation`)."""
    below, above = split, len(ordered) - split
    low, high = max(0, k + 1 - above), min(k + 1, below)
    while low < high:
        taken = (low + high) // 2
        if median - ordered[split - 1 - taken] < ordered[split + k - taken] - median:
            low = taken + 1
        else:
            high = taken
    return low


def _kth_deviation(ordered: list[float], median: float, split: int, k: int, low: Optional[int] = None) -> float:
    """The k-th smallest (from 0) of |v - median| over `ordered` (see median_and_mad);
    `low`: `_taken_below`'s answer, when known."""
    if low is None:
        low = _taken_below(ordered, median, split, k)
    candidates = []
    if low > 0:
        candidates.append(median - ordered[split - low])
    if k + 1 - low > 0:
        candidates.append(ordered[split + k - low] - median)
    return max(candidates)


def median_of_sorted(ordered: list[float]) -> float:
    """`median_of` of values already in ascending order."""
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def rolling_baseline(x: np.ndarray, window: int, min_history: int, refresh: int = 1,
                     with_mad: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For each x[i], the (median, MAD) a RollingBaseline fed x[:i] would hold (NaN: not ready)."""
    n = len(x)
    median = np.full(n, np.nan)
    mad = np.full(n, np.nan)
    if n <= min_history:
        return median, mad
    # counts c at which the statistics are recomputed, and their values
    small = np.arange(min_history, min(window, n - 1) + 1)
    large = np.arange(window + refresh, n, refresh) if n - 1 >= window + refresh else np.arange(0)
    counts = np.concatenate([small, large])
    med_at = np.empty(len(counts))
    mad_at = np.full(len(counts), np.nan)
    for k, c in enumerate(small.tolist()):
        values = x[:c]
        med_at[k] = np.median(values)
        if with_mad:
            mad_at[k] = np.median(np.abs(values - med_at[k]))
    if len(large):
        views = sliding_window_view(x, window)
        for begin in range(0, len(large), _CHUNK):
            chunk = large[begin:begin + _CHUNK]
            block = views[chunk - window]
            m = np.median(block, axis=1)
            med_at[len(small) + begin:len(small) + begin + len(chunk)] = m
            if with_mad:
                mad_at[len(small) + begin:len(small) + begin + len(chunk)] = np.median(np.abs(block - m[:, None]), axis=1)
    # each position i uses the latest recompute at a count <= i
    positions = np.arange(n)
    index = np.searchsorted(counts, positions, side="right") - 1
    ok = index >= 0
    median[ok] = med_at[index[ok]]
    mad[ok] = mad_at[index[ok]]
    return median, mad


def robust_scale(median: float, mad: float, rel_floor: float, abs_floor: float) -> float:
    """Noise scale: sigma from the MAD, floored (a flat window has MAD 0)."""
    return max(MAD_TO_SIGMA * mad, rel_floor * abs(median), abs_floor)


def robust_scale_array(median: np.ndarray, mad: np.ndarray, rel_floor: float, abs_floor: float) -> np.ndarray:
    return np.maximum(np.maximum(MAD_TO_SIGMA * mad, rel_floor * np.abs(median)), abs_floor)


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each position, how many consecutive True values end there (0 where False)."""
    mask = np.asarray(mask, dtype=bool)
    counts = np.arange(1, len(mask) + 1)
    last_false = np.maximum.accumulate(np.where(~mask, counts, 0))
    return np.where(mask, counts - last_false, 0)


def episode_starts(mask: np.ndarray) -> np.ndarray:
    """Indices where a run of True values begins."""
    mask = np.asarray(mask, dtype=bool)
    previous = np.concatenate([[False], mask[:-1]])
    return np.flatnonzero(mask & ~previous)


def finite_series(table: Any, name: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, values) of a metric's finite observations within rows [start, end)."""
    values, present = table.column(name)
    values, present = values[start:end], present[start:end]
    keep = present & np.isfinite(values)
    return np.flatnonzero(keep) + start, values[keep]


def cached_baseline(cache: dict, table: Any, name: str, start: int, end: int, window: int, min_history: int,
                    refresh: int, with_mad: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, values, median, mad) of a metric's finite values in rows [start, end), computed
    once per scan for every detector asking with the same settings."""
    key = ("baseline", name, start, end, window, min_history, refresh)
    found = cache.get(key)
    if found is None or (with_mad and found[4] is False):
        rows, values = finite_series(table, name, start, end)
        median, mad = rolling_baseline(values, window, min_history, refresh, with_mad)
        found = cache[key] = (rows, values, median, mad, with_mad)
    return found[:4]
