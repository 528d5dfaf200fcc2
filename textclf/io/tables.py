"""Reading rows of text tables: CSV, TSV, JSON Lines and Parquet (``.gz`` too), as strings, with located errors.

Everything is read as text, exactly as written: a label ``NA``, ``null``, ``00123`` or ``True`` stays itself,
and an empty text stays an empty string. Files are read in chunks, so that ``predict`` runs in constant memory
on inputs of any size. Only the columns a model reads are cut to :data:`MAX_TEXT_CHARS`; others pass unchanged.

CSV and TSV go through Python's ``csv`` module rather than ``pandas.read_csv``: pandas pads short rows silently
and does not report the physical line of a bad record, and both are things a user must be told. Quotes follow
the convention spreadsheets and ``pandas.to_csv`` write, for TSV as for CSV: a field that starts with a double
quote is quoted up to the next lone double quote (``""`` is a literal quote), and may hold delimiters and line
breaks. A stray quote at the start of a text can therefore swallow the rows after it; such a row is reported
with its line span (:attr:`ReadReport.swallowed`), and the report counts rows read against physical lines.

JSON Lines are parsed line by line; a line that is not a JSON object (or is nested too deeply) is a bad row.
Parquet is read in record batches by pyarrow; a column that is not text-like is refused with its type named.
No TensorFlow here.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import os
import stat
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config.schema import DELIMITER_CHARS, encoding_problem
from ..errors import DataError, UsageError, closest

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSED = ".gz"  # csv, tsv and jsonl files may be gzip-compressed: data.csv.gz
MAX_TEXT_CHARS = 100_000  # longer texts are cut (and counted): far beyond any sequence length in tokens
CHUNK_ROWS = 8192
SWALLOWED_LINES = 3  # a row spanning this many lines, most of them shaped like rows, is reported

csv.field_size_limit(2**31 - 1)


@dataclass
class BadRow:
    """A row that could not be used, with where it is and why."""

    line: int
    reason: str


@dataclass
class ReadReport:
    """What happened while reading one file, for the user.

    ``lines`` counts the physical lines (JSON Lines: lines; Parquet: rows) read after the header; ``swallowed``
    lists the (first, last) lines of rows that span several lines most of which look like rows of their own.
    """

    path: str
    rows: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    truncated_texts: int = 0
    lines: int = 0
    swallowed: list[tuple[int, int]] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.path}: {self.rows:,} rows"]
        if self.bad_rows:
            first = ", ".join(str(b.line) for b in self.bad_rows[:5])
            more = ", ..." if len(self.bad_rows) > 5 else ""
            parts.append(f"{len(self.bad_rows):,} bad rows skipped (lines {first}{more})")
        if self.truncated_texts:
            parts.append(f"{self.truncated_texts:,} texts longer than {MAX_TEXT_CHARS:,} characters were cut")
        return "; ".join(parts + self.warnings())

    def warnings(self) -> list[str]:
        """Rows that swallowed others, with their line spans, and the count of rows against lines."""
        if not self.swallowed:
            return []
        spans = ", ".join(f"{a}-{b}" for a, b in self.swallowed[:5]) + (", ..." if len(self.swallowed) > 5 else "")
        return [
            f"{len(self.swallowed):,} rows span several lines that look like rows of their own (lines {spans}): "
            f"{self.rows + len(self.bad_rows):,} rows were read from {self.lines:,} lines. A field that starts "
            'with a double quote runs to the next lone double quote; if the quote is part of the text, double it ("") '
            "or quote the whole field"
        ]


@dataclass
class Chunk:
    """Consecutive rows of a file: ``frame`` holds the requested columns as ``str``; ``lines`` where each row is."""

    frame: pd.DataFrame
    lines: list[int]


# --------------------------------------------------------------------------------------------------
# Opening files


def file_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its extension (``.gz`` after a text format's is read compressed)."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes[-2:]]
    compressed = bool(suffixes) and suffixes[-1] == COMPRESSED
    suffix = suffixes[0] if compressed and len(suffixes) == 2 else (suffixes[-1] if suffixes else "")
    if suffix not in FORMATS or (compressed and FORMATS[suffix] == "parquet"):
        known = ", ".join(sorted(FORMATS)) + ", and .csv.gz, .tsv.gz, .jsonl.gz"
        raise DataError(
            f"{path}: received a file with extension {''.join(p.suffixes[-2:]) or '(none)'!r}, expected one of "
            f"{known} (Parquet compresses itself: no .gz); rename the file or convert it"
        )
    return FORMATS[suffix]


def is_compressed(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == COMPRESSED


def check_file(path: str | os.PathLike, what: str = "data file") -> Path:
    """Refuse a missing path (exit 2) and anything that is not a readable regular file (exit 3), unopened."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise UsageError(
            f"{what} not found: {p}; check the path (relative paths in a config resolve against its folder)"
        ) from None
    except OSError as exc:
        raise DataError(f"{what} {p} cannot be read: {exc.strerror}; check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{what} {p} is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{what} {p} is not a regular file (a device, FIFO or socket); give a file on disk")
    return p


