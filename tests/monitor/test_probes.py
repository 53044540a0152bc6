"""Probe arithmetic against direct computations."""

from __future__ import annotations

import math

import pytest
import torch

import pretrain_doctor
from pretrain_doctor.detectors import default_detectors
from pretrain_doctor.monitor.attention import attention_stats, evenly_spaced
from pretrain_doctor.monitor.localize import NonFiniteLocalizer
from pretrain_doctor.monitor.guard import ProbeGuard
from pretrain_doctor.monitor.params import ParamTable, layer_of

from ..recorder import Recorder
from .helpers import TinyCausalLM, lm_batches


def _direct(q, k, heads, queries, mask):
    logits = (q[0][heads][:, queries] @ k[0][heads].transpose(-1, -2)) / math.sqrt(q.shape[-1])
    logits = logits.masked_fill(~mask, float("-inf"))
    p = logits.softmax(-1)
    entropy = -(p * p.clamp_min(1e-30).log()).sum(-1).mean()
    return float(entropy), float(logits.max())


def test_attention_stats_match_the_full_computation_on_the_sampled_slice():
    torch.manual_seed(0)
    q, k = torch.randn(2, 8, 50, 16), torch.randn(2, 8, 50, 16)
    stats = attention_stats(q, k, is_causal=True, max_heads=4, max_queries=10)
    heads, queries = evenly_spaced(8, 4, q.device), evenly_spaced(50, 10, q.device)
    causal = torch.arange(50)[None, None, :] <= queries[None, :, None]
    entropy, max_logit = _direct(q, k, heads, queries, causal.expand(4, -1, -1))
    assert float(stats[0]) == pytest.approx(entropy, rel=1e-5)
    assert float(stats[1]) == pytest.approx(max_logit, rel=1e-5)
    assert queries[-1] == 49 and len(set(heads.tolist())) == 4
    assert stats[2::2].tolist() == heads.tolist()  # per sampled head: its index, its entropy
    assert float(stats[3::2].mean()) == pytest.approx(float(stats[0]), rel=1e-6)


def test_attention_stats_with_boolean_and_additive_masks_agree():
    torch.manual_seed(1)
    q, k = torch.randn(1, 2, 6, 4), torch.randn(1, 2, 6, 4)
    keep = torch.tensor([True, True, True, False, False, True])[None, None, None, :].expand(1, 1, 6, 6)
    additive = torch.zeros(1, 1, 6, 6).masked_fill(~keep, torch.finfo(torch.float32).min)
    by_bool = attention_stats(q, k, attn_mask=keep)
    by_add = attention_stats(q, k, attn_mask=additive)
    assert torch.allclose(by_bool, by_add)
    uniform = attention_stats(torch.zeros(1, 2, 6, 4), k, attn_mask=keep)
    assert float(uniform[0]) == pytest.approx(math.log(4), rel=1e-6)  # 4 visible keys, all equal


def test_attention_stats_grouped_query_and_nan_inputs():
    q, k = torch.randn(1, 8, 5, 4), torch.randn(1, 2, 5, 4)
    assert torch.isfinite(attention_stats(q, k, is_causal=True)).all()
    q[..., 0] = float("nan")
    assert torch.isnan(attention_stats(q, k, is_causal=True)[0])  # NaN is not a "collapse to 0"


def test_layers_group_blocks_and_top_level_modules():
    assert layer_of("transformer.h.3.attn.c_attn.weight") == "transformer.h.3"
    assert layer_of("model.layers.10.mlp.up_proj.weight") == "model.layers.10"
    assert layer_of("transformer.wte.weight") == "transformer.wte"
    assert layer_of("bias") == "bias"


def test_param_table_finds_parameters_outside_or_twice_in_the_optimizer():
    model = TinyCausalLM()
    head = list(model.head.parameters())
    optimizer = torch.optim.SGD([{"params": list(model.embed.parameters()) + head},
                                 {"params": list(model.blocks.parameters())}], lr=0.1)
    optimizer.param_groups[1]["params"].append(head[0])  # torch only checks at construction
    table = ParamTable.build(model, optimizer)
    assert table.in_several_groups == ["head.weight"]
    assert table.not_in_optimizer == []
    table = ParamTable.build(model, torch.optim.SGD(model.blocks.parameters(), lr=0.1))
    assert table.not_in_optimizer == ["embed.weight", "head.weight", "head.bias"]


def test_sdpa_models_get_attention_metrics_named_after_their_module():
    model = TinyCausalLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    recorder = Recorder()
    beside = [*default_detectors(), recorder]  # the defaults ask for the attention probes
    with pretrain_doctor.attach(model, optimizer, sync_every=2, attention_every=2, console=False,
                                detectors=beside) as doctor:
        for ids in lm_batches(0, 4):
            loss = torch.nn.functional.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten())
            loss.backward()
            doctor.observe(loss=loss)
            optimizer.step()
            optimizer.zero_grad()
    sampled = {r.step: r.metrics for r in recorder.records if "attn_entropy/blocks.0" in r.metrics}
    assert sorted(sampled) == [2, 4]
    assert 0 < sampled[2]["attn_entropy/blocks.0"] <= math.log(31) + 1e-6
    assert "attn_max_logit/blocks.1" in sampled[4]
    assert {"attn_entropy/blocks.0/h0", "attn_entropy/blocks.0/h1"} <= set(sampled[2])


class Exploding(torch.nn.Module):
    def forward(self, x):
        return torch.exp(x.abs() * 1000.0 + 100.0)


