"""``textclf tune``: a hyperparameter search with Optuna, each trial a real training run.

:func:`tune` checks the config and data once, opens the study in Optuna's RDB storage (``STUDY/study.db``, or
the ``--storage`` database that several processes and machines share), runs trials until the time budget or
the trial cap says stop, then writes the results (:mod:`.results`) and evaluates the test file once, on the
best run. The sampler is TPE, seeded from ``train.seed`` for a new study (a resumed or joining process derives
its seed from it, the trials so far and its process id, so that it does not repeat the first process's
suggestions); the pruner is the median one (``tune.pruner``), fed each epoch's validation figure.

Trials left RUNNING by a killed process: every running trial writes a heartbeat, and one that has been silent
for the grace period is failed by the next trial to start, in any process sharing the study. A ``--resume``
of a study in its folder's own SQLite file that finds no other ``tune`` process holding the folder fails them
at once.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import EXIT_SIGINT, ConfigError, DivergedError, Interrupted, ResourceError, UsageError
from .budget import Budget
from .checks import check_optuna, check_search
from .folder import (
    BEST_YAML,
    TRIALS_CSV,
    FolderLock,
    new_study_dir,
    open_storage,
    prepare_folder,
    storage_url,
    trial_log,
    trial_run,
)
from .report import best_trial, header, progress_line, summary, test_line
from .results import absolute_paths, draw_plots, evaluate_best, remove_other_runs, write_best_yaml, write_trials_csv
from .space import changed_entries
from .trial import TrialFailed, failure_reason, run_trial

log = logging.getLogger(__name__)


@dataclass
class TuneResult:
    """What a search found: the best trial's run directory and figure, the result files, the test metrics."""

    study_dir: Path
    best_run: Path  # the best trial's run directory (on the machine that ran it)
    best_number: int
    best_value: float
    objective: str  # the validation figure searched for, e.g. val_accuracy
    best_config: Path  # best.yaml
    trials_csv: Path
    plots: list[Path]
    test: dict | None  # evaluate_file's result on data.test, None without one (or when the best ran elsewhere)
    trials_run: int  # by this command


def tune(
    config: Config | None = None,
    study_dir: str | os.PathLike | None = None,
    *,
    budget: float | None = None,
    trials: int | None = None,
    storage: str | None = None,
    resume: bool = False,
    keep_runs: bool = False,
) -> TuneResult:
    """Search hyperparameters as ``config.tune`` says, each trial a training run; see the module docstring.

    Args:
        config: the base config (every key the search does not set keeps its value). Optional with ``resume``:
            the study's own config is used; if given, it must equal it but for ``tune.*`` and keys such as
            ``train.device``.
        study_dir: the study folder; default a new folder under ``studies/``. Its name is the study's name in
            the storage.
        budget: seconds of wall time; the trial running when they run out stops at its next epoch boundary and
            counts as a finished run with its best epoch so far. trials: the most trials this command runs.
        storage: an Optuna RDB URL (``postgresql://...``) instead of ``STUDY/study.db``, to share the study.
        resume: continue the study in ``study_dir`` (after a kill, or beside other processes working on it).
        keep_runs: keep every trial's run directory, not only the best one's.

    Raises:
        UsageError: Optuna is missing, or neither ``budget`` nor ``trials`` is given. ConfigError, DataError:
        before the first trial. Interrupted: the trial running is recorded as failed; ``resume`` continues.
    """
    check_optuna()
    clock = Budget(budget)
    _check_request(config, budget, trials, resume, study_dir)
    base = absolute_paths(config) if config is not None else None
    checked = check_search(base) if base is not None and not resume else None  # before any folder is made
    folder = prepare_folder(Path(study_dir) if study_dir is not None else new_study_dir(base), resume, storage)
    with FolderLock(folder) as lock, quiet_optuna():
        search = open_search(base, folder, storage, lock, checked)
        return search.run(clock, trials, keep_runs)


