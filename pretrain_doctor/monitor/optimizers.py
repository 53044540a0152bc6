"""What `attach` takes for an optimizer: one, several, a trainer's wrapper, a duck-typed
one, or none; and how the doctor sees a step of them.

- Wrappers (accelerate's `AcceleratedOptimizer` keeps the torch optimizer in `.optimizer`,
  Lightning's `LightningOptimizer` in `._optimizer`) are unwrapped: the hooks sit on the
  optimizer whose `step` really runs.
- A torch optimizer gets step hooks; any other object with a `step()` (a duck-typed
  optimizer) gets its `step` wrapped on the instance, with the same pre/post calls.
- Several optimizers make one training step: it begins before the first one in the list
  steps and ends after the last one did (step them in the order given).
- None: no step hooks; the loop reports each step with `doctor.observe(loss=...)`.
- DeepSpeed without ZeRO (fp32): the engine clips inside its `step()` with a norm it
  discards; the doctor measures it in the engine's `clip_fp32_gradients` (`clipping_engine`).
- DeepSpeed: its ZeRO and mixed-precision optimizers (duck-typed: not torch optimizers)
  compute the global gradient norm inside their own `step()` and clip with it, so no torch
  clip runs; the pre-clip norm is read after the step (`engine_grad_norm`). The engine
  itself (`deepspeed.initialize`'s first result, whose `step()` steps that optimizer) may
  be given as the optimizer too. Read by duck typing: DeepSpeed is not imported.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Optional, Sequence

import torch

Hook = Callable[[Any, Any, Any], None]


def unwrap_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside trainer wrappers, or the object itself."""
    seen = set()
    while id(optimizer) not in seen:
        seen.add(id(optimizer))
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer):
            break
        optimizer = inner
    return optimizer


def as_optimizer_list(optimizer: Any) -> list[Any]:
    """`attach`'s optimizer argument as a list of unwrapped optimizers (empty for None)."""
    if optimizer is None:
        return []
    items = list(optimizer) if isinstance(optimizer, (list, tuple)) else [optimizer]
    out = []
    for item in items:
        item = unwrap_optimizer(item)
        if not callable(getattr(item, "step", None)):
            raise TypeError(f"attach: {type(item).__name__} is not an optimizer (it has no step()); "
                            "pass the optimizer, a list of them, or None and call doctor.observe(loss=...)")
        out.append(item)
    return out


def param_groups_of(optimizers: Sequence[Any]) -> Optional[list[dict[str, Any]]]:
    """Every parameter group of the optimizers, or None when one of them has none to show."""
    groups: list[dict[str, Any]] = []
    for optimizer in optimizers:
        found = getattr(optimizer, "param_groups", None)
        if not isinstance(found, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in found):
            return None
        groups.extend(found)
    return groups


def reports_grad_norm(optimizer: Any) -> bool:
    """Does this (duck-typed) optimizer keep the global gradient norm of its last step
    (DeepSpeed's `_global_grad_norm`)?"""
    return not isinstance(optimizer, torch.optim.Optimizer) and hasattr(optimizer, "_global_grad_norm")


def engine_grad_norm(optimizer: Any) -> Optional[tuple[Any, float, bool]]:
    """After a DeepSpeed-style optimizer's (or engine's) `step()`: (the pre-clip global
    gradient norm, the max norm it clipped to (inf: no clipping), whether the step was
    skipped on a loss-scale overflow), or None when it has no norm to give.

    DeepSpeed's ZeRO optimizer sets `_global_grad_norm` (unscaled, before clipping) in
    `step()` and clips to `clip_grad`; the engine copies it after the step
    (`get_global_grad_norm()`) and clips to `gradient_clipping()`. On an fp16 overflow the
    step is skipped (`overflow`) and the norm is the previous step's: not reported."""
    norm = getattr(optimizer, "_global_grad_norm", None)
    overflow = bool(getattr(optimizer, "overflow", False))
    if overflow:
        return (None, math.inf, True)
    if norm is None or isinstance(norm, bool) or (isinstance(norm, torch.Tensor) and norm.numel() != 1):
        return None
    clip = getattr(optimizer, "clip_grad", None)
    if clip is None and callable(getattr(optimizer, "gradient_clipping", None)):
        clip = optimizer.gradient_clipping()
    max_norm = float(clip) if isinstance(clip, (int, float)) and clip > 0 else math.inf
    return (norm, max_norm, False)


def clipping_engine(*given: Any) -> Optional[Any]:
    """A DeepSpeed engine among what attach was given (the model, the optimizer or a list
    of them), duck-typed by DeepSpeedEngine's own names (deepspeed/runtime/engine.py):
    `clip_fp32_gradients()` and `gradient_clipping()`. Without ZeRO, fp16 or bf16 its
    `step()` clips with DeepSpeed's own `clip_grad_norm_` (deepspeed/runtime/utils.py)
    and discards the norm: no torch clip runs, `_global_grad_norm` stays None (a torch
    optimizer has none to copy), and the optimizer's hooks see clipped gradients. The
    doctor measures the norm inside `clip_fp32_gradients`, before it scales them."""
    for item in given:
        for candidate in (item if isinstance(item, (list, tuple)) else (item,)):
            if (callable(getattr(candidate, "clip_fp32_gradients", None))
                    and callable(getattr(candidate, "gradient_clipping", None))):
                return candidate
    return None


class _InstanceStep:
    """`optimizer.step` of a duck-typed optimizer, wrapped on the instance with the
    doctor's pre/post calls; `remove()` restores it."""

    def __init__(self, optimizer: Any, pre: Optional[Hook], post: Optional[Hook]) -> None:
        self.optimizer = optimizer
        self.had_own = "step" in vars(optimizer)
        self.original = optimizer.step
        original = self.original

        def step(*args: Any, **kwargs: Any) -> Any:
            if pre is not None:
                pre(optimizer, args, kwargs)
            result = original(*args, **kwargs)
            if post is not None:
                post(optimizer, args, kwargs)
            return result

        self.wrapper = step
        optimizer.step = step

    def remove(self) -> None:
        if vars(self.optimizer).get("step") is self.wrapper:
            if self.had_own:
                self.optimizer.step = self.original
            else:
                del self.optimizer.step


def watch_steps(optimizers: Sequence[Any], pre: Hook, post: Hook) -> list[Any]:
    """Call `pre` before the first optimizer steps and `post` after the last one did;
    returns removable handles."""
    if not optimizers:
        return []
    first, last = optimizers[0], optimizers[-1]
    handles: list[Any] = []
    for optimizer in dict.fromkeys(optimizers):  # each once, in order
        before = pre if optimizer is first else None
        after = post if optimizer is last else None
        if not (before or after):
            continue
        if isinstance(optimizer, torch.optim.Optimizer):
            if before:
                handles.append(optimizer.register_step_pre_hook(before))
            if after:
                handles.append(optimizer.register_step_post_hook(after))
        else:
            handles.append(_InstanceStep(optimizer, before, after))
    return handles


def remove_handles(handles: Iterable[Any]) -> None:
    for handle in list(handles):
        handle.remove()
