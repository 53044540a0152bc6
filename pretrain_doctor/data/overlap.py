"""PDD102: evaluation documents that are also in the training data (exact or a shared passage)."""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from ..checkmeta import reference_urls
from ..rule import Finding
from .check import DataCheck, DataOptions, resolve_place
from .hashing import content_hash, normalise, shingle_hashes
from .hashsample import PathTable
from .model import Document
from .stats import Estimate, exact, wilson

NONE, PASSAGE, EXACT = 0, 1, 2


class TrainEvalOverlap(DataCheck):
    """Evaluation documents appear in the training data, whole or as a shared 13-word passage.

    ## What it does
    Holds the evaluation documents (`--eval`, kept whole: they are small; they are read before
    the training files) and looks in every
    training document for them: the same normalised text (exact), or any shared passage of 13
    consecutive words (the n-gram test of the GPT-3 contamination study, which also catches
    near copies: two texts at MinHash similarity 0.8 share many 13-word runs). Reports how many
    evaluation documents were found, each with the first training document that contains it.

    What is exact and what is estimated: over a full pass, the count of contaminated evaluation
    documents is exact (a 64-bit hash collision aside). With `--sample`, only the sampled training
    documents are searched: the share of training documents that contain evaluation text comes
    with a 95% Wilson interval, and the evaluation count is a lower bound.

    ## Why is this bad?
    A model that trained on its evaluation set scores what it memorised, not what it learned:
    the validation loss stops warning about overfitting and benchmark numbers are inflated.

    ## Example
    ```
    pretrain-doctor data train.jsonl --eval eval.jsonl
    eval.jsonl:3 is in train.jsonl:10452 (the same text)
    ```

    ## Use instead
    Split before deduplicating and remove from the training data every document that shares a
    13-word passage with an evaluation document (or draw the evaluation split after dedup).

    ## References
    - Brown et al. 2020, Language Models are Few-Shot Learners (appendix C, 13-gram overlap): https://arxiv.org/abs/2005.14165
    - Yang et al. 2023, Rethinking Benchmark and Contamination for Language Models: https://arxiv.org/abs/2311.04850
    """

    code = "PDD102"
    slug = "train-eval-overlap"
    severity = "error"

    def __init__(self, options: Optional[DataOptions] = None, eval_docs: Iterable[Document] = (), *,
                 ngram: int = 13) -> None:
        super().__init__(options)
        self.ngram = ngram
        self.paths = PathTable()
        self.eval_path: list[int] = []
        self.eval_line: list[int] = []
        self._hashes: list[int] = []
        self._grams: list[np.ndarray] = []
        self._indexed = 0  # how many eval documents the look-up arrays hold
        self.eval_hash = np.empty(0, np.uint64)
        self.gram_hash = np.empty(0, np.uint64)
        self.gram_owner = np.empty(0, np.int64)
        self.kind = np.zeros(0, np.int8)  # per eval document: NONE, PASSAGE or EXACT, the strongest match
        self.found_path = np.zeros(0, np.int32)  # where it was first found in training (-1: not found)
        self.found_line = np.zeros(0, np.int64)
        self.train_docs = 0
        self.train_hits = 0  # training documents that contain evaluation text
        for doc in eval_docs:
            self.add(doc)

    # -- the Accumulator protocol ------------------------------------------------
    def add(self, doc: Document) -> None:
        if doc.split == "eval":
            self._add_eval(doc)
            return
        self.train_docs += 1
        text = normalise(doc.text)
        if not text or not self._hashes:
            return
        if self._indexed < len(self._hashes):
            self._index()
        kinds = {}
        for i in np.flatnonzero(self.eval_hash == np.uint64(content_hash(text))):
            kinds[int(i)] = EXACT
        for i in self._matching_owners(shingle_hashes(text, self.ngram)):
            kinds.setdefault(int(i), PASSAGE)
        if not kinds:
            return
        self.train_hits += 1
        path = self.paths.id(doc.path)
        for i, kind in kinds.items():
            self.kind[i] = max(self.kind[i], kind)
            if self.found_path[i] < 0:
                # a seeked document (--sample) has no line yet: its byte offset, stored as -(offset + 1)
                self.found_path[i], self.found_line[i] = path, doc.line if doc.offset < 0 else -(doc.offset + 1)

    def _add_eval(self, doc: Document) -> None:
        text = normalise(doc.text)
        if text:
            self._hashes.append(content_hash(text))
            self._grams.append(shingle_hashes(text, self.ngram))
            self.eval_path.append(self.paths.id(doc.path))
            self.eval_line.append(doc.line)

    def _index(self) -> None:
        """The sorted look-up arrays over every eval document taken so far."""
        n = len(self._hashes)
        self.eval_hash = np.array(self._hashes, np.uint64)
        owners = np.repeat(np.arange(n), [g.size for g in self._grams])
        flat = np.concatenate(self._grams) if self._grams else np.empty(0, np.uint64)
        order = np.argsort(flat, kind="stable")
        self.gram_hash, self.gram_owner = flat[order], owners[order]
        grown = n - self.kind.size
        self.kind = np.concatenate((self.kind, np.zeros(grown, np.int8)))
        self.found_path = np.concatenate((self.found_path, np.full(grown, -1, np.int32)))
        self.found_line = np.concatenate((self.found_line, np.zeros(grown, np.int64)))
        self._indexed = n

    def _matching_owners(self, grams: np.ndarray) -> np.ndarray:
        """The evaluation documents that hold any of these n-gram hashes."""
        left = np.searchsorted(self.gram_hash, grams, side="left")
        right = np.searchsorted(self.gram_hash, grams, side="right")
        hit = right > left
        if not hit.any():
            return np.empty(0, np.int64)
        return np.unique(np.concatenate([self.gram_owner[a:b] for a, b in zip(left[hit], right[hit])]))

    def merge(self, other: "TrainEvalOverlap") -> None:
        """Shards searched for the same eval set (each started from a copy of it) OR their hits."""
        self._index()
        other._index()
        path_map = self.paths.absorb(other.paths)
        self.train_docs += other.train_docs
        self.train_hits += other.train_hits
        if not other._hashes:
            return
        if not self._hashes:  # a shard that read the eval files while this one read none
            self._hashes, self._grams = list(other._hashes), list(other._grams)
            self.eval_path = [int(path_map[p]) for p in other.eval_path]
            self.eval_line = list(other.eval_line)
            self._index()
        elif not np.array_equal(self.eval_hash, other.eval_hash):
            raise ValueError("TrainEvalOverlap.merge: the shards hold different eval documents")
        self.kind = np.maximum(self.kind, other.kind)
        take = (self.found_path < 0) & (other.found_path >= 0)
        self.found_path[take] = path_map[other.found_path[take]]
        self.found_line[take] = other.found_line[take]

    def findings(self) -> list[Finding]:
        self._index()
        found = np.flatnonzero(self.kind > NONE)
        if not found.size:
            return []
        first = int(found[0])
        exact_count = int(np.count_nonzero(self.kind == EXACT))
        train_path = self.paths[self.found_path[first]]
        stored = int(self.found_line[first])
        line, where = resolve_place(train_path, max(stored, 0), -stored - 1)
        what = "the same text" if self.kind[first] == EXACT else f"a shared {self.ngram}-word passage"
        training = "the training data"
        if self.sampled:
            training = (f"the {self.train_docs:,} sampled training documents (a lower bound for the whole corpus; "
                        f"an estimated {self.train_rate(self.population)} of training documents contain eval text)")
        message = (f"{found.size:,} of {self.kind.size:,} evaluation documents ({self.eval_rate()}) are in "
                   f"{training} ({exact_count:,} as exact copies, {found.size - exact_count:,} by a shared "
                   f"{self.ngram}-word passage); e.g. {self.paths[self.eval_path[first]]}:{self.eval_line[first]} "
                   f"is in {where} ({what})")
        return [Finding(self.code, self.slug, self.severity, message, file=train_path, line=line,
                        hint="remove from training every document that shares a 13-word passage with the eval set",
                        references=reference_urls(self.__doc__))]

    # -- measurements --------------------------------------------------------------
    def eval_rate(self) -> Estimate:
        """Share of evaluation documents found in the training documents searched."""
        self._index()
        return exact(int(np.count_nonzero(self.kind)), int(self.kind.size))

    def train_rate(self, population: Optional[float] = None) -> Estimate:
        """Share of training documents that contain evaluation text (Wilson when sampled)."""
        if population is None and not self.sampled:
            return exact(self.train_hits, self.train_docs)
        return wilson(self.train_hits, self.train_docs, population)

    def measurements(self) -> dict[str, Estimate]:
        return {"eval_in_train": self.eval_rate(),
                "train_with_eval_text": self.train_rate(self.population if self.sampled else None)}

    def stats(self) -> dict:
        return {"eval_documents": len(self._hashes), "training_documents_searched": self.train_docs,
                **{name: rate.as_dict() for name, rate in self.measurements().items()}}

    def __getstate__(self) -> dict:
        self._index()
        return dict(self.__dict__)
