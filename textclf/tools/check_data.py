"""``textclf check-data``: a lint for the data files a config names, and the cheap subset training runs.

* :func:`check_data`: empty and duplicate texts, conflicting labels, train/valid and train/test leakage,
  label imbalance, unseen labels, truncation by ``model.sequence_length`` and the out-of-vocabulary rate at
  ``model.max_tokens``. Each finding is a problem, a warning or info, with examples by file and line.
* :func:`cheap_checks`: the linear-time subset that training runs on the texts it already holds.

Tokens are counted as the model cuts them (:mod:`textclf.model.tokens`). No TensorFlow here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import DataError, UsageError
from ..io.labeled import (
    Labeled,
    RowPolicy,
    check_classes,
    describe_unseen,
    expand_paths,
    infer_task,
    read_labeled_many,
    split_labels,
    stratified_split,
    unseen_labels,
)
from ..io.tables import MAX_TEXT_CHARS
from ..model.tokens import tokenize
from .init_config import suggest_sequence_length
from .wording import percentile, plural, quoted, times, verb

PROBLEM, WARNING, INFO = "problem", "warning", "info"
SEVERITY_ORDER = {PROBLEM: 0, WARNING: 1, INFO: 2}

# --------------------------------------------------------------------------------------------------
# textclf check-data


@dataclass
class Example:
    """One row that shows a finding: where it is and (the start of) its text."""

    file: str
    line: int
    text: str | None  # None where the row could not be read
    note: str = ""
    unit: str = "line"  # "row" where only the position in a list is known

    @property
    def where(self) -> str:
        return f"{Path(self.file).name} {self.unit} {self.line}".strip()

    def __str__(self) -> str:
        where = self.where
        shown = [quoted(self.text)] if self.text is not None else []
        return f"{where}: " + " ".join(shown + ([self.note] if self.note else []))

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "text": None if self.text is None else self.text[:200],
            "note": self.note,
        }


@dataclass
class Finding:
    """One result of the lint: how bad it is, which check, one message, and a few example rows."""

    severity: str  # problem, warning or info
    check: str
    message: str
    count: int = 0
    examples: list[Example] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "check": self.check,
            "message": self.message,
            "count": self.count,
            "examples": [e.to_dict() for e in self.examples],
        }


@dataclass
class SplitInfo:
    name: str
    path: str | None
    rows: int
    note: str = ""


@dataclass
class Report:
    """The result of :func:`check_data`: the files read, the task, and the findings (problems first)."""

    source: str | None
    task: str
    classes: list[str]
    splits: list[SplitInfo]
    findings: list[Finding]

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in (PROBLEM, WARNING, INFO)}

    def to_dict(self) -> dict:
        return {
            "config": self.source,
            "task": self.task,
            "classes": self.classes,
            "splits": [{"name": s.name, "path": s.path, "rows": s.rows, "note": s.note} for s in self.splits],
            "findings": [f.to_dict() for f in self.findings],
            "summary": self.counts(),
        }

    def check_strict(self) -> None:
        """``--strict``: a DataError (exit 3) naming the problems, when there are any."""
        if self.problems:
            n = len(self.problems)
            raise DataError(
                f"check-data found {n} problem{'s' * (n != 1)} ("
                + ", ".join(f.check for f in self.problems)
                + "); fix them (see the report above), or leave out --strict"
            )

    def format(self) -> str:
        lines = [f"checked {self.source or 'the config'}"]
        for s in self.splits:
            where = f"{s.path}, {s.rows:,} rows" if s.path else f"{s.rows:,} rows, {s.note}"
            lines.append(f"  {s.name + ':':6} {where}" + (f" ({s.note})" if s.path and s.note else ""))
        lines.append(
            f"  {'task:':6} {self.task}, {len(self.classes)} {'labels' if self.task == 'multilabel' else 'classes'}"
        )
        lines.append("")
        for f in self.findings:
            head = f"{f.severity.upper():8} "
            lines.append(head + f.message)
            lines += [" " * len(head) + "  " + str(e) for e in f.examples]
        c = self.counts()
        lines.append("")
        lines.append(
            f"{c[PROBLEM]} problem{'s' * (c[PROBLEM] != 1)}, {c[WARNING]} warning{'s' * (c[WARNING] != 1)}, "
            f"{c[INFO]} info"
        )
        return "\n".join(lines)


@dataclass
class _Part:
    """Texts and labels of one split, with where each row is."""

    name: str
    file: str
    texts: list[str]
    labels: list[str]
    lines: list[int]
    unit: str = "line"

    def ex(self, i: int, note: str = "") -> Example:
        return Example(self.file, self.lines[i], self.texts[i], note, self.unit)

    def where(self, i: int) -> str:
        return f"{Path(self.file).name} {self.unit} {self.lines[i]}"

    @classmethod
    def of(cls, name: str, data: Labeled, keep: list[int] | None = None) -> _Part:
        if keep is None:
            return cls(name, data.path, data.texts, data.labels, data.lines)
        return cls(
            name,
            data.path,
            [data.texts[i] for i in keep],
            [data.labels[i] for i in keep],
            [data.lines[i] for i in keep],
        )

    @classmethod
    def from_lists(cls, name: str, texts, labels, lines=None) -> _Part:
        texts, labels = list(texts), list(labels)
        if lines is not None:
            return cls(name, name, texts, labels, list(lines), "line")
        return cls(name, name, texts, labels, list(range(1, len(texts) + 1)), "row")


def _label_key(label: str, task: str, separator: str):
    if task == "multilabel":
        return "|".join(split_labels([label], task, separator)[0])
    return label


def _check_empty(part: _Part, n_examples: int, severity: str = WARNING) -> list[Finding]:
    idx = [i for i, t in enumerate(part.texts) if not t.strip()]
    if not idx:
        return []
    return [
        Finding(
            severity,
            "empty_texts",
            f"{part.name}: {len(idx):,} of {len(part.texts):,} texts {verb(len(idx))} empty or only whitespace; "
            "the model sees nothing in them: remove them or fill them in",
            len(idx),
            [part.ex(i) for i in idx[:n_examples]],
        )
    ]


def _check_duplicates(part: _Part, task: str, separator: str, n_examples: int) -> list[Finding]:
    first: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for i, t in enumerate(part.texts):
        if t.strip():
            j = first.setdefault(t, i)
            if j != i:
                repeats.append((i, j))
    labels: dict[str, set] = {}  # only texts that repeat: their label sets
    counts: Counter = Counter()
    for i, j in repeats:
        t = part.texts[j]
        if t not in labels:
            labels[t] = {_label_key(part.labels[j], task, separator)}
        labels[t].add(_label_key(part.labels[i], task, separator))
        counts[t] += 1
    out = []
    conflicting = [t for t, labs in labels.items() if len(labs) > 1]
    if conflicting:
        rows = sum(counts[t] + 1 for t in conflicting)
        examples = []
        for t in conflicting[:n_examples]:
            j = first[t]
            others = sorted(labels[t] - {_label_key(part.labels[j], task, separator)})
            examples.append(
                part.ex(j, f"is labeled {part.labels[j]!r} here and {', '.join(map(repr, others[:3]))} elsewhere")
            )
        out.append(
            Finding(
                PROBLEM,
                "conflicting_duplicates",
                f"{part.name}: {plural(len(conflicting), 'text')} {verb(len(conflicting), 'appears', 'appear')} with different "
                f"labels ({rows:,} rows); "
                "the same input cannot have two answers: fix or drop the wrong rows",
                len(conflicting),
                examples,
            )
        )
    if repeats:
        groups = len({part.texts[j] for _, j in repeats})
        out.append(
            Finding(
                WARNING,
                "duplicate_texts",
                f"{part.name}: {plural(len(repeats), 'row')} {verb(len(repeats), 'repeats', 'repeat')} an "
                f"earlier text exactly ({plural(groups, 'distinct text')}, {len(repeats) / len(part.texts):.1%} of rows); "
                + (
                    "duplicates weigh those examples more and leak into a validation split: drop them unless intended"
                    if part.name == "train"
                    else "duplicates weigh those examples more in the scores: drop them unless intended"
                ),
                len(repeats),
                [part.ex(i, f"repeats {part.unit} {part.lines[j]}") for i, j in repeats[:n_examples]],
            )
        )
    return out


def _check_overlap(
    train: _Part,
    other: _Part,
    task: str,
    separator: str,
    n_examples: int,
    severity: str = PROBLEM,
    hint: str = "",
    mode: str | None = None,
    tokens: tuple[list[list[str]], list[list[str]]] | None = None,
) -> list[Finding]:
    """Texts of ``other`` that also appear in ``train``: exactly, and (given the ``tokens`` of both under the
    standardization ``mode``) once standardized."""
    seen: dict[str, int] = {}
    for i, t in enumerate(train.texts):
        if t.strip():
            seen.setdefault(t, i)
    hits = [(i, seen[t]) for i, t in enumerate(other.texts) if t.strip() and t in seen]
    out = []
    if hits:
        differ = sum(
            1
            for i, j in hits
            if _label_key(other.labels[i], task, separator) != _label_key(train.labels[j], task, separator)
        )
        extra = f"; {differ:,} of them with a different label" if differ else ""
        out.append(
            Finding(
                severity,
                f"overlap_{other.name}",
                f"leakage: {len(hits):,} of {len(other.texts):,} {other.name} texts "
                f"({len(hits) / len(other.texts):.1%}) also {verb(len(hits), 'appears', 'appear')} in "
                f"train{extra}; "
                f"{other.name} scores will be too optimistic: remove them from one side{hint}",
                len(hits),
                [other.ex(i, f"= {train.where(j)}") for i, j in hits[:n_examples]],
            )
        )
    if tokens is not None:
        out += _check_near_overlap(train, other, {i for i, _ in hits}, tokens, mode, n_examples)
    return out


def _check_near_overlap(
    train: _Part,
    other: _Part,
    exact: set[int],
    tokens: tuple[list[list[str]], list[list[str]]],
    mode: str | None,
    n_examples: int,
) -> list[Finding]:
    """Texts of ``other`` that equal a training text once standardized (and not exactly: those are reported)."""
    norm: dict[str, int] = {}
    for i, toks in enumerate(tokens[0]):
        key = " ".join(toks)
        if key:
            norm.setdefault(key, i)
    near = [(i, norm[" ".join(toks)]) for i, toks in enumerate(tokens[1])
            if i not in exact and toks and " ".join(toks) in norm]  # fmt: skip
    if not near:
        return []
    return [
        Finding(
            WARNING,
            f"near_overlap_{other.name}",
            f"leakage: {len(near):,} more {other.name} "
            f"{'text equals' if len(near) == 1 else 'texts equal'} a training text once "
            f"standardized (they differ only in {_IGNORED[mode]}), so the model sees the same input",
            len(near),
            [other.ex(i, f"~ {train.where(j)}") for i, j in near[:n_examples]],
        )
    ]


_IGNORED = {
    "lower_and_split_punctuation": "case and spacing",
    "lower_and_strip_punctuation": "case, punctuation and spacing",
    "lower": "case and spacing",
    "none": "spacing",
}


def _label_counts(labels: list[str], task: str, separator: str) -> Counter:
    if task == "multilabel":
        return Counter(lab for row in split_labels(labels, task, separator) for lab in row)
    return Counter(labels)


def _check_label_variants(train: _Part, task: str, separator: str) -> list[Finding]:
    """Labels that differ only in case or surrounding spaces: the model treats them as different classes."""
    counts = _label_counts(train.labels, task, separator)
    if task != "multilabel":  # split_labels strips multi-label parts; a single label is kept as written
        counts = Counter(train.labels)
    groups: dict[str, list[str]] = {}
    for label in counts:
        groups.setdefault(label.strip().casefold(), []).append(label)
    variants = [sorted(g, key=lambda lab: -counts[lab]) for g in groups.values() if len(g) > 1]
    if not variants:
        return []
    shown = "; ".join(" vs ".join(f"{lab!r} {counts[lab]:,}" for lab in g) for g in variants[:5])
    return [
        Finding(
            WARNING,
            "label_variants",
            f"train: {plural(len(variants), 'label')} {verb(len(variants), 'differs', 'differ')} from another only in "
            f"case or surrounding spaces ({shown}); the model learns them as different classes: write each the "
            "same way in every row",
            len(variants),
        )
    ]


def _check_imbalance(train: _Part, task: str, separator: str, class_weight: str | None) -> list[Finding]:
    counts = _label_counts(train.labels, task, separator)
    if len(counts) < 2:
        return []
    big, small = max(counts.values()), min(counts.values())
    ratio = big / small
    what = "rows per label" if task == "multilabel" else "rows per class"
    listing = ", ".join(f"{lab!r} {n:,}" for lab, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:12])
    if len(counts) > 12:
        listing += f", ... ({len(counts) - 12} more)"
    rare = sorted(lab for lab, n in counts.items() if n < 5)
    msg = f"label balance in train ({what}): {listing}; largest/smallest = {times(ratio)}"
    severity = INFO
    if ratio >= 5:
        severity = WARNING
        if class_weight == "none":
            msg += "; set train.class_weight: auto to weight the rare ones up"
        elif class_weight is None:
            msg += "; consider class weights"
    if rare:
        severity = WARNING
        msg += (
            f"; {len(rare)} label(s) have fewer than 5 training rows ({', '.join(map(repr, rare[:5]))}"
            f"{', ...' if len(rare) > 5 else ''}): too few to learn"
        )
    return [Finding(severity, "label_balance", msg, len(counts))]


def _check_unseen(part: _Part, classes: list[str], task: str, separator: str, n_examples: int) -> list[Finding]:
    unseen = unseen_labels(part.labels, classes, task, separator)
    out = []
    if unseen:
        keys = set(unseen)
        idx = [
            i
            for i, lab in enumerate(part.labels)
            if (set(split_labels([lab], task, separator)[0]) & keys if task == "multilabel" else lab in keys)
        ]
        out.append(
            Finding(
                PROBLEM,
                f"unseen_labels_{part.name}",
                f"{part.name}: labels that train never has: {describe_unseen(unseen, classes)}; "
                f"training refuses this {part.name} set: fix the labels or add training examples",
                sum(unseen.values()),
                [part.ex(i, f"label {part.labels[i]!r}") for i in idx[:n_examples]],
            )
        )
    present = set(_label_counts(part.labels, task, separator))
    missing = [c for c in classes if c not in present]
    if missing:
        out.append(
            Finding(
                WARNING if part.name == "test" else INFO,
                f"missing_labels_{part.name}",
                f"{part.name}: {len(missing)} of {len(classes)} training labels never occur here "
                f"({', '.join(map(repr, missing[:8]))}{', ...' if len(missing) > 8 else ''}); "
                f"their {part.name} scores are undefined",
                len(missing),
            )
        )
    return out


def _check_truncation(
    parts: list[_Part],
    sequence_length: int,
    mode: str | None,
    n_examples: int,
    lengths: dict[str, list[int]] | None = None,
) -> list[Finding]:
    """Share of texts longer than ``sequence_length`` tokens (``mode`` None: whitespace tokens, an estimate)."""
    if not parts:
        return []
    counts = {}
    for part in parts:
        counts[part.name] = (lengths or {}).get(part.name) or [
            len(tokenize(t, mode)) if mode else len(t.split()) for t in part.texts
        ]
    main = parts[0]
    n = counts[main.name]
    cut = [i for i, k in enumerate(n) if k > sequence_length]
    ordered = sorted(n)
    p95 = percentile(ordered, 0.95)
    longest = max(range(len(n)), key=n.__getitem__) if n else 0
    unit = "tokens" if mode else "words (whitespace tokens, an estimate)"
    others = "".join(
        f", {sum(1 for k in counts[p.name] if k > sequence_length) / max(len(p.texts), 1):.1%} of {p.name}"
        for p in parts[1:]
    )
    share = len(cut) / max(len(n), 1)
    msg = (
        f"model.sequence_length {sequence_length} cuts {len(cut):,} of {len(n):,} {main.name} texts "
        f"({share:.1%}){others}; 95% have <= {p95} {unit}, the longest {n[longest] if n else 0}"
    )
    severity = INFO
    if share > 0.10:
        severity = WARNING
        msg += (
            f"; the RNN reads only their first {sequence_length} tokens (the n-gram branch reads more): "
            f"a longer model.sequence_length (95% fit in {suggest_sequence_length(n)}) may help, at a cost in time"
        )
    elif sequence_length > 4 * max(p95, 16) and sequence_length > 64:
        msg += f"; {suggest_sequence_length(n)} would cover 95% (a shorter length trains faster)"
    return [
        Finding(
            severity,
            "truncation",
            msg,
            len(cut),
            [main.ex(i, f"{n[i]} {unit.split()[0]}") for i in sorted(cut, key=lambda i: -n[i])[:n_examples]],
        )
    ]


def _check_oov(
    train_tokens: list[list[str]],
    valid: _Part,
    valid_tokens: list[list[str]],
    max_tokens: int,
    mode: str,
    n_examples: int,
    valid_desc: str,
) -> list[Finding]:
    counts: Counter = Counter()
    for toks in train_tokens:
        counts.update(toks)
    vocab = {t for t, _ in counts.most_common(max(max_tokens - 2, 0))}
    total = oov = oov_unseen = 0
    all_oov: list[int] = []
    for i, toks in enumerate(valid_tokens):
        miss = sum(1 for t in toks if t not in vocab)
        total += len(toks)
        oov += miss
        oov_unseen += sum(1 for t in toks if t not in counts)
        if toks and miss == len(toks):
            all_oov.append(i)
    if total == 0:
        return []
    rate = oov / total
    capped = len(counts) > max_tokens - 2
    msg = (
        f"out-of-vocabulary: {rate:.1%} of the {total:,} {valid_desc} tokens ({oov:,}) are not in the "
        f"vocabulary of model.max_tokens {max_tokens} fit on train ({len(counts):,} distinct training tokens, "
        f"{min(len(counts), max_tokens - 2):,} kept; standardize {mode})"
    )
    if capped and oov > oov_unseen:
        msg += (
            f"; {(oov - oov_unseen) / total:.1%} are cut by max_tokens, {oov_unseen / total:.1%} never occur in train"
        )
    if all_oov:
        msg += f"; {len(all_oov):,} {valid.name} texts have no known token at all"
    severity = INFO
    if rate > 0.15:
        severity = WARNING
        msg += (
            "; raise model.max_tokens"
            if capped and (oov - oov_unseen) > oov_unseen
            else "; more training data (or pretrained embeddings) would help"
        )
    return [Finding(severity, "oov", msg, oov, [valid.ex(i, "(every token unknown)") for i in all_oov[:n_examples]])]


def _sort(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity])


def check_data(config: Config, *, examples: int = 3) -> Report:
    """Lint the data files a config names, as training would read and split them.

    Reads ``data.train`` (a file, a glob or a list, as training does; and ``data.valid``/``data.test`` when set)
    with the config's columns, encoding and separator; when ``data.valid`` is null, validation is the seeded
    stratified split that training makes (``data.valid_fraction``, ``train.seed``). Unreadable rows and empty
    labels are findings, not errors.

    Returns:
        A :class:`Report` whose ``findings`` (problem, warning or info) are sorted problems first.

    Raises:
        UsageError: ``data.train`` is unset or a file is missing.
        DataError: a file cannot be read at all (format, encoding, missing column, no rows).
    """
    if not config.data.train:
        raise UsageError("data.train is not set; give the training file in the config or with --set data.train=PATH")
    lint = _Lint(config, examples)
    lint.read_splits()
    lint.check_files()
    lint.check_across()
    return Report(config.source, lint.task, lint.classes, lint.splits, _sort(lint.findings))


class _Lint:
    """The state of one ``check-data`` run: the config, the splits read so far, and the findings."""

    def __init__(self, config: Config, examples: int):
        self.config, self.d, self.examples = config, config.data, examples
        self.skip = self.d.on_bad_rows == "skip"
        self.findings: list[Finding] = []
        self.splits: list[SplitInfo] = []
        self.valid: _Part | None = None
        self.valid_file: Labeled | None = None
        self.test: _Part | None = None

    def read(self, value, name: str) -> Labeled:
        """One split's rows; unreadable rows, long texts and empty labels become findings."""
        d = self.d
        paths = expand_paths(value, f"data.{name}")
        data = read_labeled_many(
            paths,
            d.text_column,
            d.label_column,
            encoding=d.encoding,
            policy=RowPolicy(skip=True, keep_empty_labels=True),
            delimiter=d.delimiter_char,
        )
        self._bad_rows(data, name)
        empty = [i for i, lab in enumerate(data.labels) if not lab.strip()]
        if empty:
            self.findings.append(
                Finding(
                    WARNING if self.skip else PROBLEM,
                    f"empty_labels_{name}",
                    f"{name}: {plural(len(empty), 'row')} {verb(len(empty), 'has', 'have')} an empty label in column "
                    f"{d.label_column!r}; "
                    + (
                        "training leaves them out (data.on_bad_rows: skip)"
                        if self.skip
                        else "training refuses the file: fill them in, remove them, or set data.on_bad_rows: skip"
                    ),
                    len(empty),
                    [Example(data.path, data.lines[i], data.texts[i]) for i in empty[: self.examples]],
                )
            )
            data = data.subset([i for i, lab in enumerate(data.labels) if lab.strip()])
        if not data.texts:
            raise DataError(f"{data.path}: no row has a label in column {d.label_column!r}; check data.label_column")
        return data

    def _bad_rows(self, data: Labeled, name: str) -> None:
        d, bad = self.d, data.report.bad_rows
        if bad:
            over = RowPolicy.of(d).over_limit(len(bad), len(data) + len(bad))
            sev = PROBLEM if (not self.skip or over) else WARNING
            what = (
                "training stops at the first (data.on_bad_rows: error): fix them or set data.on_bad_rows: skip"
                if not self.skip
                else f"over data.max_bad_fraction {d.max_bad_fraction}: training refuses the file"
                if over
                else "training skips them (data.on_bad_rows: skip)"
            )
            self.findings.append(
                Finding(
                    sev,
                    f"bad_rows_{name}",
                    f"{name}: {plural(len(bad), 'row')} cannot be read (first at line "
                    f"{bad[0].line}: {bad[0].reason}); {what}",
                    len(bad),
                    [Example(data.path, b.line, None, b.reason) for b in bad[: self.examples]],
                )
            )
        if data.report.swallowed:
            first, last = data.report.swallowed[0]
            self.findings.append(
                Finding(
                    WARNING,
                    f"swallowed_rows_{name}",
                    f"{name}: " + data.report.warnings()[0],
                    len(data.report.swallowed),
                    [Example(data.path, first, None, f"through line {last}")],
                )
            )
        if data.report.truncated_texts:
            self.findings.append(
                Finding(
                    INFO,
                    f"long_texts_{name}",
                    f"{name}: {data.report.truncated_texts:,} texts are longer than "
                    f"{MAX_TEXT_CHARS:,} characters and are cut to that length when read",
                    data.report.truncated_texts,
                )
            )

    def read_splits(self) -> None:
        """Train, valid (a file, or the split training makes) and test; the task and the classes."""
        d = self.d
        train = self.read(d.train, "train")
        self.task = self.config.task if self.config.task != "auto" else infer_task(train.labels, d.label_separator)
        try:
            self.classes = check_classes(train, self.task, d.label_separator, d.label_column)
        except DataError as exc:
            self.findings.append(Finding(PROBLEM, "classes", str(exc)))
            self.classes = sorted(_label_counts(train.labels, self.task, d.label_separator))
        self.valid_file = self.read(d.valid, "valid") if d.valid else None
        test = self.read(d.test, "test") if d.test else None
        self.train = self.fit_train = _Part.of("train", train)  # fit_train: what the vocabulary is fit on
        self.splits.append(SplitInfo("train", train.path, len(train)))
        if self.valid_file is not None:
            self.valid = _Part.of("valid", self.valid_file)
            self.splits.append(SplitInfo("valid", self.valid_file.path, len(self.valid_file)))
        else:
            self._split_valid(train)
        if test is not None:
            self.test = _Part.of("test", test)
            self.splits.append(SplitInfo("test", test.path, len(test)))

    def _split_valid(self, train: Labeled) -> None:
        d, seed = self.d, self.config.train.seed
        try:
            tr, va = stratified_split(train, d.valid_fraction, seed, self.task, d.label_separator, d.label_column)
        except DataError as exc:
            self.findings.append(Finding(PROBLEM, "split", f"cannot split a validation set off train: {exc}"))
            return
        self.valid, self.fit_train = _Part.of("valid", va), _Part.of("train", tr)
        how = "seeded" if self.task == "multilabel" else "seeded, stratified"
        self.splits.append(
            SplitInfo(
                "valid",
                None,
                len(va),
                f"a {how} {d.valid_fraction:.0%} split of train "
                f"(train.seed {seed}); training keeps {len(tr):,} rows of train",
            )
        )

    def check_files(self) -> None:
        """Within each file: empty texts, texts without tokens, duplicates and conflicting labels."""
        mode, sep, n = self.config.model.standardize, self.d.label_separator, self.examples
        self.file_parts = [self.train] + [
            p for p in (self.valid if self.valid_file is not None else None, self.test) if p is not None
        ]
        self.tokens = {p.name: [tokenize(t, mode) for t in p.texts] for p in self.file_parts}
        for part in self.file_parts:
            self.findings += _check_empty(part, n)
            no_tokens = [i for i, (t, k) in enumerate(zip(part.texts, self.tokens[part.name])) if t.strip() and not k]
            if no_tokens:
                self.findings.append(
                    Finding(
                        WARNING,
                        "no_tokens",
                        f"{part.name}: {plural(len(no_tokens), 'text')} "
                        f"{verb(len(no_tokens), 'has', 'have')} no token once standardized (model.standardize {mode}); "
                        "the model sees nothing in them",
                        len(no_tokens),
                        [part.ex(i) for i in no_tokens[:n]],
                    )
                )
            self.findings += _check_duplicates(part, self.task, sep, n)

    def toks(self, part: _Part) -> list[list[str]]:
        """The tokens of a part; a split part reuses those of its training rows."""
        if part is self.train or (part.name in self.tokens and part.file != self.train.file):
            return self.tokens[part.name]
        by_line = {line: i for i, line in enumerate(self.train.lines)}
        return [self.tokens["train"][by_line[line]] for line in part.lines]

    def check_across(self) -> None:
        """Across files: leakage, unseen labels, imbalance, truncation, out-of-vocabulary rate."""
        m, sep, n, mode = self.config.model, self.d.label_separator, self.examples, self.config.model.standardize
        valid, test, task = self.valid, self.test, self.task
        if valid is not None:
            hint = (
                ""
                if self.valid_file is not None
                else " (the split puts copies of a duplicated training text on both sides)"
            )
            self.findings += _check_overlap(
                self.fit_train, valid, task, sep, n, PROBLEM, hint, mode, (self.toks(self.fit_train), self.toks(valid))
            )
            self.findings += _check_unseen(valid, self.classes, task, sep, n)
        if test is not None:
            self.findings += _check_overlap(
                self.train, test, task, sep, n, PROBLEM, "", mode, (self.tokens["train"], self.tokens["test"])
            )
            self.findings += _check_unseen(test, self.classes, task, sep, n)
        self.findings += _check_imbalance(self.train, task, sep, self.config.train.class_weight)
        self.findings += _check_label_variants(self.train, task, sep)
        lengths = {name: [len(k) for k in ts] for name, ts in self.tokens.items()}
        self.findings += _check_truncation(self.file_parts, m.sequence_length, mode, n, lengths)
        if valid is not None:
            desc = "validation" if self.valid_file is not None else "validation-split"
            self.findings += _check_oov(self.toks(self.fit_train), valid, self.toks(valid), m.max_tokens, mode, n, desc)


