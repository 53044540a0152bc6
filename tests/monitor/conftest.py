"""Monitor tests run tiny models: one torch thread each avoids oversubscribing the cores
when pytest-xdist runs two workers (OpenMP threads spin while they wait)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
