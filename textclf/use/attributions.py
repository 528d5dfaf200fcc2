"""Which words made the model decide: token-level attributions by occlusion.

For each text, every word is removed in turn (its characters replaced by one space) and the edited texts
are scored together with the original in one model call. The attribution of a word is the drop in the
explained label's log-odds when the word is gone (``measure="logodds"``, the default: it does not saturate
when the model is very sure), or the drop in its probability (``measure="prob"``). Positive: the word pushes
towards the label; negative: against it.

Why occlusion rather than integrated gradients over the embeddings: the model has two branches, the
(Bi)LSTM over word ids and a linear TF-IDF bag of 1..n-grams whose logits are added. Gradients over the word
embeddings see only the first; the n-gram ids are discrete, and their TF-IDF weights are L2-normalized over
the whole text. Re-encoding the edited text with the run's own encoder accounts for both branches exactly,
needs no gradients through the cuDNN kernel or the mask, and costs one batched call of ``words + 1`` rows
per text.

Words are the spans of the raw text that the model's standardization turns into exactly one token: runs of
characters between whitespace (ASCII whitespace, and the control characters and line separators that the
standardization turns into spaces); with ``lower_and_split_punctuation`` every punctuation or symbol
character is a word of its own, and with ``lower_and_strip_punctuation`` punctuation belongs to no word.
Scores are reported on the words *as written* (case and all), with their character offsets.

The recurrent layer reads only the first ``sequence_length`` tokens of a text, so only those words are
scored; later words get the score ``None`` (the n-gram branch reads further, up to ``ngram_length``
n-grams, and the prediction includes that, but the later words are not scored one by one).

No TensorFlow at import time: the :class:`~textclf.use.classifier.Classifier` brings it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError
from ..model.tokens import word_spans
from .decisions import class_probabilities, decide

MEASURES = ("prob", "logodds")


@dataclass
class Explanation:
    """The attributions of one label for one text.

    ``tokens[i]`` is ``text[spans[i][0]:spans[i][1]]``, a word as written; ``scores[i]`` is its attribution
    (positive: towards ``label``), or ``None`` for a word past the model's ``sequence_length`` that was not
    scored. ``prob`` is the probability of ``label`` for the whole text; ``prediction`` and ``confidence`` are
    the model's decision for the text (for multi-label: the labels joined by the separator, and the lowest
    probability among them). ``predicted`` says whether ``label`` is (one of) the prediction(s). ``index`` is
    the position of the text in the input list; ``line`` its line in a file, when read from one.
    """

    text: str
    tokens: list[str]
    scores: list[float | None]
    label: str
    prob: float
    spans: list[tuple[int, int]] = field(default_factory=list)
    prediction: str = ""
    confidence: float = 0.0
    predicted: bool = True
    measure: str = "logodds"
    index: int = 0
    line: int | None = None
    sequence_length: int = 0
    true: str | None = None  # the true label(s), when the texts came from a labeled file

    @property
    def scored(self) -> int:
        """How many words were scored (the first ones; the rest were past the sequence length)."""
        return sum(s is not None for s in self.scores)

    @property
    def truncated(self) -> bool:
        return self.scored < len(self.tokens)

    def top(self, n: int = 5, sign: int = 1) -> list[tuple[str, float]]:
        """The ``n`` words that push most towards the label (``sign=1``) or against it (``sign=-1``)."""
        pairs = [(t, s) for t, s in zip(self.tokens, self.scores) if s is not None and s * sign > 0]
        pairs.sort(key=lambda p: -p[1] * sign)
        return pairs[:n]


def _logodds(task: str, logits: np.ndarray, j: int) -> np.ndarray:
    """The log-odds of output class ``j`` from the logits (float64, no saturation)."""
    z = np.asarray(logits, dtype=np.float64)
    if task == "binary":
        return z[:, 0] if j == 1 else -z[:, 0]
    if task == "multilabel":
        return z[:, j]
    rest = np.delete(z, j, axis=1)
    m = rest.max(axis=1, keepdims=True)
    return z[:, j] - (m[:, 0] + np.log(np.exp(rest - m).sum(axis=1)))


def explain_texts(
    clf,
    texts,
    *,
    label: str | None = None,
    measure: str = "logodds",
    threshold: float | None = None,
    lines: list[int] | None = None,
) -> list[Explanation]:
    """Attribute the prediction for each text to its words, by occlusion.

    Args:
        clf: a :class:`~textclf.use.classifier.Classifier` (:meth:`Classifier.explain` calls this).
        texts: the texts (a list of str).
        label: explain this class for every text. Default: the predicted class (binary, multi-class), or
            each predicted label (multi-label; the most probable one when none reaches its threshold).
        measure: ``prob`` (drop in the label's probability) or ``logodds`` (drop in its log-odds).
        threshold: decision threshold for binary and multi-label tasks (default: the run's tuned thresholds,
            else 0.5).
        lines: the line of each text in its file, copied into the explanations.

    Returns:
        One :class:`Explanation` per text, or for multi-label tasks one per explained label of each text
        (in text order; ``index`` says which text).
    """
    if measure not in MEASURES:
        raise UsageError(f"--measure: received {measure!r}, expected one of {', '.join(MEASURES)}")
    classes = clf.classes
    if label is not None and label not in classes:
        shown = ", ".join(repr(c) for c in classes[:20]) + (", ..." if len(classes) > 20 else "")
        raise UsageError(f"--label {label!r}: received a label this model does not have; expected one of {shown}")
    thr = clf.decision_thresholds(threshold).value
    out: list[Explanation] = []
    for index, text in enumerate(str(t) for t in texts):
        line = lines[index] if lines is not None else None
        out += _explain_one(clf, text, index, line, label, measure, thr)
    return out


def _explain_one(
    clf, text: str, index: int, line: int | None, label: str | None, measure: str, thr
) -> list[Explanation]:
    from ..model.network import probabilities_from_logits

    task, classes, vocab = clf.task, clf.classes, clf.vocabulary
    seq_len = int(vocab.sequence_length)
    # words past this many are read by neither branch: the edited texts can be cut after them
    keep_words = max(seq_len, int(vocab.ngram_length or 0)) + 1
    spans = word_spans(text, vocab.standardize)
    scored = spans[:seq_len]
    cut = text if len(spans) <= keep_words else text[: spans[keep_words - 1][1]]
    variants = [cut] + [cut[:s] + " " + cut[e:] for s, e in scored]
    logits = clf.logits(variants, batch_size=len(variants))
    probs = probabilities_from_logits(task, logits)
    full = class_probabilities(task, probs)
    p0 = full[0].astype(np.float64)
    decided = decide(task, probs[:1], thr)[0]
    chosen = [int(decided)] if task != "multilabel" else [int(j) for j in np.flatnonzero(decided)]
    if task == "multilabel":
        prediction = clf.separator.join(classes[j] for j in chosen)
        confidence = float(p0[chosen].min()) if chosen else float(1.0 - p0.max())
    else:
        prediction, confidence = classes[chosen[0]], float(p0[chosen[0]])
    targets = [classes.index(label)] if label is not None else (chosen or [int(np.argmax(p0))])
    out = []
    for j in targets:
        values = full[:, j].astype(np.float64) if measure == "prob" else _logodds(task, logits, j)
        scores: list[float | None] = [round(float(d), 6) for d in (values[0] - values[1:]).tolist()]
        scores += [None] * (len(spans) - len(scored))
        out.append(
            Explanation(
                text=text,
                tokens=[text[s:e] for s, e in spans],
                scores=scores,
                label=classes[j],
                prob=float(p0[j]),
                spans=list(spans),
                prediction=prediction,
                confidence=confidence,
                predicted=j in chosen,
                measure=measure,
                index=index,
                line=line,
                sequence_length=seq_len,
            )
        )
    return out
