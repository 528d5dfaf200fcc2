"""``textclf init``: look at a data file and write a commented config for it.

:func:`init_config` reads a bounded sample of a data file, guesses the text and label columns, the task and
a sequence length, and writes a config that :func:`textclf.config.load_config` accepts, each choice
explained in a comment. Tokens are counted as the model cuts them (:mod:`textclf.model.tokens`). No
TensorFlow here.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, DataConfig, ModelConfig, TrainConfig, load_config
from ..errors import ConfigError, DataError, UsageError, closest
from ..io.files import atomic_write
from ..io.labeled import infer_task, split_labels
from ..io.tables import (
    DELIMITERS,
    FORMATS,
    ReadReport,
    check_file,
    delimiter_name,
    file_format,
    iter_chunks,
    read_columns,
    sniff_delimiter,
)
from ..model.tokens import tokenize
from ..run.outputs import check_output
from .wording import percentile, plural, times, verb

SAMPLE_ROWS = 100_000

TEXT_NAMES = (
    "text",
    "sentence",
    "review",
    "content",
    "body",
    "message",
    "document",
    "comment",
    "tweet",
    "question",
    "utterance",
    "description",
    "abstract",
    "title",
)
LABEL_NAMES = (
    "label",
    "labels",
    "category",
    "categories",
    "class",
    "target",
    "sentiment",
    "topic",
    "topics",
    "tag",
    "tags",
    "intent",
    "y",
)


def suggest_sequence_length(lengths: Iterable[int], q: float = 0.95) -> int:
    """The ``q`` quantile of token counts rounded up to a multiple of 8, clamped to [16, 512]."""
    p = percentile(sorted(lengths), q)
    return min(512, max(16, -(-p // 8) * 8))


# --------------------------------------------------------------------------------------------------
# textclf init


@dataclass
class ColumnStats:
    """What one column of the sample looks like."""

    name: str
    rows: int
    nonempty: int
    distinct: int
    mean_chars: float
    mean_words: float
    numeric_share: float
    joined_share: float  # share of non-empty cells holding the label separator
    labels: Counter | None  # label -> rows (split on the separator when a cell holds it); None for free text
    n_labels: int

    def describe(self) -> str:
        if self.nonempty == 0:
            return f"{self.name!r} (empty)"
        kind = "numbers, " if self.numeric_share >= 0.9 else ""
        return (
            f"{self.name!r} ({kind}{self.distinct:,} distinct values in {self.rows:,} rows, "
            f"{self.mean_words:.1f} words on average)"
        )


@dataclass
class Inspection:
    """The sample of a data file and the choices made from it."""

    path: Path
    format: str
    columns: list[ColumnStats]
    rows: int  # rows in the sample
    more_rows: bool  # the file has more rows than the sample
    sample_rows: int
    bad_rows: int
    text_column: str
    label_column: str
    text_reason: str
    label_reason: str
    task: str
    separator: str
    encoding: str
    delimiter: str | None  # of a .csv/.tsv file, as sniffed; None for JSON Lines and Parquet
    token_lengths: list[int]  # sorted, under the default standardization
    distinct_tokens: int
    token_total: int
    top_token_cover: float  # share of sample tokens the default vocabulary size keeps
    empty_texts: int
    empty_labels: int
    sequence_length: int
    valid: Path | None = None
    test: Path | None = None

    @property
    def classes(self) -> Counter:
        return self.column(self.label_column).labels

    def column(self, name: str) -> ColumnStats:
        return next(c for c in self.columns if c.name == name)

    def sample_words(self) -> str:
        return (
            f"the first {self.rows:,} rows (the file has more; pass --sample-rows to read more)"
            if self.more_rows
            else f"all {self.rows:,} rows"
        )


@dataclass
class InitResult:
    """What :func:`init_config` wrote."""

    output: Path
    text: str
    inspection: Inspection
    config: Config
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        i = self.inspection
        lines = [
            f"read {i.sample_words()} of {i.path}",
            f"text column:  {i.text_column!r} ({i.text_reason})",
            f"label column: {i.label_column!r} ({i.label_reason})",
            f"task:         {i.task} ({_class_summary(i.classes, i.rows - i.empty_labels)})",
            *(
                [f"delimiter:    {delimiter_name(i.delimiter)}, found in the header and first rows"]
                if i.delimiter
                else []
            ),
            f"sequence_length: {i.sequence_length} (95% of texts have <= {percentile(i.token_lengths, 0.95)} tokens)",
        ]
        if i.valid or i.test:
            lines.append("also found: " + ", ".join(f"{k} {v}" for k, v in (("valid", i.valid), ("test", i.test)) if v))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _class_summary(labels: Counter, rows: int, limit: int = 6) -> str:
    parts = [f"{lab!r} {n / max(rows, 1):.0%}" for lab, n in labels.most_common(limit)]
    more = f", and {len(labels) - limit} more" if len(labels) > limit else ""
    return f"{len(labels)} labels: " + ", ".join(parts) + more


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _column_stats(name: str, values: list[str], separator: str) -> ColumnStats:
    nonempty = [v for v in values if v.strip()]
    n = len(nonempty)
    numeric = sum(1 for v in nonempty if _is_number(v))
    joined = sum(1 for v in nonempty if separator in v)
    distinct = len(set(nonempty))
    labels: Counter | None = None
    n_labels = distinct
    if distinct <= max(1000, n // 2) or joined:  # label-like; counting the values of free text is wasted work
        labels = Counter()
        if joined:
            for row in split_labels(nonempty, "multilabel", separator):
                labels.update(row)
        else:
            labels.update(nonempty)
        n_labels = len(labels)
    return ColumnStats(
        name,
        len(values),
        n,
        distinct,
        sum(len(v) for v in nonempty) / n if n else 0.0,
        sum(len(v.split()) for v in nonempty) / n if n else 0.0,
        numeric / n if n else 0.0,
        joined / n if n else 0.0,
        labels,
        n_labels,
    )


def _name_rank(name: str, preferred: tuple[str, ...]) -> int:
    """0 for an exact preferred name (in order), then names that contain one; a large number otherwise."""
    low = name.strip().lower()
    if low in preferred:
        return preferred.index(low)
    for i, p in enumerate(preferred):
        if len(p) > 2 and p in low:
            return len(preferred) + i
    return 10 * len(preferred)


def _pick_text(cols: list[ColumnStats], exclude: str | None) -> tuple[ColumnStats | None, str]:
    cands = [c for c in cols if c.name and c.name != exclude and c.nonempty and c.numeric_share < 0.5]
    if not cands:
        return None, ""
    longest = max(cands, key=lambda c: (c.mean_chars, c.distinct))
    named = sorted(
        (c for c in cands if _name_rank(c.name, TEXT_NAMES) < 10 * len(TEXT_NAMES)),
        key=lambda c: _name_rank(c.name, TEXT_NAMES),
    )
    for c in named:
        # a preferred name wins when the column looks like free text (not a short, repeated code)
        if c.distinct >= 0.5 * c.nonempty and c.mean_chars >= 0.5 * longest.mean_chars:
            why = "its name" if c is not longest else "its name, and the longest texts"
            return c, f"{why}: {c.mean_words:.1f} words on average, {c.distinct:,} distinct values"
    return (
        longest,
        f"the longest texts: {longest.mean_words:.1f} words on average, {longest.distinct:,} distinct values",
    )


def _plausible_label(c: ColumnStats) -> bool:
    return (
        bool(c.name)
        and c.nonempty >= 0.5 * c.rows
        and 2 <= c.n_labels <= max(2, c.nonempty // 2)
        and c.n_labels <= 10_000
        and c.mean_chars <= 200
    )


def _pick_label(cols: list[ColumnStats], exclude: str | None, separator: str) -> tuple[ColumnStats | None, str]:
    cands = [c for c in cols if c.name != exclude and _plausible_label(c)]
    if not cands:
        return None, ""
    best = min(cands, key=lambda c: (_name_rank(c.name, LABEL_NAMES), c.n_labels / max(c.nonempty, 1)))
    return best, _label_reason(best, separator, named=_name_rank(best.name, LABEL_NAMES) < 10 * len(LABEL_NAMES))


def _label_reason(best: ColumnStats, separator: str, named: bool) -> str:
    why = "its name, and " if named else ""
    many = f"{best.n_labels:,} distinct labels in {best.nonempty:,} rows"
    if best.joined_share:
        many += f", {best.joined_share:.0%} of the cells join several labels with {separator!r}"
    return why + many


def _siblings(path: Path) -> tuple[Path | None, Path | None]:
    """Validation and test files next to a training file named like train.csv / xyz_train.jsonl."""
    stem = path.stem
    if "train" not in stem.lower():
        return None, None
    at = stem.lower().index("train")
    found: dict[str, Path | None] = {"valid": None, "test": None}
    names = {"valid": ("valid", "validation", "val", "dev"), "test": ("test",)}
    for role, words in names.items():
        for word in words:
            for suffix in [path.suffix] + [s for s in FORMATS if s != path.suffix]:
                cand = path.with_name(stem[:at] + word + stem[at + 5 :] + suffix)
                if cand.is_file():
                    found[role] = cand
                    break
            if found[role]:
                break
    return found["valid"], found["test"]


def inspect_file(
    path: str | os.PathLike,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding: str = "utf-8",
    sample_rows: int = SAMPLE_ROWS,
    separator: str = "|",
) -> Inspection:
    """Read at most ``sample_rows`` rows of a data file and choose the columns, task and sequence length.

    Raises:
        UsageError: the file is missing, or a named column is not in it.
        DataError: the file cannot be read, or no column looks like text or like labels (the message names
            the columns found and the ``--text-column`` / ``--label-column`` options).
    """
    p = check_file(path)
    fmt = file_format(p)
    if sample_rows < 1:
        raise UsageError(f"--sample-rows: received {sample_rows}, expected at least 1")
    delimiter = sniff_delimiter(p, encoding) if fmt in ("csv", "tsv") else None
    names = read_columns(p, encoding, delimiter)
    if names is None:
        raise DataError(f"{p}: none of the first lines is a JSON object; fix the file or give another one")
    found = ", ".join(repr(n) for n in names)
    for opt, given in (("--text-column", text_column), ("--label-column", label_column)):
        if given is not None and given not in names:
            close = closest(given, names)
            hint = f"; did you mean {close!r}?" if close else ""
            raise UsageError(f"{opt} {given!r}: no such column in {p}; columns found: {found}{hint}")
    if text_column is not None and text_column == label_column:
        raise UsageError(f"--text-column and --label-column both name {text_column!r}; give two different columns")
    if fmt in ("csv", "tsv") and len(set(names)) != len(names):
        dupe = next(n for n, k in Counter(names).items() if k > 1)
        raise DataError(f"{p}, line 1: the header names column {dupe!r} more than once; give each column a unique name")
    sample = _read_sample(p, names, encoding, sample_rows, delimiter)
    cols = [_column_stats(n, sample.values[n], separator) for n in names]
    text, text_why = _text_column(p, cols, sample, text_column, label_column)
    label, label_why = _label_column(p, cols, sample, text, label_column, separator)
    picks = (text, text_why), (label, label_why)
    return _inspection(p, fmt, cols, sample, *picks, separator, encoding, delimiter)


@dataclass
class _Sample:
    values: dict[str, list[str]]  # the first rows, by column
    limit: int  # --sample-rows
    rows: int
    more: bool  # the file has more rows than were read
    bad_rows: int

    def first(self) -> str:
        return f"{'the first ' if self.more else ''}{self.rows:,} rows"


def _read_sample(p: Path, names: list[str], encoding: str, sample_rows: int, delimiter: str | None = None) -> _Sample:
    report = ReadReport(str(p))
    values: dict[str, list[str]] = {n: [] for n in names}
    rows, more = 0, False
    chunks = iter_chunks(
        p,
        names,
        encoding=encoding,
        skip_bad=True,
        report=report,
        chunk_rows=min(8192, sample_rows + 1),
        delimiter=delimiter,
    )
    for chunk in chunks:
        take = min(len(chunk.frame), sample_rows - rows)
        for n in names:
            values[n].extend(chunk.frame[n].tolist()[:take])
        rows += take
        if rows >= sample_rows:
            more = take < len(chunk.frame) or next(chunks, None) is not None
            chunks.close()
            break
    if rows == 0:
        raise DataError(f"{p} has a header but no readable data rows; add examples, one per row")
    return _Sample(values, sample_rows, rows, more, len(report.bad_rows))


_NAME_THEM = "; name them with --text-column COLUMN --label-column COLUMN"


def _text_column(
    p: Path, cols: list[ColumnStats], sample: _Sample, text_column: str | None, label_column: str | None
) -> tuple[ColumnStats, str]:
    if text_column is not None:
        return next(c for c in cols if c.name == text_column), "given with --text-column"
    text, why = _pick_text(cols, label_column)
    if text is None:
        raise DataError(
            f"{p}: no column looks like text (every column is empty or numbers) in {sample.first()}; "
            "columns found: " + ", ".join(c.describe() for c in cols) + _NAME_THEM
        )
    return text, why


def _label_column(
    p: Path, cols: list[ColumnStats], sample: _Sample, text: ColumnStats, label_column: str | None, separator: str
) -> tuple[ColumnStats, str]:
    if label_column is None:
        label, why = _pick_label(cols, text.name, separator)
        if label is None:
            others = [c for c in cols if c.name != text.name]
            raise DataError(
                f"{p}: no plausible label column (one with few distinct values, at least 2 and at most half the "
                f"rows) in {sample.first()}; the text column is {text.name!r}, the other columns: "
                + (", ".join(c.describe() for c in others) or "(none)")
                + _NAME_THEM
            )
        return label, why
    label = next(c for c in cols if c.name == label_column)
    if label.labels is None:  # many distinct values were not counted: count them now
        cells = [v for v in sample.values[label_column] if v.strip()]
        label.labels = Counter(split_labels(cells, "multiclass", separator))
        label.n_labels = len(label.labels)
    if label.n_labels < 2:
        raise DataError(
            f"{p}, column {label_column!r}: {label.n_labels} distinct label(s) in {sample.rows:,} rows; "
            "a classifier needs at least two; choose another --label-column"
        )
    return label, "given with --label-column"


def _inspection(
    p: Path,
    fmt: str,
    cols: list[ColumnStats],
    sample: _Sample,
    text_pick: tuple,
    label_pick: tuple,
    separator: str,
    encoding: str,
    delimiter: str | None,
) -> Inspection:
    """The choices made from the sample: task, token counts, sequence length, sibling valid/test files."""
    (text, text_why), (label, label_why) = text_pick, label_pick
    values = sample.values
    label_values = [v for v in values[label.name] if v.strip()]
    tokens: Counter = Counter()
    lengths = []
    for t in values[text.name]:
        toks = tokenize(t, ModelConfig.standardize)
        lengths.append(len(toks))
        tokens.update(toks)
    lengths.sort()
    total = sum(tokens.values())
    kept = sum(n for _, n in tokens.most_common(ModelConfig.max_tokens - 2))
    insp = Inspection(
        path=p,
        format=fmt,
        columns=cols,
        rows=sample.rows,
        more_rows=sample.more,
        sample_rows=sample.limit,
        bad_rows=sample.bad_rows,
        text_column=text.name,
        label_column=label.name,
        text_reason=text_why,
        label_reason=label_why,
        task=infer_task(label_values, separator),
        separator=separator,
        encoding=encoding,
        delimiter=delimiter,
        token_lengths=lengths,
        distinct_tokens=len(tokens),
        token_total=total,
        top_token_cover=kept / total if total else 1.0,
        empty_texts=sum(1 for t in values[text.name] if not t.strip()),
        empty_labels=sample.rows - len(label_values),
        sequence_length=suggest_sequence_length(lengths),
    )
    for role, sib in zip(("valid", "test"), _siblings(p)):
        if sib is not None:
            try:
                cols_there = read_columns(sib, encoding) or []
            except (DataError, UsageError):
                continue
            if text.name in cols_there and label.name in cols_there:
                setattr(insp, role, sib)
    return insp


def _yaml_str(value: str) -> str:
    """A YAML scalar for a string: plain when that is safe, else double-quoted with escapes."""
    special = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "", ".inf", ".nan"}
    if (
        re.fullmatch(r"[A-Za-z_./][A-Za-z0-9_./-]*", value)
        and value.lower() not in special
        and not re.fullmatch(r"[-+.\d_:eE]+", value)
    ):
        return value
    out = []
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _rel(target: Path, config_dir: Path) -> str:
    """``target`` relative to the config's folder (how load_config resolves it), or absolute."""
    target, config_dir = target.resolve(), config_dir.resolve()
    try:
        if Path(os.path.commonpath([target, config_dir])) == Path(target.anchor):
            return str(target)  # nothing in common but the root: an absolute path reads better
        return os.path.relpath(target, config_dir)
    except ValueError:  # another drive on Windows
        return str(target)


