from __future__ import annotations

from pretrain_doctor.plan.architecture import architecture
from pretrain_doctor.rule import Rule

# Each model type's decoder layer class as transformers names it (models/<type>/modeling_<type>.py), and the remote
# code's for the types that ship their own (Qwen-7B's QWenBlock, ChatGLM's GLMBlock, InternLM2's layer).
_LAYER_CLASSES: dict[str, str] = {
    "llama": "LlamaDecoderLayer", "mistral": "MistralDecoderLayer", "qwen2": "Qwen2DecoderLayer",
    "qwen3": "Qwen3DecoderLayer", "gemma": "GemmaDecoderLayer", "gemma2": "Gemma2DecoderLayer",
    "olmo": "OlmoDecoderLayer", "olmo2": "Olmo2DecoderLayer", "phi3": "Phi3DecoderLayer", "gpt2": "GPT2Block",
    "gpt_neox": "GPTNeoXLayer", "falcon": "FalconDecoderLayer", "bloom": "BloomBlock", "qwen": "QWenBlock",
    "chatglm": "GLMBlock", "internlm2": "InternLM2DecoderLayer",
}
# Layer classes of other model types a wrap list copied from another recipe names: a name among them that is not the
# model's own is a class the model does not have. A name outside them (a fork's own block) is not judged.
_KNOWN_CLASSES = frozenset(_LAYER_CLASSES.values()) | frozenset({
    "MixtralDecoderLayer", "Qwen2MoeDecoderLayer", "Qwen3MoeDecoderLayer", "Gemma3DecoderLayer", "PhiDecoderLayer",
    "OPTDecoderLayer", "GPTJBlock", "T5Block", "DeepseekV2DecoderLayer", "DeepseekV3DecoderLayer", "CLIPEncoderLayer",
    "SiglipEncoderLayer", "Qwen2VLDecoderLayer", "Qwen2_5_VLDecoderLayer", "MllamaSelfAttentionDecoderLayer"})


class FsdpWrapClassNotInModel(Rule):
    """FSDP's transformer-based auto wrap names a layer class the model does not have.

    ## What it does
    Compares the layer classes FSDP wraps (transformers' `fsdp: "full_shard auto_wrap"` with
    `fsdp_config.transformer_layer_cls_to_wrap` or the older `fsdp_transformer_layer_cls_to_wrap`;
    an accelerate config's `fsdp_transformer_layer_cls_to_wrap` under `TRANSFORMER_BASED_WRAP`) with the
    decoder layer class of the model's architecture, read from its `config.json` or a hub id that fixes it
    (Llama, Mistral, Qwen2/2.5, Qwen3, Phi-3, GPT-2, Pythia, Falcon, BLOOM, Qwen-7B, ChatGLM, InternLM2). Fires
    when every class listed is another architecture's layer (`LlamaDecoderLayer` for a Mistral model) and none
    is the model's own. A class name it does not know (a fork's own block) is not judged.

    ## Why is this bad?
    accelerate looks each listed class up in the model by name before it wraps anything and stops when one
    is missing ("Could not find the transformer layer class ... in the model."): the job fails at start-up,
    after it has been scheduled and the model loaded. Wrap lists are usually copied from another model's
    recipe, and the class name then still says that model.

    ## Example
    ```yaml
    model_name_or_path: mistralai/Mistral-7B-Instruct-v0.2
    fsdp: "full_shard auto_wrap"
    fsdp_config:
      transformer_layer_cls_to_wrap: [LlamaDecoderLayer]
    ```

    ## Use instead
    ```yaml
    model_name_or_path: mistralai/Mistral-7B-Instruct-v0.2
    fsdp: "full_shard auto_wrap"
    fsdp_config:
      transformer_layer_cls_to_wrap: [MistralDecoderLayer]
    ```

    ## References
    - accelerate FullyShardedDataParallelPlugin, `transformer_cls_names_to_wrap`: https://huggingface.co/docs/accelerate/usage_guides/fsdp
    - transformers TrainingArguments `fsdp_config`: https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.fsdp_config
    """

    code = "PD608"
    slug = "fsdp-wrap-class-not-in-model"
    severity = "error"
    premises = ("model",)  # a fork's own model may define the class (plan/reading.py)

    def check(self, plan):
        classes = plan.parallel.fsdp_wrap_classes
        if not plan.parallel.fsdp or not classes or any(name not in _KNOWN_CLASSES for name in classes):
            return
        found = architecture(plan, _LAYER_CLASSES)
        if found is None:
            return
        family, read_from = found
        own = _LAYER_CLASSES[family]
        if own in classes:
            return
        listed = ", ".join(f"`{name}`" for name in classes)
        yield self.finding(
            plan, "parallel.fsdp_wrap_classes",
            f"FSDP wraps {listed}, which {family} ({read_from}) does not have: its layers are `{own}`, and "
            "accelerate stops at start-up (\"Could not find the transformer layer class ... in the model.\")",
            hint=f"wrap `{own}`",
        )
