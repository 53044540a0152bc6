"""`DetectorSet`: the one engine that turns StepRecords into alerts, live and in replay.

    detectors = DetectorSet(default_detectors(), annotations=planned)
    alerts = detectors.feed(records)        # streaming: call again with the next records
    alerts = DetectorSet(default_detectors()).scan(table_or_records)   # a whole run at once

Both give exactly the alerts (and order) of feeding every record to every detector in
turn, with each planned change announced to every detector just before the first record
whose step reaches it. Two things make that cheap, both exact by the detector contract (a
detector ignores a record holding none of its `needs`/`extra_keys`): a record goes only to
the detectors that read something in it, and within the records between two planned
changes each detector takes all its records in one go (its code and state stay in cache);
a detector that reuses another's statistics (PDM202 takes PDM201's loss baseline) takes
them record by record right after it.
`scan` adds the detectors' vectorised paths over a MetricTable.

No torch here: the monitor, replay and the tests share this module.
"""

from __future__ import annotations

import bisect
from operator import attrgetter
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from .base import Alert, Annotation, Detector, MetricTable, StepRecord, reads_record
from .window import SHAPE_CACHE_SIZE, Window, feed_records, window_path

# Called with the detector and the exception when a detector fails; the detector is then
# dropped from the set (the live monitor must not crash the loop over a detector bug).
# Without it, the exception propagates.
OnDetectorError = Callable[[Detector, Exception], None]


