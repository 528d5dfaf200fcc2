"""Prediction to CSV in constant memory: read a chunk, score it, write it, repeat.

The output holds the kept input columns, then ``prediction`` (the label; for multi-label the labels at or
above the threshold, joined by the separator), ``confidence`` (the probability of the predicted label; for
multi-label the lowest probability among the predicted labels, or 1 - the highest when none is predicted),
optionally ``top1``/``top1_p`` ... ``topK``/``topK_p``, and one ``p_<class>`` column per class.

The output is written to a temporary file beside the destination and renamed at the end, so a crash or kill
leaves either the old file or the complete new one. Text echoed from the input that starts with ``=``, ``+``,
``-``, ``@``, tab or carriage return is prefixed with ``'`` so that spreadsheets do not run it as a formula
(``safe_csv=False`` turns that off).
"""

from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data import Chunk, ReadReport, iter_chunks
from .errors import DataError, UsageError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


@dataclass
class PredictSummary:
    output: Path
    rows: int
    seconds: float
    bad_rows: list = field(default_factory=list)  # BadRow(line, reason) of rows skipped
    rejects: Path | None = None  # the CSV that lists them
    truncated_texts: int = 0  # texts longer than data.MAX_TEXT_CHARS characters, cut

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def predict(model, input: str | os.PathLike, output: str | os.PathLike, *, text_column: str | None = None,
            keep_columns: list[str] | tuple[str, ...] = (), top_k: int = 0, batch_size: int = 512,
            chunk_rows: int = 8192, encoding: str = "utf-8", threshold: float | None = None,
            safe_csv: bool = True, on_bad_rows: str = "error", max_bad_fraction: float = 0.01,
            progress=None, shard: tuple[int, int] | None = None) -> PredictSummary:
    """Score every row of ``input`` with the run ``model`` and write a CSV to ``output``.

    Args:
        model: a run directory path, or a :class:`~textclf.artifacts.LoadedRun` already loaded.
        input: a .csv/.tsv/.jsonl/.parquet file with a text column.
        output: the CSV to write; refused if it is the input file (also through a link).
        text_column: defaults to the column the run was trained on.
        keep_columns: input columns copied to the output, first.
        top_k: also write the K most probable labels and their probabilities (single-label tasks).
        batch_size: rows per model call. chunk_rows: rows read and written at a time.
        threshold: one decision threshold for every label of a binary or multi-label task. By default the
            run's thresholds tuned on validation apply (0.5 for a run without them).
        safe_csv: prefix echoed text that a spreadsheet would run as a formula with ``'``.
        on_bad_rows: ``error`` stops at the first unreadable row; ``skip`` leaves such rows out, adds a
            ``line`` column (the input line of each output row) so the output joins back to the input,
            and lists the skipped rows in ``OUTPUT.rejects.csv``. More than ``max_bad_fraction`` of the rows
            bad is a DataError, and the old output, if any, is left as it was.
        progress: ``progress(done, total)`` after each chunk, in input lines (rows for Parquet).
        shard: ``(i, n)`` scores only the i-th (1-based) of n contiguous, near-equal slices of the input's rows,
            so that n jobs can share a large file; the shards' rows, concatenated in order, are exactly the rows
            of one unsharded run. Costs one extra pass that parses (but does not score) the file to count rows.

    Returns:
        A :class:`PredictSummary` with the output path, the row count and the seconds taken.
    """
    from . import artifacts
    from .evaluation import decide

    src, dst = Path(input), Path(output)
    if _same_file(src, dst) or src.resolve() == dst.resolve():
        raise UsageError(f"--output {dst} is the input file; choose another output path (the input is left unchanged)")
    if dst.is_dir():
        raise UsageError(f"--output {dst} is a directory; give a file path such as {dst / 'predictions.csv'}")
    if not dst.parent.exists():
        raise UsageError(f"--output {dst}: the folder {dst.parent} does not exist; create it first")
    from .quiet import import_tensorflow

    import_tensorflow()  # before anything imports TensorFlow, so that its native log lines stay quiet
    from .model import predict_logits, probabilities_from_logits

    run = model if isinstance(model, artifacts.LoadedRun) else artifacts.load_run(model)
    task, classes, sep = run.task, run.classes, run.labels.get("separator", "|")
    text_column = text_column or run.labels.get("text_column", "text")
    keep = list(keep_columns)
    columns = [text_column] + [c for c in keep if c != text_column]
    from .thresholds import as_array

    thr = as_array(run.thresholds if threshold is None else threshold, task, classes)
    if top_k and task == "multilabel":
        top_k = min(top_k, len(classes))
    top_k = min(top_k, len(classes))
    encoder = run.vocab.encoder()
    artifacts.clean_stale_temp_files(dst)

    skip = on_bad_rows == "skip"
    lo, hi = 0, None
    if shard is not None:
        shard_i, n_shards = shard
        if not (n_shards >= 1 and 1 <= shard_i <= n_shards):
            raise UsageError(f"--shard {shard_i}/{n_shards}: expected I/N with 1 <= I <= N, e.g. --shard 1/4 ... --shard 4/4")
        count = sum(len(c.lines) for c in iter_chunks(src, [text_column], encoding=encoding, chunk_rows=chunk_rows,
                                                       skip_bad=skip, report=ReadReport(str(src))))
        lo, hi = (shard_i - 1) * count // n_shards, shard_i * count // n_shards
    span = [0, np.inf]  # input lines (span[0], span[1]] belong to this shard: its bad rows are those in it
    report = ReadReport(str(src))
    header = (["line"] if skip else []) + keep + ["prediction", "confidence"]
    for k in range(1, top_k + 1):
        header += [f"top{k}", f"top{k}_p"]
    header += [f"p_{c}" for c in classes]
    safe = spreadsheet_safe if safe_csv else (lambda v: v)
    t0 = time.perf_counter()
    rows = 0
    names = np.asarray(classes, dtype=object)
    total = None  # counted once the first chunk has shown the file is readable
    with artifacts.atomic_write(dst, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow([safe(h) for h in header])
        seen = 0
        for chunk in iter_chunks(src, columns, encoding=encoding, chunk_rows=chunk_rows, skip_bad=skip, report=report):
            if hi is not None:
                first, seen = seen, seen + len(chunk.lines)
                if first <= lo - 1 < seen:
                    span[0] = chunk.lines[lo - 1 - first]
                if first <= hi - 1 < seen and shard_i < n_shards:
                    span[1] = chunk.lines[hi - 1 - first]
                a, b = max(lo - first, 0), min(hi - first, len(chunk.lines))
                if a >= b:
                    if seen >= hi:
                        break
                    continue
                chunk = Chunk(chunk.frame.iloc[a:b].reset_index(drop=True), chunk.lines[a:b])
            texts = chunk.frame[text_column].tolist()
            probs = probabilities_from_logits(task, predict_logits(run.model, encoder.encode(texts), batch_size))
            full = np.concatenate([1.0 - probs, probs], axis=1) if task == "binary" else probs
            decided = decide(task, probs, thr)
            n = len(texts)
            cols: list = ([np.asarray(chunk.lines)] if skip else []) + [chunk.frame[c] for c in keep]
            if task == "multilabel":
                cols.append(pd.Series([sep.join(names[np.flatnonzero(r)]) for r in decided], dtype=object))
                lowest = np.where(decided == 1, full, np.inf).min(axis=1)
                cols.append(np.where(decided.any(axis=1), lowest, 1.0 - full.max(axis=1)))
            else:
                cols.append(pd.Series(names[decided], dtype=object))
                cols.append(full[np.arange(n), decided])
            if top_k:
                order = np.argsort(-full, axis=1, kind="stable")[:, :top_k]
                for k in range(top_k):
                    cols.append(pd.Series(names[order[:, k]], dtype=object))
                    cols.append(full[np.arange(n), order[:, k]])
            cols += [full[:, j] for j in range(full.shape[1])]
            frame = pd.DataFrame({i: (c.reset_index(drop=True) if isinstance(c, pd.Series) else c)
                                  for i, c in enumerate(cols)})
            if safe_csv:
                for i in range(frame.shape[1]):
                    if frame[i].dtype == object:
                        text = frame[i].astype(str)
                        frame[i] = text.where(~text.str.startswith(_FORMULA_START), "'" + text)
            frame.to_csv(f, header=False, index=False, float_format="%.6f", lineterminator="\n")
            rows += n
            if progress is not None:
                total = count_rows(src) if total is None else total
                progress(min(chunk.lines[-1], total) if chunk.lines else rows, total)
        if hi is not None:
            report.bad_rows = [r for r in report.bad_rows if span[0] < r.line <= span[1]]
        bad = len(report.bad_rows)
        if bad and bad / (bad + rows) > max_bad_fraction:
            first = report.bad_rows[0]
            raise DataError(f"{src}: {bad:,} of {bad + rows:,} rows are unreadable, over the limit of "
                            f"{max_bad_fraction:.1%} (--max-bad-fraction); first at line {first.line}: {first.reason}. "
                            f"Is this the right file? No output was written")
    summary = PredictSummary(dst, rows, time.perf_counter() - t0, report.bad_rows,
                             truncated_texts=report.truncated_texts)
    stale = dst.with_name(dst.name + ".rejects.csv")
    if not report.bad_rows and stale.exists():
        stale.unlink()  # it listed the rows of an earlier input
    if report.bad_rows:
        summary.rejects = dst.with_name(dst.name + ".rejects.csv")
        with artifacts.atomic_write(summary.rejects, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["line", "reason"])
            writer.writerows((b.line, b.reason) for b in report.bad_rows)
    return summary


def count_rows(path: Path) -> int:
    """Lines in a text file (a fast byte count of newlines), or the rows of a Parquet file: the progress total."""
    from .data import file_format

    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    lines, last = 0, b"\n"
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")
