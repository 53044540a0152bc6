"""--sample: documents drawn by seeking are uniform, and every per-document rate's interval covers."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from pretrain_doctor.data.sampling import reservoir, sample_lines
from pretrain_doctor.data.stats import ratio, wilson

from .corpora import generate

SEQ_LEN = 256


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    corpus = generate(3000, exact_rate=0.0, near_rate=0.0, min_words=5, max_words=500, seed=21)
    return corpus, corpus.write_jsonl(tmp_path_factory.mktemp("sample") / "train.jsonl")


def words_of(line) -> int:
    return len(json.loads(line.data)["text"].split())


def test_short_lines_are_as_likely_as_long_ones(tmp_path):
    """Half the lines are 1 byte, half 1,000: seeking to an offset and taking the line under it
    would pick a short line 0.2% of the time, the next line after it 50% only by luck of order."""
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"".join(b"s\n" if i % 3 else b"L" * 999 + b"\n" for i in range(6000)))
    drawn = sample_lines([path], 1500, seed=1, read_whole_below=0)
    assert drawn.seeked
    short = sum(line.data == b"s\n" for line in drawn.lines)
    assert wilson(short, len(drawn.lines), drawn.interval_population).contains(2 / 3)
    assert drawn.population == pytest.approx(6000, rel=0.1)


def test_lines_come_back_whole_with_their_offsets(corpus_file):
    _, path = corpus_file
    data = path.read_bytes()
    for line in sample_lines([path], 50, seed=2, read_whole_below=0).lines:
        assert data[line.offset:line.offset + len(line.data)] == line.data
        assert line.offset == 0 or data[line.offset - 1:line.offset] == b"\n"
        json.loads(line.data)


def test_several_files_are_sampled_in_proportion_to_their_lines(tmp_path):
    small = tmp_path / "a.txt"
    big = tmp_path / "b.txt"
    small.write_bytes(b"x\n" * 1000)
    big.write_bytes(b"y\n" * 3000)
    drawn = sample_lines([small, big], 800, seed=3, read_whole_below=0)
    share = Counter(line.path for line in drawn.lines)[str(small)]
    assert wilson(share, len(drawn.lines), drawn.interval_population).contains(0.25)


def test_a_small_corpus_is_read_whole(corpus_file):
    _, path = corpus_file
    drawn = sample_lines([path], 100, seed=4)
    assert not drawn.seeked and drawn.population == 3000 and len(drawn.lines) == 100
    assert len({line.offset for line in drawn.lines}) == 100


def test_per_document_intervals_contain_the_true_rates_in_95_of_100_seeded_trials(corpus_file):
    """Truncation (over SEQ_LEN words) and tiny documents (under 20 words): Wilson; padding waste
    at max_length SEQ_LEN: the ratio estimator. Each trial seeks 300 documents."""
    corpus, path = corpus_file
    truth = {"truncation": corpus.truncation_rate(SEQ_LEN), "tiny": sum(n < 20 for n in corpus.lengths) / 3000,
             "padding": corpus.padding_waste(SEQ_LEN)}
    covered = Counter()
    for trial in range(100):
        drawn = sample_lines([path], 300, seed=1000 + trial, read_whole_below=0)
        lengths = np.array([words_of(line) for line in drawn.lines])
        n = lengths.size
        covered["truncation"] += wilson(int((lengths > SEQ_LEN).sum()), n, drawn.interval_population).contains(
            truth["truncation"])
        covered["tiny"] += wilson(int((lengths < 20).sum()), n, drawn.interval_population).contains(truth["tiny"])
        padding = ratio(SEQ_LEN - np.minimum(lengths, SEQ_LEN), np.full(n, SEQ_LEN), drawn.interval_population)
        covered["padding"] += padding.contains(truth["padding"])
    assert min(covered.values()) >= 95, covered


def test_reservoir_is_uniform_over_a_stream():
    hits = Counter()
    for seed in range(400):
        sample, seen = reservoir(range(50), 5, seed=seed)
        assert seen == 50 and len(set(sample)) == 5
        hits.update(sample)
    counts = np.array([hits[i] for i in range(50)])
    assert counts.min() > 15 and counts.max() < 70  # 40 expected each
