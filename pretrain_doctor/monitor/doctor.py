"""The runtime monitor: `attach(model, optimizer)` returns a `Doctor`.

Life of a step: forward hooks pick up the loss (HF outputs with `.loss`; micro-batch
losses are averaged, or added up when the forward got transformers' `num_items_in_batch`)
or the loop calls `doctor.observe(loss=...)`; the optimizer's pre-step hook takes the
gradient facts before the update (clipping, the one thing that touches gradients before
it, is intercepted: its returned norm is the step's pre-clip norm), measuring
per-parameter gradient norms only on sampled steps or for a loop that does not clip
(see `_wants_grad_vector`); the post-step hook closes the step. Most steps are plain
(see `_refresh_plain_until`): their hooks only keep the loss, the lr, the pre-clip norm
and the time. Everything measured stays on the device in `StepEntry`s; every
`sync_every` steps (under an overhead budget, possibly more) one transfer brings it to
the host, where it becomes StepRecords for the detectors and the sinks.
"""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np
import torch

from .. import __version__
from ..detectors.base import Alert, Annotation, Detector, StepRecord
from ..detectors.detector_set import DetectorSet
from .attention import AttentionProbe
from .distributed import (DistributedContext, ReplicaChecker, SyncReducer, local_tensor,
                          reduce_squared_norms)
from .guard import ProbeGuard, debug_mode, logger
from .localize import InputReplay, NonFiniteLocalizer, host_knows_finite, run_replay
from .params import ParamTable
from .optimizers import as_optimizer_list, engine_grad_norm, remove_handles, reports_grad_norm, watch_steps
from .patching import FunctionPatch
from .probes import GradProbe, UpdateProbe, output_log_z, param_norms
from .compiled import TracedLoss, is_compiled_module, is_compiling, original_module
from .records import RecordBuilder, StepEntry, poisoned
from . import taps, transfer
from .schedule import ProbeSchedule, hook_clock
from .skip import SkipRule
from .transfer import Held, all_finite, hold
from ..runlog import end_line, header_line, last_run_id, new_run_id
from .sinks import Sinks, open_sinks
from .actions import AlertActions, OnAlert, TrainingAlert, report_text, summary_of

# Under an overhead budget, the most training time between two sync points: how late an
# alert may reach `on_alert` (and the run log its lines) when syncs are stretched.
MAX_SYNC_SECONDS = 1.0


def _find_output(output: Any, name: str) -> Any:
    if isinstance(output, dict):
        return output.get(name)
    return getattr(output, name, None)


