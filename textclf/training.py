"""The one training path, top to bottom: seed -> data -> vocabulary -> model -> training loop -> save.

The loop is written by hand rather than with ``model.fit``: Keras 3 ``fit`` fails under
``MultiWorkerMirroredStrategy`` (keras#20585), and a hand-written loop gives the control that resuming and
signal handling need. It runs unchanged under any ``tf.distribute`` strategy: the model and optimizer are
built in ``strategy.scope()``, each step runs through ``strategy.run`` with a ``GradientTape``, the loss is
averaged with ``tf.nn.compute_average_loss`` over the global batch, and the per-replica losses are reduced.
With one device it is the default strategy.
"""

from __future__ import annotations

import math
import os
import signal
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import artifacts
from .config import Config
from .data import (Labeled, check_classes, expand_paths, infer_task, read_labeled, read_labeled_many,
                   split_labels, stratified_split, unseen_labels, describe_unseen)
from .errors import (EXIT_SIGINT, EXIT_SIGTERM, ConfigError, DataError, DivergedError, Interrupted, ModelRejected,
                     TextclfError, UsageError)

Log = Callable[[str], None]


@dataclass
class Datasets:
    """The data of a run. Streaming (``scan`` set): ``train`` holds no rows, they are read from disk each epoch."""

    task: str
    classes: list[str]
    train: Labeled
    valid: Labeled
    test: Labeled | None
    split_from_train: bool
    scan: object | None = None  # a streaming.Scan when the training data is streamed

    @property
    def train_rows(self) -> int:
        return self.scan.train_rows if self.scan is not None else len(self.train)


# ------------------------------------------------------------------------------------------------
# 1. Data (no TensorFlow yet: every data problem is reported before anything slow starts)


def load_datasets(cfg: Config, log: Log = print) -> Datasets:
    """Read train/valid/test, infer the task, check the classes and split off validation if needed."""
    d = cfg.data
    if not d.train:
        raise UsageError("data.train is not set; give the training file in the config or with --set data.train=PATH")
    skip = d.on_bad_rows == "skip"
    read = lambda path: read_labeled(path, d.text_column, d.label_column, encoding=d.encoding,  # noqa: E731
                                     skip_bad=skip, max_bad_fraction=d.max_bad_fraction)
    paths = expand_paths(d.train)
    from .streaming import sample_file, scan, use_streaming

    stream = None
    if use_streaming(d.stream, paths):
        stream = scan(paths, cfg, split_valid=not d.valid)
        train = stream.labeled()
        log(f"streaming {len(paths)} training file(s): {stream.rows:,} rows; vocabulary fitted on a sample of "
            f"{len(stream.sample):,} rows, shuffle window {d.shuffle_buffer:,} rows")
        if stream.longest_run > d.shuffle_buffer:
            log(f"warning: {stream.longest_run:,} consecutive rows share one label, more than data.shuffle_buffer "
                f"({d.shuffle_buffer:,}); batches will mix poorly. Shuffle the file, or raise data.shuffle_buffer")
    else:
        train = read_labeled_many(paths, d.text_column, d.label_column, encoding=d.encoding, skip_bad=skip,
                                  max_bad_fraction=d.max_bad_fraction)
    task = cfg.task if cfg.task != "auto" else infer_task(train.labels, d.label_separator)
    classes = check_classes(train, task, d.label_separator, d.label_column)
    if stream is not None:
        if d.valid:
            valid, total = sample_file(expand_paths(d.valid, "data.valid"), cfg, d.valid_max_rows)
            if total > len(valid):
                log(f"validation: a uniform sample of {len(valid):,} of {total:,} rows (data.valid_max_rows)")
        else:
            valid = stream.valid
            if stream.valid_rows > len(valid):
                log(f"validation: {stream.valid_rows:,} rows held out; a uniform sample of {len(valid):,} is "
                    "evaluated (data.valid_max_rows)")
        split = not d.valid
    elif d.valid:
        valid, split = read(d.valid), False
    else:
        train, valid = stratified_split(train, d.valid_fraction, cfg.train.seed, task, d.label_separator, d.label_column)
        split = True
    test = read(d.test) if d.test else None
    for name, part in (("valid", valid), ("test", test)):
        if part is None:
            continue
        unseen = unseen_labels(part.labels, classes, task, d.label_separator)
        if unseen:
            raise DataError(f"{part.path}: labels that the training data never has: {describe_unseen(unseen, classes)}; "
                            f"the {name} set must use the training labels")
    for part in (train, valid, test):
        if part is not None and (part.report.bad_rows or part.report.truncated_texts):
            log(part.report.summary())
    return Datasets(task, classes, train, valid, test, split, stream)


def encode_targets(raw: list[str], task: str, classes: list[str], separator: str) -> np.ndarray:
    """Targets as the loss expects them: (n,1) floats for binary, class indices for multi-class, multi-hot."""
    from .streaming import targets

    return targets(raw, task, classes, separator)


