"""`--sample N`: a uniform random sample of a corpus's documents, without reading all of it.

Line-per-document files (JSONL, text with a document per line) are sampled by seeking: draw
a byte offset uniformly over all files, and take every line that *starts* inside the window
[offset, offset + W) (the window wraps round at the end of its file). Every line, long or
short, starts inside a window with the same probability W / total bytes, so the sample is
uniform over documents: seeking and then taking "the next line" instead would favour lines
that follow long ones, and taking the line under the offset would favour long lines. W is
the mean line length measured at the start of the corpus (one line per draw on average).

Files that cannot be seeked (gzip, zstd, parquet, documents separated by blank lines) are
read through once and sampled with a reservoir, which is uniform too; a small corpus
(under SMALL_CORPUS bytes) is read whole and sampled exactly without replacement.
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
from collections import Counter
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence, TypeVar

SMALL_CORPUS = 64 * 1024 * 1024
_PROBE = 256 * 1024  # bytes read at the start to measure the mean line length
_MAX_DRAWS_PER_LINE = 50  # give up drawing when windows keep landing on lines already taken

T = TypeVar("T")


@dataclass(frozen=True)
class SampledLine:
    path: str
    offset: int  # byte offset of the line's first byte in its file
    data: bytes  # the line, with its newline when it has one


@dataclass(frozen=True)
class LineSample:
    lines: list[SampledLine]
    population: float  # the number of lines in the corpus (estimated when seeked)
    seeked: bool  # False: every line was read
    draws: int = 0  # seeked: the random offsets drawn
    # seeked: (draw, index in `lines`) for every line every draw found, a line found twice twice:
    # the design behind the duplicate estimate (lines of different draws are independent).
    hits: list[tuple[int, int]] = field(default_factory=list)
    bytes_read: int = 0  # seeked: bytes read (the probe, the windows, the rest of lines cut by them)

    @property
    def interval_population(self) -> float | None:
        """The population size to give `stats.wilson`/`stats.ratio` for this sample: none when
        seeked, which drops the finite-population correction. A window can hold two adjacent
        lines (a small cluster sample) and the population is itself estimated; measured on a
        3,000-document corpus, 300 seeked lines spread 2.5% wider than a simple random sample."""
        return None if self.seeked else self.population


def _mean_line_length(paths: Sequence[Path]) -> tuple[float, int]:
    """(mean line length, bytes read to measure it) from the start of the corpus."""
    read = newlines = 0
    for path in paths:
        with open(path, "rb") as handle:
            chunk = handle.read(_PROBE - read)
        read += len(chunk)
        newlines += chunk.count(b"\n")
        if read >= _PROBE:
            break
    return read / max(newlines, 1), read


def _lines_starting_in(handle, size: int, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of every line whose first byte lies in [start, end) of a file of `size` bytes."""
    if start > 0:
        handle.seek(start - 1)
        if handle.read(1) != b"\n":
            handle.readline()  # the rest of a line that began before the window
    else:
        handle.seek(0)
    position = handle.tell()
    while position < min(end, size):
        line = handle.readline()
        if not line:
            return
        yield position, line
        position += len(line)


def sample_lines(paths: Sequence[str | os.PathLike], n: int, seed: int = 0, *,
                 read_whole_below: Optional[int] = None) -> LineSample:
    """About n lines (documents) drawn uniformly from line-per-document files, without replacement;
    a corpus smaller than `read_whole_below` bytes (default SMALL_CORPUS) is read whole."""
    files = [Path(p) for p in paths]
    sizes = [f.stat().st_size for f in files]
    total = sum(sizes)
    rng = random.Random(seed)
    if total < (SMALL_CORPUS if read_whole_below is None else read_whole_below):
        every = [SampledLine(str(f), offset, line) for f in files for offset, line in _all_lines(f)]
        chosen = every if len(every) <= n else rng.sample(every, n)
        return LineSample(chosen, float(len(every)), seeked=False)
    mean_length, bytes_read = _mean_line_length(files)
    width = max(1, round(mean_length))
    taken: dict[tuple[int, int], SampledLine] = {}
    found_by: list[tuple[int, tuple[int, int]]] = []  # (draw, line key)
    ends = list(itertools.accumulate(sizes))  # a draw's file by bisection (corpora of many files)
    draws = found = 0
    while len(taken) < n and draws < _MAX_DRAWS_PER_LINE * n:
        draws += 1
        point = rng.randrange(total)
        index = bisect.bisect_right(ends, point)
        point -= ends[index] - sizes[index]
        size = sizes[index]
        windows = [(point, point + width)]
        if point + width > size:  # wrap round, so the first lines are as likely as any
            windows.append((0, point + width - size))
        with open(files[index], "rb") as handle:  # one open per draw: no limit on the number of files
            for start, end in windows:
                for offset, line in _lines_starting_in(handle, size, start, end):
                    found += 1
                    found_by.append((draws, (index, offset)))
                    taken.setdefault((index, offset), SampledLine(str(files[index]), offset, line))
                bytes_read += handle.tell() - max(start - 1, 0)
    # Each draw finds a given line with probability width / total (lines found again count too).
    population = found * total / (draws * width) if draws else 0.0
    keys = sorted(taken)
    position = {key: i for i, key in enumerate(keys)}
    hits = [(draw, position[key]) for draw, key in found_by]
    return LineSample([taken[key] for key in keys], population, seeked=True, draws=draws, hits=hits,
                      bytes_read=bytes_read)


