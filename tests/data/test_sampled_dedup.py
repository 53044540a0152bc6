"""PDD101 under --sample: duplicate and near-duplicate pairs per document counted in the seeked
sample, whose 95% intervals cover the true values in at least 95 of 100 seeded trials."""

from __future__ import annotations

import json
import os
from collections import Counter
from functools import lru_cache

import numpy as np
import pytest

from pretrain_doctor.data import sampled_dedup
from pretrain_doctor.data.hashing import normalise, shingle_hashes
from pretrain_doctor.data.minhash import SignatureIndex, signature
from pretrain_doctor.data.model import Document
from pretrain_doctor.data.sampled_dedup import SampledDuplicates, poisson_interval
from pretrain_doctor.data.sampling import sample_lines

from .corpora import generate


def test_poisson_interval_is_garwoods():
    assert poisson_interval(0) == (0.0, pytest.approx(3.689, abs=1e-3))
    low, high = poisson_interval(10)
    assert low == pytest.approx(4.795, abs=1e-3) and high == pytest.approx(18.390, abs=1e-3)
    low, high = poisson_interval(2.5)  # a fractional count widens to floor/ceil
    assert low == pytest.approx(poisson_interval(2)[0]) and high == pytest.approx(poisson_interval(3)[1])


def true_pairs_per_document(texts: list[str]) -> float:
    counts = Counter(t for t in (normalise(t) for t in texts) if t)
    return sum(c * (c - 1) / 2 for c in counts.values()) / sum(counts.values())


def true_near_pairs_per_document(texts: list[str]) -> float:
    """Pairs of documents with different texts in one MinHash cluster (Jaccard >= 0.8), per document."""
    counts = Counter(t for t in (normalise(t) for t in texts) if t)
    distinct = list(counts)
    signatures = [signature(shingle_hashes(t)) for t in distinct]
    index = SignatureIndex(signatures, 0.8)
    parent = list(range(len(distinct)))

    def root(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for a, sig in enumerate(signatures):
        for b, _ in index.similar(sig):
            parent[root(a)] = root(b)
    clusters: dict[int, list[int]] = {}
    for a in range(len(distinct)):
        clusters.setdefault(root(a), []).append(counts[distinct[a]])
    pairs = sum((sum(c) ** 2 - sum(x * x for x in c)) / 2 for c in clusters.values())
    return pairs / sum(counts.values())


def measured(path, n: int, seed: int) -> SampledDuplicates:
    drawn = sample_lines([path], n, seed=seed, read_whole_below=0)
    docs = [(i, Document(json.loads(line.data)["text"], line.path, 0, offset=line.offset))
            for i, line in enumerate(drawn.lines)]
    check = SampledDuplicates()
    check.measure(docs, drawn.hits, drawn.draws, drawn.population)
    return check


@pytest.fixture
def cached_signatures(monkeypatch):
    """MinHash of a text computed once across the 100 trials (the same signature either way)."""
    @lru_cache(maxsize=None)
    def cached(shingles: bytes, num_perm: int) -> np.ndarray:
        return signature(np.frombuffer(shingles, np.uint64), num_perm)

    monkeypatch.setattr(sampled_dedup, "signature", lambda shingles, num_perm: cached(shingles.tobytes(), num_perm))


def test_pair_intervals_cover_in_95_of_100_seeded_trials(tmp_path, cached_signatures):
    """3,000 documents, 5% exact copies and 8% near copies (mostly pairs); 600 seeked per trial."""
    corpus = generate(3000, exact_rate=0.05, near_rate=0.08, seed=5)
    path = corpus.write_jsonl(tmp_path / "train.jsonl")
    texts = [d.text for d in corpus.train]
    truth_exact, truth_near = true_pairs_per_document(texts), true_near_pairs_per_document(texts)
    assert 0.04 < truth_exact < 0.1 and 0.05 < truth_near < 0.12
    covered = Counter()
    for trial in range(100):
        check = measured(path, 600, 7000 + trial)
        covered["exact"] += check.exact_pairs.estimate.contains(truth_exact)
        covered["near"] += check.near_pairs.estimate.contains(truth_near)
    assert min(covered.values()) >= 95, covered


def test_a_text_repeated_many_times_is_covered_too(tmp_path):
    """One boilerplate text 150 times among 3,000 documents: finds cluster (k copies give k(k-1)/2
    pairs), which a plain Poisson interval on the pair count would undercover."""
    corpus = generate(2850, exact_rate=0.0, near_rate=0.0, seed=6)
    boilerplate = "cookie banner: we use cookies to improve your experience on this site and more"
    texts = [d.text for d in corpus.train] + [boilerplate] * 150
    rng = np.random.default_rng(6)
    rng.shuffle(texts)
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    truth = true_pairs_per_document(texts)
    assert truth == pytest.approx(150 * 149 / 2 / 3000)
    covered = sum(measured(path, 300, 100 + trial).exact_pairs.estimate.contains(truth) for trial in range(100))
    assert covered >= 95


def test_no_duplicates_gives_zero_and_says_how_little_it_can_see(tmp_path):
    corpus = generate(2000, exact_rate=0.0, near_rate=0.0, seed=8)
    path = corpus.write_jsonl(tmp_path / "train.jsonl")
    check = measured(path, 200, 1)
    rate = check.exact_pairs.estimate
    assert rate.value == 0 and rate.low == 0 and rate.high > 0.1  # 200 of 2,000 cannot rule out 10%
    assert check.findings() == []


def test_the_finding_names_what_was_estimated_and_a_real_place(tmp_path):
    corpus = generate(2000, exact_rate=0.3, near_rate=0.0, seed=9)
    path = corpus.write_jsonl(tmp_path / "train.jsonl")
    check = measured(path, 400, 2)
    [finding] = [f for f in check.findings() if "exact copies" in f.message]
    assert "pairs of exact copies per 100 documents" in finding.message and "95% interval" in finding.message
    assert "sampled documents" in finding.message
    lines = path.read_text().splitlines()
    assert finding.line and finding.line > 0
    text = normalise(json.loads(lines[finding.line - 1])["text"])
    assert sum(normalise(json.loads(x)["text"]) == text for x in lines) >= 2


def test_bytes_read_do_not_grow_with_the_corpus(tmp_path):
    """The same 4 MB file as a corpus of 1 and of 10 hard links: the sample reads about as much."""
    corpus = generate(2000, exact_rate=0.0, near_rate=0.0, seed=10, min_words=300, max_words=700)
    one = corpus.write_jsonl(tmp_path / "part-0.jsonl")
    links = [one] + [tmp_path / f"part-{i}.jsonl" for i in range(1, 10)]
    for link in links[1:]:
        os.link(one, link)
    small = sample_lines([one], 300, seed=3, read_whole_below=0)
    large = sample_lines(links, 300, seed=3, read_whole_below=0)
    assert small.bytes_read < one.stat().st_size / 2
    assert large.bytes_read < 1.5 * small.bytes_read
    assert large.population == pytest.approx(20000, rel=0.15)
