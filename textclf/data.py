"""Reading labeled text: CSV, TSV, JSON Lines and Parquet, as strings, with located errors.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from .errors import DataError, UsageError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}
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
            parts.append(f"{len(self.bad_rows):,} bad rows skipped (lines {first}{', ...' if len(self.bad_rows) > 5 else ''})")
        if self.truncated_texts:
            parts.append(f"{self.truncated_texts:,} texts longer than {MAX_TEXT_CHARS:,} characters were cut")
        return "; ".join(parts)


@dataclass
class Chunk:
    """Consecutive rows of a file: ``frame`` holds the requested columns as ``str``; ``lines`` where each row is."""

    frame: pd.DataFrame
    lines: list[int]


@dataclass
class Labeled:
    """Texts and their raw label strings, with each row's line in the file."""

    texts: list[str]
    labels: list[str]
    lines: list[int]
    path: str
    report: ReadReport

    def __len__(self) -> int:
        return len(self.texts)


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
        raise UsageError(f"{what} not found: {p}; check the path (relative paths in a config resolve against its folder)") from None
    except OSError as exc:
        raise DataError(f"{what} {p} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{what} {p} is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{what} {p} is not a regular file (a device, FIFO or socket); give a file on disk")
    return p


def _sniff_encoding(path: Path, encoding: str) -> str:
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
                byte = raw[exc.start:exc.start + 1]
                return DataError(
                    f"{path}, line {number}: byte 0x{byte.hex()} at column {exc.start + 1} is not valid {asked or encoding}; "
                    f"if the file is in another encoding, say so with --set data.encoding=latin-1 (or cp1252, "
                    f"utf-16, ...), or --encoding for predict and eval"
                )
    return DataError(f"{path}: the file is not valid {asked or encoding}; set data.encoding (or --encoding) to its encoding")


def _columns_problem(path: Path, header: list[str], wanted: list[str]) -> DataError | None:
    dupes = [c for c, n in Counter(header).items() if n > 1]
    if dupes:
        return DataError(f"{path}, line 1: the header names column {dupes[0]!r} more than once; give each column a unique name")
    missing = [c for c in wanted if c not in header]
    if not missing:
        return None
    found = ", ".join(repr(c) for c in header) or "(none)"
    hint = ""
    if len(header) == 1 and any(d in header[0] for d in (";", "\t", "|")):
        sep = next(d for d in (";", "\t", "|") if d in header[0])
        hint = (f"; the header looks separated by {sep!r}, but a {path.suffix} file is read as "
                f"{'tab' if path.suffix.lower() in ('.tsv', '.tab') else 'comma'}-separated: convert it, "
                f"or save it as {'.tsv' if sep == chr(9) else '.csv with commas'}")
    else:
        lower = {c.lower().strip(): c for c in header}
        for m in missing:
            if m.lower() in lower:
                hint = f"; did you mean {lower[m.lower()]!r}? (set data.text_column / data.label_column)"
                break
        else:
            hint = "; set data.text_column and data.label_column (or --text-column) to the right names"
    return DataError(f"{path}: column {missing[0]!r} not found; columns found: {found}{hint}")


def iter_chunks(path: str | os.PathLike, columns: list[str], *, encoding: str = "utf-8",
                chunk_rows: int = CHUNK_ROWS, skip_bad: bool = False,
                report: ReadReport | None = None) -> Iterator[Chunk]:
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


def _iter_delimited(p: Path, columns: list[str], delimiter: str, encoding: str, chunk_rows: int,
                    skip_bad: bool, report: ReadReport) -> Iterator[Chunk]:
    enc = _sniff_encoding(p, encoding)
    try:
        f = open(p, encoding=enc, newline="")
    except LookupError:
        raise UsageError(f"unknown text encoding {encoding!r}; use a Python codec name such as utf-8, latin-1, cp1252 or utf-16") from None
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
                    reason = (f"expected {width} fields as in the header, found {len(record)}"
                              + ("; a text with a comma must be quoted" if len(record) > width else ""))
                    if not skip_bad:
                        raise DataError(f"{p}, line {start}: {reason}; fix the row or pass --on-bad-rows skip "
                                        f"(data.on_bad_rows: skip) to leave such rows out")
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


