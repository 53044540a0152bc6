"""The hooks and taps that capture a training step, and what they keep until a sync.

Life of a step: forward hooks pick up the loss (HF outputs with `.loss`; micro-batch
losses are averaged, or added up when the forward got transformers' `num_items_in_batch`)
or the loop calls `doctor.observe(loss=...)`; the optimizer's pre-step hook takes the
gradient facts before the update (clipping, the one thing that touches gradients before
it, is intercepted by the clip tap: its returned norm is the step's pre-clip norm),
measuring per-parameter gradient norms only on sampled steps or for a loop that does not
clip (see `StepCapture._wants_grad_vector`); the post-step hook closes the step. Most
steps are plain (see `StepCapture.refresh_plain_until`): their hooks only keep the loss,
the lr, the pre-clip norm and the time. Everything measured stays on the device in
`StepEntry`s until the doctor's sync point takes them (`take_entries`).

`Watched` is what depends on the set of watched parameters; `StepCapture` owns the
hooks, the per-step state and the step count; where a NaN came from is
`capture_origin.NonFiniteOrigin`'s part.
"""

from __future__ import annotations

import functools
import math
import time
from math import isfinite
from typing import Any, Callable, Optional

import torch

from . import taps
from .attention import AttentionProbe
from .capture_origin import NORMS_KEY, NonFiniteOrigin
from .compiled import TracedLoss, is_compiling
from .distributed import (DistributedContext, ReplicaChecker, SyncReducer, local_tensor,
                          reduce_squared_norms)
from .guard import ProbeGuard, logger
from .localize import InputReplay, host_knows_finite, run_replay
from .optimizers import engine_grad_norm, remove_handles, reports_grad_norm, watch_steps
from .params import ParamTable
from .patching import FunctionPatch
from .probes import GradProbe, UpdateProbe, output_log_z, param_norms
from .records import RecordBuilder, StepEntry, entry_of
from .schedule import NEVER, ProbeSchedule, hook_clock
from .skip import SkipRule
from .transfer import Held, hold


def reads_when_measured(devices: Any) -> bool:
    """Does the host read a measured value at once (rather than at the sync point)?

    On the CPU the read costs nothing and holding tensors costs time (see
    `transfer.hold`); on an accelerator a read waits for the device, so values stay there
    until the sync and non-finite checks run on the device (capture_origin.note_param_norms).
    Tests replace this function to run the accelerator path on the CPU."""
    return all(device.type == "cpu" for device in devices)


def keep(value: torch.Tensor) -> Held:
    """`transfer.hold` without the CPU read: the tensor itself, detached."""
    return value.data if type(value) is torch.Tensor else value.detach()


def _find_output(output: Any, name: str) -> Any:
    if isinstance(output, dict):
        return output.get(name)
    return getattr(output, name, None)


def with_closure_then(optimizer: Any, args: Any, kwargs: Any, then: Callable[[], None]) -> tuple[Any, Any]:
    """`step(closure)`'s arguments with the closure wrapped to call `then` after it
    returned (inside the step, before the update); a step pre-hook returns them."""
    kwargs, args = dict(kwargs or {}), tuple(args or ())
    inner = kwargs.get("closure")
    at = _closure_at(optimizer, args)

    def closure(*a: Any, **k: Any) -> Any:
        result = inner(*a, **k)
        then()
        return result

    if callable(inner):
        kwargs["closure"] = closure
    else:
        inner, args = args[at], (*args[:at], closure, *args[at + 1:])
    return args, kwargs


def _closure_at(optimizer: Any, args: Any) -> int:
    """Where a positional closure sits in `args`: torch's step hooks get the optimizer
    itself first (`args = (optimizer, closure)`), a wrapped instance step does not."""
    return 1 if args and args[0] is optimizer else 0


def _has_closure(optimizer: Any, args: Any, kwargs: Any) -> bool:
    """Was `optimizer.step` called with a closure (positionally or by keyword)?"""
    closure = (kwargs or {}).get("closure")
    at = _closure_at(optimizer, args)
    if closure is None and len(args or ()) > at:
        closure = args[at]
    return callable(closure)


def count_groups(optimizers: list[Any]) -> int:
    count = 0  # a loop, not sum(generator): this runs at every step
    for optimizer in optimizers:
        count += len(getattr(optimizer, "param_groups", None) or ())
    return count


class Watched:
    """What depends on the set of watched parameters: built at attach, and again when
    the optimizer gained a parameter group (`add_param_group`)."""

    def __init__(self, module: torch.nn.Module, optimizers: list[Any], dist: DistributedContext,
                 replica_check_every: int, previous: Optional["Watched"] = None) -> None:
        self.table = ParamTable.build(module, optimizers)
        self.group_count = count_groups(optimizers)
        self.param_ids = {id(p) for p in self.table.params}
        self.replicas = ReplicaChecker(zip(self.table.names, self.table.params), dist, replica_check_every)
        self.reducer = SyncReducer(dist, self.table.params)
        self.grad_probe = GradProbe(self.table)
        self.update_probe = UpdateProbe(self.table)
        if previous is None:
            self.records = RecordBuilder(self.table.names, self.table.layers, self.table.layer_index)
        else:  # new parameters start unseen, as at attach; the grad history carries over
            seen = dict(zip(map(id, previous.table.params), previous.records.ever_nonzero.tolist()))
            self.records = previous.records.rebuilt(self.table.names, self.table.layers, self.table.layer_index,
                                                    [seen.get(id(p), False) for p in self.table.params])
        # Parameters not yet seen with a non-zero gradient (PDM306): between samples only
        # these are measured, every step, so a branch used on a few steps is still seen.
        self.pending: list[int] = self.records.never_seen()
        # Where reads are free (the CPU) a per-parameter norm kernel costs as much as the
        # rest of the doctor's step; on accelerators it is cheap and asynchronous.
        self.on_host = reads_when_measured(self.table.devices)


