"""Item 9 of issue 14: attention is logged once per layer per sampled step, with gradient
accumulation and with activation checkpointing (its forward recomputed in backward)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.checkpoint import checkpoint

import pretrain_doctor
from pretrain_doctor.detectors import default_detectors

from ..recorder import Recorder
from .helpers import TinyCausalLM, lm_batches


class CheckpointedLM(TinyCausalLM):
    """TinyCausalLM whose attention blocks are checkpointed (recomputed in backward)."""

    def __init__(self, reentrant: bool) -> None:
        super().__init__()
        self.reentrant = reentrant

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for block in self.blocks:
            x = x + checkpoint(block, x, use_reentrant=self.reentrant)
        return self.head(x)


@pytest.mark.parametrize("checkpointing", [None, "non-reentrant", "reentrant"])
@pytest.mark.parametrize("micro_batches", [1, 3])
def test_each_layer_is_logged_once_per_sampled_step(checkpointing, micro_batches):
    torch.manual_seed(0)
    model = TinyCausalLM() if checkpointing is None else CheckpointedLM(reentrant=checkpointing == "reentrant")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    recorder = Recorder()
    batches = list(lm_batches(0, 8 * micro_batches))
    with pretrain_doctor.attach(model, optimizer, detectors=[*default_detectors(), recorder], sync_every=4,
                                attention_every=2, console=False) as doctor:
        for step in range(8):
            for ids in batches[step * micro_batches:(step + 1) * micro_batches]:
                logits = model(ids[:, :-1])
                loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
                doctor.observe(loss=loss)
                (loss / micro_batches).backward()
            optimizer.step()
            optimizer.zero_grad()
    sampled = [r for r in recorder.records if any(k.startswith("attn_entropy/") for k in r.metrics)]
    assert len(sampled) >= 3
    for record in sampled:
        layers = sorted(k for k in record.metrics if k.startswith("attn_entropy/") and "/h" not in k)
        assert layers == ["attn_entropy/blocks.0", "attn_entropy/blocks.1"], record.metrics.keys()
        assert not any("#" in k for k in record.metrics)


def test_an_attention_collapse_is_said_within_two_samples_on_a_nanogpt_style_loop():
    """q/k x 30 at step 12 (the issue's nanoGPT case, scaled down), attention sampled every
    4 steps: PDM401 by the second sample after it, PDM402 (saturated softmax) at warning
    at the first, and no repeat of either afterwards."""
    torch.manual_seed(0)
    model = TinyCausalLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    fault = 12
    with pretrain_doctor.attach(model, optimizer, sync_every=4, attention_every=4, console=False) as doctor:
        for step, ids in enumerate(lm_batches(0, 40), start=1):
            if step == fault:
                with torch.no_grad():
                    for block in model.blocks:
                        width = block.out.in_features
                        block.qkv.weight[: 2 * width] *= 30
                        block.qkv.bias[: 2 * width] *= 30
            logits = model(ids[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
            doctor.observe(loss=loss)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    collapse = [a for a in doctor.alerts if a.code == "PDM401"]
    assert collapse and fault < collapse[0].step <= fault + 2 * 4
    assert len({a.data["layer"] for a in collapse}) == len(collapse)  # one per layer
    saturated = [a for a in doctor.alerts if a.code == "PDM402" and a.severity == "warning"]
    assert saturated and saturated[0].step <= fault + 4
    assert len(saturated) <= len(model.blocks)
