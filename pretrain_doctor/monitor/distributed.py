"""What the monitor does differently under `torch.distributed` (DDP, FSDP2, HSDP).

The core monitor calls these at its sync points, so every collective is issued by
every rank at the same step and in the same order:

- `SyncReducer` makes one sync block global with ONE all-reduce (SUM): the loss is the
  mean over ranks, per-parameter norms are the roots of summed squared shares (each
  rank's share of a parameter is its local sum of squares divided by how many ranks
  hold it, `replication_factor`), so every rank sees the global grad norm, the value
  `clip_grad_norm_` computes; a NaN/Inf on any rank reaches every rank, so it is an
  alert on all.
- `reduce_squared_norms` sums squared shares the same way outside a sync block
  (`should_skip_step`).
- `ReplicaChecker` compares an exact bitwise checksum of the parameters across
  data-parallel replicas every few hundred steps (PDM106 replica-divergence).
- `DistributedContext.is_writer`: only rank 0 writes the run log and TensorBoard.

Outside `torch.distributed` (or with one process) nothing here issues a collective.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist

try:  # DTensor moved out of `_tensor` in torch 2.5; FSDP2 parameters are DTensors.
    from torch.distributed.tensor import DTensor, Replicate, Shard
except ImportError:  # pragma: no cover - torch builds without distributed support
    DTensor = Replicate = Shard = None  # type: ignore[assignment,misc]

# Same-size integer views of float storage: summing the bit patterns is an exact,
# order-independent checksum, so replicas that are bit-identical agree exactly.
_INT_VIEW_BY_ELEMENT_SIZE = {1: torch.int8, 2: torch.int16, 4: torch.int32}


@dataclass(frozen=True)
class DistributedContext:
    """The rank layout the monitor runs under (world_size 1 outside torch.distributed)."""

    rank: int = 0
    world_size: int = 1
    group: Any = None  # None: the default (world) process group

    @classmethod
    def current(cls) -> "DistributedContext":
        """The context of the calling process; single-process when torch.distributed is off."""
        if not (dist.is_available() and dist.is_initialized()):
            return cls()
        return cls(rank=dist.get_rank(), world_size=dist.get_world_size())

    @property
    def active(self) -> bool:
        """True when collectives are needed (more than one rank)."""
        return self.world_size > 1

    @property
    def is_writer(self) -> bool:
        """Only rank 0 writes the run log and TensorBoard, so files are not clobbered."""
        return self.rank == 0


def local_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """The part of `tensor` stored on this rank (the shard of a DTensor, else itself)."""
    if DTensor is not None and isinstance(tensor, DTensor):
        return tensor.to_local()
    return tensor


# FSDP1 with use_orig_params=True shows the original parameters, each a view of this
# rank's part of a sharded flat parameter (or empty): shards, not replicas. Nothing on the
# parameter says so: `note_fsdp1_shards` finds them in the model's FSDP handles
# (id -> weak reference, since a tensor's == is elementwise and a WeakSet compares with it).
_ORIG_PARAM_SHARDS: dict[int, "weakref.ref[torch.Tensor]"] = {}


def note_fsdp1_shards(model: torch.nn.Module) -> None:
    """Remember the original parameters that FSDP1 (use_orig_params=True, a sharded
    strategy) turned into views of a shard: `FlatParamHandle.flat_param._params`."""
    for module in model.modules():
        handle = getattr(module, "_handle", None)
        flat = getattr(handle, "flat_param", None)
        if not (getattr(handle, "_use_orig_params", False) and getattr(handle, "uses_sharded_strategy", False)):
            continue
        for param in getattr(flat, "_params", None) or ():
            _ORIG_PARAM_SHARDS[id(param)] = weakref.ref(param, lambda _, key=id(param): _ORIG_PARAM_SHARDS.pop(key, None))


def sharded_flat_param(tensor: torch.Tensor) -> bool:
    """FSDP1's FlatParameter holding this rank's shard only (FULL_SHARD, SHARD_GRAD_OP),
    or an original parameter that is a view of one (use_orig_params=True, see
    `note_fsdp1_shards`): a plain tensor, but no replica of the other ranks' (each holds a
    different part)."""
    known = _ORIG_PARAM_SHARDS.get(id(tensor))
    if known is not None and known() is tensor:
        return True
    if not getattr(tensor, "_is_flat_param", False):
        return False
    full = getattr(tensor, "_unpadded_unsharded_size", None)
    return isinstance(full, torch.Size) and full.numel() > tensor.numel()


def replication_factor(tensor: torch.Tensor, world_size: int) -> int:
    """How many ranks of the world hold each element of `tensor`.

    A plain tensor is a full replica on every rank (DDP: gradients are already
    all-reduced), unless it is FSDP1's sharded flat parameter (one rank each). A DTensor
    is split over its Shard mesh dimensions and copied over the rest, including ranks
    outside its mesh. Summing a per-rank value divided by this
    factor over the world counts every element exactly once.
    """
    if DTensor is None or not isinstance(tensor, DTensor):
        return 1 if sharded_flat_param(tensor) else world_size
    mesh = tensor.device_mesh
    shards = 1
    for dim, placement in enumerate(tensor.placements):
        if isinstance(placement, Shard):
            shards *= mesh.size(dim)
    return max(1, world_size // shards)


def replication_factors(params: Sequence[torch.Tensor], world_size: int) -> torch.Tensor:
    """`replication_factor` of each parameter, as a float32 tensor on their device."""
    device = local_tensor(params[0]).device if params else torch.device("cpu")
    return torch.tensor([float(replication_factor(p, world_size)) for p in params], device=device)


def reduce_squared_norms(ctx: DistributedContext, shares: torch.Tensor) -> torch.Tensor:
    """Sum the per-rank shares across ranks (in place) and return the global norms."""
    if ctx.active:
        dist.all_reduce(shares, op=dist.ReduceOp.SUM, group=ctx.group)
    return shares.sqrt()


def any_rank(ctx: DistributedContext, flags: torch.Tensor) -> torch.Tensor:
    """Element-wise OR of 0/1 flags over all ranks (MAX all-reduce, in place)."""
    if ctx.active:
        dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=ctx.group)
    return flags


def collective_device(ctx: DistributedContext) -> torch.device:
    """Where a tensor must live for a collective: NCCL needs the current CUDA device."""
    if ctx.active and dist.get_backend(ctx.group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# Per-parameter norm vectors of a step on the host (see monitor.doctor): each becomes
# global through its sum of squares ("grad_seen": the parameters not yet seen with a
# gradient, zero elsewhere; the same set on every rank, since it comes from global values).
NORM_VECTOR_KEYS = ("grad_norms", "param_norms", "update_delta", "update_base", "grad_seen")


class SyncReducer:
    """Makes one sync block of host measurements global, with ONE all-reduce (SUM).

    Per step it packs: the loss (sum, count of ranks that saw one) and, for every
    per-parameter norm vector, each rank's share of the squared norms plus a count of
    the ranks that measured it. After the sum:

    - the loss is the mean over ranks (a NaN/Inf on any rank stays in the sum);
    - a norm vector is kept only if every rank measured it (else it would not be the
      global value), as sqrt of the summed shares: the global norm for sharded (FSDP2)
      parameters, and the replicas' common value for replicated (DDP) ones;
    - a NaN/Inf on any rank propagates through the sum to every rank, so a non-finite
      gradient or parameter on one rank is an alert on all.

    The layout is fixed by the step count and the number of parameters, both equal on
    every rank, so ranks never disagree on the buffer size even when a sampled probe
    ran on one rank only.
    """

    def __init__(self, ctx: DistributedContext, params: Sequence[torch.Tensor]) -> None:
        self.ctx = ctx
        self.size = len(params)
        # Placements never change during a run: computed once, on the device for
        # `should_skip_step` and on the host for the sync blocks.
        self.factors = replication_factors(params, ctx.world_size)
        self._host_factors = self.factors.double().cpu().numpy()

    @property
    def _slots(self) -> int:
        return 2 + len(NORM_VECTOR_KEYS) * (self.size + 1)

    def reduce(self, host: list[dict[str, Any]]) -> None:
        """Replace, in place, each step's local `loss` and norm vectors by global ones.

        `host[i]` holds step i's values on the host: "loss" (or an observed loss in
        "_observed") and per-parameter norm vectors over all parameters.
        """
        if not self.ctx.active or not host:
            return
        buffer = np.zeros((len(host), self._slots), dtype=np.float64)
        for row, values in zip(buffer, host):
            self._pack(row, values)
        reduced = torch.from_numpy(buffer).to(collective_device(self.ctx))
        dist.all_reduce(reduced, op=dist.ReduceOp.SUM, group=self.ctx.group)
        for row, values in zip(reduced.cpu().numpy(), host):
            self._unpack(row, values)

    def _pack(self, row: np.ndarray, values: dict[str, Any]) -> None:
        # Never raises: a rank that failed here would leave the others waiting in the collective.
        loss = _local_loss(values)
        if loss is not None:
            row[0], row[1] = loss, 1.0
        for index, key in enumerate(NORM_VECTOR_KEYS):
            vector = np.asarray(values.get(key, ()), dtype=np.float64).reshape(-1)
            if vector.shape != (self.size,):
                continue  # not measured at this step (or not over every parameter)
            start = 2 + index * (self.size + 1)
            row[start:start + self.size] = np.square(vector) / self._host_factors
            row[start + self.size] = 1.0

    def _unpack(self, row: np.ndarray, values: dict[str, Any]) -> None:
        values.get("_observed", {}).pop("loss", None)
        values.pop("loss", None)
        loss_sum, loss_count = row[0], row[1]
        if loss_count > 0:
            values["loss"] = loss_sum / loss_count
        for index, key in enumerate(NORM_VECTOR_KEYS):
            start = 2 + index * (self.size + 1)
            measured_by = row[start + self.size]
            values.pop(key, None)
            if measured_by == self.ctx.world_size:
                values[key] = np.sqrt(row[start:start + self.size])


def _local_loss(values: dict[str, Any]) -> Optional[float]:
    """This rank's loss for a step: what the loop observed, else what the forward hook saw."""
    observed = values.get("_observed", {}).get("loss")
    try:
        if observed:
            return float(np.mean(observed))
        return None if values.get("loss") is None else float(values["loss"])
    except (TypeError, ValueError):
        return None


