"""Constant memory: the duplicate and overlap checks' peak RSS on a 200 MB JSONL is within 1.2x
of that on a 20 MB one (their state is bounded by the hash-sample budgets, not the corpus)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CHILD = """
import json, resource, sys
from pretrain_doctor.data.dedup import DuplicateDocuments
from pretrain_doctor.data.model import Document
from pretrain_doctor.data.overlap import TrainEvalOverlap
path = sys.argv[1]
evals = [Document(" ".join(f"eval{i} word{j}" for j in range(40)), "eval.jsonl", i + 1, split="eval") for i in range(200)]
checks = [DuplicateDocuments(), TrainEvalOverlap(eval_docs=evals)]
with open(path, encoding="utf-8") as handle:
    for number, line in enumerate(handle, 1):
        doc = Document(json.loads(line)["text"], path, number)
        for check in checks:
            check.add(doc)
found = [f.code for check in checks for f in check.findings()]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, checks[0].documents, ",".join(found))
"""


def write_corpus(path: Path, megabytes: int) -> None:
    """Documents of 150 random words (~1 KB), 2% of them repeated: distinct texts grow with size."""
    rng = np.random.default_rng(megabytes)
    vocabulary = np.array([f"w{i:05d}x" for i in range(20000)])
    written = 0
    recent: list[str] = []
    with open(path, "w", encoding="utf-8") as out:
        while written < megabytes * 1_000_000:
            block = vocabulary[rng.integers(0, vocabulary.size, size=(2000, 150))]
            lines = [json.dumps({"text": " ".join(words)}) + "\n" for words in block]
            lines += [recent[i] for i in rng.integers(0, len(recent), size=40)] if recent else []
            recent = lines[:100]
            out.writelines(lines)
            written += sum(len(line) for line in lines)


def peak_rss_kib(path: Path) -> tuple[int, int, str]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    rss, documents, codes = out.stdout.split(" ")
    return int(rss), int(documents), codes.strip()


@pytest.mark.slow
def test_peak_rss_on_200_mb_is_within_1_2x_of_20_mb(tmp_path):
    small, large = tmp_path / "20mb.jsonl", tmp_path / "200mb.jsonl"
    write_corpus(small, 20)
    write_corpus(large, 200)
    small_rss, small_docs, _ = peak_rss_kib(small)
    large_rss, large_docs, codes = peak_rss_kib(large)
    assert large_docs > 9 * small_docs
    assert "PDD101" in codes  # the 2% repeats, found on the large corpus too
    ratio = large_rss / small_rss
    print(f"peak RSS {small_rss / 1024:.0f} MiB on 20 MB ({small_docs} docs), {large_rss / 1024:.0f} MiB on 200 MB "
          f"({large_docs} docs): {ratio:.3f}x")
    assert ratio <= 1.2