class StepInputs:
    """What the hooks gathered for the step not yet closed, emptied as it closes: the
    forward's losses (and how many are shares of one token-weighted loss), the loss a
    compiled forward traced, the sampled log Z and attention statistics, and the values
    given to `observe()`. (StepCapture's state by group: these; the pre-clip norm,
    `ClipMeasure`; which steps are plain, `PlainPlan`; the watched set, `Watched`; where a
    NaN came from, `NonFiniteOrigin`; the hooks, the step count and the window of entries,
    StepCapture's own.)"""

    __slots__ = ("losses", "shares", "traced", "log_z", "attention", "observed", "observe_after_step", "entry",
                 "pending", "after_closure")

    def __init__(self, traced: TracedLoss) -> None:
        self.losses: list[Held] = []
        self.shares = 0  # how many of `losses` are shares of the step's loss (num_items_in_batch)
        self.traced = traced  # the loss under torch.compile
        self.log_z: Optional[Held] = None
        self.attention: dict[str, Held] = {}  # module name -> its attention statistics
        self.observed: dict[str, list[Any]] = {}
        self.observe_after_step: Optional[bool] = None  # does the loop call observe() after the step? (first call)
        # The step under way between the optimizer's pre- and post-step hooks: its entry (the
        # general path), or the pre-step part of a plain step's tuple (records.PlainStep):
        # (lr, pre-clip norm, max_norm); `after_closure`: `step(closure)` computes its
        # gradients inside the step, after the pre-step hook.
        self.entry: Optional[StepEntry] = None
        self.pending: Optional[tuple[Any, Any, Any]] = None
        self.after_closure = False

    def take_loss(self) -> Held:
        """The step's loss from its micro-batch losses: shares of one token-weighted loss
        add up to it; plain micro-batch losses average."""
        loss = _combine(self.losses, add=self.shares == len(self.losses))
        self.losses, self.shares = [], 0
        return loss

    def take_sampled(self, entry: StepEntry) -> None:
        """The sampled log Z and attention statistics into the step's entry."""
        if self.log_z is not None:
            entry.tensors["log_z"], self.log_z = self.log_z, None
        if self.attention:
            for name, stats in self.attention.items():
                entry.tensors[f"attn/{name}"] = stats
            self.attention = {}


class ClipMeasure:
    """The step's pre-clip gradient norm: what the clip tap delivers (this is its listener,
    taps.ClipListener: held weakly there, by the capture here), or, for a DeepSpeed-style
    optimizer that clips inside its own step (`reporter`), what it keeps after the step
    (optimizers.engine_grad_norm). `own_norm`: a loop that does not clip has the doctor
    measure the global norm of a plain step itself (one process: a rank's own norm is not
    the global one until the sync's reduction)."""

    __slots__ = ("param_ids", "on_host", "hold", "value", "reporter", "own_norm", "active", "__weakref__")

    def __init__(self, watched: Watched, optimizers: list[Any], world_size: int) -> None:
        self.value: Optional[tuple[Held, float]] = None  # (pre-clip norm, max_norm), until the step takes it
        self.reporter = next((o for o in reversed(optimizers) if reports_grad_norm(o)), None)
        self.active = True  # off once the doctor detaches
        self.watch(watched)
        self.own_norm = (watched.on_host and world_size == 1 and not watched.table.sharded
                         and self.reporter is None)

    def watch(self, watched: Watched) -> None:
        """The watched parameters (at attach, and after `add_param_group`)."""
        self.param_ids = watched.param_ids  # the clip tap's question: are these our parameters?
        self.on_host = watched.on_host
        self.hold = hold if watched.on_host else keep

    def on_clip(self, total_norm: torch.Tensor, max_norm: float) -> None:
        """The loop clipped these gradients: `total_norm` is the pre-clip norm."""
        if isfinite(max_norm) and self.active:
            if type(total_norm) is torch.Tensor and total_norm.is_cpu and self.on_host:
                self.value = (total_norm.item(), max_norm)  # `transfer.hold`, inline: a 0-d norm
            else:  # FSDP2 returns a replicated DTensor: its local value is the norm
                self.value = (self.hold(local_tensor(total_norm)), max_norm)

    def take(self) -> Optional[tuple[Held, float]]:
        value, self.value = self.value, None
        return value


