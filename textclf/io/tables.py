"""Reading rows of text tables: CSV, TSV, JSON Lines and Parquet, as strings, with located errors.

Everything is read as text, exactly as written: a label ``NA``, ``null``, ``00123`` or ``True`` stays
itself, and an empty text stays an empty string. Files are read in chunks, so that ``predict`` runs in
constant memory on inputs of any size.

CSV and TSV go through Python's ``csv`` module rather than ``pandas.read_csv``: pandas pads short rows
silently and does not report the physical line of a bad record, and both are things a user must be told.
JSON Lines are parsed line by line for the same reason. Parquet is read in record batches by pyarrow. The
rows of a chunk are handed on as a ``pandas.DataFrame`` of ``str`` columns.

No TensorFlow here.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataError, UsageError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
MAX_TEXT_CHARS = 100_000  # longer texts are cut (and counted): far beyond any sequence length in tokens
CHUNK_ROWS = 8192

csv.field_size_limit(2**31 - 1)


@dataclass
class BadRow:
    """A row that could not be used, with where it is and why."""

    line: int
    reason: str


@dataclass
class ReadReport:
    """What happened while reading one file, for the user."""

    path: str
    rows: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    truncated_texts: int = 0

    def summary(self) -> str:
        parts = [f"{self.path}: {self.rows:,} rows"]
        if self.bad_rows:
            first = ", ".join(str(b.line) for b in self.bad_rows[:5])
            parts.append(
                f"{len(self.bad_rows):,} bad rows skipped (lines {first}{', ...' if len(self.bad_rows) > 5 else ''})"
            )
        if self.truncated_texts:
            parts.append(f"{self.truncated_texts:,} texts longer than {MAX_TEXT_CHARS:,} characters were cut")
        return "; ".join(parts)


@dataclass
class Chunk:
    """Consecutive rows of a file: ``frame`` holds the requested columns as ``str``; ``lines`` where each row is."""

    frame: pd.DataFrame
    lines: list[int]


# --------------------------------------------------------------------------------------------------
# Opening files


def file_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its extension, or a DataError that lists the supported ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(
            f"{path}: received a file with extension {suffix or '(none)'!r}, expected one of "
            f"{', '.join(sorted(FORMATS))}; rename the file or convert it"
        )
    return FORMATS[suffix]


def check_file(path: str | os.PathLike, what: str = "data file") -> Path:
    """Refuse a missing path (exit 2) and anything that is not a regular file (exit 3), without opening it."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise UsageError(
            f"{what} not found: {p}; check the path (relative paths in a config resolve against its folder)"
        ) from None
    except OSError as exc:
        raise DataError(f"{what} {p} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{what} {p} is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{what} {p} is not a regular file (a device, FIFO or socket); give a file on disk")
    return p


def sniff_encoding(path: Path, encoding: str) -> str:
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return "utf-8-sig"  # harmless without a BOM
    return encoding


