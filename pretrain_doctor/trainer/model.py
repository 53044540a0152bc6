"""The model (a transformers config, random init), the optimizer and the lr schedule of a RunSpec."""

from __future__ import annotations

import logging
import math
from typing import Any, Callable

import torch
import transformers

from .spec import ModelShape, OptimizerShape, RunSpec, ScheduleShape

logging.getLogger("transformers").setLevel(logging.ERROR)


def build_model(spec: RunSpec, vocab_size: int, pad_id: int, bos_id: Any, eos_id: int) -> torch.nn.Module:
    """GPT-2, Llama or BERT from a config, seeded: the same spec builds the same weights."""
    shape = spec.model
    torch.manual_seed(spec.seed)
    config = _config(shape, vocab_size, pad_id, bos_id, eos_id)
    config._attn_implementation = "sdpa"
    if spec.objective == "masked_lm":
        return transformers.BertForMaskedLM(config)
    if spec.objective == "contrastive":
        # No pooler: the embedding is the mean of the last hidden states (SimCSE's avg pooling), and a
        # pooler left out of the loss is a layer without gradients (PDM303/PDM306 would rightly say so).
        if shape.architecture == "bert":
            return transformers.BertModel(config, add_pooling_layer=False)
        return transformers.AutoModel.from_config(config)
    return transformers.AutoModelForCausalLM.from_config(config)


def _config(shape: ModelShape, vocab_size: int, pad_id: int, bos_id: Any, eos_id: int) -> transformers.PretrainedConfig:
    common = dict(vocab_size=vocab_size, pad_token_id=pad_id, bos_token_id=bos_id, eos_token_id=eos_id,
                  initializer_range=shape.init_std, tie_word_embeddings=shape.tie_embeddings)
    if shape.architecture == "bert":
        return transformers.BertConfig(hidden_size=shape.hidden, num_hidden_layers=shape.layers,
                                       num_attention_heads=shape.heads, intermediate_size=shape.ffn,
                                       max_position_embeddings=shape.max_positions,
                                       hidden_dropout_prob=shape.dropout, attention_probs_dropout_prob=shape.dropout,
                                       **common)
    if shape.architecture == "gpt2":
        return transformers.GPT2Config(n_layer=shape.layers, n_embd=shape.hidden, n_head=shape.heads,
                                       n_inner=shape.ffn, n_positions=shape.max_positions,
                                       resid_pdrop=shape.dropout, embd_pdrop=shape.dropout,
                                       attn_pdrop=shape.dropout, **common)
    return transformers.LlamaConfig(hidden_size=shape.hidden, num_hidden_layers=shape.layers,
                                    num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
                                    intermediate_size=shape.ffn, max_position_embeddings=shape.max_positions,
                                    attention_dropout=shape.dropout, **common)


def fsdp2_missing() -> str:
    """Why FSDP2 cannot run here ('' when it can): torch's `fully_shard` arrived in 2.6 (public path)."""
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError:
        return f"torch {torch.__version__} has no torch.distributed.fsdp.fully_shard (FSDP2, torch >= 2.6)"
    return ""


def shard_fsdp2(model: torch.nn.Module) -> torch.nn.Module:
    """FSDP2 as torchtitan applies it: each transformer block (the model's `_no_split_modules`)
    its own unit, then the root (embeddings, final norm, head). In place: the parameters become
    DTensor shards, so the optimizer is built afterwards."""
    from torch.distributed.fsdp import fully_shard

    blocks = set(getattr(model, "_no_split_modules", None) or ())
    for module in model.modules():
        if module is not model and type(module).__name__ in blocks:
            fully_shard(module)
    return fully_shard(model)


def full_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """The unsharded model and optimizer state of an FSDP2 model (a collective: every rank calls
    it), in the layout a one-process run saves: the optimizer's parameters numbered in the order of
    its groups, so the checkpoint resumes without FSDP too."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state, optimizer_state = get_state_dict(model, optimizer, options=options)
    if "param_groups" not in optimizer_state:  # ranks other than 0 get nothing with cpu_offload
        return model_state, optimizer_state
    number: dict[str, int] = {}
    groups = []
    for group in optimizer_state["param_groups"]:
        groups.append({**group, "params": [number.setdefault(name, len(number)) for name in group["params"]]})
    state = {number[name]: value for name, value in optimizer_state["state"].items()}
    return model_state, {"state": state, "param_groups": groups}


def build_optimizer(model: torch.nn.Module, shape: OptimizerShape) -> torch.optim.Optimizer:
    """Weight decay on matrices only (norms, biases and 1-D weights excluded), as most trainers do."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.dim() >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": shape.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if shape.family == "sgd":
        return torch.optim.SGD(groups, lr=shape.lr, momentum=shape.betas[0])
    cls = torch.optim.Adam if shape.family == "adam" else torch.optim.AdamW
    # foreach=False: the single-tensor path is bit-reproducible across a save and a resume.
    return cls(groups, lr=shape.lr, betas=shape.betas, eps=shape.eps, foreach=False)


def lr_factor(schedule: ScheduleShape) -> Callable[[int], float]:
    """The multiplier of the peak lr at optimizer step `step` (0-based, LambdaLR's convention)."""
    warmup, decay, floor = schedule.warmup_steps, schedule.decay_steps, schedule.min_lr_ratio

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, decay - warmup))
        if schedule.kind == "constant":
            return 1.0
        if schedule.kind == "linear":
            return floor + (1 - floor) * (1 - progress)
        if schedule.kind == "inverse_sqrt":
            return math.sqrt(max(1, warmup) / max(step + 1, max(1, warmup)))
        if schedule.kind == "wsd":
            stable_end = 1 - schedule.wsd_decay_fraction
            if progress < stable_end:
                return 1.0
            return floor + (1 - floor) * (1 - (progress - stable_end) / schedule.wsd_decay_fraction)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def build_scheduler(optimizer: torch.optim.Optimizer, schedule: ScheduleShape) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(schedule))
