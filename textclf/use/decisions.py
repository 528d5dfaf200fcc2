"""From probabilities to decisions: the one place where thresholds are resolved and labels are chosen.

A model's raw output is one probability per output: a sigmoid for a binary task (the positive class, the
second in sorted order), one sigmoid per label for a multi-label task, a softmax over the classes for a
multi-class task. Here they become:

* per-class probabilities (:func:`class_probabilities`: ``[1 - p, p]`` for a binary task);
* thresholds (:func:`resolve_thresholds`): a ``--threshold`` given by the user, else the run's thresholds
  tuned on validation, else 0.5; a multi-class task decides by the most probable class;
* decisions (:func:`decide`), labels (:func:`labels_of`), confidences (:func:`confidence`) and the k most
  probable labels (:func:`top_k`).

:class:`textclf.use.classifier.Classifier` applies them for ``predict``, ``eval``, ``explain``, ``export`` and
training's metrics; nothing else turns probabilities into labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_THRESHOLD = 0.5


def output_names(task: str, classes: list[str]) -> list[str]:
    """The names of the sigmoid outputs: the positive class for binary, every label for multi-label."""
    return [classes[1]] if task == "binary" else list(classes)


@dataclass(frozen=True)
class Thresholds:
    """The decision thresholds in force, and where they come from.

    ``value`` is what :func:`decide` takes: one number for every output, or one per sigmoid output (float32,
    as the run's tuned thresholds are applied). ``named`` gives each sigmoid output's threshold by name (empty
    for a multi-class task). ``source`` is ``default``, ``--threshold`` or ``tuned on validation (OBJECTIVE)``.
    """

    value: float | np.ndarray
    source: str
    named: dict[str, float]


def resolve_thresholds(
    task: str, classes: list[str], tuned: dict | None = None, override: float | None = None
) -> Thresholds:
    """The thresholds to apply: ``override`` (``--threshold``), else ``tuned`` (a run's ``thresholds.json``
    content), else 0.5. A multi-class task has none (it decides by argmax)."""
    names = output_names(task, classes) if task != "multiclass" else []
    if override is not None:
        return Thresholds(float(override), "--threshold", {n: float(override) for n in names})
    if tuned is not None and task != "multiclass":
        mapping = tuned["thresholds"]
        named = {n: float(mapping.get(n, DEFAULT_THRESHOLD)) for n in names}
        values = np.asarray(list(named.values()), dtype=np.float32)
        return Thresholds(values, f"tuned on validation ({tuned.get('objective')})", named)
    return Thresholds(DEFAULT_THRESHOLD, "default", {n: DEFAULT_THRESHOLD for n in names})


def class_probabilities(task: str, probs: np.ndarray) -> np.ndarray:
    """One column per class: ``[1 - p, p]`` for a binary task's single sigmoid output, else as they are."""
    return np.concatenate([1.0 - probs, probs], axis=1) if task == "binary" else probs


def decide(task: str, probs: np.ndarray, threshold: float | np.ndarray = DEFAULT_THRESHOLD) -> np.ndarray:
    """Predicted output indices: (n,) class indices for single-label tasks, (n, C) 0/1 for multi-label.

    ``probs`` are the model's outputs (one column for binary); ``threshold`` one value, or one per output.
    """
    if task == "binary":
        return (probs[:, 0] >= np.asarray(threshold).reshape(-1)[0]).astype(int)
    if task == "multiclass":
        return probs.argmax(axis=1)
    return (probs >= threshold).astype(int)


def labels_of(task: str, classes: list[str], decided: np.ndarray, separator: str = "|") -> list[str]:
    """The predicted label of each row; for multi-label the predicted labels joined by ``separator``."""
    names = np.asarray(classes, dtype=object)
    if task == "multilabel":
        return [separator.join(names[np.flatnonzero(row)]) for row in decided]
    return list(names[decided])


def confidence(task: str, full: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """The probability of the predicted label; for multi-label the lowest among the predicted labels, or
    1 - the highest when none is predicted. ``full``: per-class probabilities."""
    if task == "multilabel":
        lowest = np.where(decided == 1, full, np.inf).min(axis=1)
        return np.where(decided.any(axis=1), lowest, 1.0 - full.max(axis=1))
    return full[np.arange(len(full)), decided]


def top_k(full: np.ndarray, k: int) -> np.ndarray:
    """The column indices of the ``k`` most probable classes of each row, most probable first (ties: class order)."""
    return np.argsort(-full, axis=1, kind="stable")[:, :k]
