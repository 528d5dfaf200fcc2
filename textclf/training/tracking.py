"""Experiment tracking of a training run (``train.tracking``): nothing, or MLflow.

With ``mlflow``, :class:`MlflowTracker` logs the config as parameters (dotted keys such as ``model.units``),
each epoch's figures as the loop yields them (step = epoch), the final validation and test metrics, and the
finished run directory's files as artifacts (under ``run/``). It works through ``MlflowClient``, never the
global active run. The store is ``MLFLOW_TRACKING_URI`` when set, else ``./mlruns`` in the working directory
(the SQLite database ``mlruns/mlflow.db`` and the artifacts in ``mlruns/artifacts/``; nothing to start).
The MLflow run's store and id are kept in the run's ``tracking.json``, so ``textclf train --resume``
continues the same MLflow run. MLflow is imported here only, once tracking starts.

A tracking failure never costs the training: the first one is logged as a warning, tracking stops for the
rest of the run, and the run directory is complete as usual.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import Config
from ..config.schema import dotted
from ..errors import ConfigError, Interrupted
from ..run import directory
from ..run.card import split_metrics
from ..run.layout import MANIFEST
from .loop import EpochResult

log = logging.getLogger(__name__)

INSTALL = "pip install 'textclf[tracking]'"
DEFAULT_STORE = "mlruns"  # in the working directory, beside the default runs/ folder
ARTIFACTS = "run"  # the artifact folder that receives the run directory's files
PARAM_CHARS = 6000  # MLflow's longest parameter value
BATCH = 100  # MLflow's most parameters in one log_batch


def check_tracking(cfg: Config) -> None:
    """Refuse ``train.tracking: mlflow`` without MLflow installed, before anything slow starts (exit 2)."""
    if cfg.train.tracking != "mlflow":
        return
    needed = ["mlflow"]
    if tracking_uri(create=False).startswith("sqlite:"):
        needed += ["sqlalchemy", "alembic"]  # the local SQLite store
    missing = [name for name in needed if not _installed(name)]
    if missing:
        raise ConfigError(
            [
                f"train.tracking: received 'mlflow', but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not installed; install the tracking extra with "
                f"{INSTALL}, or set train.tracking: none"
            ],
            cfg.source,
        )


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def tracking_uri(create: bool = True) -> str:
    """``MLFLOW_TRACKING_URI`` when set; else the SQLite store in ``./mlruns`` (the folder created if ``create``)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri
    store = default_store()
    if create:
        store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def default_store() -> Path:
    return Path.cwd().resolve() / DEFAULT_STORE


def epoch_figures(result: EpochResult) -> dict[str, float]:
    """One epoch's figures, named and rounded as in history.csv."""
    figures = {
        "loss": result.loss,
        result.metric_name: result.metric,
        "val_loss": result.val_loss,
        result.monitored: result.val_metric,
        "seconds": result.seconds,
    }
    return {k: round(float(v), 6) for k, v in figures.items()}


class NoTracking:
    """``train.tracking: none``: every call does nothing."""

    def epoch(self, result: EpochResult) -> None:
        pass

    def finish(self, run: Path) -> None:
        pass

    def end(self, status: str) -> None:
        pass


def start_tracking(cfg: Config, run: Path, history: list[dict], task: str) -> NoTracking | MlflowTracker:
    """The tracker ``train.tracking`` asks for, started: an MLflow run created, or reopened on a resume."""
    if cfg.train.tracking == "none":
        return NoTracking()
    tracker = MlflowTracker(run)
    tracker.safely("starting", tracker.start, cfg, history, task)
    return tracker


@contextmanager
def tracked(tracker: NoTracking | MlflowTracker) -> Iterator[None]:
    """End the tracker's run with the training: FINISHED, KILLED (a signal: it may be resumed) or FAILED."""
    try:
        yield
    except (Interrupted, KeyboardInterrupt):
        tracker.end("KILLED")
        raise
    except BaseException:
        tracker.end("FAILED")
        raise
    tracker.end("FINISHED")


