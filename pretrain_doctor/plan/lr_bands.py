"""Published AdamW peak learning rates by model size, scaled to the batch (PD101 judges an lr by them; PD104
weighs a missing warmup by where the lr stands)."""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

from .numbers import short_float

# Peak lr of published AdamW pretraining runs at 0.5-4M tokens per step:
# (smallest params, largest params, lowest lr, highest lr).
PUBLISHED_BANDS: tuple[tuple[float, float, float, float], ...] = (
    (14e6, 70e6, 6e-4, 1e-3),  # Pythia 14M-70M
    (125e6, 160e6, 6e-4, 6e-4),  # GPT-3 Small, Pythia 160M
    (350e6, 410e6, 3e-4, 3e-4),  # GPT-3 Medium, Pythia 410M
    (760e6, 1.4e9, 2e-4, 4e-4),  # GPT-3 XL, OLMo-1B, Pythia 1B/1.4B
    (2.7e9, 3e9, 1.6e-4, 3e-4),  # GPT-3 2.7B, Pythia 2.8B
    (6.7e9, 8e9, 1.2e-4, 3e-4),  # GPT-3 6.7B, LLaMA-7B, OLMo-7B, Llama 3 8B
    (12e9, 13e9, 1e-4, 3e-4),  # GPT-3 13B, LLaMA-13B, Pythia 12B
    (20e9, 35e9, 1e-4, 1.5e-4),  # GPT-NeoX-20B, LLaMA-33B
    (65e9, 70e9, 1e-4, 1.5e-4),  # LLaMA-65B, Chinchilla, Llama 2 70B
    (175e9, 405e9, 6e-5, 8e-5),  # GPT-3 175B, Llama 3 405B
)
BAND_TOKENS_LOW = 0.5e6  # the bands were measured at 0.5-4M tokens per optimizer step
TABLE_MARGIN = 1.2  # size estimates are approximate: the end rows stretch this far past the table


class LrBand(NamedTuple):
    """A range of reasonable peak learning rates."""

    low: float
    high: float

    def scaled(self, factor: float) -> "LrBand":
        return LrBand(self.low * factor, self.high * factor)

    def label(self) -> str:
        if self.high / self.low < 1.05:
            return short_float(self.low)
        return f"{short_float(self.low)}–{short_float(self.high)}"

    @property
    def middle(self) -> float:
        return math.sqrt(self.low * self.high)

    def deviation(self, lr: float) -> float:
        """lr / high above the band, lr / low below it, 1 inside."""
        if lr > self.high:
            return lr / self.high
        if lr < self.low:
            return lr / self.low
        return 1.0


def _log_lerp(a: float, b: float, t: float) -> float:
    return math.exp(math.log(a) + t * (math.log(b) - math.log(a)))


def published_band(parameters: float) -> Optional[LrBand]:
    """The published AdamW band for a model size; log-interpolated between table rows.

    None outside the table (below ~12M or above ~490B parameters): no published band to compare with.
    """
    first, last = PUBLISHED_BANDS[0], PUBLISHED_BANDS[-1]
    if parameters < first[0] / TABLE_MARGIN or parameters > last[1] * TABLE_MARGIN:
        return None
    if parameters <= first[0]:
        return LrBand(first[2], first[3])
    for lower, upper in zip(PUBLISHED_BANDS, PUBLISHED_BANDS[1:]):
        if lower[0] <= parameters <= lower[1]:
            return LrBand(lower[2], lower[3])
        if lower[1] < parameters < upper[0]:
            t = (math.log(parameters) - math.log(lower[1])) / (math.log(upper[0]) - math.log(lower[1]))
            return LrBand(_log_lerp(lower[2], upper[2], t), _log_lerp(lower[3], upper[3], t))
    return LrBand(last[2], last[3])


def batch_scale(tokens_per_step: float) -> float:
    """Square-root scaling of the band to the plan's batch (Adam; Malladi et al. 2022).

    Below 0.5M tokens/step the reference lr shrinks with √(tokens/0.5M); inside the
    band's range it is unchanged; above ~4M tokens/step the batch is past the critical
    batch size (McCandlish et al. 2018), so the lr is not scaled up further.
    """
    return math.sqrt(min(tokens_per_step, BAND_TOKENS_LOW) / BAND_TOKENS_LOW)


def reference_band(parameters: float, tokens_per_step: float) -> Optional[LrBand]:
    """The published band for `parameters`, scaled to `tokens_per_step`."""
    band = published_band(parameters)
    return None if band is None else band.scaled(batch_scale(tokens_per_step))
