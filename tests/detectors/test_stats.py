"""The streaming statistics and their vectorised twins agree bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from pretrain_doctor.detectors.stats import RollingBaseline, median_and_mad, median_of, rolling_baseline, run_lengths


def test_median_of_is_numpys_median_exactly():
    rng = np.random.default_rng(1)
    for _ in range(2000):
        x = rng.standard_normal(rng.integers(1, 80)) * 10 ** rng.uniform(-8, 8)
        assert median_of(x.tolist()) == np.median(x)


@pytest.mark.parametrize("n,window,min_history,refresh", [(500, 64, 5, 8), (300, 20, 3, 1), (50, 64, 3, 4),
                                                          (1000, 31, 31, 7), (4, 8, 3, 2)])
def test_rolling_baseline_matches_streaming(n, window, min_history, refresh):
    x = np.random.default_rng(n).standard_normal(n) + 3
    median, mad = rolling_baseline(x, window, min_history, refresh)
    streaming = RollingBaseline(window, min_history, refresh)
    for i in range(n):
        if streaming.ready:
            assert (streaming.median, streaming.mad) == (median[i], mad[i])
        else:
            assert np.isnan(median[i])
        streaming.push(x[i])


def test_run_lengths():
    assert run_lengths(np.array([1, 1, 0, 1, 1, 1, 0], dtype=bool)).tolist() == [1, 2, 0, 1, 2, 3, 0]


def test_median_and_mad_is_the_median_of_the_deviations_exactly():
    """One sort and binary searches (the two middle deviations of an even count from one
    search, unless the median is 0) give median_of(|v - median|) bit for bit."""
    rng = np.random.default_rng(7)
    for trial in range(4000):
        n = int(rng.choice([1, 2, 3, 4, 9, 10, 63, 64]))
        if trial % 3 == 0:  # ties, zeros and -0.0
            values = rng.choice([0.0, -0.0, 0.25, -0.5, 1.0, 2.0], n).tolist()
        else:
            values = (rng.standard_normal(n) * 10 ** rng.uniform(-6, 6)).tolist()
        median, mad = median_and_mad(values)
        assert median == median_of(values)
        expected = median_of([abs(v - median) for v in values])
        assert mad == expected
        if median != 0:
            assert repr(mad) == repr(expected)
