"""`check CONFIG --data`: the data checks on the config's local datasets, measured with the
config's tokenizer, sequence length, padding and packing; what is not local is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pretrain_doctor.cli import main

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
pretrain_doctor: 1
model: {{family: gpt2, layers: 2, hidden_size: 64, heads: 2, vocab_size: 256, max_positions: 128}}
batch: {{micro_batch_size: 4, seq_len: 64}}
tokenizer: {{path: tok}}
data:
{data}
  train:
    - dataset: corpus.jsonl
    - dataset: HuggingFaceFW/fineweb-edu
    - dataset: megatron/my-corpus_text_document.bin
  eval:
    - dataset: eval
"""


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copy(ROOT / "fixtures" / "corpus" / "tiny-stories.jsonl", tmp_path / "corpus.jsonl")
    shutil.copytree(ROOT / "fixtures" / "tokenizers" / "llama-like", tmp_path / "tok")
    (tmp_path / "megatron").mkdir()
    (tmp_path / "megatron" / "my-corpus_text_document.bin").write_bytes(b"\0" * 64)
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "valid.jsonl").write_text(json.dumps({"text": "held out words"}) + "\n")
    return tmp_path


def check(capsys, config: Path, *args: str) -> tuple[int, dict, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--isolated", "--format", "json", str(config), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return exit_info.value.code, json.loads(out), err


def write(project: Path, data: str = "  padding: max_length") -> Path:
    path = project / "train.yaml"
    path.write_text(CONFIG.format(data=data))
    return path


def test_the_config_s_tokenizer_and_sequence_length_measure_its_local_corpus(capsys, project):
    code, report, err = check(capsys, write(project), "--data", "--select", "PDD,PD512")
    fired = {(f["code"], f["file"]) for f in report["findings"]}
    corpus = str(project / "corpus.jsonl")
    assert {("PDD103", corpus), ("PDD105", corpus), ("PD512", str(project / "train.yaml"))} <= fired
    truncation = next(f for f in report["findings"] if f["code"] == "PDD103")
    assert "longer than the sequence length, 64 tokens" in truncation["message"]
    assert "dataset 'HuggingFaceFW/fineweb-edu' is not a local path; its data checks did not run" in err
    assert "my-corpus_text_document.bin is not a corpus file `data` reads" in err
    roles = {f["path"]: f.get("role", "config") for f in report["files"]}
    assert roles[corpus] == "data" and roles[str(project / "eval" / "valid.jsonl")] == "eval"
    stats = report["stats"]["data"][str(project / "train.yaml")]
    assert stats["documents"] == 600 and stats["eval_documents"] == 1
    assert stats["checks"]["PDD104"]["padding"] == "max_length"
    assert code == 0
    assert check(capsys, write(project), "--data", "--fail-on", "warning")[0] == 1


def test_packing_in_the_config_turns_truncation_off(capsys, project):
    _, report, err = check(capsys, write(project, "  packing: true"), "--data", "--select", "PDD103,PDD104")
    assert report["findings"] == [] and "PDD103 truncation did not run: it needs no --packing" in err


def test_without_data_no_corpus_is_read_but_pdd_codes_are_accepted(capsys, project):
    code, report, _ = check(capsys, write(project), "--select", "PDD103")
    assert code == 0 and report["findings"] == [] and "stats" not in report


def test_a_config_without_local_datasets_says_so(capsys, project):
    config = project / "hub.yaml"
    config.write_text("pretrain_doctor: 1\ndata:\n  train:\n    - dataset: allenai/c4\n")
    _, report, err = check(capsys, config, "--data")
    assert f"{config}: no local training dataset, so the data checks did not run" in err
    assert not any(f["code"].startswith("PDD") for f in report["findings"])