def bitwise_checksum(tensor: torch.Tensor) -> torch.Tensor:
    """An exact int64 checksum of this rank's elements: the sum of their bit patterns.

    Integer addition is associative, so the value does not depend on the reduction
    order, and any single flipped bit changes it. It runs on the tensor's device.
    """
    local = local_tensor(tensor.detach())
    if local.is_complex():
        local = torch.view_as_real(local)
    int_dtype = _INT_VIEW_BY_ELEMENT_SIZE.get(local.element_size())
    if int_dtype is None:  # 8-byte elements: two int32 halves, so int64 sums never overflow
        return local.contiguous().view(torch.int32).sum(dtype=torch.int64)
    return local.view(int_dtype).sum(dtype=torch.int64)


@dataclass
class ReplicaMismatch:
    """One parameter whose replicas disagree: `ranks` (global) differ from the first
    replica of the group (rank 0 for a world-replicated parameter); `checksums` holds
    every replica's checksum, in the order of `replicas`."""

    parameter: str
    ranks: list[int]
    replicas: list[int]
    checksums: list[int]


@dataclass
class ReplicaReport:
    """The outcome of one cross-replica comparison."""

    step: int
    checked: int  # parameters compared on this rank
    mismatches: list[ReplicaMismatch] = field(default_factory=list)
    diverged_anywhere: bool = False  # some replica group diverged (same answer on every rank)

    def as_data(self, limit: int = 20) -> dict[str, Any]:
        """The run-log fact `extra["replica_mismatch"]` (what PDM106 reads)."""
        shown = self.mismatches[:limit]
        return {
            "ranks": sorted({rank for m in self.mismatches for rank in m.ranks}),
            "params": [m.parameter for m in shown],
            "checksums": [{"param": m.parameter, "replicas": m.replicas, "checksums": m.checksums} for m in shown],
            "mismatched": len(self.mismatches),
            "checked": self.checked,
        }