def render_config(insp: Inspection, output: str | os.PathLike) -> str:
    """The commented YAML config for an inspection, with data paths relative to ``output``'s folder."""
    name = Path(output).name
    lines = [
        f"# Written by `textclf init` for {insp.path.name}, from {insp.sample_words()}.",
        "# Every key not set here keeps its default (see configs/default.yaml). Check it with",
        f"#   textclf check-data --config {name}",
        f"# and train with: textclf train --config {name}",
        "# Relative paths resolve against the folder of this file.",
        "# Columns found: "
        + ", ".join(c.describe() for c in insp.columns[:12])
        + (f", and {len(insp.columns) - 12} more" if len(insp.columns) > 12 else ""),
        "",
    ]
    if insp.task == "multilabel":
        task_why = (
            f"{insp.column(insp.label_column).joined_share:.0%} of the label cells join several labels "
            f"with {insp.separator!r}: one sigmoid output per label"
        )
    elif insp.task == "binary":
        task_why = "2 labels: one sigmoid output"
    else:
        task_why = f"{len(insp.classes)} labels, one per row: one softmax output"
    lines += [f"task: {insp.task}  # {task_why}", "", "data:"]
    lines += _data_section(insp, Path(output).parent)
    lines += ["", "model:"] + _model_section(insp)
    lines += ["", "train:"] + _train_section(insp)
    return "\n".join(lines) + "\n"


