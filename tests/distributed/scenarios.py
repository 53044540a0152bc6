"""What each rank runs in the distributed tests (see _launch.run_ranks).

Every scenario trains the same tiny MLP on the same global batches; rank r takes rows
[r*B/W, (r+1)*B/W) of each batch, so DDP/FSDP2 gradients (averaged over ranks) equal the
single-process gradients of the whole batch, which `reference_grad_norms` computes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

import pretrain_doctor
from tests.recorder import Recorder

STEPS = 4
GLOBAL_BATCH = 8
LEARNING_RATE = 0.1
MAX_GRAD_NORM = 0.5  # below the norms of these steps: clipping is active


def make_model() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))


def global_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1000 + step)
    return (torch.randn(GLOBAL_BATCH, 8, generator=generator),
            torch.randn(GLOBAL_BATCH, 4, generator=generator))


def rank_batch(step: int, rank: int, world_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = global_batch(step)
    rows = slice(rank * GLOBAL_BATCH // world_size, (rank + 1) * GLOBAL_BATCH // world_size)
    return x[rows], y[rows]


def reference_grad_norms() -> list[dict[str, float]]:
    """Single process, whole batch, same clipping: the pre-clip total and per-layer
    gradient norms of each step."""
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    history = []
    for step in range(STEPS):
        x, y = global_batch(step)
        torch.nn.functional.mse_loss(model(x), y).backward()
        per_layer = {name: math.sqrt(sum(float(p.grad.square().sum()) for p in layer.parameters()))
                     for name, layer in model.named_children() if any(True for _ in layer.parameters())}
        total = math.sqrt(sum(v * v for v in per_layer.values()))
        history.append({"grad_norm": total, **{f"grad_norm/{k}": v for k, v in per_layer.items()}})
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        optimizer.zero_grad()
    return history


def _fully_shard(model: torch.nn.Module, mesh: Any = None) -> torch.nn.Module:
    from torch.distributed.fsdp import fully_shard

    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    return fully_shard(model, mesh=mesh)


def _wrap(kind: str, model: torch.nn.Module) -> torch.nn.Module:
    if kind == "ddp":
        return torch.nn.parallel.DistributedDataParallel(model)
    if kind == "fsdp":
        return _fully_shard(model)
    if kind == "fsdp1":  # FullyShardedDataParallel (FULL_SHARD): flat parameters, sharded
        from torch.distributed.fsdp import FullyShardedDataParallel

        return FullyShardedDataParallel(model, device_id=torch.device("cpu"))
    if kind == "fsdp1-orig":  # the same, use_orig_params=True: the original parameters, views of the shard
        from torch.distributed.fsdp import FullyShardedDataParallel

        return FullyShardedDataParallel(model, device_id=torch.device("cpu"), use_orig_params=True)
    if kind == "hsdp":  # 2 replicas of a 1-way shard: parameters are DTensors (Replicate, Shard(0))
        from torch.distributed.device_mesh import init_device_mesh

        mesh = init_device_mesh("cpu", (dist.get_world_size(), 1), mesh_dim_names=("replicate", "shard"))
        return _fully_shard(model, mesh=mesh)
    raise ValueError(kind)


def _train(kind: str, rank: int, world_size: int, workdir: Path, steps: int = STEPS,
           before_step: Any = None, after_step: Any = None, clip: Any = False,
           returned_norms: Any = None, **options: Any) -> pretrain_doctor.Doctor:
    model = _wrap(kind, make_model())
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    doctor = pretrain_doctor.attach(model, optimizer, log_dir=workdir / "log", console=False, **options)
    for step in range(1, steps + 1):
        x, y = rank_batch(step - 1, rank, world_size)
        loss = torch.nn.functional.mse_loss(model(x), y)
        if before_step is not None:
            loss = before_step(step, loss, model)
        doctor.observe(loss=loss)
        loss.backward()
        if clip == "own":  # the wrapper's own clipping (FSDP1's clip_grad_norm_ method)
            returned = model.clip_grad_norm_(MAX_GRAD_NORM)
            if returned_norms is not None:
                returned_norms.append(float(returned))
        elif clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        optimizer.zero_grad()
        if after_step is not None:
            after_step(step, model)
    doctor.detach()
    return doctor


def _alerts(doctor: pretrain_doctor.Doctor) -> list[dict[str, Any]]:
    return [{"step": a.step, "code": a.code, "severity": a.severity, "data": a.data} for a in doctor.alerts]


def _grad_norm_run(kind: str, rank: int, world_size: int, workdir: Path, clip: Any = True,
                   **options: Any) -> dict[str, Any]:
    recorder = Recorder()
    _train(kind, rank, world_size, workdir, sync_every=2, layer_every=2, detectors=[recorder], clip=clip,
           **options)
    return {"records": [{"step": r.step, "metrics": r.metrics, "extra": sorted(r.extra)} for r in recorder.records]}


def fsdp1_own_clip_grad_norm(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    return _grad_norm_run("fsdp1", rank, world_size, workdir, clip="own", replica_check_every=2)


def fsdp1_orig_params_own_clip_grad_norm(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    """FSDP1 with use_orig_params=True clipped by its own clip_grad_norm_: also what it returned."""
    returned: list[float] = []
    result = _grad_norm_run("fsdp1-orig", rank, world_size, workdir, clip="own", replica_check_every=2,
                            returned_norms=returned)
    return {**result, "returned": returned}


def ddp_grad_norm(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    return _grad_norm_run("ddp", rank, world_size, workdir)


def fsdp_grad_norm(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    return _grad_norm_run("fsdp", rank, world_size, workdir)


def nan_loss_on_last_rank(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    """DDP; at step 3 only the last rank's loss is NaN."""
    def poison(step: int, loss: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
        return loss * float("nan") if step == 3 and rank == world_size - 1 else loss

    doctor = _train("ddp", rank, world_size, workdir, sync_every=2, before_step=poison)
    return {"alerts": _alerts(doctor)}


def nan_param_on_last_rank(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    """Replicated parameters WITHOUT a gradient all-reduce (each rank trains alone on the
    same batches); after step 2 one parameter element turns NaN on the last rank only."""
    def poison(step: int, model: torch.nn.Module) -> None:
        if step == 2 and rank == world_size - 1:
            with torch.no_grad():
                model[2].bias[0] = float("nan")

    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    doctor = pretrain_doctor.attach(model, optimizer, log_dir=workdir / "log", console=False, sync_every=1,
                                    layer_every=1)
    for step in range(1, STEPS + 1):
        x, y = global_batch(step - 1)
        loss = torch.nn.functional.mse_loss(model(x), y)
        doctor.observe(loss=loss)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        poison(step, model)
    doctor.detach()
    return {"alerts": _alerts(doctor)}


def _flip_mantissa_bit(tensor: torch.Tensor) -> None:
    """Silent-data-corruption stand-in: flip mantissa bit 16 of one float32 element
    (a 2**-7 relative change; the lowest bits would be rounded away by the next update)."""
    local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
    with torch.no_grad():
        local.view(-1)[:1].view(torch.int32).bitwise_xor_(1 << 16)


def _replica_run(kind: str, rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    # Checks run at the syncs of steps 2, 4, 6; the one of step 2 happens at the start
    # of step 3, so the corruption comes after it and the check of step 4 must see it.
    def corrupt(step: int, model: torch.nn.Module) -> None:
        if step == 3 and rank == world_size - 1:
            _flip_mantissa_bit(next(model.parameters()))

    doctor = _train(kind, rank, world_size, workdir, steps=6, after_step=corrupt, sync_every=1,
                    replica_check_every=2)
    return {"alerts": _alerts(doctor)}


def ddp_replica_divergence(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    return _replica_run("ddp", rank, world_size, workdir)


def hsdp_replica_divergence(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    return _replica_run("hsdp", rank, world_size, workdir)


def skip_verdict_on_every_rank(rank: int, world_size: int, workdir: Path) -> dict[str, Any]:
    """Replicated parameters without a gradient all-reduce; at step 3 only the last
    rank's gradients are NaN. `should_skip_step` must answer the same on every rank,
    or the replicas would part (one rank updating, the other not)."""
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    doctor = pretrain_doctor.attach(model, optimizer, log_dir=workdir / "log", console=False, sync_every=1)
    verdicts = []
    for step in range(1, STEPS + 1):
        x, y = global_batch(step - 1)
        torch.nn.functional.mse_loss(model(x), y).backward()
        if step == 3 and rank == world_size - 1:
            model[0].weight.grad[0, 0] = float("nan")
        verdicts.append(doctor.should_skip_step())
        if verdicts[-1]:
            optimizer.zero_grad(set_to_none=True)
        optimizer.step()
        optimizer.zero_grad()
    doctor.detach()
    finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    return {"verdicts": verdicts, "finite": finite, "alerts": _alerts(doctor)}
