"""Attention entropy and max-logit probes.

Fused kernels (SDPA, flash) never materialise the attention probabilities, so on a
sampled step the doctor recomputes them for a few heads and query positions of the
first sequence in the batch: a [heads, queries, keys] slice instead of the full
[batch, heads, queries, keys] tensor. It wraps `torch.nn.functional.scaled_dot_product_attention`
(nanoGPT, HF `sdpa`, torchtitan, litgpt) and HF's module-level `eager_attention_forward`,
only for the duration of the sampled step.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

import torch

from .guard import ProbeGuard
from .patching import FunctionPatch, remove_all

MASKED_BELOW = -1e4  # additive float masks use the dtype minimum (or -inf) for "masked"


def evenly_spaced(count: int, limit: int, device: torch.device) -> torch.Tensor:
    """Up to `limit` indices spread over range(count), always including the last one."""
    if count <= limit:
        return torch.arange(count, device=device)
    return torch.linspace(count - 1, 0, limit, device=device).round().long().flip(0)


def _first_sequence(tensor: torch.Tensor, dims: int = 3) -> torch.Tensor:
    while tensor.dim() > dims:
        tensor = tensor[0]
    while tensor.dim() < dims:
        tensor = tensor.unsqueeze(0)
    return tensor


def attention_stats(query: torch.Tensor, key: torch.Tensor, attn_mask: Optional[torch.Tensor] = None,
                    is_causal: bool = False, scale: Optional[float] = None,
                    max_heads: int = 4, max_queries: int = 32) -> torch.Tensor:
    """[mean entropy (nats), max pre-softmax logit, then (head index, its mean entropy) for
    each sampled head] over a subsample of heads and queries of the first sequence."""
    with torch.no_grad():
        q = _first_sequence(query.detach())
        k = _first_sequence(key.detach())
        heads_q, len_q, dim = q.shape
        heads_k, len_k = k.shape[0], k.shape[1]
        heads = evenly_spaced(heads_q, max_heads, q.device)
        queries = evenly_spaced(len_q, max_queries, q.device)
        q_sub = q[heads][:, queries].float()
        k_sub = k[heads * heads_k // heads_q].float()  # grouped-query attention shares k heads
        logits = q_sub @ k_sub.transpose(-1, -2) * (scale if scale is not None else dim ** -0.5)
        allowed = torch.ones_like(logits, dtype=torch.bool)
        if is_causal:
            key_pos = torch.arange(len_k, device=q.device)
            allowed &= (key_pos[None, :] <= queries[:, None]).unsqueeze(0)
        biased = logits
        if attn_mask is not None:
            mask = _first_sequence(attn_mask.detach()).expand(heads_q, len_q, len_k)
            mask = mask[heads][:, queries]
            if mask.dtype == torch.bool:
                allowed &= mask
            else:
                allowed &= mask > MASKED_BELOW
                biased = logits + mask.float()
        biased = biased.masked_fill(~allowed, float("-inf"))
        probs = torch.softmax(biased, dim=-1)
        # A query that may attend to nothing has no distribution (softmax gives NaN): count
        # it as zero. NaN from non-finite q/k stays NaN, so it never reads as a collapse.
        probs = torch.where(allowed.any(-1, keepdim=True), probs, torch.zeros_like(probs))
        per_head = torch.special.entr(probs).sum(-1).mean(-1)
        max_logit = logits.masked_fill(~allowed, float("-inf")).amax()
        by_head = torch.stack([heads.to(per_head.dtype), per_head], dim=1).reshape(-1)
        return torch.cat([per_head.mean().reshape(1), max_logit.reshape(1), by_head])


class AttentionProbe:
    """Patches attention functions on sampled steps; reports one stats tensor per call."""

    def __init__(self, model: torch.nn.Module, guard: ProbeGuard,
                 report: Callable[[str, torch.Tensor], None], max_heads: int = 4, max_queries: int = 32) -> None:
        self.guard = guard
        self.report = report
        self.max_heads, self.max_queries = max_heads, max_queries
        self.module_names = {id(m): name for name, m in model.named_modules()
                             if "attention" in type(m).__name__.lower()}
        self.attention_modules = [m for m in model.modules() if id(m) in self.module_names]
        self._stack: list[str] = []
        self._calls = 0
        self._handles: list[Any] = []
        self.armed = False
        # A training forward of the step was measured: later ones (micro-batches of
        # gradient accumulation, a checkpointed forward recomputed in backward) are not,
        # so each layer is logged once per sampled step. (Under reentrant checkpointing the
        # forward runs without grad, so the recompute in backward is the one measured.)
        self._forward_done = False
        self._measured = False
        # seconds spent measuring inside the model's forward (outside the doctor's hooks),
        # for the overhead budget; the doctor takes and resets it
        self.spent = 0.0
        self._patches = [FunctionPatch(torch.nn.functional, "scaled_dot_product_attention", self._around_sdpa)]
        for module_name in sorted({type(m).__module__ for m in model.modules()}):
            module = sys.modules.get(module_name)
            if module is not None and callable(getattr(module, "eager_attention_forward", None)):
                self._patches.append(FunctionPatch(module, "eager_attention_forward", self._around_eager))

    def arm(self) -> None:
        """Start probing (for one step): patch the functions, track the current module."""
        self.armed = True
        self._calls = 0
        self._forward_done = self._measured = False
        for patch in self._patches:
            patch.install()
        for module in self.attention_modules:
            name = self.module_names[id(module)]
            self._handles.append(module.register_forward_pre_hook(self._enter(name)))
            self._handles.append(module.register_forward_hook(self._leave))

    def forward_done(self) -> None:
        """The model's training forward finished (the doctor's forward hook says so)."""
        self._forward_done = self._measured

    def disarm(self) -> None:
        self.armed = False
        remove_all(self._handles, self._patches)
        self._stack.clear()

    def _enter(self, name: str) -> Callable[..., None]:
        def hook(module: torch.nn.Module, args: Any) -> None:
            self._stack.append(name)
        return hook

    def _leave(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        if self._stack:
            self._stack.pop()

    def _current_name(self) -> str:
        self._calls += 1
        return self._stack[-1] if self._stack else f"sdpa.{self._calls - 1}"

    def _measure(self, name: str, query: torch.Tensor, key: torch.Tensor, attn_mask: Optional[torch.Tensor],
                 is_causal: bool, scale: Optional[float]) -> None:
        if self._forward_done or not torch.is_grad_enabled():  # eval / generation forwards are not training steps
            return
        started = time.perf_counter()
        stats = attention_stats(query, key, attn_mask, is_causal, scale, self.max_heads, self.max_queries)
        self._measured = True
        self.report(name, stats)
        self.spent += time.perf_counter() - started

    def _around_sdpa(self, original: Callable[..., Any], query: torch.Tensor, key: torch.Tensor,
                     value: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.0,
                     is_causal: bool = False, scale: Optional[float] = None, **kwargs: Any) -> Any:
        out = original(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                       scale=scale, **kwargs)
        self.guard.call("attention", self._measure, self._current_name(), query, key, attn_mask, bool(is_causal),
                        scale)
        return out

    def _around_eager(self, original: Callable[..., Any], module: torch.nn.Module, query: torch.Tensor,
                      key: torch.Tensor, value: torch.Tensor, attention_mask: Optional[torch.Tensor],
                      *args: Any, **kwargs: Any) -> Any:
        out = original(module, query, key, value, attention_mask, *args, **kwargs)
        scale = kwargs.get("scaling", args[0] if args else None)
        name = self.module_names.get(id(module)) or self._current_name()
        is_causal = attention_mask is None and bool(getattr(module, "is_causal", False))
        self.guard.call("attention", self._measure, name, query, key, attention_mask, is_causal, scale)
        return out
