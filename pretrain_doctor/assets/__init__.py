"""Tokenizer and model files read from disk as plain JSON (never transformers, never torch).

`load_tokenizer_files` / `load_model_files` read a folder as `save_pretrained` writes it;
`plan_tokenizer(plan)` gives rules the tokenizer the enricher found for a plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .enrich import TOKENIZER_NOTES
from .model_files import ModelFiles, load_model_files
from .tokenizer_files import AddedToken, TokenizerFiles, is_tokenizer_location, load_tokenizer_files

if TYPE_CHECKING:
    from ..plan.model import TrainingPlan


def from_tokenizer_files(plan: "TrainingPlan", field: str) -> bool:
    """Whether `field` was read from the tokenizer's own files (not set by the training config)."""
    source = plan.sources.get(field)
    return source is not None and source.note in TOKENIZER_NOTES


def plan_tokenizer(plan: "TrainingPlan") -> Optional[TokenizerFiles]:
    """The tokenizer files behind `plan.tokenizer.path`, when that path is a local tokenizer."""
    path = plan.tokenizer.path
    if not path or not is_tokenizer_location(Path(path)):
        return None
    return load_tokenizer_files(path)


__all__ = ["AddedToken", "ModelFiles", "TokenizerFiles", "from_tokenizer_files", "load_model_files",
           "load_tokenizer_files", "plan_tokenizer"]
