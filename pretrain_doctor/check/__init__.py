"""`pretrain-doctor check`: load configs, build plans, run rules, collect findings."""

from .engine import (check_paths, iter_config_files, launch_beside, load_merged_plan, load_plan, load_plan_detected,
                     sourced_notices, world_size_notice)
from .report import CheckReport, FileResult, InputError

__all__ = ["CheckReport", "FileResult", "InputError", "check_paths", "iter_config_files", "launch_beside",
           "load_merged_plan", "load_plan", "load_plan_detected", "sourced_notices", "world_size_notice"]
