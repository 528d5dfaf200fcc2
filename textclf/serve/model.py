"""A loaded run as the server uses it, without HTTP: texts scored through the micro-batcher, and the
Classifier's decisions and explanations turned into JSON-ready dicts.

Decisions come from :meth:`Classifier.table_columns <textclf.use.classifier.Classifier.table_columns>` and
:meth:`Classifier.decide <textclf.use.classifier.Classifier.decide>`, as ``textclf predict`` makes them (the
run's tuned thresholds unless a request gives one); word scores from :meth:`Classifier.explain
<textclf.use.classifier.Classifier.explain>`, as ``textclf explain`` gives them. Only the worker thread of the
:class:`~textclf.serve.batching.MicroBatcher` calls the model.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..run.layout import MANIFEST
from .batching import MicroBatcher
from .options import ServeOptions

if TYPE_CHECKING:  # pragma: no cover
    from ..use.attributions import Explanation
    from ..use.classifier import Classifier


class ServedModel:
    """A :class:`~textclf.use.classifier.Classifier` and the one worker thread that calls it."""

    def __init__(self, clf: Classifier, options: ServeOptions, manifest_sha256: str):
        self.clf = clf
        self.options = options
        self.manifest_sha256 = manifest_sha256
        self.in_flight = 0  # /predict and /explain requests being answered (counted on the event loop's thread)
        self.batcher = MicroBatcher(
            self.outputs,
            max_wait=options.max_batch_wait_ms / 1000.0,
            max_texts=options.max_batch_texts,
            max_queued=max(options.max_queued_texts, options.max_texts),
        )

    def outputs(self, texts: list[str]) -> np.ndarray:
        """The model's outputs for the texts of one gathered batch (called on the worker thread)."""
        return self.clf.outputs(texts, batch_size=max(len(texts), 1))

    async def predict(self, texts: Sequence[str], top_k: int = 0, threshold: float | None = None) -> list[dict]:
        """One prediction per text, scored together with the texts of other requests that arrive meanwhile."""
        self.in_flight += 1
        try:
            outputs = await asyncio.wrap_future(self.batcher.submit(texts))
        finally:
            self.in_flight -= 1
        return self.predictions(outputs, top_k, threshold)

    def predictions(self, outputs: np.ndarray, top_k: int = 0, threshold: float | None = None) -> list[dict]:
        """The columns of ``textclf predict``'s table for ``outputs``, one dict per text.

        ``prediction`` is the table's column (multi-label: the labels joined by the run's separator), ``labels``
        the same as a list, ``confidence`` the table's, ``top`` the K most probable labels (with ``top_k``) and
        ``probabilities`` one per class.
        """
        clf = self.clf
        columns = clf.table_columns(outputs, top_k, threshold)
        decided = clf.decide(outputs, threshold)
        chosen = [np.flatnonzero(row) for row in decided] if clf.task == "multilabel" else [[i] for i in decided]
        k = sum(1 for name in columns if name.startswith("top") and not name.endswith("_p"))
        probabilities = [columns[f"p_{name}"] for name in clf.classes]
        out = []
        for i in range(len(outputs)):
            item: dict[str, Any] = {
                "prediction": columns["prediction"][i],
                "labels": [clf.classes[int(j)] for j in chosen[i]],
                "confidence": float(columns["confidence"][i]),
            }
            if k:
                item["top"] = [
                    {"label": columns[f"top{r}"][i], "p": float(columns[f"top{r}_p"][i])} for r in range(1, k + 1)
                ]
            item["probabilities"] = {name: float(p[i]) for name, p in zip(clf.classes, probabilities)}
            out.append(item)
        return out

    async def explain(self, texts: Sequence[str], label: str | None, measure: str, threshold: float | None) -> list:
        """The word scores of each text (one entry per text; multi-label: one explanation per predicted label)."""
        texts = list(texts)
        job = self.batcher.call(lambda: self.clf.explain(texts, label=label, measure=measure, threshold=threshold))
        self.in_flight += 1
        try:
            explanations: list[Explanation] = await asyncio.wrap_future(job)
        finally:
            self.in_flight -= 1
        out: list[dict] = [{"explanations": []} for _ in texts]
        for exp in explanations:
            entry = out[exp.index]
            entry["prediction"], entry["confidence"] = exp.prediction, exp.confidence
            entry["explanations"].append(explanation_json(exp))
        return out

    def metadata(self) -> dict:
        """What the run is: name, task, classes, thresholds, test metrics, the manifest's SHA-256; the limits."""
        clf, opts = self.clf, self.options
        thresholds = clf.decision_thresholds()
        metrics = clf.metrics
        return {
            "run": clf.path.name,
            "task": clf.task,
            "classes": list(clf.classes),
            "thresholds": thresholds.named,
            "threshold_source": thresholds.source if clf.task != "multiclass" else "argmax (multi-class)",
            "separator": clf.separator,
            "test_metrics": metrics.get("test"),
            "valid_metrics": metrics.get("valid"),
            "manifest_sha256": self.manifest_sha256,
            "textclf_version": __version__,
            "limits": {
                "max_texts": opts.max_texts,
                "max_text_chars": opts.max_text_chars,
                "max_body_bytes": opts.max_body_bytes,
                "max_explain_texts": opts.max_explain_texts,
            },
            "batching": {"max_batch_wait_ms": opts.max_batch_wait_ms, "max_batch_texts": opts.max_batch_texts},
        }

    def close(self, timeout: float | None = None) -> None:
        self.batcher.close(timeout)


def explanation_json(exp: Explanation) -> dict:
    """One :class:`~textclf.use.attributions.Explanation` as JSON: the label, and each word with its character
    offsets (code points) and score (None past the model's sequence length)."""
    return {
        "label": exp.label,
        "prob": exp.prob,
        "predicted": exp.predicted,
        "measure": exp.measure,
        "words": [
            {"word": word, "start": s, "end": e, "score": score}
            for word, (s, e), score in zip(exp.tokens, exp.spans, exp.scores)
        ],
        "scored": exp.scored,
        "truncated": exp.truncated,
    }


def manifest_digest(run_dir) -> str:
    """The SHA-256 of a run's manifest (which holds the SHA-256 of every other file): the run's fingerprint."""
    from pathlib import Path

    return hashlib.sha256((Path(run_dir) / MANIFEST).read_bytes()).hexdigest()
