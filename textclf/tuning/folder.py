"""The study folder of ``textclf tune``: its file names, the lock its processes share, and the Optuna storage.

A study folder holds ``study.db`` (Optuna's SQLite storage, unless ``--storage`` names another database),
``runs/trial-NNNN`` (each trial's run directory; only the best one is kept unless ``--keep-runs``),
``logs/trial-NNNN.log`` (each trial's training log), and the results: ``best.yaml``, ``trials.csv``,
``test_metrics.json`` and the plots. Every ``tune`` process working on the folder holds a shared lock on
``tune.lock``; a ``--resume`` that finds no other holder knows that a RUNNING trial in its own SQLite study
was left so by a process that was killed, and fails it at once.
"""

from __future__ import annotations

import fcntl
import os
import time
import warnings
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import UsageError

STUDY_DB = "study.db"
LOCK = "tune.lock"
RUNS = "runs"
LOGS = "logs"
BEST_YAML = "best.yaml"
TRIALS_CSV = "trials.csv"
TEST_METRICS = "test_metrics.json"
HISTORY_PNG = "optimization_history.png"
IMPORTANCE_PNG = "param_importances.png"
STUDIES_DIR = "studies"  # the default parent folder, in the working directory
HEARTBEAT_SECONDS = 5  # a running trial writes a heartbeat this often ...
GRACE_SECONDS = 30  # ... and one silent for this long is failed by the next trial to start, in any process


def trial_run(study_dir: Path, number: int) -> Path:
    return study_dir / RUNS / f"trial-{number:04d}"


def trial_log(study_dir: Path, number: int) -> Path:
    return study_dir / LOGS / f"trial-{number:04d}.log"


def trial_number(run: Path) -> int | None:
    """The trial number of a ``runs/trial-NNNN`` folder (None for any other name)."""
    name = run.name
    return int(name[6:]) if name.startswith("trial-") and name[6:].isdigit() else None


def new_study_dir(cfg: Config) -> Path:
    """A new folder under ``studies/`` named from the config file and the time."""
    name = Path(cfg.source).stem if cfg.source else "study"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(STUDIES_DIR) / f"{name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = Path(STUDIES_DIR) / f"{name}-{stamp}-{n}"
    return path


def prepare_folder(study_dir: Path, resume: bool, storage: str | None) -> Path:
    """The study folder, created for a new study; refused when a new study would mix with an old one."""
    if resume:
        if not study_dir.is_dir():
            raise UsageError(
                f"--study {study_dir}: no such folder to resume; give the folder of an existing study, or leave "
                "out --resume to start a new one"
            )
        return study_dir.resolve()
    if study_dir.exists() and (not study_dir.is_dir() or any(study_dir.iterdir())):
        raise UsageError(
            f"--study {study_dir}: exists and is not an empty folder; continue the study in it with --resume, or "
            "choose a new folder"
        )
    try:
        (study_dir / RUNS).mkdir(parents=True, exist_ok=True)
        (study_dir / LOGS).mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--study {study_dir}: cannot create it ({exc.strerror}); choose another folder") from None
    return study_dir.resolve()


class FolderLock:
    """The lock every ``tune`` process holds, shared, on its study folder while it works there."""

    def __init__(self, study_dir: Path):
        (study_dir / RUNS).mkdir(parents=True, exist_ok=True)
        (study_dir / LOGS).mkdir(exist_ok=True)
        self.fd = os.open(study_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)

    def alone(self) -> bool:
        """Whether no other process works in the folder (taken exclusively until :meth:`share`)."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def share(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_SH)

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # releases the lock


def storage_url(storage: str | None, study_dir: Path) -> str:
    return storage or f"sqlite:///{study_dir / STUDY_DB}"


def open_storage(url: str) -> Any:
    """Optuna's RDB storage at ``url``, with heartbeats (a killed process's trial is failed after the grace)."""
    import optuna

    engine: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS
            )
    except (ImportError, ValueError) as exc:
        raise UsageError(
            f"--storage: cannot use {_shown(url)} ({exc}); check the URL and its database driver"
        ) from None
    except Exception as exc:  # SQLAlchemy's errors: a server that does not answer, a refused login
        reason = " ".join(str(exc).split())[:300]
        raise UsageError(f"--storage: cannot open {_shown(url)} ({type(exc).__name__}: {reason}); check the URL, "
                         "that the database server is up, and the login") from None  # fmt: skip


def _shown(url: str) -> str:
    """The URL without its password."""
    head, sep, tail = url.partition("://")
    if sep and "@" in tail:
        auth, _, host = tail.rpartition("@")
        return f"{head}://{auth.split(':', 1)[0]}:***@{host}"
    return url
