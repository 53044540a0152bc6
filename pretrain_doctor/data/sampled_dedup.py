"""PDD101 under `--sample`: duplicates estimated from the seeked sample alone, by collision counting.

Whether one sampled document has a copy somewhere in the corpus cannot be known without reading
the corpus, so the share of duplicates (PDD101's exact measure) cannot be estimated from O(n)
bytes. What a uniform sample does estimate without bias is how often two documents drawn at
random are copies: the number of *duplicate pairs per document*,

    pi = sum over texts t of c_t (c_t - 1) / 2, divided by N      (c_t: copies of t, N: documents)

It equals the share of duplicates (sum of c_t - 1, over N) when every repeated text appears
twice, and is larger when texts repeat more (a text with c copies adds c - 1 to one and
c (c - 1) / 2 to the other), so its upper bound is an upper bound of the share too.

The design (sampling.sample_lines): D offsets drawn uniformly; draw d finds each line with
probability W / T (W the window, T the corpus's bytes), independently of the other draws. Two
lines found by different draws are a pair of independent uniform draws, so the ordered pairs X
of different copies found by different draws have E[X] = D (D - 1) (W / T)^2 * 2 N pi, and with
F lines found in all, E[F] = D (W / T) N: pi_hat = X N_hat D / (2 (D - 1) F^2). Lines found by one
draw are neighbours in a file and are never paired (adjacent copies would bias the count).

Interval: per text, the copies found are about Poisson, so a group of k finds adds k (k - 1) / 2
pairs with variance estimated by k (k - 1) (k - 2) + k (k - 1) / 2 (unbiased under Poisson; the
pairs alone give variance = count). The pair count K is taken as scale * Poisson(K / scale),
scale = variance / K, and given Garwood's exact 95% interval. With no pair found the upper end
is 3.69 pairs' worth: a sample of n documents from N cannot see duplicate rates much below
about 7 N / n^2, and the finding and stats say so.

Near duplicates are counted the same way over pairs of different sampled texts whose MinHash
Jaccard similarity is at least 0.8 (near pairs per document).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .check import Place
from .dedup import DuplicateDocuments
from .hashing import content_hash, normalise, shingle_hashes
from .minhash import SignatureIndex, signature
from .model import Document
from .stats import Z95, Estimate

_Q = 0.025  # each tail of a 95% interval
_EXACT_POISSON_UP_TO = 2000  # counts above this use the normal approximation of the Poisson


def poisson_interval(count: float) -> tuple[float, float]:
    """Garwood's exact 95% interval of a Poisson mean from an observed count (a fractional
    count: the lower end from its floor, the upper from its ceiling, so it only widens)."""
    low_k, high_k = math.floor(count), math.ceil(count)
    if high_k > _EXACT_POISSON_UP_TO:
        half = Z95 * math.sqrt(count)
        return max(0.0, count - half), count + half + 1.0
    low = 0.0 if low_k == 0 else _solve(lambda lam: _poisson_sf(low_k, lam) - _Q, 0.0, low_k + 1.0)
    high = _solve(lambda lam: _Q - _poisson_cdf(high_k, lam), high_k, 3.0 * high_k + 10.0)
    return low, high


def _poisson_cdf(k: int, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam), summed in logs."""
    if lam <= 0.0:
        return 1.0
    terms = [i * math.log(lam) - lam - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _poisson_sf(k: int, lam: float) -> float:
    """P(X >= k)."""
    return 1.0 - _poisson_cdf(k - 1, lam) if k > 0 else 1.0


def _solve(f, low: float, high: float) -> float:
    """The root of an increasing f on [low, high] by bisection (60 halvings: exact to a float)."""
    while f(high) < 0:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        if f(middle) < 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


@dataclass(frozen=True)
class PairRate:
    """Pairs (of copies, or of near copies) per document, estimated from a seeked sample."""

    estimate: Estimate  # value/low/high: pairs per document (may exceed 1 when texts repeat a lot)
    pairs: float  # pairs found between lines of different draws (unordered)
    groups: int  # texts (or clusters) that gave them
    example: Optional[tuple[int, int]]  # two sampled documents (indices) of the largest group

    def as_dict(self) -> dict:
        return {**self.estimate.as_dict(), "unit": "pairs per document", "pairs_found": self.pairs,
                "groups": self.groups}


def pair_rate(groups: dict[object, list[tuple[int, int]]], found: int, draws: int, population: float,
              documents: int) -> PairRate:
    """Pairs per document from the sample's groups: group -> [(draw, document index)] for every
    find of every document in the group (a document found twice is listed twice); `found`: all
    finds, `documents`: the distinct documents sampled."""
    ordered = 0
    variance = 0.0
    best: tuple[float, Optional[tuple[int, int]]] = (0.0, None)
    contributing = 0
    for finds in groups.values():
        k = len(finds)
        if k < 2:
            continue
        same_draw = sum(n * (n - 1) for n in Counter(d for d, _ in finds).values())
        same_doc = sum(n * (n - 1) for n in Counter(i for _, i in finds).values())
        x = k * (k - 1) - same_draw - same_doc
        if x <= 0:
            continue
        contributing += 1
        ordered += x
        variance += k * (k - 1) * (k - 2) + k * (k - 1) / 2
        if x > best[0]:
            docs = sorted({i for _, i in finds})
            best = (x, (docs[0], docs[1]))
    pairs = ordered / 2
    scale_to_rate = population * draws / ((draws - 1) * found * found) if draws > 1 and found else 0.0
    if pairs > 0:
        spread = max(variance / pairs, 1.0)  # >= 1: clustered copies only widen the Poisson interval
        low, high = poisson_interval(pairs / spread)
        low, high = low * spread, high * spread
    else:
        low, high = poisson_interval(0)
    value = pairs * scale_to_rate
    estimate = Estimate(value, low * scale_to_rate, high * scale_to_rate, documents, "collisions")
    return PairRate(estimate, pairs, contributing, best[1])


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}" if value >= 1 else f"{value:.2f}"


