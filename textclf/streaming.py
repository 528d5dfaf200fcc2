"""Training data larger than memory: one scan pass, then each epoch streamed from disk through a shuffle window.

Memory is bounded by ``data.shuffle_buffer`` (the window of encoded rows), ``data.vocab_sample_rows`` (texts
held during the scan to fit the vocabulary), ``data.valid_max_rows`` (validation rows kept) and the
vocabulary, never by the size of the files.

Rows are numbered in file order (the files in the order ``data.train`` lists or sorts them), counting only
usable rows. Without ``data.valid``, the validation rows are chosen by a hash of (seed, row number), so every
pass picks the same rows whatever the chunking. The other rows are the training rows, numbered again; with W
workers, worker w trains on the training rows whose number modulo W is w (its shard).

Each epoch reads the files in a seeded random order, and shuffles rows within windows of
``data.shuffle_buffer`` rows, where it also sorts them by length into batches (so that short texts don't pay
for long ones) and shuffles the batch order. A file sorted by label needs a window larger than its longest
run of one label to mix well; the scan measures that run and training warns when the window is smaller.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .data import BadRow, Labeled, ReadReport, iter_chunks, split_labels
from .errors import DataError

GIB = 1 << 30
_SPLIT, _VOCAB, _VALID = 1, 2, 3  # salts of the row hashes


def use_streaming(setting: str, paths: list[Path]) -> bool:
    """``data.stream``: true, false, or auto (the training files total over 1 GiB)."""
    if setting in ("true", "false"):
        return setting == "true"
    return sum(p.stat().st_size for p in paths) > GIB


def unit_hash(seed: int, salt: int, index: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) for each row number: splitmix64 of (seed, salt, row number)."""
    with np.errstate(over="ignore"):
        x = index.astype(np.uint64) + np.uint64((seed * 1_000_003 + salt) % (1 << 63)) * np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass
class Sample:
    """A uniform sample of at most ``k`` items: those with the smallest hash keys (so it never depends on chunking)."""

    k: int
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0))
    items: list = field(default_factory=list)

    def add(self, keys: np.ndarray, items: list) -> None:
        if not items:
            return
        keys = np.concatenate([self.keys, keys])
        items = self.items + items
        if len(items) > self.k:
            keep = np.argpartition(keys, self.k - 1)[:self.k]
            keep = keep[np.argsort(keys[keep], kind="stable")]
            keys, items = keys[keep], [items[i] for i in keep]
        self.keys, self.items = keys, items


@dataclass
class Scan:
    """What one pass over the training files learned, in memory bounded by the sample sizes."""

    paths: list[Path]
    file_rows: list[int]  # usable rows per file
    file_train_rows: list[int]  # training rows (not held out for validation) per file
    cells: Counter  # raw label cells of the training rows (distinct cells only are kept)
    sample: list[str]  # a uniform sample of training texts, to fit the vocabulary on
    valid: Labeled | None  # the held-out validation rows (a sample of at most data.valid_max_rows)
    valid_rows: int  # validation rows held out in all
    longest_run: int  # the longest run of one label in file order
    report: ReadReport

    @property
    def rows(self) -> int:
        return sum(self.file_rows)

    @property
    def train_rows(self) -> int:
        return sum(self.file_train_rows)

    def shard_rows(self, worker: int, workers: int) -> int:
        """Training rows in worker ``worker``'s shard."""
        n = self.train_rows
        return n // workers + (1 if worker < n % workers else 0)

    def labeled(self) -> Labeled:
        """The distinct label cells as a Labeled set, enough for the task and class checks."""
        return Labeled([], list(self.cells), [], str(self.paths[0]), self.report)


