"""Labeled rows for training, evaluation and the data checks: texts, raw label strings and their lines.

This module is the one home of the rules for rows that cannot be used (:class:`RowPolicy`): an unreadable
row (wrong field count, bad JSON) and a row with an empty label are both errors that name their lines, or,
with ``on_bad_rows: skip``, rows left out and listed, up to a maximum share of the file. Training (in memory
and streaming), ``eval``, ``predict`` and ``check-data`` all apply it from here.

It also holds what follows from the labels alone: the task (:func:`infer_task`), the classes
(:func:`check_classes`), the validation split and the labels a model never saw. No TensorFlow here.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UsageError, closest
from .tables import BadRow, ReadReport, check_file, iter_chunks

CONFIG_KEYS = ("data.text_column", "data.label_column")  # what names the columns when a config's data is read
COMMAND_OPTIONS = ("--text-column", "--label-column")  # ... and when a command's --data or --input is read


@dataclass(frozen=True)
class RowPolicy:
    """What reading does with a row it cannot use: an unreadable row, or (labeled data) an empty label.

    Args:
        skip: ``False`` (``on_bad_rows: error``): the first unreadable row is a DataError naming its line,
            and empty labels are a DataError naming theirs. ``True`` (``skip``): such rows are left out and
            listed in the read report.
        max_bad_fraction: with ``skip``, more than this share of bad rows is a DataError (the file is
            probably not what it should be).
        option: the setting that sets the limit, named in the message.
        keep_empty_labels: hand rows with an empty label on unchanged (``check-data`` reports them itself).
    """

    skip: bool = False
    max_bad_fraction: float = 1.0
    option: str = "data.max_bad_fraction"
    keep_empty_labels: bool = False

    def __post_init__(self) -> None:
        fraction = self.max_bad_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 <= fraction <= 1.0:
            raise UsageError(f"{self.option}: received {fraction!r}, expected a number from 0 to 1")

    @classmethod
    def of(cls, data_config) -> RowPolicy:
        """The policy a config's ``data`` section sets (``on_bad_rows``, ``max_bad_fraction``)."""
        return cls(data_config.on_bad_rows == "skip", data_config.max_bad_fraction)

    def over_limit(self, bad: int, total: int) -> bool:
        """Whether ``bad`` of ``total`` rows is more than the policy accepts."""
        return bool(bad) and bool(total) and bad / total > self.max_bad_fraction

    def check_fraction(self, where: str, bad_rows: list[BadRow], good: int, what: str = "") -> None:
        """Raise a DataError when the bad rows are over the limit; ``what`` is added to the message."""
        total = good + len(bad_rows)
        if not self.over_limit(len(bad_rows), total):
            return
        first = bad_rows[0]
        raise DataError(
            f"{where}: {len(bad_rows):,} of {total:,} rows are bad, over the limit of "
            f"{self.max_bad_fraction:.1%} ({self.option}); first at line {first.line}: {first.reason}. "
            f"Is this the right file?{what}"
        )


@dataclass
class Labeled:
    """Texts and their raw label strings, with each row's line in the file."""

    texts: list[str]
    labels: list[str]
    lines: list[int]
    path: str
    report: ReadReport

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: list[int]) -> Labeled:
        """The rows at ``index``, in that order (the report is shared)."""
        return Labeled(
            [self.texts[i] for i in index],
            [self.labels[i] for i in index],
            [self.lines[i] for i in index],
            self.path,
            self.report,
        )


