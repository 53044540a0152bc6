"""Tokenizer files read as plain JSON agree with the `tokenizers` library and with transformers' conventions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from pretrain_doctor.assets import load_tokenizer_files
from pretrain_doctor.assets.tokenizer_files import MODEL_MAX_LENGTH_SENTINEL, is_tokenizer_location
from pretrain_doctor.errors import ConfigError

TOKENIZERS = Path(__file__).resolve().parents[2] / "fixtures" / "tokenizers"
OLMO_TOKENIZER = "real-configs/olmo/tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json"


@pytest.mark.parametrize("name", ["gpt2-like", "gpt2-pad", "llama-like", "llama3-like", "bert-like",
                                  "olmo-like/tokenizer.json"])
def test_every_id_decodes_as_the_tokenizers_library_does(name: str) -> None:
    location = TOKENIZERS / name
    reference = Tokenizer.from_file(str(location if location.is_file() else location / "tokenizer.json"))
    tok = load_tokenizer_files(location)
    assert len(tok) == reference.get_vocab_size(with_added_tokens=True)
    for index in range(len(tok)):
        assert tok.id_to_token(index) == reference.id_to_token(index)
        assert tok.token_to_id(reference.id_to_token(index)) == index


def test_declared_special_tokens_and_settings_of_a_gpt2_style_folder() -> None:
    tok = load_tokenizer_files(TOKENIZERS / "gpt2-like")
    assert tok.declared("eos") == tok.declared("bos") == "<|endoftext|>"
    assert tok.declared("pad") is None
    assert tok.token_to_id("<|endoftext|>") == 0 and tok.is_special("<|endoftext|>")
    assert tok.padding_side == "right" and tok.model_max_length == 1024
    assert tok.adds_bos is False  # a ByteLevel post-processor adds nothing
    assert sorted(tok.files) == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]


def test_added_pad_token_counts_in_the_length() -> None:
    tok = load_tokenizer_files(TOKENIZERS / "gpt2-pad")
    assert len(tok) == tok.base_vocab_size + 1 == 301
    assert tok.role_id("pad") == 300 and tok.is_special("<|pad|>")


def test_a_bare_tokenizer_json_like_olmos() -> None:
    location = TOKENIZERS / "olmo-like" / "tokenizer.json"
    assert is_tokenizer_location(location)
    tok = load_tokenizer_files(location)
    assert tok.files == {"tokenizer.json": location.resolve()}
    assert tok.id_to_token(0) == "|||IP_ADDRESS|||" and not tok.is_special("|||IP_ADDRESS|||")
    assert tok.declared("eos") is None
    # No file declares roles: the conventional special tokens present stand in for messages.
    assert tok.role_token("eos") == "<|endoftext|>" and tok.role_id("eos") == 300
    assert tok.role_token("pad") == "<|padding|>" and tok.role_id("pad") == 1


def test_sentencepiece_style_tokenizer_with_bos_template_and_unset_length() -> None:
    tok = load_tokenizer_files(TOKENIZERS / "llama-like")
    assert tok.is_sentencepiece_style and tok.adds_bos is True
    assert tok.model_max_length >= MODEL_MAX_LENGTH_SENTINEL
    assert "bos_token" in tok.chat_template
    assert tok.encode("### Response:") != tok.encode("\n### Response:")[-len(tok.encode("### Response:")):]


def test_post_processor_decides_bos_when_no_flag_says() -> None:
    tok = load_tokenizer_files(TOKENIZERS / "llama3-like")
    assert "add_bos_token" not in tok.config
    assert tok.adds_bos is True  # Sequence[ByteLevel, TemplateProcessing("<|begin_of_text|> $A")]
    assert tok.returns_attention_mask is True


def test_slow_tokenizer_files_vocab_txt_and_added_tokens_json(tmp_path: Path) -> None:
    folder = tmp_path / "slow-bert"
    folder.mkdir()
    for name in ("vocab.txt", "special_tokens_map.json"):
        shutil.copy(TOKENIZERS / "bert-like" / name, folder / name)
    (folder / "added_tokens.json").write_text(json.dumps({"<new>": 150, "[PAD2]": 151}))
    fast = load_tokenizer_files(TOKENIZERS / "bert-like")
    slow = load_tokenizer_files(folder)
    assert slow.vocab == fast.vocab
    assert len(slow) == len(fast) + 2 and slow.max_id == 151
    assert slow.id_to_token(150) == "<new>" and not slow.is_special("<new>")
    assert slow.declared("pad") == "[PAD]" and slow.role_id("pad") == 0


def test_vocab_json_and_added_tokens_decoder(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_text(json.dumps({"a": 0, "b": 1, "<eos>": 2}))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({
        "eos_token": {"content": "<eos>", "lstrip": False},
        "added_tokens_decoder": {"2": {"content": "<eos>", "special": True}, "5": {"content": "<gap>", "special": False}},
    }))
    tok = load_tokenizer_files(tmp_path)
    assert len(tok) == 4 and tok.rows_needed == 6  # ids have a hole: 0-2 and 5
    assert tok.declared("eos") == "<eos>" and tok.is_special("<eos>") and not tok.is_special("<gap>")
    assert tok.describe_id(5) == "5 (`<gap>`)" and tok.describe_id(4) == "4 (not in the tokenizer)"


def test_missing_or_broken_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_tokenizer_files(tmp_path / "absent")
    with pytest.raises(ConfigError):
        load_tokenizer_files(tmp_path)  # a folder without tokenizer files
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ConfigError, match="tokenizer.json"):
        load_tokenizer_files(tmp_path)


def test_the_real_olmo_tokenizer(shared_dir: Path) -> None:
    tok = load_tokenizer_files(shared_dir / OLMO_TOKENIZER)
    assert len(tok) == 50280
    assert tok.id_to_token(0) == "|||IP_ADDRESS|||" and not tok.is_special("|||IP_ADDRESS|||")
    assert tok.token_to_id("<|endoftext|>") == 50279 and tok.is_special("<|endoftext|>")
    assert tok.id_to_token(1) == "<|padding|>"
    assert tok.role_id("eos") == 50279


def test_reading_tokenizers_imports_neither_torch_nor_transformers() -> None:
    code = (
        "import sys\n"
        "from pretrain_doctor.assets import load_tokenizer_files, load_model_files\n"
        "import pretrain_doctor.assets.enrich\n"
        f"tok = load_tokenizer_files({str(TOKENIZERS / 'llama-like')!r})\n"
        "tok.encode('hello')\n"
        f"load_model_files({str(TOKENIZERS.parent / 'models' / 'llama-tiny')!r})\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- a slow SentencePiece folder (tokenizer.model, no tokenizer.json) -----------------------
SPM_FOLDER = TOKENIZERS / "llama2-spm"


def test_sentencepiece_model_is_the_vocabulary() -> None:
    import sentencepiece

    reference = sentencepiece.SentencePieceProcessor(model_file=str(SPM_FOLDER / "tokenizer.model"))
    tok = load_tokenizer_files(SPM_FOLDER)
    assert tok.vocabulary_known and len(tok) == reference.get_piece_size() == 120
    assert [tok.id_to_token(i) for i in range(len(tok))] == [reference.id_to_piece(i) for i in range(120)]
    assert tok.role_id("bos") == 1 and tok.role_id("eos") == 2 and tok.declared("pad") is None


@pytest.mark.usefixtures("without_sentencepiece")
def test_without_sentencepiece_the_vocabulary_is_unknown_not_empty() -> None:
    tok = load_tokenizer_files(SPM_FOLDER)
    assert not tok.vocabulary_known
    assert "sentencepiece" in tok.unread_vocabulary
    assert tok.role_id("eos") == 2  # added_tokens_decoder still names the specials


def test_unreadable_sentencepiece_model_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "tok"
    shutil.copytree(SPM_FOLDER, folder)
    (folder / "tokenizer.model").write_bytes(b"not a model proto")
    with pytest.raises(ConfigError, match="tokenizer.model"):
        load_tokenizer_files(folder)