def _iter_jsonl(p: Path, columns: list[str], encoding: str, chunk_rows: int, skip_bad: bool,
                report: ReadReport) -> Iterator[Chunk]:
    enc = _sniff_encoding(p, encoding)
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
                        raise DataError(f"{p}, line {number}: not a JSON object ({exc}); fix the line or pass --on-bad-rows skip") from None
                    report.bad_rows.append(BadRow(number, str(exc)))
                    continue
                missing = [c for c in columns if c not in obj]
                if missing:
                    if not rows and not report.rows:
                        raise DataError(f"{p}, line {number}: key {missing[0]!r} not found; keys found: "
                                        f"{', '.join(repr(k) for k in obj) or '(none)'}; set data.text_column / data.label_column")
                    if not skip_bad:
                        raise DataError(f"{p}, line {number}: key {missing[0]!r} missing; fix the line or pass --on-bad-rows skip")
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


# --------------------------------------------------------------------------------------------------
# Labeled data for training and evaluation


def read_labeled(path: str | os.PathLike, text_column: str, label_column: str, *, encoding: str = "utf-8",
                 skip_bad: bool = False, max_bad_fraction: float = 1.0, allow_empty_labels: bool = False) -> Labeled:
    """Read a whole labeled file into memory: texts and raw label strings.

    Empty labels are a DataError naming the first lines (or skipped, with ``skip_bad``). A file with a
    header but no rows is a DataError too.
    """
    report = ReadReport(str(path))
    texts: list[str] = []
    labels: list[str] = []
    lines: list[int] = []
    empty: list[int] = []
    for chunk in iter_chunks(path, [text_column, label_column], encoding=encoding, skip_bad=skip_bad, report=report):
        t = chunk.frame[text_column].tolist()
        y = chunk.frame[label_column].tolist()
        for text, label, line in zip(t, y, chunk.lines):
            if not label.strip() and not allow_empty_labels:
                if skip_bad:
                    report.bad_rows.append(BadRow(line, "empty label"))
                    continue
                empty.append(line)
                continue
            texts.append(text)
            labels.append(label)
            lines.append(line)
    if empty:
        shown = ", ".join(map(str, empty[:5]))
        raise DataError(f"{path}, column {label_column!r}: {len(empty):,} rows have an empty label (lines {shown}"
                        f"{', ...' if len(empty) > 5 else ''}); fill them in, remove them, or pass --on-bad-rows skip")
    total = len(texts) + len(report.bad_rows)
    if report.bad_rows and total and len(report.bad_rows) / total > max_bad_fraction:
        raise DataError(f"{path}: {len(report.bad_rows):,} of {total:,} rows are bad, over the limit of "
                        f"{max_bad_fraction:.1%} (data.max_bad_fraction); first at line {report.bad_rows[0].line}: "
                        f"{report.bad_rows[0].reason}")
    if not texts:
        raise DataError(f"{path} has a header but no data rows; add examples, one per row")
    return Labeled(texts, labels, lines, str(path), report)


def expand_paths(value: str | list[str], key: str = "data.train") -> list[Path]:
    """The files a path, a glob pattern (``*``, ``?``, ``[``) or a list of either names, in a stable order.

    A pattern that matches nothing is a UsageError; each file is checked with :func:`check_file`.
    """
    import glob

    out: list[Path] = []
    for item in ([value] if isinstance(value, str) else list(value)):
        if any(ch in item for ch in "*?["):
            matches = sorted(p for p in glob.glob(item, recursive=True) if not os.path.isdir(p))
            if not matches:
                raise UsageError(f"{key}: the pattern {item} matches no file; check the folder and the pattern "
                                 "(relative paths in a config resolve against its folder)")
            out += [check_file(m, f"{key} file") for m in matches]
        else:
            out.append(check_file(item, f"{key} file"))
    seen: set = set()
    unique = [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]
    return unique


def read_labeled_many(paths: list[Path], text_column: str, label_column: str, **kwargs) -> Labeled:
    """:func:`read_labeled` over several files, concatenated; bad rows name their file when there are several."""
    if len(paths) == 1:
        return read_labeled(paths[0], text_column, label_column, **kwargs)
    parts = [read_labeled(p, text_column, label_column, **kwargs) for p in paths]
    report = ReadReport(f"{paths[0]} (+{len(paths) - 1} files)", rows=sum(p.report.rows for p in parts))
    for part in parts:
        report.bad_rows += [BadRow(b.line, f"{Path(part.path).name}: {b.reason}") for b in part.report.bad_rows]
        report.truncated_texts += part.report.truncated_texts
    return Labeled([t for p in parts for t in p.texts], [y for p in parts for y in p.labels],
                   [n for p in parts for n in p.lines], report.path, report)


