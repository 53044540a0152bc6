"""Constant memory (issue 12's acceptance): the peak RSS of `data` on a 200 MB JSONL is within
1.2x of that on a 20 MB one, with every data check on (a tokenizer, a sequence length, padding,
sources, eval documents). Each scan runs in its own process, which reports its own ru_maxrss."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("the model reads a long document about training runs and their failures while the loss "
         "goes down slowly then spikes at step forty thousand because the learning rate was never "
         "warmed up and nobody checked the data").split()

MEASURE = """\
import resource, sys
from pretrain_doctor.cli import main
report, sys.argv = sys.argv[1], sys.argv[1:]
try:
    main(sys.argv[1:])
finally:
    with open(report, "w") as out:
        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def write_corpus(path: Path, megabytes: int, seed: int = 0) -> Path:
    """Unique documents of 20 to 2,000 words from 5 sources, a few empty, until `megabytes`."""
    rng = random.Random(seed)
    pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 2000))) for _ in range(200)]
    limit, written, index = megabytes * 1_000_000, 0, 0
    with open(path, "w", encoding="utf-8") as out:
        while written < limit:
            text = "" if index % 997 == 0 else f"document {index}: {pool[index % len(pool)]}"
            line = json.dumps({"text": text, "src": f"source-{index % 5}"}) + "\n"
            out.write(line)
            written += len(line)
            index += 1
    return path


def word_tokenizer(path: Path) -> Path:
    """A word-level tokenizer.json over WORDS (numbers become <unk>): quick to run, so the
    test measures the scan's memory rather than waiting on a character-level tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<unk>": 0, **{word: i + 1 for i, word in enumerate(sorted(set(WORDS)))}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(path))
    return path


def peak_rss_kib(tmp_path: Path, *args: str) -> int:
    report = tmp_path / "rss.txt"
    result = subprocess.run([sys.executable, "-c", MEASURE, str(report), "data", "--isolated", "--no-progress",
                             "--fail-on", "never", *args], capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return int(report.read_text())


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_corpus(tmp_path):
    small = write_corpus(tmp_path / "small.jsonl", 20)
    large = write_corpus(tmp_path / "large.jsonl", 200)
    evals = write_corpus(tmp_path / "eval.jsonl", 1, seed=1)
    checks = ["--tokenizer", str(word_tokenizer(tmp_path / "tokenizer.json")), "--seq-len", "512", "--padding", "longest", "--source-field", "src",
              "--eval", str(evals)]
    small_rss = peak_rss_kib(tmp_path, str(small), *checks)
    large_rss = peak_rss_kib(tmp_path, str(large), *checks)
    print(f"peak RSS: 20 MB corpus {small_rss / 1024:.0f} MiB, 200 MB corpus {large_rss / 1024:.0f} MiB, "
          f"ratio {large_rss / small_rss:.3f}")
    assert large_rss <= 1.2 * small_rss
