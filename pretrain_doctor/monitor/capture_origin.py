"""Where a step's NaN/Inf came from: the part of step capture that looks for an origin.

Three moments can name it, from the earliest:

1. Before the update, when the host knows the step is poisoned (on the CPU, where values
   are read when measured; with `sync_every=1`; or because the loop asked
   `should_skip_step()`): the parameters already non-finite are named, and the step's
   batch runs again with per-module checks (PDM103), before the optimizer spreads it.
2. On an accelerator between sync points the host reads nothing, so the check runs on
   the device (`note_param_norms`): every step, before the update, which parameters are
   non-finite, kept as the first step each went bad, read at the next sync point with
   the rest of the window. The loss and the gradient norms are held per step anyway.
   The first offending step and its parameters are then known exactly, although late.
3. After an update that ran on non-finite values, only where the NaN is now: the next
   training forward is checked, and the alert says the origin is not known and how to
   get it (`should_skip_step`, `sync_every=1`).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from ..detectors.base import StepRecord
from .guard import ProbeGuard
from .localize import InputReplay, NonFiniteLocalizer, host_knows_finite
from .params import ParamTable
from .probes import param_norms
from .records import StepEntry, poisoned
from .transfer import all_finite

LOCALIZE_EVERY = 100  # steps between two localisations (each arms hooks on every module)
BEFORE_KEY = "nonfinite_params_before_update"
# an entry's per-parameter norms before its update, on the device: a non-finite norm is a bad parameter
NORMS_KEY = "mask/param_norms_before_update"


def note_param_norms(table: ParamTable, entry: StepEntry) -> None:
    """The device's non-finite flags of a step: which parameters are non-finite before its update.

    The parameters' norms (a NaN or Inf anywhere makes its tensor's norm non-finite), held as the
    step's vector. Usually they come from the foreach call that measures the gradients' norms
    (`GradProbe.measure_with_params`): one call where two cost a host-bound H200 step 2 x 4 launches,
    each on the host's clock (benchmarks/RESULTS.md 2026-12-04); alone here where no gradient vector is
    measured at the step. No value is read: the vectors reach the host with the window's one transfer,
    where the first step with a non-finite norm is found (`NonFiniteOrigin.name_first_bad_step`)."""
    if NORMS_KEY not in entry.tensors:
        with torch.no_grad():
            entry.tensors[NORMS_KEY] = param_norms(table)


class NonFiniteOrigin:
    """Finds a poisoned step's origin (see the module docstring) for one StepCapture."""

    def __init__(self, module: torch.nn.Module, guard: ProbeGuard, sync_every: int,
                 reads_on_host: bool, keep_inputs: bool) -> None:
        self.guard = guard
        self.sync_every = sync_every
        self.localizer = NonFiniteLocalizer(module, guard)
        # the step's batches, run again for PDM103 before the update where the host knows in time
        self.replay = InputReplay(module, self.localizer)
        self.keep_inputs = keep_inputs
        # the device keeps per-step flags (`note_param_norms`) where the host reads nothing between syncs
        self.keeps_flags = not reads_on_host and sync_every > 1
        self.table: Optional[ParamTable] = None
        self.active = True  # off once the doctor detaches: nothing arms again
        self.compiled = False  # a compiled model: no hooks on its modules
        self._last_localized = -10**9
        self._scanned = False  # parameters already scanned in this non-finite episode
        self._poisoned_window: Optional[tuple[list[StepRecord], list[StepRecord]]] = None  # see `_poisoned`
        self._before_update: Optional[list[str]] = None  # named by should_skip_step

    # ------------------------------------------------------------ before the update
    def check_before_update(self, entry: StepEntry, held: list[Any], step: int, flags_due: bool = True) -> None:
        """If this step's loss or gradients are non-finite and the host can know it now,
        name the parameters that are non-finite before the optimizer spreads the NaN,
        and the module whose output went non-finite first (the step's batch run again).
        Where the host cannot know without a read, the device keeps the flags (at the
        steps `flags_due`: every step unless an overhead budget samples them)."""
        if BEFORE_KEY in entry.extra:
            return
        finite = host_knows_finite(held)
        if finite is None and self.sync_every == 1:
            finite = all_finite(held)
        if finite is None and self.keeps_flags and self.table is not None:
            if flags_due:
                note_param_norms(self.table, entry)
            return
        if finite is not False:
            return
        if not self._scanned:  # once per non-finite episode, not at every step of a run left NaN
            self._scanned = True
            names = self.nonfinite_param_names()
            if names:
                entry.extra[BEFORE_KEY] = names
        if step - self._last_localized >= LOCALIZE_EVERY and self.guard.enabled("localize"):
            self._last_localized = step  # no later forward (after the update) is checked
            found = self.guard.call("localize", self.replay.locate)
            if found is not None:
                entry.extra["nonfinite_activation"] = found

    def skip_judged_poisoned(self, step: int) -> None:
        """`should_skip_step` read a non-finite norm before any update: name the poisoned
        parameters now and localise on the next forward (the skipped steps may never
        reach a sync)."""
        self._before_update = self.guard.call("param_check", self.nonfinite_param_names)
        self._scanned = True
        self.guard.call("localize", self.arm, step)

    def take_before_update(self, entry: StepEntry) -> None:
        if self._before_update:
            entry.extra[BEFORE_KEY] = self._before_update
        self._before_update = None

    def nonfinite_param_names(self) -> list[str]:
        """The parameters holding NaN/Inf now: one pass over them, one host read."""
        assert self.table is not None
        norms = param_norms(self.table).cpu().numpy()
        return [self.table.names[i] for i in np.flatnonzero(~np.isfinite(norms))]

    def arm(self, step: int, spread_since: Optional[int] = None) -> bool:
        """Arm PDM103 for the next training forward (at most once per LOCALIZE_EVERY steps).
        `spread_since`: the step whose update ran on non-finite values (the forward checked
        shows where the NaN is now, not where it was born). True if it armed."""
        if (step - self._last_localized >= LOCALIZE_EVERY and self.guard.enabled("localize") and self.active
                and not self.compiled):  # its hooks on every module would enter the compiled graph
            self._last_localized = step
            self.localizer.arm(**({} if spread_since is None else {"spread_since": spread_since}))
            return True
        return False

    # -------------------------------------------------------------- at the sync
    def name_first_bad_step(self, host: list[dict[str, Any]], records: list[StepRecord]) -> None:
        """The device flags of the window (see note_param_norms): the first step whose
        parameters were non-finite before its update gets their names, as the origin,
        unless an earlier step was poisoned already (then its update spread them)."""
        if self.table is None or not any(NORMS_KEY in values for values in host):
            return
        for values, record in zip(host, records):
            norms = values.get(NORMS_KEY)
            # one vectorised test a step; the names only for the rare bad one
            bad = () if norms is None or np.isfinite(norms).all() else np.flatnonzero(~np.isfinite(norms))
            if len(bad):
                names = [self.table.names[i] for i in bad if i < len(self.table.names)]
                if names and BEFORE_KEY not in record.extra and not self._scanned:
                    record.extra[BEFORE_KEY] = names
                self._scanned = True
                return
            if poisoned(record):  # poisoned with finite parameters: born in the forward or backward
                self._scanned = True
                return

    def scan_params_at_sync(self, records: list[StepRecord]) -> None:
        """First sync of a non-finite episode: scan the parameters once, unless that was done.
        After a skipped step no update has run since, so they are named as before the update."""
        bad = self._poisoned(records)
        if not bad:
            self._scanned = False
            return
        known = ("nonfinite_params", BEFORE_KEY)
        if self._scanned or any(key in r.extra for r in records for key in known):
            self._scanned = True
            return
        self._scanned = True
        names = self.nonfinite_param_names()
        last = records[-1]
        skipped = "skip_reason" in last.extra or last.extra.get("skipped_step")
        if names:
            last.extra[known[1] if skipped else known[0]] = names

    def known_clean(self, records: list[StepRecord]) -> None:
        """None of this window's records is `poisoned` (the caller knows it by how they were
        built): the sync's questions take that answer instead of looking at each record."""
        self._poisoned_window = (records, [])

    def _poisoned(self, records: list[StepRecord]) -> list[StepRecord]:
        """The window's poisoned records, found once per sync (both sync checks ask)."""
        known = self._poisoned_window
        if known is not None and known[0] is records:
            return known[1]
        bad = [r for r in records if poisoned(r)]
        self._poisoned_window = (records, bad)
        return bad

    def after_sync(self, records: list[StepRecord], step: int) -> bool:
        """Arm the localizer after a poisoned window; True if it armed."""
        bad = self._poisoned(records)
        self._poisoned_window = None  # the last of the sync's questions
        if not bad:
            return False
        applied = [r.step for r in bad if "skip_reason" not in r.extra and not r.extra.get("skipped_step")]
        return self.arm(step, spread_since=applied[0] if applied else None)

    def disarm(self) -> None:
        self.localizer.disarm()
