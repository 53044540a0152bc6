"""The data checks as a map/reduce over shards on Dask (the optional extra `distributed`).

Map: each shard (a file) is read on a worker into fresh copies of the checks' accumulators.
Reduce: neighbouring shards' accumulators are merged pairwise, in shard order, up a tree.
Since every accumulator merges to exactly what one pass gives (data/model.py) and the order
is kept, the findings are those of the local run on the same files.

`--workers N` starts a local cluster of N worker processes (one thread each: the checks are
Python code that holds the GIL); `--scheduler ADDRESS` uses a running cluster, whose workers
must see the same paths. Dask is imported only here, only when one of them is given.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

from ..errors import UsageError
from .model import Accumulator, Document

if TYPE_CHECKING:
    from .check import DataOptions
    from .readers import ReadOptions
    from .scan import ScanResult

Reader = Callable[[str], Iterable[Document]]
T = TypeVar("T")
R = TypeVar("R")
INSTALL_HINT = "pip install 'pretrain-doctor[distributed]'"


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--workers and --scheduler run the checks on Dask, which is not installed: {INSTALL_HINT}")
    return distributed


@contextlib.contextmanager
def dask_client(workers: Optional[int] = None, scheduler: Optional[str] = None) -> Iterator[object]:
    """A Dask client: on a running scheduler at `scheduler`, else on a local cluster of `workers` processes."""
    distributed = _import_distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise UsageError(f"--scheduler {scheduler}: no Dask scheduler answered ({error})")
        with client:
            yield client
        return
    if not workers or workers < 1:
        raise UsageError("--workers takes a number of worker processes, 1 or more")
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        yield client


def map_reduce(client, shards: Sequence[T], map_shard: Callable[[T], R], merge: Callable[[R, R], R]) -> R:
    """`map_shard` on every shard on the cluster, then `merge(earlier, later)` pairwise up a
    tree that keeps shard order; both must be importable on the workers (module-level
    functions, or functools.partial of them). At least one shard."""
    level = [client.submit(map_shard, shard, pure=False) for shard in shards]
    while len(level) > 1:
        paired = [client.submit(merge, level[i], level[i + 1], pure=False) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0].result()


def scan_on_dask(client, files: Sequence[tuple[Path, str]], read: "ReadOptions", options: "DataOptions",
                 classes: Sequence[type]) -> "ScanResult":
    """`data --workers/--scheduler`: the eval files scanned here, then every training file a shard
    on the cluster starting from copies of those checks (PDD102 holds the eval set), merged in order."""
    from .scan import scan_files

    evals = [f for f in files if f[1] == "eval"]
    trains = [f for f in files if f[1] != "eval"]
    result = scan_files(evals, read, options, classes)
    if trains:
        shard = partial(_scan_shard, read=read, options=options, classes=list(classes), start=result.checks)
        shards = map_reduce(client, trains, shard, _merge_scans)
        eval_files, result = result, shards
        result.files = eval_files.files + result.files
        result.problems = eval_files.problems + result.problems
        result.eval_documents += eval_files.eval_documents
        result.bytes += eval_files.bytes
    return result


def _scan_shard(file: tuple[Path, str], read, options, classes, start):
    from .scan import scan_files

    return scan_files([file], read, options, classes, start=start)


def _merge_scans(earlier, later):
    earlier.merge(later)
    return earlier


def check_shard(path: str, accumulators: Sequence[Accumulator], reader: Reader) -> list[Accumulator]:
    """Map: one shard's documents through fresh copies of the (prototype) accumulators."""
    fresh = pickle.loads(pickle.dumps(list(accumulators)))
    for doc in reader(path):
        for accumulator in fresh:
            accumulator.add(doc)
    return fresh


def merge_in_order(earlier: list[Accumulator], later: list[Accumulator]) -> list[Accumulator]:
    """Reduce: the earlier shards' accumulators absorb the later ones'."""
    for mine, theirs in zip(earlier, later):
        mine.merge(theirs)
    return earlier


def run_on_dask(client, paths: Sequence[str], accumulators: Sequence[Accumulator], reader: Reader) -> list[Accumulator]:
    """The accumulators (empty prototypes: each shard gets copies) over every path on the cluster."""
    if not paths:
        return list(accumulators)
    return map_reduce(client, list(paths), partial(check_shard, accumulators=list(accumulators), reader=reader),
                      merge_in_order)
