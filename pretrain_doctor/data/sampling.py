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

import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence, TypeVar

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

    @property
    def interval_population(self) -> float | None:
        """The population size to give `stats.wilson`/`stats.ratio` for this sample: none when
        seeked, which drops the finite-population correction. A window can hold two adjacent
        lines (a small cluster sample) and the population is itself estimated; measured on a
        3,000-document corpus, 300 seeked lines spread 2.5% wider than a simple random sample."""
        return None if self.seeked else self.population


def _mean_line_length(paths: Sequence[Path]) -> float:
    read = newlines = 0
    for path in paths:
        with open(path, "rb") as handle:
            chunk = handle.read(_PROBE - read)
        read += len(chunk)
        newlines += chunk.count(b"\n")
        if read >= _PROBE:
            break
    return read / max(newlines, 1)


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
                 read_whole_below: int = SMALL_CORPUS) -> LineSample:
    """About n lines (documents) drawn uniformly from line-per-document files, without replacement;
    a corpus smaller than `read_whole_below` bytes is read whole."""
    files = [Path(p) for p in paths]
    sizes = [f.stat().st_size for f in files]
    total = sum(sizes)
    rng = random.Random(seed)
    if total < read_whole_below:
        every = [SampledLine(str(f), offset, line) for f in files for offset, line in _all_lines(f)]
        chosen = every if len(every) <= n else rng.sample(every, n)
        return LineSample(chosen, float(len(every)), seeked=False)
    width = max(1, round(_mean_line_length(files)))
    taken: dict[tuple[int, int], SampledLine] = {}
    handles = [open(f, "rb") for f in files]
    draws = found = 0
    try:
        while len(taken) < n and draws < _MAX_DRAWS_PER_LINE * n:
            draws += 1
            point = rng.randrange(total)
            index = 0
            while point >= sizes[index]:
                point -= sizes[index]
                index += 1
            size = sizes[index]
            windows = [(point, point + width)]
            if point + width > size:  # wrap round, so the first lines are as likely as any
                windows.append((0, point + width - size))
            for start, end in windows:
                for offset, line in _lines_starting_in(handles[index], size, start, end):
                    found += 1
                    taken.setdefault((index, offset), SampledLine(str(files[index]), offset, line))
    finally:
        for handle in handles:
            handle.close()
    # Each draw finds a given line with probability width / total (lines found again count too).
    population = found * total / (draws * width) if draws else 0.0
    lines = sorted(taken.values(), key=lambda s: (s.path, s.offset))
    return LineSample(lines, population, seeked=True)


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