def _all_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    offset = 0
    with open(path, "rb") as handle:
        for line in handle:
            yield offset, line
            offset += len(line)


def reservoir(items: Iterable[T], n: int, seed: int = 0) -> tuple[list[T], int]:
    """A uniform sample of n items from a stream read once (Li's algorithm L), and the count seen."""
    rng = random.Random(seed)
    sample: list[T] = []
    seen = 0
    skip_until = -1
    weight = 1.0
    for seen, item in enumerate(items, 1):
        if len(sample) < n:
            sample.append(item)
            if len(sample) == n:
                weight = _next_weight(rng, weight, n)
                skip_until = seen + _skip(rng, weight)
            continue
        if seen == skip_until:
            sample[rng.randrange(n)] = item
            weight = _next_weight(rng, weight, n)
            skip_until = seen + _skip(rng, weight)
    return sample, seen


def _next_weight(rng: random.Random, weight: float, n: int) -> float:
    return weight * math.exp(math.log(1.0 - rng.random()) / n)


def _skip(rng: random.Random, weight: float) -> int:
    if weight >= 1.0:
        return 1
    return int(math.floor(math.log(1.0 - rng.random()) / math.log(1.0 - weight))) + 1


# -- `data --sample N`: the scan over a sample ------------------------------------------------

DUPLICATES = "PDD101"


def seekable(reader) -> bool:
    """Whether a file can be sampled by seeking: uncompressed, a document per line."""
    return reader.compression is None and (reader.format == "jsonl" or
                                           (reader.format == "text" and reader.options.text_unit == "line"))


def _why_not_seekable(reader) -> str:
    if reader.compression == "gzip":
        return "gzip cannot seek"
    if reader.compression == "zstd":
        return "zstd is read as one stream here (seeking by frame is not implemented)"
    if reader.format == "parquet":
        return "parquet is read whole here (sampling row groups is not implemented)"
    return "documents separated by blank lines cannot be found from a random offset"


def sampled_documents(paths: Sequence[Path], read, n: int, seed: int):
    """(documents, sample, problems, notices): about n training documents drawn uniformly, each
    as (index of its line in sample.lines, document) when seeked, (-1, document) when read through."""
    from .readers import CorpusReader, ReadOptions

    options = ReadOptions(**{**read.__dict__, "split": "train"})
    readers = [CorpusReader(path, options) for path in paths]
    if readers and all(seekable(r) for r in readers):
        drawn = sample_lines(paths, n, seed)
        by_path = {r.name: r for r in readers}
        docs = [(i, doc) for i, line in enumerate(drawn.lines) for doc in _parse_line(by_path[line.path], line)]
        problems = [p for r in readers for p in r.all_problems()]
        return docs, drawn, problems, []
    forced = [f"{r.name}: {_why_not_seekable(r)}" for r in readers if not seekable(r)]
    notices = [f"--sample read every training document (sampling with a reservoir) because "
               f"{'; '.join(forced[:3])}{f' and {len(forced) - 3} more' if len(forced) > 3 else ''}: "
               "the time grows with the corpus"]
    every = (doc for reader in readers for doc in reader)
    docs, seen = reservoir(every, n, seed)
    problems = [p for r in readers for p in r.all_problems()]
    return [(-1, doc) for doc in docs], LineSample([], float(seen), seeked=False), problems, notices


def _parse_line(reader, line: SampledLine) -> list:
    """The document of one sampled line, through the reader's own parsing. Its line number is
    not known (0) and its byte offset is: findings count the newlines before it when that is
    cheap (check.resolve_place), and its problems name the byte offset."""
    import dataclasses
    import io

    before = len(reader.problems)
    stream = io.BytesIO(line.data)
    docs = list(reader._jsonl(stream) if reader.format == "jsonl" else reader._text_lines(stream))
    for problem in reader.problems[before:]:
        problem.line = None
        problem.message = f"(the line at byte {line.offset:,}) {problem.message}"
    return [dataclasses.replace(doc, line=0, offset=line.offset) for doc in docs]


