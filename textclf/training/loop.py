"""Stage 3 of training: the epoch loop, a generator that yields one :class:`EpochResult` per epoch.

The loop is written by hand rather than with ``model.fit``: Keras 3 ``fit`` fails under
``MultiWorkerMirroredStrategy`` (keras#20585), and a hand-written loop gives the control that resuming and
signal handling need. It runs unchanged under any ``tf.distribute`` strategy: each step runs through
``strategy.run`` with a ``GradientTape``, the loss is averaged with ``tf.nn.compute_average_loss`` over the
global batch, and the per-replica values are reduced. One trace serves every batch shape (the input
signature has a ``None`` time dimension).

Like spaCy's ``train_while_improving``, the loop only trains and measures: what to do with each epoch's
result (log it, write it to TensorBoard, checkpoint, stop a trial) is up to the consumer. The loop updates
the :class:`~textclf.training.state.LoopState` it was given, so a checkpoint written after a result holds it.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import DivergedError
from .inputs import Inputs, TrainingData
from .progress import StepBar
from .setup import StepPlan, Trainable, numpy_loss
from .signals import StopFlag, interrupted
from .state import LoopState


@dataclass(frozen=True)
class EpochResult:
    """The figures of one finished epoch (a row of ``history.csv``), and what the best-epoch tracker made of it."""

    epoch: int
    epochs: int  # the most epochs the run may take (train.epochs)
    metric_name: str  # accuracy, or micro_f1 for multi-label
    loss: float
    metric: float
    val_loss: float
    val_metric: float
    seconds: float
    improved: bool  # the best epoch so far: its weights are kept
    stop: bool  # early stopping ends training after this epoch
    wait: int  # epochs since the best one

    @property
    def monitored(self) -> str:
        return f"val_{self.metric_name}"


def metric_name(task: str) -> str:
    """The main metric of a task: micro-F1 for multi-label, accuracy otherwise."""
    return "micro_f1" if task == "multilabel" else "accuracy"


class EpochLoop:
    """Trains ``trainable`` on the inputs, epoch by epoch, from where ``state`` stands."""

    def __init__(
        self,
        cfg: Config,
        data: TrainingData,
        inputs: Inputs,
        trainable: Trainable,
        strategy,
        plan: StepPlan,
        run: Path,
        state: LoopState,
    ):
        from ..model.network import Inference

        self.cfg, self.data, self.inputs, self.trainable = cfg, data, inputs, trainable
        self.strategy, self.plan, self.run, self.state = strategy, plan, run, state
        self.metric_name = metric_name(data.task)
        self.inference = Inference(trainable.model)
        self._train_step = self._make_train_step()

    # ----------------------------------------------------------------------------------------------
    # One step, on every replica

    def _batch_stats(self, y, logits):
        """Counts for the training metric: [right, rows, 0] (accuracy), or [tp, fp, fn] (multi-label micro-F1)."""
        import tensorflow as tf

        logits = tf.cast(logits, tf.float32)
        if self.data.task == "multiclass":
            right = tf.reduce_sum(
                tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32)), tf.float32)
            )
            return tf.stack([right, tf.cast(tf.shape(y)[0], tf.float32), 0.0])
        pred = tf.cast(logits > 0.0, tf.float32)
        if self.data.task == "binary":
            right = tf.reduce_sum(tf.cast(tf.equal(pred, y), tf.float32))
            return tf.stack([right, tf.cast(tf.shape(y)[0], tf.float32), 0.0])
        return tf.stack([tf.reduce_sum(pred * y), tf.reduce_sum(pred * (1.0 - y)), tf.reduce_sum((1.0 - pred) * y)])

    def _step_fn(self, inputs, y, stop_flag):
        import tensorflow as tf

        model, optimizer = self.trainable.model, self.trainable.optimizer
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)
            loss = tf.nn.compute_average_loss(self.trainable.loss_fn(y, logits))
            to_minimize = optimizer.scale_loss(loss) if self.trainable.scaled else loss
        grads = tape.gradient(to_minimize, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, stop_flag, self._batch_stats(y, logits)

    def _dataset(self, batches: Callable[[], Iterator]):
        """A distributed dataset: each worker feeds its own batches, one per local replica (no re-batching)."""
        import tensorflow as tf

        def make(context):
            return tf.data.Dataset.from_generator(batches, output_signature=self._signature).prefetch(4)

        return self.strategy.distribute_datasets_from_function(make)

    def _make_train_step(self):
        import tensorflow as tf

        x_sig = {"tokens": tf.TensorSpec([None, None], tf.int32)}
        if self.inputs.vocab.ngram_tokens:
            x_sig["ngrams"] = tf.TensorSpec([None, None], tf.int32)
            x_sig["ngram_weights"] = tf.TensorSpec([None, None], tf.float32)
        y_valid = self.inputs.y_valid
        self._signature = (x_sig, tf.TensorSpec([None] + list(y_valid.shape[1:]), tf.as_dtype(y_valid.dtype)))
        strategy, step_fn = self.strategy, self._step_fn

        # one trace for all batch shapes: the signature has a None time dimension
        @tf.function(input_signature=[*self._dataset(lambda: iter(())).element_spec, tf.TensorSpec([], tf.float32)])
        def train_step(inputs, y, stop_flag):
            """One step on every replica: the mean loss, and the sum of the workers' stop flags (a signal on any
            worker stops all of them after the same step, instead of leaving the others waiting in a collective)."""
            loss, flags, stats = strategy.run(step_fn, args=(inputs, y, stop_flag))
            return tuple(strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in (loss, flags, stats))

        return train_step

    # ----------------------------------------------------------------------------------------------
    # Epochs

    def _epoch_source(self, epoch: int) -> tuple[int, Callable[[int], Iterator]]:
        """This worker's batches of one epoch (one per local replica and step): (steps, iterator factory)."""
        from ..model.vocabulary import epoch_batches

        plan, inputs, data = self.plan, self.inputs, self.data
        rng = np.random.default_rng([self.cfg.train.seed, epoch])
        if data.scan is None:
            x, y = inputs.x_train, inputs.y_train
            batches = epoch_batches(x.lengths, plan.per_replica, rng)
            if plan.fixed:
                batches = [b for b in batches if len(b) == plan.per_replica][: plan.steps_per_epoch * plan.local]
            return len(batches) // plan.local, lambda skip: ((x.batch(b), y[b]) for b in batches[skip * plan.local :])
        from .stream import epoch_stream

        def stream(skip):
            batches = epoch_stream(
                data.scan,
                self.cfg,
                inputs.encoder,
                data.task,
                data.classes,
                epoch=epoch,
                batch_size=plan.per_replica,
                worker=plan.rank,
                workers=plan.workers,
                steps=plan.steps_per_epoch * plan.local if plan.fixed else None,
                drop_remainder=plan.fixed,
            )
            return islice(batches, skip * plan.local, None)  # a resume re-reads the skipped batches

        return plan.steps_per_epoch, stream

    def epochs(self, stop: StopFlag, checkpoint: Callable[[LoopState], None]) -> Iterator[EpochResult]:
        """Train epoch after epoch, yielding each one's result, until the last epoch or early stopping.

        ``checkpoint(state)`` is called inside an epoch every ``train.checkpoint_every_steps`` batches; the
        consumer checkpoints at each epoch's end. Raises Interrupted (a signal) and DivergedError.
        """
        state, epochs = self.state, self.cfg.train.epochs
        first = epochs + 1 if state.finished(epochs) else state.epoch + 1
        for epoch in range(first, epochs + 1):
            t0 = time.perf_counter()
            loss, metric = self._train_epoch(epoch, stop, checkpoint)
            val_loss, val_metric = self._validate(epoch)
            result = self._record(epoch, loss, metric, val_loss, val_metric, time.perf_counter() - t0)
            yield result
            if result.stop:
                return

    def _train_epoch(self, epoch: int, stop: StopFlag, checkpoint: Callable[[LoopState], None]) -> tuple[float, float]:
        state, train_cfg = self.state, self.cfg.train
        n_steps, batches = self._epoch_source(epoch)
        skip = state.step if epoch == state.epoch + 1 else 0
        if not skip:
            state.partial_loss, state.partial_count, state.partial_stats = 0.0, 0, [0.0, 0.0, 0.0]
        bar = StepBar(n_steps, epoch, train_cfg.epochs, enabled=train_cfg.verbose)
        try:
            return self._train_steps(epoch, stop, checkpoint, n_steps, batches, skip, bar)
        finally:
            bar.close()

    def _train_steps(
        self,
        epoch: int,
        stop: StopFlag,
        checkpoint: Callable[[LoopState], None],
        n_steps: int,
        batches: Callable,
        skip: int,
        bar: StepBar,
    ) -> tuple[float, float]:
        """The epoch's batches from ``skip`` on; returns the epoch's mean loss and its training metric."""
        import tensorflow as tf

        state, train_cfg, plan = self.state, self.cfg.train, self.plan
        for step, (inputs, y) in enumerate(self._dataset(lambda: batches(skip)), start=skip + 1):
            if stop.signum is not None and plan.workers == 1:
                raise interrupted(stop.signum, self.run, epoch, step)
            loss, flags, batch = self._train_step(inputs, y, tf.constant(1.0 if stop.signum is not None else 0.0))
            loss = float(loss)
            state.partial_stats = [a + float(b) for a, b in zip(state.partial_stats, batch.numpy())]
            if float(flags) > 0:  # some worker was asked to stop: all stop here
                raise interrupted(stop.signum or signal.SIGTERM, self.run, epoch, step)
            if not math.isfinite(loss):
                raise DivergedError(
                    f"training diverged at epoch {epoch}, batch {step}: the loss is {loss}. Lower "
                    f"train.learning_rate (now {train_cfg.learning_rate:g}), e.g. --set train.learning_rate="
                    f"{train_cfg.learning_rate / 10:g}; no model was saved and no checkpoint holds these weights"
                )
            state.partial_loss += loss
            state.partial_count += 1
            bar.update(step, state.partial_loss / state.partial_count, first=skip + 1)
            if train_cfg.checkpoint_every_steps and step % train_cfg.checkpoint_every_steps == 0 and step < n_steps:
                state.epoch, state.step = epoch - 1, step
                checkpoint(state)
        if stop.signum is not None and plan.workers == 1:
            raise interrupted(stop.signum, self.run, epoch, n_steps)
        # several workers: a signal that came during the epoch's last step is all-reduced by the next step,
        # so that every worker stops at the same step (stopping here alone would strand the others)
        stats = state.partial_stats
        if self.data.task == "multilabel":  # micro-F1 from the summed true/false positives and misses
            metric = 2 * stats[0] / max(2 * stats[0] + stats[1] + stats[2], 1.0)
        else:
            metric = stats[0] / max(stats[1], 1.0)
        return state.partial_loss / max(state.partial_count, 1), metric

    def _validate(self, epoch: int) -> tuple[float, float]:
        from ..model.network import probabilities_from_logits
        from ..use.metrics import metrics_from_probs

        data, inputs, train_cfg = self.data, self.inputs, self.cfg.train
        logits = self.inference.logits(inputs.x_valid, batch_size=max(train_cfg.batch_size, 256))
        val_loss = numpy_loss(data.task, inputs.y_valid, logits)
        if not math.isfinite(val_loss):
            raise DivergedError(
                f"training diverged at epoch {epoch}: the validation loss is {val_loss}. "
                f"Lower train.learning_rate (now {train_cfg.learning_rate:g}); no model was saved"
            )
        probs = probabilities_from_logits(data.task, logits)
        figures = metrics_from_probs(
            data.task, data.classes, data.valid.labels, probs, self.cfg.data.label_separator, brief=True
        )
        return val_loss, figures[self.metric_name]

    def _record(
        self, epoch: int, loss: float, metric: float, val_loss: float, val_metric: float, seconds: float
    ) -> EpochResult:
        """Add the epoch to the history and the best-epoch tracker; the state now says the epoch is complete."""
        state, name = self.state, self.metric_name
        state.history.append(
            {
                "epoch": epoch,
                "loss": round(loss, 6),
                name: round(metric, 6),
                "val_loss": round(val_loss, 6),
                f"val_{name}": round(val_metric, 6),
                "learning_rate": self.cfg.train.learning_rate,
                "seconds": round(seconds, 3),
            }
        )
        model = self.trainable.model
        improved = state.best.update(epoch, val_metric, val_loss, lambda: [v.numpy() for v in model.weights])
        state.epoch, state.step, state.stopped_early = epoch, 0, state.best.stop
        state.partial_loss, state.partial_count, state.partial_stats = 0.0, 0, [0.0, 0.0, 0.0]
        return EpochResult(
            epoch,
            self.cfg.train.epochs,
            name,
            loss,
            metric,
            val_loss,
            val_metric,
            round(seconds, 3),
            improved,
            state.best.stop,
            state.best.wait,
        )
