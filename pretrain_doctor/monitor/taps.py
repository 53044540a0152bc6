"""Process-wide taps on torch functions every doctor needs to see: gradient clipping and
`GradScaler.step`.

Each tap is installed once per process and never removed, so attaching and detaching
doctors in any order never nests or loses a patch. A tap holds the live doctors weakly
(a doctor never detached does not keep its model and optimizer alive through it) and
hands each call to the doctors it concerns, by parameter or optimizer identity. With no
doctor listening a tap is one truthiness check.

The clip tap sits where every torch clip ends: `torch.nn.utils.clip_grads_with_norm_`
(the private `_clip_grads_with_norm_` that `clip_grad_norm_` calls), whose third argument
is the pre-clip total norm. `clip_grad_norm_` imported before attach, `get_total_norm` +
`clip_grads_with_norm_`, accelerate's `clip_grad_norm_` and the HF Trainer (through
accelerate) all arrive there. The function object is kept (its `no_grad` wrapper calls
the tap), so references taken before the tap was installed see it too. On a torch
without it (< 2.6) the tap wraps `clip_grad_norm_` by name instead. FSDP1's
`FullyShardedDataParallel.clip_grad_norm_` computes and scales inline: it is tapped by its
return value (tested on 2 CPU processes with gloo, `device_id=torch.device("cpu")`, with
flat parameters and with `use_orig_params=True`, whose original parameters are views of
the shard: distributed.note_fsdp1_shards).
DeepSpeed's ZeRO and mixed-precision optimizers (FP16_Optimizer, BF16_Optimizer: its
fp16/bf16 engine without ZeRO) clip inside their own step with a norm they compute
themselves: no tap sees it; the doctor reads it after the step
(optimizers.engine_grad_norm). Its fp32 engine without ZeRO clips in `clip_fp32_gradients`
with DeepSpeed's own `clip_grad_norm_` (deepspeed/runtime/utils.py, imported by name into
deepspeed/runtime/engine.py) and discards the norm it returns: the clip tap wraps that name
in both modules once DeepSpeed is imported (checked at every attach; DeepSpeed is never
imported here), so the norm arrives whatever `attach` was given (the engine, the model and
the optimizer `deepspeed.initialize` returned, the HF Trainer's `deepspeed=`). Tested on
DeepSpeed 0.19.8 on the CPU (tests/deepspeed).
"""

from __future__ import annotations

import logging
import sys
import types
import weakref
from typing import Any, Callable, Iterable, Optional

import torch

logger = logging.getLogger("pretrain_doctor.monitor")


class ClipListener:
    """What a clip tap calls: `on_clip(total_norm, max_norm)` when a parameter it watches
    (its id in `param_ids`, a set read, not a call: the tap runs at every clip) was clipped."""

    param_ids: "set[int] | frozenset[int]" = frozenset()

    def on_clip(self, total_norm: torch.Tensor, max_norm: float) -> None:  # pragma: no cover - protocol
        raise NotImplementedError


class _Tap:
    """The live listeners, held weakly: a tuple of weak references, rebuilt when one
    subscribes, unsubscribes or is collected (iterating a WeakSet costs microseconds on
    every clip; a tuple costs nothing, and is empty, so false, with no listener)."""

    def __init__(self) -> None:
        self.refs: tuple[weakref.ref, ...] = ()
        self.installed = False

    @property
    def listeners(self) -> list[Any]:
        return [listener for listener in (ref() for ref in self.refs) if listener is not None]

    def subscribe(self, listener: Any) -> None:
        if not self.installed:
            self._install()
            self.installed = True
        if listener not in self.listeners:
            self.refs = (*self.refs, weakref.ref(listener, self._collected))

    def unsubscribe(self, listener: Any) -> None:
        self.refs = tuple(ref for ref in self.refs if ref() is not listener and ref() is not None)

    def _collected(self, dead: "weakref.ref[Any]") -> None:
        self.refs = tuple(ref for ref in self.refs if ref is not dead)

    def _install(self) -> None:
        raise NotImplementedError


