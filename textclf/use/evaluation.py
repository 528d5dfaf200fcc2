"""Evaluating a run on a labeled file: the metrics, the misclassified rows, the confusion plot, the JSON.

The figures come from :meth:`Classifier.score <textclf.use.classifier.Classifier.score>` (all from
``sklearn.metrics``). Labels in the file that training never saw are named with their counts: an error
(exit 3) unless ``ignore_unseen`` is set, in which case those rows (or, for multi-label, those labels) are left
out and reported.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..io.csv_output import spreadsheet_safe
from ..io.files import atomic_write, write_bytes, write_json
from ..io.labeled import COMMAND_OPTIONS, read_labeled
from ..io.tables import iter_chunks
from ..run.layout import CONFUSION_PNG, evaluation_dir
from ..run.outputs import check_output
from .decisions import class_probabilities, decide, labels_of
from .metrics import label_indicators

log = logging.getLogger(__name__)


def evaluate_file(
    model,
    data: str | os.PathLike,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    output: str | os.PathLike | None = None,
    ignore_unseen: bool = False,
    batch_size: int = 512,
    encoding: str = "utf-8",
    threshold: float | None = None,
    errors: str | os.PathLike | None = None,
    keep_columns: Sequence[str] = (),
    plots: bool = True,
    progress=None,
) -> dict:
    """Evaluate a run on the labeled file ``data``.

    Args:
        model: a :class:`~textclf.use.classifier.Classifier`, or a run directory to load one from.
        data: a labeled .csv/.tsv/.jsonl/.parquet file.
        text_column, label_column: default to the columns the run was trained with.
        output: also write the metrics as JSON to this path.
        ignore_unseen: leave out labels the run never saw instead of failing.
        threshold: one decision threshold for every output (default: the run's tuned ones, else 0.5).
        errors: write the misclassified rows to this CSV, the most confident mistakes first (see
            :func:`write_errors`); ``textclf explain --input`` reads it as it is.
        keep_columns: columns of ``data`` (ids) copied into the errors file.
        plots: draw the confusion matrix into ``RUN/evaluations/<data name>/`` (a read-only run: skipped).
        progress: ``progress(done, total)`` after each scored batch.

    Returns:
        The metrics (see :func:`textclf.use.metrics.metrics_from_probs`), plus ``data``, ``model``,
        ``unseen_labels``, and for tuned thresholds ``at_0.5`` and ``threshold_source``.
    """
    from .classifier import Classifier

    if keep_columns and errors is None:
        raise UsageError("--keep-columns: copies data columns into the --errors file; give --errors FILE too")
    _check_data_columns(model, data, text_column, label_column, encoding, keep_columns)
    inputs = [("the data file", data)]
    out = check_output(output, "--output", inputs=inputs) if output is not None else None
    err = check_output(errors, "--errors", inputs=inputs, others=[output]) if errors is not None else None
    clf = model if isinstance(model, Classifier) else Classifier.load(model)
    t0 = time.perf_counter()
    labeled = _read(data, text_column or clf.text_column, label_column or clf.label_column, encoding)
    options = dict(threshold=threshold, ignore_unseen=ignore_unseen, batch_size=batch_size, progress=progress)
    scored = clf.score(labeled.texts, labeled.labels, labeled.lines, where=str(data), **options)
    result = {**scored.metrics, "data": str(data), "model": str(clf.path), "unseen_labels": scored.unseen}
    if err is not None:
        kept = _kept_values(data, keep_columns, encoding)
        column = text_column or clf.text_column
        result["errors_file"] = str(err)
        result["errors_written"] = write_errors(err, clf, scored, text_column=column, kept=kept)
    if plots:
        result["plot"] = _plot(clf.path, data, result)
    result["seconds"] = round(time.perf_counter() - t0, 3)
    if out is not None:
        write_json(out, result)
    return result


def _read(data, text_column: str, label_column: str, encoding: str):
    labeled = read_labeled(data, text_column, label_column, encoding=encoding, settings=COMMAND_OPTIONS)
    if labeled.report.swallowed:
        log.warning(labeled.report.summary())
    return labeled


def _check_data_columns(
    model, data, text_column: str | None, label_column: str | None, encoding: str, keep: Sequence[str] = ()
) -> None:
    """The data file's columns, checked before the model is loaded (defaults: the run's columns)."""
    from ..io.tables import check_columns
    from ..run.directory import run_columns

    if hasattr(model, "text_column"):
        text, label = model.text_column, model.label_column
    else:
        text, label = run_columns(model)
    text, label = text_column or text, label_column or label
    if text is not None and label is not None:
        kept = [("--keep-columns", c) for c in keep if c not in (text, label)]
        check_columns(data, [("--text-column", text), ("--label-column", label)] + kept, encoding)


def _kept_values(data, keep: Sequence[str], encoding: str) -> dict[str, dict[int, str]]:
    """The ``keep`` columns' values by line, for the errors file (a second, cheap pass over the file)."""
    if not keep:
        return {}
    values: dict[str, dict[int, str]] = {c: {} for c in keep}
    for chunk in iter_chunks(data, list(keep), encoding=encoding, settings={c: "--keep-columns" for c in keep}):
        for c in keep:
            values[c].update(zip(chunk.lines, chunk.frame[c].tolist()))
    return values


