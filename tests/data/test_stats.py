"""The intervals behind every sampled rate."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pretrain_doctor.data.stats import exact, ratio, wilson


def test_wilson_covers_the_true_share_in_95_of_100_seeded_trials():
    covered = 0
    for trial in range(100):
        rng = random.Random(trial)
        hits = sum(rng.random() < 0.03 for _ in range(400))
        covered += wilson(hits, 400, population=1e9).contains(0.03)
    assert covered >= 95


def test_wilson_with_the_whole_population_is_exact():
    rate = wilson(5, 100, population=100)
    assert rate.exact and rate.low == rate.high == 0.05


def test_wilson_at_zero_events_still_bounds_the_rate_from_above():
    rate = wilson(0, 300)
    assert rate.value == 0.0 and rate.low == 0.0 and 0.005 < rate.high < 0.02


def test_ratio_of_units_matches_the_share_of_documents():
    counts = np.array([1, 1, 2, 1, 3, 1, 1, 1])
    rate = ratio(counts - 1, counts)
    assert rate.value == pytest.approx(3 / 11) and rate.low < rate.value < rate.high


def test_exact_prints_without_an_interval():
    assert str(exact(3, 200)) == "1.50%"
    assert "95% interval" in str(wilson(3, 200))
