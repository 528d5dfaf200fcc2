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


def decide(task: str, probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Predicted output indices: (n,) class indices for single-label tasks, (n, C) 0/1 for multi-label."""
    if task == "binary":
        return (probs[:, 0] >= threshold).astype(int)
    if task == "multiclass":
        return probs.argmax(axis=1)
    return (probs >= threshold).astype(int)


def metrics_from_probs(task: str, classes: list[str], raw_labels: list[str], probs: np.ndarray,
                       separator: str = "|", threshold: float = 0.5, brief: bool = False) -> dict:
    """Accuracy, F1 and friends of predicted probabilities against raw label strings.

    Single-label: ``accuracy``, ``macro_f1``, ``weighted_f1``, ``per_class``, ``confusion_matrix``.
    Multi-label: ``micro_f1``, ``macro_f1``, ``subset_accuracy`` (also as ``accuracy``), ``hamming_loss``,
    ``per_label``. With ``brief`` only the headline numbers are computed (used every epoch).
    """
    from sklearn import metrics as skm

    n = len(raw_labels)
    pred = decide(task, probs, threshold)
    if task == "multilabel":
        from sklearn.preprocessing import MultiLabelBinarizer

        y = MultiLabelBinarizer(classes=classes).fit_transform(split_labels(raw_labels, task, separator))
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
        out["per_label"] = {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                            for i, c in enumerate(classes)}
        out["threshold"] = threshold
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
        out["threshold"] = threshold
        if len(set(y.tolist())) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y, probs[:, 0]))
    return out


def evaluate(model: str | os.PathLike, data: str | os.PathLike, *, text_column: str | None = None,
             label_column: str | None = None, output: str | os.PathLike | None = None,
             ignore_unseen: bool = False, batch_size: int = 512, encoding: str = "utf-8",
             log=None) -> dict:
    """Evaluate the run directory ``model`` on the labeled file ``data``.

    Args:
        model: a textclf run directory (verified against its manifest before use).
        data: a labeled .csv/.tsv/.jsonl/.parquet file.
        text_column, label_column: default to the columns the run was trained with.
        output: also write the metrics as JSON to this path (atomically).
        ignore_unseen: leave out labels the run never saw instead of failing.

    Returns:
        The metrics dict (see :func:`metrics_from_probs`), plus ``data``, ``model`` and ``unseen_labels``.
    """
    from . import artifacts
    from .errors import UsageError
    from .quiet import import_tensorflow

    import_tensorflow()  # before anything imports TensorFlow, so that its native log lines stay quiet
    from .model import predict_logits, probabilities_from_logits

    if output is not None:
        out, src = Path(output), Path(data)
        if out.resolve() == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src)):
            raise UsageError(f"--output {out} is the data file; choose another path (the data is left unchanged)")
        if out.resolve().parent == Path(model).resolve():
            raise UsageError(f"--output {out} is inside the run directory, whose files are sealed by its manifest; "
                             "write the metrics elsewhere")
    run = artifacts.load_run(model)
    task, classes, sep = run.task, run.classes, run.labels.get("separator", "|")
    text_column = text_column or run.labels.get("text_column", "text")
    label_column = label_column or run.labels.get("label_column", "label")
    t0 = time.perf_counter()
    labeled = read_labeled(data, text_column, label_column, encoding=encoding)
    unseen = unseen_labels(labeled.labels, classes, task, sep)
    texts, raw = labeled.texts, labeled.labels
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
            texts, raw = [texts[i] for i in keep], [raw[i] for i in keep]
            if not texts:
                raise DataError(f"{data}: no rows left after leaving out unseen labels")
    encoded = run.vocab.encoder().encode(texts)
    probs = probabilities_from_logits(task, predict_logits(run.model, encoded, batch_size))
    result = metrics_from_probs(task, classes, raw, probs, sep)
    result["task"] = task
    result["data"] = str(data)
    result["model"] = str(run.path)
    result["unseen_labels"] = dict(unseen)
    result["seconds"] = round(time.perf_counter() - t0, 3)
    if output:
        import json

        out = Path(output)
        with artifacts.atomic_write(out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
            f.write("\n")
    return result


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
    if m.get("unseen_labels"):
        lines += ["", f"left out, unseen in training: {m['unseen_labels']}"]
    return "\n".join(lines)
