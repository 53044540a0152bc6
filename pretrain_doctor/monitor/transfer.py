"""What the doctor keeps between sync points, and how it reaches the host.

On an accelerator, measurements stay tensors on the device until the sync point, where
one transfer brings them all to the host. On the CPU, a scalar is read when it is
measured (see `hold`): the read costs nothing there, and holding tensors costs time.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Union

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


def to_host(entries: list[StepEntry]) -> list[dict[str, Any]]:
    """One device-to-host transfer for all pending entries.

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
    vector_slots: list[tuple[dict[str, Any], str]] = []
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
                vector_slots.append((values, key))
            elif tensor.dim() == 0 or tensor.numel() == 1:
                scalars.append(tensor if tensor.dim() == 0 else tensor.reshape(()))
                scalar_slots.append((values, key, None))
        observed = entry.extra.get("_observed")
        if observed:
            values["_observed"] = observed_floats(observed, values, scalars, scalar_slots)
    if not scalars and not vectors:
        return host
    device = (scalars or vectors)[0].device
    if any(t.device != device for t in (*scalars, *vectors)):
        scalars, vectors = [t.to(device) for t in scalars], [t.to(device) for t in vectors]
    pieces = ([torch.stack(scalars)] if scalars else []) + vectors
    flat = (torch.cat(pieces) if len(pieces) > 1 else pieces[0]).float().cpu().numpy()
    numbers = flat[:len(scalars)].tolist()  # Python floats: arithmetic on NumPy scalars is slow
    for (values, key, name), number in zip(scalar_slots, numbers):
        if name is None:
            values[key] = number
        else:
            values["_observed"].setdefault(name, []).append(number)
    offset = len(scalars)
    for (values, key), vector in zip(vector_slots, vectors):
        size = vector.numel()
        values[key] = flat[offset: offset + size]
        offset += size
    return host


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
