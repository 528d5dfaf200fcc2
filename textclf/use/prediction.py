"""Prediction to a CSV file in constant memory: read a chunk, score it, write it, repeat.

The table is :meth:`Classifier.prediction_table <textclf.use.classifier.Classifier.prediction_table>`'s: the kept
input columns, then ``prediction`` (the label; for multi-label the labels at or above their threshold,
joined by the separator), ``confidence`` (the probability of the predicted label; for multi-label the lowest
probability among the predicted labels, or 1 - the highest when none is predicted), optionally
``top1``/``top1_p`` ... ``topK``/``topK_p``, and one ``p_<class>`` column per class. With
``on_bad_rows="skip"`` a first ``line`` column gives each row's input line.

The output is written to a temporary file beside the destination and renamed at the end
(:func:`textclf.io.files.atomic_write`), so a crash or kill leaves either the old file or the complete new one.
Echoed text is made spreadsheet-safe (:mod:`textclf.io.csv_output`).
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..io.csv_output import write_header, write_rows
from ..io.files import atomic_write, clean_stale_temp_files
from ..io.labeled import RowPolicy
from ..io.tables import BadRow, Chunk, ReadReport, cut_long_texts, file_format, iter_chunks, open_binary
from ..run.outputs import check_output


@dataclass
class PredictSummary:
    """What :func:`predict_file` wrote."""

    output: Path
    rows: int
    seconds: float
    bad_rows: list[BadRow] = field(default_factory=list)  # rows skipped, with their lines and reasons
    rejects: Path | None = None  # the CSV that lists them
    truncated_texts: int = 0  # texts longer than io.tables.MAX_TEXT_CHARS characters, cut
    warnings: list[str] = field(default_factory=list)  # rows that swallowed others (io.tables.ReadReport)
    renamed: dict[str, str] = field(default_factory=dict)  # kept columns renamed to keep output names unique
    startup: float = 0.0  # seconds before the first row: checks, loading the model (and TensorFlow), counting

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def notes(self) -> list[str]:
        """What the user should know besides the result: cut texts, skipped rows."""
        from ..io.tables import MAX_TEXT_CHARS

        out = list(self.warnings)
        if self.renamed:
            names = ", ".join(f"{k!r} as {v!r}" for k, v in self.renamed.items())
            out.append(f"kept columns named like output columns were written under new names: {names}")
        if self.truncated_texts:
            out.append(
                f"{self.truncated_texts:,} texts longer than {MAX_TEXT_CHARS:,} characters were cut to that "
                "length (the model reads far fewer tokens than that)"
            )
        if self.bad_rows:
            lines = ", ".join(str(b.line) for b in self.bad_rows[:5])
            out.append(
                f"skipped {len(self.bad_rows):,} unreadable rows (lines {lines}"
                f"{', ...' if len(self.bad_rows) > 5 else ''}); listed in {self.rejects}"
            )
        return out

    def __str__(self) -> str:
        return (
            f"wrote {self.rows:,} rows to {self.output} in {self.seconds:.1f}s ({self.rows_per_second:,.0f} rows/s; "
            f"start-up {self.startup:.1f}s not counted)"
        )


def predict_file(
    model,
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    text_column: str | None = None,
    keep_columns: Sequence[str] = (),
    top_k: int = 0,
    batch_size: int = 512,
    chunk_rows: int = 8192,
    encoding: str = "utf-8",
    threshold: float | None = None,
    safe_csv: bool = True,
    on_bad_rows: str = "error",
    max_bad_fraction: float = 0.01,
    progress=None,
    shard: tuple[int, int] | None = None,
    line_numbers: bool = False,
) -> PredictSummary:
    """Score every row of ``input`` and write the prediction table to the CSV ``output``.

    Args:
        model: a :class:`~textclf.use.classifier.Classifier`, or a run directory to load one from.
        input: a .csv/.tsv/.jsonl/.parquet file with a text column (default: the run's text column).
        output: the CSV to write; refused inside a run directory and when it is the input (also through a link).
        keep_columns: input columns copied to the output, first. top_k: also the K most probable labels.
        batch_size: rows per model call. chunk_rows: rows read and written at a time.
        threshold: one decision threshold for every output of a binary or multi-label task (default: the
            run's thresholds tuned on validation, else 0.5). safe_csv: prefix echoed formulas with ``'``.
        on_bad_rows: ``error`` stops at the first unreadable row; ``skip`` leaves such rows out, adds a ``line``
            column, and lists them in ``OUTPUT.rejects.csv``. More than ``max_bad_fraction`` of the rows bad
            is a DataError, and the old output, if any, is left as it was.
        progress: ``progress(done, total, rows)`` after each chunk: the position in input lines (rows for
            Parquet) and the data rows written so far.
        shard: ``(i, n)`` scores only the i-th (1-based) of n contiguous, near-equal slices of the rows; the
            shards concatenated in order equal one unsharded run (one extra pass counts the rows).
        line_numbers: a first ``line`` column with each row's line in the input (always with ``skip``).
    """
    src, dst, started = Path(input), Path(output), time.perf_counter()
    rejects = _check_outputs(src, dst)
    policy = RowPolicy(on_bad_rows == "skip", max_bad_fraction, "--max-bad-fraction")
    column = _check_input(model, src, text_column, keep_columns, encoding)
    clf = _classifier(model)
    column = column or clf.text_column
    clean_stale_temp_files(dst)
    bounds = _shard_bounds(src, column, encoding, chunk_rows, policy.skip, shard)
    report = ReadReport(str(src))
    chunks = _read_chunks(src, column, keep_columns, encoding, chunk_rows, policy.skip, report)
    t0, span = time.perf_counter(), [0, np.inf]
    with atomic_write(dst, "w", encoding="utf-8", newline="") as f:
        lines = policy.skip or line_numbers
        table = _TableWriter(f, clf, column, list(keep_columns), top_k, threshold, lines, safe_csv, report)
        table.write_all(_in_shard(chunks, bounds, span), batch_size, progress, src)
        if bounds is not None:
            report.bad_rows = [r for r in report.bad_rows if span[0] < r.line <= span[1]]
        policy.check_fraction(str(src), report.bad_rows, table.rows, " No output was written")
    seconds, renamed = time.perf_counter() - t0, {k: v for k, v in table.kept.items() if k != v}
    rejected = _update_rejects(rejects, report.bad_rows)
    return PredictSummary(dst, table.rows, seconds, report.bad_rows, rejected, report.truncated_texts,
                          report.warnings(), renamed, t0 - started)  # fmt: skip


def _read_chunks(src: Path, column: str, keep: Sequence[str], encoding: str, chunk_rows: int, skip: bool,
                 report: ReadReport):  # fmt: skip
    """The input's text column and kept columns, in chunks. Nothing is cut while reading: kept columns are copied
    unchanged, and the model's texts are cut when they are scored."""
    columns = [column] + [c for c in keep if c != column]
    return iter_chunks(src, columns, encoding=encoding, chunk_rows=chunk_rows, skip_bad=skip, report=report,
                       texts=[column], cut=False)  # fmt: skip


def _check_input(model, src: Path, text_column: str | None, keep: Sequence[str], encoding: str) -> str:
    """Check the input's columns before the model is loaded; returns the text column (default: the run's)."""
    from ..io.tables import check_columns
    from ..run.directory import run_columns

    column = text_column or (model.text_column if hasattr(model, "text_column") else run_columns(model)[0])
    if column is not None:
        check_columns(src, [("--text-column", column)] + [("--keep-columns", c) for c in keep if c != column], encoding)
    return column


def _check_outputs(src: Path, dst: Path) -> Path:
    """Check the output and the rejects file beside it; returns the rejects file's path."""
    rejects = dst.with_name(dst.name + ".rejects.csv")
    check_output(dst, "--output", inputs=[("the input file", src)])
    check_output(rejects, "--output (its rejects file)", inputs=[("the input file", src)], others=[dst])
    return rejects


def _update_rejects(path: Path, bad_rows: list[BadRow]) -> Path | None:
    """Write the skipped rows beside the output; without any, remove the list an earlier input left there."""
    if not bad_rows:
        if path.exists():
            path.unlink()
        return None
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["line", "reason"])
        writer.writerows((b.line, b.reason) for b in bad_rows)
    return path


class _TableWriter:
    """Scores chunks of rows and appends their prediction table to an open CSV file (the header first)."""

    def __init__(self, f, clf, column: str, keep: list[str], top_k: int, threshold: float | None, lines: bool,
                 safe_csv: bool, report: ReadReport):  # fmt: skip
        self.report = report
        self.f, self.clf, self.column, self.keep = f, clf, column, keep
        self.top_k, self.threshold, self.lines, self.safe_csv = top_k, threshold, lines, safe_csv
        self.rows = 0
        self._total: int | None = None  # counted once the first chunk has shown the file is readable
        outputs = np.zeros((0, 1 if clf.task == "binary" else len(clf.classes)), np.float32)
        empty = clf.prediction_table(
            outputs, pd.DataFrame({c: [] for c in keep}), keep, top_k, threshold, lines=[] if lines else None
        )
        self.kept = dict(zip(keep, empty.columns[int(lines) : int(lines) + len(keep)]))  # renamed if they collide
        # only echoed input is made spreadsheet-safe: never a label, a prediction or a number
        self.echoed = list(range(int(lines), int(lines) + len(keep))) if safe_csv else []
        write_header(f, empty.columns, self.echoed)

    def write(self, chunk: Chunk, batch_size: int) -> None:
        texts = chunk.frame[self.column].tolist()
        self.report.truncated_texts += cut_long_texts(texts)  # only the model's copy: kept columns stay whole
        table = self.clf.prediction_table(
            self.clf.outputs(texts, batch_size),
            chunk.frame,
            self.keep,
            self.top_k,
            self.threshold,
            lines=chunk.lines if self.lines else None,
        )
        write_rows(self.f, table, self.echoed)
        self.rows += len(texts)

    def write_all(self, chunks: Iterator[Chunk], batch_size: int, progress, src: Path) -> None:
        for chunk in chunks:
            self.write(chunk, batch_size)
            if progress is not None:
                progress(*self.progress(src, chunk))
        if progress is not None and self._total is not None:
            progress(self._total, self._total, self.rows)  # a chunk reports its last row's first line

    def progress(self, src: Path, chunk: Chunk) -> tuple[int, int, int]:
        """(input lines done, input lines in all, data rows written), for a progress bar that moves with the
        position in the file and counts rows (a text that spans lines is one row)."""
        self._total = count_rows(src) if self._total is None else self._total
        return (min(chunk.lines[-1], self._total) if chunk.lines else self.rows), self._total, self.rows


def _classifier(model):
    from .classifier import Classifier

    return model if isinstance(model, Classifier) else Classifier.load(model)


def _shard_bounds(
    src: Path, column: str, encoding: str, chunk_rows: int, skip: bool, shard: tuple[int, int] | None
) -> tuple[int, int, bool] | None:
    """(first row, end row, is the last shard) of shard ``(i, n)`` of the input's usable rows; None: all rows."""
    if shard is None:
        return None
    index, count = shard
    if not (count >= 1 and 1 <= index <= count):
        raise UsageError(f"--shard {index}/{count}: expected I/N with 1 <= I <= N, e.g. --shard 1/4 ... --shard 4/4")
    rows = sum(
        len(c.lines)
        for c in iter_chunks(
            src, [column], encoding=encoding, chunk_rows=chunk_rows, skip_bad=skip, report=ReadReport(str(src))
        )
    )
    return (index - 1) * rows // count, index * rows // count, index == count


def _in_shard(chunks: Iterator[Chunk], bounds: tuple[int, int, bool] | None, span: list) -> Iterator[Chunk]:
    """The parts of ``chunks`` that fall in the shard; ``span`` gets the input lines (span[0], span[1]] that
    belong to it, so that its bad rows are those between them."""
    if bounds is None:
        yield from chunks
        return
    lo, hi, last = bounds
    seen = 0
    for chunk in chunks:
        first, seen = seen, seen + len(chunk.lines)
        if first <= lo - 1 < seen:
            span[0] = chunk.lines[lo - 1 - first]
        if first <= hi - 1 < seen and not last:
            span[1] = chunk.lines[hi - 1 - first]
        a, b = max(lo - first, 0), min(hi - first, len(chunk.lines))
        if a >= b:
            if seen >= hi:
                break
            continue
        yield Chunk(chunk.frame.iloc[a:b].reset_index(drop=True), chunk.lines[a:b])


def count_rows(path: Path) -> int:
    """Lines in a text file (a fast byte count of newlines), or the rows of a Parquet file: the progress total."""
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    lines, last = 0, b"\n"
    with open_binary(path) as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")
