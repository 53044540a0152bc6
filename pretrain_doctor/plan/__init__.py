"""The TrainingPlan model, its builder and derived quantities."""

from .builder import PlanBuilder
from .derive import Derived, DerivedValue
from .model import ConfigNote, Source, TrainingPlan

__all__ = ["ConfigNote", "Derived", "DerivedValue", "PlanBuilder", "Source", "TrainingPlan"]
