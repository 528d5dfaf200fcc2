"""The names of the files in a run directory: the only module that knows them.

A run directory holds everything needed to predict and nothing executable::

    config.yaml        the resolved config of the run
    model.json         the hyperparameters textclf's own builder rebuilds the network from
    weights.npz        the weights, one array per variable (NumPy, loaded with allow_pickle=False)
    vocab.json         the token lists of the word and n-gram vocabularies, and the standardization
    labels.json        the task and the class names, in output order
    history.csv        one row per epoch
    metrics.json       validation (and test) metrics
    logs/              TensorBoard event files
    rejected_rows.csv  rows skipped with data.on_bad_rows: skip (only when there were any)
    thresholds.json    decision thresholds tuned on validation (binary and multi-label tasks)
    training_curves.png, confusion_matrix.png   plots (train.plots)
    MODEL_CARD.md      the model card (Hugging Face layout): what the model is, its data, training and evaluation
    tracking.json      with train.tracking: mlflow, the MLflow run that a resume continues (store and run id)
    manifest.json      SHA-256 and size of every other file; written last
    evaluations/       what `textclf eval` adds later (plots per evaluated file); outside the manifest,
                       never read when loading

While training, ``checkpoints/epoch-EEEEE-step-SSSSSSS/`` folders hold what a resume needs; they are removed
once the run is complete. The format version is in ``manifest.json`` and ``model.json``; docs/run-directory.md
describes each file and how the version changes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

FORMAT = "textclf-run"
FORMAT_VERSION = 2  # 2: vocab.json carries the n-gram IDF weights

CONFIG = "config.yaml"
MODEL = "model.json"
WEIGHTS = "weights.npz"
VOCAB = "vocab.json"
LABELS = "labels.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
MANIFEST = "manifest.json"
LOGS = "logs"
REJECTS = "rejected_rows.csv"
CHECKPOINTS = "checkpoints"  # only while training; removed when the run is complete
THRESHOLDS = "thresholds.json"
CURVES_PNG = "training_curves.png"
CONFUSION_PNG = "confusion_matrix.png"
MODEL_CARD = "MODEL_CARD.md"
TRACKING = "tracking.json"  # written when tracking starts, so that a resume reopens the same MLflow run
EVALUATIONS = "evaluations"  # added by `textclf eval`; not in the manifest and never read when loading
LOCK = ".textclf-train.lock"  # held by the process training into the run (never listed, never read)
CKPT_STATE, CKPT_VARIABLES, CKPT_OPTIMIZER, CKPT_BEST = "state.json", "variables.npz", "optimizer.npz", "best.npz"
PLOTS = {"curves": CURVES_PNG, "confusion": CONFUSION_PNG}

MB = 1 << 20
SIZE_CAPS = {
    CONFIG: 1 * MB,
    MODEL: 1 * MB,
    VOCAB: 256 * MB,
    LABELS: 64 * MB,
    HISTORY: 16 * MB,
    METRICS: 64 * MB,
    MANIFEST: 4 * MB,
    WEIGHTS: 8192 * MB,
    REJECTS: 256 * MB,
    THRESHOLDS: 4 * MB,
    CURVES_PNG: 16 * MB,
    CONFUSION_PNG: 64 * MB,
    MODEL_CARD: 64 * MB,
    TRACKING: 1 * MB,
}
LOG_CAP = 512 * MB
SMALL_FILE_CAP = 1 * MB  # files without a cap of their own, read by `runs` and `show`
_LOG_NAME = re.compile(r"logs/(train|valid)/events\.out\.tfevents\.[\w.\-]+")
_CHECKPOINT = re.compile(r"epoch-(\d+)-step-(\d+)")
# the files a finished run must have: without one of them it is damaged
REQUIRED = (CONFIG, MODEL, WEIGHTS, VOCAB, LABELS, METRICS)
# files that mark a folder as a run directory (finished, in training, or damaged)
MARKERS = (CONFIG, MODEL, MANIFEST, LABELS, METRICS, CHECKPOINTS)


def allowed(name: str) -> bool:
    """Whether ``name`` (relative, with ``/``) may appear in a run directory's manifest."""
    return name in SIZE_CAPS or bool(_LOG_NAME.fullmatch(name))


def cap(name: str) -> int:
    """The largest size accepted for a file of the run, in bytes."""
    return SIZE_CAPS.get(name, LOG_CAP)


def checkpoint_name(epoch: int, step: int) -> str:
    """The folder of a checkpoint after ``epoch`` complete epochs and ``step`` batches of the next."""
    return f"epoch-{epoch:05d}-step-{step:07d}"


def checkpoint_progress(name: str | None) -> tuple[int, int] | None:
    """(complete epochs, batches into the next one) from a checkpoint folder name; None for another name."""
    m = _CHECKPOINT.fullmatch(name or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def looks_like_run(path: str | os.PathLike) -> bool:
    """Whether a folder holds any textclf run file (a config, model, manifest, labels, metrics or checkpoints)."""
    return any(os.path.lexists(Path(path) / n) for n in MARKERS)


def is_run_directory(path: str | os.PathLike) -> bool:
    """Whether a folder is a run directory that textclf wrote or is writing: a textclf manifest, or its config
    with checkpoints, a training lock, or a model and weights (a ``config.yaml`` alone is any project's)."""
    p = Path(path)
    try:
        with open(p / MANIFEST, "rb") as f:
            if f'"format": "{FORMAT}"'.encode() in f.read(4096):
                return True
    except OSError:
        pass
    if not os.path.lexists(p / CONFIG):
        return False
    return (
        os.path.lexists(p / CHECKPOINTS)
        or os.path.lexists(p / LOCK)
        or (os.path.lexists(p / MODEL) and os.path.lexists(p / WEIGHTS))
    )


def run_containing(path: str | os.PathLike) -> Path | None:
    """The run directory that ``path`` is inside of (or is), if any, links resolved: the nearest one above it."""
    here = Path(os.path.realpath(path))
    for folder in [here, *here.parents]:
        if folder.is_dir() and is_run_directory(folder):
            return folder
    return None


def log_dir(run: Path) -> Path:
    return run / LOGS


def evaluation_dir(run: str | os.PathLike, data: str | os.PathLike) -> Path:
    """``RUN/evaluations/<data file stem>/``: where eval writes its plots for one data file (created)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(data).stem).strip("-.") or "data"
    path = Path(run) / EVALUATIONS / slug
    path.mkdir(parents=True, exist_ok=True)
    return path