def _plot(run: Path, data, result: dict) -> str | None:
    from .plots import confusion_png

    try:
        png = confusion_png(result, title=f"{run.name} on {Path(data).name}: {result['rows']:,} rows")
        if png is None:
            return None
        path = evaluation_dir(run, data) / CONFUSION_PNG
        write_bytes(path, png)
        return str(path)
    except OSError as exc:  # a read-only run directory (a deployed model) still evaluates
        log.warning(
            f"note: could not write the confusion matrix plot into {run} ({exc.strerror}); metrics are unaffected"
        )
        return None


def write_errors(
    path: str | os.PathLike,
    clf,
    scored,
    *,
    text_column: str = "text",
    kept: dict[str, dict[int, str]] | None = None,
) -> int:
    """Write the misclassified rows of a :class:`~textclf.use.classifier.Scored` to a CSV, most confident
    mistakes first; returns how many.

    Columns: ``line`` (the row's line in the evaluated file), the ``kept`` columns (ids, copied unchanged), the
    text under the evaluated file's own column name (``text_column``), ``true``, ``predicted``, ``confidence``:
    ``textclf explain --model RUN --input errors.csv`` explains the rows as they are, with their true labels and
    lines. For single-label tasks the confidence is the probability of the predicted class. For multi-label
    tasks a row is a mistake when its predicted label set differs from the true one, and the confidence is that
    of its most confident wrong decision (p for a label predicted but absent, 1 - p for a label missed). The
    text is written spreadsheet-safe; the labels and kept values are written exactly as they are.
    """
    task, probs, raw = clf.task, scored.probs, scored.labels
    pred = decide(task, probs, scored.thresholds.value)
    y = label_indicators(task, clf.classes, raw, clf.separator)
    if task == "multilabel":
        wrong = pred != y
        rows = np.flatnonzero(wrong.any(axis=1))
        certainty = np.where(pred == 1, probs, 1.0 - probs)
        confidence = np.where(wrong, certainty, -np.inf).max(axis=1)
    else:
        full = class_probabilities(task, probs)
        rows = np.flatnonzero(pred != y.reshape(-1))
        confidence = full[np.arange(len(pred)), pred]
    predicted = labels_of(task, clf.classes, pred, clf.separator)
    order = rows[np.argsort(-confidence[rows], kind="stable")]
    kept = kept or {}
    fixed = ["line", "true", "predicted", "confidence"]
    names = clf.kept_names([*kept, text_column], fixed)  # a kept column named like a fixed one is renamed
    with atomic_write(Path(path), "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["line", *(names[c] for c in kept), names[text_column], *fixed[1:]])
        for i in order:
            line = scored.lines[i]
            writer.writerow(
                [line, *(values.get(line, "") for values in kept.values()), spreadsheet_safe(scored.texts[i])]
                + [raw[i], predicted[i], f"{confidence[i]:.6f}"]
            )
    return int(len(order))
