"""PDD102: evaluation documents that are also in the training data (exact or a shared passage)."""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from ..rule import Finding
from .hashing import content_hash, normalise, shingle_hashes
from .hashsample import PathTable
from .model import Document
from .stats import Estimate, exact, wilson

REFERENCES = [
    "https://arxiv.org/abs/2005.14165",  # Brown et al. 2020 (GPT-3), 13-gram contamination analysis
    "https://arxiv.org/abs/2311.04850",  # Yang et al. 2023, Rethinking benchmark and contamination
]
NONE, PASSAGE, EXACT = 0, 1, 2


class TrainEvalOverlap:
    """Evaluation documents that also appear in the training data.

    ## What it does
    Holds the evaluation documents (`--eval`, kept whole: they are small) and looks in every
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

    def __init__(self, eval_docs: Iterable[Document], *, ngram: int = 13) -> None:
        self.ngram = ngram
        self.paths = PathTable()
        texts, self.eval_path, self.eval_line = [], [], []
        for doc in eval_docs:
            text = normalise(doc.text)
            if text:
                texts.append(text)
                self.eval_path.append(self.paths.id(doc.path))
                self.eval_line.append(doc.line)
        n = len(texts)
        self.eval_hash = np.array([content_hash(t) for t in texts], np.uint64)
        grams = [shingle_hashes(t, ngram) for t in texts]
        owners = np.repeat(np.arange(n), [g.size for g in grams])
        flat = np.concatenate(grams) if grams else np.empty(0, np.uint64)
        order = np.argsort(flat, kind="stable")
        self.gram_hash, self.gram_owner = flat[order], owners[order]
        self.kind = np.zeros(n, np.int8)  # NONE, PASSAGE or EXACT: the strongest match found
        self.found_path = np.full(n, -1, np.int32)  # where it was first found in training
        self.found_line = np.zeros(n, np.int64)
        self.train_docs = 0
        self.train_hits = 0  # training documents that contain evaluation text

    # -- the Accumulator protocol ------------------------------------------------
    def add(self, doc: Document) -> None:
        if doc.split != "train":
            return
        self.train_docs += 1
        text = normalise(doc.text)
        if not text or not self.kind.size:
            return
        kinds = {}
        for i in np.flatnonzero(self.eval_hash == np.uint64(content_hash(text))):
            kinds[int(i)] = EXACT
        matched = self._matching_owners(shingle_hashes(text, self.ngram))
        for i in matched:
            kinds.setdefault(int(i), PASSAGE)
        if not kinds:
            return
        self.train_hits += 1
        path = self.paths.id(doc.path)
        for i, kind in kinds.items():
            self.kind[i] = max(self.kind[i], kind)
            if self.found_path[i] < 0:
                self.found_path[i], self.found_line[i] = path, doc.line

    def _matching_owners(self, grams: np.ndarray) -> np.ndarray:
        """The evaluation documents that hold any of these n-gram hashes."""
        left = np.searchsorted(self.gram_hash, grams, side="left")
        right = np.searchsorted(self.gram_hash, grams, side="right")
        hit = right > left
        if not hit.any():
            return np.empty(0, np.int64)
        return np.unique(np.concatenate([self.gram_owner[a:b] for a, b in zip(left[hit], right[hit])]))

    def merge(self, other: "TrainEvalOverlap") -> None:
        path_map = self.paths.absorb(other.paths)
        self.train_docs += other.train_docs
        self.train_hits += other.train_hits
        self.kind = np.maximum(self.kind, other.kind)
        take = (self.found_path < 0) & (other.found_path >= 0)
        self.found_path[take] = path_map[other.found_path[take]]
        self.found_line[take] = other.found_line[take]

    def findings(self) -> list[Finding]:
        found = np.flatnonzero(self.kind > NONE)
        if not found.size:
            return []
        first = int(found[0])
        exact_count = int(np.count_nonzero(self.kind == EXACT))
        where = f"{self.paths[self.found_path[first]]}:{self.found_line[first]}"
        what = "the same text" if self.kind[first] == EXACT else f"a shared {self.ngram}-word passage"
        message = (f"{found.size:,} of {self.kind.size:,} evaluation documents ({self.eval_rate()}) are in the "
                   f"training data ({exact_count:,} as exact copies, {found.size - exact_count:,} by a shared "
                   f"{self.ngram}-word passage); e.g. {self.paths[self.eval_path[first]]}:{self.eval_line[first]} "
                   f"is in {where} ({what})")
        return [Finding(self.code, self.slug, self.severity, message, file=self.paths[self.found_path[first]],
                        line=int(self.found_line[first]),
                        hint="remove from training every document that shares a 13-word passage with the eval set",
                        references=list(REFERENCES))]

    # -- measurements --------------------------------------------------------------
    def eval_rate(self) -> Estimate:
        """Share of evaluation documents found in the training documents searched."""
        return exact(int(np.count_nonzero(self.kind)), int(self.kind.size))

    def train_rate(self, population: Optional[float] = None) -> Estimate:
        """Share of training documents that contain evaluation text (Wilson when sampled)."""
        if population is None:
            return exact(self.train_hits, self.train_docs)
        return wilson(self.train_hits, self.train_docs, population)

    def measurements(self) -> dict[str, Estimate]:
        return {"eval_in_train": self.eval_rate(), "train_with_eval_text": self.train_rate()}
