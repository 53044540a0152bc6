"""PD5/PD6 decisions that the one-bad-one-good fixtures do not pin down."""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrain_doctor.check import check_paths
from pretrain_doctor.settings import CheckOptions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HEAD = "pretrain_doctor: 1\nmode: {kind: pretrain}\noptimizer: {family: adamw, lr: 3.0e-4}\n"


def _findings(tmp_path: Path, body: str, code: str, **options) -> list:
    path = tmp_path / "train.yaml"
    path.write_text(HEAD + body)
    report = check_paths([path], CheckOptions(use_settings=False, select=[code], **options))
    assert not report.errors and not report.warnings
    return report.findings


@pytest.mark.parametrize("ids, expected", [
    ("eos_token_id: 1", "`<|padding|>` in this tokenizer, this tokenizer's pad token"),  # eos -> the pad token
    ("eos_token_id: 7", "an ordinary token"),
    ("pad_token_id: 300", None),  # padding with eos is PD503's business, not a mismatch
    ("eos_token_id: 300, pad_token_id: 1", None),
])
def test_pd502_decodes_configured_ids_in_the_olmo_like_tokenizer(tmp_path: Path, ids: str, expected) -> None:
    body = f"tokenizer: {{path: {FIXTURES / 'tokenizers/olmo-like/tokenizer.json'}, {ids}}}\n"
    findings = _findings(tmp_path, body, "PD502")
    if expected is None:
        assert not findings
    else:
        [finding] = findings
        assert expected in finding.message and "`<|endoftext|>` is 300" in finding.message


def test_pd502_accepts_padding_with_unk_in_a_llama_vocabulary(tmp_path: Path) -> None:
    body = "tokenizer: {pad_token_id: 0}\n"  # <unk>, the usual Llama-2 fine-tuning pad
    assert not _findings(tmp_path, body, "PD502", tokenizer=FIXTURES / "tokenizers" / "llama-like")


def test_pd501_is_silent_when_rows_are_padded_beyond_the_tokenizer(tmp_path: Path) -> None:
    # llama-tiny pads the 200-token vocabulary to 256 rows.
    options = {"tokenizer": FIXTURES / "tokenizers" / "llama-like", "model_config": FIXTURES / "models" / "llama-tiny"}
    assert not _findings(tmp_path, "", "PD501", **options)


def test_pd501_names_the_ids_that_have_no_row(tmp_path: Path) -> None:
    body = "model: {vocab_size: 299}\n"
    [finding] = _findings(tmp_path, body, "PD501", tokenizer=FIXTURES / "tokenizers" / "gpt2-pad")
    assert "301 tokens" in finding.message and "ids 299–300" in finding.message and "`<|pad|>`" in finding.message
    assert finding.line == 4  # the config's vocab_size line


def test_pd503_is_silent_for_pretraining_dialects_without_label_masking(tmp_path: Path) -> None:
    # native pretraining packs documents: no padding, no pad-id label masking.
    body = "tokenizer: {eos_token_id: 0, pad_token_id: 0}\n"
    assert not _findings(tmp_path, body, "PD503")


def test_pd601_uses_the_model_configs_learned_positions(tmp_path: Path) -> None:
    body = "batch: {seq_len: 256}\n"
    [finding] = _findings(tmp_path, body, "PD601", model_config=FIXTURES / "models" / "gpt2-tiny")
    assert finding.severity == "error" and "128 learned positions" in finding.message



def test_pd504_is_silent_on_an_unknown_objective() -> None:
    # An objective of a fork's or a program's own (None: a reward model's head, torchtitan-mae's image MAE; held-out
    # review 12, A 14, B 04/05/25) is no decoder-only LM's that generates after right padding.
    from pretrain_doctor.plan.model import TrainingPlan
    from pretrain_doctor.registry import load_rules

    rule = load_rules([]).rules["PD504"]()
    sections = {"mode": {"kind": "full_finetune", "init_from": "m"}, "eval": {"enabled": True, "generate": True},
                "tokenizer": {"padding_side": "right"}}
    assert [f.code for f in rule.check(TrainingPlan(dialect="hf", files=["a.sh"], **sections))] == ["PD504"]
    unknown = TrainingPlan(dialect="hf", files=["a.sh"], objective={"kind": None}, **sections)
    assert not list(rule.check(unknown) or ())
