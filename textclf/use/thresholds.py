"""Tuning the decision thresholds of binary and multi-label tasks on validation (applied by :mod:`.decisions`).

A sigmoid output says "yes" when its probability reaches the threshold. 0.5 is right only when the model's
probabilities are calibrated and errors of both kinds cost the same; on imbalanced labels it rarely is. So
after training, each label's threshold is chosen on the validation set:

* ``f1`` (default): the threshold that maximizes the label's F1; for a binary task, the macro-F1 of its two
  classes (the positive class's F1 alone rewards predicting the positive class, and costs accuracy on
  balanced data);
* ``precision``: the lowest threshold whose precision reaches ``target`` (the most recall at that precision);
* ``recall``: the highest threshold whose recall reaches ``target`` (the most precision at that recall).

Candidates are the validation probabilities themselves (scikit-learn's ``precision_recall_curve``), with the
threshold set halfway to the next lower score so that it is not tied to one validation example. On a
validation set of a few hundred rows the optimum is noisy: the test gain that train and eval report is the
figure to trust. (Averaging the thresholds of bootstrap resamples was measured and did not help reliably.) A label with
fewer than ``MIN_POSITIVES`` positive validation rows keeps 0.5: too few to tune on. When a target cannot be
met, the label keeps the threshold closest to it and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .decisions import output_names

OBJECTIVES = ("f1", "precision", "recall")
MIN_POSITIVES = 3


@dataclass
class Tuned:
    """Tuned thresholds, one per output (one for binary: the positive class), and notes on labels left at 0.5."""

    objective: str
    target: float | None
    values: list[float]
    notes: list[str] = field(default_factory=list)

    def to_json(self, names: list[str]) -> dict:
        return {
            "objective": self.objective,
            "target": self.target,
            "thresholds": {n: round(v, 6) for n, v in zip(names, self.values)},
            "notes": self.notes,
        }


def _one(
    y: np.ndarray, p: np.ndarray, objective: str, target: float, both_classes: bool = False
) -> tuple[float, str | None]:
    from sklearn.metrics import precision_recall_curve

    positives = int(y.sum())
    if positives < MIN_POSITIVES or positives == len(y):
        return 0.5, f"{positives} positive validation rows of {len(y)}: too few to tune, kept 0.5"
    precision, recall, cut = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]  # the last point (recall 0) has no threshold
    # halfway between a candidate and the next lower score: the same decisions on validation, less brittle
    scores = np.unique(p)
    below = np.searchsorted(scores, cut) - 1
    lower = np.where(below >= 0, scores[np.maximum(below, 0)], 0.0)
    cut = (cut + lower) / 2.0
    note = None
    if objective == "f1":
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
        if both_classes:  # add the negative class's F1 at each threshold, from the counts
            pos, neg = positives, len(y) - positives
            tp = recall * pos
            fp = np.where(precision > 0, tp / np.maximum(precision, 1e-12) - tp, 0.0)
            fn, tn = pos - tp, neg - fp
            f1 = (f1 + 2 * tn / np.maximum(2 * tn + fn + fp, 1e-12)) / 2
        i = int(np.argmax(f1))
    elif objective == "precision":
        ok = np.flatnonzero(precision >= target)
        if len(ok):
            i = int(ok[np.argmax(recall[ok])])
        else:
            i = int(np.argmax(precision))
            note = f"precision {target:g} is not reached on validation; best is {precision[i]:.3f}"
    else:
        ok = np.flatnonzero(recall >= target)
        if len(ok):
            i = int(ok[np.argmax(precision[ok])])
        else:
            i = int(np.argmax(recall))
            note = f"recall {target:g} is not reached on validation; best is {recall[i]:.3f}"
    return float(np.clip(cut[i], 1e-6, 1.0)), note


def tune(
    task: str, classes: list[str], y: np.ndarray, probs: np.ndarray, objective: str = "f1", target: float = 0.9
) -> Tuned:
    """Tune one threshold per sigmoid output on validation targets ``y`` (0/1, shaped like ``probs``).

    Raises ValueError for a multi-class task (it decides by argmax: there is nothing to tune) or an unknown
    objective.
    """
    if task not in ("binary", "multilabel"):
        raise ValueError(f"thresholds apply to binary and multi-label tasks, received task {task!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"received threshold objective {objective!r}, expected one of {', '.join(OBJECTIVES)}")
    y = np.asarray(y).reshape(len(probs), -1).astype(int)
    values, notes = [], []
    for j, name in enumerate(output_names(task, classes)):
        value, note = _one(y[:, j], probs[:, j], objective, target, both_classes=task == "binary")
        values.append(value)
        if note:
            notes.append(f"{name}: {note}")
    return Tuned(objective, target if objective != "f1" else None, values, notes)
