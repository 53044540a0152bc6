"""The two types every data check shares: a document, and the accumulator protocol.

An accumulator is one check's streaming state. It must be picklable (shards run in other
processes) and `merge` must make the result independent of how the corpus was split:
adding documents A then B to one accumulator gives the same findings as adding A to one,
B to another and merging them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional, Protocol, TypeVar

from ..rule import Finding

Self = TypeVar("Self", bound="Accumulator")


class TokenCounts(NamedTuple):
    """What the tokenizer made of one document (set by the scan when `--tokenizer` is given)."""

    total: int  # tokens, the special tokens the tokenizer adds included (what training sees)
    unknown: int = 0  # the unk token
    byte_fallback: int = 0  # SentencePiece-style byte tokens `<0x..>` for characters outside the vocabulary


@dataclass(frozen=True)
class Document:
    """One document of a corpus, with where it came from (for findings and error messages)."""

    text: str
    path: str
    line: int  # 1-based line where the document starts in its file (a row number for parquet)
    source: Optional[str] = None  # the value of --source-field, when documents carry one
    split: str = "train"  # "train" for the corpus, "eval" for documents given with --eval
    tokens: Optional[TokenCounts] = None  # None when no tokenizer was given
    # `--sample` reached this document by seeking: its byte offset in the file, and `line` is 0
    # (unknown) until a finding needs it (check.resolve_place counts newlines when that is cheap).
    offset: int = -1


class Accumulator(Protocol):
    """One data check over a stream of documents: add, merge shards, then report findings."""

    def add(self, doc: Document) -> None:
        """Take one document into the summary (constant memory per document, or bounded)."""

    def merge(self: Self, other: Self) -> None:
        """Fold another shard's summary of the same check into this one."""

    def findings(self) -> list[Finding]:
        """The findings (PDD codes) this summary supports, with their measured rates."""
