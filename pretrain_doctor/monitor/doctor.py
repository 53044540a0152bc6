"""The runtime monitor: `attach(model, optimizer)` returns a `Doctor`.

The Doctor is the front object: it takes the options, wires the parts together, and
holds the public API (`observe`, `should_skip_step`, `annotate`, `replay_batch`,
`sync`, `detach`, `summary`, `str(doctor)`). The parts:

- `capture.StepCapture`: the hooks, patches and taps that capture a step into
  `StepEntry`s (its origin-finding part is `capture_origin.NonFiniteOrigin`);
- `records.RecordBuilder` (torch-free): a step's host values become its StepRecord;
- `schedule.ProbeSchedule`: sampling intervals and the overhead account;
- `DetectorSet`, `sinks.Sinks` (one protocol, one list), `actions.AlertActions`.

At a sync point (every `sync_every` steps; under an overhead budget, possibly more) one
transfer brings the captured entries to the host, where they become StepRecords for
the detectors and the sinks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Union

import torch

from .. import __version__
from ..detectors.base import Alert, Annotation, Detector, StepRecord
from ..detectors.detector_set import DetectorSet
from . import transfer
from .actions import AlertActions, OnAlert, TrainingAlert, report_text, summary_of
from .attention import AttentionProbe
from .capture import StepCapture, Watched
from .capture_origin import NonFiniteOrigin
from .compiled import is_compiled_module, original_module
from .distributed import DistributedContext
from .guard import ProbeGuard, debug_mode, logger
from .optimizers import as_optimizer_list
from .options import DEFAULTS, MonitorOptions
from .records import StepEntry
from .schedule import ProbeSchedule, hook_clock
from .sinks import Sinks, open_sinks
from ..runlog import end_line, header_line, last_run_id, new_run_id

# Under an overhead budget, the most training time between two sync points: how late an
# alert may reach `on_alert` (and the run log its lines) when syncs are stretched.
MAX_SYNC_SECONDS = 1.0


class Doctor:
    """Watches one model and its optimizers; made by `attach` (see there for the options,
    given here as one `MonitorOptions`)."""

    def __init__(self, model: torch.nn.Module, optimizer: Any, options: MonitorOptions = DEFAULTS) -> None:
        self.options = options  # validated, defaults filled (options.py); unpacked once here
        o = options
        log_dir, overhead_budget, sync_every, start_step = o.log_dir, o.overhead_budget, o.sync_every, o.start_step
        select, ignore = o.select, o.ignore
        scaler, update_every, attention_every, skip_factor = o.scaler, o.update_every, o.attention_every, o.skip_factor
        layer_every = o.layer_every
        on_alert, action_level, detectors = o.on_alert, o.action_level, o.detectors
        replica_check_every, config = o.replica_check_every, o.config
        self.actions = AlertActions(on_alert, action_level)  # what on_alert does (actions.py)
        self.optimizers = as_optimizer_list(optimizer)
        self.model, self.optimizer = model, (self.optimizers or [None])[0]
        # Under torch.compile(model) the names and the eager forward are the original module's;
        # the loss hook sits on `model` (outside the compiled region when it is the compiled one).
        self._module = original_module(model)
        self.sync_every = sync_every
        self.skip_factor = skip_factor
        self.dist = DistributedContext.current()
        self.rank, self.world_size = self.dist.rank, self.dist.world_size
        self.guard = ProbeGuard()
        self._replica_check_every = replica_check_every
        watched = self._watch(None)
        chosen = list(detectors) if detectors is not None else _default_detectors(select, ignore, o.detector_options)
        self.detectors = DetectorSet(chosen, on_error=self._detector_failed)
        self.schedule = ProbeSchedule({
            # the doctor's own per-parameter gradient norms, for the global norm when the
            # loop does not clip (when it clips, `clip_grad_norm_` returns that norm for free)
            "grad_norm": 1,
            # per-parameter grad norms before the update and parameter norms after it, on
            # the same step (PDM303 divides one by the other), grouped into layers
            "layer_norms": layer_every,
            "update_ratio": update_every if self._needed("update_ratio") else 0,
            "attention": attention_every if self._needed("attn_entropy", "attn_max_logit") else 0,
            "log_z": attention_every if self._needed("log_z") else 0,
            # transfers and detector runs; stretched by a budget on one process only, since
            # every rank must reach the same sync points (their collectives pair up)
            "sync": sync_every,
            # on accelerators, the parameters' non-finite flags before each update (the NaN
            # origin's step and names without a host read; capture_origin.note_param_norms)
            "nonfinite_flags": 1 if not watched.on_host and sync_every > 1 else 0,
        }, overhead_budget, max_seconds={"sync": MAX_SYNC_SECONDS if self.world_size == 1 else 0.0},
            first_step=start_step)
        # Where the host may learn of a NaN before the update (reads when measured, or a read
        # every step), keep the step's inputs to replay; on one process only: a replay on the
        # ranks that saw a NaN alone would run FSDP's collectives unpaired.
        origin = NonFiniteOrigin(self._module, self.guard, sync_every, watched.on_host,
                                 keep_inputs=(watched.on_host or sync_every == 1) and self.world_size == 1)
        self.capture = StepCapture(
            model, self._module, self.optimizers, scaler, watched, self.schedule, self.guard, origin,
            AttentionProbe(self._module, self.guard, self._on_attention), self.dist, self._sync,
            sync_every=sync_every, skip_factor=skip_factor, start_step=start_step,
            compiled=is_compiled_module(model), rebuild=self._watch)
        self.alerts: list[Alert] = []
        self._annotations_to_log: list[Annotation] = []
        self._coverage_reported = False
        self._ended = False
        self._detached = False
        self._in_flight: Optional[transfer.InFlight] = None  # a window on its way to the host

        is_writer = self.dist.is_writer  # one run log per run, not per rank
        # A resumed run (start_step) continues the run log in log_dir: its run id, no second header.
        continued = last_run_id(log_dir) if start_step and log_dir is not None and is_writer else None
        self.run_id = continued or new_run_id()  # on every run-log line: runs sharing a log_dir stay apart
        self.sinks = Sinks(open_sinks(log_dir, self.run_id, tensorboard=o.tensorboard, console=o.console)
                           if is_writer else [], self.guard)
        self._config = config
        try:  # all or nothing: a failed attach leaves no hook, patch or open file behind
            self.capture.install()
        except BaseException:
            self.capture.uninstall()
            self.sinks.close()
            raise
        if continued is None:
            self.sinks.start(self._header)
        if start_step:
            self.annotate("resume", f"resumed at step {start_step}: the run continues at step {start_step + 1}")
        if not self.optimizers:
            logger.warning("pretrain-doctor: attached without an optimizer: call doctor.observe(loss=...) once "
                           "per step; gradient, update and clip probes are off")
        table = watched.table
        if table.not_in_optimizer or table.in_several_groups:
            self.capture.entries.append(StepEntry(0))  # PDM305 is known now: report it at attach
            try:
                self._sync()
            except TrainingAlert:
                self.detach(reason="attach refused: parameters outside the optimizer")
                raise

    # ----------------------------------------------------------------- set-up
    def _watch(self, previous: Optional[Watched]) -> Watched:
        """What depends on the watched parameters: at attach, and after `add_param_group`."""
        return Watched(self._module, self.optimizers, self.dist, self._replica_check_every, previous)

    @property
    def step(self) -> int:
        """Optimizer steps seen so far (skipped ones included), counted from `start_step`."""
        return self.capture.step

    @property
    def scaler(self) -> Any:
        """The GradScaler whose scale is logged (given, or found at its first step)."""
        return self.capture.scaler

    def _needed(self, *metrics: str) -> bool:
        """Does some detector read these metrics? (Undeclared needs count as 'yes'.)"""
        return self.detectors.reads_any(*metrics)

    def _detector_failed(self, detector: Detector, exc: Exception) -> None:
        """A detector raised: it leaves the set (see DetectorSet), reported once."""
        if debug_mode():
            raise exc
        self.guard.fail(f"detector:{detector.code}", exc)

    def _on_attention(self, name: str, stats: torch.Tensor) -> None:
        self.capture.on_attention(name, stats)

    def _header(self) -> dict[str, Any]:
        parameters = sum(p.numel() for p in self._module.parameters())
        return header_line(
            self.run_id, tool_version=__version__, world_size=self.world_size,
            model={"parameters": parameters, "class": type(self._module).__name__,
                   "layers": self.capture.watched.table.layers},
            plan=_plan_of(self._config),
            options={
                "sync_every": self.sync_every,
                "on_alert": self.actions.on_alert if isinstance(self.actions.on_alert, str) else "callable",
                "detectors": self.detectors.codes,
                "sampling": self._sampling_note(),
            })

    def _sampling_note(self) -> dict[str, Any]:
        note: dict[str, Any] = {
            "every_step": ["loss", "lr", "step_time", "non-finite loss/grad flags", "grad_norm (pre-clip)",
                           "clip_ratio", "loss_scale"],
            "sampled": {"layer_norms": "grad_norm/<layer>, param_norm/<layer>, non-zero gradient check of "
                                       "every parameter (parameters never seen with one: every step)",
                        "grad_norm": "the doctor's own global grad norm, when the loop does not clip",
                        "sync": "one device-to-host transfer, the detectors and the run-log lines of every "
                                "step since the last sync (no step is left out)",
                        "nonfinite_flags": "on accelerators, which parameters are non-finite before the "
                                           "update (the NaN origin), every step unless a budget samples them",
                        "nonfinite_grads": "names: on sampled steps, and on every grad_norm step on "
                                           "accelerators; none after a NaN pre-clip norm (clipping spread it "
                                           "to every gradient)"},
            "intervals": dict(self.schedule.interval),
            "attention": "heads/queries subsampled: <= 4 heads, <= 32 query positions of the first sequence",
            "log_z": "<= 256 evenly spaced output positions",
        }
        if self.capture.compiled:
            note["torch_compile"] = ("the model runs compiled: attention statistics and the NaN localizer's hooks "
                                     "stay out of its forward (see monitor/compiled.py)")
        if self.schedule.budget is not None:
            note["overhead_budget"] = self.schedule.budget
            note["adaptive"] = ("intervals of grad_norm, layer_norms, update_ratio, attention, log_z and sync "
                                "stretch to keep the doctor's measured host time under the budget; sync only "
                                f"on one process, to at most {MAX_SYNC_SECONDS:g} s of training between "
                                "sync points; final intervals are in the end record")
            note["never_thinned"] = ("every step's loss, lr, pre-clip grad norm and non-finite check (on the CPU "
                                     "read when measured: a NaN is seen at its step), and every step judged by "
                                     "every detector at the next sync point")
        return note

    # ------------------------------------------------------------ user calls
    def observe(self, loss: Any = None, **scalars: Any) -> None:
        """Report the loss (and any other scalars, e.g. `val_loss=` after an evaluation) of
        the current step; tensors on an accelerator stay there until the next sync.
        Attached without an optimizer, each call is one step."""
        self.capture.observe(loss, scalars)

    def annotate(self, kind: str, note: str = "") -> None:
        """Record a planned change (end of warmup, resume, data-mix change); it takes effect
        at the next optimizer step."""
        annotation = Annotation(self.step + 1, kind, note)
        self.detectors.annotate(annotation)
        self._annotations_to_log.append(annotation)

    def should_skip_step(self) -> bool:
        """True when the gradients just computed are poisoned: non-finite, or a grad-norm
        spike of `skip_factor` x the recent median (PaLM's "skip the bad batch"). Spikes
        several steps in a row are a new level (an lr jump), not bad batches: after three,
        the next is applied and the median starts over (see `skip.SkipRule`).

        Call it after backward, before `optimizer.step()`. It reads one value from the
        device (a sync the loop asks for). The loop may then skip `step()` or zero the
        gradients and step anyway; either way the run log marks the step `skip_reason`.
        """
        return self.capture.judge_skip()

    def replay_batch(self, forward: Callable[[], Any]) -> Optional[dict[str, Any]]:
        """Re-run one forward (`lambda: model(**batch)`) with non-finite localisation armed;
        returns where the first NaN/Inf appeared. RNG state is restored afterwards."""
        return self.capture.replay_batch(forward)

    # ------------------------------------------------------------------ sync
    def sync(self) -> list[Alert]:
        """Bring pending measurements to the host now and run the detectors."""
        return self._sync(scheduled=False)

    def _sync(self, scheduled: bool = False) -> list[Alert]:
        """`scheduled`: a sync point of the schedule, which closes a window of the overhead
        account (see `ProbeSchedule.charge_sync`). A window in flight lands first; on a CUDA
        device a scheduled one is sent on its way (see `transfer.InFlight`) and lands at the
        next step, where `capture.landing_due` calls here again."""
        alerts = self._land() if self._in_flight is not None else []
        if scheduled and not self.capture.sync_due:  # only the landing was due
            return alerts
        entries = self.capture.take_entries()
        if not entries:
            return alerts
        started = hook_clock()
        host = None
        if scheduled and self.world_size == 1 and self.sync_every > 1:
            try:
                packed = self.guard.call("sync", transfer.pack, entries)
            except BaseException:  # KeyboardInterrupt while reading observed values: nothing is lost
                self.capture.put_back(entries)  # detach's final sync takes them
                raise
            if packed is not None and self._send(entries, packed):
                self.schedule.spent += hook_clock() - started
                return alerts
            host = None if packed is None else self.guard.call("sync", transfer.read, packed)
        return alerts + self._process(entries, host, started, scheduled)

    def _send(self, entries: list[StepEntry], packed: transfer.Packed) -> bool:
        """On a CUDA device, a scheduled window goes on its way (see `transfer.InFlight`):
        on one process only, where no rank waits for another's collectives, and not at
        `sync_every=1`, which asks for every step on the host before the next update."""
        if packed.flat is None or not transfer.in_background(packed.flat.device):
            return False
        self._in_flight = self.guard.call("sync", transfer.InFlight, entries, packed)
        self.capture.landing_due = self._in_flight is not None
        return self.capture.landing_due

    def _land(self) -> list[Alert]:
        """The window in flight reached the host: its records, detectors and run-log lines."""
        flight, self._in_flight = self._in_flight, None
        self.capture.landing_due = False
        started = hook_clock()
        host = self.guard.call("sync", flight.land)
        return self._process(flight.entries, host, started, scheduled=True)

    def _process(self, entries: list[StepEntry], host: Optional[list[dict[str, Any]]], started: float,
                 scheduled: bool) -> list[Alert]:
        """A window's StepRecords (from `host`, its values on the host; None: read them now)
        through the detectors, the sinks and `on_alert`."""
        records = alerts = None
        written: set[str] = set()
        try:
            records = self.guard.call("sync", self._records_of, entries, host) or []
            alerts = self._run_detectors(records)
            self.sinks.write(records, alerts, written)
        except BaseException:  # KeyboardInterrupt, SystemExit: the window must still reach the run log
            if records is None:
                self.capture.put_back(entries)  # detach's final sync takes them
            else:
                self.sinks.write(records, alerts or [], written)
            raise
        self.guard.call("sync", self.capture.after_sync, records)
        if scheduled and self.schedule.budget is not None:
            self.guard.call("sync", self.schedule.charge_from_step_times, entries)
        self.schedule.charge_sync(started, self.step if scheduled else None)
        self.capture.refresh_plain_until()  # the intervals may have moved
        self.actions.act(alerts, detaching=self._detached)  # on_alert (see actions.AlertActions)
        return alerts

    def _records_of(self, entries: list[StepEntry], host: Optional[list[dict[str, Any]]] = None) -> list[StepRecord]:
        watched, origin = self.capture.watched, self.capture.origin
        if host is None:
            host = transfer.to_host(entries)
        watched.reducer.reduce(host)  # global loss and norms on every rank (no-op on one process)
        now = time.time()
        records = watched.records.build(entries, host, now, epoch_offset=now - time.perf_counter())
        if watched.records.only_plain_steps:
            origin.known_clean(records)
        origin.name_first_bad_step(host, records)
        if records and self.guard.enabled("param_check"):
            self.guard.call("param_check", origin.scan_params_at_sync, records)
        table = watched.table
        if records and not self._coverage_reported:
            self._coverage_reported = True
            if table.not_in_optimizer:
                records[0].extra["params_not_in_optimizer"] = table.not_in_optimizer
            if table.in_several_groups:
                records[0].extra["params_in_several_groups"] = table.in_several_groups
        watched.pending = watched.records.never_seen()
        if records and watched.records.grad_steps and watched.pending:
            records[-1].extra["params_without_grad"] = [table.names[i] for i in watched.pending]
            records[-1].extra["steps_observed"] = watched.records.grad_steps
        if watched.replicas.due(self.step):
            report = watched.replicas.check(self.step)
            if report.diverged_anywhere:
                records[-1].extra["replica_mismatch"] = report.as_data()
        return records

    def _run_detectors(self, records: list[StepRecord]) -> list[Alert]:
        alerts = self.detectors.feed(records)
        self._announce_annotations(upto=self.step)
        self.alerts.extend(alerts)
        return alerts

    def _announce_annotations(self, upto: int) -> None:
        """Planned changes up to step `upto` reach the detectors (those a record reached
        already did) and the run log."""
        self.detectors.announce(upto)
        due = [a for a in self._annotations_to_log if a.step <= upto]
        self._annotations_to_log = self._annotations_to_log[len(due):]
        self.sinks.annotate(due)

    @property
    def stop_requested(self) -> bool:
        """`on_alert="stop"` saw a serious alert: the loop should stop."""
        return self.actions.stop_requested

    def _write_end(self, reason: str) -> None:
        if self._ended:
            return
        self._ended = True
        extra: dict[str, Any] = {"internal_errors": self.guard.errors} if self.guard.errors else {}
        self.sinks.end(end_line(self.step, reason, sampling=self.schedule.describe(), **extra))

    # -------------------------------------------------------------- teardown
    def detach(self, reason: str = "finished") -> None:
        """Flush what is pending, write the end record, remove every hook, patch and tap.
        Never fails for the doctor's own sake (a full disk included); with
        `on_alert="raise"`, a serious alert of the last window is raised after that."""
        if self._detached:
            return
        self._detached = True
        self.capture.stop()  # from here on no probe arms again
        try:
            self.guard.call("detach", self._final_sync)
        finally:
            self.capture.uninstall()
            if reason == "finished" and self.actions.stop_reason:
                reason = self.actions.stop_reason
            self._write_end(reason)
            self.sinks.close()
        held = self.actions.take_held()
        if held is not None and not reason.startswith("exception"):
            raise TrainingAlert(held)

    def _final_sync(self) -> None:
        if self.capture.skip_pending:  # the last step was skipped: count it too
            self.guard.call("step", self.capture.close_skipped_by_loop)
        self._sync()
        self._announce_annotations(upto=self.step + 1)  # made after the last step: still logged

    def __enter__(self) -> "Doctor":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.detach("finished" if exc_type is None else f"exception: {exc_type.__name__}")

    # ----------------------------------------------------------------- report
    def summary(self) -> dict[str, Any]:
        return summary_of(self.step, self.alerts, self.stop_requested, self.guard.errors, self.schedule.describe())

    def __str__(self) -> str:
        """The summary line, then every alert it counts (see actions.report_text)."""
        return report_text(self.summary(), self.alerts)


def _default_detectors(select: Any, ignore: Any, options: Mapping[str, Any]) -> list[Detector]:
    from ..detectors import default_detectors

    return list(default_detectors(select=select, ignore=ignore, options=options))


def _plan_of(config: Any) -> Any:
    """The TrainingPlan (or the config path) stored in the log header."""
    if config is None:
        return None
    if hasattr(config, "model_dump"):
        return config.model_dump(mode="json", exclude_none=True)
    try:
        from ..check.engine import load_plan

        _, _, plan = load_plan(config)
        return {"path": str(config), **plan.model_dump(mode="json", exclude_none=True)}
    except Exception as exc:  # noqa: BLE001 - a config the linter cannot read must not stop training
        return {"path": str(config), "error": str(exc)}


def attach(model: torch.nn.Module, optimizer: Any, log_dir: Optional[Union[str, Path]] = DEFAULTS.log_dir,
           tensorboard: bool = DEFAULTS.tensorboard, sync_every: int = DEFAULTS.sync_every,
           overhead_budget: Optional[float] = DEFAULTS.overhead_budget, on_alert: OnAlert = DEFAULTS.on_alert,
           select: Any = DEFAULTS.select, ignore: Any = DEFAULTS.ignore, config: Any = DEFAULTS.config, *,
           scaler: Any = DEFAULTS.scaler, layer_every: int = DEFAULTS.layer_every,
           update_every: int = DEFAULTS.update_every,
           attention_every: int = DEFAULTS.attention_every, replica_check_every: int = DEFAULTS.replica_check_every,
           action_level: str = DEFAULTS.action_level, skip_factor: float = DEFAULTS.skip_factor,
           detectors: Optional[Iterable[Detector]] = DEFAULTS.detectors, console: bool = DEFAULTS.console,
           start_step: int = DEFAULTS.start_step, detector_options: Optional[Mapping[str, Any]] = None,
           options: Optional[MonitorOptions] = None) -> Doctor:
    """Start monitoring `model`; returns the Doctor (also a context manager).

    `optimizer`: a torch optimizer, a trainer's wrapper of one (accelerate, Lightning:
    unwrapped), any object with a `step()` (wrapped on the instance), a list of them (one
    training step begins before the first steps and ends after the last one did), or
    None (each `doctor.observe(loss=...)` is then one step). `model` may be compiled
    (`torch.compile(model)`, before or after attach): the doctor adds no graph break or
    recompile and changes no value; attention statistics are off for a compiled model. Parameters with
    `requires_grad=False` are not watched; `add_param_group` is followed.

    `scaler` (a GradScaler with a step of its own; torch's is seen without it),
    `layer_every`, `update_every` and `attention_every` (sampling intervals, steps: per-layer
    gradient and weight norms, update ratios, attention statistics and output log Z),
    `replica_check_every` (steps), `action_level` (the lowest severity `on_alert` acts
    on), `skip_factor` (`should_skip_step`'s grad-norm spike factor), `detectors`
    (explicit detector instances instead of the defaults), `console` (alerts on stderr),
    `start_step` (a run resumed from the checkpoint of that step: the step count goes on
    from it, a `resume` annotation is made, and the run log already in `log_dir` is
    continued under its run id, without a second header),
    `detector_options` (per detector code or slug, `{"PDM201": {"z_spike": 8}}`, or an
    option for every detector that has it, `{"grace_steps": 50}`; the options and their
    defaults are in `pretrain-doctor explain PDMxxx`).

    `options`: all of the above as one `MonitorOptions` object (the same one the trainer
    callbacks take), instead of the keywords. An unknown option, detector or detector
    option is a TypeError or ValueError that names it (with a did-you-mean).
    """
    given = dict(log_dir=log_dir, tensorboard=tensorboard, sync_every=sync_every, overhead_budget=overhead_budget,
                 on_alert=on_alert, select=select, ignore=ignore, config=config, scaler=scaler,
                 layer_every=layer_every, update_every=update_every, attention_every=attention_every,
                 replica_check_every=replica_check_every, action_level=action_level, skip_factor=skip_factor,
                 detectors=detectors, console=console, start_step=start_step,
                 detector_options=detector_options or {})
    if options is None:
        options = MonitorOptions.of("attach", **given)
    else:
        if not isinstance(options, MonitorOptions):
            raise TypeError(f"attach: options must be a MonitorOptions, not {type(options).__name__}")
        also = [name for name, value in given.items() if not _is_default(name, value)]
        if also:
            raise TypeError(f"attach: give options= or keyword options, not both (also given: {', '.join(also)})")
    return Doctor(model, optimizer, options)


def _is_default(name: str, value: Any) -> bool:
    default = getattr(DEFAULTS, name)
    return value is default or (type(value) is type(default) and value == default)
