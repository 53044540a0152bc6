"""Readers: every format streams documents with their file and line; corrupt input is a
problem naming file and line (the rest of the file still read), or a DataInputError."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pretrain_doctor.data.readers import CorpusReader, DataInputError, ReadOptions, corpus_files
from pretrain_doctor.errors import UsageError


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def texts(reader: CorpusReader) -> list[tuple[str, int]]:
    return [(doc.text, doc.line) for doc in reader]


def test_jsonl_text_source_and_lines(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [{"text": "a b", "meta": {"set": "web"}}, {"text": "c", "meta": {}}])
    docs = list(CorpusReader(path, ReadOptions(source_field="meta.set")))
    assert [(d.text, d.line, d.source, d.split) for d in docs] == [("a b", 1, "web", "train"), ("c", 2, None, "train")]


def test_a_dotted_key_that_exists_as_such_wins(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [{"meta.set": "flat", "meta": {"set": "nested"}, "text": "x"}])
    assert next(iter(CorpusReader(path, ReadOptions(source_field="meta.set")))).source == "flat"


def test_plain_text_per_line_is_the_default_and_paragraphs_on_request(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("one\ntwo\n\nthree\r\nfour\n\n\nfive", encoding="utf-8")
    assert texts(CorpusReader(path)) == [("one", 1), ("two", 2), ("", 3), ("three", 4), ("four", 5), ("", 6), ("", 7),
                                         ("five", 8)]
    paragraphs = CorpusReader(path, ReadOptions(text_unit="paragraph"))
    assert texts(paragraphs) == [("one\ntwo", 1), ("three\nfour", 4), ("five", 8)]


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst", ".gz"])
def test_compressed_jsonl(tmp_path, suffix):
    payload = "".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(3000)).encode()
    path = tmp_path / f"c{suffix}"
    path.write_bytes(_compress(payload, "zst" if "zst" in suffix else "gz"))
    reader = CorpusReader(path)
    docs = list(reader)
    assert reader.format == "jsonl" and len(docs) == 3000 and docs[-1].text == "doc 2999" and docs[-1].line == 3000
    assert reader.problems == []


def _compress(payload: bytes, kind: str) -> bytes:
    if kind == "gz":
        return gzip.compress(payload)
    import zstandard

    return zstandard.ZstdCompressor().compress(payload)


def test_concatenated_zstd_frames_are_one_stream(tmp_path):
    import zstandard

    path = tmp_path / "c.jsonl.zst"
    frames = [zstandard.ZstdCompressor().compress(json.dumps({"text": t}).encode() + b"\n") for t in "ab"]
    path.write_bytes(b"".join(frames))
    assert [d.text for d in CorpusReader(path)] == ["a", "b"]


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_a_truncated_compressed_file_is_an_error_naming_file_and_line(tmp_path, kind):
    payload = "".join(json.dumps({"text": f"document number {i}"}) + "\n" for i in range(20000)).encode()
    path = tmp_path / f"c.jsonl.{kind}"
    whole = _compress(payload, kind)
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataInputError) as caught:
        list(CorpusReader(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:") and "truncated" in message and "ends early" in message
    assert caught.value.line and 0 < caught.value.line < 20000


def test_bad_records_are_problems_with_their_line_and_the_rest_is_read(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "good"}\n[1, 2]\n{"text": 3}\n{"body": "x"}\nnot json\n{"text": "caf\xe9"}\n\n'
                     b'{"text": "last"}\n')
    reader = CorpusReader(path)
    assert [d.text for d in reader] == ["good", "last"]
    problems = [(p.line, p.message.split(";")[0]) for p in reader.all_problems()]
    assert problems == [
        (2, "a JSON array, not an object"),
        (3, "the 'text' field is a number, not a string"),
        (4, "no 'text' field (--text-field)"),
        (5, "not valid JSON: Expecting value at column 1"),
        (6, "invalid UTF-8 at byte 14 of the line"),
    ]
    assert all(p.file == str(path) for p in reader.problems)


def test_invalid_utf8_in_plain_text(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"fine\nbad \xff\xfe here\nfine again\n")
    reader = CorpusReader(path)
    assert [d.text for d in reader] == ["fine", "fine again"]
    assert [(p.line, p.message) for p in reader.problems] == [(2, "invalid UTF-8 at byte 5 of the line; skipped")]


def test_a_line_over_the_limit_is_skipped_without_being_held(tmp_path):
    path = tmp_path / "c.jsonl"
    big = b'{"text": "' + b"x" * (3 << 20) + b'"}\n'
    path.write_bytes(b'{"text": "before"}\n' + big + b'{"text": "after"}\n')
    reader = CorpusReader(path, ReadOptions(max_document_bytes=1 << 20))
    assert [(d.text, d.line) for d in reader] == [("before", 1), ("after", 3)]
    [problem] = reader.problems
    assert problem.line == 2 and "a line of 3.0 MiB is longer than the 1.0 MiB allowed" in problem.message


def test_problems_past_the_listed_ones_are_counted(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("[]\n" * 25, encoding="utf-8")
    reader = CorpusReader(path)
    assert list(reader) == []
    problems = reader.all_problems()
    assert len(problems) == 11 and problems[-1].message == "15 more records skipped for the same reasons"


def test_format_is_sniffed_when_the_suffix_says_nothing(tmp_path):
    (tmp_path / "a.data").write_text('{"text": "json"}\n', encoding="utf-8")
    (tmp_path / "b.data").write_text("plain\n", encoding="utf-8")
    (tmp_path / "c.data").write_bytes(gzip.compress(b'{"text": "zipped"}\n'))
    assert [CorpusReader(tmp_path / n).format for n in ("a.data", "b.data", "c.data")] == ["jsonl", "text", "jsonl"]
    assert [d.text for d in CorpusReader(tmp_path / "c.data")] == ["zipped"]


def test_folders_list_corpus_files_sorted(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.jsonl", "a.txt.gz", "sub/c.parquet", "notes.md", ".hidden.jsonl"):
        (tmp_path / name).write_text("", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in corpus_files([tmp_path])] == ["a.txt.gz", "b.jsonl",
                                                                                      "sub/c.parquet"]
    with pytest.raises(UsageError, match="no such file"):
        corpus_files([tmp_path / "missing.jsonl"])


def test_parquet_and_arrow(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    table = pa.table({"text": ["one", "two", None], "meta": [{"src": "a"}, {"src": "b"}, {"src": "c"}],
                      "other": [1, 2, 3]})
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=2)
    with ipc.new_stream(tmp_path / "s.arrow", table.schema) as writer:  # the datasets cache's format
        writer.write_table(table)
    with ipc.new_file(tmp_path / "f.arrow", table.schema) as writer:
        writer.write_table(table)
    for name in ("c.parquet", "s.arrow", "f.arrow"):
        reader = CorpusReader(tmp_path / name, ReadOptions(source_field="meta.src"))
        assert [(d.text, d.line, d.source) for d in reader] == [("one", 1, "a"), ("two", 2, "b")], name
        assert [(p.line, p.message.split(";")[0]) for p in reader.problems] == [
            (3, "the 'text' field is a null, not a string")]


def test_a_corrupt_parquet_file_is_an_error(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "c.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 100)
    with pytest.raises(DataInputError, match=r"c\.parquet: cannot read parquet"):
        list(CorpusReader(path))
