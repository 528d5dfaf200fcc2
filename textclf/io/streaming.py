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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .labeled import Labeled, RowPolicy, labeled_chunks
from .tables import BadRow, ReadReport

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
            keep = np.argpartition(keys, self.k - 1)[: self.k]
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
    """Texts, labels and lines of the usable rows of one file, chunk by chunk, under the config's row policy."""
    data_cfg = cfg.data
    return labeled_chunks(
        path,
        data_cfg.text_column,
        data_cfg.label_column,
        encoding=data_cfg.encoding,
        policy=RowPolicy.of(data_cfg),
        report=report,
        delimiter=data_cfg.delimiter_char,
    )


def scan(paths: list[Path], cfg, split_valid: bool) -> Scan:
    """Count rows and labels, sample texts for the vocabulary and hold out validation rows, in one pass."""
    data_cfg, seed = cfg.data, cfg.train.seed
    report = ReadReport(str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} files)")
    vocab_sample, valid_sample = Sample(data_cfg.vocab_sample_rows), Sample(data_cfg.valid_max_rows)
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
            held = (
                unit_hash(seed, _SPLIT, index) < data_cfg.valid_fraction if split_valid else np.zeros(len(texts), bool)
            )
            for lab in labels:
                run = run + 1 if lab == last else 1
                last = lab
                longest = max(longest, run)
            train_i = np.flatnonzero(~held)
            valid_i = np.flatnonzero(held)
            for i in train_i:
                cells[labels[i]] += 1
            vocab_sample.add(unit_hash(seed, _VOCAB, index[train_i]), [texts[i] for i in train_i])
            valid_sample.add(
                unit_hash(seed, _VALID, index[valid_i]), [(texts[i], labels[i], lines[i]) for i in valid_i]
            )
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
        report.lines += part.lines
        report.swallowed += part.swallowed
        report.bad_rows += [
            BadRow(b.line, f"{path.name}: {b.reason}" if len(paths) > 1 else b.reason) for b in part.bad_rows
        ]
    RowPolicy.of(data_cfg).check_fraction(report.path, report.bad_rows, row)
    valid = None
    if split_valid:
        if not valid_sample.items:
            raise DataError(
                f"{report.path}: no rows were held out for validation ({row:,} rows, data.valid_fraction "
                f"{data_cfg.valid_fraction}); give data.valid or a larger data.valid_fraction"
            )
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


def shard_rows(
    scan_: Scan, cfg, file_index: int, worker: int = 0, workers: int = 1
) -> Iterator[tuple[list[str], list[str]]]:
    """The training rows of one file that belong to worker ``worker``'s shard: (texts, labels) per chunk.

    Rows held out for validation (without ``data.valid``) are left out by the same hash as in :func:`scan`;
    chunks with none of the worker's rows are skipped.
    """
    data_cfg, seed = cfg.data, cfg.train.seed
    path = scan_.paths[file_index]
    row = int(sum(scan_.file_rows[:file_index]))
    train_row = int(sum(scan_.file_train_rows[:file_index]))
    split_valid = not data_cfg.valid
    for texts, labels, _ in _rows(path, cfg, ReadReport(str(path))):
        index = np.arange(row, row + len(texts))
        row += len(texts)
        held = unit_hash(seed, _SPLIT, index) < data_cfg.valid_fraction if split_valid else np.zeros(len(texts), bool)
        number = train_row + np.cumsum(~held) - 1  # the training-row number of each row
        train_row += int((~held).sum())
        mine = np.flatnonzero(~held & (number % workers == worker))
        if len(mine):
            yield [texts[i] for i in mine], [labels[i] for i in mine]
