"""What every benchmark child script shares: reading a dataset, scoring predictions, reporting a result.

A child script (seed_keras.py, seed_predict.py, peers.py) prints exactly one line that starts with
``BENCH_RESULT `` followed by a JSON object; run.py reads that line. Everything else a child prints is kept
in its log file.

Metrics are computed the same way for every peer, with scikit-learn, on label strings:
- single-label: accuracy, and macro-F1 over the classes seen in training (as textclf does);
- multi-label: micro-F1 and macro-F1 over the labels of train and test, and subset accuracy, each label
  decided at probability 0.5.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

RESULT_PREFIX = "BENCH_RESULT "
LABEL_SEPARATOR = "|"


def label_column_of(path: str | Path) -> str:
    """The label column of a dataset file: ``labels`` (multi-label, joined by ``|``) or ``label``."""
    header = pd.read_csv(path, nrows=0).columns
    return "labels" if "labels" in header and "label" not in header else "label"


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a dataset CSV as strings, leaving "NA", "null" and the like alone."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


@dataclass
class Split:
    texts: list[str]
    labels: list[str]  # single-label: the label; multi-label: the labels joined by "|"


def read_split(path: str | Path, label_column: str, text_column: str = "text") -> Split:
    frame = read_csv(path)
    return Split(frame[text_column].tolist(), frame[label_column].tolist())


def task_of(label_column: str, train_labels: list[str]) -> str:
    if label_column == "labels":
        return "multilabel"
    return "binary" if len(set(train_labels)) == 2 else "multiclass"


def split_labels(cell: str) -> list[str]:
    return [part for part in cell.split(LABEL_SEPARATOR) if part]


def score(task: str, train_labels: list[str], true: list[str], predicted: list) -> dict:
    """Test metrics of ``predicted`` labels (multi-label: lists of labels) against the ``true`` label cells."""
    from sklearn import metrics as skm

    if task == "multilabel":
        from sklearn.preprocessing import MultiLabelBinarizer

        true_sets = [split_labels(cell) for cell in true]
        classes = sorted({c for cell in train_labels for c in split_labels(cell)} | {c for s in true_sets for c in s})
        binarizer = MultiLabelBinarizer(classes=classes)
        y_true = binarizer.fit_transform(true_sets)
        y_pred = binarizer.transform(predicted)
        return {
            "micro_f1": float(skm.f1_score(y_true, y_pred, average="micro", zero_division=0)),
            "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0)),
            "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        }  # subset accuracy
    classes = sorted(set(train_labels))
    return {
        "accuracy": float(skm.accuracy_score(true, predicted)),
        "macro_f1": float(skm.f1_score(true, predicted, average="macro", labels=classes, zero_division=0)),
    }


def emit(result: dict) -> None:
    """Print the one result line that run.py reads."""
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def parse_result(stdout: str) -> dict | None:
    """The result a child printed, or None when it printed none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return None
