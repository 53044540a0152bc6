"""How fast does `pretrain-doctor data` read a corpus? Against a loop that only reads and hashes.

A generated JSONL corpus (`--mb`, default 1,000 MB: unique documents of 20 to 2,000 words from
five sources, one in 997 empty; the constant-memory test's writer) is scanned by the data
command's library path (`run_data`: readers, every data check that runs without a tokenizer
— with --source-field, PDD101 duplicates and PDD102 overlap with the eval file), and by the baseline: a
plain Python loop over the file's lines that hashes each (`hashlib.blake2b`, 16 bytes), the
least any exact-duplicate check must do. Printed: documents/s and MB/s of each, and the ratio.

`--eval-docs N` (default 500) adds an eval file for PDD102 (train/eval overlap): one in 50 of them lines
copied from the corpus, the rest new text.

`--sample N` also times `data --sample N` on corpora of k hard links to the corpus (`--scales
1,10,1000`: 1 GB, 10 GB, 1 TB on no extra disk, removed after each run): wall time, documents,
and bytes read, as the report counts them and as the kernel does (/proc/self/io rchar).
`--no-full` skips the full scan.

`--tokenizer-mb N` also scans the first N MB with a word-level tokenizer.json (all checks on:
truncation, padding, unknown tokens), to show what tokenizing costs; `--tokenizer DIR` uses
that tokenizer instead (a real one is far slower than the word-level one).

    .venv/bin/python benchmarks/data_scan.py [--mb 1000] [--eval-docs 500] [--sample 10000 [--scales 1,10,1000]] [--no-full]
        [--tokenizer-mb 100] [--tokenizer DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the corpus the memory test reads too
from tests.data.test_memory import WORDS, word_tokenizer, write_corpus  # noqa: E402

from pretrain_doctor.data.check import DataOptions  # noqa: E402
from pretrain_doctor.data.command import DataRun, run_data  # noqa: E402
from pretrain_doctor.data.readers import ReadOptions  # noqa: E402


def read_and_hash(path: Path) -> tuple[int, float]:
    """The baseline: every line read and hashed, nothing else. (lines, seconds)"""
    started = time.perf_counter()
    lines = 0
    with open(path, "rb") as handle:
        for line in handle:
            hashlib.blake2b(line, digest_size=16).digest()
            lines += 1
    return lines, time.perf_counter() - started


def scan(path: Path, options: DataOptions, evals: Optional[Path] = None) -> tuple[int, float, dict]:
    """`run_data` as the command calls it (no progress bar, no settings). (documents, seconds, stats)"""
    run = DataRun(paths=[path], eval_paths=[evals] if evals else [], read=ReadOptions(source_field="src"),
                  options=options, use_settings=False, progress=False)
    started = time.perf_counter()
    report = run_data(run)
    return report.stats["documents"], time.perf_counter() - started, report.stats


def eval_file(corpus: Path, out: Path, documents: int) -> Path:
    """An eval set for PDD102: one in 50 of its documents a line of the corpus's start (train/eval
    overlap: the corpus's 200 base texts make each of them shared by about 0.5% of the corpus),
    the rest new text."""
    with open(corpus, "rb") as source:
        taken = [line for line, _ in zip(source, range(documents // 50))]
    fresh = [json.dumps({"text": f"held-out question {i}: " + " ".join(WORDS[(i * 7 + k) % len(WORDS)]
                                                                       for k in range(60))}).encode() + b"\n"
             for i in range(documents - len(taken))]
    out.write_bytes(b"".join(taken + fresh))
    return out


def head(path: Path, megabytes: int, out: Path) -> Path:
    """The first whole lines of `path` up to `megabytes`."""
    limit, written = megabytes * 1_000_000, 0
    with open(path, "rb") as source, open(out, "wb") as sink:
        for line in source:
            if written >= limit:
                break
            sink.write(line)
            written += len(line)
    return out


def rchar() -> int:
    """Bytes this process has read through read(2) and friends so far (Linux /proc/self/io)."""
    with open("/proc/self/io") as io:
        return next(int(row.split()[1]) for row in io if row.startswith("rchar:"))


def sample_at_scales(corpus: Path, evals: Optional[Path], folder: Path, n: int, scales: list[int]) -> None:
    """`data --sample n` (every check without a tokenizer) on corpora made of k hard links to the
    corpus (k x its size on no extra disk), removed after each run. Every text then appears k
    times, so PDD101's exact pairs per document are known: (k - 1) / 2 (plus the corpus's own)."""
    size = corpus.stat().st_size
    with open(corpus, "rb") as handle:
        corpus_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))
    print(f"--sample {n:,} over k hard links to the {size / 1e9:.2f} GB corpus (eval: {evals is not None})")
    for k in scales:
        links = folder / f"links-{k}"
        links.mkdir(exist_ok=True)
        paths = []
        for i in range(k):
            path = links / f"part-{i:05d}.jsonl"
            if not path.exists():
                os.link(corpus, path)
            paths.append(path)
        try:
            run = DataRun(paths=[links], eval_paths=[evals] if evals else [], read=ReadOptions(source_field="src"),
                          options=DataOptions(source_field="src"), use_settings=False, progress=False, sample=n,
                          seed=1)
            before, started, cpu = rchar(), time.perf_counter(), time.process_time()
            report = run_data(run)
            seconds, read, cpu = time.perf_counter() - started, rchar() - before, time.process_time() - cpu
        finally:
            for path in paths:
                path.unlink()
            links.rmdir()
        stats = report.stats
        pairs = stats["sample"]["rates"].get("PDD101.exact_pairs_per_document")
        pairs_text = (f"  PDD101 exact pairs/doc {pairs['value']:.2f} [{pairs['low']:.2f}, {pairs['high']:.2f}] "
                      f"(true {(k - 1) / 2:.1f})" if pairs else "")
        print(f"k={k:<5} {k * size / 1e9:9,.1f} GB  {seconds:7.2f} s (cpu {cpu:.1f} s)  {stats['documents']:,} docs "
              f"sampled of about {stats['sample']['corpus_documents']:,.0f} (true {k * corpus_lines:,})  read {stats['bytes'] / 1e6:7.2f} MB (report), "
              f"{read / 1e6:7.2f} MB (rchar){pairs_text}")
        for finding in report.findings:
            print(f"    {finding.code}: {finding.message[:300]}")


def line(name: str, documents: int, size: int, seconds: float) -> str:
    return (f"{name:<28} {documents:>10,} docs  {seconds:8.2f} s  {documents / seconds:>10,.0f} docs/s  "
            f"{size / 1e6 / seconds:8.1f} MB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1000, help="corpus size in MB (default 1000)")
    parser.add_argument("--tokenizer-mb", type=int, default=100, help="MB scanned with a tokenizer (0: none)")
    parser.add_argument("--tokenizer", type=Path, help="a tokenizer folder or tokenizer.json (default: word-level)")
    parser.add_argument("--eval-docs", type=int, default=500,
                        help="eval documents for PDD102, one in 50 copied from the corpus (0: no eval, no PDD102)")
    parser.add_argument("--sample", type=int, default=0,
                        help="also time `data --sample N` on corpora of k hard links to the corpus (see --scales)")
    parser.add_argument("--scales", default="1,10,1000", help="the k of --sample, comma-separated (default 1,10,1000)")
    parser.add_argument("--no-full", action="store_true", help="skip the full scan and its baseline")
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        corpus = folder / f"corpus-{args.mb}mb.jsonl"
        if not corpus.exists():
            started = time.perf_counter()
            write_corpus(corpus, args.mb)
            print(f"wrote {corpus} ({corpus.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s")
        size = corpus.stat().st_size
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")

        evals = eval_file(corpus, folder / "eval.jsonl", args.eval_docs) if args.eval_docs else None
        if args.sample:
            sample_at_scales(corpus, evals, folder, args.sample, [int(k) for k in args.scales.split(",")])
        if not args.no_full:
            cpu = time.process_time()
            lines, base_s = read_and_hash(corpus)
            base_cpu = time.process_time() - cpu
            print(line("read + blake2b per line", lines, size, base_s) + f"  cpu {base_cpu:.1f} s")
            cpu = time.process_time()
            documents, scan_s, stats = scan(corpus, DataOptions(source_field="src"), evals)
            scan_cpu = time.process_time() - cpu
            ran = ", ".join(stats["checks"])
            print(line(f"data ({ran})", documents, size, scan_s) + f"  cpu {scan_cpu:.1f} s")
            print(f"data takes {scan_s / base_s:.2f}x the read-and-hash loop ({scan_cpu / base_cpu:.2f}x its CPU time)")

        if args.tokenizer_mb:
            sliced = head(corpus, args.tokenizer_mb, folder / f"head-{args.tokenizer_mb}mb.jsonl")
            tokenizer = args.tokenizer or word_tokenizer(folder / "tokenizer.json")
            _, slice_base_s = read_and_hash(sliced)
            options = DataOptions(source_field="src", tokenizer=tokenizer, seq_len=2048, padding="longest")
            documents, tok_s, stats = scan(sliced, options)
            print(line(f"data + tokenizer, {args.tokenizer_mb} MB", documents, sliced.stat().st_size, tok_s)
                  + f"  {stats['tokens']:,} tokens, {stats['tokens'] / tok_s:,.0f} tokens/s")
            print(f"with the tokenizer ({tokenizer.name}) data takes {tok_s / slice_base_s:.2f}x the "
                  "read-and-hash loop on the same slice")
        print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
