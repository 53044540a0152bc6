"""Model config.json / generation_config.json read as JSON, across architectures' key spellings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrain_doctor.assets import load_model_files
from pretrain_doctor.errors import ConfigError

MODELS = Path(__file__).resolve().parents[2] / "fixtures" / "models"


def test_llama_config_with_generation_config() -> None:
    model = load_model_files(MODELS / "llama-tiny")  # a folder: config.json inside
    assert model.model_type == "llama" and model.position_encoding == "rope" and model.rope_scaling is False
    assert model.value("max_positions") == ("max_position_embeddings", 256)
    assert model.token_id("eos") == 2 and model.generation_eos_ids == [2]
    assert model.tie_embeddings is False


def test_gpt2_spellings_and_learned_positions() -> None:
    model = load_model_files(MODELS / "gpt2-tiny" / "config.json")
    assert model.position_encoding == "learned"
    assert model.value("max_positions") == ("n_positions", 128)
    assert model.value("hidden_size") == ("n_embd", 64)
    assert model.value("dropout") == ("resid_pdrop", 0.1)
    assert model.generation_path is None and model.generation_eos_ids is None


def test_defaults_and_lists(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2", "eos_token_id": [7, 9],
                                                      "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}))
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": [7, 9]}))
    model = load_model_files(tmp_path)
    assert model.tie_embeddings is True  # PretrainedConfig's default when the key is absent
    assert model.rope_scaling is True
    assert model.token_id("eos") == 7 and model.generation_eos_ids == [7, 9]
    assert model.token_ids("eos") == [7, 9] and model.token_id("eos", prefer=9) == 9


def test_missing_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_model_files(tmp_path)
