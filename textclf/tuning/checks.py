"""What ``textclf tune`` checks before its first trial: every problem that would fail each trial alike.

A config or data problem ends the command at once, with the message ``textclf train`` would give, instead
of being recorded trial after trial. The data is read here once, with the test file left out as in every
trial; the test file is only checked to exist (it is read once, after the search).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, UsageError
from ..training.inputs import load_training_data
from ..training.loop import metric_name
from ..training.setup import cluster
from ..training.tracking import check_tracking
from .space import trial_config

INSTALL = "pip install 'textclf[tune]'"


def check_optuna() -> None:
    """Refuse ``textclf tune`` without Optuna, before anything else (exit 2)."""
    try:
        found = importlib.util.find_spec("optuna") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(f"textclf tune needs Optuna, which is not installed; install it with {INSTALL}")


def check_search(cfg: Config) -> tuple[str, str]:
    """Check what every trial shares; returns (the task, the objective: the validation figure training keeps)."""
    workers = cluster()[0]
    if workers > 1:
        raise UsageError(
            f"textclf tune runs its trials in one process, received TF_CONFIG with {workers} workers; run it "
            "without TF_CONFIG (several machines share a study through --storage instead)"
        )
    problems = []
    keys = [e.key for e in cfg.tune.space]
    if not keys:
        problems.append(
            "tune.space: the search space is empty; name the keys to search, such as model.units: [32, 64], or "
            "set tune.default_space: true"
        )
    if "model.embedding_dim" in keys and cfg.model.pretrained_vectors:
        problems.append(
            "tune.space.model.embedding_dim: cannot be searched with model.pretrained_vectors, whose vectors "
            "have one size; leave it out of the search (tune.space.model.embedding_dim: null)"
        )
    if cfg.data.test and not Path(cfg.data.test).is_file():
        problems.append(
            f"data.test: received {cfg.data.test!r}, which is not a file; the test file is evaluated once after "
            "the search: fix the path, or set data.test: null"
        )
    if problems:
        raise ConfigError(problems, cfg.source)
    check_tracking(cfg)
    data = load_training_data(trial_config(cfg, {}))
    figure = "val_loss" if cfg.train.early_stopping_monitor == "loss" else f"val_{metric_name(data.task)}"
    return data.task, figure