def open_binary(path: Path):
    """The file's bytes (decompressed for ``.gz``); a file that cannot be opened is a DataError naming it."""
    try:
        return gzip.open(path, "rb") if is_compressed(path) else open(path, "rb")
    except OSError as exc:
        raise DataError(f"{path} cannot be read: {exc.strerror}; check the file and its permissions") from None


def open_text(path: Path, encoding: str, newline: str | None = None):
    """The file as text in ``encoding``; an unknown encoding is a UsageError."""
    problem = encoding_problem(encoding, "encoding")
    if problem:
        raise UsageError(problem)
    return io.TextIOWrapper(open_binary(path), encoding=encoding, newline=newline)


def sniff_encoding(path: Path, encoding: str) -> str:
    """``encoding``, unless the file starts with a byte-order mark (UTF-8 or UTF-16), which wins."""
    with open_binary(path) as f:
        head = _read(f, path, 4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return "utf-8-sig"  # harmless without a BOM
    return encoding


def _read(f, path: Path, n: int) -> bytes:
    try:
        return f.read(n)
    except (OSError, EOFError) as exc:  # a truncated or corrupt .gz, or an I/O error
        raise DataError(f"{path} cannot be read: {exc}; check the file") from None


def _decode_error(path: Path, encoding: str, asked: str | None = None) -> DataError:
    """Find the line of the first undecodable byte, reading the file again as bytes, line by line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open_binary(path) as f:
        for number, raw in enumerate(f, start=1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as exc:
                byte = raw[exc.start : exc.start + 1]
                return DataError(
                    f"{path}, line {number}: byte 0x{byte.hex()} at column {exc.start + 1} is not valid "
                    f"{asked or encoding}; if the file is in another encoding, say so with --set "
                    "data.encoding=latin-1 (or cp1252, utf-16, ...), or --encoding for predict and eval"
                )
    return DataError(
        f"{path}: the file is not valid {asked or encoding}; set data.encoding (or --encoding) to its encoding"
    )


DELIMITERS = {char: name for name, char in DELIMITER_CHARS.items()}  # the delimiters sniffed, and their names
SNIFF_CHARS = 1 << 16  # the start of a file that the delimiter is sniffed from
SNIFF_ROWS = 50


def sniff_delimiter(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The delimiter of a .csv or .tsv file (spreadsheets write semicolon CSVs where the comma is the decimal
    mark, and tab-separated .csv files): the format's own (comma, tab) unless its header is one field while
    another of :data:`DELIMITERS` splits it into several, as it does the first rows. Sniffed only from the
    first :data:`SNIFF_CHARS` characters; ``data.delimiter`` forces one."""
    p = check_file(path)
    nominal = "\t" if file_format(p) == "tsv" else ","
    enc = sniff_encoding(p, encoding)
    try:
        with open_text(p, enc, newline="") as f:
            sample = f.read(SNIFF_CHARS)
    except (UnicodeError, OSError, EOFError):
        return nominal  # the reader reports the problem with its line
    if len(sample) == SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    best, best_width = nominal, _sniffed_width(sample, nominal)
    if best_width >= 2:
        return nominal
    for candidate in DELIMITERS:
        width = _sniffed_width(sample, candidate)
        if width > max(best_width, 1):
            best, best_width = candidate, width
    return best


def _sniffed_width(sample: str, delimiter: str) -> int:
    """The header's field count with ``delimiter`` when most of the first rows have as many; else 0."""
    try:
        records = [r for r in itertools.islice(csv.reader(io.StringIO(sample), delimiter=delimiter), SNIFF_ROWS) if r]
    except csv.Error:
        return 0
    if not records:
        return 0
    width = len(records[0])
    return width if sum(len(r) == width for r in records) * 5 >= len(records) * 4 else 0


def delimiter_name(delimiter: str) -> str:
    return f"{DELIMITERS.get(delimiter, 'delimiter')} ({delimiter!r})"


def read_columns(path: str | os.PathLike, encoding: str = "utf-8", delimiter: str | None = None) -> list[str] | None:
    """The column names of a data file: its header (CSV/TSV, split at ``delimiter``, sniffed when None), the
    keys of its first object (JSONL; None when the first lines hold no object), its schema (Parquet)."""
    p = check_file(path)
    fmt = file_format(p)
    if fmt == "parquet":
        return _parquet_file(p).schema_arrow.names
    if fmt == "jsonl":
        return _first_keys(p, encoding)
    delimiter = delimiter or sniff_delimiter(p, encoding)
    enc = sniff_encoding(p, encoding)
    try:
        with open_text(p, enc, newline="") as f:
            header = next(csv.reader(f, delimiter=delimiter), None)
    except UnicodeDecodeError:
        raise _decode_error(p, enc, encoding if enc == "utf-8-sig" else enc) from None
    except (OSError, EOFError, csv.Error) as exc:
        raise DataError(f"{p} cannot be read: {exc}; check the file") from None
    if not header:
        raise DataError(f"{p} is empty: expected a header line naming the columns, then one row per example")
    return header


def _first_keys(p: Path, encoding: str) -> list[str] | None:
    """The keys of the first JSON object among the first lines; None when none of them is one (the reader then
    reports those lines as bad rows, or skips them)."""
    enc = sniff_encoding(p, encoding)
    seen = 0
    with open_text(p, enc) as f:
        for line in f:
            if line.strip():
                obj = _json_object(line)
                if isinstance(obj, dict):
                    return list(obj)
                seen += 1
                if seen >= 1000:
                    return None
    if not seen:
        raise DataError(f"{p} is empty: expected one JSON object per line")
    return None


def check_columns(path: str | os.PathLike, columns: Sequence[tuple[str, str]], encoding: str = "utf-8") -> None:
    """Refuse, before anything slow starts, a column that the file lacks: ``columns`` are (option, name) pairs
    such as ``("--text-column", "text")``; the message names the columns found and the option to set."""
    names = [name for _, name in columns]
    twice = [c for c, n in Counter(names).items() if n > 1]
    if twice:
        options = " and ".join(opt for opt, name in columns if name == twice[0])
        raise UsageError(f"{options} both name the column {twice[0]!r}; give each its own column")
    header = read_columns(path, encoding)
    if header is None:
        return  # no readable header to check against: the reader reports each line
    for option, name in columns:
        problem = _columns_problem(Path(path), header, [name], {name: option})
        if problem:
            raise problem


def _columns_problem(
    path: Path, header: list[str], wanted: list[str], settings: Mapping[str, str] | None = None
) -> DataError | None:
    """A DataError for a header with a repeated name or without a wanted column. ``settings`` names the option
    or config key that sets each column (``{"text": "--text-column"}``): the message tells that one to change."""
    dupes = [c for c, n in Counter(header).items() if n > 1]
    if dupes:
        return DataError(
            f"{path}, line 1: the header names column {dupes[0]!r} more than once; give each column a unique name"
        )
    missing = [c for c in wanted if c not in header]
    if not missing:
        return None
    found = ", ".join(repr(c) for c in header) or "(none)"
    other = next((d for d in DELIMITERS if len(header) == 1 and d in header[0]), None)
    if other is not None:
        hint = f"; the header looks separated by {delimiter_name(other)}, not by the delimiter read with: set data.delimiter"
    else:
        hint = "; " + _name_fix(missing[0], header, settings, "name")
    return DataError(f"{path}: column {missing[0]!r} not found; columns found: {found}{hint}")


def _name_fix(name: str, found: list[str], settings: Mapping[str, str] | None, what: str) -> str:
    """What to do about a column or key ``name`` that is not among ``found``: the close one it may mean, and the
    option or config key (``settings``) that sets it."""
    where = (settings or {}).get(name) or "the column setting"
    close = closest(name, found)
    return f"did you mean {close!r}? (set {where})" if close else f"set {where} to the right {what}"


def iter_chunks(
    path: str | os.PathLike,
    columns: list[str],
    *,
    encoding: str = "utf-8",
    chunk_rows: int = CHUNK_ROWS,
    skip_bad: bool = False,
    report: ReadReport | None = None,
    texts: Sequence[str] = (),
    cut: bool = True,
    settings: Mapping[str, str] | None = None,
    delimiter: str | None = None,
) -> Iterator[Chunk]:
    """Yield the requested ``columns`` of a data file in chunks of ``chunk_rows`` rows, as strings.

    Args:
        path: a .csv, .tsv, .jsonl (each optionally .gz) or .parquet file.
        columns: the column names to return; a missing one is a DataError naming the columns found.
        encoding: for text formats; a UTF-8 or UTF-16 byte-order mark is detected and wins.
        skip_bad: skip rows with the wrong number of fields (or bad JSON) and record them in ``report``,
            instead of raising a DataError on the first one.
        report: filled in with the row and line counts, the bad rows, the swallowed rows and the cut texts.
        texts: the columns the model reads: they must hold text (a Parquet list column is refused), and with
            ``cut`` their values longer than :data:`MAX_TEXT_CHARS` are cut (and counted). Every other column is
            returned as it is.
        settings: the option or config key that names each column, for the message when one is missing.
        delimiter: for .csv and .tsv files; None: sniffed (:func:`sniff_delimiter`).
    """
    p = check_file(path)
    fmt = file_format(p)
    report = report if report is not None else ReadReport(str(p))
    reader = _Rows(columns, chunk_rows, report, [columns.index(c) for c in texts if c in columns], cut, settings)
    if fmt in ("csv", "tsv"):
        yield from _iter_delimited(p, delimiter or sniff_delimiter(p, encoding), encoding, skip_bad, reader)
    elif fmt == "jsonl":
        yield from _iter_jsonl(p, encoding, skip_bad, reader)
    else:
        yield from _iter_parquet(p, reader)


def cut_long_texts(texts: list[str]) -> int:
    """Cut, in place, the texts longer than :data:`MAX_TEXT_CHARS`; returns how many were cut."""
    cut = 0
    for i, text in enumerate(texts):
        if len(text) > MAX_TEXT_CHARS:
            texts[i] = text[:MAX_TEXT_CHARS]
            cut += 1
    return cut


class _Rows:
    """Collects rows and hands them on in chunks, cutting over-long texts in the columns the model reads."""

    def __init__(
        self,
        columns: list[str],
        chunk_rows: int,
        report: ReadReport,
        texts: list[int],
        cut: bool,
        settings: Mapping[str, str] | None = None,
    ):
        self.columns, self.chunk_rows, self.report, self.texts = columns, chunk_rows, report, texts
        self.settings = settings
        self.cut = texts if cut else []
        self.rows: list[list[str]] = []
        self.lines: list[int] = []

    def add(self, row: list[str], line: int) -> Chunk | None:
        """Add a row; returns a full chunk when there is one."""
        self.rows.append(row)
        self.lines.append(line)
        return self.flush() if len(self.rows) >= self.chunk_rows else None

    def flush(self) -> Chunk | None:
        if not self.rows:
            return None
        data = {}
        for i, name in enumerate(self.columns):
            values = [r[i] for r in self.rows]
            if i in self.cut:
                self.report.truncated_texts += cut_long_texts(values)
            data[name] = pd.Series(values, dtype=object)
        self.report.rows += len(self.rows)
        chunk = Chunk(pd.DataFrame(data, columns=self.columns), self.lines)
        self.rows, self.lines = [], []
        return chunk


def _iter_delimited(p: Path, delimiter: str, encoding: str, skip_bad: bool, out: _Rows) -> Iterator[Chunk]:
    enc = sniff_encoding(p, encoding)
    with open_text(p, enc, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=False)
        try:
            header = next(reader, None)
            if header is None:
                raise DataError(f"{p} is empty: expected a header line naming the columns, then one row per example")
            problem = _columns_problem(p, header, out.columns, out.settings)
            if problem:
                raise problem
            yield from _delimited_rows(p, reader, header, delimiter, skip_bad, out)
        except UnicodeDecodeError:
            raise _decode_error(p, enc, encoding if enc == "utf-8-sig" else enc) from None
        except UnicodeError as exc:  # e.g. a UTF-16 stream cut in half
            raise DataError(f"{p}: cannot be decoded as {enc}: {exc}; set the encoding") from None
        except (OSError, EOFError) as exc:  # a truncated .gz, an I/O error
            raise DataError(f"{p} cannot be read: {exc}; check the file") from None


def _delimited_rows(p: Path, reader, header: list[str], delimiter: str, skip_bad: bool, out: _Rows):
    index = [header.index(c) for c in out.columns]
    width, report = len(header), out.report
    first_line = reader.line_num
    shapes = RowShapes(delimiter, width)
    for record, start, last_line in _records(p, reader):
        report.lines = last_line - first_line
        if not record:
            continue  # a blank line
        if last_line - start + 1 >= SWALLOWED_LINES and shapes.swallowed(record):
            report.swallowed.append((start, last_line))
        shapes.learn(record)
        if len(record) != width:
            reason = f"expected {width} fields as in the header, found {len(record)}" + (
                f"; a text with a {DELIMITERS.get(delimiter, repr(delimiter))} in it must be quoted"
                if len(record) > width
                else ""
            )
            if not skip_bad:
                raise DataError(
                    f"{p}, line {start}: {reason}; fix the row or pass --on-bad-rows skip "
                    f"(data.on_bad_rows: skip) to leave such rows out"
                )
            report.bad_rows.append(BadRow(start, reason))
            continue
        chunk = out.add([record[i].replace("\x00", "") for i in index], start)
        if chunk is not None:
            yield chunk
    chunk = out.flush()
    if chunk is not None:
        yield chunk


def _records(p: Path, reader):
    """(record, first line, last line) of each record; a csv.Error names the line where the bad record starts."""
    last = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{p}, line {last + 1}: {exc}; check the quoting of that row") from None
        start, last = last + 1, reader.line_num
        yield record, start, last


class RowShapes:
    """What the file's rows look like, to tell a row that swallowed others (a stray quote ran on to the
    next lone quote) from a text that simply spans lines: its inner lines are shaped like rows, with the
    header's number of delimiters, no space after them (prose puts one after its commas), and a value seen in
    a column of few distinct values (the labels) in the same place."""

    MAX_DISTINCT = 1000  # a column with more distinct values (a text column) is not used to recognize rows

    def __init__(self, delimiter: str, width: int):
        self.delimiter, self.width = delimiter, width
        self.values: list[set[str] | None] = [set() for _ in range(width)]

    def learn(self, record: list[str]) -> None:
        if len(record) != self.width:
            return
        for seen, value in zip(self.values, record):
            if seen is not None and len(seen) <= self.MAX_DISTINCT:
                seen.add(value.strip())

    def swallowed(self, record: list[str]) -> bool:
        """Whether most of a multi-line record's inner lines are shaped like this file's rows."""
        if self.width < 2:
            return False  # nothing to tell a row from a line of text by
        inner = [line for value in record for line in value.split("\n")[1:]]
        shaped = sum(1 for line in inner if self.row_shaped(line))
        return len(inner) >= SWALLOWED_LINES - 1 and shaped * 2 >= len(inner)

    def row_shaped(self, line: str) -> bool:
        parts = line.split(self.delimiter)
        if len(parts) != self.width or any(part.startswith(" ") for part in parts[1:]):
            return False
        few = [(seen, part) for seen, part in zip(self.values, parts) if seen and len(seen) <= self.MAX_DISTINCT]
        return not few or any(part.strip() in seen for seen, part in few)


def _json_object(line: str) -> dict | str:
    """The JSON object of a line, or the reason it is not one (bad JSON, not an object, nested too deeply)."""
    try:
        obj = json.loads(line)
    except RecursionError:
        return "not a JSON object (nested too deeply)"
    except ValueError as exc:
        return f"not a JSON object ({exc})"
    if not isinstance(obj, dict):
        return f"not a JSON object (found a JSON {type(obj).__name__})"
    return obj


def _iter_jsonl(p: Path, encoding: str, skip_bad: bool, out: _Rows) -> Iterator[Chunk]:
    enc = sniff_encoding(p, encoding)
    report, seen_any, missing_key = out.report, False, None
    try:
        with open_text(p, enc) as f:
            for number, line in enumerate(f, start=1):
                report.lines = number
                if not line.strip():
                    continue
                seen_any = True
                row, reason, fix = _jsonl_row(line, out.columns, out.settings)
                if row is None:
                    problem = DataError(f"{p}, line {number}: {reason}; {fix}")
                    if not skip_bad:
                        raise problem
                    missing_key = missing_key or (problem if fix != _FIX_THE_LINE else None)  # a key, not the line
                    report.bad_rows.append(BadRow(number, reason))
                    continue
                chunk = out.add(row, number)
                if chunk is not None:
                    yield chunk
    except UnicodeDecodeError:
        raise _decode_error(p, enc, encoding if enc == "utf-8-sig" else enc) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{p} cannot be read: {exc}; check the file") from None
    if not seen_any:
        raise DataError(f"{p} is empty: expected one JSON object per line")
    if not report.rows and not out.rows and missing_key is not None:
        raise missing_key  # every line lacks the key: the column name is wrong, not the rows
    chunk = out.flush()
    if chunk is not None:
        yield chunk


_FIX_THE_LINE = "fix the line or pass --on-bad-rows skip"


def _jsonl_row(
    line: str, columns: list[str], settings: Mapping[str, str] | None = None
) -> tuple[list[str] | None, str, str]:
    """The values of ``columns`` in a JSON line, or None with the reason and the fix (``settings``: the option
    or config key that names each column)."""
    obj = _json_object(line)
    if isinstance(obj, str):
        return None, obj, _FIX_THE_LINE
    missing = [c for c in columns if c not in obj]
    if missing:
        keys = ", ".join(repr(k) for k in obj) or "(none)"
        fix = _name_fix(missing[0], [str(k) for k in obj], settings, "key or fix the line")
        return None, f"key {missing[0]!r} not found; keys found: {keys}", fix + ", or pass --on-bad-rows skip"
    try:
        return [_as_text(obj[c]) for c in columns], "", ""
    except RecursionError:
        return None, "a value is nested too deeply", _FIX_THE_LINE


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "|".join(_as_text(v) for v in value)
    return json.dumps(value)


def _parquet_file(p: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{p}: not a valid Parquet file ({exc})") from None


def _iter_parquet(p: Path, out: _Rows) -> Iterator[Chunk]:
    pf = _parquet_file(p)
    problem = _columns_problem(p, pf.schema_arrow.names, out.columns, out.settings)
    if problem:
        raise problem
    kinds = {name: _parquet_kind(p, name, pf.schema_arrow.field(name).type, i in out.texts)
             for i, name in enumerate(out.columns)}  # fmt: skip
    row = 0
    for batch in pf.iter_batches(batch_size=out.chunk_rows, columns=out.columns):
        data = [_parquet_values(p, name, batch.column(batch.schema.get_field_index(name)), kinds[name])
                for name in out.columns]  # fmt: skip
        for values in zip(*data):
            row += 1
            out.report.lines = row
            chunk = out.add(list(values), row)
            if chunk is not None:
                yield chunk
    chunk = out.flush()
    if chunk is not None:
        yield chunk
    if row == 0:
        raise DataError(f"{p} has no rows")


def _parquet_kind(p: Path, name: str, kind, text: bool) -> str:
    """How a Parquet column becomes strings: ``cast`` (strings, numbers, booleans, dates), ``binary`` (UTF-8
    bytes), ``list`` (labels joined with |, not for a text column); anything else is refused (exit 3)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return "cast"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "binary"
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and not text:
        return "list"
    scalar = (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
              or pa.types.is_decimal(kind) or pa.types.is_temporal(kind))  # fmt: skip
    if scalar:
        return "cast"
    what = "a list: the text column must hold text" if pa.types.is_list(kind) or pa.types.is_large_list(kind) else ""
    raise DataError(
        f"{p}: column {name!r} has the Parquet type {kind}{' (' + what + ')' if what else ''}, expected text "
        "(a string column; numbers and, for labels, a list of strings also work); convert the column"
    )


def _parquet_values(p: Path, name: str, col, kind: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "list":
        return [("|".join(map(str, v)) if v is not None else "") for v in col.to_pylist()]
    if kind == "binary":
        values = []
        for v in col.to_pylist():
            try:
                values.append(v.decode("utf-8") if v is not None else "")
            except UnicodeDecodeError:
                raise DataError(
                    f"{p}: column {name!r} has the Parquet type {col.type} and holds bytes that are not UTF-8 text "
                    f"(row {len(values) + 1} of a batch); store the column as strings"
                ) from None
        return values
    return pc.fill_null(pc.cast(col, pa.string()), "").to_pylist()