def scan_sample(files: Sequence[tuple[Path, str]], read, options, classes, n: int, seed: int):
    """The scan behind `data --sample N`: every check on a uniform sample of about n training
    documents (the eval files read whole). Seeked, PDD101 counts duplicate pairs among the
    sampled documents (sampled_dedup.py); read through (a format that cannot be seeked, or a
    small corpus), it counts every document as the full scan does, since it read them all anyway.
    Returns the ScanResult and notices for the report."""
    import time

    from .readers import CorpusReader
    from .scan import BATCH, FileScan, _feed, scan_files
    from .tokens import DocumentTokenizer

    started = time.perf_counter()
    evals = [f for f in files if f[1] == "eval"]
    trains = [Path(f[0]) for f in files if f[1] != "eval"]
    wants_duplicates = any(c.code == DUPLICATES for c in classes)
    sampled_classes = [c for c in classes if c.code != DUPLICATES]
    result = scan_files(evals, read, options, sampled_classes)
    eval_bytes = result.bytes
    docs, drawn, problems, notices = sampled_documents(trains, read, n, seed)
    result.problems += problems
    for check in result.checks.values():
        check.sampled, check.population = True, drawn.interval_population
    sampled_per_file = Counter(doc.path for _, doc in docs)
    for path in trains:  # documents: how many were sampled from it
        reader = CorpusReader(path, read)
        result.files.append(FileScan(reader.name, reader.format, "train", sampled_per_file[reader.name], reader.size))
    tokenizer = DocumentTokenizer(options.tokenizer) if options.tokenizer is not None else None
    for i in range(0, len(docs), BATCH):
        batch = [doc for _, doc in docs[i:i + BATCH]]
        _feed(result, tokenizer.measure(batch) if tokenizer is not None else batch)
    notices.insert(0, f"judged from a sample of {result.documents:,} of "
                      f"{'about ' if drawn.seeked else ''}{drawn.population:,.0f} training documents "
                      f"({'seeked at random offsets' if drawn.seeked else 'read through'}, seed {seed}): rates are "
                      "estimates with 95% intervals (also in the JSON report's stats.sample)")
    if wants_duplicates and drawn.seeked:
        from .sampled_dedup import SampledDuplicates

        duplicates = SampledDuplicates(options)
        duplicates.measure(docs, drawn.hits, drawn.draws, drawn.population)
        result.checks[DUPLICATES] = duplicates
        notices.append(f"{DUPLICATES} counted duplicate pairs among the sampled documents (pairs per document, "
                       "an upper bound of the duplicate share); the exact share needs a full scan (no --sample)")
    elif wants_duplicates:
        whole = scan_files([(p, "train") for p in trains], read, options,
                           [c for c in classes if c.code == DUPLICATES])
        result.checks.update(whole.checks)
        notices.append(f"{DUPLICATES} counted every document, as the training files were read through anyway")
    result.bytes = eval_bytes + (drawn.bytes_read if drawn.seeked else sum(p.stat().st_size for p in trains))
    result.seconds = time.perf_counter() - started
    result.sample = sample_intervals(result, drawn.interval_population)
    result.sample["corpus_documents"] = drawn.population  # lines, estimated when seeked
    return result, notices


def sample_intervals(result, population) -> dict:
    """95% intervals of the rates the sampled checks measured."""
    from .stats import wilson

    rates = {}
    checks = result.checks
    counts = {"PDD103": ("truncated", "documents"), "PDD106": ("empty", "documents")}
    for code, (hits, total) in counts.items():
        check = checks.get(code)
        if check is not None and getattr(check, total, 0):
            rates[f"{code}.{hits}"] = wilson(getattr(check, hits), getattr(check, total), population).as_dict()
    tiny = checks.get("PDD106")
    if tiny is not None and tiny.documents:
        rates["PDD106.tiny"] = wilson(tiny.tiny, tiny.documents, population).as_dict()
    overlap = checks.get("PDD102")
    if overlap is not None and overlap.train_docs:
        rates["PDD102.train_with_eval_text"] = wilson(overlap.train_hits, overlap.train_docs, population).as_dict()
    for code in ("PDD104", "PDD105", "PDD107"):
        check = checks.get(code)
        if check is not None:
            rates.update({f"{code}.{name}": estimate.as_dict() for name, estimate in check.estimates().items()})
    duplicates = checks.get(DUPLICATES)
    if duplicates is not None and getattr(duplicates, "exact_pairs", None) is not None:
        rates[f"{DUPLICATES}.exact_pairs_per_document"] = duplicates.exact_pairs.as_dict()
        rates[f"{DUPLICATES}.near_pairs_per_document"] = duplicates.near_pairs.as_dict()
    return {"documents": result.documents, "population": population, "bytes_read": result.bytes, "rates": rates}
