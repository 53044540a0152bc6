"""Find where a NaN/Inf is born (PDM103).

Costs nothing while training is healthy: hooks are only armed after the host has
seen a non-finite loss or gradient, for one training forward. Forward hooks fire
when a module finishes, children before parents, so the first hook that sees a
non-finite output names the innermost module, in forward order, that produced it.
"""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import Any, Callable, Iterator, Optional

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
        self.found: Optional[dict[str, Any]] = None

    @property
    def armed(self) -> bool:
        return bool(self._handles)

    @property
    def checked(self) -> bool:
        """A training forward has run through the armed hooks."""
        return self._order > 0

    def arm(self) -> None:
        self.disarm()
        self.found, self._order = None, 0
        for module in self.model.modules():
            self._handles.append(module.register_forward_hook(self._hook))

    def disarm(self) -> None:
        remove_all(self._handles)

    def _hook(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        if self.found is not None or not module.training or not torch.is_grad_enabled():
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
        }

    def take_result(self) -> Optional[dict[str, Any]]:
        """The localisation of the forward just run (None if nothing non-finite was found)."""
        found, self.found = self.found, None
        return found


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
