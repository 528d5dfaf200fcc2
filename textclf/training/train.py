"""Training a classifier as named stages: data -> inputs -> model -> epoch loop -> finish.

:func:`train` runs them in order: :mod:`.inputs` (read, check and encode the data; no TensorFlow until the
data is known good), :mod:`.setup` (devices, model, optimizer, loss), :mod:`.loop` (the epochs, one result at
a time), :mod:`.finish` (final metrics, thresholds, saving, the reload check). This module owns what joins
them: the run directory, resuming from a checkpoint (:mod:`.state` is the checkpoint's schema), logging each
epoch, TensorBoard, and cleaning up after a failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import Config, load_config
from ..config.schema import dotted
from ..errors import ConfigError, DivergedError, Interrupted, ModelRejected, UsageError
from ..io.files import sha256_file
from ..io.labeled import expand_paths
from ..run import directory
from ..run.checkpoints import latest_checkpoint_name, load_latest_checkpoint, save_checkpoint
from ..run.layout import log_dir
from .best import BestEpoch
from .finish import Timing, finish
from .inputs import Inputs, TrainingData, load_training_data, prepare_inputs
from .loop import EpochLoop, EpochResult
from .setup import StepPlan, Trainable, build_trainable, cluster, plan_steps, setup_device
from .signals import StopFlag
from .state import LoopState
from .tracking import MlflowTracker, NoTracking, check_tracking, start_tracking, tracked

log = logging.getLogger(__name__)


def train(
    config: Config | None = None,
    run_dir: str | os.PathLike | None = None,
    device: str | None = None,
    resume: str | os.PathLike | None = None,
    overrides: list[str] | tuple = (),
    on_epoch: Callable[[EpochResult], str | None] | None = None,
) -> Path:
    """Train a classifier as ``config`` says and write a complete run directory.

    Args:
        config: a validated :class:`~textclf.config.Config` (see :func:`textclf.load_config`). With
            ``resume`` it may be omitted (the run's own config is used); if given, it must equal it.
        run_dir: where to write the run; must not exist or be empty. Default: a new folder under
            ``train.runs_dir`` named from the config file and the time.
        device: ``auto``, ``cpu`` or ``gpu``; overrides ``train.device``.
        resume: an interrupted run directory to continue from its newest valid checkpoint.
        overrides: with ``resume`` and no ``config``, ``--set`` strings applied to the run's own config (only
            keys that may differ on a resume, such as ``train.device``, are accepted).
        on_epoch: called with each epoch's ``EpochResult`` before its checkpoint: None goes on, a reason stops after
            this epoch (finished with the best epoch, as by early stopping); what it raises abandons the run.

    Returns:
        The path of the finished run directory (it holds ``manifest.json``).

    Raises:
        ConfigError, DataError, UsageError: before any run directory is created.
        Interrupted: on SIGTERM/SIGINT; the run directory and its last checkpoint are kept.
        DivergedError: the loss became NaN; no final model is written.

    Progress goes to the ``textclf`` logger, one line per epoch.
    """
    timing = Timing(time.perf_counter(), 0.0)
    if resume is None and config is None:
        raise UsageError("train() needs a config (or resume=RUN_DIR)")
    workers, rank, chief = _cluster(resume is None and run_dir is None)
    with contextlib.ExitStack() as held:
        run = Path(resume) if resume is not None else None
        if run is not None and chief and run.is_dir():
            held.enter_context(directory.training_lock(run))  # before anything is read: a second resume is refused
        cfg = _resume_config(run, config, list(overrides)) if run is not None else config
        check_tracking(cfg)
        if workers > 1:
            log.info(f"worker {rank + 1} of {workers}{' (chief: writes the run directory)' if chief else ''}")
        data = _load_and_check(cfg, resume is None)
        fingerprint = data_fingerprint(cfg)
        created = run is None and chief
        if run is None and chief:
            run = _new_run(cfg, run_dir, held)
        elif run is None:
            run = Path(run_dir)  # the chief's run directory: read on a resume, never written here
        try:
            where = (workers, rank, chief)
            _train_into(cfg, data, run, device or cfg.train.device, timing, fingerprint, where, on_epoch)
        except BaseException as exc:
            _clean_up(run, created, exc)
            raise
    return run


def _cluster(no_run_dir: bool) -> tuple[int, int, bool]:
    """(workers, this worker's rank, whether it is the chief) from TF_CONFIG; several need one --run-dir."""
    workers, rank, chief = cluster()
    if workers > 1 and no_run_dir:
        raise UsageError(
            f"training with {workers} workers (TF_CONFIG) needs --run-dir: the same path on every "
            "worker, on storage they all see, so that the chief writes it and a resume finds it"
        )
    return workers, rank, chief


def _new_run(cfg: Config, run_dir: str | os.PathLike | None, held: contextlib.ExitStack) -> Path:
    """Create the run directory (``--run-dir``, or a new folder under ``train.runs_dir``), lock it, write its config."""
    name = Path(cfg.source).stem if cfg.source else "run"
    run = directory.prepare_run_dir(run_dir) if run_dir else directory.new_run_dir(cfg.train.runs_dir, name)
    held.enter_context(directory.training_lock(run))
    directory.write_config(run, cfg.to_yaml())
    return run


def _load_and_check(cfg: Config, fresh: bool) -> TrainingData:
    """Stage 1: the data, the cheap data checks as warnings, and the pretrained vectors' header."""
    data = load_training_data(cfg)
    log.info(
        f"task: {data.task}, classes: {len(data.classes)}, train: {data.train_rows:,} rows, "
        f"valid: {len(data.valid):,} rows{' (split from train)' if data.split_from_train else ''}"
        + (f", test: {len(data.test):,} rows" if data.test else "")
    )
    if data.scan is None:
        from ..tools.check_data import cheap_checks

        test = data.test
        data.checks = cheap_checks(
            data.train.texts,
            data.train.labels,
            data.valid.texts,
            data.valid.labels,
            test.texts if test else None,
            test.labels if test else None,
            task=data.task,
            separator=cfg.data.label_separator,
            sequence_length=cfg.model.sequence_length,
            class_weight=cfg.train.class_weight,
            train_lines=data.train.lines,
            valid_lines=data.valid.lines,
            test_lines=test.lines if test else None,
        )
        for warning in data.checks:
            log.warning(f"data check: {warning}")
    if cfg.model.pretrained_vectors and fresh:
        from ..model.vectors import check_header

        check_header(cfg.model.pretrained_vectors, cfg.model.embedding_dim)  # before TensorFlow and the run dir
    return data


def _clean_up(run: Path, created: bool, exc: BaseException) -> None:
    """After a failure: remove a run that has nothing worth keeping, or say how to resume it."""
    if created and latest_checkpoint_name(run) is None and not directory.has_model_files(run):
        shutil.rmtree(run, ignore_errors=True)  # nothing worth keeping: never leave a half-written run
    elif (
        not isinstance(exc, (Interrupted, DivergedError))
        and not directory.is_complete(run)
        and latest_checkpoint_name(run) is not None
    ):
        log.warning(f"the run is incomplete; its last checkpoint is kept. Resume with: textclf train --resume {run}")


def data_fingerprint(cfg: Config) -> dict:
    """SHA-256 of each data file (several files: of their names and digests), so that a resume refuses changed data."""
    out = {}
    for key, value in (("data.train", cfg.data.train), ("data.valid", cfg.data.valid), ("data.test", cfg.data.test)):
        if not value:
            continue
        paths = expand_paths(value, key)
        if len(paths) == 1:
            out[key] = sha256_file(paths[0])
        else:
            joined = "\n".join(f"{p}:{sha256_file(p)}" for p in paths)
            out[key] = hashlib.sha256(joined.encode()).hexdigest()
    return out


def _resume_config(run: Path, given: Config | None, overrides: list[str] | None = None) -> Config:
    """The config of an interrupted run; a different ``given`` config is refused, naming each change.

    Without ``given``, ``overrides`` are applied to the run's own config and the result is checked the same way.
    """
    import yaml

    if not run.is_dir():
        raise UsageError(f"--resume {run}: not a directory; give the run directory that `textclf train` created")
    if directory.is_complete(run):
        raise UsageError(f"--resume {run}: this run is already complete; start a new run instead")
    if latest_checkpoint_name(run) is None:
        raise UsageError(
            f"--resume {run}: no checkpoint in it (the run stopped before its first epoch ended); "
            "start it again without --resume"
        )
    try:
        saved = Config.from_dict(yaml.safe_load(directory.read_config_text(run)))
    except (yaml.YAMLError, ConfigError) as exc:
        raise ModelRejected(
            f"--resume {run}: its config.yaml is damaged ({' '.join(str(exc).split())}); start a new run"
        ) from None
    if given is None:
        if not overrides:
            return saved
        given = load_config(None, _flatten(saved.to_dict()) + list(overrides))
        given = dataclasses.replace(given, tune=saved.tune)  # the search settings: not training's, kept as they were
    changes = given.changes_from(saved)
    if changes:
        raise ConfigError(
            [
                f"cannot resume {run}: the config changed: "
                + "; ".join(changes)
                + ". Resume with the original config (or just --resume), or start a new run"
            ]
        )
    return given


def _flatten(d: dict) -> list[str]:
    import json

    return [f"{k}={json.dumps(v)}" for k, v in dotted(d).items() if not k.startswith("tune.")]


# --------------------------------------------------------------------------------------------------
# Stages 2 to 4, with TensorFlow


def _train_into(
    cfg: Config,
    data: TrainingData,
    run: Path,
    device: str,
    timing: Timing,
    fingerprint: dict,
    cluster_: tuple[int, int, bool] = (1, 0, True),
    on_epoch: Callable[[EpochResult], str | None] | None = None,
) -> None:
    from ..runtime import import_tensorflow

    t0 = time.perf_counter()
    import_tensorflow()  # only now: every config and data problem has been reported by this point
    import keras
    import tensorflow as tf

    timing.tensorflow = time.perf_counter() - t0  # not part of the training phase
    workers, rank, chief = cluster_
    strategy, desc = setup_device(device, cfg.train.mixed_precision, workers)
    log.info(desc)
    keras.utils.set_random_seed(cfg.train.seed)
    tf.config.experimental.enable_op_determinism()
    inputs = prepare_inputs(cfg, data, rank, workers)
    plan = plan_steps(cfg, data, strategy, workers, rank, chief)
    trainable = build_trainable(cfg, data, inputs, strategy)
    state, extra = _start(cfg, run, trainable, inputs, fingerprint, workers)
    loop = EpochLoop(cfg, data, inputs, trainable, strategy, plan, run, state)
    tracker = start_tracking(cfg, run, state.history, data.task) if chief else NoTracking()
    with tracked(tracker):
        _run_epochs(cfg, loop, run, plan, trainable, timing, tracker, on_epoch)
        if state.best.weights is not None:
            assign(trainable.model.weights, state.best.weights, "best", run)
        if not chief:
            log.info(
                f"worker {rank + 1} of {workers}: done after {len(state.history)} epoch(s) of "
                f"{plan.steps_per_epoch} steps on its shard ({data.train_rows // workers:,}+ rows); the chief "
                "writes the run"
            )
            return
        finish(cfg, data, inputs, trainable, plan, run, state, loop.inference, timing, extra)
        tracker.finish(run)


def _start(
    cfg: Config, run: Path, trainable: Trainable, inputs: Inputs, fingerprint: dict, workers: int
) -> tuple[LoopState, dict]:
    """Where training starts: the newest valid checkpoint, or a fresh state (with pretrained vectors, if set).

    Returns the loop state and the entries it adds to metrics.json.
    """
    train_cfg = cfg.train
    extra: dict = {"data": fingerprint}
    ckpt = load_latest_checkpoint(run)
    if ckpt is None and latest_checkpoint_name(run) is not None:
        raise ModelRejected(f"every checkpoint in {run} is damaged, so it cannot be resumed; start a new run")
    if ckpt is None:
        state = LoopState(
            BestEpoch(train_cfg.early_stopping_monitor, train_cfg.early_stopping_patience),
            data=fingerprint,
            seed=train_cfg.seed,
            workers=workers,
        )
        if cfg.model.pretrained_vectors:
            extra["pretrained_vectors"] = _load_vectors(cfg, trainable, inputs)
        return state, extra
    saved = ckpt.state.get("data") or {}
    if saved != fingerprint:
        changed = [k for k in set(fingerprint) | set(saved) if fingerprint.get(k) != saved.get(k)]
        raise ConfigError(
            [
                f"cannot resume {run}: the data changed since the checkpoint "
                f"({', '.join(sorted(changed))}: different SHA-256); resume with the original files "
                "or start a new run"
            ]
        )
    assign(trainable.model.variables, ckpt.variables, "model", ckpt.path)
    assign(trainable.optimizer.variables, ckpt.optimizer, "optimizer", ckpt.path)
    state = LoopState.from_json(
        ckpt.state, ckpt.best, train_cfg.early_stopping_monitor, train_cfg.early_stopping_patience
    )
    log.info(
        f"resuming from {ckpt.path.name}: {state.epoch} epoch(s) complete"
        + (f", {state.step} batch(es) into epoch {state.epoch + 1}" if state.step else "")
    )
    return state, extra


def _load_vectors(cfg: Config, trainable: Trainable, inputs: Inputs) -> dict:
    """Start the embeddings from ``model.pretrained_vectors``; returns their coverage for metrics.json."""
    from ..model.vectors import read_vectors

    model_cfg = cfg.model
    t0 = time.perf_counter()
    vectors = read_vectors(
        model_cfg.pretrained_vectors, inputs.vocab.tokens, model_cfg.embedding_dim, seed=cfg.train.seed
    )
    trainable.model.get_layer("embedding").embeddings.assign(vectors.matrix)
    log.info(
        f"pretrained vectors: {vectors.found:,} of {vectors.words:,} vocabulary words "
        f"({vectors.coverage:.1%}; {vectors.exact:,} exact, the rest lowercased) from "
        f"{vectors.file_words:,} in {Path(model_cfg.pretrained_vectors).name} ({time.perf_counter() - t0:.1f}s)"
    )
    if vectors.coverage < 0.2:
        log.warning(
            f"warning: the vectors cover only {vectors.coverage:.1%} of the vocabulary; check that they "
            "match the texts' language and model.standardize"
        )
    return vectors.summary()


def _run_epochs(
    cfg: Config,
    loop: EpochLoop,
    run: Path,
    plan: StepPlan,
    trainable: Trainable,
    timing: Timing,
    tracker: NoTracking | MlflowTracker,
    on_epoch: Callable[[EpochResult], str | None] | None = None,
) -> None:
    """Stage 3: consume the loop's results: log each epoch, ask ``on_epoch`` whether to stop, write TensorBoard,
    checkpoint, hand the epoch to the tracker (after its checkpoint, so that a resume never logs an epoch twice),
    report early stopping or the stop ``on_epoch`` asked for."""
    checkpoint = Checkpointer(cfg, run, trainable, plan.chief)
    board = TensorBoard(run) if cfg.train.tensorboard and plan.chief else None
    t_fit = time.perf_counter()
    try:
        with StopFlag() as stop:
            for result in loop.epochs(stop, checkpoint):
                log.info(
                    f"epoch {result.epoch}/{result.epochs}: loss {result.loss:.4f}, {result.metric_name} "
                    f"{result.metric:.4f}, val_loss {result.val_loss:.4f}, {result.monitored} "
                    f"{result.val_metric:.4f} ({result.seconds:.1f}s)"
                )
                reason = on_epoch(result) if on_epoch is not None else None
                if reason:
                    loop.state.stopped_early = True  # so the checkpoint says that the loop has ended
                if board is not None:
                    board.write(result)
                checkpoint(loop.state)
                tracker.epoch(result)
                if result.stop:
                    monitored = "val_loss" if cfg.train.early_stopping_monitor == "loss" else result.monitored
                    log.info(
                        f"early stopping: no better {monitored} for {result.wait} epochs; restoring epoch "
                        f"{loop.state.best.epoch}"
                    )
                elif reason:
                    log.info(f"stopping after epoch {result.epoch}: {reason}; restoring epoch {loop.state.best.epoch}")
                    break
    finally:
        timing.fit = time.perf_counter() - t_fit
        if board is not None:
            board.close()


class Checkpointer:
    """Writes a checkpoint of the loop state, the model and the optimizer (only the chief writes)."""

    def __init__(self, cfg: Config, run: Path, trainable: Trainable, chief: bool):
        self.cfg, self.run, self.trainable, self.chief = cfg, run, trainable, chief

    def __call__(self, state: LoopState) -> None:
        variables = [v.numpy() for v in self.trainable.model.variables]
        if not all(np.isfinite(a).all() for a in variables if a.dtype.kind == "f"):
            rate = self.cfg.train.learning_rate
            raise DivergedError(
                f"training diverged at epoch {state.epoch + (1 if state.step else 0)}, batch {state.step or 'end'}: "
                f"the weights are no longer finite. Lower train.learning_rate (now {rate:g}); no model was saved "
                "and no checkpoint holds these weights"
            )
        if not self.chief:
            return  # only the chief writes; the weights are the same on every worker
        save_checkpoint(
            self.run,
            state.epoch,
            state.step,
            state.to_json(),
            variables,
            [v.numpy() for v in self.trainable.optimizer.variables],
            state.best.weights,
        )


class TensorBoard:
    """Each epoch's loss and main metric, train and validation, as TensorBoard event files in ``RUN/logs``."""

    def __init__(self, run: Path):
        import tensorflow as tf

        logs = log_dir(run)
        self.writers = {k: tf.summary.create_file_writer(str(logs / k)) for k in ("train", "valid")}

    def write(self, result: EpochResult) -> None:
        import tensorflow as tf

        with self.writers["train"].as_default():
            tf.summary.scalar("loss", result.loss, step=result.epoch)
            tf.summary.scalar(result.metric_name, result.metric, step=result.epoch)
        with self.writers["valid"].as_default():
            tf.summary.scalar("loss", result.val_loss, step=result.epoch)
            tf.summary.scalar(result.metric_name, result.val_metric, step=result.epoch)
            self.writers["valid"].flush()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def assign(variables, values, what: str, where) -> None:
    """Set ``variables`` from saved arrays; a count or shape that does not fit is a damaged checkpoint (exit 4)."""
    if len(variables) != len(values):
        raise ModelRejected(
            f"the checkpoint in {where} holds {len(values)} {what} arrays, the model has "
            f"{len(variables)}; it was written by a different model. Start a new run"
        )
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != tuple(value.shape):
            raise ModelRejected(
                f"the checkpoint in {where} does not fit the model ({what} {variable.path}: "
                f"{tuple(value.shape)} vs {tuple(variable.shape)}). Start a new run"
            )
        variable.assign(value)
