"""Stage 1 of training: the data of a run, read and checked, then encoded for the model.

:func:`load_training_data` reads train/valid/test (or scans streamed training files), infers the task,
checks the classes and splits off validation; no TensorFlow yet, so every data problem is reported before
anything slow starts. :func:`prepare_inputs` fits the vocabulary on the training texts and encodes the
training and validation sets, with the targets the loss expects.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import DataError, UsageError
from ..io.labeled import (
    Labeled,
    RowPolicy,
    check_classes,
    describe_unseen,
    expand_paths,
    infer_task,
    read_labeled,
    read_labeled_many,
    split_labels,
    stratified_split,
    unseen_labels,
)

log = logging.getLogger(__name__)


@dataclass
class TrainingData:
    """The data of a run. Streaming (``scan`` set): ``train`` holds no rows, they are read from disk each epoch."""

    task: str
    classes: list[str]
    train: Labeled
    valid: Labeled
    test: Labeled | None
    split_from_train: bool
    scan: object | None = None  # a textclf.io.streaming.Scan when the training data is streamed
    without_ngrams: str | None = None  # why the n-gram branch is left out (no n-gram in any training text)
    checks: list[str] | None = None  # the data-check warnings training logged (None: not run, as when streamed)

    @property
    def train_rows(self) -> int:
        return self.scan.train_rows if self.scan is not None else len(self.train)

    @property
    def outputs(self) -> int:
        """The model's outputs: one sigmoid for binary, one per class (or label) otherwise."""
        return 1 if self.task == "binary" else len(self.classes)

    def read_parts(self) -> list[Labeled]:
        """train, valid and test as read, one per read report (a validation split shares train's report)."""
        parts = {id(p.report): p for p in (self.train, self.valid, self.test) if p is not None}
        return list(parts.values())

    def label_counts(self, separator: str) -> dict[str, int]:
        """Training rows per class (for multi-label, rows holding each label), in class order."""
        cells = self.scan.cells if self.scan is not None else Counter(self.train.labels)
        counts: Counter = Counter()
        for cell, n in cells.items():
            for label in split_labels([cell], self.task, separator)[0] if self.task == "multilabel" else [cell]:
                counts[label] += n
        return {c: counts.get(c, 0) for c in self.classes}


def load_training_data(cfg: Config) -> TrainingData:
    """Read train/valid/test, infer the task, check the classes and split off validation if needed."""
    data_cfg = cfg.data
    if not data_cfg.train:
        raise UsageError("data.train is not set; give the training file in the config or with --set data.train=PATH")
    policy = RowPolicy.of(data_cfg)
    paths = expand_paths(data_cfg.train)
    from ..io.streaming import use_streaming

    stream = _scan(cfg, paths) if use_streaming(data_cfg.stream, paths) else None
    if stream is not None:
        train = stream.labeled()
    else:
        train = read_labeled_many(
            paths,
            data_cfg.text_column,
            data_cfg.label_column,
            encoding=data_cfg.encoding,
            policy=policy,
            delimiter=data_cfg.delimiter_char,
        )
    task = cfg.task if cfg.task != "auto" else infer_task(train.labels, data_cfg.label_separator)
    classes = check_classes(train, task, data_cfg.label_separator, data_cfg.label_column)
    if stream is not None:
        valid, split = _streamed_valid(cfg, stream), not data_cfg.valid
    elif data_cfg.valid:
        valid, split = _read(cfg, data_cfg.valid), False
    else:
        train, valid = stratified_split(
            train, data_cfg.valid_fraction, cfg.train.seed, task, data_cfg.label_separator, data_cfg.label_column
        )
        split = True
    test = _read(cfg, data_cfg.test) if data_cfg.test else None
    for name, part in (("valid", valid), ("test", test)):
        unseen = unseen_labels(part.labels, classes, task, data_cfg.label_separator) if part is not None else None
        if unseen:
            raise DataError(
                f"{part.path}: labels that the training data never has: {describe_unseen(unseen, classes)}; "
                f"the {name} set must use the training labels"
            )
    data = TrainingData(task, classes, train, valid, test, split, stream)
    for report in (part.report for part in data.read_parts()):
        if report.bad_rows or report.truncated_texts or report.swallowed:
            (log.warning if report.swallowed else log.info)(report.summary())
    data.without_ngrams = _check_learnable(cfg, stream.sample if stream is not None else train.texts, train)
    return data


