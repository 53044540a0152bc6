"""Tiny models and training loops shared by the monitor tests (CPU, random init, no downloads)."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import torch
import transformers

logging.getLogger("transformers").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()

VOCAB = 128


def tiny_gpt2(seed: int = 0, attn: str = "sdpa", dropout: float = 0.1) -> transformers.GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, n_positions=64,
                                     resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                                     bos_token_id=0, eos_token_id=0)
    config._attn_implementation = attn
    return transformers.GPT2LMHeadModel(config)


class CausalSelfAttention(torch.nn.Module):
    """nanoGPT-style attention through torch's fused SDPA."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(width, 3 * width)
        self.out = torch.nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=-1)
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(batch, length, width))


class TinyCausalLM(torch.nn.Module):
    """A plain-torch causal LM (no transformers): embeddings, 2 attention blocks, head."""

    def __init__(self, width: int = 32, heads: int = 2, layers: int = 2) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, width)
        self.blocks = torch.nn.ModuleList(CausalSelfAttention(width, heads) for _ in range(layers))
        self.head = torch.nn.Linear(width, VOCAB)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)


def tiny_bert(seed: int = 0) -> transformers.BertForMaskedLM:
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=64, pad_token_id=0)
    return transformers.BertForMaskedLM(config)


def lm_batches(seed: int, steps: int, batch: int = 8, length: int = 32) -> list[torch.Tensor]:
    """Text from a fixed random bigram chain (4 likely successors per token): learnable,
    but its entropy (about 1.5 nats) keeps a healthy loss well above zero."""
    chain = torch.Generator().manual_seed(12345)
    successors = torch.randint(0, VOCAB, (VOCAB, 4), generator=chain)
    generator = torch.Generator().manual_seed(seed)
    ids = torch.empty(steps * batch, length, dtype=torch.long)
    ids[:, 0] = torch.randint(0, VOCAB, (steps * batch,), generator=generator)
    for position in range(1, length):
        choice = torch.randint(0, 4, (steps * batch,), generator=generator)
        ids[:, position] = successors[ids[:, position - 1], choice]
    return list(ids.view(steps, batch, length))


def mlm_batch(ids: torch.Tensor, mask_prob: float, generator: torch.Generator, mask_id: int = 1) -> dict[str, Any]:
    labels = ids.clone()
    masked = torch.rand(ids.shape, generator=generator) < mask_prob
    labels[~masked] = -100
    inputs = ids.clone()
    inputs[masked] = mask_id
    return {"input_ids": inputs, "labels": labels}


def train_gpt2(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches: list[torch.Tensor],
               clip: Optional[float] = 1.0, before_step: Optional[Callable[[int], None]] = None,
               doctor: Any = None) -> list[float]:
    """The usual HF-style loop; returns the losses."""
    losses = []
    for step, ids in enumerate(batches, start=1):
        if before_step is not None:
            before_step(step)
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(out.loss.item())
        if doctor is not None and doctor.stop_requested:
            break
    return losses