def split_labels(raw: list[str], task: str, separator: str) -> list[list[str]] | list[str]:
    """Raw label cells as they go into training: a list of labels per row for multi-label, else as is."""
    if task != "multilabel":
        return raw
    return [sorted({part.strip() for part in cell.split(separator) if part.strip()}) for cell in raw]


def infer_task(raw: list[str], separator: str) -> str:
    """``multilabel`` if any cell holds the separator, ``binary`` for two classes, else ``multiclass``."""
    if any(separator in cell for cell in raw):
        return "multilabel"
    return "binary" if len(set(raw)) == 2 else "multiclass"


def check_classes(data: Labeled, task: str, separator: str, label_column: str) -> list[str]:
    """The sorted label set of the training data; refuses a single class with a clear message."""
    if task == "multilabel":
        classes = sorted({lab for row in split_labels(data.labels, task, separator) for lab in row})
        if len(classes) < 2:
            raise DataError(f"{data.path}, column {label_column!r}: only {len(classes)} distinct label(s) "
                            f"({', '.join(map(repr, classes))}); a classifier needs at least two")
        return classes
    counts = Counter(data.labels)
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(f"{data.path}, column {label_column!r}: every row has the label {only!r}; "
                        "a classifier needs examples of at least two classes")
    if task == "binary" and len(counts) > 2:
        raise DataError(f"{data.path}, column {label_column!r}: task is binary but {len(counts)} labels were found "
                        f"({', '.join(map(repr, sorted(counts)[:6]))}); set task: multiclass (or auto)")
    return sorted(counts)


def stratified_split(data: Labeled, fraction: float, seed: int, task: str, separator: str,
                     label_column: str) -> tuple[Labeled, Labeled]:
    """Hold out ``fraction`` of ``data`` for validation, stratified by label for single-label tasks."""
    from sklearn.model_selection import train_test_split

    n = len(data)
    idx = list(range(n))
    stratify = None
    if task != "multilabel":
        counts = Counter(data.labels)
        rare = sorted(lab for lab, c in counts.items() if c < 2)
        if rare:
            raise DataError(
                f"{data.path}, column {label_column!r}: class {rare[0]!r} has only one row, so it cannot appear in "
                f"both the training and the validation split; add examples, drop the class, or give data.valid"
            )
        stratify = data.labels
    n_valid = max(int(round(n * fraction)), len(set(data.labels)) if stratify else 1)
    if n_valid >= n:
        raise DataError(f"{data.path}: {n} rows are too few to hold out a validation split; add rows or give data.valid")
    try:
        tr, va = train_test_split(idx, test_size=n_valid, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(f"{data.path}: cannot split off a validation set ({exc}); give data.valid") from None
    return _subset(data, sorted(tr)), _subset(data, sorted(va))


def _subset(data: Labeled, idx: list[int]) -> Labeled:
    return Labeled([data.texts[i] for i in idx], [data.labels[i] for i in idx], [data.lines[i] for i in idx],
                   data.path, data.report)


def unseen_labels(raw: list[str], classes: list[str], task: str, separator: str) -> Counter:
    """Counts of labels in ``raw`` that are not among the trained ``classes``."""
    known = set(classes)
    if task == "multilabel":
        return Counter(lab for row in split_labels(raw, task, separator) for lab in row if lab not in known)
    return Counter(lab for lab in raw if lab not in known)


def describe_unseen(unseen: Counter, classes: list[str]) -> str:
    parts = []
    for lab, count in unseen.most_common(10):
        hint = ""
        near = [c for c in classes if c.strip() == lab.strip() or _same_number(c, lab)]
        if near:
            hint = f" (looks like {near[0]!r}; labels are compared as exact text)"
        parts.append(f"{lab!r} ×{count}{hint}")
    more = f", and {len(unseen) - 10} more" if len(unseen) > 10 else ""
    return ", ".join(parts) + more


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


__all__ = ["iter_chunks", "read_labeled", "split_labels", "infer_task", "check_classes", "stratified_split",
           "unseen_labels", "describe_unseen", "Labeled", "Chunk", "ReadReport", "BadRow", "file_format",
           "check_file"]