def _data_section(insp: Inspection, out_dir: Path) -> list[str]:
    rows, labeled = insp.rows, insp.rows - insp.empty_labels
    lines = [
        f"  train: {_yaml_str(_rel(insp.path, out_dir))}  # {rows:,} rows read"
        + (f", {insp.bad_rows:,} unreadable rows skipped" if insp.bad_rows else "")
    ]
    if insp.valid:
        lines.append(f"  valid: {_yaml_str(_rel(insp.valid, out_dir))}  # found next to the training file")
    else:
        n_valid = max(int(round(labeled * DataConfig.valid_fraction)), 1)
        how = "seeded" if insp.task == "multilabel" else "seeded, stratified"
        lines.append(
            f"  valid: null  # no validation file found: training holds out a {how} "
            f"{DataConfig.valid_fraction:.0%} of train (about {n_valid:,} rows)"
        )
    if insp.test:
        lines.append(
            f"  test: {_yaml_str(_rel(insp.test, out_dir))}  # found next to the training file; "
            "evaluated once after training"
        )
    else:
        lines.append("  test: null  # no test file found; set one to get a final score after training")
    lines.append(f"  text_column: {_yaml_str(insp.text_column)}  # {insp.text_reason}")
    lines.append(f"  label_column: {_yaml_str(insp.label_column)}  # {insp.label_reason}")
    if insp.task == "multilabel":
        lines.append(f"  label_separator: {_yaml_str(insp.separator)}  # the labels in one cell are joined by this")
    if insp.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        lines.append(f"  encoding: {_yaml_str(insp.encoding)}  # given with --encoding")
    if insp.delimiter and insp.delimiter != ("\t" if insp.format == "tsv" else ","):
        name = DELIMITERS[insp.delimiter]
        lines.append(f"  delimiter: {name}  # found in the header and first rows (auto would find it too)")
    if insp.empty_labels or insp.bad_rows:
        why = " and ".join(
            w
            for w in (
                f"{insp.empty_labels:,} rows have an empty label" if insp.empty_labels else "",
                f"{insp.bad_rows:,} rows cannot be read" if insp.bad_rows else "",
            )
            if w
        )
        lines.append(f"  on_bad_rows: skip  # {why}: training leaves them out (with error it stops at the first)")
        share = (insp.empty_labels + insp.bad_rows) / (rows + insp.bad_rows)
        if share > DataConfig.max_bad_fraction:
            lines.append(
                f"  max_bad_fraction: {min(1.0, math.ceil(share * 120) / 100)}  "
                f"# {share:.1%} of the rows are left out; training refuses more than this"
            )
    return lines


