"""What the monitor knows about the model's parameters: names, layers, optimizer coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from .distributed import local_tensor


def layer_of(param_name: str) -> str:
    """The layer a parameter belongs to, used to group per-layer metrics.

    Inside a stack of blocks (`transformer.h.3.attn.c_attn.weight`) the layer is the
    block (`transformer.h.3`); elsewhere it is the owning module (`transformer.wte`).
    """
    parts = param_name.split(".")
    for index, part in enumerate(parts[:-1]):
        if part.isdigit():
            return ".".join(parts[: index + 1])
    return ".".join(parts[:-1]) or parts[0]


@dataclass
class ParamTable:
    """The optimizer's trainable parameters, with names and a layer index for each."""

    params: list[torch.Tensor]
    names: list[str]
    layers: list[str]
    layer_index: np.ndarray  # one entry per parameter: its position in `layers` (host-side grouping)
    not_in_optimizer: list[str] = field(default_factory=list)
    in_several_groups: list[str] = field(default_factory=list)

    @cached_property
    def sharded(self) -> bool:
        """Some parameter is a DTensor (FSDP2): probes read its local shard."""
        return any(local_tensor(p) is not p for p in self.params)

    @cached_property
    def devices(self) -> frozenset[torch.device]:
        """The devices this rank's parameter data lives on."""
        return frozenset(local_tensor(p).device for p in self.params)

    @classmethod
    def build(cls, model: torch.nn.Module, optimizer: Any) -> "ParamTable":
        """The parameters the optimizer(s) train: `optimizer` is one optimizer, a list of
        them, or None (then the model's trainable parameters). Parameters with
        `requires_grad=False` (a LoRA's frozen base, left in the optimizer by the usual
        recipe) are not watched: no gradient is expected of them."""
        from .distributed import note_fsdp1_shards
        from .optimizers import as_optimizer_list, param_groups_of

        note_fsdp1_shards(model)  # FSDP1's original parameters (use_orig_params) are shards
        optimizers = as_optimizer_list(optimizer) if not isinstance(optimizer, list) else optimizer
        groups = param_groups_of(optimizers) if optimizers else None
        if groups is None:
            groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
        name_of = {id(p): name for name, p in model.named_parameters()}
        seen: dict[int, int] = {}
        params: list[torch.Tensor] = []
        for group_number, group in enumerate(groups):
            for position, param in enumerate(group["params"]):
                if not getattr(param, "requires_grad", True):
                    continue
                if id(param) in seen:
                    seen[id(param)] += 1
                    continue
                seen[id(param)] = 1
                params.append(param)
                name_of.setdefault(id(param), f"param_groups[{group_number}].params[{position}]")
        names = [name_of[id(p)] for p in params]
        positions: dict[str, int] = {}  # layer -> its position, in order of first appearance
        index = [positions.setdefault(layer_of(name), len(positions)) for name in names]
        missing = [name for name, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
        repeated = [name_of[pid] for pid, count in seen.items() if count > 1]
        return cls(params, names, list(positions), np.array(index, dtype=np.int64), missing, repeated)
