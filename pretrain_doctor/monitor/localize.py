"""Find where a NaN/Inf is born (PDM103).

Costs nothing while training is healthy: hooks are only armed after the host has
seen a non-finite loss or gradient, for one forward. Forward hooks fire when a module
finishes, children before parents, so the first hook that sees a non-finite output
names the innermost module, in forward order, that produced it.

That forward is, by preference, the step's own batch run again before the update
(`InputReplay`): a loop that does not skip a poisoned step lets the optimizer spread
the NaN to every parameter, and a later forward would name the first module of all.
When the host learns of the NaN only after that update (an accelerator between sync
points), the next forward is checked and the result says where the NaN is now, and
that its origin is not known.
"""

from __future__ import annotations

import math
from dataclasses import is_dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

import torch

from .guard import ProbeGuard
from .patching import remove_all


def tensors_in(value: Any, depth: int = 0) -> Iterator[torch.Tensor]:
    """Floating-point tensors inside a module's inputs or outputs (tuples, dicts, ModelOutputs)."""
    if depth > 3:
        return
    if isinstance(value, torch.Tensor):
        if value.is_floating_point():
            yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_in(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item, depth + 1)
    elif is_dataclass(value) and not isinstance(value, type):
        for item in vars(value).values():
            yield from tensors_in(item, depth + 1)


def tensor_stats(tensors: list[torch.Tensor]) -> dict[str, Any]:
    """Counts of NaN/Inf and the largest finite magnitude over some tensors."""
    nan = inf = numel = 0
    absmax = 0.0
    with torch.no_grad():
        for tensor in tensors:
            t = tensor.detach()
            nan += int(torch.isnan(t).sum())
            inf += int(torch.isinf(t).sum())
            numel += t.numel()
            finite = t[torch.isfinite(t)]
            if finite.numel():
                absmax = max(absmax, float(finite.abs().max()))
    return {"nan": nan, "inf": inf, "absmax": absmax, "numel": numel}


def _all_finite(tensors: list[torch.Tensor]) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(t.detach()).all()) for t in tensors)


class NonFiniteLocalizer:
    """Arms one forward hook per module for a single training forward."""

    def __init__(self, model: torch.nn.Module, guard: ProbeGuard) -> None:
        self.model = model
        self.guard = guard
        self.names = {id(m): name or type(m).__name__ for name, m in model.named_modules()}
        self._handles: list[Any] = []
        self._order = 0  # modules checked in this forward
        self._any_forward = False  # a replay runs under no_grad: check it anyway
        self._note: dict[str, Any] = {}
        self.found: Optional[dict[str, Any]] = None

    @property
    def armed(self) -> bool:
        return bool(self._handles)

    @property
    def checked(self) -> bool:
        """A training forward has run through the armed hooks."""
        return self._order > 0

    def arm(self, any_forward: bool = False, **note: Any) -> None:
        """Check the next training forward (`any_forward`: the next forward, whatever its
        mode); `note` is added to what it finds."""
        self.disarm()
        self.found, self._order = None, 0
        self._any_forward, self._note = any_forward, note
        for module in self.model.modules():
            self._handles.append(module.register_forward_hook(self._hook))

    def disarm(self) -> None:
        remove_all(self._handles)

    def _hook(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        # training forwards have grad on (a model may train in eval mode); evaluation ones usually not
        if self.found is not None or not (self._any_forward or torch.is_grad_enabled()):
            return
        self.guard.call("localize", self._check, module, args, output)

    def _check(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        self._order += 1
        outputs = list(tensors_in(output))
        if not outputs or _all_finite(outputs):
            return
        inputs = list(tensors_in(args))
        self.found = {
            "module": self.names.get(id(module), type(module).__name__),
            "module_type": type(module).__name__,
            "forward_index": self._order - 1,
            "inputs_finite": _all_finite(inputs),
            "input": tensor_stats(inputs),
            "output": tensor_stats(outputs),
            # A poisoned weight explains a finite input turning into a non-finite output.
            "nonfinite_params": [name for name, p in module.named_parameters(recurse=False)
                                 if not bool(torch.isfinite(p.detach()).all())],
            **self._note,
        }

    def take_result(self) -> Optional[dict[str, Any]]:
        """The localisation of the forward just run (None if nothing non-finite was found)."""
        found, self.found = self.found, None
        return found


def host_knows_finite(held: Iterable[Any]) -> Optional[bool]:
    """Are these held values (floats, lists of floats: read on the CPU when measured, see
    `transfer.hold`) all finite? None when one is still a device tensor: the host does
    not know without a sync."""
    for value in held:
        if isinstance(value, float):
            if not math.isfinite(value):
                return False
        elif isinstance(value, list):
            if not math.isfinite(sum(value)):  # norms are >= 0: a NaN or Inf survives the sum
                return False
        else:
            return None
    return True


class InputReplay:
    """Keeps the inputs of the step's training forwards (references: the loop holds the
    batch anyway) until the step closes, to run them again with the localizer armed
    when the host sees a non-finite loss or gradient before the update.

    The replay runs under no_grad with the RNG forked and the buffers (BatchNorm running
    statistics) restored: the training state is left as it was. Dropout draws other
    masks than the training forward did, which rarely decides whether a value is finite.
    """

    LIMIT = 64  # micro-batches kept per step

    def __init__(self, model: torch.nn.Module, localizer: NonFiniteLocalizer) -> None:
        self.model, self.localizer = model, localizer
        self.inputs: list[tuple[Any, dict[str, Any]]] = []
        self.running = False

    def keep(self, args: Any, kwargs: dict[str, Any]) -> None:
        if len(self.inputs) < self.LIMIT:
            self.inputs.append((args, kwargs))

    def clear(self) -> None:
        self.inputs = []

    def locate(self, **note: Any) -> Optional[dict[str, Any]]:
        """Replay the kept forwards in order; where the first non-finite output appeared."""
        inputs, self.inputs = self.inputs, []
        for args, kwargs in inputs:
            found = self._replay(args, kwargs, note)
            if found is not None:
                return found
        return None

    def _replay(self, args: Any, kwargs: dict[str, Any], note: dict[str, Any]) -> Optional[dict[str, Any]]:
        buffers = [(buffer, buffer.detach().clone()) for buffer in self.model.buffers()]
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        self.running = True
        try:
            with torch.random.fork_rng(devices=devices), torch.no_grad():
                self.localizer.arm(any_forward=True, **note)
                self.model(*args, **kwargs)
        finally:
            self.running = False
            self.localizer.disarm()
            with torch.no_grad():
                for buffer, saved in buffers:
                    buffer.copy_(saved)
        return self.localizer.take_result()


def run_replay(model: torch.nn.Module, localizer: NonFiniteLocalizer, forward: Callable[[], Any]) -> Optional[dict[str, Any]]:
    """Re-run one batch with the hooks armed, leaving RNG state and gradients untouched."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        localizer.arm()
        try:
            with torch.enable_grad():
                forward()
        finally:
            localizer.disarm()
    return localizer.take_result()
