"""Read a model's `config.json` and `generation_config.json` (HF layout) as plain JSON.

Key names differ by architecture (GPT-2 says `n_positions`, Llama `max_position_embeddings`),
so each concept lists the spellings transformers' config classes use (`attribute_map`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple, Optional

from ..errors import ConfigError

MODEL_CONFIG = "config.json"
GENERATION_CONFIG = "generation_config.json"

# Architectures by how they encode positions (transformers' modeling files).
LEARNED_POSITIONS = frozenset({"gpt2", "gpt_neo", "gpt_bigcode", "opt", "bert", "roberta", "xlm-roberta",
                               "distilbert", "electra", "biogpt", "xglm", "megatron-bert", "camembert", "bart",
                               "mbart"})
ROPE_POSITIONS = frozenset({"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma",
                            "gemma2", "gemma3", "gemma3_text", "olmo", "olmo2", "olmoe", "gpt_neox", "gptj",
                            "phi", "phi3", "stablelm", "starcoder2", "cohere", "deepseek_v2", "deepseek_v3",
                            "granite", "modernbert", "falcon", "internlm2", "smollm3"})
ALIBI_POSITIONS = frozenset({"bloom", "mpt"})
# Architectures whose MLP is gated (gate_proj · up_proj -> down_proj: three d×ffn matrices, not two),
# from transformers' modeling files; a TinyLlama counted with a plain MLP is 846M instead of 1.1B.
GATED_MLP = frozenset({"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2",
                       "gemma3", "gemma3_text", "olmo", "olmo2", "olmoe", "phi3", "stablelm", "cohere", "deepseek_v2",
                       "deepseek_v3", "granite", "internlm2", "smollm3", "exaone", "glm", "glm4", "helium"})
PLAIN_MLP = frozenset({"gpt2", "gpt_neo", "gpt_neox", "gptj", "gpt_bigcode", "opt", "bloom", "mpt", "falcon", "phi",
                       "starcoder2", "bert", "roberta", "t5"})

# concept -> keys, first present wins
KEYS = {
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "max_positions": ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "layers": ("num_hidden_layers", "n_layer", "n_layers", "num_layers"),
    "heads": ("num_attention_heads", "n_head", "n_heads"),
    "kv_heads": ("num_key_value_heads", "n_kv_heads"),
    "head_dim": ("head_dim",),
    "ffn_size": ("intermediate_size", "n_inner", "ffn_dim", "d_ff"),
    "init_std": ("initializer_range", "init_std"),
    "dropout": ("hidden_dropout_prob", "resid_pdrop", "hidden_dropout", "residual_dropout", "dropout",
                "attention_dropout", "attention_probs_dropout_prob", "embd_pdrop"),
    "torch_dtype": ("torch_dtype", "dtype"),
    # mixtures of experts: Mixtral `num_local_experts`, Qwen2/3-MoE and OLMoE `num_experts`, DeepSeek V2/V3
    # `n_routed_experts`; the width of each routed expert's MLP where it is not `intermediate_size`'s
    "num_experts": ("num_local_experts", "num_experts", "n_routed_experts"),
    "experts_per_token": ("num_experts_per_tok",),
    "expert_ffn_size": ("moe_intermediate_size",),
    "shared_expert_ffn_size": ("shared_expert_intermediate_size",),
}


class ModelFiles(NamedTuple):
    """A model's config.json (and generation_config.json when beside it)."""

    config_path: Path
    config: dict[str, Any]
    generation: Mapping[str, Any] = MappingProxyType({})
    generation_path: Optional[Path] = None

    def value(self, concept: str) -> tuple[Optional[str], Any]:
        """(key, value) of the first spelling of `concept` present and not null."""
        for key in KEYS[concept]:
            if self.config.get(key) is not None:
                return key, self.config[key]
        return None, None

    def moe_counts(self) -> dict[str, tuple[Optional[str], int]]:
        """The mixture-of-experts fields config.json gives (plan field name -> (key, value)), positive counts only:
        the experts, those a token visits, each expert's MLP width, the shared experts' width (Qwen's
        `shared_expert_intermediate_size`, DeepSeek's `n_shared_experts` × `moe_intermediate_size`) and the layers
        whose MLP is the experts' (DeepSeek's first `first_k_dense_replace` layers are dense). Empty for a dense
        model (no expert count above one)."""
        found = {name: self.value(name) for name in ("num_experts", "experts_per_token", "expert_ffn_size",
                                                     "shared_expert_ffn_size")}
        counts = {name: (key, value) for name, (key, value) in found.items()
                  if isinstance(value, int) and not isinstance(value, bool) and value > 0}
        if counts.get("num_experts", (None, 1))[1] <= 1:
            return {}
        shared, width = self.config.get("n_shared_experts"), counts.get("expert_ffn_size", (None, 0))[1]
        if "shared_expert_ffn_size" not in counts and isinstance(shared, int) and shared > 0 and width:
            counts["shared_expert_ffn_size"] = ("n_shared_experts", shared * width)
        dense_first, layers = self.config.get("first_k_dense_replace"), self.value("layers")[1]
        if isinstance(dense_first, int) and isinstance(layers, int) and 0 < dense_first < layers:
            counts["moe_layers"] = ("first_k_dense_replace", layers - dense_first)
        return counts

    @property
    def model_type(self) -> Optional[str]:
        value = self.config.get("model_type")
        return str(value) if value else None

    @property
    def position_encoding(self) -> Optional[str]:
        kind = self.model_type
        if kind in LEARNED_POSITIONS:
            return "learned"
        if kind in ROPE_POSITIONS or "rope_theta" in self.config or "rotary_dim" in self.config:
            return "rope"
        if kind in ALIBI_POSITIONS or self.config.get("alibi") is True:
            return "alibi"
        return None

    @property
    def gated_mlp(self) -> Optional[bool]:
        kind = self.model_type
        if kind in GATED_MLP:
            return True
        return False if kind in PLAIN_MLP else None

    @property
    def rope_scaling(self) -> Optional[bool]:
        """Whether a RoPE scaling (linear, dynamic, yarn, llama3 ...) is configured."""
        if self.position_encoding != "rope":
            return None
        scaling = self.config.get("rope_scaling") or self.config.get("rope_parameters")
        if isinstance(scaling, dict):
            kind = scaling.get("rope_type", scaling.get("type"))
            return kind not in (None, "default")
        return False

    @property
    def tie_embeddings(self) -> bool:
        # PretrainedConfig defaults `tie_word_embeddings` to True when absent.
        return bool(self.config.get("tie_word_embeddings", True))

    def token_ids(self, role: str) -> list[int]:
        """The configured ids of `role` (Llama-3.1 lists three eos ids)."""
        value = self.config.get(f"{role}_token_id")
        values = value if isinstance(value, list) else [value]
        return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]

    def token_id(self, role: str, prefer: Optional[int] = None) -> Optional[int]:
        """One id of `role`: `prefer` when the config lists it, else the first."""
        ids = self.token_ids(role)
        if prefer is not None and prefer in ids:
            return prefer
        return ids[0] if ids else None

    @property
    def generation_eos_ids(self) -> Optional[list[int]]:
        value = self.generation.get("eos_token_id")
        if value is None:
            return None
        ids = value if isinstance(value, list) else [value]
        return [int(v) for v in ids if isinstance(v, int) and not isinstance(v, bool)]


