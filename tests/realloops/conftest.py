"""The real loops run tiny models, like the monitor's tests: one torch thread each."""

from tests.monitor.conftest import one_torch_thread  # noqa: F401  (an autouse fixture)