def label_counts(cells: dict, task: str, classes: list[str], separator: str) -> tuple[np.ndarray, int]:
    """Per-output counts of the training rows from their raw label cells and counts: (counts, rows).

    Binary: [negatives, positives]; multi-class: rows per class; multi-label: rows per label.
    """
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros(len(classes), dtype=np.int64)
    for cell, n in cells.items():
        for lab in (split_labels([cell], task, separator)[0] if task == "multilabel" else [cell]):
            if lab in index:
                counts[index[lab]] += n
    return counts, int(sum(cells.values()))


def class_weights(counts: np.ndarray, rows: int, task: str, num_outputs: int, mode: str) -> np.ndarray:
    """Per-class sample weights (binary, multi-class) or per-label positive weights (multi-label).

    ``auto``: scikit-learn's "balanced" weights, rows / (classes present * rows of the class); for multi-label
    the ratio of negatives to positives of each label, clipped to [1, 100].
    """
    if mode == "none":
        return np.ones(max(num_outputs, 2), dtype=np.float32)
    if task == "multilabel":
        return np.clip((rows - counts) / np.maximum(counts, 1.0), 1.0, 100.0).astype(np.float32)
    weights = np.ones(max(num_outputs, 2), dtype=np.float32)
    present = counts > 0
    weights[present] = rows / (present.sum() * counts[present])
    return weights


def prior_logits(counts: np.ndarray, rows: int, task: str) -> np.ndarray:
    """Output biases that start the model at the training label frequencies (log prior odds / log priors)."""
    freq = counts / max(rows, 1)
    if task == "multiclass":
        return np.log(np.clip(freq, 1e-4, 1.0)).astype(np.float32)
    if task == "binary":
        freq = freq[1:]
    freq = np.clip(freq, 1e-4, 1 - 1e-4)
    return np.log(freq / (1 - freq)).astype(np.float32)


def cluster() -> tuple[int, int, bool]:
    """(workers, this worker's rank, whether it is the chief) from the standard ``TF_CONFIG`` cluster spec.

    Without TF_CONFIG: one worker. The chief is the ``chief`` task, or worker 0 when there is none; ranks
    put the chief first. Kubernetes operators, Vertex AI and SageMaker set TF_CONFIG for each replica.
    """
    import json

    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return 1, 0, True
    try:
        spec = json.loads(raw)
        roles = spec.get("cluster", {})
        task = spec.get("task", {})
        kind, index = task.get("type"), int(task.get("index", 0))
        chiefs, workers = list(roles.get("chief", [])), list(roles.get("worker", []))
    except (ValueError, AttributeError, TypeError) as exc:
        raise UsageError(f"TF_CONFIG is not a valid cluster spec ({exc}); expected JSON like "
                         '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                         '"index": 0}}') from None
    total = len(chiefs) + len(workers)
    if kind not in ("chief", "worker") or total == 0:
        raise UsageError(f"TF_CONFIG task type {kind!r}: textclf trains with chief/worker tasks only (no parameter "
                         "servers or evaluators); received cluster roles " + ", ".join(sorted(roles)))
    rank = 0 if kind == "chief" else len(chiefs) + index
    if rank >= total:
        raise UsageError(f"TF_CONFIG task index {index} is outside the {len(workers)} worker address(es)")
    return total, rank, rank == 0


# ------------------------------------------------------------------------------------------------
# 2. Devices


def setup_device(device: str, mixed_precision: bool, log: Log, workers: int = 1):
    """Choose the devices and the distribution strategy; returns (strategy, description).

    Several workers (TF_CONFIG): ``MultiWorkerMirroredStrategy``, created before any other TensorFlow op as it
    requires. One host with several GPUs: ``MirroredStrategy``. Otherwise the default strategy.
    """
    import tensorflow as tf
    import keras

    if device == "cpu":
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # devices were initialized by an earlier call in this process
            if tf.config.get_visible_devices("GPU"):
                log("note: a GPU was already initialized in this process; --device cpu cannot hide it now")
    gpus = tf.config.list_physical_devices("GPU") if device != "cpu" else []
    if device == "gpu" and not gpus:
        raise UsageError("--device gpu: TensorFlow sees no GPU on this machine; install textclf[gpu] with a CUDA "
                         "driver, or use --device cpu")
    if workers > 1:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    if gpus and mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    else:
        keras.mixed_precision.set_global_policy("float32")
    where = f"{len(gpus)} GPU(s)" if gpus else "CPU"
    if workers > 1:
        where = f"{workers} workers ({len(gpus)} GPU(s) here)"
    policy = keras.mixed_precision.global_policy().name
    desc = f"device: {where}, replicas: {strategy.num_replicas_in_sync}, precision: {policy}"
    return strategy, desc


# ------------------------------------------------------------------------------------------------
# 3. Loss


def make_loss(task: str, weights: np.ndarray):
    """Per-example loss from logits, with class weights (multi-label: per-label weighted cross-entropy)."""
    import tensorflow as tf

    w = tf.constant(weights)

    def loss_fn(y, logits):
        logits = tf.cast(logits, tf.float32)
        if task == "multilabel":
            per_label = tf.nn.weighted_cross_entropy_with_logits(labels=y, logits=logits, pos_weight=w)
            return tf.reduce_mean(per_label, axis=-1)
        if task == "binary":
            per = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)[:, 0]
            return per * tf.gather(w, tf.cast(y[:, 0], tf.int32))
        per = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        return per * tf.gather(w, y)

    return loss_fn


