"""Single-process checks of the distributed helpers (no process group needed)."""

from __future__ import annotations

import numpy as np
import torch

from pretrain_doctor.monitor.distributed import (DistributedContext, ReplicaChecker, SyncReducer,
                                                 bitwise_checksum, replication_factor)


def test_bitwise_checksum_sees_one_ulp_and_ignores_order() -> None:
    values = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    nudged = values.clone()
    nudged[17] = torch.nextafter(nudged[17], torch.tensor(float("inf")))
    assert bitwise_checksum(values) != bitwise_checksum(nudged)
    assert bitwise_checksum(values) == bitwise_checksum(values.flip(0))
    assert bitwise_checksum(values.double()) == bitwise_checksum(values.double().reshape(10, 100).t())
    assert bitwise_checksum(values.bfloat16()) == bitwise_checksum(values.bfloat16().flip(0))


def test_plain_tensors_are_replicas_on_every_rank() -> None:
    assert replication_factor(torch.zeros(3), world_size=8) == 8


def test_single_process_issues_no_collective() -> None:
    ctx = DistributedContext.current()
    assert (ctx.rank, ctx.world_size, ctx.active, ctx.is_writer) == (0, 1, False, True)
    params = [torch.nn.Parameter(torch.ones(2))]
    host = [{"loss": np.float32(2.5), "grad_norms": np.array([3.0])}]
    SyncReducer(ctx, params).reduce(host)  # would fail without a process group if it reduced
    assert host == [{"loss": np.float32(2.5), "grad_norms": np.array([3.0])}]
    assert not ReplicaChecker([("w", params[0])], ctx, every=1).due(5)