# The plain-step path times the doctor's own global norm on one step in COST_SAMPLE (its
# cost is the same every step; each timing is two clock reads and an EMA update).
COST_SAMPLE = 8


class PlainPlan:
    """The per-step plan, from the schedule (refreshed by `StepCapture.refresh_plain_until`
    at every full step and sync): steps before `until` are plain; the close of step
    `sync_at` makes a sync due; the doctor's own global norm is due every `grad_every`
    steps (0: never). `allowed`: off for good once the loop reports its loss through
    `observe()`. `optimizer`: the one torch optimizer whose plain steps become tuples
    (records.PlainStep), on one process (its hooks get `(optimizer,)`); None: every plain
    step takes the general path."""

    __slots__ = ("until", "sync_at", "grad_every", "allowed", "optimizer")

    def __init__(self, optimizers: list[Any], world_size: int) -> None:
        self.until = 0
        self.sync_at = NEVER
        self.grad_every = 0
        self.allowed = True
        self.optimizer = (optimizers[0] if len(optimizers) == 1 and world_size == 1
                          and isinstance(optimizers[0], torch.optim.Optimizer) else None)


class StepCapture:
    """The hooks on the model and the optimizers and the scaler tap's listener; it wires
    the state groups of a step's capture: what the step under way gathered (`inputs`,
    StepInputs), its pre-clip norm (`clip`, ClipMeasure: the clip tap's listener), which
    steps are plain (`plan`, PlainPlan), should_skip_step's verdict (`skip`, SkipRule),
    where a NaN came from (`origin`, NonFiniteOrigin), the watched set (`watched`), and
    keeps the step count and the window of entries since the last sync. `sync(scheduled=True)`
    is the doctor's sync point, called from the pre-step hook when one is due (it may
    raise TrainingAlert, on purpose)."""

    def __init__(self, model: torch.nn.Module, module: torch.nn.Module, optimizers: list[Any], scaler: Any,
                 watched: Watched, schedule: ProbeSchedule, guard: ProbeGuard, origin: NonFiniteOrigin,
                 attention: AttentionProbe, dist: DistributedContext, sync: Callable[..., Any], *,
                 sync_every: int, skip_factor: float, start_step: int, compiled: bool,
                 rebuild: Callable[[Watched], Watched]) -> None:
        self.model, self.module, self.optimizers, self.scaler = model, module, optimizers, scaler
        self.optimizer = (optimizers or [None])[0]  # the front optimizer: its group 0 gives the lr
        self.watched, self.schedule, self.guard, self.origin = watched, schedule, guard, origin
        self.clip = ClipMeasure(watched, optimizers, dist.world_size)
        self.attention, self.dist, self._sync, self._rebuild = attention, dist, sync, rebuild
        self.sync_every = sync_every
        self.skip = SkipRule(skip_factor)  # should_skip_step's rule and its verdict
        self.hold = hold if watched.on_host else keep
        self.compiled = compiled  # also set at the first compiled forward
        origin.compiled = compiled
        origin.table = watched.table

        self.step = start_step  # optimizer steps seen (skipped ones included), from start_step
        self.entries: list[StepEntry] = []
        self.sync_due = False
        self.landing_due = False  # a window in flight lands at the next step (transfer.InFlight)
        self.detached = False
        devices = sorted(watched.table.devices, key=str)
        self.inputs = StepInputs(TracedLoss(devices[0] if len(devices) == 1 else None))
        self._last_step_end: Optional[float] = None
        self._eval_mode_said = False
        self.plan = PlainPlan(optimizers, dist.world_size)  # which steps are plain (see `refresh_plain_until`)
        self._handles: list[Any] = []
        self._patches: list[FunctionPatch] = []

    # ------------------------------------------------------------ install
    def install(self) -> None:
        self._handles = watch_steps(self.optimizers, self._on_step_pre, self._on_step_post)
        self._handles.append(self.model.register_forward_hook(self._on_forward, with_kwargs=True))
        # Clipping and GradScaler.step are seen through process-wide taps (taps.py), which
        # hold this capture weakly and hand it the calls on its parameters and optimizer.
        taps.CLIP.subscribe(self.clip)
        taps.SCALER.subscribe(self)
        if self.scaler is not None and getattr(type(self.scaler), "step", None) is not torch.amp.GradScaler.step:
            # a scaler class of its own (GradScaler.step skips optimizer.step() on overflow,
            # so no optimizer hook sees those steps)
            self._patches.append(FunctionPatch(self.scaler, "step", self._around_scaler_step))
        for patch in self._patches:
            patch.install()

    def uninstall(self) -> None:
        """Remove every hook, patch and tap subscription and disarm every probe."""
        remove_handles(self._handles)
        self._handles = []
        for patch in self._patches:
            patch.remove()
        taps.CLIP.unsubscribe(self.clip)
        taps.SCALER.unsubscribe(self)
        self.attention.disarm()
        self.origin.disarm()
        self.watched.update_probe.release()

    def stop(self) -> None:
        """The doctor detaches: from here on no probe arms again."""
        self.detached = True
        self.clip.active = self.origin.active = False

    def take_entries(self) -> list[StepEntry]:
        """The entries since the last sync (the sync point's to transfer)."""
        self.sync_due = False
        entries, self.entries = self.entries, []
        return entries

    def put_back(self, entries: list[StepEntry]) -> None:
        """A sync was interrupted before its records were made: detach's final sync takes them."""
        self.entries = entries + self.entries

    def annotate_last(self, key: str, value: Any) -> None:
        """Add a finding to the last unsynced entry (or a new one at the current step)."""
        last = self._last_entry()
        if last is not None:
            last.extra[key] = value
        else:
            self.entries.append(StepEntry(self.step, extra={key: value}))

    def _last_entry(self) -> Optional[StepEntry]:
        """The last unsynced entry, to add to (a plain step's tuple becomes its StepEntry)."""
        if not self.entries:
            return None
        last = self.entries[-1]
        if type(last) is tuple:
            last = self.entries[-1] = entry_of(last)
        return last

    def _follow_new_groups(self) -> None:
        """`add_param_group` since the last step: sync what was measured on the old set of
        parameters, then watch the new one."""
        self._sync()
        self.watched = self._rebuild(self.watched)
        self.clip.watch(self.watched)
        self.origin.table = self.watched.table

    # ------------------------------------------------------------ the hooks
    def _on_forward(self, module: torch.nn.Module, args: Any, kwargs: dict[str, Any], output: Any) -> None:
        if is_compiling():  # traced into a compiled graph: only what compiled.py allows
            if module.training and torch.is_grad_enabled():
                self.inputs.traced.capture(output, kwargs)
            return
        started = hook_clock()
        if torch.is_grad_enabled() and (module.training or self._trains_in_eval_mode(output)):
            if self.step + 1 < self.plan.until and self.skip.verdict is None and not self.guard.disabled:
                # a plain step (see `refresh_plain_until`): keep the inputs and the loss, nothing else
                if self.origin.keep_inputs:
                    kept = self.origin.replay.inputs
                    if len(kept) < InputReplay.LIMIT:
                        kept.append((args, kwargs))
                try:
                    loss = output.get("loss") if isinstance(output, dict) else getattr(output, "loss", None)
                    if type(loss) is torch.Tensor and loss.is_cpu and self.watched.on_host and loss.numel() == 1:
                        self.inputs.losses.append(loss.item())  # `transfer.hold`, inline
                        if kwargs and kwargs.get("num_items_in_batch") is not None:
                            self.inputs.shares += 1
                    elif loss is not None:
                        self._capture_outputs(output, kwargs)
                except Exception as exc:  # noqa: BLE001 - as `ProbeGuard.call`
                    self.guard.fail_or_raise("loss", exc)
                self.schedule.spent += hook_clock() - started
                return
            if self.skip.verdict is not None:
                self.guard.call("step", self.close_skipped_by_loop)
            if self.origin.keep_inputs:
                self.origin.replay.keep(args, kwargs)
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
            self.inputs.losses.append(self.hold(loss))
            if kwargs and kwargs.get("num_items_in_batch") is not None:
                self.inputs.shares += 1
        upcoming = self.step + 1
        if upcoming >= self.plan.until and self.schedule.due("log_z", upcoming) and self.inputs.log_z is None:
            logits = _find_output(output, "logits")
            if isinstance(logits, torch.Tensor) and logits.dim() >= 2:
                started = hook_clock()
                log_z = self.guard.call("log_z", output_log_z, logits)
                self.inputs.log_z = None if log_z is None else self.hold(log_z)
                self.schedule.record_cost("log_z", hook_clock() - started)

    def _on_step_pre(self, optimizer: Any, args: Any, kwargs: Any) -> Any:
        if self.sync_due or self.landing_due:
            self._sync(scheduled=True)  # may raise TrainingAlert: deliberately outside the guard
        if (self.step + 1 < self.plan.until and self.plan.optimizer is optimizer
                and args[-1] is optimizer and not kwargs and self.skip.verdict is None and not self.inputs.traced.seen
                and len(optimizer.param_groups) == self.watched.group_count and not self.guard.disabled):
            started = hook_clock()
            try:
                plain = self._begin_plain_step(optimizer)
            except Exception as exc:  # noqa: BLE001 - as `ProbeGuard.call`
                self.guard.fail_or_raise("step", exc)
                plain = False
            self.schedule.spent += hook_clock() - started
            if plain:
                return None
        self.inputs.pending = None
        if count_groups(self.optimizers) != self.watched.group_count:
            self.guard.call("step", self._follow_new_groups)
        started = hook_clock()
        # `step(closure)` (Lightning, LBFGS) runs forward and backward INSIDE step, after
        # this hook: the gradients of this step only exist in the post-step hook. (torch's
        # hooks get `args = (optimizer,)` for a plain `step()`: nothing to look into.)
        self.inputs.after_closure = (bool(kwargs) or (bool(args) and (len(args) > 1 or args[0] is not optimizer))
                                    ) and _has_closure(optimizer, args, kwargs)
        if self.inputs.traced.seen:
            self.guard.call("loss", self._take_traced_loss)
        self.inputs.entry = self.guard.call("step", self._begin_step) or StepEntry(self.step + 1)
        self.schedule.spent += hook_clock() - started
        if self.inputs.after_closure:  # check the loss between the closure and the update
            return with_closure_then(optimizer, args, kwargs, self._after_closure)
        return None

    def _on_step_post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        started = hook_clock()
        inputs = self.inputs
        pending = inputs.pending
        if pending is not None:
            inputs.pending = None
            if not inputs.observed and not inputs.traced.seen and len(inputs.losses) <= 1:
                # a plain step closes: one tuple into the window (records.PlainStep)
                loss = None
                if inputs.losses:
                    loss, inputs.losses, inputs.shares = inputs.losses[0], [], 0
                step, last = self.step + 1, self._last_step_end
                self.entries.append((step, loss, pending[0], pending[1], pending[2],
                                     None if last is None else started - last, started))
                self._last_step_end = started
                self.origin.replay.inputs = []
                self.step = step
                if step >= self.plan.sync_at:
                    self.sync_due = True
                self.schedule.spent += hook_clock() - started
                return
            inputs.entry = entry_of((self.step + 1, None, *pending, None, None))
        entry = inputs.entry or StepEntry(self.step + 1)
        inputs.entry = None
        if entry.plain:
            self._close_plain_step(entry, started)
        else:
            if self.inputs.after_closure:
                self.guard.call("step", self._take_gradient_facts, entry)
            if self.clip.reporter is not None and "clip_total_norm" not in entry.tensors:
                self.guard.call("step", self._take_engine_norm, entry)
            self.guard.call("step", self._end_step, entry)
            self.close_step(entry)
        self.schedule.spent += hook_clock() - started

    # ------------------------------------------------------------ before the update
    def _begin_plain_step(self, optimizer: Any) -> bool:
        """The pre-step hook of a plain step on one process, in a handful of calls: the lr
        and the pre-clip norm (the clip's, or the doctor's own) into `inputs.pending`, for the
        post-step hook's tuple. False (the general path takes the step) when a value is not
        a finite host float: a non-finite one is looked into before the update."""
        for loss in self.inputs.losses:
            if type(loss) is not float or not isfinite(loss):
                return False
        groups = optimizer.param_groups
        lr = groups[0].get("lr") if groups else None
        if type(lr) is not float and lr is not None:
            if isinstance(lr, torch.Tensor) and not lr.is_cpu:
                return False
            lr = float(lr)
        measure = self.clip
        if measure.value is not None:
            norm, max_norm = measure.value
            if type(norm) is not float or not isfinite(norm):
                return False
            measure.value = None
            self.inputs.pending = (lr, norm, max_norm)
            return True
        if not measure.own_norm:
            return False
        norm, every, step = None, self.plan.grad_every, self.step + 1
        if every and step % every == 0:  # `schedule.due("grad_norm", step)`
            timed = step % COST_SAMPLE == 0
            started = hook_clock() if timed else 0.0
            try:
                norm = self.watched.grad_probe.host_total()
            except Exception as exc:  # noqa: BLE001 - as `ProbeGuard.call`
                self.guard.fail_or_raise("grad_norm", exc)
                return False
            if timed:
                self.schedule.record_cost("grad_norm", hook_clock() - started)
            if norm is not None and not isfinite(norm):
                return False
        self.inputs.pending = (lr, norm, None)
        return True

    def _begin_step(self) -> StepEntry:
        if self.step + 1 < self.plan.until and self.skip.verdict is None and not self.inputs.after_closure:
            clip = self.clip.value
            if clip is not None:
                if host_knows_finite((clip[0], *self.inputs.losses)) is not False:
                    self.clip.value = None
                    return self._plain_entry(clip)
            elif self.clip.own_norm:
                plain = self._plain_unclipped_entry()
                if plain is not None:
                    return plain
        entry = StepEntry(self.step + 1)
        if not self.inputs.after_closure:
            self._take_gradient_facts(entry)
            self.guard.call("param_check", self._check_before_update, entry)
        self._put_lr(entry)
        if self.schedule.due("update_ratio", entry.step) and self.guard.enabled("update_ratio"):
            t0 = hook_clock()
            self.guard.call("update_ratio", self.watched.update_probe.snapshot)
            self.schedule.record_cost("update_ratio", hook_clock() - t0)
        return entry

    def _after_closure(self) -> None:
        """`step(closure)`: forward and backward have run, the update has not. A loss the
        host already knows is non-finite names the poisoned parameters now (PDM104's
        origin), not after the update spread the NaN to all of them."""
        entry = self.inputs.entry
        if entry is not None and not entry.plain:
            self.guard.call("param_check", self._check_before_update, entry)

    def _check_before_update(self, entry: StepEntry) -> None:
        held = [entry.tensors[key] for key in ("grad_norms", "clip_total_norm") if key in entry.tensors]
        observed = [] if self.inputs.observe_after_step else self.inputs.observed.get("loss", [])
        flags_due = self.schedule.due("nonfinite_flags", entry.step)
        timed = flags_due and self.origin.keeps_flags and NORMS_KEY not in entry.tensors
        started = hook_clock() if timed else 0.0
        self.origin.check_before_update(entry, [*held, *self.inputs.losses, *observed], self.step, flags_due)
        if timed and NORMS_KEY in entry.tensors:
            self.schedule.record_cost("nonfinite_flags", hook_clock() - started)

    def _plain_entry(self, clip: tuple[Held, float]) -> StepEntry:
        """A plain step (see `refresh_plain_until`) measures the lr and takes the clip's
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
            total = self.guard.call("grad_norm", self.watched.grad_probe.host_total)
            self.schedule.record_cost("grad_norm", hook_clock() - started)
            if total is not None:
                if not math.isfinite(total):
                    return None
                entry.tensors["grad_total"] = total
        if host_knows_finite(self.inputs.losses) is False:
            return None
        entry.plain = True
        self._put_lr(entry)
        return entry

    def refresh_plain_until(self) -> None:
        """Set the first step that is not plain.

        A plain step measures the loss, the lr, the step time and the clip's pre-clip norm,
        and its hooks skip every other check: each costs microseconds of cold-cache time,
        on the steps of milliseconds the overhead budget is judged against. Steps are
        plain until a sampled probe is due (attention is armed at the close of the step
        before), and never while a per-step probe is on (a GradScaler, `observe()`,
        `sync_every=1`, parameters not yet seen with a gradient, the device's non-finite
        flags) or the localizer, the attention probe or the update snapshot is armed.
        """
        if (not self.plan.allowed or self.scaler is not None or self.watched.pending or self.sync_every == 1
                or self.origin.keeps_flags or self.origin.localizer.armed or self.attention.armed
                or self.watched.update_probe.armed):
            self.plan.until = 0
            return
        upcoming, schedule, plan = self.step + 1, self.schedule, self.plan
        sampled = ["layer_norms", "update_ratio", "log_z"] + ([] if self.watched.on_host else ["grad_norm"])
        firsts = [schedule.next_due(name, upcoming) for name in sampled]
        firsts.append(schedule.next_due("attention", upcoming + 1) - 1)
        plan.until = min(firsts)
        # what the plain-step path would ask the schedule at every step, asked here once
        plan.sync_at = schedule.next_due("sync", upcoming)
        plan.grad_every = max(0, schedule.interval.get("grad_norm", 0))

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
        clip = self.clip.take()
        if clip is not None:
            entry.tensors["clip_total_norm"], entry.scalars["clip_max_norm"] = clip
        layers = self.schedule.due("layer_norms", entry.step)
        if self._wants_grad_vector(entry.step, clip, layers) and self.guard.enabled("grad_norm"):
            t0 = hook_clock()
            norms = self.guard.call("grad_norm", self._measure_grads, entry)
            self.schedule.record_cost("layer_norms" if layers else "grad_norm", hook_clock() - t0)
            if norms is not None:
                entry.tensors["grad_norms"] = self.hold(norms)
                entry.extra["_grads_checked"] = True
                if layers:
                    entry.extra["_layer_norms"] = True
        else:
            entry.extra["_grads_checked"] = True
            if self.watched.pending:
                self.guard.call("grad_norm", self._check_pending, entry)
        if self.skip.verdict is not None:
            reason, total = self.skip.take_verdict()
            entry.extra["skip_reason"] = reason
            entry.scalars["grad_norm"] = total
            self.origin.take_before_update(entry)

    def _measure_grads(self, entry: StepEntry) -> Optional[torch.Tensor]:
        """The per-parameter gradient norms; where the device keeps the non-finite flags
        (capture_origin.note_param_norms), the parameters' norms before the update come from the
        same foreach call."""
        probe = self.watched.grad_probe
        if (self.origin.keeps_flags and self.origin.table is not None and not self.inputs.after_closure
                and self.schedule.due("nonfinite_flags", entry.step)):
            both = probe.measure_with_params()
            if both is not None:
                entry.tensors[NORMS_KEY] = both[1]
                return both[0]
        return probe.measure()

    def _wants_grad_vector(self, step: int, clip: Optional[tuple[Held, float]], layers: bool) -> bool:
        """Measure per-parameter gradient norms at this step? On sampled steps; whenever
        `grad_norm` is due when the loop does not clip (they make the global norm); and on
        accelerators also when it clips, to name the parameters of a non-finite norm (on
        the CPU, where the kernel is not cheap, names come from sampled steps, and the
        localizer arms after any non-finite norm)."""
        return layers or ((clip is None or not self.watched.on_host) and self.schedule.due("grad_norm", step))

    def _check_pending(self, entry: StepEntry) -> None:
        """Norms of the parameters never yet seen with a non-zero gradient (usually none)."""
        seen = self.watched.grad_probe.measure(self.watched.pending)
        if seen is not None:
            entry.tensors["grad_seen"] = self.hold(seen)

    def _take_engine_norm(self, entry: StepEntry) -> None:
        """A DeepSpeed-style optimizer computed the global norm in its own step and clipped
        with it (see optimizers.engine_grad_norm): that norm is the step's pre-clip norm."""
        found = engine_grad_norm(self.clip.reporter)
        if found is None:
            return
        norm, max_norm, skipped = found
        if skipped:
            entry.extra["skipped_step"] = True
            return
        entry.tensors["clip_total_norm"] = self.hold(norm) if isinstance(norm, torch.Tensor) else float(norm)
        entry.scalars["clip_max_norm"] = max_norm
        entry.extra["_norms_before_clip"] = True  # it clips inside step(): measured norms are pre-clip

    # ------------------------------------------------------------ after the update
    def _end_step(self, entry: StepEntry) -> None:
        update_probe = self.watched.update_probe
        if update_probe.armed:
            t0 = hook_clock()
            measured = self.guard.call("update_ratio", update_probe.measure)
            update_probe.release()
            if measured is not None:
                entry.tensors["update_delta"], entry.tensors["update_base"] = (self.hold(t) for t in measured)
            self.schedule.record_cost("update_ratio", hook_clock() - t0)
        if self.schedule.due("layer_norms", entry.step) and self.guard.enabled("param_check"):
            t0 = hook_clock()
            norms = self.guard.call("param_check", param_norms, self.watched.table)
            if norms is not None:
                entry.tensors["param_norms"] = self.hold(norms)
            self.schedule.record_cost("layer_norms", hook_clock() - t0)

    def _close_plain_step(self, entry: StepEntry, now: float) -> None:
        """`close_step` for a plain step: its time and loss, nothing else to look at."""
        self._take_time_and_loss(entry, now)
        if self.inputs.observed and self.inputs.observe_after_step is False:
            entry.extra["_observed"], self.inputs.observed = self.inputs.observed, {}
        self._append(entry)

    def _take_traced_loss(self) -> None:
        """The loss a compiled forward added up (see compiled.py). From now on the model is
        known to run compiled: no probe enters its forward again."""
        loss = self.inputs.traced.take()
        if loss is not None:
            self.inputs.losses.append(self.hold(loss))
        if not self.compiled:
            self.compiled = self.origin.compiled = True
            self.attention.disarm()
            self.plan.until = 0

    def _take_time_and_loss(self, entry: StepEntry, now: float) -> None:
        if self.inputs.traced.seen:
            self._take_traced_loss()
        if self._last_step_end is not None:
            entry.scalars["step_time"] = now - self._last_step_end
        self._last_step_end = entry.ended = now
        self.origin.replay.inputs = []
        if self.inputs.losses:
            entry.tensors["loss"] = self.inputs.take_loss()

    def _append(self, entry: StepEntry) -> None:
        """The step is closed: count it, and ask for a sync when one is due."""
        self.entries.append(entry)
        self.step = entry.step
        if self.schedule.due("sync", self.step):
            self.sync_due = True

    def close_step(self, entry: StepEntry, scaler_skipped: bool = False) -> None:
        """Bookkeeping common to applied and skipped steps; never raises."""
        self._take_time_and_loss(entry, time.perf_counter())
        self.inputs.take_sampled(entry)
        if self.inputs.observe_after_step is False and self.inputs.observed:
            entry.extra["_observed"] = self.inputs.observed
            self.inputs.observed = {}
        if self.scaler is not None:
            scale = getattr(self.scaler, "_scale", None)
            if isinstance(scale, torch.Tensor):  # updated in place by the scaler: a copy
                entry.tensors["loss_scale"] = (scale.item() if scale.is_cpu and self.watched.on_host
                                               else scale.detach().clone().float().reshape(()))
        if scaler_skipped:
            entry.extra["skipped_step"] = True
        localizer = self.origin.localizer
        if localizer.armed and localizer.checked:
            localizer.disarm()
            found = localizer.take_result()
            if found is not None:
                entry.extra["nonfinite_activation"] = found
        if self.attention.armed or self.schedule.due("attention", entry.step + 1):
            self.guard.call("attention", self._rearm_attention, entry.step + 1)
        self._append(entry)
        self.refresh_plain_until()

    def _rearm_attention(self, upcoming: int) -> None:
        started = hook_clock()
        sampled = self.attention.armed
        if sampled:
            self.attention.disarm()
        if (self.schedule.due("attention", upcoming) and self.guard.enabled("attention") and not self.detached
                and not self.compiled):  # its patches and hooks would enter the compiled graph
            self.attention.arm()
        if sampled:
            # its measurements ran inside the model's forward, where the hooks' clocks do not
            spent, self.attention.spent = self.attention.spent, 0.0
            self.schedule.spent += spent
            self.schedule.record_cost("attention", spent + hook_clock() - started)

    def on_attention(self, name: str, stats: torch.Tensor) -> None:
        """A layer's attention stats: its first call of the step (a layer run twice in one
        forward, a shared block, is logged once)."""
        if name not in self.inputs.attention:
            self.inputs.attention[name] = self.hold(stats)

    # ------------------------------------------------------------ the scaler tap's listener
    def watches_optimizer(self, optimizer: Any) -> bool:
        """Is this the optimizer whose step ends a training step? (The scaler tap asks.)"""
        return bool(self.optimizers) and optimizer is self.optimizers[-1] and not self.detached

    def around_scaler_step(self, original: Callable[..., Any], scaler: Any, optimizer: Any,
                           *args: Any, **kwargs: Any) -> Any:
        """GradScaler.step on this capture's optimizer (the scaler tap calls it)."""
        if self.watches_optimizer(optimizer) and self.scaler is None:
            self.scaler = scaler  # from now on its scale is logged every step
            self.plan.until = 0
        return self._around_scaler_step(functools.partial(original, scaler), optimizer, *args, **kwargs)

    def _around_scaler_step(self, original: Callable[..., Any], optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        before = self.step
        result = original(optimizer, *args, **kwargs)
        if self.watches_optimizer(optimizer) and self.step == before:
            # GradScaler found inf/NaN and skipped optimizer.step(): no hook fired.
            if self.sync_due or self.landing_due:
                self._sync(scheduled=True)
            entry = StepEntry(self.step + 1)
            # no update ran: a loss known non-finite names the poisoned parameters now, not
            # at the next sync as "before the update" of a later step
            self.guard.call("param_check", self._check_before_update, entry)
            self.close_step(entry, scaler_skipped=True)
        return result

    # ------------------------------------------------------------ the loop's calls
    def observe(self, loss: Any, scalars: dict[str, Any]) -> None:
        """See `Doctor.observe`."""
        if self.inputs.observe_after_step is None:
            self.inputs.observe_after_step = self.step > 0 and bool(self.optimizers)
        if loss is not None and self.plan.allowed:
            # a loop reporting its loss every step: its values ride on full entries (an
            # occasional `val_loss=` rides on whichever entry is there)
            self.plan.allowed, self.plan.until = False, 0
        values = dict(scalars)
        if loss is not None:
            values["loss"] = loss
        target: Optional[dict[str, list[Any]]] = self.inputs.observed
        if self.inputs.observe_after_step:
            # that step's entry, unless it was synced already (a loop calling `sync()`):
            # its measurements are then dropped
            last = self._last_entry()
            target = last.extra.setdefault("_observed", {}) if last is not None else None
        evaluated = None
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                value = value.detach()
                value = self.hold(value if value.numel() == 1 else value.float().mean())
            if name.startswith("val_"):
                evaluated = self._evaluation_target() if evaluated is None else evaluated
                evaluated.setdefault(name, []).append(value)
            elif target is not None:
                target.setdefault(name, []).append(value)
        if not self.optimizers and not self.detached:
            self._close_observed_step()

    def _evaluation_target(self) -> dict[str, list[Any]]:
        """Where an evaluation's values (`val_…`) go: to the step it followed, since it
        judges the model that step made, also in a loop that reports its loss before the
        step; when that step was synced already, to a line of its own for that step (on
        the next step it would be one step late)."""
        if not self.optimizers or self.step == 0:
            return self.inputs.observed  # each observe() is a step / no step yet: the first one
        last = self._last_entry()
        if last is None or last.step != self.step:
            last = StepEntry(self.step)
            self.entries.append(last)
        return last.extra.setdefault("_observed", {})

    def _close_observed_step(self) -> None:
        """Without an optimizer, an `observe()` call is a step: close it (and sync when due)."""
        if self.sync_due or self.landing_due:
            self._sync(scheduled=True)
        self.guard.call("step", self.close_step, StepEntry(self.step + 1))

    def judge_skip(self) -> bool:
        """See `Doctor.should_skip_step`."""
        total = self.guard.call("should_skip_step", self._current_grad_norm)
        if total is None:
            return False
        records = self.watched.records
        reason = self.skip.judge(total, records.median_grad_norm(), records.grad_history)
        if reason is None:
            return False
        self.skip.verdict = (reason, total)
        if not math.isfinite(total):
            self.origin.skip_judged_poisoned(self.step)
            self.plan.until = 0
        return True

    def _current_grad_norm(self) -> Optional[float]:
        if self.clip.value is not None:
            return float(self.clip.value[0])
        norms = self.watched.grad_probe.measure()
        if norms is None:
            return None
        # One scalar per rank: its share of the squared global norm (one collective element).
        return float(reduce_squared_norms(self.dist, (norms.square() / self.watched.reducer.factors).sum().reshape(1)))

    def close_skipped_by_loop(self) -> None:
        """The loop skipped `optimizer.step()` after a skip verdict: count that step."""
        reason, total = self.skip.take_verdict() or ("", float("nan"))
        self.clip.value = None
        entry = StepEntry(self.step + 1, scalars={"grad_norm": total}, extra={"skip_reason": reason})
        self.origin.take_before_update(entry)
        self.close_step(entry)

    @property
    def skip_pending(self) -> bool:
        """A skip verdict the loop acted on without stepping (counted by the next forward or detach)."""
        return self.skip.verdict is not None

    def replay_batch(self, forward: Callable[[], Any]) -> Optional[dict[str, Any]]:
        """See `Doctor.replay_batch`."""
        found = run_replay(self.module, self.origin.localizer, forward)
        if found is not None:
            self.annotate_last("nonfinite_activation", found)
        return found

    def after_sync(self, records: list[Any]) -> None:
        """A window reached the host: arm the localizer if it was poisoned."""
        if self.origin.after_sync(records, self.step):
            self.plan.until = 0


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
