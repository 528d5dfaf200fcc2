"""One trial of ``textclf tune``: a real training run whose epochs feed Optuna's pruner and the time budget.

:func:`run_trial` asks the trial for its settings, trains with them through :func:`textclf.training.train`
(the test file left out, the training log written to ``logs/trial-NNNN.log`` instead of the terminal), and
returns the validation figure of the run's best epoch, the one training keeps. :class:`EpochWatch` is the
``on_epoch`` hook: it reports each epoch's figure, raises ``TrialPruned`` when the pruner says so, and stops
the run at this epoch boundary once the budget is spent (the run finishes with its best epoch, and counts).
A trial that runs out of memory or diverges raises :class:`TrialFailed`: recorded with its reason, skipped.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import DivergedError, Interrupted, ResourceError, Terminated
from ..training import train
from ..training.loop import EpochResult
from .budget import Budget
from .folder import trial_log, trial_run
from .space import suggest, trial_config

# the loggers whose lines a trial writes to its log file instead of the terminal
TRAINING_LOGGERS = ("textclf.training", "textclf.use", "textclf.run", "textclf.model", "textclf.io", "textclf.tools",
                    "textclf.runtime")  # fmt: skip


class TrialFailed(Exception):
    """A trial that failed on its own (out of memory, diverged): recorded as failed, and the search goes on."""


def is_trial_failure(exc: BaseException) -> bool:
    """Whether ``exc`` fails this trial's settings only (another trial may well train), not the whole search."""
    return (
        isinstance(exc, (ResourceError, DivergedError, MemoryError)) or type(exc).__name__ == "ResourceExhaustedError"
    )


def failure_reason(exc: BaseException) -> str:
    """Why a trial ended without a value, in one line (for trials.csv and the progress line)."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return "out of memory with these settings"
    if isinstance(exc, (Interrupted, KeyboardInterrupt, Terminated)):
        return "interrupted (Ctrl-C or SIGTERM)"
    return " ".join(str(exc).split())[:300] or type(exc).__name__


class EpochWatch:
    """The ``on_epoch`` hook of one trial: report to the pruner, prune, stop when the budget is spent."""

    def __init__(self, trial: Any, budget: Budget, minimize_loss: bool):
        self.trial, self.budget, self.minimize_loss = trial, budget, minimize_loss
        self.started = time.monotonic()
        self.epochs = 0
        self.best: float | None = None  # the figure of the best epoch so far: the run keeps its weights
        self.stopped = False  # by the budget

    def __call__(self, result: EpochResult) -> str | None:
        import optuna

        figure = result.val_loss if self.minimize_loss else result.val_metric
        if self.epochs == 0:
            self.budget.saw_first_epoch(time.monotonic() - self.started)
        self.epochs = result.epoch
        if result.improved:
            self.best = figure
        self.trial.report(figure, result.epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {result.epoch}")
        if self.budget.spent() and not result.stop and result.epoch < result.epochs:
            self.stopped = True
            return "the time budget of textclf tune is spent"
        return None


def run_trial(trial: Any, cfg: Config, study_dir: Path, budget: Budget, minimize_loss: bool) -> float:
    """Train one trial's settings into ``runs/trial-NNNN``; returns its best epoch's validation figure."""
    import optuna

    params = suggest(trial, cfg.tune.space)
    run = trial_run(study_dir, trial.number)
    for key, value in (("run_dir", str(run)), ("host", socket.gethostname()), ("pid", os.getpid())):
        trial.set_user_attr(key, value)
    watch = EpochWatch(trial, budget, minimize_loss)
    try:
        with training_log(trial_log(study_dir, trial.number)):
            train(trial_config(cfg, params), run_dir=run, on_epoch=watch)
    except BaseException as exc:
        _record(trial, watch)
        shutil.rmtree(run, ignore_errors=True)  # a pruned or failed trial keeps no run
        reason = str(exc) if isinstance(exc, optuna.TrialPruned) else failure_reason(exc)
        trial.set_user_attr("reason", reason)
        if is_trial_failure(exc):
            raise TrialFailed(reason) from exc
        raise
    finally:
        _free_models()
    _record(trial, watch)
    if watch.stopped:
        trial.set_user_attr("reason", f"stopped by the budget after epoch {watch.epochs}")
    assert watch.best is not None  # a finished run has a best epoch
    return watch.best


def _record(trial: Any, watch: EpochWatch) -> None:
    trial.set_user_attr("epochs", watch.epochs)
    trial.set_user_attr("seconds", round(time.monotonic() - watch.started, 1))


def _free_models() -> None:
    """Drop Keras's global state (graphs, layer names) between trials, so that a long search stays flat."""
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()


@contextmanager
def training_log(path: Path) -> Iterator[None]:
    """Training's log lines go to ``path`` (every line, INFO and up) instead of the terminal while it runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = []
    for name in (*TRAINING_LOGGERS, "tensorflow"):  # TensorFlow's own: retracing notes as trials follow trials
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level, logger.handlers))
        logger.handlers = [handler] if name == "tensorflow" else [*logger.handlers, handler]
        logger.propagate = False
        logger.setLevel(logging.INFO if name != "tensorflow" else logging.WARNING)
    try:
        yield
    finally:
        for logger, propagate, level, handlers in saved:
            logger.handlers = handlers
            logger.propagate = propagate
            logger.setLevel(level)
        handler.close()