def load_model_files(location: str | Path) -> ModelFiles:
    """Read `config.json` (a file, or the folder holding it) and a `generation_config.json` beside it."""
    path = Path(location)
    config_path = path / MODEL_CONFIG if path.is_dir() else path
    if not config_path.is_file():
        raise ConfigError(f"model config not found: {config_path}", str(location))
    generation_path = config_path.parent / GENERATION_CONFIG
    return _load_cached(str(config_path.resolve()), config_path.stat().st_mtime_ns,
                        str(generation_path) if generation_path.is_file() else None)


def is_model_location(path: Path) -> bool:
    return (path / MODEL_CONFIG).is_file() if path.is_dir() else path.is_file() and path.name.endswith(".json")


@lru_cache(maxsize=16)
def _load_cached(config_path: str, _mtime: int, generation_path: Optional[str]) -> ModelFiles:
    config = _read_json(Path(config_path))
    if not isinstance(config, dict):
        raise ConfigError("a model config.json must hold a JSON object", config_path)
    generation = _read_json(Path(generation_path)) if generation_path else {}
    return ModelFiles(Path(config_path), config, generation if isinstance(generation, dict) else {},
                      Path(generation_path) if generation_path else None)


def _read_json(path: Path) -> Any:
    import json  # only when the files are there: the decoder is ~6 M instructions of every `check` start

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc}", str(path)) from None