# --------------------------------------------------------------------------------------------------
# The cheap subset, for training


def cheap_checks(
    train_texts: list[str],
    train_labels: list[str],
    valid_texts: list[str],
    valid_labels: list[str],
    test_texts: list[str] | None = None,
    test_labels: list[str] | None = None,
    *,
    task: str | None = None,
    separator: str = "|",
    sequence_length: int | None = None,
    standardize: str | None = None,
    class_weight: str | None = None,
    examples: int = 2,
    train_lines: list[int] | None = None,
    valid_lines: list[int] | None = None,
    test_lines: list[int] | None = None,
) -> list[str]:
    """The warnings of :func:`check_data` that cost one pass over texts already in memory; no TensorFlow.

    Covers: empty texts (each split), duplicate and conflicting texts in train, exact train/valid and
    train/test overlap, labels in valid/test that train lacks, label imbalance (ratio >= 5 or labels with
    fewer than 5 rows) and, with ``sequence_length``, texts longer than it (``standardize`` None: whitespace
    tokens, an estimate; else the model's standardization, slower). Linear time and memory.

    Args:
        train_texts, train_labels, valid_texts, valid_labels, test_texts, test_labels: the data as raw
            strings (multi-label cells joined with ``separator``), as training holds them.
        task: binary, multiclass or multilabel; None infers it as training does.
        class_weight: the config's train.class_weight ("none" adds a hint to the imbalance warning).
        examples: example rows per warning.
        train_lines, valid_lines, test_lines: the rows' line numbers in their files (``Labeled.lines``);
            without them, examples name the row's position (1-based).

    Returns:
        One string per warning or problem, e.g. ``"leakage: 3 of 200 test texts (1.5%) also appear in
        train; ... (test.csv line 12 = line 40 ...)"``; an empty list when nothing stands out. Info-level
        results are left out.
    """
    task = task if task and task != "auto" else infer_task(list(train_labels), separator)
    train = _Part.from_lists("train", train_texts, train_labels, train_lines)
    valid = _Part.from_lists("valid", valid_texts, valid_labels, valid_lines)
    test = _Part.from_lists("test", test_texts, test_labels, test_lines) if test_texts is not None else None
    found: list[Finding] = []
    for part in (train, valid, test):
        if part is not None:
            found += _check_empty(part, examples)
    found += _check_duplicates(train, task, separator, examples)
    classes = sorted(_label_counts(train.labels, task, separator))
    for part in (valid, test):
        if part is not None:
            found += _check_overlap(train, part, task, separator, examples)
            found += [f for f in _check_unseen(part, classes, task, separator, examples) if f.severity != INFO]
    found += _check_imbalance(train, task, separator, class_weight)
    found += _check_label_variants(train, task, separator)
    if sequence_length is not None:
        found += _check_truncation([train], sequence_length, standardize, examples)
    return [_one_line(f) for f in _sort(found) if f.severity != INFO]


def _one_line(f: Finding) -> str:
    shown = "; ".join(_short_example(e) for e in f.examples)
    return f.message + (f" (e.g. {shown})" if shown else "")


def _short_example(e: Example) -> str:
    shown = [quoted(e.text, 40)] if e.text is not None else []
    return " ".join([e.where] + shown + ([e.note] if e.note else []))


__all__ = ["check_data", "Report", "Finding", "Example", "cheap_checks"]
