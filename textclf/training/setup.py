"""Stage 2 of training: the devices and distribution strategy, the model, the optimizer and the loss.

One training loop runs unchanged under any ``tf.distribute`` strategy (the default strategy for one device):
the model and optimizer are built in ``strategy.scope()``. Several workers come from the standard
``TF_CONFIG`` cluster spec (:func:`cluster`). The recurrent layers keep the cuDNN conditions
(:mod:`textclf.model.network`); mixed precision is an option for GPUs.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..errors import ConfigError, UsageError
from .inputs import Inputs, TrainingData, class_weights, prior_logits

log = logging.getLogger(__name__)


def cluster() -> tuple[int, int, bool]:
    """(workers, this worker's rank, whether it is the chief) from the standard ``TF_CONFIG`` cluster spec.

    Without TF_CONFIG: one worker. The chief is the ``chief`` task, or worker 0 when there is none; ranks
    put the chief first. Kubernetes operators, Vertex AI and SageMaker set TF_CONFIG for each replica.
    """
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
        raise UsageError(
            f"TF_CONFIG is not a valid cluster spec ({exc}); expected JSON like "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
            '"index": 0}}'
        ) from None
    total = len(chiefs) + len(workers)
    if kind not in ("chief", "worker") or total == 0:
        raise UsageError(
            f"TF_CONFIG task type {kind!r}: textclf trains with chief/worker tasks only (no parameter "
            "servers or evaluators); received cluster roles " + ", ".join(sorted(roles))
        )
    rank = 0 if kind == "chief" else len(chiefs) + index
    if rank >= total:
        raise UsageError(f"TF_CONFIG task index {index} is outside the {len(workers)} worker address(es)")
    return total, rank, rank == 0


def setup_device(device: str, mixed_precision: bool, workers: int = 1):
    """Choose the devices and the distribution strategy; returns (strategy, description).

    Several workers (TF_CONFIG): ``MultiWorkerMirroredStrategy``, created before any other TensorFlow op as it
    requires. One host with several GPUs: ``MirroredStrategy``. Otherwise the default strategy.
    """
    import keras
    import tensorflow as tf

    if device == "cpu":
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # devices were initialized by an earlier call in this process
            if tf.config.get_visible_devices("GPU"):
                log.warning("note: a GPU was already initialized in this process; --device cpu cannot hide it now")
    gpus = tf.config.list_physical_devices("GPU") if device != "cpu" else []
    if device == "gpu" and not gpus:
        raise UsageError(
            "--device gpu: TensorFlow sees no GPU on this machine; install textclf[gpu] with a CUDA "
            "driver, or use --device cpu"
        )
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


@dataclass(frozen=True)
class StepPlan:
    """How the batches of an epoch are cut across replicas and workers."""

    workers: int
    rank: int
    chief: bool
    replicas: int  # in sync, over all workers
    local: int  # replicas on this worker: each step takes one batch per local replica
    per_replica: int  # rows per batch on one replica
    fixed: bool  # several replicas: every replica runs the same number of full batches
    steps_per_epoch: int


def plan_steps(
    cfg: Config, data: TrainingData, strategy, workers: int = 1, rank: int = 0, chief: bool = True
) -> StepPlan:
    """The batches per step and the steps per epoch; a batch larger than a worker's shard is a ConfigError."""
    import math

    batch_size = cfg.train.batch_size
    replicas = strategy.num_replicas_in_sync
    local = max(replicas // workers, 1)
    per_replica = max(batch_size // replicas, 1)
    fixed = replicas > 1
    shard_rows = data.train_rows // workers  # the smallest shard
    if fixed:
        steps = shard_rows // (per_replica * local)
        if steps < 1:
            raise ConfigError(
                [
                    f"train.batch_size {batch_size} is larger than the {shard_rows:,} training rows of "
                    f"each of the {workers} worker(s); lower train.batch_size"
                ]
            )
    else:
        steps = math.ceil(data.train_rows / per_replica)
    return StepPlan(workers, rank, chief, replicas, local, per_replica, fixed, steps)


@dataclass
class Trainable:
    """What the loop trains: the model (outputs logits), its optimizer, the loss, and the hyperparameters."""

    model: object
    optimizer: object
    loss_fn: object
    hyperparameters: object
    scaled: bool  # the optimizer scales the loss (mixed precision)


def build_trainable(cfg: Config, data: TrainingData, inputs: Inputs, strategy) -> Trainable:
    """Build the model and optimizer in the strategy's scope, with the class weights and prior output biases."""
    import keras

    from ..model.hyperparameters import Hyperparameters
    from ..model.network import build_model
    from ..model.optimizer import LazyAdam

    model_cfg, train_cfg = cfg.model, cfg.train
    vocab = inputs.vocab
    hp = Hyperparameters(
        task=data.task,
        num_outputs=data.outputs,
        vocab_size=len(vocab.tokens),
        ngram_vocab_size=len(vocab.ngram_tokens) if vocab.ngram_tokens else 0,
        embedding_dim=model_cfg.embedding_dim,
        rnn=model_cfg.rnn,
        units=model_cfg.units,
        layers=model_cfg.layers,
        bidirectional=model_cfg.bidirectional,
        pooling=model_cfg.pooling,
        embedding_dropout=model_cfg.embedding_dropout,
        dropout=model_cfg.dropout,
    )
    weights = class_weights(inputs.counts, inputs.rows, data.task, data.outputs, train_cfg.class_weight)
    with strategy.scope():
        model = build_model(hp, seed=train_cfg.seed, output_bias=prior_logits(inputs.counts, inputs.rows, data.task))
        optimizer = LazyAdam(
            learning_rate=train_cfg.learning_rate, rates={"ngram_embedding/": train_cfg.ngram_learning_rate}
        )
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)
    loss_fn = make_loss(data.task, weights)
    return Trainable(model, optimizer, loss_fn, hp, isinstance(optimizer, keras.optimizers.LossScaleOptimizer))


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
