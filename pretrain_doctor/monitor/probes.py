"""Device-side probes. Each returns tensors that stay on the device until the next sync.

No probe writes into a user tensor (every foreach op here is out-of-place or acts on
the doctor's own copies) and none draws random numbers: subsamples are evenly spaced.
"""

from __future__ import annotations

import math
from math import isfinite
from operator import attrgetter
from typing import Optional, Sequence

import torch

from .distributed import local_tensor
from .params import ParamTable


# Up to this many gradients, a plain step's global norm reads each tensor's norm (about
# 1 µs each on the CPU) rather than stacking them and taking the norm of the stack (two
# more ops, about 8 µs): see `GradProbe.host_total`.
FEW_TENSORS = 8
# Up to this many gradient elements in all, a plain step's global norm is one dot product:
# the gradients copied into one vector by one C++ call (64 KiB at most, about what one more
# dispatch costs) and its dot product with itself, three ops in all, instead of a norm
# kernel per gradient (a full dispatch each, about 9k instructions on the CPU) and a read
# per norm. Larger models keep the per-gradient kernels: no copy of their gradients.
FLAT_MOST = 1 << 14
_flatten = torch._C._nn.flatten_dense_tensors  # torch._utils._flatten_dense_tensors, without its Python layer
_GRAD = attrgetter("grad")
# No graph and no view tracking for the plain step's own norm, at less cost than turning
# grad mode off (a C++ guard; the grad-mode switch where torch lacks it).
_BELOW_AUTOGRAD = getattr(torch._C, "_AutoDispatchBelowADInplaceOrView", None) or torch.no_grad
_DOT_DTYPES = (torch.float32, torch.float64)  # a float16 or bfloat16 dot product would overflow


class GradOff:
    """`torch.no_grad()` for the hooks' hot path: the same switch, without its Python
    layers (about 8 µs a use inside an optimizer hook on the CPU, a tenth of the doctor's
    fixed cost per step). The probes' own ops never need a graph."""

    __slots__ = ("previous",)

    def __enter__(self) -> None:
        self.previous = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)

    def __exit__(self, *exc: object) -> None:
        torch._C._set_grad_enabled(self.previous)


def norms_fp32(tensors: list[torch.Tensor], one_device: bool = True) -> torch.Tensor:
    """Per-tensor L2 norms, accumulated in float32 (float64 tensors in float64), stacked
    into one float32 vector."""
    return stacked(norm_list(tensors, one_device))


def stacked(scalars: list[torch.Tensor]) -> torch.Tensor:
    """`torch.stack(scalars)`, without the stack where they are consecutive elements of
    one storage: CUDA's `_foreach_norm` writes its results into one output vector and
    returns its elements (`ret[i]`), and stacking 148 of them cost a GPT-2 step on an H200
    about 300 `unsqueeze`/`as_strided` dispatches on the host (RESULTS.md, 2026-12-04).
    The check reads each element's address, far cheaper than the stack. The storage may
    hold more than these elements (an allocator's rounding, a larger workspace): the
    first and the last sharing it, with consecutive addresses between, is enough. (torch
    2.11's CUDA `_foreach_norm` returns separate 4-byte storages: there the stack stays.)"""
    first = scalars[0] if scalars else None
    if first is not None and len(scalars) > 1 and first.dim() == 0:
        size, start = first.element_size(), first.data_ptr()
        last = scalars[-1]
        if last.untyped_storage().data_ptr() == first.untyped_storage().data_ptr() and all(
                t.dim() == 0 and t.dtype == first.dtype and t.data_ptr() == start + i * size
                for i, t in enumerate(scalars)):
            return first.as_strided((len(scalars),), (1,), first.storage_offset())
    return torch.stack(scalars)