def numpy_loss(task: str, y: np.ndarray, logits: np.ndarray) -> float:
    """Unweighted mean cross-entropy of a whole set, for validation and early stopping."""
    if task == "multiclass":
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())
    # sigmoid cross-entropy, stable form
    return float(np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))))


# ------------------------------------------------------------------------------------------------
# 4. Signals: stop at the next batch boundary, keep the last checkpoint


class StopFlag:
    """SIGTERM, or a first SIGINT, asks the loop to stop after the current batch; a second SIGINT exits at once."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        import signal

        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.signum = signum

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def _interrupted(signum: int, run: Path, epoch: int, step: int) -> Interrupted:
    import signal

    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM
    checkpoint = artifacts.latest_checkpoint_name(run)
    if not checkpoint:
        return Interrupted(f"{name} received: stopped at epoch {epoch}, batch {step}, before the first epoch "
                           "ended; there is no checkpoint to keep, so the run was removed. Start it again", code)
    return Interrupted(f"{name} received: stopped at epoch {epoch}, batch {step}; the partial epoch is not counted "
                       f"and the last checkpoint ({checkpoint}) is kept. Resume with:\n"
                       f"  textclf train --resume {run}", code)


# ------------------------------------------------------------------------------------------------
# 5. The training function


def train(config: Config | None = None, run_dir: str | os.PathLike | None = None, device: str | None = None,
          log: Log = print, resume: str | os.PathLike | None = None, overrides: list[str] | tuple = ()) -> Path:
    """Train a classifier as ``config`` says and write a complete run directory.

    Args:
        config: a validated :class:`~textclf.config.Config` (see :func:`textclf.load_config`). With
            ``resume`` it may be omitted (the run's own config is used); if given, it must equal it.
        run_dir: where to write the run; must not exist or be empty. Default: a new folder under
            ``train.runs_dir`` named from the config file and the time.
        device: ``auto``, ``cpu`` or ``gpu``; overrides ``train.device``.
        log: where progress lines go.
        resume: an interrupted run directory to continue from its newest valid checkpoint.
        overrides: with ``resume`` and no ``config``, ``--set`` strings applied to the run's own config (only
            keys that may differ on a resume, such as ``train.device``, are accepted).

    Returns:
        The path of the finished run directory (it holds ``manifest.json``).

    Raises:
        ConfigError, DataError, UsageError: before any run directory is created.
        Interrupted: on SIGTERM/SIGINT; the run directory and its last checkpoint are kept.
        DivergedError: the loss became NaN; no final model is written.
    """
    t_start = time.perf_counter()
    if resume is not None:
        run = Path(resume)
        cfg = _resume_config(run, config, list(overrides))
    else:
        if config is None:
            raise UsageError("train() needs a config (or resume=RUN_DIR)")
        cfg, run = config, None
    workers, rank, chief = cluster()
    if workers > 1:
        if resume is None and run_dir is None:
            raise UsageError(f"training with {workers} workers (TF_CONFIG) needs --run-dir: the same path on every "
                             "worker, on storage they all see, so that the chief writes it and a resume finds it")
        log(f"worker {rank + 1} of {workers}{' (chief: writes the run directory)' if chief else ''}")
    data = load_datasets(cfg, log)
    n_out = 1 if data.task == "binary" else len(data.classes)
    log(f"task: {data.task}, classes: {len(data.classes)}, train: {data.train_rows:,} rows, "
        f"valid: {len(data.valid):,} rows{' (split from train)' if data.split_from_train else ''}"
        + (f", test: {len(data.test):,} rows" if data.test else ""))
    if data.scan is None:
        from .datacheck import cheap_checks

        for warning in cheap_checks(data.train.texts, data.train.labels, data.valid.texts, data.valid.labels,
                                    data.test.texts if data.test else None, data.test.labels if data.test else None,
                                    task=data.task, separator=cfg.data.label_separator,
                                    sequence_length=cfg.model.sequence_length, class_weight=cfg.train.class_weight,
                                    train_lines=data.train.lines, valid_lines=data.valid.lines,
                                    test_lines=data.test.lines if data.test else None):
            log(f"data check: {warning}")
    if cfg.model.pretrained_vectors and resume is None:
        from .vectors import check_header

        check_header(cfg.model.pretrained_vectors, cfg.model.embedding_dim)  # before TensorFlow and the run dir
    fingerprint = data_fingerprint(cfg)

    created = run is None and chief
    if run is None and chief:
        name = Path(cfg.source).stem if cfg.source else "run"
        run = artifacts.prepare_run_dir(run_dir) if run_dir else artifacts.new_run_dir(cfg.train.runs_dir, name)
        artifacts.write_config(run, cfg.to_yaml())
    elif run is None:
        run = Path(run_dir)  # the chief's run directory: read on a resume, never written here
    try:
        _train_into(cfg, data, n_out, run, device or cfg.train.device, log, t_start, fingerprint,
                    (workers, rank, chief))
    except BaseException as exc:
        if created and artifacts.latest_checkpoint_name(run) is None and not artifacts.has_model_files(run):
            shutil.rmtree(run, ignore_errors=True)  # nothing worth keeping: never leave a half-written run
        elif (not isinstance(exc, (Interrupted, DivergedError)) and not artifacts.is_complete(run)
              and artifacts.latest_checkpoint_name(run) is not None):
            log(f"the run is incomplete; its last checkpoint is kept. Resume with: textclf train --resume {run}")
        raise
    return run


def data_fingerprint(cfg: Config) -> dict:
    """SHA-256 of each data file (several files: of their names and digests), so that a resume refuses changed data."""
    import hashlib

    out = {}
    for key, value in (("data.train", cfg.data.train), ("data.valid", cfg.data.valid), ("data.test", cfg.data.test)):
        if not value:
            continue
        paths = expand_paths(value, key)
        if len(paths) == 1:
            out[key] = artifacts.file_fingerprint(paths[0])
        else:
            joined = "\n".join(f"{p}:{artifacts.file_fingerprint(p)}" for p in paths)
            out[key] = hashlib.sha256(joined.encode()).hexdigest()
    return out


_RESUME_MAY_DIFFER = {"train.verbose", "train.device", "train.tensorboard", "train.runs_dir", "train.plots"}


def _resume_config(run: Path, given: Config | None, overrides: list[str] | None = None) -> Config:
    """The config of an interrupted run; a different ``given`` config is refused, naming each change.

    Without ``given``, ``overrides`` are applied to the run's own config and the result is checked the same way.
    """
    import yaml

    from .config import load_config

    if not run.is_dir():
        raise UsageError(f"--resume {run}: not a directory; give the run directory that `textclf train` created")
    if artifacts.is_complete(run):
        raise UsageError(f"--resume {run}: this run is already complete; start a new run instead")
    if artifacts.latest_checkpoint_name(run) is None:
        raise UsageError(f"--resume {run}: no checkpoint in it (the run stopped before its first epoch ended); "
                         "start it again without --resume")
    saved_text = artifacts.read_config_text(run)
    saved = load_config(None, _flatten(yaml.safe_load(saved_text)))
    if given is None:
        if not overrides:
            return saved
        given = load_config(None, _flatten(saved.to_dict()) + list(overrides))
    old, new = _flat(saved.to_dict()), _flat(given.to_dict())
    changes = [f"{k} {old.get(k)!r} → {new.get(k)!r}" for k in sorted(set(old) | set(new))
               if old.get(k) != new.get(k) and k not in _RESUME_MAY_DIFFER]
    if changes:
        raise ConfigError([f"cannot resume {run}: the config changed: " + "; ".join(changes)
                           + ". Resume with the original config (or just --resume), or start a new run"])
    return given


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _flatten(d: dict) -> list[str]:
    import json

    return [f"{k}={json.dumps(v)}" for k, v in _flat(d).items()]


def _train_into(cfg: Config, data: Datasets, n_out: int, run: Path, device: str, log: Log, t_start: float,
                fingerprint: dict, cluster_: tuple[int, int, bool] = (1, 0, True)) -> None:
    from .quiet import import_tensorflow

    t0 = time.perf_counter()
    import_tensorflow()  # only now: every config and data problem has been reported by this point
    import tensorflow as tf
    import keras

    tf_start_seconds = time.perf_counter() - t0  # not part of the training phase

    from .evaluation import metrics_from_probs
    from .model import Hyperparameters, build_model, predict_logits, probabilities_from_logits
    from .optimizer import LazyAdam
    from .vectorize import Vocabulary, epoch_batches

    m, t = cfg.model, cfg.train
    workers, rank, chief = cluster_
    strategy, desc = setup_device(device, t.mixed_precision, log, workers)
    log(desc)
    keras.utils.set_random_seed(t.seed)
    tf.config.experimental.enable_op_determinism()
    replicas = strategy.num_replicas_in_sync
    local = max(replicas // workers, 1)  # replicas on this worker: each step takes one batch per local replica
    per_replica = max(t.batch_size // replicas, 1)
    fixed = replicas > 1  # every replica runs the same number of full batches

    # Vocabulary, fitted on training text only (every worker fits the same one from the same rows)
    t0 = time.perf_counter()
    fit = dict(max_tokens=m.max_tokens, sequence_length=m.sequence_length, standardize=m.standardize,
               ngrams=m.ngrams, ngram_max_tokens=m.ngram_max_tokens, ngram_length=m.ngram_length,
               ngram_standardize=m.ngram_standardize)
    sep = cfg.data.label_separator
    if data.scan is None:
        from collections import Counter

        vocab, x_train = Vocabulary.fit_encode(data.train.texts, **fit)
        y_train = encode_targets(data.train.labels, data.task, data.classes, sep)
        counts, rows = label_counts(Counter(data.train.labels), data.task, data.classes, sep)
        if workers > 1:  # this worker's shard: training rows rank, rank + workers, ...
            shard = np.arange(rank, len(y_train), workers)
            x_train, y_train = x_train.take(shard), y_train[shard]
        per_text = f" ({np.diff(x_train.ngram_offsets).mean():.0f} per text)" if vocab.ngram_tokens else ""
    else:
        vocab = Vocabulary.fit(data.scan.sample, **fit)
        counts, rows = label_counts(data.scan.cells, data.task, data.classes, sep)
        per_text = f" (fitted on {len(data.scan.sample):,} sampled rows)"
    encoder = vocab.encoder()
    x_valid = encoder.encode(data.valid.texts)
    y_valid = encode_targets(data.valid.labels, data.task, data.classes, sep)
    log(f"vocabulary: {len(vocab.tokens):,} tokens"
        + (f", {len(vocab.ngram_tokens):,} n-grams" if vocab.ngram_tokens else "") + per_text
        + f" ({time.perf_counter() - t0:.1f}s)")
    shard_rows = data.train_rows // workers  # the smallest shard
    if fixed:
        steps_per_epoch = shard_rows // (per_replica * local)
        if steps_per_epoch < 1:
            raise ConfigError([f"train.batch_size {t.batch_size} is larger than the {shard_rows:,} training rows of "
                               f"each of the {workers} worker(s); lower train.batch_size"])
    else:
        steps_per_epoch = math.ceil(data.train_rows / per_replica)

    # Model and optimizer, built in the strategy's scope
    hp = Hyperparameters(task=data.task, num_outputs=n_out, vocab_size=len(vocab.tokens),
                         ngram_vocab_size=len(vocab.ngram_tokens) if vocab.ngram_tokens else 0,
                         embedding_dim=m.embedding_dim, rnn=m.rnn, units=m.units, layers=m.layers,
                         bidirectional=m.bidirectional, pooling=m.pooling,
                         embedding_dropout=m.embedding_dropout, dropout=m.dropout)
    weights = class_weights(counts, rows, data.task, n_out, t.class_weight)
    with strategy.scope():
        model = build_model(hp, seed=t.seed, output_bias=prior_logits(counts, rows, data.task))
        optimizer = LazyAdam(learning_rate=t.learning_rate, rates={"ngram_embedding/": t.ngram_learning_rate})
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)
    loss_fn = make_loss(data.task, weights)
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    # Where to start: a fresh run, or the newest valid checkpoint
    history: list[dict] = []
    best = {"metric": -math.inf, "loss": math.inf, "epoch": 0, "weights": None}
    wait, start_epoch, start_step, partial = 0, 1, 0, (0.0, 0, [0.0, 0.0, 0.0])
    ckpt = artifacts.load_latest_checkpoint(run, log)
    if ckpt is None and artifacts.latest_checkpoint_name(run) is not None:
        raise ModelRejected(f"every checkpoint in {run} is damaged, so it cannot be resumed; start a new run")
    if ckpt is not None:
        st = ckpt.state
        if st.get("data") != fingerprint:
            changed = [k for k in set(fingerprint) | set(st.get("data", {})) if fingerprint.get(k) != st["data"].get(k)]
            raise ConfigError([f"cannot resume {run}: the data changed since the checkpoint "
                               f"({', '.join(sorted(changed))}: different SHA-256); resume with the original files "
                               "or start a new run"])
        _assign(model.variables, ckpt.variables, "model", ckpt.path)
        _assign(optimizer.variables, ckpt.optimizer, "optimizer", ckpt.path)
        history = st["history"]
        best = {"metric": st.get("best_metric", -math.inf), "loss": st.get("best_loss", math.inf),
                "epoch": st["best_epoch"], "weights": ckpt.best}
        wait = st["wait"]
        start_epoch, start_step = st["epoch"] + 1, st["step"]
        partial = (st.get("partial_loss", 0.0), st.get("partial_count", 0), st.get("partial_stats", [0.0, 0.0, 0.0]))
        log(f"resuming from {ckpt.path.name}: {st['epoch']} epoch(s) complete"
            + (f", {start_step} batch(es) into epoch {start_epoch}" if start_step else ""))
        if st.get("stopped_early") or st["epoch"] >= t.epochs:
            start_epoch = t.epochs + 1  # the loop had finished; only the saving remains
    vectors = None
    if ckpt is None and m.pretrained_vectors:
        from .vectors import read_vectors

        t0 = time.perf_counter()
        vectors = read_vectors(m.pretrained_vectors, vocab.tokens, m.embedding_dim, seed=t.seed)
        model.get_layer("embedding").embeddings.assign(vectors.matrix)
        log(f"pretrained vectors: {vectors.found:,} of {vectors.words:,} vocabulary words "
            f"({vectors.coverage:.1%}; {vectors.exact:,} exact, the rest lowercased) from "
            f"{vectors.file_words:,} in {Path(m.pretrained_vectors).name} ({time.perf_counter() - t0:.1f}s)")
        if vectors.coverage < 0.2:
            log(f"warning: the vectors cover only {vectors.coverage:.1%} of the vocabulary; check that they match "
                "the texts' language and model.standardize")

    def batch_stats(y, logits):
        """Counts for the training metric: [right, rows, 0] (accuracy), or [tp, fp, fn] (multi-label micro-F1)."""
        logits = tf.cast(logits, tf.float32)
        if data.task == "multiclass":
            right = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32),
                                                   tf.cast(y, tf.int32)), tf.float32))
            return tf.stack([right, tf.cast(tf.shape(y)[0], tf.float32), 0.0])
        pred = tf.cast(logits > 0.0, tf.float32)
        if data.task == "binary":
            right = tf.reduce_sum(tf.cast(tf.equal(pred, y), tf.float32))
            return tf.stack([right, tf.cast(tf.shape(y)[0], tf.float32), 0.0])
        return tf.stack([tf.reduce_sum(pred * y), tf.reduce_sum(pred * (1.0 - y)), tf.reduce_sum((1.0 - pred) * y)])

    def step_fn(inputs, y, stop_flag):
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)
            loss = tf.nn.compute_average_loss(loss_fn(y, logits))
            to_minimize = optimizer.scale_loss(loss) if scaled else loss
        grads = tape.gradient(to_minimize, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, stop_flag, batch_stats(y, logits)

    input_sig = {"tokens": tf.TensorSpec([None, None], tf.int32)}
    if vocab.ngram_tokens:
        input_sig["ngrams"] = tf.TensorSpec([None, None], tf.int32)
        input_sig["ngram_weights"] = tf.TensorSpec([None, None], tf.float32)
    y_sig = tf.TensorSpec([None] + list(y_valid.shape[1:]), tf.as_dtype(y_valid.dtype))

    def epoch_source(epoch: int):
        """This worker's batches of one epoch (one per local replica and step): (count, iterator factory)."""
        rng = np.random.default_rng([t.seed, epoch])
        if data.scan is None:
            batches = epoch_batches(x_train.lengths, per_replica, rng)
            if fixed:
                batches = [b for b in batches if len(b) == per_replica][:steps_per_epoch * local]
            return len(batches) // local, lambda skip: ((x_train.batch(b), y_train[b]) for b in batches[skip * local:])
        from itertools import islice

        from .streaming import epoch_stream

        def stream(skip):
            batches = epoch_stream(data.scan, cfg, encoder, data.task, data.classes, epoch=epoch,
                                   batch_size=per_replica, worker=rank, workers=workers,
                                   steps=steps_per_epoch * local if fixed else None, drop_remainder=fixed)
            return islice(batches, skip * local, None)  # a resume re-reads the skipped batches

        return steps_per_epoch, stream

    def dataset(batches):
        """A distributed dataset: each worker feeds its own batches, one per local replica (no re-batching)."""
        def make(context):
            return tf.data.Dataset.from_generator(batches, output_signature=(input_sig, y_sig)).prefetch(4)

        return strategy.distribute_datasets_from_function(make)

    # one trace for all batch shapes: the signature has a None time dimension
    @tf.function(input_signature=[*dataset(lambda: iter(())).element_spec, tf.TensorSpec([], tf.float32)])
    def train_step(inputs, y, stop_flag):
        """One step on every replica: the mean loss, and the sum of the workers' stop flags (a signal on any
        worker stops all of them after the same step, instead of leaving the others waiting in a collective)."""
        loss, flags, stats = strategy.run(step_fn, args=(inputs, y, stop_flag))
        return tuple(strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in (loss, flags, stats))

    def checkpoint(epoch: int, step: int, total: float = 0.0, count: int = 0, stopped_early: bool = False,
                   stats: list | None = None):
        variables = [v.numpy() for v in model.variables]
        if not all(np.isfinite(a).all() for a in variables if a.dtype.kind == "f"):
            raise DivergedError(
                f"training diverged at epoch {epoch + (1 if step else 0)}, batch {step or 'end'}: the weights are "
                f"no longer finite. Lower train.learning_rate (now {t.learning_rate:g}); no model was saved and "
                "no checkpoint holds these weights")
        state = {"history": history, "best_metric": best["metric"], "best_loss": best["loss"],
                 "best_epoch": best["epoch"], "wait": wait,
                 "partial_loss": total, "partial_count": count, "partial_stats": list(stats or [0.0, 0.0, 0.0]),
                 "stopped_early": stopped_early,
                 "data": fingerprint, "seed": t.seed, "workers": workers}
        if not chief:
            return  # only the chief writes; the weights are the same on every worker
        artifacts.save_checkpoint(run, epoch, step, state, variables,
                                  [v.numpy() for v in optimizer.variables], best["weights"])

    writers = None
    if t.tensorboard and chief:
        logs = artifacts.log_dir(run)
        writers = {k: tf.summary.create_file_writer(str(logs / k)) for k in ("train", "valid")}

    metric_name = "micro_f1" if data.task == "multilabel" else "accuracy"
    monitored = "val_loss" if t.early_stopping_monitor == "loss" else f"val_{metric_name}"
    t_fit = time.perf_counter()
    with StopFlag() as stop:
        for epoch in range(start_epoch, t.epochs + 1):
            t_epoch = time.perf_counter()
            n_steps, batches = epoch_source(epoch)
            skip = start_step if epoch == start_epoch else 0
            total, count, stats = (partial[0], partial[1], list(partial[2])) if skip else (0.0, 0, [0.0, 0.0, 0.0])
            bar = keras.utils.Progbar(n_steps, verbose=1 if t.verbose else 0, unit_name="step")
            for step, (inputs, y) in enumerate(dataset(lambda: batches(skip)), start=skip + 1):
                if stop.signum is not None and workers == 1:
                    raise _interrupted(stop.signum, run, epoch, step)
                loss, flags, batch = train_step(inputs, y, tf.constant(1.0 if stop.signum is not None else 0.0))
                loss = float(loss)
                stats = [a + float(b) for a, b in zip(stats, batch.numpy())]
                if float(flags) > 0:  # some worker was asked to stop: all stop here
                    raise _interrupted(stop.signum or signal.SIGTERM, run, epoch, step)
                if not math.isfinite(loss):
                    raise DivergedError(
                        f"training diverged at epoch {epoch}, batch {step}: the loss is {loss}. Lower "
                        f"train.learning_rate (now {t.learning_rate:g}), e.g. --set train.learning_rate="
                        f"{t.learning_rate / 10:g}; no model was saved and no checkpoint holds these weights")
                total += loss
                count += 1
                bar.update(step, values=[("loss", loss)])
                if t.checkpoint_every_steps and step % t.checkpoint_every_steps == 0 and step < n_steps:
                    checkpoint(epoch - 1, step, total, count, stats=stats)
            if stop.signum is not None and workers == 1:
                raise _interrupted(stop.signum, run, epoch, n_steps)
            # several workers: a signal that came during the epoch's last step is all-reduced by the next step,
            # so that every worker stops at the same step (stopping here alone would strand the others)
            train_loss = total / max(count, 1)
            if data.task == "multilabel":  # micro-F1 from the summed true/false positives and misses
                train_metric = 2 * stats[0] / max(2 * stats[0] + stats[1] + stats[2], 1.0)
            else:
                train_metric = stats[0] / max(stats[1], 1.0)
            logits = predict_logits(model, x_valid, batch_size=max(t.batch_size, 256))
            val_loss = numpy_loss(data.task, y_valid, logits)
            if not math.isfinite(val_loss):
                raise DivergedError(f"training diverged at epoch {epoch}: the validation loss is {val_loss}. "
                                    f"Lower train.learning_rate (now {t.learning_rate:g}); no model was saved")
            probs = probabilities_from_logits(data.task, logits)
            val_metrics = metrics_from_probs(data.task, data.classes, data.valid.labels, probs, sep, brief=True)
            row = {"epoch": epoch, "loss": round(train_loss, 6), metric_name: round(train_metric, 6),
                   "val_loss": round(val_loss, 6), f"val_{metric_name}": round(val_metrics[metric_name], 6),
                   "learning_rate": t.learning_rate, "seconds": round(time.perf_counter() - t_epoch, 3)}
            history.append(row)
            log(f"epoch {epoch}/{t.epochs}: loss {train_loss:.4f}, {metric_name} {train_metric:.4f}, val_loss {val_loss:.4f}, "
                f"val_{metric_name} {val_metrics[metric_name]:.4f} ({row['seconds']:.1f}s)")
            if writers:
                with writers["train"].as_default():
                    tf.summary.scalar("loss", train_loss, step=epoch)
                    tf.summary.scalar(metric_name, train_metric, step=epoch)
                with writers["valid"].as_default():
                    tf.summary.scalar("loss", val_loss, step=epoch)
                    tf.summary.scalar(metric_name, val_metrics[metric_name], step=epoch)
                    writers["valid"].flush()
            # the best epoch: the highest validation metric, the lower loss breaking a tie; or the lowest loss
            metric, lower_loss = val_metrics[metric_name], val_loss < best["loss"] - 1e-6
            if t.early_stopping_monitor == "loss":
                better = lower_loss
            else:
                better = metric > best["metric"] + 1e-9 or (abs(metric - best["metric"]) <= 1e-9 and lower_loss)
            if better:
                best = {"metric": metric, "loss": val_loss, "epoch": epoch, "weights": [v.numpy() for v in model.weights]}
                wait = 0
            else:
                wait += 1
            stopping = bool(t.early_stopping_patience and wait >= t.early_stopping_patience)
            checkpoint(epoch, 0, stopped_early=stopping)
            if stopping:
                log(f"early stopping: no better {monitored} for {wait} epochs; restoring epoch {best['epoch']}")
                break
    fit_seconds = time.perf_counter() - t_fit
    if writers:
        for w in writers.values():
            w.close()
    if best["weights"] is not None:
        _assign(model.weights, best["weights"], "best", run)
    if not chief:
        log(f"worker {rank + 1} of {workers}: done after {len(history)} epoch(s) of {steps_per_epoch} steps on its "
            f"shard ({data.train_rows // workers:,}+ rows); the chief writes the run")
        return

    # Final validation (and test) metrics with the best weights, and thresholds tuned on validation
    probs_valid = probabilities_from_logits(data.task, predict_logits(model, x_valid))
    tuned, thr = None, 0.5
    if data.task != "multiclass" and t.threshold_objective != "none":
        from .thresholds import output_names, tune

        tuned = tune(data.task, data.classes, y_valid, probs_valid, t.threshold_objective, t.threshold_target)
        thr = np.asarray(tuned.values, dtype=np.float32)
        for note in tuned.notes:
            log(f"threshold: {note}")
    metrics = {"task": data.task, "best_epoch": best["epoch"], "epochs_run": len(history),
               "valid": metrics_from_probs(data.task, data.classes, data.valid.labels, probs_valid, sep, threshold=thr)}
    parts = [("valid", data.valid, probs_valid)]
    if data.test is not None:
        x_test = encoder.encode(data.test.texts)
        probs_test = probabilities_from_logits(data.task, predict_logits(model, x_test))
        metrics["test"] = metrics_from_probs(data.task, data.classes, data.test.labels, probs_test, sep, threshold=thr)
        parts.append(("test", data.test, probs_test))
    thresholds = None
    if tuned is not None:
        key = "micro_f1" if data.task == "multilabel" else "macro_f1"
        gain = {}
        for name, part, probs in parts:
            base = metrics_from_probs(data.task, data.classes, part.labels, probs, sep, threshold=0.5, brief=True)
            metrics[name]["at_0.5"] = base
            gain[name] = round(metrics[name][key] - base[key], 6)
        thresholds = tuned.to_json(output_names(data.task, data.classes))
        thresholds["gain"] = {"metric": key, **gain}
        metrics["thresholds"] = thresholds
        log(f"thresholds tuned on validation ({t.threshold_objective}"
            + (f" {t.threshold_target:g}" if t.threshold_objective != "f1" else "") + "): "
            + ", ".join(f"{name} {key.replace('_', '-')} {metrics[name]['at_0.5'][key]:.4f} → {metrics[name][key]:.4f}"
                        for name, _, _ in parts))
    metrics["timing"] = {"fit_seconds": round(fit_seconds, 2), "tensorflow_start_seconds": round(tf_start_seconds, 2),
                         "train_phase_seconds": round(time.perf_counter() - t_start - tf_start_seconds, 2)}
    metrics["data"] = fingerprint
    if vectors is not None:
        metrics["pretrained_vectors"] = vectors.summary()
    metrics["distribution"] = {"workers": workers, "replicas": replicas, "batch_per_replica": per_replica,
                               "steps_per_epoch": steps_per_epoch, "streaming": data.scan is not None}
    if data.scan is not None:
        metrics["distribution"].update(train_rows=data.train_rows, vocab_sample_rows=len(data.scan.sample),
                                       valid_rows_evaluated=len(data.valid), shuffle_buffer=cfg.data.shuffle_buffer)

    rejects = [(part.path, b.line, b.reason) for part in {id(p.report): p for p in (data.train, data.valid, data.test)
                                                            if p is not None}.values() for b in part.report.bad_rows]
    if rejects:
        artifacts.write_rejects(run, rejects)
        log(f"{len(rejects):,} bad rows were left out; they are listed in {run / artifacts.REJECTS}")
    labels = {"task": data.task, "classes": data.classes, "separator": sep,
              "text_column": cfg.data.text_column, "label_column": cfg.data.label_column}
    plots = _draw_plots(history, metric_name, metrics, log) if t.plots else {}
    artifacts.save_run(run, config_yaml=cfg.to_yaml(), hyperparameters=hp.to_json(), vocab=vocab.to_json(),
                       labels=labels, model=model, history=history, metrics=metrics, thresholds=thresholds,
                       plots=plots)
    _check_reload(run, model, x_valid)
    summary = f"best epoch {best['epoch']}: valid {metric_name} {metrics['valid'][metric_name]:.4f}"
    if "test" in metrics:
        summary += f", test {metric_name} {metrics['test'][metric_name]:.4f}"
    log(summary + f" (training {fit_seconds:.1f}s)")