def _rows(path: Path, cfg, report: ReadReport) -> Iterator[tuple[list[str], list[str], list[int]]]:
    """Texts, labels and lines of the usable rows of one file, chunk by chunk (empty labels as in read_labeled)."""
    d = cfg.data
    skip = d.on_bad_rows == "skip"
    for chunk in iter_chunks(path, [d.text_column, d.label_column], encoding=d.encoding, skip_bad=skip, report=report):
        texts = chunk.frame[d.text_column].tolist()
        labels = chunk.frame[d.label_column].tolist()
        empty = [i for i, lab in enumerate(labels) if not lab.strip()]
        if empty:
            if not skip:
                raise DataError(f"{path}, column {d.label_column!r}: the row at line {chunk.lines[empty[0]]} has an "
                                "empty label; fill it in, remove it, or pass --on-bad-rows skip")
            report.bad_rows += [BadRow(chunk.lines[i], "empty label") for i in empty]
            keep = [i for i in range(len(labels)) if labels[i].strip()]
            texts, labels, lines = [texts[i] for i in keep], [labels[i] for i in keep], [chunk.lines[i] for i in keep]
        else:
            lines = chunk.lines
        yield texts, labels, lines


def scan(paths: list[Path], cfg, split_valid: bool) -> Scan:
    """Count rows and labels, sample texts for the vocabulary and hold out validation rows, in one pass."""
    d, seed = cfg.data, cfg.train.seed
    report = ReadReport(str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} files)")
    vocab_sample, valid_sample = Sample(d.vocab_sample_rows), Sample(d.valid_max_rows)
    cells: Counter = Counter()
    file_rows, file_train = [], []
    row = 0
    valid_rows = 0
    run, longest, last = 0, 0, None
    for path in paths:
        part = ReadReport(str(path))
        n_file = n_train = 0
        for texts, labels, lines in _rows(path, cfg, part):
            index = np.arange(row, row + len(texts))
            held = unit_hash(seed, _SPLIT, index) < d.valid_fraction if split_valid else np.zeros(len(texts), bool)
            for lab in labels:
                run = run + 1 if lab == last else 1
                last = lab
                longest = max(longest, run)
            train_i = np.flatnonzero(~held)
            valid_i = np.flatnonzero(held)
            for i in train_i:
                cells[labels[i]] += 1
            vocab_sample.add(unit_hash(seed, _VOCAB, index[train_i]), [texts[i] for i in train_i])
            valid_sample.add(unit_hash(seed, _VALID, index[valid_i]),
                             [(texts[i], labels[i], lines[i]) for i in valid_i])
            valid_rows += len(valid_i)
            row += len(texts)
            n_file += len(texts)
            n_train += len(train_i)
        if not n_file:
            raise DataError(f"{path} has no data rows; add examples, one per row, or leave the file out")
        file_rows.append(n_file)
        file_train.append(n_train)
        report.rows += part.rows
        report.truncated_texts += part.truncated_texts
        report.bad_rows += [BadRow(b.line, f"{path.name}: {b.reason}" if len(paths) > 1 else b.reason)
                            for b in part.bad_rows]
    total = row + len(report.bad_rows)
    if report.bad_rows and len(report.bad_rows) / total > d.max_bad_fraction:
        first = report.bad_rows[0]
        raise DataError(f"{report.path}: {len(report.bad_rows):,} of {total:,} rows are bad, over the limit of "
                        f"{d.max_bad_fraction:.1%} (data.max_bad_fraction); first at line {first.line}: {first.reason}")
    valid = None
    if split_valid:
        if not valid_sample.items:
            raise DataError(f"{report.path}: no rows were held out for validation ({row:,} rows, data.valid_fraction "
                            f"{d.valid_fraction}); give data.valid or a larger data.valid_fraction")
        t, y, lines = (list(x) for x in zip(*valid_sample.items))
        valid = Labeled(t, y, lines, f"{report.path} (held out)", ReadReport(report.path, rows=len(t)))
    return Scan(paths, file_rows, file_train, cells, vocab_sample.items, valid, valid_rows, longest, report)


