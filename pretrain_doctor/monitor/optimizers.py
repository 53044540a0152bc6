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
- DeepSpeed without ZeRO (fp32): the engine clips inside its `step()` with DeepSpeed's own
  `clip_grad_norm_` and discards the norm; the clip tap (taps.ClipTap) delivers it.
- DeepSpeed: its ZeRO and mixed-precision optimizers (FP16_Optimizer, BF16_Optimizer;
  duck-typed: not torch optimizers) compute the global gradient norm inside their own
  `step()` and clip with it, so no torch clip runs; the pre-clip norm is read after the
  step (`engine_grad_norm`). They are not unwrapped (the torch optimizer inside steps on
  flat fp32 master copies with gradients already clipped), and the parameters they train
  are the model's 16-bit ones they keep aside (`deepspeed_param_groups`). The engine
  itself (`deepspeed.initialize`'s first result, whose `step()` steps that optimizer) may
  be given as the optimizer too. Read by duck typing: DeepSpeed is not imported.
"""

from __future__ import annotations

import logging
import math
import weakref
from typing import Any, Callable, Iterable, Optional, Sequence

import torch

Hook = Callable[[Any, Any, Any], None]
logger = logging.getLogger("pretrain_doctor.monitor")


# Where DeepSpeed's mixed-precision and ZeRO optimizers keep the model's own (16-bit)
# parameters: their `param_groups` are the inner torch optimizer's, which hold flat fp32
# master copies instead (FP16_Optimizer and FP16_UnfusedOptimizer: fp16_groups,
# BF16_Optimizer: bf16_groups, ZeRO-1/2: bit16_groups, ZeRO-3: fp16_groups).
DEEPSPEED_PARAM_GROUPS = ("bit16_groups", "bf16_groups", "fp16_groups")


def unwrap_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside trainer wrappers, or the object itself. A DeepSpeed
    optimizer that clips inside its own step is kept (its inner torch optimizer steps
    with gradients it already unscaled and clipped, on flat master copies); a DeepSpeed
    engine given as the optimizer is unwrapped to the optimizer its `step()` steps."""
    seen = set()
    while id(optimizer) not in seen and not _deepspeed_optimizer(optimizer):
        seen.add(id(optimizer))
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not (isinstance(inner, torch.optim.Optimizer) or _deepspeed_optimizer(inner)):
            break
        optimizer = inner
    return optimizer


def _deepspeed_optimizer(optimizer: Any) -> bool:
    """DeepSpeed's ZeRO, FP16 or BF16 optimizer (its `clip_grad`, and its norm or the
    model's parameters kept aside), not its engine (which has `gradient_clipping()`)."""
    return reports_grad_norm(optimizer) and hasattr(optimizer, "clip_grad")


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
    """Every parameter group of the optimizers, or None when one of them has none to show.
    A DeepSpeed optimizer's groups are its model parameters (`deepspeed_param_groups`)."""
    groups: list[dict[str, Any]] = []
    for optimizer in optimizers:
        found = deepspeed_param_groups(optimizer) or getattr(optimizer, "param_groups", None)
        if not isinstance(found, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in found):
            return None
        groups.extend(found)
    return groups


def deepspeed_param_groups(optimizer: Any) -> Optional[list[dict[str, Any]]]:
    """The model's parameters a DeepSpeed optimizer trains, as param groups (None for
    any other optimizer); see DEEPSPEED_PARAM_GROUPS."""
    if isinstance(optimizer, torch.optim.Optimizer) or not hasattr(optimizer, "clip_grad"):
        return None
    for name in DEEPSPEED_PARAM_GROUPS:
        found = getattr(optimizer, name, None)
        if isinstance(found, list) and found and all(isinstance(group, list) for group in found):
            return [{"params": list(group)} for group in found]
    return None


def reports_grad_norm(optimizer: Any) -> bool:
    """Is this a DeepSpeed-style optimizer that computes the global gradient norm in its
    own `step()` and clips with it (the norm is read after its step, `engine_grad_norm`): not a torch optimizer, and keeping the norm of its
    last step (`_global_grad_norm`: ZeRO, FP16_Optimizer set it at construction) or the
    model's parameters beside `clip_grad` (BF16_Optimizer sets the norm only in step)."""
    if optimizer is None or isinstance(optimizer, torch.optim.Optimizer):
        return False
    return hasattr(optimizer, "_global_grad_norm") or deepspeed_param_groups(optimizer) is not None



def engine_grad_norm(optimizer: Any) -> Optional[tuple[Any, float, bool]]:
    """After a DeepSpeed-style optimizer's (or engine's) `step()`: (the pre-clip global
    gradient norm, the max norm it clipped to (inf: no clipping), whether the step was
    skipped on a loss-scale overflow), or None when it has no norm to give.

    DeepSpeed's ZeRO optimizer sets `_global_grad_norm` (unscaled, before clipping) in
    `step()` and clips to `clip_grad`; the engine copies it after the step
    (`get_global_grad_norm()`) and clips to `gradient_clipping()`. On an fp16 overflow the
    step is skipped (`overflow`) and the norm is the previous step's: not reported.

    FP16_Optimizer and BF16_Optimizer (deepspeed/runtime/fp16/fused_optimizer.py,
    bf16_optimizer.py) keep the same names: the fused fp16 one divides the norm of its
    gradients by the loss scale; the bf16 one has no loss scale. FP16_UnfusedOptimizer
    (fp16/unfused_optimizer.py) keeps the norm of the gradients as they are. Both assume
    their own `backward` scaled the loss. DeepSpeed 0.19's engine (`engine.backward`) scales
    it only for ZeRO (deepspeedai/DeepSpeed#8393, open): there the gradients are unscaled,
    the unfused norm is the true one and the fused one the true one / the scale (measured on
    0.19.8, the CPU: tests/deepspeed), and both divide the gradients by a scale never applied
    (`warn_unscaled_fp16`). So the doctor notes whether their `backward` ran since the last
    step and puts the norm in true units either way."""
    norm = getattr(optimizer, "_global_grad_norm", None)
    # the engine marks a skipped step `_step_applied = False` (its optimizer's `overflow`)
    overflow = bool(getattr(optimizer, "overflow", False)) or getattr(optimizer, "_step_applied", True) is False
    if overflow:
        return (None, math.inf, True)
    if norm is None or isinstance(norm, bool) or (isinstance(norm, torch.Tensor) and norm.numel() != 1):
        return None
    kind = type(optimizer).__name__
    if kind in FP16_LOSS_SCALERS:
        scaled = _SCALED_BACKWARD.pop(optimizer, False)
        if scaled and kind == "FP16_UnfusedOptimizer":
            norm = norm / _loss_scale(optimizer)
        elif not scaled and _scales_gradients(optimizer):
            warn_unscaled_fp16(optimizer)
            if kind == "FP16_Optimizer":
                norm = norm * _loss_scale(optimizer)
    clip = getattr(optimizer, "clip_grad", None)
    if clip is None and callable(getattr(optimizer, "gradient_clipping", None)):
        clip = optimizer.gradient_clipping()
    max_norm = float(clip) if isinstance(clip, (int, float)) and clip > 0 else math.inf
    return (norm, max_norm, False)


def _scales_gradients(optimizer: Any) -> bool:
    """Does this fp16 optimizer divide the gradients by a loss scale (`use_grad_scaling`: fp16,
    not bf16, in 0.19; before, a scale other than 1)?"""
    config = getattr(optimizer, "loss_scale_config", None)
    return bool(getattr(config, "use_grad_scaling", _loss_scale(optimizer) != 1.0))


_WARNED_UNSCALED: "weakref.WeakSet[Any]" = weakref.WeakSet()


def warn_unscaled_fp16(optimizer: Any) -> None:
    """Once per optimizer: DeepSpeed fp16 without ZeRO stepped gradients that no loss scale
    multiplied, and divides them by its scale all the same."""
    if optimizer in _WARNED_UNSCALED:
        return
    _WARNED_UNSCALED.add(optimizer)
    scale = _loss_scale(optimizer)
    logger.warning("pretrain-doctor: DeepSpeed fp16 without ZeRO: the engine's backward did not scale the loss, "
                   "but %s divides the gradients by its loss scale %g: every update is %gx too small and "
                   "gradient clipping barely acts (deepspeedai/DeepSpeed#8393). Use ZeRO stage 1 or more, or bf16",
                   type(optimizer).__name__, scale, scale)


def _loss_scale(optimizer: Any) -> float:
    """DeepSpeed's current loss scale (`loss_scale_config.cur_scale`; `cur_scale` before 0.16)."""
    config = getattr(optimizer, "loss_scale_config", None)
    scale = getattr(config, "cur_scale", None) if config is not None else getattr(optimizer, "cur_scale", None)
    return float(scale) if isinstance(scale, (int, float)) and scale > 0 else 1.0


# DeepSpeed's fp16 optimizers without ZeRO: their own `backward` scales the loss
FP16_LOSS_SCALERS = ("FP16_Optimizer", "FP16_UnfusedOptimizer")
# those whose own `backward` ran since their last step
_SCALED_BACKWARD: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


class _WatchScaledBackward:
    """`backward` of a DeepSpeed fp16 optimizer (FP16_LOSS_SCALERS), wrapped on the instance to note that
    it scaled the loss (see `engine_grad_norm`); `remove()` restores it."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer, self.had_own, self.original = optimizer, "backward" in vars(optimizer), optimizer.backward
        original, ref = self.original, weakref.ref(optimizer)

        def backward(*args: Any, **kwargs: Any) -> Any:
            owner = ref()
            if owner is not None:
                _SCALED_BACKWARD[owner] = True
            return original(*args, **kwargs)

        self.wrapper = optimizer.backward = backward

    def remove(self) -> None:
        _restore(self.optimizer, "backward", self.wrapper, self.original, self.had_own)
        _SCALED_BACKWARD.pop(self.optimizer, None)


def _restore(owner: Any, name: str, wrapper: Any, original: Any, had_own: bool) -> None:
    """Undo an instance-level wrapper of `owner.<name>` (unless something replaced it since)."""
    if vars(owner).get(name) is wrapper:
        if had_own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


class _InstanceStep:
    """`optimizer.step` of a duck-typed optimizer, wrapped on the instance with the
    doctor's pre/post calls; `remove()` restores it."""

    def __init__(self, optimizer: Any, pre: Optional[Hook], post: Optional[Hook]) -> None:
        self.optimizer = optimizer
        self.had_own = "step" in vars(optimizer)
        self.original = optimizer.step
        original = self.original

        def step(*args: Any, **kwargs: Any) -> Any:
            if pre is not None:  # like torch's step pre-hooks, it may return new arguments
                changed = pre(optimizer, args, kwargs)
                if changed is not None:
                    args, kwargs = changed
            result = original(*args, **kwargs)
            if post is not None:
                post(optimizer, args, kwargs)
            return result

        self.wrapper = step
        optimizer.step = step

    def remove(self) -> None:
        _restore(self.optimizer, "step", self.wrapper, self.original, self.had_own)


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
        if type(optimizer).__name__ in FP16_LOSS_SCALERS and callable(getattr(optimizer, "backward", None)):
            handles.append(_WatchScaledBackward(optimizer))
    return handles


def remove_handles(handles: Iterable[Any]) -> None:
    for handle in list(handles):
        handle.remove()
