"""Summaries of run directories: ``textclf runs`` (one line per run) and ``textclf show`` (one run in detail).

Both read only the small JSON, YAML and CSV files of a run, through :func:`textclf.run.directory.read_small_file`
(no link is followed, nothing over its size cap is read, a FIFO never blocks). Nothing is executed or
unpickled and TensorFlow is never imported; :func:`show_run` also checks the run against its manifest with
:func:`textclf.run.directory.verify`, which hashes every file but parses none.

A run that cannot be read is never an error here: it is listed with the status ``damaged: <reason>``.

Statuses:
    complete     ``manifest.json`` is there (``show`` also says whether it verifies)
    resumable    no manifest, but a checkpoint: ``textclf train --resume RUN`` continues it
    incomplete   no manifest and no checkpoint (killed before the first epoch ended, or the manifest was deleted)
    damaged      a small file is missing, unreadable, not valid JSON/YAML, not in textclf's format, or not the
                 size the manifest records
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ModelRejected, UsageError
from ..model.hyperparameters import parameter_count
from . import directory, layout
from .checkpoints import latest_checkpoint_name
from .directory import read_small_file

TASKS = ("binary", "multiclass", "multilabel")
# the headline figures shown for a split, in this order, when metrics.json has them
HEADLINE = ("rows", "accuracy", "macro_f1", "weighted_f1", "micro_f1", "subset_accuracy", "hamming_loss", "roc_auc")
SORT_KEYS = ("created", "name", "valid", "test", "seconds")
# what shell completion offers for --sort: the keys, and the figures runs usually have
SORT_COMPLETIONS = SORT_KEYS + ("valid.macro_f1", "valid.micro_f1", "test.macro_f1", "test.micro_f1", "test.roc_auc")
SETTINGS = (
    "model.rnn",
    "model.units",
    "model.layers",
    "model.bidirectional",
    "model.embedding_dim",
    "train.epochs",
    "train.batch_size",
    "train.learning_rate",
    "data.train",
)
HIGHLIGHTS = (
    "task",
    "data.text_column",
    "data.label_column",
    "data.valid_fraction",
    "model.max_tokens",
    "model.sequence_length",
    "model.standardize",
    "model.embedding_dim",
    "model.rnn",
    "model.units",
    "model.layers",
    "model.bidirectional",
    "model.pooling",
    "model.embedding_dropout",
    "model.dropout",
    "model.ngrams",
    "model.ngram_max_tokens",
    "train.epochs",
    "train.batch_size",
    "train.learning_rate",
    "train.ngram_learning_rate",
    "train.seed",
    "train.early_stopping_patience",
    "train.class_weight",
    "train.mixed_precision",
    "train.device",
    "train.threshold_objective",
)
_STAMP = re.compile(r"-(\d{8}-\d{6})(?:-\d+)?$")


# --------------------------------------------------------------------------------------------------
# Reading the small files of one run


class _Reader:
    """Reads the small files of one run; the first problem found becomes the run's ``damaged`` reason."""

    def __init__(self, run: Path):
        self.run = run
        self.problem: str | None = None

    def note(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem

    def read(self, name: str, kind: type | None = dict) -> Any:
        try:
            value = read_small_file(self.run, name)
        except ModelRejected as exc:
            self.note(str(exc))
            return None
        if value is not None and kind is not None and not isinstance(value, kind):
            self.note(
                f"{name} is not in textclf's format (expected a JSON/YAML {kind.__name__}, "
                f"found {type(value).__name__})"
            )
            return None
        return value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _get(tree: Any, dotted: str) -> Any:
    """``tree["a"]["b"]`` for ``"a.b"``; None when a level is missing or the value is not a scalar."""
    for part in dotted.split("."):
        if not isinstance(tree, dict):
            return None
        tree = tree.get(part)
    return tree if _scalar(tree) else None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _headline(split: Any) -> dict[str, float | int]:
    """The numeric top-level figures of one split of metrics.json (``rows``, ``accuracy``, ...)."""
    if not isinstance(split, dict):
        return {}
    return {k: v for k, v in split.items() if _number(v) is not None}


def main_metric(task: str | None) -> str | None:
    """The metric a run is ranked by: micro-F1 for multi-label tasks, accuracy otherwise."""
    if task == "multilabel":
        return "micro_f1"
    return "accuracy" if task in ("binary", "multiclass") else None


def _created(run: Path) -> datetime | None:
    """When the run started: the stamp in a default run name (``NAME-YYYYmmdd-HHMMSS``), else the time
    ``config.yaml`` (the first file training writes) was last changed, else the folder's."""
    m = _STAMP.search(run.name)
    if m:
        try:
            return datetime.strptime(m.group(1), "%Y%m%d-%H%M%S")
        except ValueError:
            pass
    for path in (run / layout.CONFIG, run):
        try:
            return datetime.fromtimestamp(os.lstat(path).st_mtime)
        except OSError:
            continue
    return None


def _checkpoint(run: Path) -> str | None:
    try:
        return latest_checkpoint_name(run)
    except OSError:
        return None


def _check_manifest(reader: _Reader, manifest: Any) -> dict:
    """The manifest's file table, with cheap checks only: each listed file exists with the recorded size."""
    run = reader.run
    if manifest is None:
        return {}
    files = manifest.get("files")
    if manifest.get("format") != layout.FORMAT or not isinstance(files, dict):
        reader.note(f'{layout.MANIFEST} is not a textclf manifest (no "format": "{layout.FORMAT}" or no "files" table)')
        return {}
    for required in layout.REQUIRED:
        if required not in files:
            reader.note(f"{layout.MANIFEST} does not list {required}; the run was not saved by textclf or was edited")
            return files
    for rel, meta in sorted(files.items()):
        if not isinstance(meta, dict):
            reader.note(f"{layout.MANIFEST} entry {rel!r} is not in textclf's format")
            break
        try:
            st = os.lstat(run / rel)
        except OSError:
            reader.note(f"{rel} is listed in {layout.MANIFEST} but missing")
            break
        if not stat.S_ISREG(st.st_mode):
            reader.note(f"{rel} is not a regular file (a link, FIFO or folder)")
            break
        if st.st_size != meta.get("size"):
            reader.note(
                f"{rel} is {st.st_size:,} bytes, {layout.MANIFEST} says {meta.get('size')}: "
                "truncated or changed after training"
            )
            break
    _check_unlisted(reader, files)
    return files


def _check_unlisted(reader: _Reader, files: dict) -> None:
    """A file in the run that its manifest does not list (an output written into the run) damages it, as
    ``show`` and loading the model would find; names only, nothing is opened."""
    try:
        entries = directory.run_entries(reader.run)
    except ModelRejected as exc:
        reader.note(str(exc))
        return
    extra = sorted(rel for rel in entries if rel != layout.MANIFEST and rel not in files)
    if extra:
        reader.note(
            f"unexpected file {extra[0]!r} that {layout.MANIFEST} does not list"
            + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
            + "; move it out of the run directory"
        )


def _check_labels(reader: _Reader, labels: Any) -> tuple[str | None, list[str] | None]:
    if labels is None:
        return None, None
    task, classes = labels.get("task"), labels.get("classes")
    if task not in TASKS or not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        reader.note(
            f'{layout.LABELS} is not in textclf\'s format (expected "task" one of {", ".join(TASKS)} '
            'and "classes" a list of strings)'
        )
        return (task if task in TASKS else None), None
    return task, classes


# --------------------------------------------------------------------------------------------------
# textclf runs


@dataclass
class RunSummary:
    """One line of ``textclf runs``: a run directory's status, key metrics and settings."""

    name: str
    path: str
    created: datetime | None
    status: str  # complete, resumable, incomplete or damaged
    problem: str | None = None  # why it is damaged
    task: str | None = None
    classes: int | None = None
    checkpoint: str | None = None  # newest checkpoint of a resumable run
    best_epoch: int | None = None
    epochs_run: int | None = None
    metric: str | None = None  # accuracy, or micro_f1 for multi-label tasks
    valid: float | None = None
    test: float | None = None
    valid_metrics: dict = field(default_factory=dict)
    test_metrics: dict = field(default_factory=dict)
    fit_seconds: float | None = None
    train_phase_seconds: float | None = None
    settings: dict = field(default_factory=dict)

    @property
    def status_text(self) -> str:
        """``complete``, ``resumable (epoch 1 of 5 done)``, ``incomplete`` or ``damaged: <reason>``."""
        if self.status == "damaged":
            return f"damaged: {self.problem}"
        if self.status == "resumable":
            progress = layout.checkpoint_progress(self.checkpoint)
            if progress:
                epochs = self.settings.get("train.epochs")
                done = f"epoch {progress[0]}" + (f" of {epochs}" if epochs else "") + " done"
                return f"resumable ({done}" + (f", {progress[1]} batches into the next" if progress[1] else "") + ")"
        return self.status

    def to_json(self) -> dict:
        out = asdict(self)
        out["created"] = self.created.isoformat(timespec="seconds") if self.created else None
        out["status_text"] = self.status_text
        return out


def summarize_run(path: str | os.PathLike) -> RunSummary:
    """The summary of one run directory; a run that cannot be read is returned with status ``damaged``."""
    run = Path(path)
    reader = _Reader(run)
    manifest = reader.read(layout.MANIFEST)
    complete = os.path.lexists(run / layout.MANIFEST)
    config = reader.read(layout.CONFIG)
    labels = reader.read(layout.LABELS)
    metrics = reader.read(layout.METRICS)
    task, classes = _check_labels(reader, labels)
    _check_manifest(reader, manifest)  # after parsing: a file that does not parse is the clearer reason
    if task is None:
        task = _get(metrics, "task") if _get(metrics, "task") in TASKS else _get(config, "task")
    if complete:
        for name, value in ((layout.LABELS, labels), (layout.METRICS, metrics), (layout.CONFIG, config)):
            if value is None and not os.path.lexists(run / name):
                reader.note(f"{name} is missing")
    checkpoint = None if complete else _checkpoint(run)
    if reader.problem:
        status = "damaged"
    elif complete:
        status = "complete"
    else:
        status = "resumable" if checkpoint else "incomplete"
    metric = main_metric(task)
    valid = _headline(metrics.get("valid")) if metrics else {}
    test = _headline(metrics.get("test")) if metrics else {}
    settings = {k: _get(config, k) for k in SETTINGS}
    best = _get(metrics, "best_epoch")
    epochs_run = _get(metrics, "epochs_run")
    return RunSummary(
        name=run.name,
        path=str(run),
        created=_created(run),
        status=status,
        problem=reader.problem,
        task=task if isinstance(task, str) else None,
        classes=len(classes) if classes is not None else None,
        checkpoint=checkpoint,
        best_epoch=best if isinstance(best, int) else None,
        epochs_run=epochs_run if isinstance(epochs_run, int) else None,
        metric=metric,
        valid=valid.get(metric) if metric else None,
        test=test.get(metric) if metric else None,
        valid_metrics=valid,
        test_metrics=test,
        fit_seconds=_number(_get(metrics, "timing.fit_seconds")),
        train_phase_seconds=_number(_get(metrics, "timing.train_phase_seconds")),
        settings=settings,
    )


def list_runs(runs_dir: str | os.PathLike = "runs", sort: str = "created") -> list[RunSummary]:
    """Every run directory directly under ``runs_dir``, summarized from its small files.

    Args:
        runs_dir: the folder that holds run directories (``train.runs_dir``, default ``runs``). Sub-folders
            with no textclf file in them and hidden folders are left out.
        sort: ``created`` (newest first, the default), ``name``, ``valid`` or ``test`` (the main metric,
            best first), ``seconds`` (training time, fastest first), or ``valid.METRIC`` / ``test.METRIC``
            for any figure in metrics.json such as ``valid.macro_f1`` (best first; lowest first for a loss).
            Runs without the figure come last.

    Raises:
        UsageError: ``runs_dir`` is missing or not a folder, or ``sort`` is not one of the above.
    """
    base = Path(runs_dir)
    key = _sort_key(sort)
    if not base.exists():
        raise UsageError(
            f"{base}: no such folder; give the folder that holds your run directories "
            "(train.runs_dir, default runs/), e.g. textclf runs path/to/runs"
        )
    if not base.is_dir():
        raise UsageError(f"{base} is a file; give the folder that holds your run directories")
    if layout.looks_like_run(base) and not any(layout.looks_like_run(p) for p in _subdirs(base)):
        raise UsageError(
            f"{base} is a run directory itself; list its parent folder ({base.parent}), "
            f"or see this run with: textclf show {base}"
        )
    summaries = [summarize_run(p) for p in _subdirs(base) if layout.looks_like_run(p)]
    return _sorted(summaries, key, sort)


def _subdirs(base: Path) -> list[Path]:
    try:
        entries = sorted(base.iterdir())
    except OSError as exc:
        raise UsageError(f"{base}: cannot list the folder ({exc.strerror})") from None
    return [p for p in entries if not p.name.startswith(".") and p.is_dir()]


def _sort_key(sort: str) -> tuple[str, str | None]:
    if sort in SORT_KEYS:
        return sort, None
    split, _, name = sort.partition(".")
    if split in ("valid", "test") and name:
        return split, name
    raise UsageError(
        f"--sort {sort}: expected one of {', '.join(SORT_KEYS)}, or valid.METRIC / test.METRIC "
        "for a figure in metrics.json (e.g. valid.macro_f1, test.roc_auc)"
    )


def _sorted(runs: list[RunSummary], key: tuple[str, str | None], sort: str) -> list[RunSummary]:
    by_time = sorted(runs, key=lambda r: r.name)
    by_time.sort(key=lambda r: r.created or datetime.min, reverse=True)  # newest first, ties by name
    what, metric = key
    if what == "created":
        return by_time
    if what == "name":
        return sorted(runs, key=lambda r: r.name)
    if what == "seconds":
        value, lower_first = (lambda r: r.fit_seconds), True
    elif metric is None:
        value, lower_first = (lambda r: getattr(r, what)), False
    else:
        figures = (lambda r: r.valid_metrics) if what == "valid" else (lambda r: r.test_metrics)
        if runs and not any(metric in figures(r) for r in runs):
            known = sorted({k for r in runs for k in figures(r)})
            raise UsageError(
                f"--sort {sort}: no run has {metric} in its {what} metrics; "
                f"available: {', '.join(f'{what}.{k}' for k in known) or 'none'}"
            )
        value, lower_first = (lambda r: figures(r).get(metric)), "loss" in metric
    have = [r for r in by_time if value(r) is not None]
    rest = [r for r in by_time if value(r) is None]
    have.sort(key=value, reverse=not lower_first)  # stable: equal values stay newest first
    return have + rest


def _model_text(settings: dict) -> str:
    rnn, units = settings.get("model.rnn"), settings.get("model.units")
    if not rnn:
        return "-"
    text = f"{'bi' if settings.get('model.bidirectional') else ''}{rnn} {units}"
    layers = settings.get("model.layers")
    return f"{layers}x {text}" if isinstance(layers, int) and layers > 1 else text


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_runs(runs: list[RunSummary]) -> str:
    """The summaries as a table, one line per run, status last (a damaged run's reason can be long)."""
    if not runs:
        return "no run directories"
    header = [
        "NAME",
        "CREATED",
        "TASK",
        "BEST",
        "METRIC",
        "VALID",
        "TEST",
        "SECONDS",
        "MODEL",
        "EPOCHS",
        "BATCH",
        "TRAIN DATA",
        "STATUS",
    ]
    rows = []
    for r in runs:
        best = f"{r.best_epoch}/{r.epochs_run}" if r.best_epoch is not None and r.epochs_run else _fmt(r.best_epoch)
        train = r.settings.get("data.train")
        rows.append(
            [
                r.name,
                r.created.strftime("%Y-%m-%d %H:%M") if r.created else "-",
                r.task or "-",
                best,
                r.metric or "-",
                _fmt(r.valid),
                _fmt(r.test),
                _fmt(r.fit_seconds, 1),
                _model_text(r.settings),
                _fmt(r.settings.get("train.epochs")),
                _fmt(r.settings.get("train.batch_size")),
                Path(train).name if train else "-",
                r.status_text,
            ]
        )
    return _table(header, rows)


def _table(header: list[str], rows: list[list[str]], indent: str = "") -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = []
    for row in [header] + rows:
        cells = [str(c).ljust(w) for c, w in zip(row, widths)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# textclf show


def _history(rows: Any) -> list[dict]:
    out = []
    for row in rows or []:
        parsed = {}
        for k, v in row.items():
            if k is None:
                continue
            try:
                parsed[k] = int(v) if k == "epoch" else float(v)
            except (TypeError, ValueError):
                parsed[k] = v
        out.append(parsed)
    return out


def _per_class(split: Any) -> list[dict]:
    table = split.get("per_class") or split.get("per_label") if isinstance(split, dict) else None
    if not isinstance(table, dict):
        return []
    rows = [
        dict(name=name, **{k: v for k, v in figures.items() if k in ("f1", "precision", "recall", "support")})
        for name, figures in table.items()
        if isinstance(figures, dict) and _number(figures.get("f1")) is not None
    ]
    rows.sort(key=lambda r: (r["f1"], -(r.get("support") or 0), r["name"]))
    return rows


def _thresholds(reader: _Reader, task: str | None, metrics: Any) -> dict | None:
    """Tuned thresholds (thresholds.json, or a "thresholds" key of metrics.json); else the one recorded."""
    name = layout.THRESHOLDS
    tuned = reader.read(name) if name else None
    if isinstance(tuned, dict) and "thresholds" in tuned:
        return {"source": name, "objective": tuned.get("objective"), "values": tuned["thresholds"]}
    if isinstance(metrics, dict) and "thresholds" in metrics:
        value = metrics["thresholds"]
        if isinstance(value, dict) and "thresholds" in value:
            return {"source": layout.METRICS, "objective": value.get("objective"), "values": value["thresholds"]}
        return {"source": layout.METRICS, "objective": None, "values": value}
    if task in ("binary", "multilabel") and isinstance(metrics, dict):
        recorded = (metrics.get("valid") or {}).get("threshold") if isinstance(metrics.get("valid"), dict) else None
        if recorded is not None:
            return {"source": "default", "objective": None, "values": recorded}
    return None


def _tracking(reader: _Reader) -> dict | None:
    """Where the run was tracked (tracking.json): the tracker, its run id and store; None when untracked."""
    tracking = reader.read(layout.TRACKING)
    if not isinstance(tracking, dict) or not all(isinstance(tracking.get(k), str) for k in ("run_id", "tracking_uri")):
        return None
    return {
        "tracker": str(tracking.get("tracker", "mlflow")),
        "run_id": tracking["run_id"],
        "uri": tracking["tracking_uri"],
    }


def _plots(run: Path) -> list[str]:
    found = []
    patterns = ["*.png"]
    evaluations = layout.EVALUATIONS
    if evaluations:
        patterns.append(f"{evaluations}/*/*.png")
    for pattern in patterns:
        for p in run.glob(pattern):
            try:
                if stat.S_ISREG(os.lstat(p).st_mode):
                    found.append(p.relative_to(run).as_posix())
            except OSError:
                continue
    return sorted(found)


def show_run(path: str | os.PathLike, verify: bool = True) -> dict:
    """Everything worth knowing about one run directory, as a JSON-ready dict.

    Keys: ``path``, ``name``, ``created``, ``status``/``status_text``/``problem``, ``manifest`` (whether
    :func:`textclf.run.directory.verify` accepts the run, and why not), ``task``, ``classes`` (count and the
    first 20), ``data`` (each data file with the SHA-256 recorded at training and whether it still exists),
    ``config`` (highlights), ``vocabulary`` and ``parameters`` (from model.json), ``history``, ``metrics``
    (headline figures of valid and test), ``worst_classes`` (the 5 lowest F1, from test if there is one),
    ``timing``, ``thresholds``, ``plots``, ``tracking`` (tracking.json: tracker, run id, store), ``paths``. Parts a
    run lacks are None or empty.

    Raises:
        UsageError: ``path`` is not a folder, or holds no textclf file.
    """
    run = _run_folder(path)
    summary = summarize_run(run)
    reader = _Reader(run)
    config = reader.read(layout.CONFIG)
    metrics = reader.read(layout.METRICS) or {}
    task, classes = _check_labels(reader, reader.read(layout.LABELS))
    model_json = reader.read(layout.MODEL)
    hp = model_json.get("hyperparameters") if isinstance(model_json, dict) else None
    hp = hp if isinstance(hp, dict) else {}
    history, state = _progress(reader, summary)
    splits = {s: _headline(metrics.get(s)) for s in ("valid", "test") if isinstance(metrics.get(s), dict)}
    worst_split = "test" if "test" in splits else "valid"
    timing = metrics.get("timing") if isinstance(metrics.get("timing"), dict) else {}
    out = summary.to_json()
    if reader.problem and out["status"] != "damaged":
        out.update(status="damaged", problem=reader.problem, status_text=f"damaged: {reader.problem}")
    out.update(
        {
            "manifest": _manifest_check(run, verify),
            "task": task or summary.task,
            "classes": {"count": len(classes), "first": classes[:20]} if classes is not None else None,
            "data": _data_files(config, metrics, state),
            "config": {k: _get(config, k) for k in HIGHLIGHTS if _get(config, k) is not None},
            "vocabulary": (
                {"tokens": hp.get("vocab_size"), "ngrams": hp.get("ngram_vocab_size") or 0}
                if "vocab_size" in hp
                else None
            ),
            "parameters": parameter_count(hp) if hp else None,
            "history": history,
            "metric": main_metric(task or summary.task),
            "metrics": splits,
            "worst_classes": {"split": worst_split, "rows": _per_class(metrics.get(worst_split))[:5]},
            "timing": {k: v for k, v in timing.items() if _number(v) is not None},
            "thresholds": _thresholds(reader, task, metrics),
            "plots": _plots(run),
            "tracking": _tracking(reader),
            "paths": _paths(run),
        }
    )
    return out


def model_card(path: str | os.PathLike, verify: bool = True) -> str:
    """The text of a run's ``MODEL_CARD.md``, once the run is checked against its manifest (unless ``verify`` is
    False): a damaged run, a changed card among it, is refused (exit 4) rather than shown.

    Raises:
        UsageError: ``path`` is not a run directory, or the run has no model card (trained before textclf wrote
            them).
        ModelRejected: the run does not verify, or the card cannot be read.
    """
    run = _run_folder(path)
    if verify:
        directory.verify(run)
    card = read_small_file(run, layout.MODEL_CARD)
    if card is None:
        raise UsageError(
            f"{run} has no {layout.MODEL_CARD}; it was trained by a textclf that did not write model cards. "
            f"`textclf show {run}` summarizes it"
        )
    return card


def _run_folder(path: str | os.PathLike) -> Path:
    """``path`` as a run directory to show; a missing path, a file or a folder without run files is refused."""
    run = Path(path)
    if not run.exists():
        raise UsageError(
            f"{run}: not found; give a run directory (the folder `textclf train` printed, "
            "or one listed by `textclf runs`)"
        )
    if not run.is_dir():
        raise UsageError(f"{run} is a file; give a run directory (the folder `textclf train` printed)")
    if not layout.looks_like_run(run):
        raise UsageError(
            f"{run} holds no textclf run files (config.yaml, manifest.json, ...); give a run "
            "directory, or list the runs in a folder with: textclf runs " + str(run)
        )
    return run


def _progress(reader: _Reader, summary: RunSummary) -> tuple[list[dict], dict | None]:
    """The history (a resumable run's from its newest checkpoint) and that checkpoint's state, if any."""
    history = _history(reader.read(layout.HISTORY, list))
    state = None
    if summary.checkpoint:  # a resumable run: its progress so far is in the newest checkpoint's state
        state = reader.read(f"{layout.CHECKPOINTS}/{summary.checkpoint}/{layout.CKPT_STATE}")
        if not history and isinstance(state, dict) and isinstance(state.get("history"), list):
            history = _history([r for r in state["history"] if isinstance(r, dict)])
        if summary.best_epoch is None and isinstance(state, dict) and isinstance(state.get("best_epoch"), int):
            summary.best_epoch = state["best_epoch"] or None  # 0: no epoch finished yet
    return history, state


def _manifest_check(run: Path, verify: bool) -> dict:
    if not verify:
        return {"verified": None, "files": None, "message": "not checked"}
    try:
        files = directory.verify(run)
    except (ModelRejected, UsageError) as exc:
        return {"verified": False, "files": None, "message": str(exc)}
    return {"verified": True, "files": len(files), "message": f"all {len(files)} files match their SHA-256"}


def _data_files(config: Any, metrics: dict, state: dict | None) -> list[dict]:
    """Each data file of the run, with the SHA-256 recorded at training and whether it still exists."""
    fingerprints = metrics.get("data") if isinstance(metrics.get("data"), dict) else None
    if fingerprints is None and isinstance(state, dict) and isinstance(state.get("data"), dict):
        fingerprints = state["data"]
    data = []
    for key in ("data.train", "data.valid", "data.test"):
        file = _get(config, key)
        if file is None and not (fingerprints or {}).get(key):
            continue
        data.append(
            {
                "key": key,
                "path": file,
                "sha256": (fingerprints or {}).get(key),
                "exists": bool(file) and Path(file).is_file(),
            }
        )
    return data


def _paths(run: Path) -> dict:
    paths = {"run": str(run.resolve())}
    for key, name in (
        ("model_card", layout.MODEL_CARD),
        ("logs", layout.LOGS),
        ("rejected_rows", layout.REJECTS),
        ("checkpoints", layout.CHECKPOINTS),
    ):
        if os.path.lexists(run / name):
            paths[key] = str((run / name).resolve())
    return paths


def format_show(info: dict) -> str:
    """The dict of :func:`show_run` as a readable report."""
    sections = [_show_head(info), _show_history(info), _show_metrics(info), _show_tail(info)]
    return "\n".join(line for section in sections for line in section)


def _row(label: str, value: Any) -> str:
    return f"{label:<12}{value}"


def _show_head(info: dict) -> list[str]:
    """Status, manifest, task, data files, config and model size."""
    m = info["manifest"]
    lines = [
        _row("run", info["paths"]["run"]),
        _row("status", info["status_text"]),
        _row(
            "manifest",
            ("verified: " if m["verified"] else "NOT verified: " if m["verified"] is False else "") + m["message"],
        ),
    ]
    if info.get("created"):
        lines.append(_row("created", info["created"].replace("T", " ")))
    classes, task = info.get("classes"), info.get("task") or "-"
    if classes:
        shown = ", ".join(classes["first"][:10])
        more = classes["count"] - min(10, len(classes["first"]))
        lines.append(
            _row("task", f"{task}, {classes['count']} classes: {shown}" + (f", ... ({more} more)" if more > 0 else ""))
        )
    else:
        lines.append(_row("task", task))
    for i, d in enumerate(info["data"]):
        sha = (d["sha256"] or "")[:16]
        state = "" if d["exists"] or not d["path"] else "  (missing now)"
        lines.append(
            _row(
                "data" if i == 0 else "",
                f"{d['key'].split('.')[1]} {d['path'] or '-'}" + (f"  sha256 {sha}..." if sha else "") + state,
            )
        )
    if info.get("data") and not any(d["key"] == "data.valid" and d["path"] for d in info["data"]):
        frac = info["config"].get("data.valid_fraction")
        lines.append(_row("", "valid split from train" + (f" ({frac:.0%})" if isinstance(frac, float) else "")))
    return lines + _show_config(info)


def _show_config(info: dict) -> list[str]:
    cfg, lines = info["config"], []
    if cfg:
        model = _model_text({k: cfg.get(k) for k in SETTINGS})
        parts = [
            f"model {model}",
            f"embedding {cfg.get('model.embedding_dim')}",
            f"pooling {cfg.get('model.pooling')}",
            f"dropout {cfg.get('model.embedding_dropout')}/{cfg.get('model.dropout')}",
            f"n-grams {cfg.get('model.ngrams')}",
            f"sequence {cfg.get('model.sequence_length')}",
        ]
        lines.append(_row("config", ", ".join(parts)))
        parts = [
            f"epochs {cfg.get('train.epochs')}",
            f"batch {cfg.get('train.batch_size')}",
            f"lr {cfg.get('train.learning_rate')}",
            f"n-gram lr {cfg.get('train.ngram_learning_rate')}",
            f"seed {cfg.get('train.seed')}",
            f"patience {cfg.get('train.early_stopping_patience')}",
            f"class_weight {cfg.get('train.class_weight')}",
        ]
        lines.append(_row("", ", ".join(parts)))
    if info.get("vocabulary"):
        v = info["vocabulary"]
        lines.append(_row("vocabulary", f"{v['tokens']:,} tokens, {v['ngrams']:,} n-grams"))
    if info.get("parameters") is not None:
        lines.append(_row("parameters", f"{info['parameters']:,}"))
    return lines


def _show_history(info: dict) -> list[str]:
    if not info["history"]:
        return []
    first = info["history"][0]
    val_metrics = [c for c in first if c.startswith("val_") and c != "val_loss"]
    cols = [c for c in ("epoch", "loss", "val_loss", *val_metrics, "seconds") if c in first]
    best = info.get("best_epoch")
    body = [
        [
            _fmt(r.get(c), 1 if c == "seconds" else 4) + (" *" if c == "epoch" and r.get("epoch") == best else "")
            for c in cols
        ]
        for r in info["history"]
    ]
    lines = ["", "history", _table(cols, body, indent="  ")]
    if best is not None:
        so_far = info["status"] == "resumable"
        lines.append("  * best epoch so far" if so_far else "  * best epoch (its weights were kept)")
    return lines


def _show_metrics(info: dict) -> list[str]:
    lines = []
    if info["metrics"]:
        names = [k for k in HEADLINE if any(k in s for s in info["metrics"].values())]
        if "subset_accuracy" in names and "accuracy" in names:
            names.remove("accuracy")  # multi-label: the same figure under its precise name
        body = [[split] + [_fmt(figs.get(k)) for k in names] for split, figs in info["metrics"].items()]
        lines += ["", _table(["metrics"] + names, body)]
    worst = info["worst_classes"]
    if worst["rows"]:
        body = [
            [r["name"], _fmt(r.get("f1")), _fmt(r.get("precision")), _fmt(r.get("recall")), _fmt(r.get("support"))]
            for r in worst["rows"]
        ]
        lines += [
            "",
            f"lowest F1 ({worst['split']}, worst {len(worst['rows'])})",
            _table(["class", "f1", "precision", "recall", "support"], body, indent="  "),
        ]
    return lines


def _show_tail(info: dict) -> list[str]:
    """Timing, thresholds, plots, paths, and how to resume."""
    lines = [""]
    t = info["timing"]
    if t:
        parts = [
            f"training {t['fit_seconds']:.1f}s" if "fit_seconds" in t else None,
            f"train phase {t['train_phase_seconds']:.1f}s" if "train_phase_seconds" in t else None,
            f"TensorFlow start {t['tensorflow_start_seconds']:.1f}s" if "tensorflow_start_seconds" in t else None,
        ]
        lines.append(_row("timing", ", ".join(p for p in parts if p)))
    thr = info.get("thresholds")
    if thr:
        values = thr["values"]
        if isinstance(values, dict):
            text = ", ".join(f"{k} {_fmt(v, 3)}" for k, v in list(values.items())[:10])
            text += f", ... ({len(values) - 10} more)" if len(values) > 10 else ""
        elif isinstance(values, list):
            text = ", ".join(_fmt(v, 3) for v in values[:10])
        else:
            text = _fmt(values, 3)
        source = thr["source"] + (f", objective {thr['objective']}" if thr.get("objective") else "")
        lines.append(_row("thresholds", f"{text} ({source})"))
    lines.append(_row("plots", ", ".join(info["plots"]) if info["plots"] else "none"))
    tracking = info.get("tracking")
    if tracking:
        lines.append(_row("tracking", f"{tracking['tracker']} run {tracking['run_id']} in {tracking['uri']}"))
    for key in ("model_card", "logs", "rejected_rows", "checkpoints"):
        if key in info["paths"]:
            lines.append(_row(key.replace("_", " "), info["paths"][key]))
    if info["status"] == "resumable":
        lines.append(_row("resume", f"textclf train --resume {info['path']}"))
    return lines