class MlflowTracker:
    """Logs one training run to one MLflow run; after the first failure it logs nothing more."""

    def __init__(self, run: Path):
        self.run = run
        self.client: Any = None
        self.run_id: str | None = None
        self.failed = False

    def safely(self, what: str, action, *args) -> None:
        """Run one tracking step; a failure becomes one warning, and tracking stops."""
        if self.failed:
            return
        try:
            action(*args)
        except Exception as exc:  # whatever the store raises, the training goes on
            self.failed = True
            reason = " ".join(str(exc).split())[:300]
            log.warning(
                f"warning: tracking: MLflow failed while {what} ({type(exc).__name__}: {reason}); training goes "
                "on without tracking and the run directory is complete as usual. Check MLFLOW_TRACKING_URI, or "
                "set train.tracking: none"
            )

    def start(self, cfg: Config, history: list[dict], task: str) -> None:
        from mlflow.tracking import MlflowClient

        saved = directory.read_tracking(self.run)
        if saved is not None:  # a resume: continue the MLflow run the interrupted training logged to
            uri, self.run_id = str(saved["tracking_uri"]), str(saved["run_id"])
            self.client = MlflowClient(uri)
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            uri = tracking_uri()
            self.client = MlflowClient(uri)
            name = cfg.train.tracking_experiment or (Path(cfg.source).stem if cfg.source else "textclf")
            experiment = self._experiment(name, uri)
            tags = {"textclf.run_dir": str(self.run.resolve()), "textclf.task": task}
            self.run_id = self.client.create_run(experiment, run_name=self.run.name, tags=tags).info.run_id
            directory.write_tracking(
                self.run,
                {"tracker": "mlflow", "tracking_uri": uri, "experiment": name, "experiment_id": experiment,
                 "run_id": self.run_id},
            )  # fmt: skip
        self._log_params(cfg)
        self._backfill(history)
        log.info(f"tracking: MLflow run {self.run_id}{' (continued)' if saved else ''} in {uri}")

    def _experiment(self, name: str, uri: str) -> str:
        """The id of the experiment ``name``, created if needed (its artifacts beside a default store)."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        default = uri == f"sqlite:///{default_store() / 'mlflow.db'}"
        location = (default_store() / "artifacts").as_uri() if default else None
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except Exception:
            found = self.client.get_experiment_by_name(name)  # another training created it meanwhile
            if found is None:
                raise
            return found.experiment_id

    def _log_params(self, cfg: Config) -> None:
        """The config as parameters; on a resume, only those not logged yet (MLflow never changes one)."""
        from mlflow.entities import Param

        have = self.client.get_run(self.run_id).data.params
        params = [
            Param(key, (value if isinstance(value, str) else json.dumps(value))[:PARAM_CHARS])
            for key, value in dotted(cfg.to_dict()).items()
            if key not in have
        ]
        for i in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[i : i + BATCH])

    def _backfill(self, history: list[dict]) -> None:
        """On a resume: the epochs the checkpoint holds that MLflow lacks (a kill between the two)."""
        if not history:
            return
        logged = {m.step for m in self.client.get_metric_history(self.run_id, "loss")}
        for row in history:
            if row.get("epoch") not in logged:
                skip = ("epoch", "learning_rate")
                self._log_metrics({k: v for k, v in row.items() if k not in skip}, int(row["epoch"]))

    def _log_metrics(self, figures: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), stamp, step) for k, v in figures.items()])

    def epoch(self, result: EpochResult) -> None:
        """One epoch's figures, named as in history.csv, at step ``result.epoch``."""
        self.safely(f"logging epoch {result.epoch}", self._log_metrics, epoch_figures(result), result.epoch)

    def finish(self, run: Path) -> None:
        """The final metrics (from metrics.json) and the sealed run directory, once it is saved."""
        self.safely("logging the final metrics", self._log_final, run)
        self.safely("logging the run directory as artifacts", self._log_artifacts, run)

    def _log_final(self, run: Path) -> None:
        metrics = directory.read_metrics(run)
        figures = {
            f"{split}.{k}": v
            for split in ("valid", "test")
            if isinstance(metrics.get(split), dict)
            for k, v in split_metrics(metrics[split]).items()
        }
        for key in ("best_epoch", "epochs_run"):
            if isinstance(metrics.get(key), int):
                figures[key] = metrics[key]
        figures.update({k: v for k, v in (metrics.get("timing") or {}).items() if isinstance(v, (int, float))})
        self._log_metrics(figures, 0)

    def _log_artifacts(self, run: Path) -> None:
        """Every file the manifest lists, and the manifest, under ``run/`` (the training lock is left out)."""
        listed = directory.read_small_file(run, MANIFEST)["files"]
        for rel in [*listed, MANIFEST]:
            folder = Path(rel).parent.as_posix()
            self.client.log_artifact(
                self.run_id, str(run / rel), ARTIFACTS if folder == "." else f"{ARTIFACTS}/{folder}"
            )

    def end(self, status: str) -> None:
        """Mark the MLflow run FINISHED, KILLED or FAILED; quietly after a failure (it was reported)."""
        if self.client is None or self.run_id is None:
            return
        if not self.failed:
            self.safely(f"ending the run as {status}", self.client.set_terminated, self.run_id, status)
            return
        with contextlib.suppress(Exception):
            self.client.set_terminated(self.run_id, status)