def _decode_error(path: Path, encoding: str, asked: str | None = None) -> DataError:
    """Find the line of the first undecodable byte, reading the file again as bytes, line by line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as exc:
                byte = raw[exc.start : exc.start + 1]
                return DataError(
                    f"{path}, line {number}: byte 0x{byte.hex()} at column {exc.start + 1} is not valid {asked or encoding}; "
                    f"if the file is in another encoding, say so with --set data.encoding=latin-1 (or cp1252, "
                    f"utf-16, ...), or --encoding for predict and eval"
                )
    return DataError(
        f"{path}: the file is not valid {asked or encoding}; set data.encoding (or --encoding) to its encoding"
    )


def _columns_problem(path: Path, header: list[str], wanted: list[str]) -> DataError | None:
    dupes = [c for c, n in Counter(header).items() if n > 1]
    if dupes:
        return DataError(
            f"{path}, line 1: the header names column {dupes[0]!r} more than once; give each column a unique name"
        )
    missing = [c for c in wanted if c not in header]
    if not missing:
        return None
    found = ", ".join(repr(c) for c in header) or "(none)"
    hint = ""
    if len(header) == 1 and any(d in header[0] for d in (";", "\t", "|")):
        sep = next(d for d in (";", "\t", "|") if d in header[0])
        hint = (
            f"; the header looks separated by {sep!r}, but a {path.suffix} file is read as "
            f"{'tab' if path.suffix.lower() in ('.tsv', '.tab') else 'comma'}-separated: convert it, "
            f"or save it as {'.tsv' if sep == chr(9) else '.csv with commas'}"
        )
    else:
        lower = {c.lower().strip(): c for c in header}
        for m in missing:
            if m.lower() in lower:
                hint = f"; did you mean {lower[m.lower()]!r}? (set data.text_column / data.label_column)"
                break
        else:
            hint = "; set data.text_column and data.label_column (or --text-column) to the right names"
    return DataError(f"{path}: column {missing[0]!r} not found; columns found: {found}{hint}")


def iter_chunks(
    path: str | os.PathLike,
    columns: list[str],
    *,
    encoding: str = "utf-8",
    chunk_rows: int = CHUNK_ROWS,
    skip_bad: bool = False,
    report: ReadReport | None = None,
) -> Iterator[Chunk]:
    """Yield the requested ``columns`` of a data file in chunks of ``chunk_rows`` rows, as strings.

    Args:
        path: a .csv, .tsv, .jsonl or .parquet file.
        columns: the column names to return; a missing one is a DataError naming the columns found.
        encoding: for text formats; a UTF-8 or UTF-16 byte-order mark is detected and wins.
        skip_bad: skip rows with the wrong number of fields (or bad JSON) and record them in ``report``,
            instead of raising a DataError on the first one.
        report: filled in with the row count, the bad rows and the number of cut texts.
    """
    p = check_file(path)
    fmt = file_format(p)
    report = report if report is not None else ReadReport(str(p))
    if fmt in ("csv", "tsv"):
        yield from _iter_delimited(p, columns, "\t" if fmt == "tsv" else ",", encoding, chunk_rows, skip_bad, report)
    elif fmt == "jsonl":
        yield from _iter_jsonl(p, columns, encoding, chunk_rows, skip_bad, report)
    else:
        yield from _iter_parquet(p, columns, chunk_rows, report)


def _make_chunk(columns: list[str], rows: list[list[str]], lines: list[int], report: ReadReport) -> Chunk:
    data = {}
    for i, name in enumerate(columns):
        values = [r[i] for r in rows]
        for j, v in enumerate(values):
            if len(v) > MAX_TEXT_CHARS:
                values[j] = v[:MAX_TEXT_CHARS]
                report.truncated_texts += 1
        data[name] = pd.Series(values, dtype=object)
    report.rows += len(rows)
    return Chunk(pd.DataFrame(data, columns=columns), lines)


def _iter_delimited(
    p: Path, columns: list[str], delimiter: str, encoding: str, chunk_rows: int, skip_bad: bool, report: ReadReport
) -> Iterator[Chunk]:
    enc = sniff_encoding(p, encoding)
    try:
        f = open(p, encoding=enc, newline="")
    except LookupError:
        raise UsageError(
            f"unknown text encoding {encoding!r}; use a Python codec name such as utf-8, latin-1, cp1252 or utf-16"
        ) from None
    with f:
        reader = csv.reader(f, delimiter=delimiter, strict=False)
        try:
            header = next(reader, None)
            if header is None:
                raise DataError(f"{p} is empty: expected a header line naming the columns, then one row per example")
            problem = _columns_problem(p, header, columns)
            if problem:
                raise problem
            index = [header.index(c) for c in columns]
            width = len(header)
            rows: list[list[str]] = []
            lines: list[int] = []
            last_line = reader.line_num
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    raise DataError(f"{p}, line {last_line + 1}: {exc}; check the quoting of that row") from None
                start, last_line = last_line + 1, reader.line_num
                if not record:
                    continue  # a blank line
                if len(record) != width:
                    reason = f"expected {width} fields as in the header, found {len(record)}" + (
                        "; a text with a comma must be quoted" if len(record) > width else ""
                    )
                    if not skip_bad:
                        raise DataError(
                            f"{p}, line {start}: {reason}; fix the row or pass --on-bad-rows skip "
                            f"(data.on_bad_rows: skip) to leave such rows out"
                        )
                    report.bad_rows.append(BadRow(start, reason))
                    continue
                if any("\x00" in record[i] for i in index):
                    record = list(record)
                    for i in index:
                        record[i] = record[i].replace("\x00", "")
                rows.append([record[i] for i in index])
                lines.append(start)
                if len(rows) >= chunk_rows:
                    yield _make_chunk(columns, rows, lines, report)
                    rows, lines = [], []
            if rows:
                yield _make_chunk(columns, rows, lines, report)
        except UnicodeDecodeError:
            raise _decode_error(p, enc, encoding if enc == "utf-8-sig" else enc) from None
        except UnicodeError as exc:  # e.g. a UTF-16 stream cut in half
            raise DataError(f"{p}: cannot be decoded as {enc}: {exc}; set the encoding") from None


def _iter_jsonl(
    p: Path, columns: list[str], encoding: str, chunk_rows: int, skip_bad: bool, report: ReadReport
) -> Iterator[Chunk]:
    enc = sniff_encoding(p, encoding)
    rows: list[list[str]] = []
    lines: list[int] = []
    seen_any = False
    try:
        with open(p, encoding=enc) as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                seen_any = True
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError(f"expected a JSON object per line, found {type(obj).__name__}")
                except ValueError as exc:
                    if not skip_bad:
                        raise DataError(
                            f"{p}, line {number}: not a JSON object ({exc}); fix the line or pass --on-bad-rows skip"
                        ) from None
                    report.bad_rows.append(BadRow(number, str(exc)))
                    continue
                missing = [c for c in columns if c not in obj]
                if missing:
                    if not rows and not report.rows:
                        raise DataError(
                            f"{p}, line {number}: key {missing[0]!r} not found; keys found: "
                            f"{', '.join(repr(k) for k in obj) or '(none)'}; set data.text_column / data.label_column"
                        )
                    if not skip_bad:
                        raise DataError(
                            f"{p}, line {number}: key {missing[0]!r} missing; fix the line or pass --on-bad-rows skip"
                        )
                    report.bad_rows.append(BadRow(number, f"key {missing[0]!r} missing"))
                    continue
                rows.append([_as_text(obj[c]) for c in columns])
                lines.append(number)
                if len(rows) >= chunk_rows:
                    yield _make_chunk(columns, rows, lines, report)
                    rows, lines = [], []
    except UnicodeDecodeError:
        raise _decode_error(p, enc, encoding if enc == "utf-8-sig" else enc) from None
    if not seen_any:
        raise DataError(f"{p} is empty: expected one JSON object per line")
    if rows:
        yield _make_chunk(columns, rows, lines, report)


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "|".join(_as_text(v) for v in value)
    return json.dumps(value)


def _iter_parquet(p: Path, columns: list[str], chunk_rows: int, report: ReadReport) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{p}: not a valid Parquet file ({exc})") from None
    names = pf.schema_arrow.names
    problem = _columns_problem(p, names, columns)
    if problem:
        raise problem
    row = 0
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
        data = []
        for name in columns:
            col = batch.column(batch.schema.get_field_index(name))
            if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                values = [("|".join(map(str, v)) if v is not None else "") for v in col.to_pylist()]
            else:
                values = pc.fill_null(pc.cast(col, pa.string()), "").to_pylist()
            data.append(values)
        rows = [list(r) for r in zip(*data)]
        lines = list(range(row + 1, row + 1 + len(rows)))
        row += len(rows)
        yield _make_chunk(columns, rows, lines, report)
    if row == 0:
        raise DataError(f"{p} has no rows")