def _draw_plots(history: list[dict], metric_name: str, metrics: dict, log: Log) -> dict[str, bytes]:
    """The training curves and the confusion plot of the test set (or validation, without one)."""
    from .plots import confusion_png, training_curves

    try:
        out = {"curves": training_curves(history, metric_name)}
        part = "test" if "test" in metrics else "valid"
        confusion = confusion_png(metrics[part], title=f"{part}: {metrics[part]['rows']:,} rows")
        if confusion is not None:
            out["confusion"] = confusion
        return out
    except ImportError as exc:
        log(f"note: no plots ({exc}); install matplotlib, or set train.plots: false")
        return {}


def _assign(variables, values, what: str, where) -> None:
    if len(variables) != len(values):
        raise ConfigError([f"the checkpoint in {where} holds {len(values)} {what} arrays, the model has "
                           f"{len(variables)}; it was written by a different model. Start a new run"])
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != tuple(value.shape):
            raise ConfigError([f"the checkpoint in {where} does not fit the model ({what} {variable.path}: "
                               f"{tuple(value.shape)} vs {tuple(variable.shape)}). Start a new run"])
        variable.assign(value)


def _check_reload(run: Path, model, x_valid) -> None:
    """Reload the saved run in textclf's own way and check that it predicts exactly as the trained model.

    Both models are called eagerly on up to 128 validation rows: no second graph is traced for this.
    """
    loaded = artifacts.load_run(run)
    batch = x_valid.batch(np.arange(min(len(x_valid), 128)))
    before = np.asarray(model(batch, training=False))
    after = np.asarray(loaded.model(batch, training=False))
    if not np.allclose(before, after, atol=1e-5):
        raise TextclfError(f"the saved run in {run} does not reproduce the trained model's predictions "
                           f"(max difference {np.abs(before - after).max():.3g}); this is a bug in textclf")