def _check_learnable(cfg: Config, texts: list[str], train: Labeled) -> str | None:
    """Refuse training texts in which the model's standardization leaves no word (exit 3, before TensorFlow);
    returns why the n-gram branch must be left out when its own standardization leaves none."""
    from ..model.tokens import has_token

    model_cfg = cfg.model
    if not any(has_token(t, model_cfg.standardize) for t in texts):
        example = next((f" (e.g. line {n}: {t[:40]!r})" for t, n in zip(train.texts, train.lines) if t), "")
        raise DataError(
            f"{train.path}: no training text has a word once standardized (model.standardize "
            f"{model_cfg.standardize}): they are empty, or hold only characters the standardization removes"
            f"{example}. Give texts with words, or set model.standardize to lower or none"
        )
    if model_cfg.ngrams and not any(has_token(t, model_cfg.ngram_standardize) for t in texts):
        reason = (
            f"no training text has a word once standardized for the n-gram branch (model.ngram_standardize "
            f"{model_cfg.ngram_standardize}, e.g. only punctuation and symbols), so the model is trained without it"
        )
        log.warning(f"warning: {reason}; set model.ngram_standardize: {model_cfg.standardize} to keep the branch")
        return reason
    return None


def _read(cfg: Config, path: str) -> Labeled:
    data_cfg = cfg.data
    return read_labeled(
        path,
        data_cfg.text_column,
        data_cfg.label_column,
        encoding=data_cfg.encoding,
        policy=RowPolicy.of(data_cfg),
        delimiter=data_cfg.delimiter_char,
    )


def _scan(cfg: Config, paths: list[Path]):
    from ..io.streaming import scan

    data_cfg = cfg.data
    stream = scan(paths, cfg, split_valid=not data_cfg.valid)
    log.info(
        f"streaming {len(paths)} training file(s): {stream.rows:,} rows; vocabulary fitted on a sample of "
        f"{len(stream.sample):,} rows, shuffle window {data_cfg.shuffle_buffer:,} rows"
    )
    if stream.longest_run > data_cfg.shuffle_buffer:
        log.warning(
            f"warning: {stream.longest_run:,} consecutive rows share one label, more than "
            f"data.shuffle_buffer ({data_cfg.shuffle_buffer:,}); batches will mix poorly. Shuffle the file, or raise "
            "data.shuffle_buffer"
        )
    return stream


def _streamed_valid(cfg: Config, stream) -> Labeled:
    """Validation of a streamed run: a sample of ``data.valid``, or the rows the scan held out."""
    from ..io.streaming import sample_file

    data_cfg = cfg.data
    if data_cfg.valid:
        valid, total = sample_file(expand_paths(data_cfg.valid, "data.valid"), cfg, data_cfg.valid_max_rows)
        if total > len(valid):
            log.info(f"validation: a uniform sample of {len(valid):,} of {total:,} rows (data.valid_max_rows)")
        return valid
    if stream.valid_rows > len(stream.valid):
        log.info(
            f"validation: {stream.valid_rows:,} rows held out; a uniform sample of {len(stream.valid):,} is "
            "evaluated (data.valid_max_rows)"
        )
    return stream.valid


def encode_targets(labels: list[str], task: str, classes: list[str], separator: str) -> np.ndarray:
    """Targets as the loss expects them: (n, 1) floats for binary, class indices for multi-class, multi-hot."""
    if task == "binary":
        return (np.asarray(labels, dtype=object) == classes[1]).astype(np.float32)[:, None]
    index = {c: i for i, c in enumerate(classes)}
    if task == "multiclass":
        return np.asarray([index[c] for c in labels], dtype=np.int32)
    y = np.zeros((len(labels), len(classes)), dtype=np.float32)
    for r, row in enumerate(split_labels(labels, task, separator)):
        y[r, [index[c] for c in row if c in index]] = 1.0
    return y


def label_counts(cells: dict, task: str, classes: list[str], separator: str) -> tuple[np.ndarray, int]:
    """Per-output counts of the training rows from their raw label cells and counts: (counts, rows).

    Binary: [negatives, positives]; multi-class: rows per class; multi-label: rows per label.
    """
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros(len(classes), dtype=np.int64)
    for cell, n in cells.items():
        for lab in split_labels([cell], task, separator)[0] if task == "multilabel" else [cell]:
            if lab in index:
                counts[index[lab]] += n
    return counts, int(sum(cells.values()))


