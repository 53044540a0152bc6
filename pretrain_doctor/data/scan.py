"""One pass over corpus files: read documents, count their tokens, feed every data check.

`scan_files` is the map step: it returns a ScanResult holding the checks' accumulators and
the counts of what was read; `ScanResult.merge` is the reduce step, so shards scanned in
other processes (or on other machines) combine into the result of one pass.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

from .check import DataCheck, DataOptions
from .model import Document
from .readers import CorpusReader, DataInputError, Problem, ReadOptions
from .tokens import DocumentTokenizer

BATCH = 256  # documents tokenized together at most (and between two progress updates)
# Characters tokenized together at most: a batch's encodings (ids, offsets, token strings:
# about 100 bytes a token) stay a few tens of MB whatever the documents' lengths, and the
# peak memory does not grow with the chance of meeting a batch of long documents.
BATCH_CHARS = 1 << 18
Progress = Callable[[int, int], None]  # (documents read, bytes of the files read) so far


@dataclass
class FileScan:
    """What one file gave: its format, which split, how many documents."""

    path: str
    format: str
    split: str
    documents: int = 0
    size: int = 0


@dataclass
class ScanResult:
    """The accumulators of the checks after a pass, and the counts of what was read."""

    checks: dict[str, DataCheck] = field(default_factory=dict)  # code -> accumulator
    files: list[FileScan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # records skipped, files not read to the end
    documents: int = 0  # training documents
    eval_documents: int = 0
    bytes: int = 0  # bytes of the files as on disk
    tokens: int = 0  # tokens of training documents (0 without a tokenizer)
    seconds: float = 0.0
    sample: Optional[dict] = None  # `--sample`: the sample's size and its rates' 95% intervals

    def merge(self, other: "ScanResult") -> None:
        """Fold another shard's result into this one (the checks merge their accumulators)."""
        for code, check in other.checks.items():
            if code in self.checks:
                self.checks[code].merge(check)
            else:
                self.checks[code] = check
        self.files += other.files
        self.problems += other.problems
        self.documents += other.documents
        self.eval_documents += other.eval_documents
        self.bytes += other.bytes
        self.tokens += other.tokens
        self.seconds = max(self.seconds, other.seconds)


def new_checks(classes: Iterable[type[DataCheck]], options: DataOptions) -> dict[str, DataCheck]:
    return {cls.code: cls(options) for cls in classes}


def scan_files(files: Sequence[tuple[Path, str]], read: ReadOptions, options: DataOptions,
               classes: Iterable[type[DataCheck]], progress: Optional[Progress] = None,
               start: Optional[dict[str, DataCheck]] = None) -> ScanResult:
    """Scan `files` ((path, split) pairs, split "train" or "eval") with the checks of `classes`,
    or with copies of the checks in `start` (a shard starting from the eval files' scan)."""
    started = time.perf_counter()
    result = ScanResult(checks=copy.deepcopy(start) if start is not None else new_checks(classes, options))
    tokenizer = DocumentTokenizer(options.tokenizer) if options.tokenizer is not None else None
    done_bytes = 0
    for path, split in files:
        reader = CorpusReader(path, ReadOptions(**{**read.__dict__, "split": split}))
        scanned = FileScan(str(path), reader.format, split, size=reader.size)
        result.files.append(scanned)
        try:
            for batch in _batches(reader):
                if tokenizer is not None:
                    batch = tokenizer.measure(batch)
                _feed(result, batch)
                scanned.documents += len(batch)
                if progress is not None:
                    progress(result.documents + result.eval_documents, done_bytes + reader.position())
        except DataInputError as exc:
            result.problems.append(Problem(exc.file or str(path), exc.line, exc.message))
        result.problems += reader.all_problems()
        done_bytes += reader.size
    result.bytes = done_bytes
    result.seconds = time.perf_counter() - started
    return result


def _batches(documents: Iterable[Document]) -> Iterator[list[Document]]:
    """Runs of documents up to BATCH of them or BATCH_CHARS characters (a longer document alone)."""
    batch: list[Document] = []
    size = 0
    for doc in documents:
        if batch and (len(batch) == BATCH or size + len(doc.text) > BATCH_CHARS):
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += len(doc.text)
    if batch:
        yield batch


def _feed(result: ScanResult, batch: list[Document]) -> None:
    adders = [check.add for check in result.checks.values()]
    for doc in batch:
        if doc.split == "train":
            result.documents += 1
            if doc.tokens is not None:
                result.tokens += doc.tokens.total
        else:
            result.eval_documents += 1
        for add in adders:
            add(doc)
