"""Read a local corpus as a stream of Documents, in bounded memory.

Formats (by suffix, else by the first bytes):

- JSON lines (`.jsonl`, `.ndjson`, `.json`): one object a line; the text is `--text-field`
  (default `text`), the source `--source-field`; a dotted name (`meta.source`) reaches into
  nested objects, as the Pile's `meta.pile_set_name` and RedPajama's `meta.redpajama_set_name`.
- plain text (`.txt`, anything else that does not start with `{`): a document per line
  (the default, as Hugging Face datasets' text loader), or per block of lines separated by
  a blank line (`text_unit="paragraph"`, fairseq's convention).
- gzip and zstd compression of either (`.gz`, `.zst`, or the magic bytes); zstd needs the
  `zstandard` package (the `data` extra).
- parquet and arrow (`.parquet`, `.arrow`: IPC file or stream, as the datasets cache writes)
  through `pyarrow` (the `data` extra), read in record batches; a row number is the "line".

Memory is bounded by the largest document, itself bounded by `max_document_bytes`: a longer
line is skipped, not read whole. A line that cannot be a document (not JSON, not an object,
no text field, invalid UTF-8, too long) is a problem naming its file and line, recorded in
`CorpusReader.problems` while the rest of the file is read; a file that cannot be read on
(a truncated gzip or zstd stream, a corrupt parquet file) raises DataInputError.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Optional

from ..errors import ConfigError, UsageError
from .model import Document

FORMATS = ("jsonl", "text", "parquet", "arrow")
TEXT_UNITS = ("line", "paragraph")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".txt": "text", ".text": "text",
             ".parquet": "parquet", ".arrow": "arrow"}
_COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_SKIP_DIRS = {".git", ".venv", "__pycache__", ".cache"}
# Problems listed one by one per file; past this they are counted in one more line.
PROBLEMS_LISTED = 10
_CHUNK = 1 << 20


class DataInputError(ConfigError):
    """A corpus file that cannot be read on (exit 2, naming the file and the line reached)."""


@dataclass(frozen=True)
class ReadOptions:
    """How to turn a file's records into documents."""

    text_field: str = "text"
    source_field: Optional[str] = None
    text_unit: str = "line"  # plain text: a document per line, or per blank-line-separated paragraph
    max_document_bytes: int = 64 << 20  # a longer document is skipped (and reported), never held
    split: str = "train"  # "eval" for the files given with --eval


@dataclass
class Problem:
    """A record that could not be a document: reported, skipped, the file read on."""

    file: str
    line: Optional[int]
    message: str


