"""The base class of every data check (PDD codes): metadata, documentation, findings.

A data check is an Accumulator (model.py) that is also a documented check, like a rule:
a class with a code, a slug, a default severity and a docstring with the sections
`## What it does`, `## Why is this bad?` and `## Example`, validated when the class is
defined. `pretrain-doctor rules` lists it and `explain PDD103` prints its page.

Each instance is built from the scan's DataOptions and holds only counts and a bounded
summary, so it pickles small and `merge` folds a shard's instance into another::

    class EmptyDocuments(DataCheck):
        \"\"\"Empty documents.

        ## What it does
        ...
        \"\"\"

        code = "PDD106"
        slug = "empty-or-tiny-documents"
        severity = "info"

        def add(self, doc): ...
        def merge(self, other): ...
        def findings(self): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Optional

from ..checkmeta import Documented, reference_urls, validate_check_class
from ..rule import Finding
from .model import Document

DATA_CODE_PATTERN = r"PDD[0-9]{3}"
DATA_SECTIONS = ("What it does", "Why is this bad?", "Example")
PADDING_MODES = ("longest", "max_length")
# What a check may need that a scan may lack; the scan says which checks did not run, and why.
NEEDS = {
    "tokenizer": "--tokenizer DIR (a tokenizer.json)",
    "seq_len": "--seq-len N",
    "padding": "--padding longest|max_length",
    "unpacked": "no --packing (packed sequences are neither truncated per document nor padded)",
    "source_field": "--source-field F (the field naming each document's source)",
}


@dataclass(frozen=True)
class DataOptions:
    """What the data checks measure against: the training setup the corpus is meant for."""

    seq_len: Optional[int] = None  # tokens per training sequence
    padding: Optional[str] = None  # longest | max_length; None: not padded (packing, or unknown)
    batch_size: int = 8  # sequences per micro-batch, for padding to the longest of a batch
    packing: bool = False  # documents are concatenated into full sequences (nothing truncated or padded)
    tokenizer: Optional[Path] = None
    source_field: Optional[str] = None  # documents carry their source in this field
    max_source_share: float = 0.5  # PDD107: the largest source's share of tokens that is reported
    min_words: int = 5  # PDD106: a document with fewer words is tiny

    def has(self, need: str) -> bool:
        """Whether the options give what a check `needs` (a key of NEEDS)."""
        if need == "unpacked":
            return not self.packing
        return getattr(self, need) is not None


# A seeked document's line is counted (newlines before its byte offset) only when the offset
# is within this many bytes of the file's start; deeper, the finding names the byte offset.
COUNT_LINES_UP_TO = 64 * 1024 * 1024


@dataclass(frozen=True, order=True)
class Place:
    """Where a document starts: the first example a finding points at."""

    path: str
    line: int
    offset: int = -1  # a seeked document's byte offset (line 0: not counted yet)

    @classmethod
    def of(cls, doc: Document) -> "Place":
        return cls(doc.path, doc.line, doc.offset)


def resolve_place(path: str, line: int, offset: int) -> tuple[Optional[int], str]:
    """(line, where) of a document: `path:line`; a seeked one's line is counted when its offset
    is under COUNT_LINES_UP_TO, else it has no line and is `path at byte offset N`."""
    if offset < 0 or line > 0:
        return line, f"{path}:{line}"
    if offset <= COUNT_LINES_UP_TO:
        try:
            with open(path, "rb") as handle:
                line = handle.read(offset).count(b"\n") + 1
            return line, f"{path}:{line}"
        except OSError:
            pass
    return None, f"{path} at byte offset {offset:,}"


def first_place(a: Optional[Place], b: Optional[Place]) -> Optional[Place]:
    """The earlier of two example places (by path, then line): the same whatever the sharding."""
    if a is None or b is None:
        return a or b
    return min(a, b)


def percent(hits: int, total: int, noun: str = "") -> str:
    """`125 of 1,000 documents (12.5%)`: a measured rate with what it was measured on."""
    share = hits / total if total else 0.0
    return f"{hits:,} of {total:,}{' ' + noun if noun else ''} ({100 * share:.{_digits(share)}f}%)"


def _digits(share: float) -> int:
    return 1 if share == 0 or share >= 0.01 else 3


class DataCheck(Documented):
    """Base class of every data check. Subclasses set code, slug, severity, a docstring,
    `needs` (keys of NEEDS), and implement add / merge / findings."""

    code: ClassVar[str]
    slug: ClassVar[str]
    severity: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    origin: ClassVar[str] = "built-in (data)"
    needs: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, abstract: bool = False, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not abstract:
            validate_check_class(cls, DATA_CODE_PATTERN, DATA_SECTIONS)
            unknown = set(cls.needs) - set(NEEDS)
            if unknown:
                raise TypeError(f"{cls.__name__} ({cls.code}): unknown needs {sorted(unknown)}; known: {sorted(NEEDS)}")

    def __init__(self, options: Optional[DataOptions] = None) -> None:
        self.options = options or DataOptions()
        # `--sample`: the training documents this check saw are a uniform random sample of about
        # `population` (None: unknown, no finite-population correction); findings say so.
        self.sampled = False
        self.population: Optional[float] = None

    def share(self, hits: int, total: int, noun: str = "") -> str:
        """A measured share for a message: `125 of 1,000 documents (12.5%)`, or when sampled the
        estimate with its 95% interval and what it was estimated from."""
        if not self.sampled:
            return percent(hits, total, noun)
        from .stats import wilson

        return f"an estimated {wilson(hits, total, self.population)} of {noun or 'them'} ({hits:,} of {total:,} sampled)"

    def estimated(self, estimate, exact_text: str) -> str:
        """`exact_text` for a ratio measured on every document, or when sampled the estimate
        with its 95% interval."""
        return f"an estimated {estimate}" if self.sampled else exact_text

    def estimates(self) -> dict:
        """The ratios with their intervals (stats.Estimate) behind the findings, for stats.sample."""
        return {}

    # -- what it needs to run ---------------------------------------------------------
    @classmethod
    def missing(cls, options: DataOptions) -> list[str]:
        """What `options` lack for this check to run (NEEDS descriptions); empty: it runs."""
        return [NEEDS[need] for need in cls.needs if not options.has(need)]

    # -- the accumulator ---------------------------------------------------------------
    def add(self, doc: Document) -> None:
        raise NotImplementedError

    def merge(self, other: "DataCheck") -> None:
        raise NotImplementedError

    def findings(self) -> list[Finding]:
        raise NotImplementedError

    def stats(self) -> dict:
        """The measured numbers behind the findings (JSON-ready), reported even when nothing fires."""
        return {}

    def finding(self, message: str, at: Optional[Place], *, hint: Optional[str] = None) -> Finding:
        """A finding at the first example document (or about the corpus as a whole when `at` is None)."""
        line, where = resolve_place(at.path, at.line, at.offset) if at else (None, "")
        if at and line is None:
            message += f" (example: {where})"
        return Finding(self.code, self.slug, self.severity, message, file=at.path if at else None,
                       line=line, hint=hint, references=reference_urls(self.__doc__))
