"""`pretrain-doctor data` end to end, in-process: findings and their places, checks that did
not run, selection, settings, formats, exit codes, and corrupt input (exit 2, file and line,
never a traceback)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pretrain_doctor.cli import main

from ..test_renderers import sarif_validator
from .test_readers import write_jsonl

ROOT = Path(__file__).resolve().parents[2]
TINY_STORIES = ROOT / "fixtures" / "corpus" / "tiny-stories.jsonl"
LLAMA_LIKE = ROOT / "fixtures" / "tokenizers" / "llama-like"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "--isolated", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return exit_info.value.code, out, err


def report(capsys, *args) -> tuple[int, dict]:
    code, out, _ = cli(capsys, "--format", "json", *args)
    return code, json.loads(out)


@pytest.fixture
def corpus(tmp_path) -> Path:
    records = [{"text": f"document {i} has quite a few words in it", "src": "web"} for i in range(40)]
    records[2]["text"] = ""
    records[7]["text"] = "Menu"
    return write_jsonl(tmp_path / "c.jsonl", records)


def test_a_finding_names_the_file_and_line_of_the_first_example(capsys, corpus):
    code, out, err = cli(capsys, corpus)
    assert code == 0
    assert f"{corpus}:3: PDD106 info empty-or-tiny-documents  1 of 40 documents (2.5%) are empty" in out
    assert "Found 1 problem (1 info) in 1 file." in out and "Read 40 documents" in out
    assert "PDD103 truncation did not run: it needs --tokenizer DIR (a tokenizer.json), --seq-len N" in err
    assert "PDD107 domain-imbalance did not run: it needs --source-field F" in err
    assert cli(capsys, corpus, "--fail-on", "info")[0] == 1


def test_selection_severity_and_unknown_codes(capsys, corpus):
    assert report(capsys, corpus, "--ignore", "PDD1")[1]["findings"] == []
    assert report(capsys, corpus, "--select", "empty-or-tiny-documents")[1]["findings"][0]["code"] == "PDD106"
    code, data = report(capsys, corpus, "--severity", "PDD106=error")
    assert code == 1 and data["findings"][0]["severity"] == "error"
    code, out, err = cli(capsys, corpus, "--select", "PDD999")
    assert code == 2 and "'PDD999' matches no rule code" in err


def test_settings_ignore_and_fail_on(capsys, corpus):
    """Settings are found from the first corpus path, as `check` finds them (cached per folder)."""
    for name, settings in (("fails", 'fail-on = "info"\n[per-file-ignores]\n"other.jsonl" = ["PDD1"]\n'),
                           ("ignores", '[per-file-ignores]\n"c.jsonl" = ["PDD106"]\n')):
        (corpus.parent / name).mkdir()
        (corpus.parent / name / "c.jsonl").write_bytes(corpus.read_bytes())
        (corpus.parent / name / ".pretrain-doctor.toml").write_text(settings)
    with pytest.raises(SystemExit) as exit_info:
        main(["data", str(corpus.parent / "fails" / "c.jsonl")])
    assert exit_info.value.code == 1 and "PDD106" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["data", str(corpus.parent / "ignores" / "c.jsonl"), "--format", "json"])
    assert exit_info.value.code == 0 and json.loads(capsys.readouterr().out)["findings"] == []


def test_json_stats_and_every_format(capsys, corpus):
    _, data = report(capsys, corpus, "--source-field", "src")
    assert data["files"] == [{"path": str(corpus), "dialect": "jsonl", "findings": 1, "role": "data"}]
    assert data["stats"]["documents"] == 40 and data["stats"]["checks"]["PDD106"] == {"documents": 40, "empty": 1,
                                                                                      "tiny": 1}
    assert data["stats"]["checks"]["PDD107"]["shares"] == {"web": 1.0}
    _, out, _ = cli(capsys, corpus, "--format", "sarif")
    sarif = json.loads(out)
    sarif_validator().validate(sarif)
    [rule] = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "PDD106" and rule["name"] == "empty-or-tiny-documents"
    _, out, _ = cli(capsys, corpus, "--format", "github")
    assert out.startswith(f"::notice file={corpus},line=3,title=PDD106 empty-or-tiny-documents::1 of 40")


def test_tokenizer_checks_on_the_fixture_corpus(capsys):
    code, data = report(capsys, TINY_STORIES, "--tokenizer", LLAMA_LIKE, "--seq-len", "64", "--padding", "longest")
    fired = {f["code"]: f for f in data["findings"]}
    assert set(fired) == {"PDD103", "PDD105"} and code == 0
    assert fired["PDD103"]["message"].startswith("600 of 600 documents (100.0%) are longer than the sequence length, 64 tokens")
    assert data["stats"]["tokens"] == data["stats"]["checks"]["PDD105"]["tokens"] > 600 * 64
    assert data["stats"]["checks"]["PDD104"]["waste"] == pytest.approx(0.0)  # all capped at 64: no padding


def test_packing_turns_off_truncation_and_padding(capsys):
    code, out, err = cli(capsys, TINY_STORIES, "--tokenizer", LLAMA_LIKE, "--seq-len", "64", "--packing",
                         "--select", "PDD103,PDD104")
    assert "No problems found" in out and "PDD103 truncation did not run: it needs no --packing" in err


def byte_fallback_tokenizer(folder: Path) -> Path:
    """A SentencePiece-style BPE with byte fallback whose vocabulary knows only ASCII letters."""
    from tokenizers import Tokenizer, models

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"<0x{b:02X}>": 3 + b for b in range(256)}}
    for letter in "abcdefghijklmnopqrstuvwxyz ":
        vocab.setdefault(letter, len(vocab))
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True))
    folder.mkdir()
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder


def test_byte_fallback_on_text_the_vocabulary_does_not_cover(capsys, tmp_path):
    tokenizer = byte_fallback_tokenizer(tmp_path / "tok")
    english = write_jsonl(tmp_path / "en.jsonl", [{"text": "plain ascii words here"}] * 20)
    assert report(capsys, english, "--tokenizer", tokenizer, "--select", "PDD105")[1]["findings"] == []
    mixed = write_jsonl(tmp_path / "zh.jsonl", [{"text": "plain ascii words here"}] * 20 + [{"text": "中文"}])
    [finding] = report(capsys, mixed, "--tokenizer", tokenizer, "--select", "PDD105")[1]["findings"]
    # 20 x 22 letters, then 2 characters of 3 UTF-8 bytes each: 6 byte tokens of 446
    assert finding["line"] == 21 and "6 of 446 (1.3%) byte-fallback tokens" in finding["message"]


def test_a_folder_without_tokenizer_json_is_a_usage_error(capsys, corpus, tmp_path):
    (tmp_path / "empty-tok").mkdir()
    code, _, err = cli(capsys, corpus, "--tokenizer", tmp_path / "empty-tok")
    assert code == 2 and "no tokenizer.json there" in err


def test_eval_documents_are_read_but_not_judged_here(capsys, corpus, tmp_path):
    evals = write_jsonl(tmp_path / "eval.jsonl", [{"text": ""}] * 5)
    _, data = report(capsys, corpus, "--eval", evals)
    assert data["stats"]["eval_documents"] == 5 and data["stats"]["checks"]["PDD106"]["empty"] == 1
    assert data["files"][1] == {"path": str(evals), "dialect": "jsonl", "findings": 0, "role": "eval"}


# -- corrupt input: exit 2, the file and the line named, never a traceback ---------------

def test_truncated_gzip(capsys, tmp_path):
    path = tmp_path / "c.jsonl.gz"
    whole = gzip.compress("".join(json.dumps({"text": f"doc {i} " * 20}) + "\n" for i in range(5000)).encode())
    path.write_bytes(whole[: len(whole) // 2])
    code, out, _ = cli(capsys, path)
    assert code == 2
    [error] = [line for line in out.splitlines() if "ends early" in line]
    assert error.startswith(f"{path}:") and "a truncated file?" in error


@pytest.mark.parametrize("line, message", [
    (b"[1, 2, 3]", ":2: a JSON array, not an object; skipped"),
    (b'"just a string"', ":2: a JSON string, not an object; skipped"),
    (b'{"text": "caf\xe9"}', ":2: invalid UTF-8 at byte 14 of the line; skipped"),
    (b'{"text": ', ":2: not valid JSON: Expecting value at column 10; skipped"),
])
def test_a_bad_line(capsys, tmp_path, line, message):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "fine words in a line"}\n' + line + b'\n{"text": "more fine words here"}\n')
    code, out, _ = cli(capsys, path)
    assert code == 2 and f"{path}{message}" in out and "Read 2 documents" in out


def test_a_100_mb_single_line(capsys, tmp_path):
    path = tmp_path / "c.jsonl"
    with open(path, "wb") as handle:
        handle.write(b'{"text": "fine"}\n{"text": "')
        handle.write(b"x" * (100 << 20))
        handle.write(b'"}\n{"text": "after"}\n')
    code, out, _ = cli(capsys, path)
    assert code == 2 and "Read 2 documents" in out
    assert f"{path}:2: a line of 100.0 MiB is longer than the 64.0 MiB allowed for one document" in out
    code, out, _ = cli(capsys, path, "--max-document-mb", "128")
    assert code == 0 and "Read 3 documents" in out


def test_missing_input_is_a_usage_error(capsys, tmp_path):
    code, _, err = cli(capsys, tmp_path / "nope.jsonl")
    assert code == 2 and err.strip() == f"pretrain-doctor: error: {tmp_path / 'nope.jsonl'}: no such file or folder"


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["data", "--help"])
    out = capsys.readouterr().out
    assert "pretrain-doctor data corpus.jsonl" in out and "--text-unit" in out and "--padding" in out


def test_explain_and_rules_know_the_data_checks(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "PDD104"])
    page = capsys.readouterr().out
    assert page.startswith("PDD104 padding-waste (warning)") and "--ignore PDD104" in page and "Why is this bad?" in page
    with pytest.raises(SystemExit):
        main(["rules"])
    listed = capsys.readouterr().out
    assert all(code in listed for code in ("PDD103", "PDD104", "PDD105", "PDD106", "PDD107"))