def labeled_chunks(
    path: str | os.PathLike,
    text_column: str,
    label_column: str,
    *,
    encoding: str = "utf-8",
    policy: RowPolicy = RowPolicy(),
    report: ReadReport | None = None,
    settings: tuple[str, str] = CONFIG_KEYS,
    delimiter: str | None = None,
) -> Iterator[tuple[list[str], list[str], list[int]]]:
    """The (texts, labels, lines) of a labeled file, chunk by chunk, with the policy's rules applied.

    ``settings``: what names the text and the label column where this file is read (the config's keys for
    training, ``("--text-column", "--label-column")`` for eval), for the message when one is missing.
    ``delimiter``: of a .csv/.tsv file; None: sniffed.

    Rows with an empty label are skipped and recorded (``policy.skip``), handed on (``keep_empty_labels``),
    or, once the whole file was read, a DataError that names their lines.
    """
    if text_column == label_column:
        raise UsageError(
            f"the text column and the label column are both {text_column!r}; name two different columns "
            "(data.text_column, data.label_column; --text-column, --label-column)"
        )
    report = report if report is not None else ReadReport(str(path))
    empty: list[int] = []
    chunks = iter_chunks(
        path,
        [text_column, label_column],
        encoding=encoding,
        skip_bad=policy.skip,
        report=report,
        texts=[text_column],
        settings=dict(zip((text_column, label_column), settings)),
        delimiter=delimiter,
    )
    for chunk in chunks:
        texts = chunk.frame[text_column].tolist()
        labels = chunk.frame[label_column].tolist()
        lines = chunk.lines
        blank = [] if policy.keep_empty_labels else [i for i, lab in enumerate(labels) if not lab.strip()]
        if blank:
            if policy.skip:
                report.bad_rows += [BadRow(lines[i], "empty label") for i in blank]
            else:
                empty += [lines[i] for i in blank]
            keep = [i for i, lab in enumerate(labels) if lab.strip()]
            texts, labels, lines = [texts[i] for i in keep], [labels[i] for i in keep], [lines[i] for i in keep]
        yield texts, labels, lines
    if empty:
        shown = ", ".join(map(str, empty[:5]))
        raise DataError(
            f"{path}, column {label_column!r}: {len(empty):,} rows have an empty label (lines {shown}"
            f"{', ...' if len(empty) > 5 else ''}); fill them in, remove them, or pass --on-bad-rows skip"
        )


def read_labeled(
    path: str | os.PathLike,
    text_column: str,
    label_column: str,
    *,
    encoding: str = "utf-8",
    policy: RowPolicy = RowPolicy(),
    settings: tuple[str, str] = CONFIG_KEYS,
    delimiter: str | None = None,
) -> Labeled:
    """Read a whole labeled file into memory: texts and raw label strings, under the ``policy``.

    A file with a header but no rows is a DataError.
    """
    report = ReadReport(str(path))
    texts: list[str] = []
    labels: list[str] = []
    lines: list[int] = []
    chunks = labeled_chunks(
        path,
        text_column,
        label_column,
        encoding=encoding,
        policy=policy,
        report=report,
        settings=settings,
        delimiter=delimiter,
    )
    for t, y, n in chunks:
        texts += t
        labels += y
        lines += n
    policy.check_fraction(str(path), report.bad_rows, len(texts))
    if not texts:
        raise DataError(f"{path} has a header but no data rows; add examples, one per row")
    return Labeled(texts, labels, lines, str(path), report)


def expand_paths(value: str | list[str], key: str = "data.train") -> list[Path]:
    """The files a path, a glob pattern (``*``, ``?``, ``[``) or a list of either names, in a stable order.

    A pattern that matches nothing is a UsageError; each file is checked with :func:`check_file`.
    """
    out: list[Path] = []
    for item in [value] if isinstance(value, str) else list(value):
        if any(ch in item for ch in "*?["):
            matches = sorted(p for p in glob.glob(item, recursive=True) if not os.path.isdir(p))
            if not matches:
                raise UsageError(
                    f"{key}: the pattern {item} matches no file; check the folder and the pattern "
                    "(relative paths in a config resolve against its folder)"
                )
            out += [check_file(m, f"{key} file") for m in matches]
        else:
            out.append(check_file(item, f"{key} file"))
    seen: set = set()
    return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]


def read_labeled_many(paths: list[Path], text_column: str, label_column: str, **kwargs) -> Labeled:
    """:func:`read_labeled` over several files, concatenated; bad rows name their file when there are several."""
    if len(paths) == 1:
        return read_labeled(paths[0], text_column, label_column, **kwargs)
    parts = [read_labeled(p, text_column, label_column, **kwargs) for p in paths]
    report = ReadReport(f"{paths[0]} (+{len(paths) - 1} files)", rows=sum(p.report.rows for p in parts))
    for part in parts:
        report.bad_rows += [BadRow(b.line, f"{Path(part.path).name}: {b.reason}") for b in part.report.bad_rows]
        report.truncated_texts += part.report.truncated_texts
        report.lines += part.report.lines
        report.swallowed += part.report.swallowed
    return Labeled(
        [t for p in parts for t in p.texts],
        [y for p in parts for y in p.labels],
        [n for p in parts for n in p.lines],
        report.path,
        report,
    )