def _model_section(insp: Inspection) -> list[str]:
    rows = insp.rows
    p95 = percentile(insp.token_lengths, 0.95)
    longest = insp.token_lengths[-1] if insp.token_lengths else 0
    cut = sum(1 for n in insp.token_lengths if n > insp.sequence_length)
    why = f"95% of texts have <= {p95} tokens (words and punctuation marks); the longest has {longest}"
    if p95 > 512:
        why += "; capped at 512 for speed"
    elif p95 < 16:
        why += "; at least 16"
    why += f"; {cut:,} of {rows:,} texts ({cut / rows:.1%}) are cut" if cut else "; no text is cut"
    mt = ModelConfig.max_tokens
    if insp.distinct_tokens + 2 <= mt:
        vwhy = f"the sample has {insp.distinct_tokens:,} distinct tokens: the default keeps them all"
    else:
        vwhy = (
            f"keeps the {mt - 2:,} most frequent of {insp.distinct_tokens:,} distinct tokens, "
            f"{insp.top_token_cover:.1%} of the tokens in the sample"
        )
    return [f"  sequence_length: {insp.sequence_length}  # {why}", f"  max_tokens: {mt}  # {vwhy}"]


def _train_section(insp: Inspection) -> list[str]:
    classes, lines = insp.classes, []
    if classes:
        big, small = max(classes.values()), min(classes.values())
        ratio = big / max(small, 1)
        rare = min(classes, key=lambda k: (classes[k], k))
        common = max(classes, key=lambda k: (classes[k], k))
        if ratio >= 3:
            lines.append(
                f"  class_weight: auto  # imbalanced: {common!r} has {big:,} rows, {rare!r} {small:,} "
                f"({times(ratio)}); weight by inverse frequency"
            )
        else:
            lines.append(
                f"  class_weight: none  # balanced enough: the largest label has {times(ratio)} the rows "
                f"of the smallest"
            )
    lines.append(f"  seed: {TrainConfig.seed}  # the validation split, initialization and shuffling repeat exactly")
    return lines