def class_weights(counts: np.ndarray, rows: int, task: str, num_outputs: int, mode: str) -> np.ndarray:
    """Per-class sample weights (binary, multi-class) or per-label positive weights (multi-label).

    ``auto``: scikit-learn's "balanced" weights, rows / (classes present * rows of the class); for multi-label
    the ratio of negatives to positives of each label, clipped to [1, 100].
    """
    if mode == "none":
        return np.ones(max(num_outputs, 2), dtype=np.float32)
    if task == "multilabel":
        return np.clip((rows - counts) / np.maximum(counts, 1.0), 1.0, 100.0).astype(np.float32)
    weights = np.ones(max(num_outputs, 2), dtype=np.float32)
    present = counts > 0
    weights[present] = rows / (present.sum() * counts[present])
    return weights


def prior_logits(counts: np.ndarray, rows: int, task: str) -> np.ndarray:
    """Output biases that start the model at the training label frequencies (log prior odds / log priors)."""
    freq = counts / max(rows, 1)
    if task == "multiclass":
        return np.log(np.clip(freq, 1e-4, 1.0)).astype(np.float32)
    if task == "binary":
        freq = freq[1:]
    freq = np.clip(freq, 1e-4, 1 - 1e-4)
    return np.log(freq / (1 - freq)).astype(np.float32)


@dataclass
class Inputs:
    """The encoded inputs of a run: the vocabulary, this worker's training arrays (None when streamed), the
    validation set, and the training label counts (for class weights and the output biases)."""

    vocab: object  # textclf.model.vocabulary.Vocabulary
    encoder: object
    x_train: object | None  # an Encoded set, or None when streaming
    y_train: np.ndarray | None
    x_valid: object
    y_valid: np.ndarray
    counts: np.ndarray
    rows: int


def prepare_inputs(cfg: Config, data: TrainingData, rank: int = 0, workers: int = 1) -> Inputs:
    """Fit the vocabulary on the training text only (every worker fits the same one from the same rows) and
    encode the training rows of this worker's shard and the validation rows."""
    from ..model.vocabulary import Vocabulary

    model_cfg, sep = cfg.model, cfg.data.label_separator
    t0 = time.perf_counter()
    fit = dict(
        max_tokens=model_cfg.max_tokens,
        sequence_length=model_cfg.sequence_length,
        standardize=model_cfg.standardize,
        ngrams=0 if data.without_ngrams else model_cfg.ngrams,
        ngram_max_tokens=model_cfg.ngram_max_tokens,
        ngram_length=model_cfg.ngram_length,
        ngram_standardize=model_cfg.ngram_standardize,
    )
    x_train = y_train = None
    if data.scan is None:
        vocab, x_train = Vocabulary.fit_encode(data.train.texts, **fit)
        y_train = encode_targets(data.train.labels, data.task, data.classes, sep)
        counts, rows = label_counts(Counter(data.train.labels), data.task, data.classes, sep)
        if workers > 1:  # this worker's shard: training rows rank, rank + workers, ...
            shard = np.arange(rank, len(y_train), workers)
            x_train, y_train = x_train.take(shard), y_train[shard]
        per_text = f" ({np.diff(x_train.ngram_offsets).mean():.0f} per text)" if vocab.ngram_tokens else ""
    else:
        vocab = Vocabulary.fit(data.scan.sample, **fit)
        counts, rows = label_counts(data.scan.cells, data.task, data.classes, sep)
        per_text = f" (fitted on {len(data.scan.sample):,} sampled rows)"
    encoder = vocab.encoder()
    x_valid = encoder.encode(data.valid.texts)
    y_valid = encode_targets(data.valid.labels, data.task, data.classes, sep)
    log.info(
        f"vocabulary: {len(vocab.tokens):,} tokens"
        + (f", {len(vocab.ngram_tokens):,} n-grams" if vocab.ngram_tokens else "")
        + per_text
        + f" ({time.perf_counter() - t0:.1f}s)"
    )
    return Inputs(vocab, encoder, x_train, y_train, x_valid, y_valid, counts, rows)
