"""The check enricher: tokenizer and model facts from files, with provenance, without beating the config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pretrain_doctor.check import check_paths, load_plan
from pretrain_doctor.dialects import dialect_names
from pretrain_doctor.settings import CheckOptions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NATIVE_FT = ("pretrain_doctor: 1\nmode: {kind: full_finetune, init_from: my-org/base}\n"
             "optimizer: {family: adamw, lr: 2.0e-5}\n")


def _plan(tmp_path: Path, text: str, **options):
    path = tmp_path / "train.yaml"
    path.write_text(text)
    return load_plan(path, CheckOptions(use_settings=False, **options))[2]


def test_tokenizer_flag_fills_the_plan_with_sources(tmp_path: Path) -> None:
    plan = _plan(tmp_path, NATIVE_FT, tokenizer=FIXTURES / "tokenizers" / "gpt2-pad")
    spec = plan.tokenizer
    assert spec.length == 301 and spec.pad_token == "<|pad|>" and spec.pad_token_id == 300
    assert spec.eos_token == "<|endoftext|>" and spec.eos_token_id == 0 and spec.padding_side == "right"
    source = plan.sources["tokenizer.pad_token_id"]
    assert source.file.endswith("tokenizer_config.json") and source.key == "pad_token" and source.note == "--tokenizer"
    assert "tokenizer.length" not in plan.unknown


def test_values_the_config_sets_win_over_the_files(tmp_path: Path) -> None:
    text = NATIVE_FT + "tokenizer: {eos_token_id: 7, padding_side: left}\n"
    plan = _plan(tmp_path, text, tokenizer=FIXTURES / "tokenizers" / "gpt2-pad")
    assert plan.tokenizer.eos_token_id == 7 and plan.tokenizer.padding_side == "left"
    assert plan.sources["tokenizer.eos_token_id"].file.endswith("train.yaml")
    assert plan.sources["tokenizer.eos_token_id"].line == 4


def test_unknown_tokenizer_names_the_flag(tmp_path: Path) -> None:
    plan = _plan(tmp_path, NATIVE_FT)
    assert plan.tokenizer.length is None
    assert plan.unknown["tokenizer.length"] == "--tokenizer"


def test_a_relative_tokenizer_path_resolves_against_an_ancestor_folder(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "tokenizers" / "olmo-like", tmp_path / "tokenizers" / "olmo-like")
    nested = tmp_path / "configs" / "tiny"
    nested.mkdir(parents=True)
    text = NATIVE_FT + "tokenizer: {path: tokenizers/olmo-like/tokenizer.json}\n"
    plan = _plan(nested, text)
    assert plan.tokenizer.path == str((tmp_path / "tokenizers" / "olmo-like" / "tokenizer.json").resolve())
    assert plan.sources["tokenizer.path"].line == 4  # the config's line, not the tokenizer file
    assert plan.tokenizer.length == 301


def test_a_hub_id_that_is_not_on_disk_stays_unknown(tmp_path: Path) -> None:
    plan = _plan(tmp_path, NATIVE_FT + "tokenizer: {name: mistralai/Mistral-Nemo-Base-2407}\n")
    assert plan.tokenizer.path is None and plan.unknown["tokenizer.length"] == "--tokenizer"


def test_a_hub_id_known_here_gives_the_length_and_says_so(tmp_path: Path) -> None:
    plan = _plan(tmp_path, NATIVE_FT + "tokenizer: {name: meta-llama/Llama-2-7b-hf}\n")
    assert plan.tokenizer.path is None and plan.tokenizer.length == 32000
    assert "tokenizer.length" not in plan.unknown and "on the Hub, known here" in plan.sources["tokenizer.length"].note


def test_model_config_of_a_finetune_describes_the_base_checkpoint(tmp_path: Path) -> None:
    plan = _plan(tmp_path, NATIVE_FT, model_config=FIXTURES / "models" / "llama-tiny")
    model = plan.model
    assert model.family == "llama" and model.position_encoding == "rope" and model.rope_scaling is False
    assert model.max_positions == model.base_max_positions == 256
    assert model.tie_embeddings is False and model.base_tie_embeddings is False
    assert model.eos_token_id == 2 and model.generation_eos_token_ids == [2]
    assert model.embedding_rows == model.vocab_size
    source = plan.sources["model.max_positions"]
    assert source.file.endswith("config.json") and source.key == "max_position_embeddings"


def test_model_config_from_scratch_has_no_base_checkpoint(tmp_path: Path) -> None:
    text = "pretrain_doctor: 1\nmode: {kind: pretrain}\noptimizer: {family: adamw, lr: 3.0e-4}\n"
    plan = _plan(tmp_path, text, model_config=FIXTURES / "models" / "gpt2-tiny" / "config.json")
    assert plan.model.tie_embeddings is True and plan.model.base_tie_embeddings is None
    assert plan.model.position_encoding == "learned" and plan.model.max_positions == 128


def test_checkpoint_folder_named_in_the_config_is_read(tmp_path: Path) -> None:
    checkpoint = tmp_path / "ckpt"
    shutil.copytree(FIXTURES / "tokenizers" / "llama-like", checkpoint)
    shutil.copy(FIXTURES / "models" / "llama-tiny" / "config.json", checkpoint / "config.json")
    plan = _plan(tmp_path, NATIVE_FT.replace("my-org/base", "ckpt"))
    assert plan.tokenizer.add_bos_token is True and plan.model.family == "llama"


def test_a_missing_flag_path_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(NATIVE_FT)
    report = check_paths([path], CheckOptions(use_settings=False, tokenizer=tmp_path / "nope"))
    assert report.errors and "--tokenizer" in report.errors[0].message


@pytest.mark.skipif("olmo" not in dialect_names(), reason="the olmo dialect is not registered")
def test_olmo_tiny_config_eos_id_zero_is_reported_with_the_real_tokenizer(shared_dir: Path) -> None:
    report = check_paths([shared_dir / "real-configs/olmo/tiny/OLMo-20M.yaml"],
                         CheckOptions(use_settings=False, select=["PD502"]))
    assert not report.errors and not report.warnings
    [finding] = report.findings
    assert finding.severity == "error" and finding.line is not None
    assert "eos_token_id 0 is `|||IP_ADDRESS|||`" in finding.message
    assert "`<|endoftext|>` is 50279" in finding.message


def test_a_listed_eos_that_includes_the_tokenizers_is_not_a_disagreement(tmp_path: Path) -> None:
    # Llama-3.1 lists several eos ids in config.json; the tokenizer's is among them.
    models = tmp_path / "model"
    shutil.copytree(FIXTURES / "models" / "llama3-tiny", models)
    config = json.loads((models / "config.json").read_text())
    config["eos_token_id"] = [301, 304]
    (models / "config.json").write_text(json.dumps(config))
    path = tmp_path / "train.yaml"
    path.write_text(NATIVE_FT)
    report = check_paths([path], CheckOptions(use_settings=False, select=["PD502"], model_config=models,
                                              tokenizer=FIXTURES / "tokenizers" / "llama3-like"))
    assert not report.findings


@pytest.mark.usefixtures("without_sentencepiece")
def test_sentencepiece_folder_without_the_package_leaves_the_length_unknown(tmp_path: Path) -> None:
    spm = FIXTURES / "tokenizers" / "llama2-spm"
    lora = ("pretrain_doctor: 1\nmodel: {vocab_size: 100}\nmode: {kind: lora, init_from: my-org/base}\n"
            "optimizer: {family: adamw, lr: 2.0e-4}\ntokenizer: {added_tokens: ['<s>', '<|im_start|>']}\n")
    plan = _plan(tmp_path, lora, tokenizer=spm)
    assert plan.tokenizer.length is None  # not 3, the count of the added specials
    assert "sentencepiece" in plan.unknown["tokenizer.length"]
    assert plan.tokenizer.eos_token_id == 2
    path = tmp_path / "train.yaml"
    found = check_paths([path], CheckOptions(use_settings=False, tokenizer=spm)).findings
    assert not [f for f in found if f.code == "PD501"]  # 100 rows hold every id the files name
    # Whether `<|im_start|>` is new cannot be told without the vocabulary: info, not an error.
    assert [f.severity for f in found if f.code == "PD506"] == ["info"]


def test_a_llama_config_json_counts_the_gated_mlp(tmp_path: Path) -> None:
    # TinyLlama-1.1B's config.json (held-out review): counted with a plain two-matrix MLP it was 846M.
    config = {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
              "num_attention_heads": 32, "num_key_value_heads": 4, "vocab_size": 32000, "tie_word_embeddings": False}
    (tmp_path / "config.json").write_text(json.dumps(config))
    plan = _plan(tmp_path, NATIVE_FT, model_config=tmp_path / "config.json")
    assert plan.model.gated_mlp is True
    assert round(plan.derived.parameters.value / 1e9, 2) == 1.10


def test_a_gpt2_config_json_has_a_plain_mlp(tmp_path: Path) -> None:
    plan = _plan(tmp_path, NATIVE_FT, model_config=FIXTURES / "models" / "gpt2-tiny" / "config.json")
    assert plan.model.gated_mlp is False


_MIXTRAL = {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "num_local_experts": 8, "num_experts_per_tok": 2,
            "vocab_size": 32000, "tie_word_embeddings": False, "max_position_embeddings": 32768}
_QWEN3_30B_A3B = {"model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144, "head_dim": 128,
                  "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "num_experts": 128,
                  "num_experts_per_tok": 8, "moe_intermediate_size": 768, "vocab_size": 151936,
                  "tie_word_embeddings": False, "max_position_embeddings": 40960}
_DEEPSEEK_MOE = {"model_type": "deepseek_v2", "hidden_size": 2048, "intermediate_size": 10944, "num_hidden_layers": 27,
                 "num_attention_heads": 16, "n_routed_experts": 64, "num_experts_per_tok": 6, "n_shared_experts": 2,
                 "moe_intermediate_size": 1408, "first_k_dense_replace": 1, "vocab_size": 102400,
                 "tie_word_embeddings": False}


@pytest.mark.parametrize("config, total, active, moe_layers", [
    (_MIXTRAL, 46.70e9, 12.88e9, None),  # Mixtral-8x7B's card: 46.7B, 12.9B active
    (_QWEN3_30B_A3B, 30.52e9, 3.34e9, None),  # Qwen3-30B-A3B's card: 30.5B, 3.3B active
    (_DEEPSEEK_MOE, None, None, 26),  # DeepSeek's first layer dense, two shared experts beside the routed ones
])
def test_a_model_config_of_experts_counts_them(tmp_path: Path, config, total, active, moe_layers) -> None:
    # leftover of held-out review 117: config.json's expert fields were not read, so an MoE model counted as dense
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    plan = _plan(tmp_path, "pretrain_doctor: 1\nmode: {kind: full_finetune, init_from: my-org/base}\n",
                 model_config=tmp_path / "model" / "config.json")
    assert plan.model.num_experts == config.get("num_local_experts", config.get("num_experts",
                                                                               config.get("n_routed_experts")))
    assert plan.model.experts_per_token == config["num_experts_per_tok"]
    assert plan.model.moe_layers == moe_layers
    if total is not None:
        assert plan.derived.parameters.value == pytest.approx(total, rel=0.01)
        assert plan.derived.active_parameters.value == pytest.approx(active, rel=0.01)
    if "n_shared_experts" in config:
        assert plan.model.shared_expert_ffn_size == 2 * 1408 and plan.model.expert_ffn_size == 1408
    dense = {key: value for key, value in config.items() if key not in ("num_local_experts", "num_experts",
                                                                        "n_routed_experts")}
    (tmp_path / "model" / "config.json").write_text(json.dumps({**dense, "num_experts": 1}))
    plan = _plan(tmp_path, "pretrain_doctor: 1\nmode: {kind: full_finetune, init_from: my-org/base}\n",
                 model_config=tmp_path / "model" / "config.json")
    assert plan.model.num_experts is None and plan.model.experts_per_token is None  # one expert: a dense model
