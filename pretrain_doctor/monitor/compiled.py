"""The doctor under `torch.compile`: what its forward hook may do inside a compiled region.

A forward hook registered before `torch.compile(model)` is traced into the compiled
graph. Anything Dynamo cannot trace there (a clock read, `.item()`, `.tolist()`) breaks
the graph, and any Python value the hook reads becomes a guard whose change recompiles
the model. So while Dynamo traces it, the hook only adds the step's loss into tensors it
keeps (`TracedLoss`) and sets a flag: two tensor inputs of stable shape, attribute
stores Dynamo replays after the graph, no host read. The host takes the loss at the
optimizer step. Attached to the compiled module itself (`attach(torch.compile(model))`),
the hook runs outside the compiled region and needs none of this.

Probes that would enter the compiled forward (attention statistics, which patch SDPA and
hook the attention modules; the NaN localizer's hooks on every module; log Z from the
output logits) are not run on a compiled model: they would add guards and graph breaks
to it, and recompiling it can change its numerics. A non-finite origin is still sought
by running the step's batch again eagerly on the original module, where its inputs were
kept (compile-then-attach), or with `doctor.replay_batch`.
"""

from __future__ import annotations

from typing import Any, Optional

import torch


def original_module(model: torch.nn.Module) -> torch.nn.Module:
    """The module `torch.compile` wrapped (its parameters and submodules carry the names
    the user knows), or the model itself."""
    inner = getattr(model, "_orig_mod", None)
    return inner if isinstance(inner, torch.nn.Module) else model


def is_compiled_module(model: torch.nn.Module) -> bool:
    """Was this module made by `torch.compile(model)`, or compiled in place (`model.compile()`)?"""
    return original_module(model) is not model or getattr(model, "_compiled_call_impl", None) is not None


def _never_compiling() -> bool:  # pragma: no cover - torch without torch.compiler
    return False


# Is Dynamo tracing the caller now? Bound directly: the eager hook calls it every forward.
is_compiling = getattr(getattr(torch, "compiler", None), "is_compiling", _never_compiling)


class TracedLoss:
    """The step's loss, added up inside a compiled forward (see the module docstring).

    `capture` is traced by Dynamo: it reads two tensors it owns and stores new ones (and
    constant flags) as attributes; `take` runs on the host, between steps."""

    def __init__(self, device: Optional[torch.device] = None) -> None:
        # Made before the first trace, on the parameters' device: every trace then sees
        # the same two inputs (one made at the first capture would recompile the model).
        self.total = torch.zeros((), device=device)
        self.count = torch.zeros((), device=device)
        self.seen = False    # a compiled forward captured a loss since the last `take`
        self.shares = False  # ... as shares of one token-weighted loss (`num_items_in_batch`)
        self.ever = False    # the model ran compiled at least once

    def capture(self, output: Any, kwargs: Optional[dict[str, Any]]) -> None:
        loss = output.get("loss") if isinstance(output, dict) else getattr(output, "loss", None)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            return
        self.total = self.total + loss.detach().float().reshape(())
        self.count = self.count + 1
        self.seen = True
        self.ever = True
        if kwargs and kwargs.get("num_items_in_batch") is not None:
            self.shares = True

    def take(self) -> Optional[torch.Tensor]:
        """The step's loss (the mean of its micro-batches', or their sum for shares); the
        accumulators restart at zero on their device, so the next trace sees the same inputs."""
        if not self.seen:
            return None
        loss = self.total if self.shares else self.total / self.count
        self.total, self.count = torch.zeros_like(self.total), torch.zeros_like(self.count)
        self.seen = self.shares = False
        return loss
