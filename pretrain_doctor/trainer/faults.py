"""`--inject FAULT@STEP`: known failures the trainer can cause on purpose, each at a chosen step.

Each fault is a small object the loop consults at fixed points of a step (before the
forward, on the batch, on the loss, after the backward, on the lr). `EXPECTED` says which
monitor codes should catch each one and within how many steps of the injection: the
tests hold the monitor to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

from ..errors import UsageError


class Fault:
    """A fault active from `step` on (one-shot faults act at `step` only)."""

    name = ""

    def __init__(self, step: int) -> None:
        self.step = step

    def active(self, step: int) -> bool:
        return step >= self.step

    def before_forward(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Change the model or optimizer state (one-shot faults)."""

    def batch(self, step: int, batch: dict[str, torch.Tensor], objective: str) -> dict[str, torch.Tensor]:
        return batch

    def loss(self, step: int, loss: torch.Tensor) -> torch.Tensor:
        return loss

    def after_backward(self, step: int, model: torch.nn.Module) -> None:
        """Change the gradients before clipping and the update."""

    def lr_factor(self, step: int, schedule_factor: float, peak_factor: float) -> float:
        """The multiplier of the scheduled lr at `step` (1: the schedule's lr)."""
        return 1.0

    @property
    def needs_scaler(self) -> bool:
        return False


class LrSpike(Fault):
    """The lr × 100 from the step on: an edited config, a wrong unit, a reset scheduler."""

    name = "lr_spike"
    factor = 100.0

    def lr_factor(self, step: int, schedule_factor: float, peak_factor: float) -> float:
        return self.factor if self.active(step) else 1.0


class NoWarmup(Fault):
    """From the step on the warmup is gone: the lr jumps to what it would be without one."""

    name = "no_warmup"

    def lr_factor(self, step: int, schedule_factor: float, peak_factor: float) -> float:
        if not self.active(step) or schedule_factor <= 0:
            return 1.0
        return max(1.0, peak_factor / schedule_factor)


