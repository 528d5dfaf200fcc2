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
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import artifacts
from .config import Config
from .data import (Labeled, check_classes, infer_task, read_labeled, split_labels, stratified_split,
                   unseen_labels, describe_unseen)
from .errors import DataError, DivergedError, TextclfError, UsageError

Log = Callable[[str], None]


@dataclass
class Datasets:
    task: str
    classes: list[str]
    train: Labeled
    valid: Labeled
    test: Labeled | None
    split_from_train: bool


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
    train = read(d.train)
    task = cfg.task if cfg.task != "auto" else infer_task(train.labels, d.label_separator)
    classes = check_classes(train, task, d.label_separator, d.label_column)
    if d.valid:
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
    return Datasets(task, classes, train, valid, test, split)


def encode_targets(raw: list[str], task: str, classes: list[str], separator: str) -> np.ndarray:
    """Targets as the loss expects them: (n,1) floats for binary, class indices for multi-class, multi-hot."""
    if task == "binary":
        return (np.asarray(raw, dtype=object) == classes[1]).astype(np.float32)[:, None]
    if task == "multiclass":
        index = {c: i for i, c in enumerate(classes)}
        return np.asarray([index[c] for c in raw], dtype=np.int32)
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer(classes=classes)
    return mlb.fit_transform(split_labels(raw, task, separator)).astype(np.float32)


def class_weights(y: np.ndarray, task: str, num_outputs: int, mode: str) -> np.ndarray:
    """Per-class sample weights (binary, multi-class) or per-label positive weights (multi-label)."""
    if mode == "none":
        return np.ones(max(num_outputs, 2), dtype=np.float32)
    if task == "multilabel":
        pos = y.sum(axis=0)
        neg = len(y) - pos
        return np.clip(neg / np.maximum(pos, 1.0), 1.0, 100.0).astype(np.float32)
    from sklearn.utils.class_weight import compute_class_weight

    labels = y.ravel().astype(int)
    present = np.unique(labels)
    weights = np.ones(max(num_outputs, 2), dtype=np.float32)
    weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    return weights


# ------------------------------------------------------------------------------------------------
# 2. Devices


def setup_device(device: str, mixed_precision: bool, log: Log):
    """Choose the devices and the distribution strategy; returns (strategy, description)."""
    import tensorflow as tf
    import keras

    if device == "cpu":
        tf.config.set_visible_devices([], "GPU")
    gpus = tf.config.list_physical_devices("GPU") if device != "cpu" else []
    if device == "gpu" and not gpus:
        raise UsageError("--device gpu: TensorFlow sees no GPU on this machine; install textclf[gpu] with a CUDA "
                         "driver, or use --device cpu")
    if len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    if gpus and mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    else:
        keras.mixed_precision.set_global_policy("float32")
    where = f"{len(gpus)} GPU(s)" if gpus else "CPU"
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
# 4. The training function


def train(config: Config, run_dir: str | os.PathLike | None = None, device: str | None = None,
          log: Log = print) -> Path:
    """Train a classifier as ``config`` says and write a complete run directory.

    Args:
        config: a validated :class:`~textclf.config.Config` (see :func:`textclf.load_config`).
        run_dir: where to write the run; must not exist or be empty. Default: a new folder under
            ``train.runs_dir`` named from the config file and the time.
        device: ``auto``, ``cpu`` or ``gpu``; overrides ``train.device``.
        log: where progress lines go.

    Returns:
        The path of the finished run directory (it holds ``manifest.json``).
    """
    cfg = config
    t_start = time.perf_counter()
    data = load_datasets(cfg, log)
    n_out = 1 if data.task == "binary" else len(data.classes)
    log(f"task: {data.task}, classes: {len(data.classes)}, train: {len(data.train):,} rows, "
        f"valid: {len(data.valid):,} rows{' (split from train)' if data.split_from_train else ''}"
        + (f", test: {len(data.test):,} rows" if data.test else ""))

    name = Path(cfg.source).stem if cfg.source else "run"
    run = artifacts.prepare_run_dir(run_dir) if run_dir else artifacts.new_run_dir(cfg.train.runs_dir, name)
    try:
        _train_into(cfg, data, n_out, run, device or cfg.train.device, log, t_start)
    except BaseException:
        shutil.rmtree(run, ignore_errors=True)  # never leave a half-written run behind
        raise
    return run


