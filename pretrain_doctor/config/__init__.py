"""Config files as data with line numbers: YAML, JSON, TOML and nanoGPT Python."""

from .document import Document, Position, Suppression
from .loader import load_document

__all__ = ["Document", "Position", "Suppression", "load_document"]