def _check_request(
    config: Config | None, budget: float | None, trials: int | None, resume: bool, study_dir: Any
) -> None:
    if budget is None and trials is None:
        raise UsageError("give --budget (such as 20m) or --trials N, or both: the search needs an end")
    if trials is not None and trials < 1:
        raise UsageError(f"--trials: received {trials}, expected a number of trials of at least 1")
    if budget is not None and budget <= 0:
        raise UsageError(f"--budget: received {budget} seconds, expected a time above zero")
    if resume and study_dir is None:
        raise UsageError("--resume continues a study: give its folder with --study DIR")
    if not resume and config is None:
        raise UsageError("give --config FILE (or --study DIR --resume to continue a study)")


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's own log lines and experimental-feature warnings off the terminal: tune reports each trial."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)


def open_search(
    given: Config | None, folder: Path, storage: str | None, lock: FolderLock, checked: tuple[str, str] | None
) -> Search:
    """A new study (``checked``: its task and objective, from :func:`check_search`), or the study in ``folder``."""
    import optuna

    db = open_storage(storage_url(storage, folder))
    if checked is None:
        return _resumed(given, folder, storage, lock, db)
    assert given is not None
    lock.share()
    task, objective = checked
    try:
        study = optuna.create_study(
            storage=db,
            study_name=folder.name,
            direction="minimize" if objective == "val_loss" else "maximize",
            sampler=_sampler(given.train.seed),
            pruner=_pruner(given),
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise UsageError(
            f"--storage already holds a study named {folder.name!r}; continue it with --study {folder} --resume, "
            "or choose a study folder with another name"
        ) from None
    for key, value in (("config", given.to_yaml()), ("objective", objective), ("task", task)):
        study.set_user_attr(key, value)
    return Search(study, given, folder, storage, task, objective, resumed=False)


def _resumed(given: Config | None, folder: Path, storage: str | None, lock: FolderLock, db: Any) -> Search:
    """The study in ``folder``, its config checked against ``given``; killed processes' trials failed."""
    import optuna
    import yaml

    try:
        study_id = db.get_study_id_from_name(folder.name)
    except KeyError:
        where = "--storage" if storage else str(folder)
        raise UsageError(
            f"--resume: no study named {folder.name!r} in {where}; start it without --resume (the folder's name is "
            "the study's name)"
        ) from None
    attrs = db.get_study_user_attrs(study_id)
    saved = Config.from_dict(yaml.safe_load(attrs["config"]), f"the study {folder.name}")
    cfg = _same_config(saved, given, folder) if given is not None else saved
    task, objective = check_search(cfg)
    seed = (cfg.train.seed + 1_000_003 * len(db.get_all_trials(study_id, deepcopy=False)) + os.getpid()) % 2**32
    study = optuna.load_study(study_name=folder.name, storage=db, sampler=_sampler(seed), pruner=_pruner(cfg))
    changed = changed_entries(study.get_trials(deepcopy=False), cfg.tune.space)
    if changed:
        raise ConfigError(changed, cfg.source)
    if lock.alone() and storage is None:  # no other process works on this SQLite study: a RUNNING trial is dead
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
    lock.share()
    return Search(study, cfg, folder, storage, task, objective, resumed=True)


def _same_config(saved: Config, given: Config, folder: Path) -> Config:
    """``given``, if it equals the study's config but for keys that do not change what a trial measures."""
    changes = given.changes_from(saved)
    if changes:
        raise ConfigError(
            [
                f"cannot continue the study in {folder}: the config changed: {'; '.join(changes)}. Continue with "
                "the study's config (leave out --config), or start a new study"
            ],
            given.source,
        )
    return given


def _sampler(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def _pruner(cfg: Config) -> Any:
    """The median pruner: a trial may be pruned from epoch ``warmup_epochs + 1`` on (steps are epochs, from 1)."""
    import optuna

    if cfg.tune.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=cfg.tune.startup_trials, n_warmup_steps=cfg.tune.warmup_epochs + 1
    )


class Search:
    """The trials of one ``tune`` command on one study, and the results it writes at the end."""

    def __init__(
        self, study: Any, cfg: Config, folder: Path, storage: str | None, task: str, objective: str, resumed: bool
    ):
        self.study, self.cfg, self.folder, self.storage = study, cfg, folder, storage
        self.task, self.objective, self.resumed = task, objective, resumed
        self.number = -1  # the trial running, or the last one
        self.last_failure: BaseException | None = None
        self.clock = Budget(None)

    def objective_fn(self, trial: Any) -> float:
        self.number = trial.number
        try:
            return run_trial(trial, self.cfg, self.folder, self.clock, self.objective == "val_loss")
        except TrialFailed as exc:
            self.last_failure = exc.__cause__
            raise

    def run(self, clock: Budget, cap: int | None, keep_runs: bool) -> TuneResult:
        """Trials until the cap or the budget, each reported in one line; then the results."""
        self.clock = clock
        log.info(header(self.study, self.resumed, self.folder, len(self.cfg.tune.space), self.objective, clock, cap))
        count = 0
        try:
            while (cap is None or count < cap) and clock.room_for_a_trial():
                self.study.optimize(self.objective_fn, n_trials=1, catch=(TrialFailed,))
                count += 1
                trials = self.study.get_trials(deepcopy=False)
                best = best_trial(self.study)
                trial = next(t for t in trials if t.number == self.number)
                log.info(progress_line(count, cap, trial, best, self.objective, trial_log(self.folder, trial.number)))
                if not keep_runs:
                    remove_other_runs(self.folder, trials, best.number if best is not None else None)
        except Interrupted as exc:
            raise self._interrupted(exc) from None
        return self.finish(count, time.monotonic() - clock.started, keep_runs)

    def _interrupted(self, exc: Interrupted) -> Interrupted:
        name = "SIGINT" if exc.exit_code == EXIT_SIGINT else "SIGTERM"
        storage = " --storage URL" if self.storage else ""
        return Interrupted(
            f"{name} received: trial #{self.number} stopped and is recorded as failed; the study keeps its "
            f"finished trials. Continue it with:\n  textclf tune --study {self.folder}{storage} --resume",
            exc.exit_code,
        )

    def finish(self, count: int, seconds: float, keep_runs: bool) -> TuneResult:
        """Write the results of the whole study (every process's trials) and evaluate the test file once."""
        import optuna

        optuna.storages.fail_stale_trials(self.study)  # killed processes' trials, past their grace period
        trials = self.study.get_trials(deepcopy=False)
        best = best_trial(self.study)
        if not keep_runs:
            remove_other_runs(self.folder, trials, best.number if best is not None else None)
        write_trials_csv(self.folder / TRIALS_CSV, trials, [e.key for e in self.cfg.tune.space])
        if best is None:
            raise self._nothing_finished(count)
        best_cfg = write_best_yaml(self.folder / BEST_YAML, self.cfg, best, self.objective, self.folder)
        plots = draw_plots(self.study, self.folder, self.objective)
        for line in summary(trials, count, seconds, best, self.objective):
            log.info(line)
        run = trial_run(self.folder, best.number)  # here; else where the machine that ran it keeps it
        run = run if (run / "manifest.json").is_file() else Path(best.user_attrs.get("run_dir") or run)
        test = self._test(run, best_cfg, best)
        names = ", ".join(p.name for p in [self.folder / BEST_YAML, self.folder / TRIALS_CSV, *plots])
        log.info(f"wrote {names} in {self.folder}")
        return TuneResult(
            self.folder, run, best.number, float(best.value), self.objective, self.folder / BEST_YAML,
            self.folder / TRIALS_CSV, plots, test, count,
        )  # fmt: skip

    def _test(self, run: Path, best_cfg: Config, best: Any) -> dict | None:
        """The test file on the best run, once, when this machine holds that run."""
        if not best_cfg.data.test:
            return None
        if not (run / "manifest.json").is_file():
            host = best.user_attrs.get("host", "another machine")
            log.info(f"note: the best trial ran on {host}, whose study folder holds its run; evaluate it there")
            return None
        test = evaluate_best(run, best_cfg, self.folder)
        if test is not None:
            log.info(test_line(test, self.task, best_cfg.data.test, self.folder / "test_metrics.json"))
        return test

    def _nothing_finished(self, count: int) -> Exception:
        csv_path = self.folder / TRIALS_CSV
        if count == 0:
            return UsageError(
                f"the budget ran out before the first trial could start; give a larger --budget (trials: {csv_path})"
            )
        exc = self.last_failure
        reason = failure_reason(exc) if exc is not None else "see trials.csv"
        kind = type(exc) if isinstance(exc, (ResourceError, DivergedError)) else ResourceError
        return kind(
            f"no trial finished: the {count} trial(s) of this command failed (the last: {reason}); each trial's "
            f"reason is in {csv_path}. Narrow tune.space to settings that train"
        )
