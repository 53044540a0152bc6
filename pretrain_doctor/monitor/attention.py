"""Attention entropy and max-logit probes.

Fused kernels (SDPA, flash) never materialise the attention probabilities, so on a
sampled step the doctor recomputes them for a few heads and query positions of the
first sequence in the batch: a [heads, queries, keys] slice instead of the full
[batch, heads, queries, keys] tensor. One process-wide tap (`TAP`) wraps
`torch.nn.functional.scaled_dot_product_attention` (nanoGPT, HF `sdpa`, torchtitan, litgpt)
and HF's module-level `eager_attention_forward` while a probe is armed (a sampled step),
and hands each call to the probe of the model it runs in.
"""

from __future__ import annotations

import sys
import time
import weakref
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


class AttentionTap:
    """The process-wide patches of `scaled_dot_product_attention` and HF's module-level
    `eager_attention_forward`, present while some probe is armed.

    Each function is wrapped once per process (one wrapper object, switched on again
    while it is still in place) and put back when the last armed probe disarms or is
    collected, as torch's `RemovableHandle` and `module_tracker` hold their owners: the
    tap holds the armed probes weakly, so attaching, arming and detaching doctors in any
    order never nests a patch or keeps a model alive. A call goes to the probe whose
    module it is: eager attention by its `module` argument, SDPA by the attention module
    it runs in (the armed probes' module hooks keep that stack), else the last armed probe.
    """

    def __init__(self) -> None:
        self.refs: tuple[weakref.ref, ...] = ()
        self.patches: dict[tuple[int, str], FunctionPatch] = {}
        self.stack: list[tuple["AttentionProbe", str]] = []  # attention modules entered, innermost last

    @property
    def probes(self) -> list["AttentionProbe"]:
        return [probe for probe in (ref() for ref in self.refs) if probe is not None]

    def subscribe(self, probe: "AttentionProbe") -> None:
        if probe not in self.probes:
            self.refs = (*self.refs, weakref.ref(probe, self._collected))
        for owner, name in probe.targets:
            self._switch_on(owner, name)

    def unsubscribe(self, probe: "AttentionProbe") -> None:
        self.refs = tuple(ref for ref in self.refs if ref() is not probe and ref() is not None)
        self.stack = [entry for entry in self.stack if entry[0] is not probe]
        self._prune()

    def _collected(self, dead: "weakref.ref[Any]") -> None:
        self.refs = tuple(ref for ref in self.refs if ref is not dead)
        self._prune()

    def _prune(self) -> None:
        """Put back every function no armed probe needs."""
        needed = {(id(owner), name) for probe in self.probes for owner, name in probe.targets}
        for key, patch in self.patches.items():
            if key not in needed and patch.active:
                patch.remove()

    def _switch_on(self, owner: Any, name: str) -> None:
        key = (id(owner), name)
        patch = self.patches.get(key)
        if patch is not None and patch.active:
            return
        if patch is not None and _reaches(getattr(owner, name, None), patch.wrapper):
            patch.active = True  # still in place (under someone else's patch): on again
            return
        around = self._around_sdpa if name == "scaled_dot_product_attention" else self._around_eager
        patch = self.patches[key] = FunctionPatch(owner, name, around)
        patch.install()

    def _probe_for(self, module: Optional[torch.nn.Module] = None) -> tuple[Optional["AttentionProbe"], Optional[str]]:
        """The armed probe a call belongs to, and the attention module's name if known."""
        if module is not None:
            for probe in self.probes:
                name = probe.module_names.get(id(module))
                if name is not None:
                    return probe, name
        if self.stack:
            return self.stack[-1]
        probes = self.probes
        return (probes[-1], None) if probes else (None, None)

    def _around_sdpa(self, original: Callable[..., Any], query: torch.Tensor, key: torch.Tensor,
                     value: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.0,
                     is_causal: bool = False, scale: Optional[float] = None, **kwargs: Any) -> Any:
        out = original(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                       scale=scale, **kwargs)
        probe, name = self._probe_for()
        if probe is not None:
            probe.measure_call(name, query, key, attn_mask, bool(is_causal), scale)
        return out

    def _around_eager(self, original: Callable[..., Any], module: torch.nn.Module, query: torch.Tensor,
                      key: torch.Tensor, value: torch.Tensor, attention_mask: Optional[torch.Tensor],
                      *args: Any, **kwargs: Any) -> Any:
        out = original(module, query, key, value, attention_mask, *args, **kwargs)
        probe, name = self._probe_for(module)
        if probe is not None:
            scale = kwargs.get("scaling", args[0] if args else None)
            is_causal = attention_mask is None and bool(getattr(module, "is_causal", False))
            probe.measure_call(name, query, key, attention_mask, is_causal, scale)
        return out