def test_localizer_names_the_first_module_whose_output_goes_non_finite():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), Exploding(), torch.nn.Linear(4, 1))
    localizer = NonFiniteLocalizer(model, ProbeGuard())
    localizer.arm()
    model(torch.ones(2, 4))
    localizer.disarm()
    found = localizer.take_result()
    assert found["module"] == "1" and found["module_type"] == "Exploding"
    assert found["inputs_finite"] and found["output"]["inf"] > 0
    assert not any(m._forward_hooks for m in model.modules())


def test_replay_batch_localises_without_touching_rng_or_grads():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5), Exploding())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pretrain_doctor.attach(model, optimizer, console=False) as doctor:
        state = torch.random.get_rng_state()
        found = doctor.replay_batch(lambda: model(torch.ones(2, 4)))
        assert torch.equal(state, torch.random.get_rng_state())
    assert found["module"] == "2"
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("count", [2, 12])  # read one by one (few gradients) / stacked first (many)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_host_total_is_the_global_norm_clip_grad_norm_computes(count, dtype):
    from pretrain_doctor.monitor.probes import FEW_TENSORS, GradProbe

    assert (count <= FEW_TENSORS) == (count == 2)
    torch.manual_seed(0)
    model = torch.nn.Sequential(*[torch.nn.Linear(5, 5, bias=False) for _ in range(count)]).to(dtype)
    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter) * 3
    model[0].weight.grad = None  # a parameter without a gradient counts as zero
    probe = GradProbe(ParamTable.build(model, [torch.optim.SGD(model.parameters(), lr=0.1)]))
    expected = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None]))
    with torch.enable_grad():
        found = probe.host_total()
        assert torch.is_grad_enabled()  # the probe's grad switch is put back
    assert isinstance(found, float) and found == pytest.approx(expected, rel=1e-6)
    for parameter in model.parameters():
        parameter.grad = None
    assert probe.host_total() is None


def _probe_with_grads(model: torch.nn.Module, scale: float = 3.0):
    from pretrain_doctor.monitor.probes import GradProbe

    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter) * scale
    probe = GradProbe(ParamTable.build(model, [torch.optim.SGD(model.parameters(), lr=0.1)]))
    return probe, float(torch.nn.utils.get_total_norm([p.grad.double() for p in model.parameters()]))


def test_host_total_of_small_gradients_is_one_dot_product_not_a_norm_per_gradient(monkeypatch):
    """Up to FLAT_MOST elements in all (float32/float64), a plain step's global norm is one
    dot product over the gradients copied into one vector; larger models keep one norm
    kernel per gradient (no copy of their gradients)."""
    from pretrain_doctor.monitor import probes

    torch.manual_seed(0)
    small, expected = _probe_with_grads(torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 1)))
    large, expected_large = _probe_with_grads(torch.nn.Linear(200, 100))  # 20,100 elements > FLAT_MOST
    assert small.flat and not large.flat

    def per_gradient(*args, **kwargs):
        raise AssertionError("a norm per gradient")

    monkeypatch.setattr(probes, "norm_list", per_gradient)
    assert small.host_total() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(AssertionError, match="a norm per gradient"):
        large.host_total()
    monkeypatch.undo()
    assert large.host_total() == pytest.approx(expected_large, rel=1e-6)


def test_host_total_keeps_the_per_gradient_norms_where_a_dot_product_would_not_do():
    torch.manual_seed(0)
    # a sum of squares past float32's range, each gradient's within it: the per-gradient
    # norms, combined in double
    huge, _ = _probe_with_grads(torch.nn.Linear(1, 1), scale=0.0)
    for parameter in huge.table.params:
        parameter.grad = torch.full_like(parameter, 1.5e19)
    assert huge.host_total() == pytest.approx(1.5e19 * 2 ** 0.5, rel=1e-6) and huge.flat
    # a NaN: non-finite either way
    huge.table.params[0].grad[0, 0] = float("nan")
    assert math.isnan(huge.host_total())
    # bfloat16: too narrow for a dot product; the per-gradient path from then on
    narrow, expected = _probe_with_grads(torch.nn.Linear(4, 4).to(torch.bfloat16))
    assert narrow.host_total() == pytest.approx(expected, rel=1e-2) and not narrow.flat


def test_consecutive_views_of_one_vector_are_that_vector_and_others_are_stacked():
    """CUDA's `_foreach_norm` returns views of one output: no stack there (probes.stacked)."""
    from pretrain_doctor.monitor.probes import stacked

    vector = torch.arange(5.0)
    whole = stacked(list(vector.unbind()))
    assert torch.equal(whole, vector) and whole.data_ptr() == vector.data_ptr()  # no copy
    separate = [torch.tensor(float(i)) for i in range(5)]
    assert torch.equal(stacked(separate), vector)
    strided = torch.arange(10.0)[::2]  # views of a vector, but not all of it: stacked
    assert torch.equal(stacked(list(strided.unbind())), strided)
    assert torch.equal(stacked(list(vector.unbind())[1:]), vector[1:])


def test_consecutive_views_inside_a_larger_storage_are_a_view_of_it():
    """The output vector may lie inside a larger allocation (on an H200 the storage check
    of 2026-12-04 failed and every step stacked): consecutive elements are enough."""
    from pretrain_doctor.monitor.probes import stacked

    workspace = torch.arange(12.0)
    inner = list(workspace[3:8].unbind())
    view = stacked(inner)
    assert torch.equal(view, workspace[3:8]) and view.data_ptr() == workspace[3:].data_ptr()
    gap = [workspace[3], workspace[4], workspace[6]]  # not consecutive: a copy
    assert torch.equal(stacked(gap), torch.tensor([3.0, 4.0, 6.0]))
    other = torch.arange(2.0)
    assert torch.equal(stacked([workspace[11], other[0]]), torch.tensor([11.0, 0.0]))