def replica_groups(tensor: torch.Tensor) -> list[Any]:
    """The process groups across which `tensor` must be identical.

    A plain parameter is replicated over the whole world (None = default group); a
    DTensor only over its Replicate mesh dimensions (FSDP2 shards: none; HSDP: the
    replicate dimension).
    """
    if DTensor is None or not isinstance(tensor, DTensor):
        return [] if sharded_flat_param(tensor) else [None]
    mesh = tensor.device_mesh
    return [mesh.get_group(dim) for dim, placement in enumerate(tensor.placements)
            if isinstance(placement, Replicate) and mesh.size(dim) > 1]


class ReplicaChecker:
    """Compares parameter checksums across data-parallel replicas (PDM106).

    `every` steps (a few hundred by default: one checksum pass costs about one read of
    the parameters, and one all-gather of a few bytes per parameter). Megatron-LM's
    `check_param_hashes_across_dp_replicas` does the same with SHA-256 hashes on the host.
    """

    def __init__(self, named_parameters: Iterable[tuple[str, torch.Tensor]], ctx: DistributedContext,
                 every: int = 500) -> None:
        self.ctx = ctx
        self.every = every
        self._last_checked = 0
        self._by_group: dict[Any, list[tuple[str, torch.Tensor]]] = {}
        for name, param in named_parameters:
            for group in replica_groups(param):
                self._by_group.setdefault(group, []).append((name, param))

    @property
    def enabled(self) -> bool:
        return self.ctx.active and self.every > 0 and bool(self._by_group)

    def due(self, step: int) -> bool:
        """True once `step` has passed a multiple of `every` since the last check; the
        same on every rank (all ranks count the same steps and sync at the same ones)."""
        return self.enabled and step // self.every > self._last_checked // self.every

    @torch.no_grad()
    def check(self, step: int) -> ReplicaReport:
        """Gather checksums within each replica group and name what differs.

        Every rank must call this at the same step (it issues collectives).
        """
        self._last_checked = step
        report = ReplicaReport(step=step, checked=0)
        for group, params in self._by_group.items():
            report.checked += len(params)
            report.mismatches.extend(self._compare_group(group, params))
        diverged = torch.tensor([1 if report.mismatches else 0], dtype=torch.int64,
                                device=collective_device(self.ctx))
        any_rank(self.ctx, diverged)
        report.diverged_anywhere = bool(diverged.item())
        return report

    def _compare_group(self, group: Any, params: list[tuple[str, torch.Tensor]]) -> list[ReplicaMismatch]:
        local = torch.stack([bitwise_checksum(param) for _, param in params])
        gathered = [torch.empty_like(local) for _ in range(dist.get_world_size(group))]
        dist.all_gather(gathered, local, group=group)
        table = torch.stack(gathered).cpu().tolist()  # [replica][parameter]
        global_ranks = dist.get_process_group_ranks(group) if group is not None else list(range(len(table)))
        mismatches = []
        for column, (name, _) in enumerate(params):
            values = [row[column] for row in table]
            differ = [global_ranks[i] for i, value in enumerate(values) if value != values[0]]
            if differ:
                mismatches.append(ReplicaMismatch(name, differ, list(global_ranks), values))
        return mismatches

