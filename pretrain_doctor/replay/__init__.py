"""`pretrain-doctor replay`: logged runs read back, judged by the runtime detectors (no torch here)."""

from .run import ReplayRun

__all__ = ["ReplayRun"]