def init_config(
    data: str | os.PathLike,
    output: str | os.PathLike = "config.yaml",
    *,
    force: bool = False,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding: str = "utf-8",
    sample_rows: int = SAMPLE_ROWS,
) -> InitResult:
    """Inspect a data file and write a commented config for it; the config is loaded back before it is kept.

    Args:
        data: a .csv, .tsv, .jsonl or .parquet file with a header (or keys).
        output: the config file to write; an existing file is refused unless ``force``.
        text_column, label_column: use these columns instead of guessing.
        encoding: text encoding of CSV/TSV/JSONL files.
        sample_rows: read at most this many rows (the config says how many were read).

    Raises:
        UsageError (exit 2): the output exists without ``force``, or would replace the data file; a named
            column does not exist.
        DataError (exit 3): the data cannot be read, or no text or label column can be found.
    """
    out = Path(output)
    if out.suffix.lower() in FORMATS:
        raise UsageError(
            f"--output {out}: received a data file name ({out.suffix}), expected a YAML file such as config.yaml"
        )
    check_output(
        out, "--output", inputs=[("the data file", data)], overwrite=force, example="config.yaml", create_parent=True
    )
    insp = inspect_file(
        data, text_column=text_column, label_column=label_column, encoding=encoding, sample_rows=sample_rows
    )
    text = render_config(insp, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        try:
            load_config(f.name)
        except ConfigError as exc:  # a bug here, not the user's: say what was about to be written
            raise ConfigError(f"textclf init produced a config that does not load ({exc}); please report it") from None
    cfg = load_config(out)  # the same text, now with its real source
    notes = []
    if insp.more_rows:
        notes.append(f"only the first {insp.rows:,} rows were read; the statistics describe those")
    if insp.empty_texts:
        notes.append(f"{plural(insp.empty_texts, 'row')} {verb(insp.empty_texts, 'has', 'have')} an empty text")
    if insp.empty_labels:
        notes.append(
            f"{plural(insp.empty_labels, 'row')} {verb(insp.empty_labels, 'has', 'have')} an empty label; "
            "the config sets data.on_bad_rows: skip"
        )
    if insp.bad_rows:
        notes.append(f"{insp.bad_rows:,} rows could not be read and were skipped; textclf check-data lists them")
    return InitResult(out, text, insp, cfg, notes)


__all__ = ["init_config", "inspect_file", "render_config", "InitResult", "Inspection", "suggest_sequence_length"]