def corpus_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files to read: each path given, and the corpus files under each folder given (sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                found += [Path(root) / n for n in sorted(names) if is_corpus_name(n) and not n.startswith(".")]
            if not found:
                raise UsageError(f"{path}: no corpus files ({', '.join(sorted(_SUFFIXES))}, compressed or not) in it")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return files


def is_corpus_name(name: str) -> bool:
    """Whether a file name has the suffix of a format read here (compressed or not)."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in _SUFFIXES


class CorpusReader:
    """Documents of one file, streamed. `problems` collects the records that were skipped;
    `position()` is how many bytes of the file (compressed, as on disk) have been read."""

    def __init__(self, path: str | Path, options: Optional[ReadOptions] = None) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.options = options or ReadOptions()
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.size = self.path.stat().st_size
        self._raw: Optional[BinaryIO] = None
        self.compression, self.format = _detect(self.path)

    def position(self) -> int:
        raw = self._raw
        try:
            return raw.tell() if raw is not None and not raw.closed else self.size
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[Document]:
        try:
            if self.format in ("parquet", "arrow"):
                yield from self._columnar()
                return
            self._raw = open(self.path, "rb")
            stream = _decompressed(self._raw, self.compression, self.name)
            if self.format == "jsonl":
                yield from self._jsonl(stream)
            elif self.options.text_unit == "paragraph":
                yield from self._paragraphs(stream)
            else:
                yield from self._text_lines(stream)
        except (EOFError, OSError) as exc:  # truncated or corrupt compressed stream, unreadable file
            raise DataInputError(self._stream_error(exc), self.name, self._line or None) from None
        finally:
            if self._raw is not None:
                self._raw.close()

    _line = 0  # the last line read, for errors raised mid-stream

    def _stream_error(self, exc: BaseException) -> str:
        after = f" after line {self._line}" if self._line else ""
        if isinstance(exc, EOFError) or "end-of-stream" in str(exc):
            return f"the {self.compression or 'file'} stream ends early{after}: a truncated file? ({exc})"
        return f"cannot read{after}: {getattr(exc, 'strerror', None) or exc}"

    # -- line formats ----------------------------------------------------------------
    def _lines(self, stream: BinaryIO) -> Iterator[tuple[int, Optional[bytes]]]:
        """(line number, bytes without the line break), or None for a line over the limit (skipped)."""
        limit = self.options.max_document_bytes
        readline = stream.readline
        number = 0
        while True:
            line = readline(limit + 2)
            if not line:
                return
            number += 1
            self._line = number
            if len(line) > limit + 1 or (len(line) == limit + 2 and not line.endswith(b"\n")):
                skipped = len(line) + _skip_rest_of_line(readline, line)
                self._problem(number, f"a line of {_mb(skipped)} is longer than the {_mb(limit)} allowed for one "
                                      "document (--max-document-mb); skipped")
                yield number, None
                continue
            yield number, line.rstrip(b"\r\n") if line.endswith(b"\n") else line

    def _jsonl(self, stream: BinaryIO) -> Iterator[Document]:
        fields = self._fields()
        for number, line in self._lines(stream):
            if line is None or not line.strip():
                continue
            try:
                record = json.loads(line)
            except UnicodeDecodeError as exc:
                self._problem(number, f"invalid UTF-8 at byte {exc.start + 1} of the line; skipped")
                continue
            except json.JSONDecodeError as exc:
                self._problem(number, f"not valid JSON: {exc.msg} at column {exc.colno}; skipped")
                continue
            doc = self._document(record, number, fields)
            if doc is not None:
                yield doc

    def _text_lines(self, stream: BinaryIO) -> Iterator[Document]:
        path, split = self.name, self.options.split
        for number, line in self._lines(stream):
            if line is None:
                continue
            text = self._decode(line, number)
            if text is not None:
                yield Document(text, path, number, None, split)

    def _paragraphs(self, stream: BinaryIO) -> Iterator[Document]:
        limit = self.options.max_document_bytes
        parts: list[str] = []
        size, start, over = 0, 0, False
        for number, line in self._lines(stream):
            if line is not None and line.strip():
                if not parts and not over:
                    start = number
                size += len(line)
                if size > limit:
                    if not over:
                        self._problem(start, f"a paragraph of more than {_mb(limit)} (--max-document-mb); skipped")
                    parts, over = [], True
                    continue
                text = None if over else self._decode(line, number)
                if text is not None:
                    parts.append(text)
                continue
            if line is None:  # an over-long line: the paragraph it is in is skipped
                parts, over = [], True
                continue
            if parts:
                yield Document("\n".join(parts), self.name, start, None, self.options.split)
            parts, size, over = [], 0, False
        if parts:
            yield Document("\n".join(parts), self.name, start, None, self.options.split)

    def _decode(self, line: bytes, number: int) -> Optional[str]:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._problem(number, f"invalid UTF-8 at byte {exc.start + 1} of the line; skipped")
            return None

    # -- records (JSON objects and table rows) ------------------------------------------
    def _fields(self) -> tuple[Callable[[Any], Any], Optional[Callable[[Any], Any]]]:
        source = self.options.source_field
        return _getter(self.options.text_field), (_getter(source) if source else None)

    def _document(self, record: Any, number: int, fields: tuple) -> Optional[Document]:
        text_of, source_of = fields
        if not isinstance(record, dict):
            self._problem(number, f"a JSON {_json_kind(record)}, not an object; skipped")
            return None
        text = text_of(record)
        if not isinstance(text, str):
            if text is _MISSING:
                keys = ", ".join(list(record)[:8]) or "none"
                self._problem(number, f"no {self.options.text_field!r} field (--text-field); its fields: {keys}; skipped")
            else:
                self._problem(number, f"the {self.options.text_field!r} field is a {_json_kind(text)}, not a string; "
                                      "skipped")
            return None
        source = None
        if source_of is not None:
            value = source_of(record)
            source = None if value is _MISSING or value is None else str(value)
        return Document(text, self.name, number, source, self.options.split)

    def _columnar(self) -> Iterator[Document]:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError(f"{self.name}: reading {self.format} needs pyarrow: pip install 'pretrain-doctor[data]'") \
                from None
        fields = self._fields()
        columns = sorted({f.split(".")[0] for f in (self.options.text_field, self.options.source_field) if f})
        row = 0
        try:
            for batch in self._batches(columns):
                for record in batch.to_pylist():
                    row += 1
                    self._line = row
                    doc = self._document(record, row, fields)
                    if doc is not None:
                        yield doc
        except (ValueError, OSError, KeyError) as exc:  # pyarrow.ArrowInvalid / ArrowIOError subclass these
            raise DataInputError(f"cannot read {self.format}{f' after row {row}' if row else ''}: {exc}",
                                 self.name, None) from None

    def _batches(self, columns: list[str]) -> Iterator[Any]:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(self.path)
            names = set(parquet.schema_arrow.names)
            yield from parquet.iter_batches(batch_size=1024, columns=[c for c in columns if c in names])
            return
        import pyarrow as pa
        import pyarrow.ipc as ipc

        source = pa.memory_map(str(self.path))
        try:
            reader = ipc.open_file(source)
            wanted = [c for c in columns if c in reader.schema.names]
            for index in range(reader.num_record_batches):
                yield reader.get_batch(index).select(wanted)
        except pa.ArrowInvalid:  # not the IPC file format: the stream format (the datasets cache)
            source.seek(0)
            stream = ipc.open_stream(source)
            wanted = [c for c in columns if c in stream.schema.names]
            for batch in stream:
                yield batch.select(wanted)

    # -- problems --------------------------------------------------------------------
    def _problem(self, line: Optional[int], message: str) -> None:
        self.problem_count += 1
        if self.problem_count <= PROBLEMS_LISTED:
            self.problems.append(Problem(self.name, line, message))

    def all_problems(self) -> list[Problem]:
        """The problems listed, and one more line counting those past PROBLEMS_LISTED."""
        more = self.problem_count - len(self.problems)
        tail = [Problem(self.name, None, f"{more} more records skipped for the same reasons")] if more else []
        return self.problems + tail


_MISSING = object()


def _getter(field: str) -> Callable[[Any], Any]:
    """Read `field` from a record: the key itself, else a dotted path into nested objects."""
    parts = field.split(".")

    def get(record: Any) -> Any:
        value = record.get(field, _MISSING)
        if value is not _MISSING or len(parts) == 1:
            return value
        for part in parts:
            if not isinstance(record, dict) or part not in record:
                return _MISSING
            record = record[part]
        return record

    return get


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null",
            dict: "object"}.get(type(value), type(value).__name__)


def _skip_rest_of_line(readline: Callable[[int], bytes], line: bytes) -> int:
    """Read past the end of an over-long line in bounded pieces; the bytes skipped."""
    skipped = 0
    while line and not line.endswith(b"\n"):
        line = readline(_CHUNK)
        skipped += len(line)
    return skipped


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def _detect(path: Path) -> tuple[Optional[str], str]:
    """(compression, format) from the suffixes, then from the first bytes."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSION_SUFFIXES.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise DataInputError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    compression = compression or next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        fmt = "parquet" if head == b"PAR1" else ("jsonl" if _first_byte(path, compression) == b"{" else "text")
    if fmt in ("parquet", "arrow") and compression:
        raise DataInputError(f"a compressed {fmt} file: decompress it first ({fmt} compresses inside)", str(path))
    return compression, fmt


def _first_byte(path: Path, compression: Optional[str]) -> bytes:
    try:
        with open(path, "rb") as raw:
            return _decompressed(raw, compression, str(path)).read(256).lstrip()[:1]
    except (EOFError, OSError):
        return b""


def _decompressed(raw: BinaryIO, compression: Optional[str], name: str) -> BinaryIO:
    """The bytes of `raw`, decompressed (closing `raw` is the caller's)."""
    if compression == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression == "zstd":
        return io.BufferedReader(_ZstdRaw(raw, name), buffer_size=_CHUNK)  # type: ignore[return-value]
    return raw


class _ZstdRaw(io.RawIOBase):
    """A zstd stream that raises EOFError when the input ends inside a frame: python-zstandard's
    stream_reader returns a short read there, and a truncated file would pass for a shorter one."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        try:
            import zstandard
        except ImportError:
            raise UsageError(f"{name}: reading zstd needs zstandard: pip install 'pretrain-doctor[data]'") from None
        self._zstd = zstandard
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor().decompressobj()
        self._pending = memoryview(b"")
        self._started = False  # whether the current frame got any input

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                if self._started and not self._decompressor.eof:
                    raise EOFError("the input ends inside a zstd frame")
                return 0
            self._pending = memoryview(self._feed(chunk))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            if self._decompressor.eof:  # concatenated frames: a new decompressor for the next one
                self._decompressor = self._zstd.ZstdDecompressor().decompressobj()
            self._started = True
            try:
                out.append(self._decompressor.decompress(chunk))
            except self._zstd.ZstdError as exc:
                raise OSError(f"corrupt zstd data: {exc}") from None
            chunk = self._decompressor.unused_data if self._decompressor.eof else b""
        return b"".join(out)
