"""The one object for a trained run: :class:`Classifier`.

    >>> import textclf
    >>> clf = textclf.Classifier.load("runs/demo-20261201-120000")
    >>> clf.classes
    ['account', 'billing', 'feedback', 'shipping', 'technical']
    >>> clf.predict(["my parcel never arrived", "I was charged twice"])
    ['shipping', 'billing']
    >>> clf.predict_proba(["my parcel never arrived"]).round(3)    # one column per class
    >>> clf.evaluate(texts, labels)["accuracy"]

Loading verifies the run directory against its manifest exactly as the commands do and rebuilds the network
with textclf's own builder; nothing in the run is executed or unpickled. The Classifier is the only place
where thresholds are resolved and probabilities become decisions (through :mod:`textclf.use.decisions`):
``textclf predict``, ``eval``, ``explain`` and ``export`` all go through it. Once loaded it is safe to call
from several threads at once (its encoder and its traced inference function are built at load time).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, ModelRejected, UsageError
from ..io.labeled import describe_unseen, split_labels, unseen_labels
from .decisions import (
    Thresholds,
    class_probabilities,
    confidence,
    decide,
    labels_of,
    output_names,
    resolve_thresholds,
    top_k,
)
from .metrics import metrics_from_probs

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..config import Config
    from ..run.directory import LoadedRun
    from .attributions import Explanation

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


@dataclass
class Scored:
    """What :meth:`Classifier.score` computed: the metrics, and the rows and probabilities behind them."""

    metrics: dict
    texts: list[str]
    labels: list[str]
    lines: list[int]
    probs: np.ndarray  # the model's outputs (one column for a binary task)
    thresholds: Thresholds
    unseen: dict = field(default_factory=dict)  # labels training never saw: {label: count}


class Classifier:
    """A trained text classifier, loaded from a run directory: predict, evaluate and explain in memory.

    Use :meth:`load`; the constructor takes an already verified :class:`~textclf.run.directory.LoadedRun`.

    Attributes:
        path: the run directory.
        task: ``binary``, ``multiclass`` or ``multilabel``.
        classes: the class names, in the order of the probability columns.
    """

    def __init__(self, run: LoadedRun):
        from ..model.network import Inference

        self._run = run
        self.path = Path(run.path)
        self.task: str = run.task
        self.classes: list[str] = run.classes
        self.separator: str = run.labels.get("separator", "|")
        self.text_column: str = run.labels.get("text_column", "text")
        self.label_column: str = run.labels.get("label_column", "label")
        try:
            self._encoder = run.vocab.encoder()
        except ValueError as exc:  # a vocabulary the text layers refuse
            raise ModelRejected(f"{self.path}: vocab.json cannot be used ({exc})") from None
        self._inference = Inference(run.model)
        self._inference.logits(self._encoder.encode(["warm up"]))  # trace now: later calls may come from threads

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> Classifier:
        """Verify a run directory and load its model.

        Raises:
            UsageError: ``run_dir`` is not a local run directory (a URL, a single model file, missing).
            ModelRejected: the run is incomplete, tampered with or inconsistent (exit 4).
        """
        from ..run.directory import check_run_path, load_run, read_run
        from ..runtime import import_tensorflow

        check_run_path(run_dir)
        files = read_run(run_dir)  # verified and checked file against file, before TensorFlow starts
        import_tensorflow()  # before the model modules import it, so that its native log lines stay quiet
        return cls(load_run(files))

    # ----------------------------------------------------------------------------------------------
    # What the run holds

    @property
    def thresholds(self) -> dict[str, float]:
        """The run's decision thresholds by output name (tuned on validation, else 0.5); empty for multiclass."""
        return self.decision_thresholds().named

    @property
    def metrics(self) -> dict:
        """The run's ``metrics.json``: validation and test figures, timing, data fingerprints."""
        return self._run.metrics

    @property
    def config(self) -> Config:
        """The resolved config the run was trained with."""
        from ..config.schema import Config

        return Config.from_dict(self._run.config)

    @property
    def vocabulary(self):
        """The fitted :class:`~textclf.model.vocabulary.Vocabulary`."""
        return self._run.vocab

    @property
    def hyperparameters(self):
        """The :class:`~textclf.model.hyperparameters.Hyperparameters` the network was built from."""
        return self._run.hyperparameters

    @property
    def model(self):
        """The Keras model (outputs logits)."""
        return self._run.model

    def decision_thresholds(self, threshold: float | None = None) -> Thresholds:
        """The thresholds in force: ``threshold`` for every output if given, else the run's tuned ones, else 0.5."""
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise UsageError(f"--threshold: received {threshold}, expected a number from 0 to 1")
        return resolve_thresholds(self.task, self.classes, self._run.thresholds, threshold)

    def output_names(self) -> list[str]:
        """The names of the sigmoid outputs (the positive class for binary, each label for multi-label)."""
        return output_names(self.task, self.classes)

    # ----------------------------------------------------------------------------------------------
    # Scoring texts

    def encode(self, texts: Sequence[str]):
        """The model inputs of ``texts`` (an :class:`~textclf.model.vocabulary.Encoded` set)."""
        return self._encoder.encode([str(t) for t in texts])

    def logits(self, texts: Sequence[str], batch_size: int = 512, progress: Progress | None = None) -> np.ndarray:
        """The model's logits: (n, 1) for binary, (n, classes) otherwise."""
        return self._inference.logits(self.encode(texts), batch_size, progress)

    def outputs(self, texts: Sequence[str], batch_size: int = 512, progress: Progress | None = None) -> np.ndarray:
        """The model's output probabilities: (n, 1) for binary (the positive class), (n, classes) otherwise."""
        from ..model.network import probabilities_from_logits

        return probabilities_from_logits(self.task, self.logits(texts, batch_size, progress))

    def predict_proba(self, texts: Sequence[str], batch_size: int = 512) -> np.ndarray:
        """Probabilities, one column per class in :attr:`classes` order (binary: ``[1 - p, p]``)."""
        return class_probabilities(self.task, self.outputs(texts, batch_size))

    def decide(self, outputs: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Decisions from :meth:`outputs`: class indices (n,), or a 0/1 matrix (n, classes) for multi-label."""
        return decide(self.task, outputs, self.decision_thresholds(threshold).value)

    def predict(
        self, texts: Sequence[str], threshold: float | None = None, batch_size: int = 512
    ) -> list[str] | list[list[str]]:
        """The predicted label of each text; for multi-label, the list of predicted labels (maybe empty)."""
        decided = self.decide(self.outputs(texts, batch_size), threshold)
        if self.task == "multilabel":
            return [[self.classes[j] for j in np.flatnonzero(row)] for row in decided]
        return labels_of(self.task, self.classes, decided)

    def predict_frame(
        self,
        frame: pd.DataFrame,
        text_column: str | None = None,
        keep_columns: Sequence[str] = (),
        top_k: int = 0,
        threshold: float | None = None,
        batch_size: int = 512,
        progress: Progress | None = None,
    ) -> pd.DataFrame:
        """The table ``textclf predict`` writes, for the rows of ``frame``, as a DataFrame.

        Columns: the ``keep_columns`` (copied), ``prediction``, ``confidence``, ``top1``, ``top1_p`` ...
        ``topK``, ``topK_p`` (with ``top_k``), and ``p_<class>`` for each class.
        """
        column = text_column or self.text_column
        if column not in frame.columns:
            raise DataError(f"column {column!r} not found; columns: {', '.join(map(repr, frame.columns))}")
        texts = ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in frame[column].tolist()]
        return self.prediction_table(self.outputs(texts, batch_size, progress), frame, keep_columns, top_k, threshold)

    def prediction_table(
        self,
        outputs: np.ndarray,
        frame: pd.DataFrame,
        keep_columns: Sequence[str] = (),
        top_k: int = 0,
        threshold: float | None = None,
        lines: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """The prediction table of ``frame``'s rows from the model ``outputs`` of their texts.

        ``lines``: a first ``line`` column with each row's input line. The kept columns come next, their values
        unchanged; one named like an output column is renamed (see :meth:`kept_names`).
        """
        import pandas as pd

        decided = self.table_columns(outputs, top_k, threshold)
        columns: list = [np.asarray(lines)] if lines is not None else []
        columns += [frame[c].reset_index(drop=True) for c in keep_columns]
        columns += [pd.Series(v, dtype=object) if isinstance(v, list) else v for v in decided.values()]
        table = pd.DataFrame({i: c for i, c in enumerate(columns)})
        kept = self.kept_names(keep_columns, list(decided) + (["line"] if lines is not None else []))
        table.columns = (["line"] if lines is not None else []) + list(kept.values()) + list(decided)
        return table

    @staticmethod
    def kept_names(keep_columns: Sequence[str], outputs: Sequence[str]) -> dict[str, str]:
        """The output name of each kept input column: its own, or ``input_NAME`` when an output column (or
        another kept column) already has that name, so that no name is written twice."""
        taken, names = set(outputs), {}
        for column in keep_columns:
            name = column
            while name in taken:
                name = f"input_{name}"
            names[column] = name
            taken.add(name)
        return names

    def table_columns(self, outputs: np.ndarray, top: int = 0, threshold: float | None = None) -> dict:
        """The decided columns of the prediction table for model outputs: prediction, confidence, top-k, p_*."""
        full = class_probabilities(self.task, outputs)
        decided = self.decide(outputs, threshold)
        columns = {
            "prediction": labels_of(self.task, self.classes, decided, self.separator),
            "confidence": confidence(self.task, full, decided),
        }
        names = np.asarray(self.classes, dtype=object)
        if top:
            order = top_k(full, min(top, len(self.classes)))
            for k in range(order.shape[1]):
                columns[f"top{k + 1}"] = list(names[order[:, k]])
                columns[f"top{k + 1}_p"] = full[np.arange(len(full)), order[:, k]]
        for j, name in enumerate(self.classes):
            columns[f"p_{name}"] = full[:, j]
        return columns

    # ----------------------------------------------------------------------------------------------
    # Evaluating and explaining

    def score(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        lines: Sequence[int] | None = None,
        *,
        threshold: float | None = None,
        ignore_unseen: bool = False,
        batch_size: int = 512,
        progress: Progress | None = None,
        where: str = "the labels",
    ) -> Scored:
        """Metrics of the model on ``texts`` against their raw ``labels``, with the rows and outputs behind them.

        Labels the model never saw are a DataError naming them, unless ``ignore_unseen`` (then those rows, or
        for multi-label those labels, are left out and listed in ``unseen``).
        """
        texts, raw = [str(t) for t in texts], [str(y) for y in labels]
        lines = list(lines) if lines is not None else list(range(1, len(texts) + 1))
        unseen = unseen_labels(raw, self.classes, self.task, self.separator)
        if unseen:
            message = f"{where}: labels that the model was never trained on: {describe_unseen(unseen, self.classes)}"
            if not ignore_unseen:
                raise DataError(message + "; fix the labels, or pass --ignore-unseen to leave them out")
            log.warning(message + "; left out (--ignore-unseen)")
            texts, raw, lines = self._without_unseen(texts, raw, lines, unseen)
            if not texts:
                raise DataError(f"{where}: no rows left after leaving out unseen labels")
        probs = self.outputs(texts, batch_size, progress)
        thr = self.decision_thresholds(threshold)
        result = metrics_from_probs(self.task, self.classes, raw, probs, self.separator, threshold=thr.value)
        if self.task != "multiclass":
            result["threshold_source"] = thr.source
            if thr.source != "default" and not np.allclose(thr.value, 0.5):
                result["at_0.5"] = metrics_from_probs(
                    self.task, self.classes, raw, probs, self.separator, threshold=0.5, brief=True
                )
        result["task"] = self.task
        return Scored(result, texts, raw, lines, probs, thr, dict(unseen))

    def _without_unseen(self, texts: list[str], raw: list[str], lines: list[int], unseen) -> tuple:
        if self.task == "multilabel":
            known = set(self.classes)
            kept = [
                self.separator.join(lab for lab in row if lab in known)
                for row in split_labels(raw, self.task, self.separator)
            ]
            return texts, kept, lines
        keep = [i for i, lab in enumerate(raw) if lab not in unseen]
        return [texts[i] for i in keep], [raw[i] for i in keep], [lines[i] for i in keep]

    def evaluate(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        threshold: float | None = None,
        ignore_unseen: bool = False,
        batch_size: int = 512,
    ) -> dict:
        """Accuracy, F1 and friends (see :func:`textclf.use.metrics.metrics_from_probs`) on ``texts``."""
        return self.score(
            texts, labels, threshold=threshold, ignore_unseen=ignore_unseen, batch_size=batch_size
        ).metrics

    def explain(
        self,
        texts: Sequence[str],
        *,
        label: str | None = None,
        measure: str = "logodds",
        threshold: float | None = None,
        lines: Sequence[int] | None = None,
    ) -> list[Explanation]:
        """Which words made the model decide, by occlusion (see :mod:`textclf.use.explain`)."""
        from .attributions import explain_texts

        return explain_texts(self, texts, label=label, measure=measure, threshold=threshold, lines=lines)

    def __repr__(self) -> str:
        return f"Classifier({str(self.path)!r}, task={self.task!r}, classes={len(self.classes)})"
