"""What the doctor keeps between sync points, and how it reaches the host.

On an accelerator, measurements stay tensors on the device until the sync point, where
one transfer brings them all to the host. On the CPU, a scalar is read when it is
measured (see `hold`): the read costs nothing there, and holding tensors costs time.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, NamedTuple, Optional, Union

import numpy as np
import torch

from .distributed import NORM_VECTOR_KEYS
from .records import StepEntry

Held = Union[torch.Tensor, float, list]


def hold(value: torch.Tensor) -> Held:
    """What the doctor keeps of a measured tensor until the next sync.

    On the CPU, its values now (a float, or a list of floats): the read costs nothing
    there, and small tensors held across steps leave holes in the heap among the step's
    large activations (holding each step's loss tensor slowed a tiny GPT-2's CPU step by
    about 2%, benchmarks/RESULTS.md). Elsewhere the tensor itself, detached (`.data`:
    without a dispatcher call), since reading it would wait for the device.
    """
    if type(value) is not torch.Tensor:
        return value.detach()  # a tensor subclass (DTensor ...): no shortcuts
    if value.is_cpu:
        return value.item() if value.numel() == 1 else value.reshape(-1).tolist()
    return value.data


def all_finite(held: Iterable[Held]) -> bool:
    """Are all these held values finite? (One device read for the tensors among them.)"""
    tensors = []
    for value in held:
        if isinstance(value, torch.Tensor):
            tensors.append(value.detach().reshape(-1).float())
        elif not all(math.isfinite(x) for x in (value if isinstance(value, list) else (value,))):
            return False
    if not tensors:
        return True
    device = tensors[0].device
    return bool(torch.isfinite(torch.cat([t.to(device) for t in tensors])).all())


class Packed(NamedTuple):
    """A window's host values as far as known, and its device tensors in one flat vector
    (None: nothing left on a device) with the slots their numbers go to."""
    host: list[dict[str, Any]]
    flat: Optional[torch.Tensor]
    scalar_slots: list[tuple[dict[str, Any], str, Optional[str]]]
    vector_slots: list[tuple[dict[str, Any], str, int]]


def pack(entries: list[StepEntry]) -> Packed:
    """Every tensor the pending entries hold, in one flat float32 vector on their device.

    Every tensor the doctor keeps is already detached (hooks store detached values,
    probes run under no_grad). The scalars (loss, lr, pre-clip norm ...) are stacked in
    one op, the vectors (norm vectors, attention statistics) flattened after them, and
    the whole converted to float32 once. A non-scalar under a scalar's key (a per-token
    "loss") is no step value: dropped.
    """
    host: list[dict[str, Any]] = [{} for _ in entries]
    scalars: list[torch.Tensor] = []
    scalar_slots: list[tuple[dict[str, Any], str, Optional[str]]] = []
    vectors: list[torch.Tensor] = []
    vector_slots: list[tuple[dict[str, Any], str, int]] = []
    for values, entry in zip(host, entries):
        if type(entry) is tuple:  # a plain step: host floats already (records.PlainStep)
            continue
        for key, tensor in entry.tensors.items():
            vector = key in NORM_VECTOR_KEYS or key.startswith(("attn/", "mask/"))
            if not isinstance(tensor, torch.Tensor):  # read on the CPU when it was held (see `hold`)
                if vector:
                    values[key] = np.asarray(tensor, dtype=np.float32)
                elif not isinstance(tensor, list):
                    values[key] = tensor
            elif vector:
                vectors.append(tensor.reshape(-1))
                vector_slots.append((values, key, vectors[-1].numel()))
            elif tensor.dim() == 0 or tensor.numel() == 1:
                scalars.append(tensor if tensor.dim() == 0 else tensor.reshape(()))
                scalar_slots.append((values, key, None))
        observed = entry.extra.get("_observed")
        if observed:
            values["_observed"] = observed_floats(observed, values, scalars, scalar_slots)
    if not scalars and not vectors:
        return Packed(host, None, scalar_slots, vector_slots)
    device = (scalars or vectors)[0].device
    if any(t.device != device for t in (*scalars, *vectors)):
        scalars, vectors = [t.to(device) for t in scalars], [t.to(device) for t in vectors]
    pieces = ([torch.stack(scalars)] if scalars else []) + vectors
    return Packed(host, (torch.cat(pieces) if len(pieces) > 1 else pieces[0]).float(), scalar_slots, vector_slots)


def unpack(packed: Packed, flat: Optional[np.ndarray]) -> list[dict[str, Any]]:
    """The window's host values, with the numbers of `packed.flat` (read to the host) in their slots."""
    if flat is None:
        return packed.host
    numbers = flat[:len(packed.scalar_slots)].tolist()  # Python floats: arithmetic on NumPy scalars is slow
    for (values, key, name), number in zip(packed.scalar_slots, numbers):
        if name is None:
            values[key] = number
        else:
            values["_observed"].setdefault(name, []).append(number)
    offset = len(packed.scalar_slots)
    for values, key, size in packed.vector_slots:
        values[key] = flat[offset: offset + size]
        offset += size
    return packed.host


def read(packed: Packed) -> list[dict[str, Any]]:
    """The window's host values, its flat vector read now (the host waits for the device)."""
    return unpack(packed, None if packed.flat is None else packed.flat.cpu().numpy())


def to_host(entries: list[StepEntry]) -> list[dict[str, Any]]:
    """One device-to-host transfer for all pending entries."""
    return read(pack(entries))


def in_background(device: torch.device) -> bool:
    """May a window's transfer from `device` run while training goes on (see `InFlight`)?
    Tests replace this function to run that path on the CPU."""
    return device.type == "cuda"


class InFlight:
    """A window's values on their way to the host, read one step later.

    A host read at the sync point waits until the device has run everything queued
    before it, and the device then idles while the host runs the detectors: on a GPT-2
    small step on an H200 that stall cost the 1% budget 1.5% of the step time
    (benchmarks/RESULTS.md). Instead the copy into pinned host memory is queued on the
    device's stream with an event after it; the next step's hook waits for that event
    only (the device has the next step's work queued behind it, so it keeps busy) and
    hands the numbers on. Every rank lands its window at the same step.
    """

    def __init__(self, entries: list[StepEntry], packed: Packed) -> None:
        self.entries, self.packed = entries, packed
        flat = packed.flat
        self.event: Any = None
        if flat is not None and flat.is_cuda:
            self.buffer = torch.empty(flat.shape, dtype=flat.dtype, pin_memory=True)
            self.buffer.copy_(flat, non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record()
        else:
            self.buffer = None if flat is None else flat.cpu()

    def land(self) -> list[dict[str, Any]]:
        """The window's host values (waits for the copy if it has not finished)."""
        if self.event is not None:
            self.event.synchronize()
        return unpack(self.packed, None if self.buffer is None else self.buffer.numpy())


def observed_floats(observed: dict[str, list[Any]], values: dict[str, Any], scalars: list[torch.Tensor],
                     slots: list[tuple[dict[str, Any], str, Optional[str]]]) -> dict[str, list[float]]:
    """Values given to `observe()`: plain numbers now, tensors queued with the scalars (their first element)."""
    floats: dict[str, list[float]] = {}
    for name, items in observed.items():
        floats[name] = [float(v) for v in items if not isinstance(v, torch.Tensor)]
        for value in items:
            if isinstance(value, torch.Tensor):
                scalars.append(value.detach().reshape(-1)[0])
                slots.append((values, "_observed", name))
    return {name: kept for name, kept in floats.items() if kept}