def _reaches(function: Any, wrapper: Any, depth: int = 32) -> bool:
    """Is `wrapper` this function, or wrapped by it (`__wrapped__` chains)?"""
    while function is not None and depth > 0:
        if function is wrapper:
            return True
        function, depth = getattr(function, "__wrapped__", None), depth - 1
    return False


class AttentionProbe:
    """Measures one model's attention on sampled steps (armed for one step): it hooks
    that model's attention modules and takes the calls the process-wide `TAP` hands it;
    reports one stats tensor per call."""

    def __init__(self, model: torch.nn.Module, guard: ProbeGuard,
                 report: Callable[[str, torch.Tensor], None], max_heads: int = 4, max_queries: int = 32) -> None:
        self.guard = guard
        self.report = report
        self.max_heads, self.max_queries = max_heads, max_queries
        self.module_names = {id(m): name for name, m in model.named_modules()
                             if "attention" in type(m).__name__.lower()}
        self.attention_modules = [m for m in model.modules() if id(m) in self.module_names]
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
        # the functions the tap patches for this model: SDPA, and HF's eager attention of
        # the modeling modules its classes come from
        self.targets: list[tuple[Any, str]] = [(torch.nn.functional, "scaled_dot_product_attention")]
        for module_name in sorted({type(m).__module__ for m in model.modules()}):
            module = sys.modules.get(module_name)
            if module is not None and callable(getattr(module, "eager_attention_forward", None)):
                self.targets.append((module, "eager_attention_forward"))

    def arm(self) -> None:
        """Start probing (for one step): the tap's patches on, the attention modules tracked."""
        self.armed = True
        self._calls = 0
        self._forward_done = self._measured = False
        TAP.subscribe(self)
        for module in self.attention_modules:
            name = self.module_names[id(module)]
            self._handles.append(module.register_forward_pre_hook(self._enter(name)))
            self._handles.append(module.register_forward_hook(self._leave, always_call=True))

    def forward_done(self) -> None:
        """The model's training forward finished (the doctor's forward hook says so)."""
        self._forward_done = self._measured

    def disarm(self) -> None:
        self.armed = False
        remove_all(self._handles)
        TAP.unsubscribe(self)

    def _enter(self, name: str) -> Callable[..., None]:
        def hook(module: torch.nn.Module, args: Any) -> None:
            TAP.stack.append((self, name))
        return hook

    def _leave(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        if TAP.stack and TAP.stack[-1][0] is self:
            TAP.stack.pop()

    def measure_call(self, name: Optional[str], query: torch.Tensor, key: torch.Tensor,
                     attn_mask: Optional[torch.Tensor], is_causal: bool, scale: Optional[float]) -> None:
        """An attention call in this probe's model (the tap hands it over); `name`: its
        attention module, None when not known (then `sdpa.<n>`, n counting the step's calls)."""
        self._calls += 1
        if name is None:
            name = f"sdpa.{self._calls - 1}"
        self.guard.call("attention", self._measure, name, query, key, attn_mask, is_causal, scale)

    def _measure(self, name: str, query: torch.Tensor, key: torch.Tensor, attn_mask: Optional[torch.Tensor],
                 is_causal: bool, scale: Optional[float]) -> None:
        if self._forward_done or not torch.is_grad_enabled():  # eval / generation forwards are not training steps
            return
        started = time.perf_counter()
        stats = attention_stats(query, key, attn_mask, is_causal, scale, self.max_heads, self.max_queries)
        self._measured = True
        self.report(name, stats)
        self.spent += time.perf_counter() - started


TAP = AttentionTap()