class NanParam(Fault):
    """One weight of a middle layer becomes NaN (a bad kernel, a corrupt checkpoint shard)."""

    name = "nan_param"

    def before_forward(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if step == self.step:
            name, weight = middle_matrix(model)
            with torch.no_grad():
                weight.view(-1)[0] = float("nan")


class NanInput(Fault):
    """The input embeddings of one step hold a NaN (a corrupt sample, an fp16 overflow upstream)."""

    name = "nan_input"

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self._handle: Any = None

    def before_forward(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if step == self.step:
            embeddings = unwrap(model).get_input_embeddings()
            self._handle = embeddings.register_forward_hook(_poison_output)


def _poison_output(module: torch.nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
    poisoned = output.clone()
    poisoned.view(-1)[0] = float("nan")
    return poisoned


class LabelLeak(Fault):
    """The answer is in the input: causal LM inputs shifted so each position sees the token it
    must predict; masked LM with nothing masked (labels = inputs)."""

    name = "label_leak"

    def batch(self, step: int, batch: dict[str, torch.Tensor], objective: str) -> dict[str, torch.Tensor]:
        if not self.active(step):
            return batch
        leaked = dict(batch)
        if objective == "masked_lm":
            leaked["input_ids"] = batch.get("source_ids", batch["input_ids"])
            leaked["labels"] = leaked["input_ids"].clone()
        else:
            # HF shifts labels inside the model: position t predicts labels[t + 1]; feed that token at t.
            leaked["input_ids"] = torch.roll(batch["labels"].clamp(min=0), shifts=-1, dims=1)
        return leaked


class GradVanish(Fault):
    """The loss × 1e-12 from the step on (a wrong loss scale, a detached branch): gradients vanish."""

    name = "grad_vanish"

    def loss(self, step: int, loss: torch.Tensor) -> torch.Tensor:
        return loss * 1e-12 if self.active(step) else loss


class Fp16Overflow(Fault):
    """Every backward from the step on overflows (an inf in the scaled gradients): the
    GradScaler skips the steps and halves its scale again and again."""

    name = "fp16_overflow"

    def loss(self, step: int, loss: torch.Tensor) -> torch.Tensor:
        return _InfGrad.apply(loss) if self.active(step) else loss

    @property
    def needs_scaler(self) -> bool:
        return True


class _InfGrad(torch.autograd.Function):
    """Identity forward, infinite gradient backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad * float("inf")


class AttentionCollapse(Fault):
    """Query and key weights × 30 at the step: attention logits blow up and the softmax saturates."""

    name = "attention_collapse"
    factor = 30.0

    def before_forward(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if step != self.step:
            return
        with torch.no_grad():
            for name, module in unwrap(model).named_modules():
                leaf = name.rsplit(".", 1)[-1]
                if leaf in ("q_proj", "k_proj", "query", "key"):
                    for param in module.parameters(recurse=False):
                        param.mul_(self.factor)
                elif leaf == "c_attn":  # GPT-2's fused [q | k | v] columns
                    width = module.weight.shape[0]
                    module.weight[:, : 2 * width].mul_(self.factor)
                    module.bias[: 2 * width].mul_(self.factor)


class FrozenParam(Fault):
    """One middle layer's gradient is dropped from the step on (frozen by mistake, a detached graph)."""

    name = "frozen_param"

    def after_backward(self, step: int, model: torch.nn.Module) -> None:
        if self.active(step):
            for param in middle_layer(model).parameters():
                param.grad = None


class DupBatch(Fault):
    """The same batch every step from the step on (a stuck data loader): the model memorises it."""

    name = "dup_batch"

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self._held: Optional[dict[str, torch.Tensor]] = None

    def batch(self, step: int, batch: dict[str, torch.Tensor], objective: str) -> dict[str, torch.Tensor]:
        if not self.active(step):
            return batch
        if self._held is None:
            self._held = batch
        return self._held


FAULTS: dict[str, type[Fault]] = {cls.name: cls for cls in (
    LrSpike, NanParam, NanInput, NoWarmup, LabelLeak, GradVanish, Fp16Overflow, AttentionCollapse, FrozenParam,
    DupBatch)}


@dataclass(frozen=True)
class Expectation:
    codes: tuple[str, ...]  # any of these catches the fault
    within: int  # steps after the injection


# Which monitor codes catch each fault (any one of them) and how many steps after the
# injection at the latest, on the tiny GPT-2 of fixtures/trainer with the monitor syncing
# every 2 steps (tests/trainer/test_faults.py holds the monitor to it).
EXPECTED: dict[str, Expectation] = {
    "lr_spike": Expectation(("PDM201", "PDM202", "PDM206", "PDM302", "PDM304"), 4),
    "nan_param": Expectation(("PDM101", "PDM104"), 0),
    "nan_input": Expectation(("PDM101",), 0),
    "no_warmup": Expectation(("PDM201", "PDM206"), 6),  # injected mid-warmup at a high peak lr
    "label_leak": Expectation(("PDM204",), 50),  # the loss must first fall to near 0 (constant lr)
    "grad_vanish": Expectation(("PDM303",), 6),
    "fp16_overflow": Expectation(("PDM105",), 6),
    "attention_collapse": Expectation(("PDM401", "PDM402"), 4),
    "frozen_param": Expectation(("PDM303", "PDM306"), 6),
    "dup_batch": Expectation(("PDM204",), 50),  # memorising one batch takes a few dozen steps
}


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "module", model)


def _layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The repeated blocks of a transformers model (GPT-2 `h`, Llama `layers`, BERT `layer`)."""
    for module in unwrap(model).modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0:
            return list(module)
    raise ValueError("the model has no list of layers")


def middle_layer(model: torch.nn.Module) -> torch.nn.Module:
    layers = _layers(model)
    return layers[len(layers) // 2]


def middle_matrix(model: torch.nn.Module) -> tuple[str, torch.nn.Parameter]:
    layer = middle_layer(model)
    return next((name, p) for name, p in layer.named_parameters() if p.dim() == 2)


def parse(specs: list[str], steps: int) -> list[Fault]:
    """`name@step` strings as faults; a bad one is a one-line usage error."""
    faults = []
    for spec in specs:
        name, _, at = spec.partition("@")
        if name not in FAULTS:
            raise UsageError(f"--inject {spec!r}: unknown fault {name!r} (one of {', '.join(FAULTS)})")
        try:
            step = int(at)
        except ValueError:
            raise UsageError(f"--inject {spec!r}: expected FAULT@STEP with an integer step") from None
        if not 1 <= step <= steps:
            raise UsageError(f"--inject {spec!r}: the step must be between 1 and {steps}")
        faults.append(FAULTS[name](step))
    return faults
