"""The model type a plan's model is of: its `config.json` (`model.family`), else a hub id or folder name that fixes
it. Rules that compare module or layer names with the model's (PD606's LoRA targets, PD608's FSDP wrap classes) ask
here; the name patterns compile only when one asks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Container, Optional

from ..lazyre import lazy_compile
from .derive import name_leaf

if TYPE_CHECKING:
    from .model import TrainingPlan

# A hub id (its last path part, lower case, quantization suffixes dropped) that fixes the architecture.
_FAMILY_BY_NAME = tuple((lazy_compile(pattern), family) for pattern, family in (
    (r"phi-3(?:\.5)?-(?:mini|medium)(?:-(?:4k|8k|128k))?(?:-instruct)?", "phi3"),
    (r"phi-4(?:-mini)?(?:-instruct|-reasoning(?:-plus)?)?", "phi3"),
    (r"(?:distil)?gpt2(?:-(?:medium|large|xl))?", "gpt2"),
    (r"pythia-\d+(?:\.\d+)?[mb](?:-deduped)?(?:-v0)?|gpt-neox-20b", "gpt_neox"),
    (r"falcon-(?:rw-)?(?:1b|7b|40b|180b)(?:-instruct|-chat)?", "falcon"),
    (r"bloomz?-(?:560m|1b1|1b7|3b|7b1)(?:-mt)?", "bloom"),
    (r"qwen-(?:1_8|7|14|72)b(?:-chat)?", "qwen"),
    (r"chatglm[23]?-6b(?:-(?:32k|128k|base))?", "chatglm"),
    (r"baichuan2?-(?:7|13)b(?:-(?:base|chat))?", "baichuan"),
    (r"internlm2(?:[._]5)?-(?:chat-)?(?:1_8|7|20)b(?:-(?:chat|sft|base))?", "internlm2"),
    (r"(?:meta-)?llama-(?:2|3|3\.[123])-\d+b(?:-(?:chat|instruct|hf))*", "llama"),
    (r"mistral-7b(?:-instruct)?(?:-v0\.[123])?", "mistral"),
    (r"qwen(?:1\.5|2|2\.5)-\d+(?:\.\d+)?b(?:-(?:chat|instruct))?", "qwen2"),
    (r"qwen3-\d+(?:\.\d+)?b(?:-(?:base|instruct))?", "qwen3"),
))
_QUANTIZED_SUFFIX = lazy_compile(r"(?:-(?:gptq|awq|bnb-4bit|bnb-8bit|4bit|8bit|int4|int8|fp16|bf16|hf))+$")
# Re-uploads of a family converted to Llama's layout (held-out review 47, A 21: `unsloth/phi-4` has q_proj/k_proj/
# v_proj and gate_proj/up_proj, not Phi-3's merged qkv_proj and gate_up_proj): family -> the owner prefix.
_LLAMAFIED = {"phi3": "unsloth/"}


def architecture(plan: "TrainingPlan", known: Container[str]) -> Optional[tuple[str, str]]:
    """The model type among `known` and what it was read from: the model's `config.json` (`model.family`), else a
    hub id or folder name that fixes it. None where neither says, or says a type not in `known`."""
    if plan.model.config_path and plan.model.family:  # the checkpoint's own word; a type not listed is not judged
        return (plan.model.family, f"`{plan.model.config_path}`") if plan.model.family in known else None
    for name in (plan.model.name, plan.mode.init_from):
        if not isinstance(name, str) or not name.strip():
            continue
        base = _QUANTIZED_SUFFIX.sub("", name_leaf(name.strip()).lower())
        for pattern, family in _FAMILY_BY_NAME:
            if pattern.fullmatch(base):
                if family in _LLAMAFIED and name.strip().lower().startswith(_LLAMAFIED[family]):
                    return None  # a re-upload converted to Llama's split projections: the name fixes nothing
                return (family, f"`{name.strip()}`") if family in known else None
    return None
