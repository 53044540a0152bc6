"""The doctor under torch.compile: no graph break or recompile of its making in the
compiled region, and training bit-identical with and without it (attention-probe steps
included), whether it is attached before or after `torch.compile`."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo
from torch._dynamo.utils import counters

import pretrain_doctor

from ..recorder import Recorder
from .helpers import TinyCausalLM, lm_batches

# every probe due within the run: attention and log Z at steps 3 and 6, layer norms and
# update ratios at 2, 4, 6
SAMPLED = dict(sync_every=2, layer_every=2, update_every=2, attention_every=3, console=False)
STEPS = 7


class LossLM(torch.nn.Module):
    """A plain-torch causal LM returning HF-style {"loss", "logits"} (the hook's loss)."""

    def __init__(self) -> None:
        super().__init__()
        self.lm = TinyCausalLM()

    def forward(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.lm(ids)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        return {"loss": loss, "logits": logits}


def _train(order: str, backend: str = "aot_eager", micro_batches: int = 1, device: str = "cpu"):
    """Train a fresh model for STEPS steps; `order`: "plain" (no doctor), "attach-compile"
    or "compile-attach". Returns losses, final parameters, the doctor's records and
    Dynamo's counters."""
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = LossLM().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    recorder, doctor = Recorder(), None
    if order == "attach-compile":
        doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], **SAMPLED)
    if order == "attach-compile-in-place":  # model.compile(): the hooks are traced with the module
        doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], **SAMPLED)
        model.compile(backend=backend, fullgraph=True)
        compiled = model
    else:  # torch.compile(model): the hooks run in frames of their own
        compiled = torch.compile(model, backend=backend, fullgraph=True)  # fullgraph: a graph break raises
    if order == "compile-attach":
        doctor = pretrain_doctor.attach(compiled, optimizer, detectors=[recorder], **SAMPLED)
    losses = []
    with torch._dynamo.config.patch(error_on_recompile=True):  # a recompile raises
        for ids in lm_batches(0, STEPS * micro_batches, batch=4, length=16):
            losses.append(compiled(ids.to(device))["loss"] / micro_batches)
            losses[-1].backward()
            if len(losses) % micro_batches == 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad()
    if doctor is not None:
        doctor.detach()
        assert doctor.summary()["internal_errors"] == []
    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    stats = {"graph_breaks": sum(counters["graph_break"].values()), "graphs": counters["stats"]["unique_graphs"]}
    assert stats["graph_breaks"] == 0
    return [loss.item() for loss in losses], params, recorder.records, stats


@pytest.mark.parametrize("order", ["attach-compile", "compile-attach", "attach-compile-in-place"])
def test_compiled_training_is_bit_identical_with_the_doctor_and_unbroken(order):
    plain_losses, plain_params, _, plain_stats = _train("plain")
    losses, params, records, stats = _train(order)
    assert losses == plain_losses
    assert all(torch.equal(params[name], plain_params[name]) for name in plain_params)
    # torch.compile runs module hooks in frames of their own: the loss hook may be one
    # more (tiny) graph, outside the model's
    assert stats["graphs"] - plain_stats["graphs"] in (0, 1)
    # the doctor still sees every step, its loss and its pre-clip norm
    assert [r.step for r in records] == list(range(1, STEPS + 1))
    assert [r.metrics["loss"] for r in records] == pytest.approx(plain_losses, rel=1e-6)
    assert all(r.metrics["grad_norm"] > 0 for r in records)
    assert any("grad_norm/lm.blocks.0" in r.metrics for r in records)  # names of the original module


def test_micro_batch_losses_are_averaged_inside_the_compiled_graph_without_recompiling():
    plain_losses, plain_params, _, plain_stats = _train("plain", micro_batches=3)
    losses, params, records, stats = _train("attach-compile", micro_batches=3)
    assert losses == plain_losses and all(torch.equal(params[n], plain_params[n]) for n in plain_params)
    assert stats["graphs"] - plain_stats["graphs"] in (0, 1)
    per_step = [3 * sum(plain_losses[i:i + 3]) / 3 for i in range(0, len(plain_losses), 3)]
    assert [r.metrics["loss"] for r in records] == pytest.approx(per_step, rel=1e-5)


@pytest.mark.slow
def test_inductor_training_is_bit_identical_with_the_doctor():
    pytest.importorskip("torch._inductor")
    plain_losses, plain_params, _, plain_stats = _train("plain", backend="inductor")
    losses, params, records, stats = _train("attach-compile", backend="inductor")
    assert losses == plain_losses
    assert all(torch.equal(params[name], plain_params[name]) for name in plain_params)
    assert stats["graphs"] - plain_stats["graphs"] in (0, 1)
    assert [r.metrics["loss"] for r in records] == pytest.approx(plain_losses, rel=1e-6)