def norm_list(tensors: list[torch.Tensor], one_device: bool = True) -> list[torch.Tensor]:
    """`norms_fp32` before the stack: one float32 scalar tensor per tensor. A float64
    model (or one moved to float64 after attach) takes the per-dtype path: `_foreach_norm`
    cannot narrow float64 to float32."""
    if _WIDE_SEEN:
        norms = _norms_by_dtype(tensors)
    else:
        try:
            norms = list(torch._foreach_norm(tensors, 2, dtype=torch.float32))
        except RuntimeError:
            if not any(t.dtype == torch.float64 for t in tensors):
                raise
            _WIDE_SEEN.append(True)
            norms = _norms_by_dtype(tensors)
    if not one_device:
        norms = [n.to(norms[0].device) for n in norms]
    return norms


_WIDE_SEEN: list[bool] = []  # a float64 tensor was met: this process takes the per-dtype path


def _norms_by_dtype(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    wide = [i for i, t in enumerate(tensors) if t.dtype == torch.float64]
    narrow = [i for i, t in enumerate(tensors) if t.dtype != torch.float64]
    norms: list = [None] * len(tensors)
    if narrow:
        for i, n in zip(narrow, torch._foreach_norm([tensors[i] for i in narrow], 2, dtype=torch.float32)):
            norms[i] = n
    if wide:
        for i, n in zip(wide, torch._foreach_norm([tensors[i] for i in wide], 2)):
            norms[i] = n.float()
    return norms


class GradProbe:
    """Per-parameter gradient norms of this rank's tensors (one foreach kernel per step).

    The host derives the global and per-layer norms, non-finite and never-updated
    parameters from this one vector; under torch.distributed the vectors are reduced
    across ranks at the sync point, not here, so no collective runs between syncs.
    A parameter without a gradient counts as zero.
    """

    def __init__(self, table: ParamTable) -> None:
        self.table = table
        self._indices: dict[tuple[int, ...], torch.Tensor] = {}
        # `host_total` by one dot product (see FLAT_MOST); off for good once it cannot be
        # (sparse gradients ...)
        self.flat = sum(p.numel() for p in table.params) <= FLAT_MOST
        # one guard, entered at each plain step: building it is half its cost (about 3k of
        # the 40k instructions of `host_total`); a probe's own, as it holds the guard it enters
        self._below_autograd = _BELOW_AUTOGRAD()

    def _index(self, present: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """The positions of the parameters that have gradients, as a device tensor; cached,
        because building it is a host-to-device copy (the same few sets recur)."""
        index = self._indices.get(present)
        if index is None:
            index = torch.tensor(present, dtype=torch.long, device=device)
            if len(self._indices) < 64:
                self._indices[present] = index
        return index

    def measure(self, subset: Optional[Sequence[int]] = None) -> Optional[torch.Tensor]:
        """Norms of every parameter's gradient, or of those in `subset` (zero elsewhere)."""
        params = self.table.params
        if subset is None:
            grads = [p.grad for p in params if p.grad is not None]
        else:
            grads = [params[i].grad for i in subset if params[i].grad is not None]
        if not grads:
            return None
        if self.table.sharded:
            grads = [local_tensor(g) for g in grads]
        with GradOff():
            norms = norms_fp32(grads, one_device=len(self.table.devices) <= 1)
            if len(grads) != len(params):
                present = tuple(i for i in (subset if subset is not None else range(len(params)))
                                if params[i].grad is not None)
                full = torch.zeros(len(params), dtype=norms.dtype, device=norms.device)
                norms = full.index_copy(0, self._index(present, norms.device), norms)
        return norms

    def measure_with_params(self) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
        """`measure()` and `param_norms(table)` from one foreach call (on an accelerator
        each call is kernel launches on the host's clock); None where a parameter has no
        gradient (then the two are measured apart)."""
        params = self.table.params
        grads = [p.grad for p in params]
        if any(g is None for g in grads):
            return None
        if self.table.sharded:
            grads, params = [local_tensor(g) for g in grads], [local_tensor(p) for p in params]
        with GradOff():
            both = norms_fp32([*grads, *params], one_device=len(self.table.devices) <= 1)
        count = len(grads)
        return both[:count], both[count:]

    def host_total(self) -> Optional[float]:
        """The global norm of the gradients present (what `clip_grad_norm_` computes), read on
        the host, for a plain step on one CPU process (where reads are free; it needs no
        per-parameter vector): a few gradients' norms are read one by one and combined on the
        host, in double precision; more are combined on the device first. Small gradients in
        float32 or float64 (FLAT_MOST elements in all) take one dot product instead; where
        its sum of squares is not finite (a NaN, or squares past float32's range) the
        per-gradient norms decide, as without it."""
        grads = [grad for grad in map(_GRAD, self.table.params) if grad is not None]  # each `.grad` read once
        if not grads:
            return None
        if self.flat:
            squares = self._flat_squares(grads)
            if squares is not None and isfinite(squares):
                return math.sqrt(squares)
        enabled = torch.is_grad_enabled()  # `GradOff`, inline: this runs at every plain step
        torch._C._set_grad_enabled(False)
        try:
            norms = norm_list(grads)
            if len(norms) > FEW_TENSORS:
                return torch.linalg.vector_norm(torch.stack(norms)).item()
        finally:
            torch._C._set_grad_enabled(enabled)
        return math.hypot(*map(torch.Tensor.item, norms))

    def _flat_squares(self, grads: list[torch.Tensor]) -> Optional[float]:
        """The sum of the gradients' squares as one dot product (see FLAT_MOST); None, and the
        per-gradient path from then on, where they cannot be flattened or their dtype is too
        narrow for it. Its three ops run below autograd (`_BELOW_AUTOGRAD`): the same
        kernels on the same values, without autograd's and view tracking's layers."""
        with self._below_autograd:
            try:
                flat = _flatten(grads)
            except (RuntimeError, TypeError):  # sparse gradients, a tensor subclass ...
                self.flat = False
                return None
            if flat.dtype not in _DOT_DTYPES:
                self.flat = False
                return None
            return flat.dot(flat).item()


class UpdateProbe:
    """‖Δθ‖ and ‖θ‖ per parameter on sampled steps: one copy of the parameters is held
    between the optimizer's pre- and post-step hooks, then released."""

    def __init__(self, table: ParamTable) -> None:
        self.table = table
        self._before: Optional[list[torch.Tensor]] = None

    def snapshot(self) -> None:
        with GradOff():
            self._before = torch._foreach_mul([local_tensor(p.detach()) for p in self.table.params], 1.0)

    @property
    def armed(self) -> bool:
        return self._before is not None

    def measure(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(‖θ_before - θ_after‖, ‖θ_before‖) per parameter; frees the snapshot."""
        before, self._before = self._before, None
        assert before is not None
        with GradOff():
            old_norms = norms_fp32(before)
            torch._foreach_sub_(before, [local_tensor(p.detach()) for p in self.table.params])
            delta_norms = norms_fp32(before)
        del before
        return delta_norms, old_norms

    def release(self) -> None:
        self._before = None


def param_norms(table: ParamTable) -> torch.Tensor:
    """Per-parameter norms after the update: a NaN/Inf here is a poisoned parameter.
    (Under no_grad the parameters themselves can be read: no graph is built.)"""
    with GradOff():
        return norms_fp32([local_tensor(p) for p in table.params] if table.sharded else table.params)


def output_log_z(logits: torch.Tensor, max_rows: int = 256) -> torch.Tensor:
    """Mean logsumexp of the output logits over an evenly spaced subsample of positions."""
    with GradOff():
        rows = logits.detach().reshape(-1, logits.shape[-1])
        if rows.shape[0] > max_rows:
            stride = rows.shape[0] // max_rows
            rows = rows[::stride][:max_rows]
        return torch.logsumexp(rows.float(), dim=-1).mean()