def sample_file(paths: list[Path], cfg, k: int, salt: int = _VALID) -> tuple[Labeled, int]:
    """A uniform sample of at most ``k`` rows of labeled files (for a large validation file), and the row count."""
    sample = Sample(k)
    row = 0
    report = ReadReport(str(paths[0]))
    for path in paths:
        for texts, labels, lines in _rows(path, cfg, report):
            index = np.arange(row, row + len(texts))
            sample.add(unit_hash(cfg.train.seed, salt, index), list(zip(texts, labels, lines)))
            row += len(texts)
    if not sample.items:
        raise DataError(f"{paths[0]} has a header but no data rows; add examples, one per row")
    t, y, lines = (list(x) for x in zip(*sample.items))
    return Labeled(t, y, lines, str(paths[0]), report), row


def targets(labels: list[str], task: str, classes: list[str], separator: str) -> np.ndarray:
    """Targets as the loss expects them (see training.encode_targets), for one chunk."""
    if task == "binary":
        return (np.asarray(labels, dtype=object) == classes[1]).astype(np.float32)[:, None]
    index = {c: i for i, c in enumerate(classes)}
    if task == "multiclass":
        return np.asarray([index[c] for c in labels], dtype=np.int32)
    y = np.zeros((len(labels), len(classes)), dtype=np.float32)
    for r, row in enumerate(split_labels(labels, task, separator)):
        y[r, [index[c] for c in row if c in index]] = 1.0
    return y


def epoch_stream(scan_: Scan, cfg, encoder, task: str, classes: list[str], *, epoch: int, batch_size: int,
                 worker: int = 0, workers: int = 1, steps: int | None = None,
                 drop_remainder: bool = False) -> Iterator[tuple[dict, np.ndarray]]:
    """The batches of one epoch for one worker, read from disk: (model inputs, targets).

    Stops after ``steps`` batches when given (every worker must run the same number of steps).
    """
    from .vectorize import Encoded, epoch_batches

    d, seed = cfg.data, cfg.train.seed
    rng = np.random.default_rng([seed, epoch, 7])
    row_start = np.concatenate([[0], np.cumsum(scan_.file_rows)])
    train_start = np.concatenate([[0], np.cumsum(scan_.file_train_rows)])
    split_valid = not d.valid
    window: list[tuple[Encoded, np.ndarray]] = []
    in_window = 0
    emitted = 0

    def flush(final: bool):
        nonlocal window, in_window, emitted
        if not window:
            return
        enc = Encoded.concat([e for e, _ in window]) if len(window) > 1 else window[0][0]
        y = np.concatenate([t for _, t in window]) if len(window) > 1 else window[0][1]
        batches = epoch_batches(enc.lengths, batch_size, rng)
        partial = [b for b in batches if len(b) < batch_size]
        full = [b for b in batches if len(b) == batch_size]
        window, in_window = [], 0
        if partial and not final:  # carried into the next window
            rest = np.concatenate(partial)
            window, in_window = [(enc.take(rest), y[rest])], len(rest)
            partial = []
        for b in full + ([] if drop_remainder else partial):
            if steps is not None and emitted >= steps:
                return
            emitted += 1
            yield enc.batch(b), y[b]

    for f in rng.permutation(len(scan_.paths)):
        row, train_row = int(row_start[f]), int(train_start[f])
        for texts, labels, _ in _rows(scan_.paths[f], cfg, ReadReport(str(scan_.paths[f]))):
            index = np.arange(row, row + len(texts))
            row += len(texts)
            held = unit_hash(seed, _SPLIT, index) < d.valid_fraction if split_valid else np.zeros(len(texts), bool)
            number = train_row + np.cumsum(~held) - 1  # the training-row number of each row
            train_row += int((~held).sum())
            mine = np.flatnonzero(~held & (number % workers == worker))
            if not len(mine):
                continue
            texts = [texts[i] for i in mine]
            window.append((encoder.encode(texts), targets([labels[i] for i in mine], task, classes, d.label_separator)))
            in_window += len(texts)
            if in_window >= d.shuffle_buffer:
                yield from flush(final=False)
                if steps is not None and emitted >= steps:
                    return
    yield from flush(final=True)
