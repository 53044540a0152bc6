"""Rates with their error bars: what a sampled data check reports instead of a bare number.

Two intervals, both 95%:
- `wilson`: a share of documents from a simple random sample of them (Wilson's score interval,
  with the finite-population correction when the population size is known).
- `ratio`: sum(y) / sum(x) over sampled units (a unit is a group of documents kept or dropped
  together, e.g. all copies of one text): the delta-method variance of a ratio estimator,
  turned into an effective sample size r(1-r)/var for Wilson's interval (a plain normal
  interval undercovers small rates: 94 of 100 seeded trials at a 4% duplicate rate).
Both use Wilson's interval with continuity correction, which covers at least 95%.
An exact rate (everything was measured) is an Estimate with low == value == high.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A rate in [0, 1], exact or with a 95% interval, and the number of units behind it."""

    value: float
    low: float
    high: float
    n: int  # documents (or units) measured
    method: str  # "exact", "wilson" or "ratio"

    @property
    def exact(self) -> bool:
        return self.method == "exact"

    def contains(self, rate: float) -> bool:
        return self.low - 1e-12 <= rate <= self.high + 1e-12

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "method": self.method}

    def __str__(self) -> str:
        if self.exact:
            return _percent(self.value)
        return f"{_percent(self.value)} (95% interval {_percent(self.low)}-{_percent(self.high)})"


def _percent(rate: float) -> str:
    return f"{100 * rate:.2f}%" if rate < 0.1 else f"{100 * rate:.1f}%"


def exact(count: float, total: int) -> Estimate:
    rate = count / total if total else 0.0
    return Estimate(rate, rate, rate, total, "exact")


def _fpc(n: int, population: Optional[float]) -> float:
    if not population or population <= n:
        return 1.0 if not population else 0.0
    return (population - n) / (population - 1) if population > 1 else 0.0


def wilson(successes: int, n: int, population: Optional[float] = None) -> Estimate:
    """Wilson score interval for successes / n sampled without replacement from `population`."""
    if n == 0:
        return Estimate(0.0, 0.0, 1.0, 0, "wilson")
    p = successes / n
    fpc = _fpc(n, population)
    if fpc == 0.0:
        return Estimate(p, p, p, n, "exact")
    # Sampling without replacement shrinks the variance by fpc: the same as a larger sample.
    return _wilson_at(p, n / fpc, n, "wilson")


def ratio(y: np.ndarray, x: np.ndarray, population_units: Optional[float] = None) -> Estimate:
    """sum(y)/sum(x) over sampled units: the delta-method variance of a ratio estimator, as Wilson."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    return RatioSums(int(x.size), float(y.sum()), float(x.sum()), float(y @ y), float(x @ x),
                     float(y @ x)).estimate(population_units)


@dataclass
class RatioSums:
    """The sums behind `ratio`, kept as documents stream past (mergeable across shards), so an
    accumulator can give sum(y)/sum(x) with its interval without holding every document."""

    n: int = 0
    y: float = 0.0
    x: float = 0.0
    yy: float = 0.0
    xx: float = 0.0
    xy: float = 0.0

    def add(self, y: float, x: float) -> None:
        self.n += 1
        self.y += y
        self.x += x
        self.yy += y * y
        self.xx += x * x
        self.xy += x * y

    def merge(self, other: "RatioSums") -> None:
        for name in ("n", "y", "x", "yy", "xx", "xy"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def estimate(self, population_units: Optional[float] = None) -> Estimate:
        n = self.n
        if n == 0 or self.x == 0:
            return Estimate(0.0, 0.0, 1.0, n, "ratio")
        r = self.y / self.x
        fpc = _fpc(n, population_units)
        if n < 2 or fpc == 0.0:
            return Estimate(r, r, r, n, "exact" if fpc == 0.0 else "ratio")
        # The residuals y - r x sum to zero: their variance from the sums of squares.
        residual_var = (self.yy - 2 * r * self.xy + r * r * self.xx) / (n - 1)
        var = fpc * residual_var / (n * (self.x / n) ** 2)
        if var <= 1e-15 * r * r or not 0.0 < r < 1.0:  # no spread: as if documents were drawn one by one
            return _wilson_at(r, self.x, n, "ratio")
        # Wilson's interval at the effective sample size r(1-r)/var (the design effect of the
        # units): near 0 or 1 the normal interval of a ratio undercovers, Wilson's does not.
        return _wilson_at(r, r * (1.0 - r) / var, n, "ratio")


def _wilson_at(rate: float, n_eff: float, n: int, method: str) -> Estimate:
    """Wilson's score interval with continuity correction (Newcombe 1998, method 4) for a rate
    measured on the equivalent of n_eff independent draws: at the few events a sample of a
    small rate holds, the plain score interval covers a little under 95%, this one at least."""
    p = min(max(rate, 0.0), 1.0)
    z, z2 = Z95, Z95 * Z95
    denominator = 2 * (n_eff + z2)
    low = 0.0
    if p > 0.0:
        root = z2 - 2 - 1 / n_eff + 4 * p * (n_eff * (1 - p) + 1)
        low = max(0.0, (2 * n_eff * p + z2 - 1 - z * math.sqrt(max(root, 0.0))) / denominator)
    high = 1.0
    if p < 1.0:
        root = z2 + 2 - 1 / n_eff + 4 * p * (n_eff * (1 - p) - 1)
        high = min(1.0, (2 * n_eff * p + z2 + 1 + z * math.sqrt(max(root, 0.0))) / denominator)
    return Estimate(rate, min(low, p), max(high, p), n, method)