class SampledDuplicates(DuplicateDocuments, abstract=True):
    __doc__ = DuplicateDocuments.__doc__

    def __init__(self, options=None, *, similarity: float = 0.8) -> None:
        super().__init__(options, similarity=similarity)
        self.exact_pairs: Optional[PairRate] = None
        self.near_pairs: Optional[PairRate] = None
        self.places: list[Place] = []
        self.sampled = True

    def measure(self, docs: Sequence[tuple[int, Document]], hits: Sequence[tuple[int, int]], draws: int,
                population: float) -> None:
        """docs: (line index, document) of the sampled training documents; hits: (draw, line index)."""
        by_line: dict[int, int] = {}
        chashes: list[int] = []
        texts: list[str] = []
        for line, doc in docs:
            text = normalise(doc.text)
            if not text:
                self.empty += 1
                continue
            by_line[line] = len(chashes)
            chashes.append(content_hash(text, self.salt))
            texts.append(text)
            self.places.append(Place.of(doc))
        finds = [(draw, by_line[line]) for draw, line in hits if line in by_line]
        found = len(finds)
        # the population of non-empty documents: blank, empty and unreadable lines are not in it
        population = population * found / len(hits) if hits else 0.0
        self.exact.total = len(chashes)
        exact_groups: dict[object, list[tuple[int, int]]] = defaultdict(list)
        for draw, i in finds:
            exact_groups[chashes[i]].append((draw, i))
        self.exact_pairs = pair_rate(exact_groups, found, draws, population, len(chashes))
        self.near_pairs = pair_rate(self._near_groups(texts, chashes, finds), found, draws, population, len(chashes))

    def _near_groups(self, texts: list[str], chashes: list[int], finds: list[tuple[int, int]]):
        """Clusters of different texts joined by MinHash similarity >= `similarity` (one
        representative document per text), with every find of their documents."""
        first_of: dict[int, int] = {}
        for i, chash in enumerate(chashes):
            first_of.setdefault(chash, i)
        representatives = sorted(first_of.values())
        if len(representatives) < 2:
            return {}
        signatures = [signature(shingle_hashes(texts[i]), self.num_perm) for i in representatives]
        index = SignatureIndex(signatures, self.similarity, self.num_perm)
        parent = list(range(len(representatives)))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        linked = set()
        for a, sig in enumerate(signatures):
            for b, _ in index.similar(sig):
                if b != a:
                    parent[root(a)] = root(b)
                    linked.update((a, b))
        cluster_of_text = {chashes[representatives[a]]: root(a) for a in linked}
        groups: dict[object, list[tuple[int, int]]] = defaultdict(list)
        for draw, i in finds:
            cluster = cluster_of_text.get(chashes[i])
            if cluster is not None:
                # copies of one text are exact duplicates, not near ones: they pair as one document
                groups[cluster].append((draw, first_of[chashes[i]]))
        return groups

    # -- what the report shows ---------------------------------------------------------
    def findings(self):
        found = []
        for rate, limit, kind in ((self.exact_pairs, self.EXACT_LIMIT, "exact"),
                                  (self.near_pairs, self.NEAR_LIMIT, "near")):
            if rate is not None and rate.estimate.value > limit:
                found.append(self._pairs_finding(rate, limit, kind))
        return found

    def _pairs_finding(self, rate: PairRate, limit: float, kind: str):
        est = rate.estimate
        copies = "exact copies" if kind == "exact" else f"near copies (MinHash Jaccard >= {self.similarity})"
        per, scale = ("document", 1) if est.value >= 1 else ("100 documents", 100)
        message = (f"an estimated {_number(scale * est.value)} (95% interval {_number(scale * est.low)}-"
                   f"{_number(scale * est.high)}) pairs of {copies} per {per}, counted from {rate.pairs:,.0f} pairs among "
                   f"{est.n:,} sampled documents (--sample: pairs per document equal the share of "
                   f"{'duplicates' if kind == 'exact' else 'near duplicates'} when each text repeats once and "
                   f"exceed it when texts repeat more; limit {100 * limit:.0f}%)")
        at = self.places[rate.example[0]] if rate.example else None
        hint = ("drop exact copies (hash of the normalised text) before tokenizing" if kind == "exact"
                else "deduplicate near copies with MinHash LSH, keeping one of each cluster")
        return self.finding(message, at, hint=hint)

    def stats(self) -> dict:
        return {"documents": self.exact.total, "empty": self.empty, "sampled": True,
                "exact_duplicate_pairs_per_document": self.exact_pairs.as_dict() if self.exact_pairs else None,
                "near_duplicate_pairs_per_document": self.near_pairs.as_dict() if self.near_pairs else None}

    def merge(self, other) -> None:
        raise NotImplementedError("a seeked sample is measured in one process")
