"""Metrics of predicted probabilities against true labels (all from ``sklearn.metrics``), and the text report.

Training computes them every epoch and on the final model; ``eval`` and :meth:`Classifier.evaluate
<textclf.use.classifier.Classifier.evaluate>` on a labeled file or list. Labels are compared as exact strings.
"""

from __future__ import annotations

import numpy as np

from ..io.labeled import split_labels
from .decisions import decide


def label_indicators(task: str, classes: list[str], raw_labels: list[str], separator: str = "|") -> np.ndarray:
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


def metrics_from_probs(
    task: str,
    classes: list[str],
    raw_labels: list[str],
    probs: np.ndarray,
    separator: str = "|",
    threshold: float | np.ndarray = 0.5,
    brief: bool = False,
) -> dict:
    """Accuracy, F1 and friends of predicted probabilities against raw label strings.

    Single-label: ``accuracy``, ``macro_f1``, ``weighted_f1``, ``per_class``, ``confusion_matrix``.
    Multi-label: ``micro_f1``, ``macro_f1``, ``subset_accuracy`` (also as ``accuracy``), ``hamming_loss``,
    ``per_label``. With ``brief`` only the headline numbers are computed (used every epoch).
    """
    pred = decide(task, probs, threshold)
    if task == "multilabel":
        return _multilabel_metrics(
            classes, label_indicators(task, classes, raw_labels, separator), pred, threshold, brief
        )
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[c] for c in raw_labels], dtype=int)
    out = _single_label_metrics(classes, y, pred, brief)
    if task == "binary" and not brief:
        from sklearn import metrics as skm

        out["threshold"] = _threshold_json(threshold)
        if len(set(y.tolist())) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y, probs[:, 0]))
    return out


def _multilabel_metrics(classes: list[str], y: np.ndarray, pred: np.ndarray, threshold, brief: bool) -> dict:
    from sklearn import metrics as skm

    out = {
        "rows": len(y),
        "micro_f1": float(skm.f1_score(y, pred, average="micro", zero_division=0)),
        "macro_f1": float(skm.f1_score(y, pred, average="macro", zero_division=0)),
        "subset_accuracy": float(skm.accuracy_score(y, pred)),
        "hamming_loss": float(skm.hamming_loss(y, pred)),
    }
    out["accuracy"] = out["subset_accuracy"]
    if brief:
        return out
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, zero_division=0)
    out["micro_precision"] = float(skm.precision_score(y, pred, average="micro", zero_division=0))
    out["micro_recall"] = float(skm.recall_score(y, pred, average="micro", zero_division=0))
    cms = skm.multilabel_confusion_matrix(y, pred)  # per label [[tn, fp], [fn, tp]]
    out["per_label"] = {
        c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i]),
            "tp": int(cms[i, 1, 1]), "fn": int(cms[i, 1, 0]), "fp": int(cms[i, 0, 1])}
        for i, c in enumerate(classes)
    }  # fmt: skip
    out["threshold"] = _threshold_json(threshold)
    return out


def _single_label_metrics(classes: list[str], y: np.ndarray, pred: np.ndarray, brief: bool) -> dict:
    from sklearn import metrics as skm

    labels = range(len(classes))
    out = {
        "rows": len(y),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "macro_f1": float(skm.f1_score(y, pred, average="macro", labels=labels, zero_division=0)),
    }
    if brief:
        return out
    out["weighted_f1"] = float(skm.f1_score(y, pred, average="weighted", labels=labels, zero_division=0))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    out["per_class"] = {
        c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, c in enumerate(classes)
    }
    out["confusion_matrix"] = {"labels": list(classes), "matrix": skm.confusion_matrix(y, pred, labels=labels).tolist()}
    return out


def format_report(m: dict) -> str:
    """The metrics as a readable text report: headline figures, a per-class table, the confusion matrix."""
    lines = [f"model: {m.get('model', '')}", f"data:  {m.get('data', '')} ({m['rows']:,} rows)", ""]
    if m.get("task") == "multilabel":
        lines += [
            f"micro-F1         {m['micro_f1']:.4f}",
            f"macro-F1         {m['macro_f1']:.4f}",
            f"subset accuracy  {m['subset_accuracy']:.4f}",
            f"hamming loss     {m['hamming_loss']:.4f}",
            "",
        ]
        table = m["per_label"]
    else:
        lines += [
            f"accuracy     {m['accuracy']:.4f}",
            f"macro-F1     {m['macro_f1']:.4f}",
            f"weighted-F1  {m['weighted_f1']:.4f}",
        ]
        if "roc_auc" in m:
            lines.append(f"ROC AUC      {m['roc_auc']:.4f}")
        lines.append("")
        table = m["per_class"]
    if "threshold_source" in m:
        thr = m.get("threshold")
        shown = (
            f"{thr:.3f}"
            if isinstance(thr, float)
            else ", ".join(f"{t:.2f}" for t in thr[:8]) + (" ..." if len(thr) > 8 else "")
        )
        lines.append(f"threshold{'s' if isinstance(thr, list) else ''}: {shown} ({m['threshold_source']})")
        if "at_0.5" in m:
            key = "micro_f1" if m.get("task") == "multilabel" else "macro_f1"
            base = m["at_0.5"][key]
            lines.append(
                f"at 0.5 instead: {key.replace('_', '-')} {base:.4f}, so the thresholds gain {m[key] - base:+.4f}"
            )
        lines.append("")
    width = max([len(c) for c in table] + [5])
    lines.append(f"{'class':<{width}}  precision  recall      f1  support")
    for c, v in table.items():
        lines.append(f"{c:<{width}}  {v['precision']:9.4f}  {v['recall']:6.4f}  {v['f1']:6.4f}  {v['support']:7d}")
    cm = m.get("confusion_matrix")
    if cm and len(cm["labels"]) <= 30:
        labels = cm["labels"]
        cell = max([len(str(x)) for row in cm["matrix"] for x in row] + [len(name) for name in labels] + [4])
        lines += [
            "",
            "confusion matrix (rows: true, columns: predicted)",
            " " * (width + 2) + " ".join(f"{name[:cell]:>{cell}}" for name in labels),
        ]
        for lab, row in zip(labels, cm["matrix"]):
            lines.append(f"{lab:<{width}}  " + " ".join(f"{x:>{cell}}" for x in row))
    if m.get("errors_file"):
        lines += ["", f"wrote {m['errors_written']:,} misclassified rows to {m['errors_file']} (most confident first)"]
    if m.get("plot"):
        lines += [f"confusion matrix plot: {m['plot']}"]
    if m.get("unseen_labels"):
        lines += ["", f"left out, unseen in training: {m['unseen_labels']}"]
    return "\n".join(lines)