# --------------------------------------------------------------------------------------------------
# What follows from the labels: the task, the classes, the validation split, unseen labels


def split_labels(raw: list[str], task: str, separator: str) -> list[list[str]] | list[str]:
    """Raw label cells as they go into training: a list of labels per row for multi-label, else as is."""
    if task != "multilabel":
        return raw
    return [sorted({part.strip() for part in cell.split(separator) if part.strip()}) for cell in raw]


def infer_task(raw: list[str], separator: str) -> str:
    """``multilabel`` if any cell holds the separator, ``binary`` for two classes, else ``multiclass``."""
    if any(separator in cell for cell in raw):
        return "multilabel"
    return "binary" if len(set(raw)) == 2 else "multiclass"


def check_classes(data: Labeled, task: str, separator: str, label_column: str) -> list[str]:
    """The sorted label set of the training data; refuses a single class with a clear message."""
    if task == "multilabel":
        classes = sorted({lab for row in split_labels(data.labels, task, separator) for lab in row})
        if len(classes) < 2:
            raise DataError(
                f"{data.path}, column {label_column!r}: only {len(classes)} distinct label(s) "
                f"({', '.join(map(repr, classes))}); a classifier needs at least two"
            )
        return classes
    counts = Counter(data.labels)
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(
            f"{data.path}, column {label_column!r}: every row has the label {only!r}; "
            "a classifier needs examples of at least two classes"
        )
    if task == "binary" and len(counts) > 2:
        raise DataError(
            f"{data.path}, column {label_column!r}: task is binary but {len(counts)} labels were found "
            f"({', '.join(map(repr, sorted(counts)[:6]))}); set task: multiclass (or auto)"
        )
    return sorted(counts)


def stratified_split(
    data: Labeled, fraction: float, seed: int, task: str, separator: str, label_column: str
) -> tuple[Labeled, Labeled]:
    """Hold out ``fraction`` of ``data`` for validation, stratified by label for single-label tasks."""
    from sklearn.model_selection import train_test_split

    n = len(data)
    idx = list(range(n))
    stratify = None
    if task != "multilabel":
        counts = Counter(data.labels)
        rare = sorted(lab for lab, c in counts.items() if c < 2)
        if rare:
            raise DataError(
                f"{data.path}, column {label_column!r}: class {rare[0]!r} has only one row, so it cannot appear in "
                f"both the training and the validation split; add examples, drop the class, or give data.valid"
            )
        stratify = data.labels
    n_valid = max(int(round(n * fraction)), len(set(data.labels)) if stratify else 1)
    if n_valid >= n:
        raise DataError(
            f"{data.path}: {n} rows are too few to hold out a validation split; add rows or give data.valid"
        )
    try:
        tr, va = train_test_split(idx, test_size=n_valid, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(f"{data.path}: cannot split off a validation set ({exc}); give data.valid") from None
    return data.subset(sorted(tr)), data.subset(sorted(va))


def unseen_labels(raw: list[str], classes: list[str], task: str, separator: str) -> Counter:
    """Counts of labels in ``raw`` that are not among the trained ``classes``."""
    known = set(classes)
    if task == "multilabel":
        return Counter(lab for row in split_labels(raw, task, separator) for lab in row if lab not in known)
    return Counter(lab for lab in raw if lab not in known)


def describe_unseen(unseen: Counter, classes: list[str]) -> str:
    parts = []
    for lab, count in unseen.most_common(10):
        hint = ""
        near = next((c for c in classes if _same_number(c, lab)), None) or closest(lab, classes)
        if near:
            hint = f" (did you mean {near!r}? labels are compared as exact text)"
        parts.append(f"{lab!r} ×{count}{hint}")
    more = f", and {len(unseen) - 10} more" if len(unseen) > 10 else ""
    return ", ".join(parts) + more


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False
