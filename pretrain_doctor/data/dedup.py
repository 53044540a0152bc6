"""PDD101: exact and near-duplicate documents, in bounded memory and mergeable across shards."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..checkmeta import reference_urls
from ..rule import Finding
from .check import DataCheck, DataOptions
from .hashing import content_hash, mix64, normalise, shingle_hashes
from .hashsample import HashSample, PathTable
from .minhash import NUM_PERM, SignatureIndex, signature
from .model import Document
from .stats import Estimate, exact, ratio

_KEY_SALT = 0x9E3779B97F4A7C15  # the near-duplicate key is mixed apart from the shingle hash


def _share(rate: float) -> str:
    return f"{100 * rate:.2f}%" if rate < 0.1 else f"{100 * rate:.1f}%"


class DuplicateDocuments(DataCheck):
    """More than 1% of documents are exact copies of another, or more than 5% near copies.

    ## What it does
    Counts documents whose normalised text (case-folded, white space collapsed) is a copy of
    another document's (exact duplicates), and documents whose 5-word shingles have a MinHash
    Jaccard similarity of at least 0.8 with another document's (near duplicates: the same
    text with a few words changed, a different header or footer). It warns when more than 1%
    of documents are exact copies or more than 5% are near copies. Empty documents are left to
    PDD106.

    What is exact and what is estimated: every document is counted. Exact duplicates are
    counted exactly while the corpus has at most `exact_budget` (65,536) distinct texts;
    beyond that the check keeps every copy of the texts whose hash is among the smallest
    65,536 (a uniform sample of distinct texts) and reports the rate with a 95% interval
    (ratio estimator; its half-width is about 0.08 points at a 1% rate). Near duplicates are
    found with datasketch's MinHash LSH among up to `near_budget` (10,000) distinct texts, all
    of them on a smaller corpus, else those whose key (a hash of the document's smallest
    shingle hash, so near copies share it with probability equal to their Jaccard similarity)
    is smallest; a pair kept apart is weighted back in, and the rate comes with a 95% interval.
    The MinHash similarity itself has a standard error of about 0.035 at 0.8 (128 permutations).

    Under `--sample N` (seeked at random offsets, O(N) bytes read) a sampled document's copies
    elsewhere cannot be seen, so the check counts *pairs* of copies among the sampled documents
    instead and reports duplicate pairs per 100 documents with a 95% interval (Garwood's, widened
    for texts repeated many times): the duplicate share when each text repeats once, more when
    texts repeat more, so the interval's upper end bounds the share. Near copies likewise.

    ## Why is this bad?
    Repeated documents are trained on many times per epoch: the model memorises them, wastes
    compute on them, and a small share of repeated data measurably hurts a model's quality
    (Hernandez et al. 2022). Deduplicating makes language models better and less prone to
    regurgitate training text (Lee et al. 2022).

    ## Example
    ```
    {"text": "Terms of service: by using this site you agree to ..."}
    {"text": "Terms of service: by using this site you agree to ..."}
    {"text": "Terms of Service: by using this site you  agree to ..."}
    ```

    ## Use instead
    Deduplicate before tokenizing: drop exact copies by hash, then near copies with MinHash
    LSH (datasketch, text-dedup, or datatrove's minhash pipeline), keeping one of each cluster.

    ## References
    - Lee et al. 2022, Deduplicating Training Data Makes Language Models Better: https://arxiv.org/abs/2107.06499
    - Hernandez et al. 2022, Scaling Laws and Interpretability of Learning from Repeated Data: https://arxiv.org/abs/2205.10487
    - datasketch MinHash LSH: https://ekzhu.com/datasketch/lsh.html
    """

    code = "PDD101"
    slug = "duplicate-documents"
    severity = "warning"
    EXACT_LIMIT = 0.01
    NEAR_LIMIT = 0.05

    def __init__(self, options: Optional[DataOptions] = None, *, exact_budget: int = 1 << 16, near_budget: int = 10_000, similarity: float = 0.8,
                 num_perm: int = NUM_PERM, salt: int = 0) -> None:
        super().__init__(options)
        self.similarity = similarity
        self.num_perm = num_perm
        self.salt = salt
        self.empty = 0
        self.paths = PathTable()
        self.exact = HashSample(exact_budget)
        self.near = HashSample(near_budget, signature_width=num_perm)

    # -- the Accumulator protocol ------------------------------------------------
    def add(self, doc: Document) -> None:
        if doc.split != "train":
            return
        text = normalise(doc.text)
        if not text:
            self.empty += 1
            return
        chash = content_hash(text, self.salt)
        path = self.paths.id(doc.path)
        self.exact.add(chash, chash, path, doc.line)
        shingles = shingle_hashes(text)
        key = int(mix64(shingles.min(keepdims=True), self.salt ^ _KEY_SALT)[0])
        sig = None
        if self.near.wants(key) and not self.near.knows(chash):
            sig = signature(shingles, self.num_perm)
        self.near.add(key, chash, path, doc.line, sig)

    def merge(self, other: "DuplicateDocuments") -> None:
        path_map = self.paths.absorb(other.paths)
        self.empty += other.empty
        self.exact.merge(other.exact, path_map)
        self.near.merge(other.near, path_map)

    def findings(self) -> list[Finding]:
        found = []
        exact_rate = self.exact_rate()
        if exact_rate.value > self.EXACT_LIMIT:
            found.append(self._exact_finding(exact_rate))
        near_rate, example = self._near()
        if near_rate.value > self.NEAR_LIMIT:
            found.append(self._near_finding(near_rate, example))
        return found

    # -- measurements --------------------------------------------------------------
    @property
    def documents(self) -> int:
        """Non-empty training documents seen."""
        return self.exact.total

    def exact_rate(self) -> Estimate:
        """Share of documents that are a copy of another (all copies but one of each text)."""
        sample = self.exact
        sample.flush()
        if not sample.saturated:
            return exact(sample.total - sample.count.size, sample.total)
        return ratio(sample.count - 1, sample.count, population_units=sample.count.size / sample.fraction)

    def near_rate(self) -> Estimate:
        """Share of documents that are a near copy of another text (exact copies not counted again)."""
        return self._near()[0]

    def measurements(self) -> dict[str, Estimate]:
        return {"exact_duplicates": self.exact_rate(), "near_duplicates": self.near_rate()}

    def stats(self) -> dict:
        return {"documents": self.documents, "empty": self.empty,
                **{name: rate.as_dict() for name, rate in self.measurements().items()}}

    def _near(self) -> tuple[Estimate, Optional[tuple[int, int, float]]]:
        """The near-duplicate rate, and one (later row, earlier row, similarity) example.

        A text counts when a different text that sorts before it (by content hash, an order
        that does not depend on the sample) is similar enough. Sampled, a similar pair is kept
        together with probability J + (1 - J) q (same key, or both keys kept by chance), so a
        found pair is weighted by its inverse."""
        sample = self.near
        sample.flush()
        rows = sample.chash.size
        # findings() and stats() both ask: the LSH pass over up to 10,000 signatures runs once
        state = (rows, sample.total, sample.cut)
        cached = getattr(self, "_near_cache", None)
        if cached is not None and cached[0] == state:
            return cached[1]
        self._near_cache = (state, self._near_pass())
        return self._near_cache[1]

    def _near_pass(self) -> tuple[Estimate, Optional[tuple[int, int, float]]]:
        sample = self.near
        rows = sample.chash.size
        if rows == 0:
            return exact(0, sample.total), None
        index = SignatureIndex(sample.signature, self.similarity, self.num_perm)
        q = sample.fraction
        weight = np.zeros(rows)
        example = None
        for i in range(rows):
            earlier = [(j, s) for j, s in index.similar(sample.signature[i]) if sample.chash[j] < sample.chash[i]]
            if earlier:
                j, best = max(earlier, key=lambda pair: (pair[1], -pair[0]))
                weight[i] = 1.0 / (best + (1.0 - best) * q) if sample.saturated else 1.0
                if example is None:
                    example = (i, j, best)
        if not sample.saturated:
            return exact(int(np.count_nonzero(weight)), sample.total), example
        starts = np.flatnonzero(np.r_[True, sample.key[1:] != sample.key[:-1]])
        y = np.add.reduceat(weight, starts)
        x = np.add.reduceat(sample.count, starts)
        return ratio(y, x, population_units=starts.size / q), example

    # -- findings --------------------------------------------------------------------
    def _finding(self, message: str, hint: str, path: int, line: int) -> Finding:
        return Finding(self.code, self.slug, self.severity, message, file=self.paths[path], line=int(line),
                       hint=hint, references=reference_urls(self.__doc__))

    def _exact_finding(self, rate: Estimate) -> Finding:
        sample = self.exact
        top = int(np.lexsort((sample.chash, -sample.count))[0])
        copies = int(sample.count[top])
        where = f"{self.paths[sample.path[top]]}:{sample.line[top]}"
        scope = (f"{sample.total - sample.count.size:,} of {sample.total:,} documents" if rate.exact
                 else f"estimated from a hash sample of {sample.count.size:,} distinct texts")
        message = (f"{_share(rate.value) if rate.exact else rate} of documents are exact duplicates ({scope}, "
                   f"above {_share(self.EXACT_LIMIT)}); the most repeated, at {where}, appears {copies:,} times")
        return self._finding(message, "drop exact copies (hash of the normalised text) before tokenizing",
                             sample.path[top], sample.line[top])

    def _near_finding(self, rate: Estimate, example: Optional[tuple[int, int, float]]) -> Finding:
        sample = self.near
        i, j, similarity = example if example else (0, 0, 1.0)
        scope = "of all documents" if rate.exact else f"estimated from {sample.count.size:,} sampled texts"
        message = (f"{_share(rate.value) if rate.exact else rate} of documents are near duplicates of another "
                   f"(MinHash Jaccard >= {self.similarity}, {scope}; above {_share(self.NEAR_LIMIT)}); e.g. "
                   f"{self.paths[sample.path[i]]}:{sample.line[i]} ~ {self.paths[sample.path[j]]}:{sample.line[j]} "
                   f"(similarity {similarity:.2f})")
        return self._finding(message, "deduplicate near copies with MinHash LSH, keeping one of each cluster",
                             sample.path[i], sample.line[i])