class Doctor:
    """Watches one model and optimizer; see `attach` for the options."""

    def __init__(self, model: torch.nn.Module, optimizer: Any, *,
                 log_dir: Optional[Union[str, Path]] = None, tensorboard: bool = False,
                 sync_every: int = 10, overhead_budget: Optional[float] = None,
                 on_alert: OnAlert = "warn", select: Any = None, ignore: Any = None,
                 config: Any = None, scaler: Any = None, update_every: int = 100,
                 attention_every: int = 200, replica_check_every: int = 200,
                 action_level: str = "warning", skip_factor: float = 10.0,
                 detectors: Optional[Iterable[Detector]] = None, console: bool = True,
                 start_step: int = 0, **detector_options: Any) -> None:
        if sync_every < 1:
            raise ValueError("sync_every must be >= 1")
        if start_step < 0:
            raise ValueError("start_step must be >= 0")
        self.actions = AlertActions(on_alert, action_level)  # what on_alert does (actions.py)
        self.optimizers = as_optimizer_list(optimizer)
        # the front optimizer: its group 0 gives the lr
        self.model, self.optimizer, self.scaler = model, (self.optimizers or [None])[0], scaler
        # a DeepSpeed-style optimizer that keeps its step's global grad norm (no torch clip runs)
        self._norm_reporter = next((o for o in reversed(self.optimizers) if reports_grad_norm(o)), None)
        # Under torch.compile(model) the names and the eager forward are the original module's;
        # the loss hook sits on `model` (outside the compiled region when it is the compiled one).
        self._module = original_module(model)
        self._compiled = is_compiled_module(model)  # also set at the first compiled forward
        self.sync_every = sync_every
        self.skip_factor = skip_factor
        self.skip_rule = SkipRule(skip_factor)
        self.dist = DistributedContext.current()
        self.rank, self.world_size = self.dist.rank, self.dist.world_size
        self.guard = ProbeGuard()
        self._replica_check_every = replica_check_every
        self._watch_parameters()
        chosen = list(detectors) if detectors is not None else self._default_detectors(select, ignore,
                                                                                         detector_options)
        self.detectors = DetectorSet(chosen, on_error=self._detector_failed)
        self.schedule = ProbeSchedule({
            # the doctor's own per-parameter gradient norms, for the global norm when the
            # loop does not clip (when it clips, `clip_grad_norm_` returns that norm for free)
            "grad_norm": 1,
            # per-parameter grad norms before the update and parameter norms after it, on
            # the same step (PDM303 divides one by the other), grouped into layers
            "layer_norms": sync_every,
            "update_ratio": update_every if self._needed("update_ratio") else 0,
            "attention": attention_every if self._needed("attn_entropy", "attn_max_logit") else 0,
            "log_z": attention_every if self._needed("log_z") else 0,
            # transfers and detector runs; stretched by a budget on one process only, since
            # every rank must reach the same sync points (their collectives pair up)
            "sync": sync_every,
        }, overhead_budget, max_seconds={"sync": MAX_SYNC_SECONDS if self.world_size == 1 else 0.0},
            first_step=start_step)
        self.attention = AttentionProbe(self._module, self.guard, self._on_attention)
        self.localizer = NonFiniteLocalizer(self._module, self.guard)
        self._replay = InputReplay(self._module, self.localizer)  # the step's batches, for PDM103 before the update
        self._eval_mode_said = False
        # Where the host may learn of a NaN before the update (on the CPU, or reading every
        # step), keep the step's inputs to replay; on one process only: a replay on the
        # ranks that saw a NaN alone would run FSDP's collectives unpaired.
        self._keep_inputs = (self._on_cpu or sync_every == 1) and self.world_size == 1

        self.step = start_step              # optimizer steps seen (skipped ones included), from start_step
        self.alerts: list[Alert] = []
        self._entries: list[StepEntry] = []
        self._current: Optional[StepEntry] = None
        self._hook_losses: list[Held] = []
        devices = sorted(self.table.devices, key=str)
        self._traced = TracedLoss(devices[0] if len(devices) == 1 else None)  # the loss under torch.compile
        self._hook_shares = 0  # how many of them are shares of the step's loss (num_items_in_batch)
        self._observed: dict[str, list[Any]] = {}
        self._observe_after_step: Optional[bool] = None
        self._pending_log_z: Optional[Held] = None
        self._attention_stats: dict[str, Held] = {}
        self._clip: Optional[tuple[Held, float]] = None
        self._sync_due = False
        self._last_step_end: Optional[float] = None
        self._annotations_to_log: list[Annotation] = []
        self._last_localized_step = -10**9
        self._coverage_reported = False
        self._skip_verdict: Optional[tuple[str, float]] = None
        self._before_update: Optional[list[str]] = None  # non-finite params seen by should_skip_step
        self._poison_scanned = False  # parameters already scanned in this non-finite episode
        self._grads_in_post_hook = False
        self._plain_allowed = True
        self._plain_until = 0  # first step that is not plain (see `_refresh_plain_until`)
        self._ended = False
        self._detached = False

        is_writer = self.dist.is_writer  # one run log per run, not per rank
        # A resumed run (start_step) continues the run log in log_dir: its run id, no second header.
        continued = last_run_id(log_dir) if start_step and log_dir is not None and is_writer else None
        self.run_id = continued or new_run_id()  # on every run-log line: runs sharing a log_dir stay apart
        self.sinks = Sinks(open_sinks(log_dir, self.run_id, tensorboard=tensorboard, console=console)
                           if is_writer else [], self.guard)
        self._config = config
        self._handles: list[Any] = []
        self._patches: list[FunctionPatch] = []
        try:  # all or nothing: a failed attach leaves no hook, patch or open file behind
            self._install()
        except BaseException:
            self._uninstall()
            self.sinks.close()
            raise
        if continued is None:
            self.sinks.start(self._header)
        if start_step:
            self.annotate("resume", f"resumed at step {start_step}: the run continues at step {start_step + 1}")
        if not self.optimizers:
            logger.warning("pretrain-doctor: attached without an optimizer: call doctor.observe(loss=...) once "
                           "per step; gradient, update and clip probes are off")
        if self.table.not_in_optimizer or self.table.in_several_groups:
            self._entries.append(StepEntry(0))  # PDM305 is known now: report it at attach
            try:
                self._sync()
            except TrainingAlert:
                self.detach(reason="attach refused: parameters outside the optimizer")
                raise

    # ----------------------------------------------------------------- set-up
    def _watch_parameters(self) -> None:
        """(Re)build what depends on the set of watched parameters: at attach, and when
        the optimizer gained a parameter group (`add_param_group`)."""
        self.table = ParamTable.build(self._module, self.optimizers)
        self._group_count = self._count_groups()
        self._param_ids = {id(p) for p in self.table.params}
        self.replicas = ReplicaChecker(zip(self.table.names, self.table.params), self.dist,
                                       self._replica_check_every)
        self._reducer = SyncReducer(self.dist, self.table.params)
        self.grad_probe = GradProbe(self.table)
        self.update_probe = UpdateProbe(self.table)
        self.records = RecordBuilder(self.table.names, self.table.layers, self.table.layer_index)
        # Parameters not yet seen with a non-zero gradient (PDM306): between samples only
        # these are measured, every step, so a branch used on a few steps is still seen.
        self._pending: list[int] = list(range(len(self.table.params)))
        # On the CPU a per-parameter norm kernel costs as much as the rest of the doctor's
        # step; on accelerators it is cheap and asynchronous (see `_wants_grad_vector`).
        self._on_cpu = all(device.type == "cpu" for device in self.table.devices)
        # Plain steps of a loop that does not clip measure the global norm themselves
        # (one process: a rank's own norm is not the global one until the sync's reduction).
        self._own_norm_plain = (self._on_cpu and self.world_size == 1 and not self.table.sharded
                                and self._norm_reporter is None)

    def _count_groups(self) -> int:
        count = 0  # a loop, not sum(generator): this runs at every step
        for optimizer in self.optimizers:
            count += len(getattr(optimizer, "param_groups", None) or ())
        return count

    def _follow_new_groups(self) -> None:
        """`add_param_group` since the last step: sync what was measured on the old set of
        parameters, then watch the new one (its new parameters start unseen, as at attach)."""
        seen = dict(zip(map(id, self.table.params), self.records.ever_nonzero.tolist()))
        self._sync()
        records = self.records
        self._watch_parameters()
        self.records = records.rebuilt(self.table.names, self.table.layers, self.table.layer_index,
                                       [seen.get(id(p), False) for p in self.table.params])
        self._pending = self.records.never_seen()

    def _default_detectors(self, select: Any, ignore: Any, options: dict[str, Any]) -> list[Detector]:
        from ..detectors import default_detectors

        return list(default_detectors(select=select, ignore=ignore, **options))

    def _needed(self, *metrics: str) -> bool:
        """Does some detector read these metrics? (Undeclared needs count as 'yes'.)"""
        return self.detectors.reads_any(*metrics)

    def _detector_failed(self, detector: Detector, exc: Exception) -> None:
        """A detector raised: it leaves the set (see DetectorSet), reported once."""
        if debug_mode():
            raise exc
        self.guard.fail(f"detector:{detector.code}", exc)

    def _install(self) -> None:
        self._handles = watch_steps(self.optimizers, self._on_step_pre, self._on_step_post)
        self._handles.append(self.model.register_forward_hook(self._on_forward, with_kwargs=True))
        # Clipping and GradScaler.step are seen through process-wide taps (taps.py), which
        # hold this doctor weakly and hand it the calls on its parameters and optimizer.
        self._param_ids = {id(p) for p in self.table.params}
        taps.CLIP.subscribe(self)
        taps.SCALER.subscribe(self)
        self._patches = []
        if self.scaler is not None and getattr(type(self.scaler), "step", None) is not torch.amp.GradScaler.step:
            # a scaler class of its own (GradScaler.step skips optimizer.step() on overflow,
            # so no optimizer hook sees those steps)
            self._patches.append(FunctionPatch(self.scaler, "step", self._around_scaler_step))
        for patch in self._patches:
            patch.install()

    def _header(self) -> dict[str, Any]:
        parameters = sum(p.numel() for p in self._module.parameters())
        return header_line(
            self.run_id, tool_version=__version__, world_size=self.world_size,
            model={"parameters": parameters, "class": type(self._module).__name__, "layers": self.table.layers},
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
                        "nonfinite_grads": "names: on sampled steps, and on every grad_norm step on "
                                           "accelerators; none after a NaN pre-clip norm (clipping spread it "
                                           "to every gradient)"},
            "intervals": dict(self.schedule.interval),
            "attention": "heads/queries subsampled: <= 4 heads, <= 32 query positions of the first sequence",
            "log_z": "<= 256 evenly spaced output positions",
        }
        if self._compiled:
            note["torch_compile"] = ("the model runs compiled: attention statistics and the NaN localizer's hooks "
                                     "stay out of its forward (see monitor/compiled.py)")
        if self.schedule.budget is not None:
            note["overhead_budget"] = self.schedule.budget
            note["adaptive"] = ("intervals of grad_norm, layer_norms, update_ratio, attention, log_z and sync "
                                "stretch to keep the doctor's measured host time under the budget; sync only "
                                f"on one process, to at most {MAX_SYNC_SECONDS:g} s of training between "
                                "sync points; final intervals are in the end record")
        return note

    # -------------------------------------------------------------- the hooks
    def _on_forward(self, module: torch.nn.Module, args: Any, kwargs: dict[str, Any], output: Any) -> None:
        if is_compiling():  # traced into a compiled graph: only what compiled.py allows
            if module.training and torch.is_grad_enabled():
                self._traced.capture(output, kwargs)
            return
        started = hook_clock()
        if torch.is_grad_enabled() and (module.training or self._trains_in_eval_mode(output)):
            if self._skip_verdict is not None:
                self.guard.call("step", self._close_skipped_by_loop)
            if self._keep_inputs:
                self._replay.keep(args, kwargs)
            if self.attention.armed:
                self.attention.forward_done()
            self.guard.call("loss", self._capture_outputs, output, kwargs)
        self.schedule.spent += hook_clock() - started

    def _trains_in_eval_mode(self, output: Any) -> bool:
        """A forward in eval mode, with grad on, whose output needs a gradient: training
        with the model left in eval mode (as `from_pretrained` returns it). Its loss is
        captured all the same; said once, since dropout is then off."""
        value = output if isinstance(output, torch.Tensor) else _find_output(output, "loss")
        if value is None:
            value = _find_output(output, "logits")
        if not (isinstance(value, torch.Tensor) and value.requires_grad):
            return False
        if not self._eval_mode_said:
            self._eval_mode_said = True
            logger.warning("pretrain-doctor: the model trains in eval mode (dropout off): did you forget "
                           "model.train()? Its losses are recorded all the same")
        return True

    def _capture_outputs(self, output: Any, kwargs: dict[str, Any]) -> None:
        """Keep the output's loss (a non-scalar one is dropped at the sync, off the hot path).
        With `num_items_in_batch` among the forward's arguments (transformers with gradient
        accumulation) the loss was divided by the target tokens of the whole accumulated
        batch: it is this micro-batch's share of the step's loss."""
        loss = output.get("loss") if isinstance(output, dict) else getattr(output, "loss", None)
        if isinstance(loss, torch.Tensor):
            self._hook_losses.append(hold(loss))
            if kwargs and kwargs.get("num_items_in_batch") is not None:
                self._hook_shares += 1
        upcoming = self.step + 1
        if upcoming >= self._plain_until and self.schedule.due("log_z", upcoming) and self._pending_log_z is None:
            logits = _find_output(output, "logits")
            if isinstance(logits, torch.Tensor) and logits.dim() >= 2:
                started = hook_clock()
                log_z = self.guard.call("log_z", output_log_z, logits)
                self._pending_log_z = None if log_z is None else hold(log_z)
                self.schedule.record_cost("log_z", hook_clock() - started)

    def _on_step_pre(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._sync_due:
            self._sync(scheduled=True)  # may raise TrainingAlert: deliberately outside the guard
        if self._count_groups() != self._group_count:
            self.guard.call("step", self._follow_new_groups)
        started = hook_clock()
        # `step(closure)` (Lightning, LBFGS) runs forward and backward INSIDE step, after
        # this hook: the gradients of this step only exist in the post-step hook.
        self._grads_in_post_hook = bool(args or kwargs) and _has_closure(args, kwargs)
        if self._traced.seen:
            self.guard.call("loss", self._take_traced_loss)
        self._current = self.guard.call("step", self._begin_step) or StepEntry(self.step + 1)
        self.schedule.spent += hook_clock() - started

    def _on_step_post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        started = hook_clock()
        entry = self._current or StepEntry(self.step + 1)
        self._current = None
        if entry.plain:
            self._close_plain_step(entry, started)
        else:
            if self._grads_in_post_hook:
                self.guard.call("step", self._take_gradient_facts, entry)
            if self._norm_reporter is not None and "clip_total_norm" not in entry.tensors:
                self.guard.call("step", self._take_engine_norm, entry)
            self.guard.call("step", self._end_step, entry)
            self._close_step(entry)
        self.schedule.spent += hook_clock() - started

    def _begin_step(self) -> StepEntry:
        if self.step + 1 < self._plain_until and self._skip_verdict is None and not self._grads_in_post_hook:
            clip = self._clip
            if clip is not None:
                if host_knows_finite((clip[0], *self._hook_losses)) is not False:
                    self._clip = None
                    return self._plain_entry(clip)
            elif self._own_norm_plain:
                plain = self._plain_unclipped_entry()
                if plain is not None:
                    return plain
        entry = StepEntry(self.step + 1)
        if not self._grads_in_post_hook:
            self._take_gradient_facts(entry)
            if "nonfinite_params_before_update" not in entry.extra:
                self.guard.call("param_check", self._check_before_update, entry)
        self._put_lr(entry)
        if self.schedule.due("update_ratio", entry.step) and self.guard.enabled("update_ratio"):
            t0 = hook_clock()
            self.guard.call("update_ratio", self.update_probe.snapshot)
            self.schedule.record_cost("update_ratio", hook_clock() - t0)
        return entry

    def _plain_entry(self, clip: tuple[Held, float]) -> StepEntry:
        """A plain step (see `_refresh_plain_until`) measures the lr and takes the clip's
        pre-clip norm; the post-step hook adds its time and loss."""
        entry = StepEntry(self.step + 1, {"clip_max_norm": clip[1]}, {"clip_total_norm": clip[0]},
                          {"_grads_checked": True})
        entry.plain = True
        self._put_lr(entry)
        return entry

    def _plain_unclipped_entry(self) -> Optional[StepEntry]:
        """A plain step of a loop that does not clip, on one CPU process: the doctor's own
        global norm as one scalar (where `grad_norm` is due), not the per-parameter vector
        of a full step. None, for the full path, when it or the loss is not finite."""
        entry = StepEntry(self.step + 1, extra={"_grads_checked": True})
        if self.schedule.due("grad_norm", entry.step):
            started = hook_clock()
            total = self.guard.call("grad_norm", self.grad_probe.total)
            self.schedule.record_cost("grad_norm", hook_clock() - started)
            if total is not None:
                total = hold(total)  # a float: read on the CPU
                if not math.isfinite(total):
                    return None
                entry.tensors["grad_total"] = total
        if host_knows_finite(self._hook_losses) is False:
            return None
        entry.plain = True
        self._put_lr(entry)
        return entry

    def _refresh_plain_until(self) -> None:
        """Set the first step that is not plain.

        A plain step measures the loss, the lr, the step time and the clip's pre-clip norm,
        and its hooks skip every other check: each costs microseconds of cold-cache time,
        on the steps of milliseconds the overhead budget is judged against. Steps are
        plain until a sampled probe is due (attention is armed at the close of the step
        before), and never while a per-step probe is on (a GradScaler, `observe()`,
        `sync_every=1`, parameters not yet seen with a gradient) or the localizer, the
        attention probe or the update snapshot is armed.
        """
        if (not self._plain_allowed or self.scaler is not None or self._pending or self.sync_every == 1
                or self.localizer.armed or self.attention.armed or self.update_probe.armed):
            self._plain_until = 0
            return
        upcoming = self.step + 1
        sampled = ["layer_norms", "update_ratio", "log_z"] + ([] if self._on_cpu else ["grad_norm"])
        firsts = [self.schedule.next_due(name, upcoming) for name in sampled]
        firsts.append(self.schedule.next_due("attention", upcoming + 1) - 1)
        self._plain_until = min(firsts)

    def _put_lr(self, entry: StepEntry) -> None:
        """Group 0's learning rate into the entry: a float, or a copy of a tensor lr on an
        accelerator (schedulers may update it in place)."""
        groups = getattr(self.optimizer, "param_groups", None)
        lr = groups[0].get("lr") if groups and isinstance(groups[0], dict) else None
        if isinstance(lr, torch.Tensor) and not lr.is_cpu:
            entry.tensors["lr"] = lr.detach().clone()
        elif lr is not None:
            entry.scalars["lr"] = float(lr)

    def _take_gradient_facts(self, entry: StepEntry) -> None:
        """Gradient norms, the pre-clip norm and a skip verdict: before the update, or
        after it when `step(closure)` computed the gradients (the update leaves them)."""
        clip, self._clip = self._clip, None
        if clip is not None:
            entry.tensors["clip_total_norm"], entry.scalars["clip_max_norm"] = clip
        layers = self.schedule.due("layer_norms", entry.step)
        if self._wants_grad_vector(entry.step, clip, layers) and self.guard.enabled("grad_norm"):
            t0 = hook_clock()
            norms = self.guard.call("grad_norm", self.grad_probe.measure)
            self.schedule.record_cost("layer_norms" if layers else "grad_norm", hook_clock() - t0)
            if norms is not None:
                entry.tensors["grad_norms"] = hold(norms)
                entry.extra["_grads_checked"] = True
                if layers:
                    entry.extra["_layer_norms"] = True
        else:
            entry.extra["_grads_checked"] = True
            if self._pending:
                self.guard.call("grad_norm", self._check_pending, entry)
        if self._skip_verdict is not None:
            reason, total = self._skip_verdict
            self._skip_verdict = None
            entry.extra["skip_reason"] = reason
            entry.scalars["grad_norm"] = total
            self._take_before_update(entry)

    def _wants_grad_vector(self, step: int, clip: Optional[tuple[Held, float]], layers: bool) -> bool:
        """Measure per-parameter gradient norms at this step? On sampled steps; whenever
        `grad_norm` is due when the loop does not clip (they make the global norm); and on
        accelerators also when it clips, to name the parameters of a non-finite norm (on
        the CPU, where the kernel is not cheap, names come from sampled steps, and the
        localizer arms after any non-finite norm)."""
        return layers or ((clip is None or not self._on_cpu) and self.schedule.due("grad_norm", step))

    def _check_pending(self, entry: StepEntry) -> None:
        """Norms of the parameters never yet seen with a non-zero gradient (usually none)."""
        seen = self.grad_probe.measure(self._pending)
        if seen is not None:
            entry.tensors["grad_seen"] = hold(seen)

    def _check_before_update(self, entry: StepEntry) -> None:
        """If this step's loss or gradients are non-finite, name the parameters that are
        non-finite before the optimizer spreads the NaN, and the module whose output went
        non-finite first (the step's batch run again). The host knows on the CPU, where
        values are read when measured; elsewhere only with `sync_every=1` (one host read
        per step)."""
        held = [entry.tensors[key] for key in ("grad_norms", "clip_total_norm") if key in entry.tensors]
        held += self._hook_losses
        finite = host_knows_finite(held)
        if finite is None and self.sync_every == 1:
            finite = all_finite(held)
        if finite is not False:
            return
        if not self._poison_scanned:  # once per non-finite episode, not at every step of a run left NaN
            self._poison_scanned = True
            names = self._nonfinite_param_names()
            if names:
                entry.extra["nonfinite_params_before_update"] = names
        if self.step - self._last_localized_step >= 100 and self.guard.enabled("localize"):
            self._last_localized_step = self.step  # no later forward (after the update) is checked
            found = self.guard.call("localize", self._replay.locate)
            if found is not None:
                entry.extra["nonfinite_activation"] = found

    def _nonfinite_param_names(self) -> list[str]:
        """The parameters holding NaN/Inf now: one pass over them, one host read."""
        norms = param_norms(self.table).cpu().numpy()
        return [self.table.names[i] for i in np.flatnonzero(~np.isfinite(norms))]

    def _take_before_update(self, entry: StepEntry) -> None:
        if self._before_update:
            entry.extra["nonfinite_params_before_update"] = self._before_update
        self._before_update = None

    def _arm_localizer(self, spread_since: Optional[int] = None) -> None:
        """Arm PDM103 for the next training forward (at most once per 100 steps).
        `spread_since`: the step whose update ran on non-finite values (the forward checked
        shows where the NaN is now, not where it was born)."""
        if (self.step - self._last_localized_step >= 100 and self.guard.enabled("localize") and not self._detached
                and not self._compiled):  # its hooks on every module would enter the compiled graph
            self._last_localized_step = self.step
            self.localizer.arm(**({} if spread_since is None else {"spread_since": spread_since}))
            self._plain_until = 0

    def _take_engine_norm(self, entry: StepEntry) -> None:
        """A DeepSpeed-style optimizer computed the global norm in its own step and clipped
        with it (see optimizers.engine_grad_norm): that norm is the step's pre-clip norm."""
        found = engine_grad_norm(self._norm_reporter)
        if found is None:
            return
        norm, max_norm, skipped = found
        if skipped:
            entry.extra["skipped_step"] = True
            return
        entry.tensors["clip_total_norm"] = hold(norm) if isinstance(norm, torch.Tensor) else float(norm)
        entry.scalars["clip_max_norm"] = max_norm
        entry.extra["_norms_before_clip"] = True  # it clips inside step(): measured norms are pre-clip

    def _end_step(self, entry: StepEntry) -> None:
        if self.update_probe.armed:
            t0 = hook_clock()
            measured = self.guard.call("update_ratio", self.update_probe.measure)
            self.update_probe.release()
            if measured is not None:
                entry.tensors["update_delta"], entry.tensors["update_base"] = (hold(t) for t in measured)
            self.schedule.record_cost("update_ratio", hook_clock() - t0)
        if self.schedule.due("layer_norms", entry.step) and self.guard.enabled("param_check"):
            t0 = hook_clock()
            norms = self.guard.call("param_check", param_norms, self.table)
            if norms is not None:
                entry.tensors["param_norms"] = hold(norms)
            self.schedule.record_cost("layer_norms", hook_clock() - t0)

    def _close_plain_step(self, entry: StepEntry, now: float) -> None:
        """`_close_step` for a plain step: its time and loss, nothing else to look at."""
        self._take_time_and_loss(entry, now)
        if self._observed and self._observe_after_step is False:
            entry.extra["_observed"], self._observed = self._observed, {}
        self._append(entry)

    def _take_traced_loss(self) -> None:
        """The loss a compiled forward added up (see compiled.py). From now on the model is
        known to run compiled: no probe enters its forward again."""
        loss = self._traced.take()
        if loss is not None:
            self._hook_losses.append(hold(loss))
        if not self._compiled:
            self._compiled = True
            self.attention.disarm()
            self._plain_until = 0

    def _take_time_and_loss(self, entry: StepEntry, now: float) -> None:
        if self._traced.seen:
            self._take_traced_loss()
        if self._last_step_end is not None:
            entry.scalars["step_time"] = now - self._last_step_end
        self._last_step_end = entry.ended = now
        self._replay.inputs = []
        if self._hook_losses:
            # Shares of one token-weighted loss add up to it; plain micro-batch means average.
            entry.tensors["loss"] = self._combine(self._hook_losses, add=self._hook_shares == len(self._hook_losses))
            self._hook_losses, self._hook_shares = [], 0

    def _append(self, entry: StepEntry) -> None:
        """The step is closed: count it, and ask for a sync when one is due."""
        self._entries.append(entry)
        self.step = entry.step
        if self.schedule.due("sync", self.step):
            self._sync_due = True

    def _close_step(self, entry: StepEntry, scaler_skipped: bool = False) -> None:
        """Bookkeeping common to applied and skipped steps; never raises."""
        self._take_time_and_loss(entry, time.perf_counter())
        if self._pending_log_z is not None:
            entry.tensors["log_z"] = self._pending_log_z
            self._pending_log_z = None
        if self._attention_stats:
            for name, stats in self._attention_stats.items():
                entry.tensors[f"attn/{name}"] = stats
            self._attention_stats = {}
        if self._observe_after_step is False and self._observed:
            entry.extra["_observed"] = self._observed
            self._observed = {}
        if self.scaler is not None:
            scale = getattr(self.scaler, "_scale", None)
            if isinstance(scale, torch.Tensor):  # updated in place by the scaler: a copy
                entry.tensors["loss_scale"] = scale.item() if scale.is_cpu else scale.detach().clone().float().reshape(())
        if scaler_skipped:
            entry.extra["skipped_step"] = True
        if self.localizer.armed and self.localizer.checked:
            self.localizer.disarm()
            found = self.localizer.take_result()
            if found is not None:
                entry.extra["nonfinite_activation"] = found
        if self.attention.armed or self.schedule.due("attention", entry.step + 1):
            self.guard.call("attention", self._rearm_attention, entry.step + 1)
        self._append(entry)
        self._refresh_plain_until()

    def _rearm_attention(self, upcoming: int) -> None:
        started = hook_clock()
        sampled = self.attention.armed
        if sampled:
            self.attention.disarm()
        if (self.schedule.due("attention", upcoming) and self.guard.enabled("attention") and not self._detached
                and not self._compiled):  # its patches and hooks would enter the compiled graph
            self.attention.arm()
        if sampled:
            # its measurements ran inside the model's forward, where the hooks' clocks do not
            spent, self.attention.spent = self.attention.spent, 0.0
            self.schedule.spent += spent
            self.schedule.record_cost("attention", spent + hook_clock() - started)

    def _on_attention(self, name: str, stats: torch.Tensor) -> None:
        """A layer's attention stats: its first call of the step (a layer run twice in one
        forward, a shared block, is logged once)."""
        if name not in self._attention_stats:
            self._attention_stats[name] = hold(stats)

    @staticmethod
    def _combine(values: list[Held], add: bool = False) -> Held:
        """The step's loss from its micro-batch losses: their mean, or their sum (`add`).
        Non-scalar losses are no step loss: left out here, and dropped by `transfer.to_host`."""
        if len(values) == 1:
            return values[0]  # one micro-batch: nothing to combine (`transfer.to_host` converts it)
        numbers = [v for v in values if isinstance(v, float)]  # held on the CPU (see `hold`)
        if numbers:
            return sum(numbers) if add else sum(numbers) / len(numbers)
        scalars = [v.float().reshape(()) for v in values if isinstance(v, torch.Tensor) and v.numel() == 1]
        if not scalars:
            return values[0]
        stacked = torch.stack(scalars)
        return stacked.sum() if add else stacked.mean()

    # ------------------------------------------------------ patched functions
    def owns(self, parameter: torch.Tensor) -> bool:
        """Is this one of the watched parameters? (The clip tap asks.)"""
        return id(parameter) in self._param_ids

    def on_clip(self, total_norm: torch.Tensor, max_norm: float) -> None:
        """The loop clipped this doctor's gradients: `total_norm` is the pre-clip norm."""
        if math.isfinite(max_norm) and not self._detached:
            # FSDP2 returns a replicated DTensor: its local value is the norm.
            self._clip = (hold(local_tensor(total_norm)), max_norm)

    def watches_optimizer(self, optimizer: Any) -> bool:
        """Is this the optimizer whose step ends a training step? (The scaler tap asks.)"""
        return bool(self.optimizers) and optimizer is self.optimizers[-1] and not self._detached

    def around_scaler_step(self, original: Callable[..., Any], scaler: Any, optimizer: Any,
                           *args: Any, **kwargs: Any) -> Any:
        """GradScaler.step on this doctor's optimizer (the scaler tap calls it)."""
        if self.watches_optimizer(optimizer) and self.scaler is None:
            self.scaler = scaler  # from now on its scale is logged every step
            self._plain_until = 0
        return self._around_scaler_step(functools.partial(original, scaler), optimizer, *args, **kwargs)

    def _around_scaler_step(self, original: Callable[..., Any], optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        before = self.step
        result = original(optimizer, *args, **kwargs)
        if self.watches_optimizer(optimizer) and self.step == before:
            # GradScaler found inf/NaN and skipped optimizer.step(): no hook fired.
            if self._sync_due:
                self._sync(scheduled=True)
            self._close_step(StepEntry(self.step + 1), scaler_skipped=True)
        return result

    # ------------------------------------------------------------ user calls
    def observe(self, loss: Any = None, **scalars: Any) -> None:
        """Report the loss (and any other scalars, e.g. `val_loss=` after an evaluation) of
        the current step; tensors on an accelerator stay there until the next sync.
        Attached without an optimizer, each call is one step."""
        if self._observe_after_step is None:
            self._observe_after_step = self.step > 0 and bool(self.optimizers)
        if loss is not None and self._plain_allowed:
            # a loop reporting its loss every step: its values ride on full entries (an
            # occasional `val_loss=` rides on whichever entry is there)
            self._plain_allowed, self._plain_until = False, 0
        values = dict(scalars)
        if loss is not None:
            values["loss"] = loss
        target: Optional[dict[str, list[Any]]] = self._observed
        if self._observe_after_step:
            # that step's entry, unless it was synced already (a loop calling `sync()`):
            # its measurements are then dropped
            target = self._entries[-1].extra.setdefault("_observed", {}) if self._entries else None
        evaluated = None
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                value = value.detach()
                value = hold(value if value.numel() == 1 else value.float().mean())
            if name.startswith("val_"):
                evaluated = self._evaluation_target() if evaluated is None else evaluated
                evaluated.setdefault(name, []).append(value)
            elif target is not None:
                target.setdefault(name, []).append(value)
        if not self.optimizers and not self._detached:
            self._close_observed_step()

    def _evaluation_target(self) -> dict[str, list[Any]]:
        """Where an evaluation's values (`val_…`) go: to the step it followed, since it
        judges the model that step made, also in a loop that reports its loss before the
        step; when that step was synced already, to a line of its own for that step (on
        the next step it would be one step late)."""
        if not self.optimizers or self.step == 0:
            return self._observed  # each observe() is a step / no step yet: the first one
        if not (self._entries and self._entries[-1].step == self.step):
            self._entries.append(StepEntry(self.step))
        return self._entries[-1].extra.setdefault("_observed", {})

    def _close_observed_step(self) -> None:
        """Without an optimizer, an `observe()` call is a step: close it (and sync when due)."""
        if self._sync_due:
            self._sync(scheduled=True)
        entry = StepEntry(self.step + 1)
        self.guard.call("step", self._close_step, entry)

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
        total = self.guard.call("should_skip_step", self._current_grad_norm)
        if total is None:
            return False
        reason = self.skip_rule.judge(total, self.records.median_grad_norm(), self.records.grad_history)
        if reason is None:
            return False
        self._skip_verdict = (reason, total)
        if not math.isfinite(total):
            # The host knows now, before any update: name the poisoned parameters and
            # localise on the next forward (the skipped steps may never reach a sync).
            self._before_update = self.guard.call("param_check", self._nonfinite_param_names)
            self._poison_scanned = True
            self.guard.call("localize", self._arm_localizer)
        return True

    def _current_grad_norm(self) -> Optional[float]:
        if self._clip is not None:
            return float(self._clip[0])
        norms = self.grad_probe.measure()
        if norms is None:
            return None
        # One scalar per rank: its share of the squared global norm (one collective element).
        return float(reduce_squared_norms(self.dist, (norms.square() / self._reducer.factors).sum().reshape(1)))

    def _close_skipped_by_loop(self) -> None:
        """The loop skipped `optimizer.step()` after a skip verdict: count that step."""
        reason, total = self._skip_verdict or ("", float("nan"))
        self._skip_verdict = None
        self._clip = None
        entry = StepEntry(self.step + 1, scalars={"grad_norm": total}, extra={"skip_reason": reason})
        self._take_before_update(entry)
        self._close_step(entry)

    def replay_batch(self, forward: Callable[[], Any]) -> Optional[dict[str, Any]]:
        """Re-run one forward (`lambda: model(**batch)`) with non-finite localisation armed;
        returns where the first NaN/Inf appeared. RNG state is restored afterwards."""
        found = run_replay(self._module, self.localizer, forward)
        if found is not None and self._entries:
            self._entries[-1].extra["nonfinite_activation"] = found
        elif found is not None:
            self._entries.append(StepEntry(self.step, extra={"nonfinite_activation": found}))
        return found

    # ------------------------------------------------------------------ sync
    def sync(self) -> list[Alert]:
        """Bring pending measurements to the host now and run the detectors."""
        return self._sync(scheduled=False)

    def _sync(self, scheduled: bool = False) -> list[Alert]:
        """`scheduled`: a sync point of the schedule, which closes a window of the overhead
        account; the others (attach, `sync()`, detach) leave their cost to the window they
        fall in, so a short last window does not read as a costly one."""
        self._sync_due = False
        entries, self._entries = self._entries, []
        if not entries:
            return []
        started = hook_clock()
        records = alerts = None
        written: set[str] = set()
        try:
            records = self.guard.call("sync", self._records_of, entries) or []
            alerts = self._run_detectors(records)
            self.sinks.write(records, alerts, written)
        except BaseException:  # KeyboardInterrupt, SystemExit: the window must still reach the run log
            if records is None:
                self._entries = entries + self._entries  # detach's final sync takes them
            else:
                self.sinks.write(records, alerts or [], written)
            raise
        self.guard.call("sync", self._after_sync, records)
        if scheduled and self.schedule.budget is not None:
            self.guard.call("sync", self.schedule.charge_from_step_times, entries)
        wall = hook_clock()
        self.schedule.spent += wall - started
        if scheduled:
            self.schedule.close_window(self.step, wall, wall - started)
        self._refresh_plain_until()  # the intervals may have moved
        self._act(alerts)
        return alerts

    def _records_of(self, entries: list[StepEntry]) -> list[StepRecord]:
        host = transfer.to_host(entries)
        self._reducer.reduce(host)  # global loss and norms on every rank (no-op on one process)
        now = time.time()
        records = self.records.build(entries, host, now, epoch_offset=now - time.perf_counter())
        if records and self.guard.enabled("param_check"):
            self.guard.call("param_check", self._scan_params_at_sync, records)
        if records and not self._coverage_reported:
            self._coverage_reported = True
            if self.table.not_in_optimizer:
                records[0].extra["params_not_in_optimizer"] = self.table.not_in_optimizer
            if self.table.in_several_groups:
                records[0].extra["params_in_several_groups"] = self.table.in_several_groups
        self._pending = self.records.never_seen()
        if records and self.records.grad_steps and self._pending:
            without = [self.table.names[i] for i in self._pending]
            if without:
                records[-1].extra["params_without_grad"] = without
                records[-1].extra["steps_observed"] = self.records.grad_steps
        if self.replicas.due(self.step):
            report = self.replicas.check(self.step)
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

    def _after_sync(self, records: list[StepRecord]) -> None:
        applied = [r.step for r in records if poisoned(r) and "skip_reason" not in r.extra
                   and not r.extra.get("skipped_step")]
        if applied or any(poisoned(r) for r in records):
            self._arm_localizer(spread_since=applied[0] if applied else None)

    def _scan_params_at_sync(self, records: list[StepRecord]) -> None:
        """First sync of a non-finite episode: scan the parameters once, unless that was done.
        After a skipped step no update has run since, so they are named as before the update."""
        if not any(poisoned(r) for r in records):
            self._poison_scanned = False
            return
        known = ("nonfinite_params", "nonfinite_params_before_update")
        if self._poison_scanned or any(key in r.extra for r in records for key in known):
            self._poison_scanned = True
            return
        self._poison_scanned = True
        names = self._nonfinite_param_names()
        last = records[-1]
        skipped = "skip_reason" in last.extra or last.extra.get("skipped_step")
        if names:
            last.extra[known[1] if skipped else known[0]] = names

    def _act(self, alerts: list[Alert]) -> None:
        """`on_alert` on this sync's alerts (see actions.AlertActions); while detaching a
        "raise" is kept for detach to raise once everything is removed."""
        self.actions.act(alerts, detaching=self._detached)

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
        self._detached = True  # from here on no probe arms again
        try:
            self.guard.call("detach", self._final_sync)
        finally:
            self._uninstall()
            if reason == "finished" and self.actions.stop_reason:
                reason = self.actions.stop_reason
            self._write_end(reason)
            self.sinks.close()
        held = self.actions.take_held()
        if held is not None and not reason.startswith("exception"):
            raise TrainingAlert(held)

    def _final_sync(self) -> None:
        if self._skip_verdict is not None:  # the last step was skipped: count it too
            self.guard.call("step", self._close_skipped_by_loop)
        self._sync()
        self._announce_annotations(upto=self.step + 1)  # made after the last step: still logged

    def _uninstall(self) -> None:
        """Remove every hook, patch and tap subscription and disarm every probe."""
        remove_handles(self._handles)
        self._handles = []
        for patch in self._patches:
            patch.remove()
        taps.CLIP.unsubscribe(self)
        taps.SCALER.unsubscribe(self)
        self.attention.disarm()
        self.localizer.disarm()
        self.update_probe.release()

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


def _has_closure(args: Any, kwargs: Any) -> bool:
    """Was `optimizer.step` called with a closure (positionally or by keyword)?"""
    closure = (kwargs or {}).get("closure")
    if closure is None and args:
        closure = args[0]
    return callable(closure)


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


def attach(model: torch.nn.Module, optimizer: Any, log_dir: Optional[Union[str, Path]] = None,
           tensorboard: bool = False, sync_every: int = 10, overhead_budget: Optional[float] = None,
           on_alert: OnAlert = "warn", select: Any = None, ignore: Any = None, config: Any = None, *,
           scaler: Any = None, update_every: int = 100, attention_every: int = 200,
           replica_check_every: int = 200, action_level: str = "warning", skip_factor: float = 10.0,
           detectors: Optional[Iterable[Detector]] = None, console: bool = True, start_step: int = 0,
           **detector_options: Any) -> Doctor:
    """Start monitoring `model`; returns the Doctor (also a context manager).

    `optimizer`: a torch optimizer, a trainer's wrapper of one (accelerate, Lightning:
    unwrapped), any object with a `step()` (wrapped on the instance), a list of them (one
    training step begins before the first steps and ends after the last one did), or
    None (each `doctor.observe(loss=...)` is then one step). `model` may be compiled
    (`torch.compile(model)`, before or after attach): the doctor adds no graph break or
    recompile and changes no value; attention statistics are off for a compiled model. Parameters with
    `requires_grad=False` are not watched; `add_param_group` is followed.

    `scaler` (a GradScaler with a step of its own; torch's is seen without it),
    `update_every` and `attention_every` (sampling intervals, steps),
    `replica_check_every` (steps), `action_level` (the lowest severity `on_alert` acts
    on), `skip_factor` (`should_skip_step`'s grad-norm spike factor), `detectors`
    (explicit detector instances instead of the defaults), `console` (alerts on stderr),
    `start_step` (a run resumed from the checkpoint of that step: the step count goes on
    from it, a `resume` annotation is made, and the run log already in `log_dir` is
    continued under its run id, without a second header);
    any other keyword goes to the detectors as an option (`z_spike=8`, `PDM201={...}`).
    """
    return Doctor(model, optimizer, log_dir=log_dir, tensorboard=tensorboard, sync_every=sync_every,
                  overhead_budget=overhead_budget, on_alert=on_alert, select=select, ignore=ignore,
                  config=config, scaler=scaler, update_every=update_every, attention_every=attention_every,
                  replica_check_every=replica_check_every, action_level=action_level, skip_factor=skip_factor,
                  detectors=detectors, console=console, start_step=start_step, **detector_options)