class DetectorSet:
    """The detectors of one run, their pending planned changes and their caches.

    `feed(records)` streams (call it again with the next records); `scan(table or
    records)` reads a finished run at once with fresh copies of the detectors (the set
    itself is left as it was: to go on after a scan, feed instead). `annotate()` queues a
    planned change; `state_dict()`/`load_state_dict()` resume a stream exactly.
    """

    def __init__(self, detectors: Iterable[Detector], annotations: Iterable[Annotation] = (),
                 on_error: Optional[OnDetectorError] = None, windows: bool = True) -> None:
        """`windows=False`: every detector takes its records one by one through `update`
        (the reference the window paths are tested against)."""
        self.detectors: list[Detector] = list(detectors)
        self.on_error = on_error
        self.windows = windows
        self._pending: list[Annotation] = sorted(annotations, key=lambda a: a.step)
        self._by_shape: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[int, ...]] = {}
        self._pairs: dict[int, int] = {}
        self._plans: dict[tuple, list[tuple[int, int, Any]]] = {}  # see `_plan_window`
        self._link()

    def _link(self) -> None:
        """Pair each detector that can follow another (`follow(detectors)` sets its
        `leader`: PDM202 takes PDM201's loss baseline) with its leader; a pair is fed
        record by record, the leader first (`_feed_pair`)."""
        self._pairs: dict[int, int] = {}  # leader's index -> its follower's
        for index, detector in enumerate(self.detectors):
            follow = getattr(detector, "follow", None)
            if follow is None:
                continue
            follow(self.detectors)
            leader = getattr(detector, "leader", None)
            if leader is not None:
                self._pairs[next(i for i, d in enumerate(self.detectors) if d is leader)] = index
        self._plan()

    def _plan(self) -> None:
        """Which detectors take whole windows (`update_rows`), and which pairs are fed
        record by record: a pair with a window path each (the built-in one) takes a window
        each, in turn, the follower reusing the leader's judgement of the window (see
        LossDivergence). A leader with a window path takes its window first; a follower
        without one then takes its records by itself (it shares what it still can, see
        LossDivergence._shared)."""
        windowed = [self.windows and _windowed(type(d)) for d in self.detectors]
        self._windowed = windowed
        self._followers = {leader: follower for leader, follower in self._pairs.items() if not windowed[leader]}
        self._led = set(self._followers.values())
        self._plans = {}

    # -- what the set holds ----------------------------------------------------------
    @property
    def codes(self) -> list[str]:
        return [detector.code for detector in self.detectors]

    @property
    def pending(self) -> tuple[Annotation, ...]:
        """Planned changes not yet announced (no record has reached their step)."""
        return tuple(self._pending)

    def reads_any(self, *families: str) -> bool:
        """Does some detector read a metric of these families (`grad_norm` for
        `grad_norm/<layer>` ...)? A set holding a detector that declares nothing: yes."""
        declared = [tuple(getattr(d, "needs", ()) or ()) for d in self.detectors]
        if not any(declared):
            return bool(self.detectors)
        return any(need.split("/")[0] in families for needs in declared for need in needs)

    # -- planned changes ----------------------------------------------------------------
    def annotate(self, annotation: Annotation) -> None:
        """Queue a planned change; it is announced before the first record reaching its step."""
        bisect.insort(self._pending, annotation, key=lambda a: a.step)

    def announce(self, upto: int) -> list[Annotation]:
        """Announce now the pending changes with a step <= `upto` (e.g. at the end of a
        live run, for changes made after its last step); returns them."""
        due = [a for a in self._pending if a.step <= upto]
        del self._pending[:len(due)]
        for annotation in due:
            self._announce(annotation)
        return due

    def _announce(self, annotation: Annotation) -> None:
        for detector in list(self.detectors):
            self._call(detector, detector.annotate, annotation)

    # -- streaming ---------------------------------------------------------------------------
    def feed(self, records: Iterable[StepRecord]) -> list[Alert]:
        """The alerts these records raise, in record order (then detector order)."""
        records = list(records)
        cuts = self._cuts(records)
        if not cuts:  # the usual window: no planned change in it
            return self._feed_segment(records, 0, len(records)) if records else []
        alerts: list[Alert] = []
        start = 0
        for cut in [*cuts, len(records)]:
            if cut > start:
                alerts.extend(self._feed_segment(records, start, cut))
            if cut < len(records):
                self.announce(records[cut].step)
                for annotation in records[cut].extra.get("annotations", ()):
                    self._announce(annotation)
            start = cut
        return alerts

    def _cuts(self, records: Sequence[StepRecord]) -> list[int]:
        """Rows before which a planned change is announced."""
        if not self._pending:  # none queued: only a record's own annotations cut
            return [row for row, record in enumerate(records) if record.extra and record.extra.get("annotations")]
        cuts, cursor = [], 0
        for row, record in enumerate(records):
            due = cursor < len(self._pending) and self._pending[cursor].step <= record.step
            while cursor < len(self._pending) and self._pending[cursor].step <= record.step:
                cursor += 1
            if due or record.extra.get("annotations"):
                cuts.append(row)
        return cuts

    def _feed_segment(self, records: Sequence[StepRecord], start: int, end: int) -> list[Alert]:
        """Records [start, end) hold no planned change past the first: each detector takes
        them in one go: one call for the whole window where it has a window path
        (`update_rows`, see window.py), else its rows record by record (a pair, see
        `_link`, together); alerts are sorted back by (row, detector)."""
        segment = records[start:end] if start or end != len(records) else records
        metrics = list(map(_METRICS, segment))
        shapes = _shapes(segment, metrics)
        key = tuple(shapes)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan_window(key)
        found: list[tuple[int, int, Alert]] = []
        detectors = self.detectors
        window = None
        for index, kind, reads in plan:
            detector = detectors[index]
            if kind == _WINDOW:
                if window is None:
                    window = Window.of(segment, shapes, metrics)
                out: list[tuple[int, Alert]] = []
                try:
                    if "update" in detector.__dict__:  # replaced on the instance: that one judges
                        feed_records(detector, window, out)
                    else:
                        detector.update_rows(window, out)  # type: ignore[attr-defined]
                except Exception as exc:  # noqa: BLE001 - as in _call: handed to on_error, which decides
                    if self.on_error is None:
                        raise
                    self._drop(detector)
                    self.on_error(detector, exc)
                finally:  # the alerts raised before an exception are kept, as `_feed_rows` keeps them
                    if out:
                        found.extend((start + row, index, alert) for row, alert in out)
            elif kind == _PAIR:
                follower, leader_reads, follower_reads = reads
                rows_of = {index: _rows(shapes, key, leader_reads, start),
                           follower: _rows(shapes, key, follower_reads, start)}
                self._feed_pair(detectors, records, index, follower, rows_of, found)
            else:
                self._call(detector, _feed_rows, detector, records, _rows(shapes, key, reads, start), index, found)
        if len(found) > 1:
            found.sort(key=lambda item: (item[0], item[1]))  # stable: a detector's alerts keep their order
        return [alert for *_, alert in found]

    def _plan_window(self, key: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> list[tuple[int, int, Any]]:
        """Which detectors a window of these shapes (in the order the window first holds
        them) goes to, and how, in detector order: (index, _WINDOW, None) for a window
        path, (leader, _PAIR, (follower, the leader's shapes, the follower's shapes)) for
        a pair fed record by record, (index, _ROWS, its shapes) for one fed its records
        by itself (shapes as positions in `key`). Worked out once per combination of
        shapes: a run's windows hold few (the plain steps', a layer sample's)."""
        read_by: dict[int, list[int]] = {}
        for position, shape in enumerate(key):
            for index in self._readers_of(shape):
                read_by.setdefault(index, []).append(position)
        plan: list[tuple[int, int, Any]] = []
        windowed, followers = self._windowed, self._followers
        for index in range(len(self.detectors)):
            if index not in read_by and index not in followers:
                continue
            if windowed[index]:
                plan.append((index, _WINDOW, None))
            elif index in followers:
                follower = followers[index]
                # a windowed follower takes its window itself (above), none of its rows here
                theirs = () if windowed[follower] else tuple(read_by.get(follower, ()))
                plan.append((index, _PAIR, (follower, tuple(read_by.get(index, ())), theirs)))
            elif index not in self._led:
                plan.append((index, _ROWS, tuple(read_by[index])))
        if len(self._plans) < SHAPE_CACHE_SIZE:
            self._plans[key] = plan
        return plan

    def _feed_pair(self, detectors: list[Detector], records: Sequence[StepRecord], leader: int, follower: int,
                   rows_of: dict[int, list[int]], found: list[tuple[int, int, Alert]]) -> None:
        """A leader and its follower take their rows record by record, the leader first
        (the follower reuses what the leader just computed from the same record): the
        alerts are those of feeding them one after the other. If one fails, it leaves the
        set and the other takes the rest of its rows alone."""
        first, second = detectors[leader], detectors[follower]
        first_rows, second_rows = rows_of.get(leader, []), rows_of.get(follower, [])
        if first_rows == second_rows:
            rows, reads = first_rows, None  # both read every row (the usual case)
        else:
            reads = (set(first_rows), set(second_rows))
            rows = sorted(reads[0] | reads[1])
        update_first, update_second = first.update, second.update
        failing, at = first, 0
        try:
            for at, row in enumerate(rows):
                record = records[row]
                if reads is None or row in reads[0]:
                    failing = first
                    for alert in update_first(record):
                        found.append((row, leader, alert))
                if reads is None or row in reads[1]:
                    failing = second
                    for alert in update_second(record):
                        found.append((row, follower, alert))
        except Exception as exc:  # noqa: BLE001 - as in _call: handed to on_error, which decides
            if self.on_error is None:
                raise
            self._drop(failing)
            self.on_error(failing, exc)
            survivor, index, side = (second, follower, 1) if failing is first else (first, leader, 0)
            rest = [row for row in rows[at + (failing is second):] if reads is None or row in reads[side]]
            if rest:
                self._call(survivor, _feed_rows, survivor, records, rest, index, found)

    def _readers(self, record: StepRecord) -> tuple[int, ...]:
        return self._readers_of((tuple(record.metrics), tuple(record.extra)))

    def _readers_of(self, shape: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[int, ...]:
        # The names in their order: a tuple of interned strings hashes in a fraction of a
        # frozenset's time, and a window's records mostly share one order, so few keys.
        chosen = self._by_shape.get(shape)
        if chosen is None:
            chosen = tuple(i for i, d in enumerate(self.detectors)
                           if reads_record(d, shape[0], shape[1]))
            if len(self._by_shape) < SHAPE_CACHE_SIZE:
                self._by_shape[shape] = chosen
        return chosen

    def _call(self, detector: Detector, fn: Callable[..., Any], *args: Any) -> Any:
        if self.on_error is None:
            return fn(*args)
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - handed to on_error, which decides
            self._drop(detector)
            self.on_error(detector, exc)
            return None

    def _drop(self, detector: Detector) -> None:
        self.detectors = [d for d in self.detectors if d is not detector]
        self._by_shape.clear()
        self._link()

    # -- a whole run at once -------------------------------------------------------------
    def scan(self, run: Union[MetricTable, Iterable[StepRecord]]) -> list[Alert]:
        """All alerts of a whole run (a MetricTable, or records: tabled with the pending
        planned changes), vectorised where a detector has a fast path; exactly what
        `feed` gives. Fresh copies of the detectors run: this set is not changed."""
        table = run if isinstance(run, MetricTable) else MetricTable.from_records(run, self._pending)
        cache: dict = {}
        tagged: list[tuple[int, int, int, Alert]] = []
        for order, detector in enumerate(self.detectors):
            fresh = type(detector)(**detector.options)
            for sequence, (row, alert) in enumerate(fresh.scan_table(table, cache)):
                tagged.append((row, order, sequence, alert))
        tagged.sort(key=lambda t: t[:3])
        return [alert for *_, alert in tagged]

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable: every detector's state and the pending planned changes."""
        return {"version": 1, "detectors": [d.state_dict() for d in self.detectors],
                "pending": [{"step": a.step, "kind": a.kind, "note": a.note} for a in self._pending]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from `state_dict()` of a set holding the same detectors, in the same order."""
        states = state["detectors"]
        if [s.get("code") for s in states] != self.codes:
            raise ValueError(f"state of detectors {[s.get('code') for s in states]} given to a set of {self.codes}")
        for detector, detector_state in zip(self.detectors, states):
            detector.load_state_dict(detector_state)
        self._pending = sorted((Annotation(**a) for a in state.get("pending", ())), key=lambda a: a.step)


_METRICS, _EXTRA = attrgetter("metrics"), attrgetter("extra")
_WINDOWED: dict[type, bool] = {}
# How `_feed_segment` hands a window to a detector (see `_plan_window`).
_WINDOW, _PAIR, _ROWS = range(3)


def _windowed(cls: type) -> bool:
    """`window_path(cls)`, remembered."""
    found = _WINDOWED.get(cls)
    if found is None:
        found = _WINDOWED[cls] = window_path(cls)
    return found


def _shapes(records: Sequence[StepRecord], metrics: list[dict[str, float]]
            ) -> dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]]:
    """The rows (ascending) of each (metric names, extra keys: empty for an empty `extra`)
    of the records, in the order the records first hold them. The usual window (every
    record the same metrics in the same order, no extra) is found without a loop in Python."""
    names = list(map(tuple, metrics))
    if names and names.count(names[0]) == len(names) and not any(map(_EXTRA, records)):
        return {(names[0], ()): list(range(len(names)))}
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for row, (held, record) in enumerate(zip(names, records)):
        extra = record.extra
        shape = (held, tuple(extra) if extra else ())
        rows = shapes.get(shape)
        if rows is None:
            shapes[shape] = [row]
        else:
            rows.append(row)
    return shapes


def _rows(shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]],
          key: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...], positions: tuple[int, ...], start: int) -> list[int]:
    """The rows (in the records, ascending) of the window's shapes at `positions` of `key`."""
    if len(positions) == 1:
        return [row + start for row in shapes[key[positions[0]]]]
    return sorted(row + start for position in positions for row in shapes[key[position]])


def _feed_rows(detector: Detector, records: Sequence[StepRecord], rows: list[int], index: int,
               found: list[tuple[int, int, Alert]]) -> None:
    """Records `rows` to one detector; alerts go to `found` as they come, so those raised
    before an exception inside the detector are kept."""
    update = detector.update
    for row in rows:
        for alert in update(records[row]):
            found.append((row, index, alert))