def _train_into(cfg: Config, data: Datasets, n_out: int, run: Path, device: str, log: Log, t_start: float) -> None:
    import tensorflow as tf
    import keras

    from .evaluate import metrics_from_probs
    from .model import Hyperparameters, build_model, predict_logits, probabilities_from_logits
    from .vectorize import Vocabulary, epoch_batches

    m, t = cfg.model, cfg.train
    strategy, desc = setup_device(device, t.mixed_precision, log)
    log(desc)
    keras.utils.set_random_seed(t.seed)
    tf.config.experimental.enable_op_determinism()

    # Vocabulary, fitted on training text only
    t0 = time.perf_counter()
    vocab = Vocabulary.fit(data.train.texts, max_tokens=m.max_tokens, sequence_length=m.sequence_length,
                           standardize=m.standardize, ngrams=m.ngrams, ngram_max_tokens=m.ngram_max_tokens)
    encoder = vocab.encoder()
    x_train = encoder.encode(data.train.texts)
    x_valid = encoder.encode(data.valid.texts)
    sep = cfg.data.label_separator
    y_train = encode_targets(data.train.labels, data.task, data.classes, sep)
    y_valid = encode_targets(data.valid.labels, data.task, data.classes, sep)
    log(f"vocabulary: {len(vocab.tokens):,} tokens"
        + (f", {len(vocab.ngram_tokens):,} n-grams" if vocab.ngram_tokens else "")
        + f" ({time.perf_counter() - t0:.1f}s)")

    hp = Hyperparameters(task=data.task, num_outputs=n_out, vocab_size=len(vocab.tokens),
                         ngram_vocab_size=len(vocab.ngram_tokens) if vocab.ngram_tokens else 0,
                         embedding_dim=m.embedding_dim, rnn=m.rnn, units=m.units, layers=m.layers,
                         bidirectional=m.bidirectional, pooling=m.pooling,
                         embedding_dropout=m.embedding_dropout, dropout=m.dropout)
    weights = class_weights(y_train, data.task, n_out, t.class_weight)
    with strategy.scope():
        model = build_model(hp, seed=t.seed)
        optimizer = keras.optimizers.Adam(learning_rate=t.learning_rate)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    loss_fn = make_loss(data.task, weights)
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def step_fn(inputs, y):
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)
            loss = tf.nn.compute_average_loss(loss_fn(y, logits))
            to_minimize = optimizer.scale_loss(loss) if scaled else loss
        grads = tape.gradient(to_minimize, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    input_sig = {"tokens": tf.TensorSpec([None, None], tf.int32)}
    if vocab.ngram_tokens:
        input_sig["ngrams"] = tf.TensorSpec([None, None], tf.int32)
    y_sig = tf.TensorSpec([None] + list(y_train.shape[1:]), tf.as_dtype(y_train.dtype))

    def dataset(epoch: int):
        rng = np.random.default_rng([t.seed, epoch])
        batches = epoch_batches(x_train.lengths, t.batch_size, rng)

        def gen():
            for index in batches:
                yield x_train.batch(index), y_train[index]

        ds = tf.data.Dataset.from_generator(gen, output_signature=(input_sig, y_sig)).prefetch(4)
        return strategy.experimental_distribute_dataset(ds), len(batches)

    # one trace for all batch shapes: the signature has a None time dimension
    @tf.function(input_signature=dataset(0)[0].element_spec)
    def train_step(inputs, y):
        per_replica = strategy.run(step_fn, args=(inputs, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    writers = None
    if t.tensorboard:
        logs = artifacts.log_dir(run)
        writers = {k: tf.summary.create_file_writer(str(logs / k)) for k in ("train", "valid")}

    history: list[dict] = []
    best = {"loss": math.inf, "epoch": 0, "weights": None}
    wait = 0
    metric_name = "micro_f1" if data.task == "multilabel" else "accuracy"
    t_fit = time.perf_counter()
    for epoch in range(1, t.epochs + 1):
        t_epoch = time.perf_counter()
        ds, steps = dataset(epoch)
        bar = keras.utils.Progbar(steps, verbose=1 if t.verbose else 0, unit_name="step")
        total, count = 0.0, 0
        for step, (inputs, y) in enumerate(ds, start=1):
            loss = float(train_step(inputs, y))
            if not math.isfinite(loss):
                raise DivergedError(
                    f"training diverged at epoch {epoch}, batch {step}: the loss is {loss}. Lower "
                    f"train.learning_rate (now {t.learning_rate:g}), e.g. --set train.learning_rate={t.learning_rate / 10:g}; "
                    "no model was saved")
            total += loss
            count += 1
            bar.update(step, values=[("loss", loss)])
        train_loss = total / max(count, 1)
        logits = predict_logits(model, x_valid, batch_size=max(t.batch_size, 256))
        val_loss = numpy_loss(data.task, y_valid, logits)
        probs = probabilities_from_logits(data.task, logits)
        val_metrics = metrics_from_probs(data.task, data.classes, data.valid.labels, probs, sep, brief=True)
        row = {"epoch": epoch, "loss": round(train_loss, 6), "val_loss": round(val_loss, 6),
               f"val_{metric_name}": round(val_metrics[metric_name], 6),
               "learning_rate": t.learning_rate, "seconds": round(time.perf_counter() - t_epoch, 3)}
        history.append(row)
        if not math.isfinite(val_loss):
            raise DivergedError(f"training diverged at epoch {epoch}: the validation loss is {val_loss}. "
                                f"Lower train.learning_rate (now {t.learning_rate:g}); no model was saved")
        log(f"epoch {epoch}/{t.epochs}: loss {train_loss:.4f}, val_loss {val_loss:.4f}, "
            f"val_{metric_name} {val_metrics[metric_name]:.4f} ({row['seconds']:.1f}s)")
        if writers:
            with writers["train"].as_default():
                tf.summary.scalar("loss", train_loss, step=epoch)
            with writers["valid"].as_default():
                tf.summary.scalar("loss", val_loss, step=epoch)
                tf.summary.scalar(metric_name, val_metrics[metric_name], step=epoch)
        if val_loss < best["loss"] - 1e-6:
            best = {"loss": val_loss, "epoch": epoch, "weights": [v.numpy() for v in model.weights]}
            wait = 0
        else:
            wait += 1
            if t.early_stopping_patience and wait >= t.early_stopping_patience:
                log(f"early stopping: no better val_loss for {wait} epochs; restoring epoch {best['epoch']}")
                break
    fit_seconds = time.perf_counter() - t_fit
    if writers:
        for w in writers.values():
            w.close()
    if best["weights"] is not None:
        for variable, value in zip(model.weights, best["weights"]):
            variable.assign(value)

    # Final validation (and test) metrics with the best weights
    probs_valid = probabilities_from_logits(data.task, predict_logits(model, x_valid))
    metrics = {"task": data.task, "best_epoch": best["epoch"], "epochs_run": len(history),
               "valid": metrics_from_probs(data.task, data.classes, data.valid.labels, probs_valid, sep)}
    if data.test is not None:
        x_test = encoder.encode(data.test.texts)
        probs_test = probabilities_from_logits(data.task, predict_logits(model, x_test))
        metrics["test"] = metrics_from_probs(data.task, data.classes, data.test.labels, probs_test, sep)
    metrics["timing"] = {"fit_seconds": round(fit_seconds, 2),
                         "train_phase_seconds": round(time.perf_counter() - t_start, 2)}

    labels = {"task": data.task, "classes": data.classes, "separator": sep,
              "text_column": cfg.data.text_column, "label_column": cfg.data.label_column}
    artifacts.save_run(run, config_yaml=cfg.to_yaml(), hyperparameters=hp.to_json(), vocab=vocab.to_json(),
                       labels=labels, model=model, history=history, metrics=metrics)
    _check_reload(run, model, x_valid)
    summary = f"best epoch {best['epoch']}: valid {metric_name} {metrics['valid'][metric_name]:.4f}"
    if "test" in metrics:
        summary += f", test {metric_name} {metrics['test'][metric_name]:.4f}"
    log(summary + f" (training {fit_seconds:.1f}s)")


def _check_reload(run: Path, model, x_valid) -> None:
    """Reload the saved run in textclf's own way and check that it predicts exactly as the trained model."""
    from .model import predict_logits

    loaded = artifacts.load_run(run)
    n = min(len(x_valid), 512)
    sample = x_valid.subset(np.arange(n))
    before = predict_logits(model, sample)
    after = predict_logits(loaded.model, sample)
    if not np.allclose(before, after, atol=1e-5):
        raise TextclfError(f"the saved run in {run} does not reproduce the trained model's predictions "
                           f"(max difference {np.abs(before - after).max():.3g}); this is a bug in textclf")