class ClipTap(_Tap):
    """Every pre-clip norm, however the loop clips (see the module docstring)."""

    def _install(self) -> None:
        from torch.nn.utils import clip_grad

        wrapper = getattr(clip_grad, "_clip_grads_with_norm_", None)
        if wrapper is not None and _replace_wrapped(wrapper, self._tapped_clip_with_norm):
            self.how = "clip_grads_with_norm_"
        else:  # torch < 2.6: clip_grad_norm_ computes and scales inline
            original = clip_grad.clip_grad_norm_
            tapped = _same_signature(original, self._tapped_clip_grad_norm(original))
            for owner in (clip_grad, torch.nn.utils):
                if getattr(owner, "clip_grad_norm_", None) is original:
                    setattr(owner, "clip_grad_norm_", tapped)
            self.how = "clip_grad_norm_"
        self._install_fsdp()

    def subscribe(self, listener: Any) -> None:
        super().subscribe(listener)
        self._install_deepspeed()  # DeepSpeed may have been imported since the last attach

    def _install_deepspeed(self) -> None:
        """Wrap DeepSpeed's `clip_grad_norm_` where its engine calls it, once per module object;
        nothing while DeepSpeed is not imported (or has moved it)."""
        engine, utils = sys.modules.get("deepspeed.runtime.engine"), sys.modules.get("deepspeed.runtime.utils")
        original = getattr(engine, "clip_grad_norm_", None)
        if utils is None or not callable(original) or getattr(original, "_pretrain_doctor_tap", False):
            return
        tapped = _same_signature(original, self._tapped_clip_grad_norm(original))
        tapped._pretrain_doctor_tap = True  # type: ignore[attr-defined]
        if getattr(utils, "clip_grad_norm_", None) is original:
            utils.clip_grad_norm_ = tapped
        engine.clip_grad_norm_ = tapped

    def _install_fsdp(self) -> None:
        try:
            from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        except Exception:  # noqa: BLE001 - no torch.distributed in this build
            return
        original = FSDP.clip_grad_norm_
        tap = self

        def clip_grad_norm_(module: Any, max_norm: float, norm_type: float = 2.0) -> Any:
            # A sharded module calls no torch clip with its full norm: take its result.
            # (Unsharded, it calls torch's clip_grad_norm_, whose tap already saw it.)
            total = original(module, max_norm, norm_type)
            if tap.refs and isinstance(total, torch.Tensor):
                tap.deliver(list(module.parameters()), total, max_norm)
            return total

        FSDP.clip_grad_norm_ = _same_signature(original, clip_grad_norm_)

    def _tapped_clip_with_norm(self, wrapped: Callable[..., Any]) -> Callable[..., Any]:
        tap = self

        def tapped(parameters: Any, max_norm: float, total_norm: Any, *args: Any, **kwargs: Any) -> Any:
            if tap.refs:
                if type(parameters) is not list:  # clip_grad_norm_ passes a list
                    parameters = _materialised(parameters)
                tap.deliver(parameters, total_norm, max_norm)
            return wrapped(parameters, max_norm, total_norm, *args, **kwargs)

        return tapped

    def _tapped_clip_grad_norm(self, original: Callable[..., Any]) -> Callable[..., Any]:
        tap = self

        def clip_grad_norm_(parameters: Any, max_norm: float, *args: Any, **kwargs: Any) -> Any:
            if not tap.refs:
                return original(parameters, max_norm, *args, **kwargs)
            parameters = _materialised(parameters)
            total = original(parameters, max_norm, *args, **kwargs)
            if isinstance(total, torch.Tensor) and total.numel() == 1:  # 0-d; DeepSpeed's is [1] without grads
                tap.deliver(parameters, total.reshape(()), max_norm)
            return total

        return clip_grad_norm_

    def deliver(self, parameters: Any, total_norm: Any, max_norm: float) -> None:
        """Hand a pre-clip norm to the doctors watching these parameters."""
        # (`_first_with_grad`, inline for the list torch's clip passes: this runs at every clip)
        first = parameters[0] if type(parameters) is list and parameters else None
        if type(first) is not torch.nn.Parameter or first.grad is None:
            first = _first_with_grad(parameters)
        if first is None or not (type(total_norm) is torch.Tensor or isinstance(total_norm, torch.Tensor)):
            return
        for ref in self.refs:
            listener = ref()
            if listener is not None and id(first) in listener.param_ids:
                try:
                    listener.on_clip(total_norm, max_norm if type(max_norm) is float else float(max_norm))
                except Exception as exc:  # noqa: BLE001 - the loop's clip must never fail for us
                    logger.warning("pretrain-doctor: internal error reading a clip: %s", exc)


class ScalerTap(_Tap):
    """`torch.amp.GradScaler.step`: it skips `optimizer.step()` on overflow, so no
    optimizer hook sees those steps. Listeners: `watches_optimizer(optimizer)` and
    `around_scaler_step(original, scaler, optimizer, *args, **kwargs)`."""

    def _install(self) -> None:
        cls = torch.amp.GradScaler
        original = cls.step
        tap = self

        def step(scaler: Any, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
            listener = tap.listener_of(optimizer) if tap.refs else None
            if listener is None:
                return original(scaler, optimizer, *args, **kwargs)
            return listener.around_scaler_step(original, scaler, optimizer, *args, **kwargs)

        cls.step = _same_signature(original, step)

    def listener_of(self, optimizer: Any) -> Optional[Any]:
        return next((listener for listener in self.listeners if listener.watches_optimizer(optimizer)), None)


def _replace_wrapped(wrapper: Any, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> bool:
    """Point a decorator's closure (torch's `_no_grad` wrapper) at `make(original)`: every
    reference to the wrapper, however old, then calls the tap. False if the wrapper does
    not have that shape."""
    wrapped = getattr(wrapper, "__wrapped__", None)
    code, closure = getattr(wrapper, "__code__", None), getattr(wrapper, "__closure__", None)
    if wrapped is None or code is None or not closure:
        return False
    for cell in closure:
        try:
            if cell.cell_contents is wrapped:
                cell.cell_contents = make(wrapped)
                return True
        except ValueError:  # an empty cell
            continue
    return False


def _same_signature(original: Callable[..., Any], replacement: Callable[..., Any]) -> Callable[..., Any]:
    replacement.__name__ = getattr(original, "__name__", replacement.__name__)
    replacement.__qualname__ = getattr(original, "__qualname__", replacement.__qualname__)
    replacement.__doc__ = getattr(original, "__doc__", None)
    replacement.__wrapped__ = original  # type: ignore[attr-defined]
    return replacement


def _materialised(parameters: Any) -> Any:
    """A generator can be iterated once: make it a list before looking into it."""
    if isinstance(parameters, (torch.Tensor, list, tuple)):
        return parameters
    if isinstance(parameters, (types.GeneratorType, Iterable)):
        return list(parameters)
    return parameters


def _first_with_grad(parameters: Any) -> Optional[torch.Tensor]:
    if isinstance(parameters, torch.Tensor):
        return parameters
    for parameter in parameters:
        if isinstance(parameter, torch.Tensor) and parameter.grad is not None:
            return parameter
    return None


CLIP = ClipTap()
SCALER = ScalerTap()
