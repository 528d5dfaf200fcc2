"""Evaluating a run on a labeled file: metrics from scikit-learn, and a readable report.

All figures come from ``sklearn.metrics``, the field's reference implementation. Labels in the file that
training never saw are named with their counts: an error (exit 3) unless ``ignore_unseen`` is set, in
which case those rows (or, for multi-label, those labels) are left out and reported.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .data import describe_unseen, read_labeled, split_labels, unseen_labels
from .errors import DataError


def decide(task: str, probs: np.ndarray, threshold: float | np.ndarray = 0.5) -> np.ndarray:
    """Predicted output indices: (n,) class indices for single-label tasks, (n, C) 0/1 for multi-label.

    ``threshold``: one value, or one per sigmoid output (see :mod:`textclf.thresholds`).
    """
    if task == "binary":
        return (probs[:, 0] >= np.asarray(threshold).reshape(-1)[0]).astype(int)
    if task == "multiclass":
        return probs.argmax(axis=1)
    return (probs >= threshold).astype(int)


def targets(task: str, classes: list[str], raw_labels: list[str], separator: str = "|") -> np.ndarray:
    """The 0/1 matrix of the sigmoid outputs (binary: (n, 1), multi-label: (n, C)) for raw label strings."""
    if task == "multilabel":
        from sklearn.preprocessing import MultiLabelBinarizer

        return MultiLabelBinarizer(classes=classes).fit_transform(split_labels(raw_labels, task, separator))
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[c] for c in raw_labels], dtype=int)
    return y.reshape(-1, 1) if task == "binary" else y


def _threshold_json(threshold) -> float | list[float]:
    arr = np.asarray(threshold, dtype=float).reshape(-1)
    return round(float(arr[0]), 6) if arr.size == 1 else [round(float(x), 6) for x in arr]


def metrics_from_probs(task: str, classes: list[str], raw_labels: list[str], probs: np.ndarray,
                       separator: str = "|", threshold: float | np.ndarray = 0.5, brief: bool = False) -> dict:
    """Accuracy, F1 and friends of predicted probabilities against raw label strings.

    Single-label: ``accuracy``, ``macro_f1``, ``weighted_f1``, ``per_class``, ``confusion_matrix``.
    Multi-label: ``micro_f1``, ``macro_f1``, ``subset_accuracy`` (also as ``accuracy``), ``hamming_loss``,
    ``per_label``. With ``brief`` only the headline numbers are computed (used every epoch).
    """
    from sklearn import metrics as skm

    n = len(raw_labels)
    pred = decide(task, probs, threshold)
    if task == "multilabel":
        y = targets(task, classes, raw_labels, separator)
        out = {"rows": n,
               "micro_f1": float(skm.f1_score(y, pred, average="micro", zero_division=0)),
               "macro_f1": float(skm.f1_score(y, pred, average="macro", zero_division=0)),
               "subset_accuracy": float(skm.accuracy_score(y, pred)),
               "hamming_loss": float(skm.hamming_loss(y, pred))}
        out["accuracy"] = out["subset_accuracy"]
        if brief:
            return out
        p, r, f, s = skm.precision_recall_fscore_support(y, pred, zero_division=0)
        out["micro_precision"] = float(skm.precision_score(y, pred, average="micro", zero_division=0))
        out["micro_recall"] = float(skm.recall_score(y, pred, average="micro", zero_division=0))
        cms = skm.multilabel_confusion_matrix(y, pred)  # per label [[tn, fp], [fn, tp]]
        out["per_label"] = {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i]),
                                "tp": int(cms[i, 1, 1]), "fn": int(cms[i, 1, 0]), "fp": int(cms[i, 0, 1])}
                            for i, c in enumerate(classes)}
        out["threshold"] = _threshold_json(threshold)
        return out
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[c] for c in raw_labels], dtype=int)
    out = {"rows": n, "accuracy": float(skm.accuracy_score(y, pred)),
           "macro_f1": float(skm.f1_score(y, pred, average="macro", labels=range(len(classes)), zero_division=0))}
    if brief:
        return out
    out["weighted_f1"] = float(skm.f1_score(y, pred, average="weighted", labels=range(len(classes)), zero_division=0))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=range(len(classes)), zero_division=0)
    out["per_class"] = {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                        for i, c in enumerate(classes)}
    out["confusion_matrix"] = {"labels": list(classes),
                               "matrix": skm.confusion_matrix(y, pred, labels=range(len(classes))).tolist()}
    if task == "binary":
        out["threshold"] = _threshold_json(threshold)
        if len(set(y.tolist())) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y, probs[:, 0]))
    return out


def evaluate(model: str | os.PathLike, data: str | os.PathLike, *, text_column: str | None = None,
             label_column: str | None = None, output: str | os.PathLike | None = None,
             ignore_unseen: bool = False, batch_size: int = 512, encoding: str = "utf-8",
             threshold: float | None = None, errors: str | os.PathLike | None = None, plots: bool = True,
             log=None, progress=None) -> dict:
    """Evaluate the run directory ``model`` on the labeled file ``data``.

    Args:
        model: a textclf run directory (verified against its manifest before use).
        data: a labeled .csv/.tsv/.jsonl/.parquet file.
        text_column, label_column: default to the columns the run was trained with.
        output: also write the metrics as JSON to this path (atomically).
        ignore_unseen: leave out labels the run never saw instead of failing.
        threshold: one decision threshold for every label (binary and multi-label). By default the run's
            tuned thresholds apply (0.5 for a run without them); the metrics at 0.5 are then reported too.
        errors: write the misclassified rows to this CSV, most confident mistakes first.
        plots: draw the confusion matrix into ``RUN/evaluations/<data name>/`` (skipped with a note when the
            run directory is read-only).
        progress: ``progress(done, total)`` after each scored batch.

    Returns:
        The metrics dict (see :func:`metrics_from_probs`), plus ``data``, ``model``, ``unseen_labels``, and
        for tuned thresholds ``at_0.5`` (the headline metrics at 0.5) and ``threshold_source``.
    """
    from . import artifacts
    from .errors import UsageError
    from .quiet import import_tensorflow
    from .thresholds import as_array

    for flag, path in (("--output", output), ("--errors", errors)):
        if path is None:
            continue
        out, src = Path(path), Path(data)
        if out.resolve() == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src)):
            raise UsageError(f"{flag} {out} is the data file; choose another path (the data is left unchanged)")
        if Path(model).resolve() in out.resolve().parents:
            raise UsageError(f"{flag} {out} is inside the run directory, whose files are sealed by its manifest; "
                             "write it elsewhere")
        if not out.parent.exists():
            raise UsageError(f"{flag} {out}: the folder {out.parent} does not exist; create it first")
    import_tensorflow()  # before anything imports TensorFlow, so that its native log lines stay quiet
    from .model import predict_logits, probabilities_from_logits

    run = artifacts.load_run(model)
    task, classes, sep = run.task, run.classes, run.labels.get("separator", "|")
    text_column = text_column or run.labels.get("text_column", "text")
    label_column = label_column or run.labels.get("label_column", "label")
    t0 = time.perf_counter()
    labeled = read_labeled(data, text_column, label_column, encoding=encoding)
    unseen = unseen_labels(labeled.labels, classes, task, sep)
    texts, raw, lines = labeled.texts, labeled.labels, labeled.lines
    if unseen:
        message = f"{data}: labels that the model was never trained on: {describe_unseen(unseen, classes)}"
        if not ignore_unseen:
            raise DataError(message + "; fix the labels, or pass --ignore-unseen to leave them out")
        if log:
            log(message + "; left out (--ignore-unseen)")
        if task == "multilabel":
            known = set(classes)
            raw = [sep.join(l for l in row if l in known) for row in split_labels(raw, task, sep)]
        else:
            keep = [i for i, lab in enumerate(raw) if lab not in unseen]
            texts, raw, lines = [texts[i] for i in keep], [raw[i] for i in keep], [lines[i] for i in keep]
            if not texts:
                raise DataError(f"{data}: no rows left after leaving out unseen labels")
    encoded = run.vocab.encoder().encode(texts)
    probs = probabilities_from_logits(task, predict_logits(run.model, encoded, batch_size, progress=progress))
    if threshold is not None:
        thr, source = float(threshold), "--threshold"
    elif run.thresholds is not None and task != "multiclass":
        thr, source = as_array(run.thresholds, task, classes), f"tuned on validation ({run.thresholds['objective']})"
    else:
        thr, source = 0.5, "default"
    result = metrics_from_probs(task, classes, raw, probs, sep, threshold=thr)
    if task != "multiclass":
        result["threshold_source"] = source
        if source != "default" and not np.allclose(thr, 0.5):
            result["at_0.5"] = metrics_from_probs(task, classes, raw, probs, sep, threshold=0.5, brief=True)
    result["task"] = task
    result["data"] = str(data)
    result["model"] = str(run.path)
    result["unseen_labels"] = dict(unseen)
    if errors is not None:
        result["errors_file"] = str(errors)
        result["errors_written"] = write_errors(errors, task, classes, texts, raw, lines, probs, thr, sep)
    if plots:
        result["plot"] = _plot(run.path, data, result, log)
    result["seconds"] = round(time.perf_counter() - t0, 3)
    if output:
        import json

        out = Path(output)
        with artifacts.atomic_write(out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
            f.write("\n")
    return result


def _plot(run: Path, data, result: dict, log) -> str | None:
    from . import artifacts
    from .plots import confusion_png

    try:
        png = confusion_png(result, title=f"{Path(data).name}: {result['rows']:,} rows")
        if png is None:
            return None
        return str(artifacts.write_evaluation_plot(artifacts.evaluation_dir(run, data), png))
    except OSError as exc:  # a read-only run directory (a deployed model) still evaluates
        if log:
            log(f"note: could not write the confusion matrix plot into {run} ({exc.strerror}); metrics are unaffected")
        return None


def write_errors(path: str | os.PathLike, task: str, classes: list[str], texts: list[str], raw: list[str],
                 lines: list[int], probs: np.ndarray, threshold, separator: str = "|") -> int:
    """Write the misclassified rows to a CSV, most confident mistakes first; returns how many.

    Columns: ``line`` (in the data file), ``text``, ``true``, ``predicted``, ``confidence``. For single-label
    tasks the confidence is the probability of the predicted class. For multi-label tasks a row is a mistake
    when its predicted label set differs from the true one, and the confidence is that of its most confident
    wrong decision (p for a label predicted but absent, 1 - p for a label missed). Text is written
    spreadsheet-safe (see :func:`textclf.prediction.spreadsheet_safe`).
    """
    import csv

    from . import artifacts
    from .prediction import spreadsheet_safe

    pred = decide(task, probs, threshold)
    names = np.asarray(classes, dtype=object)
    if task == "multilabel":
        y = targets(task, classes, raw, separator)
        wrong = (pred != y)
        rows = np.flatnonzero(wrong.any(axis=1))
        certainty = np.where(pred == 1, probs, 1.0 - probs)
        confidence = np.where(wrong, certainty, -np.inf).max(axis=1)
        predicted = [separator.join(names[np.flatnonzero(pred[i])]) for i in range(len(pred))]
    else:
        full = np.concatenate([1.0 - probs, probs], axis=1) if task == "binary" else probs
        y = targets(task, classes, raw, separator).reshape(-1)
        rows = np.flatnonzero(pred != y)
        confidence = full[np.arange(len(pred)), pred]
        predicted = list(names[pred])
    order = rows[np.argsort(-confidence[rows], kind="stable")]
    with artifacts.atomic_write(Path(path), "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["line", "text", "true", "predicted", "confidence"])
        for i in order:
            writer.writerow([lines[i], spreadsheet_safe(texts[i]), spreadsheet_safe(raw[i]),
                             spreadsheet_safe(predicted[i]), f"{confidence[i]:.6f}"])
    return int(len(order))


def format_report(m: dict) -> str:
    """The metrics as a readable text report: headline figures, a per-class table, the confusion matrix."""
    lines = [f"model: {m.get('model', '')}", f"data:  {m.get('data', '')} ({m['rows']:,} rows)", ""]
    if m.get("task") == "multilabel":
        lines += [f"micro-F1         {m['micro_f1']:.4f}", f"macro-F1         {m['macro_f1']:.4f}",
                  f"subset accuracy  {m['subset_accuracy']:.4f}", f"hamming loss     {m['hamming_loss']:.4f}", ""]
        table = m["per_label"]
    else:
        lines += [f"accuracy     {m['accuracy']:.4f}", f"macro-F1     {m['macro_f1']:.4f}",
                  f"weighted-F1  {m['weighted_f1']:.4f}"]
        if "roc_auc" in m:
            lines.append(f"ROC AUC      {m['roc_auc']:.4f}")
        lines.append("")
        table = m["per_class"]
    if "threshold_source" in m:
        thr = m.get("threshold")
        shown = f"{thr:.3f}" if isinstance(thr, float) else ", ".join(f"{t:.2f}" for t in thr[:8]) + (" ..." if len(thr) > 8 else "")
        lines.append(f"threshold{'s' if isinstance(thr, list) else ''}: {shown} ({m['threshold_source']})")
        if "at_0.5" in m:
            key = "micro_f1" if m.get("task") == "multilabel" else "macro_f1"
            base = m["at_0.5"][key]
            lines.append(f"at 0.5 instead: {key.replace('_', '-')} {base:.4f}, so the thresholds gain "
                         f"{m[key] - base:+.4f}")
        lines.append("")
    width = max([len(c) for c in table] + [5])
    lines.append(f"{'class':<{width}}  precision  recall      f1  support")
    for c, v in table.items():
        lines.append(f"{c:<{width}}  {v['precision']:9.4f}  {v['recall']:6.4f}  {v['f1']:6.4f}  {v['support']:7d}")
    cm = m.get("confusion_matrix")
    if cm and len(cm["labels"]) <= 30:
        labels = cm["labels"]
        cell = max([len(str(x)) for row in cm["matrix"] for x in row] + [len(l) for l in labels] + [4])
        lines += ["", "confusion matrix (rows: true, columns: predicted)",
                  " " * (width + 2) + " ".join(f"{l[:cell]:>{cell}}" for l in labels)]
        for lab, row in zip(labels, cm["matrix"]):
            lines.append(f"{lab:<{width}}  " + " ".join(f"{x:>{cell}}" for x in row))
    if m.get("errors_file"):
        lines += ["", f"wrote {m['errors_written']:,} misclassified rows to {m['errors_file']} (most confident first)"]
    if m.get("plot"):
        lines += [f"confusion matrix plot: {m['plot']}"]
    if m.get("unseen_labels"):
        lines += ["", f"left out, unseen in training: {m['unseen_labels']}"]
    return "\n".join(lines)
