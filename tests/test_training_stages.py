"""The training stages on their own, on tiny data, without the CLI: the best-epoch tracker, the loop state
(the checkpoint's schema), the step plan, and the epoch loop that yields one result per epoch."""

from __future__ import annotations

import json
import math

import pytest
from support import topic_rows, write_csv

from textclf.config import load_config
from textclf.errors import ConfigError
from textclf.training.best import BestEpoch
from textclf.training.state import LoopState


def test_best_epoch_keeps_the_highest_metric_and_breaks_ties_by_the_lower_loss():
    best = BestEpoch("metric", patience=2)
    weights = iter([["w1"], ["w2"], ["w3"], ["w4"]])
    assert best.update(1, 0.80, 0.50, lambda: next(weights))
    assert not best.update(2, 0.79, 0.40, lambda: next(weights))  # a lower loss alone is not better
    assert best.update(3, 0.80, 0.45, lambda: next(weights))  # a tie in the metric: the lower loss wins
    assert (best.epoch, best.weights, best.wait) == (3, ["w2"], 0)
    assert not best.update(4, 0.80, 0.45, lambda: next(weights)) and not best.stop
    assert not best.update(5, 0.70, 0.90, lambda: ["never taken"]) and best.stop  # patience 2 reached
    assert best.epoch == 3 and best.weights == ["w2"]


def test_best_epoch_on_loss_and_without_patience():
    best = BestEpoch("loss", patience=0)
    assert best.update(1, 0.5, 0.9, lambda: [1])
    assert not best.update(2, 0.99, 0.9, lambda: [2])  # the metric does not count when monitoring the loss
    assert best.update(3, 0.1, 0.8, lambda: [3])
    for epoch in range(4, 20):
        best.update(epoch, 0.0, 5.0, lambda: [])
    assert not best.stop and best.epoch == 3  # patience 0 never stops early


def test_loop_state_round_trips_through_the_checkpoint_schema():
    state = LoopState(BestEpoch("metric", 2, 0.75, 0.4, 3, 1, [[1.0]]), history=[{"epoch": 1, "loss": 0.5}],
                      epoch=3, step=7, partial_loss=1.25, partial_count=7, partial_stats=[5.0, 7.0, 0.0],
                      data={"data.train": "ab" * 32}, seed=13, workers=2)  # fmt: skip
    body = json.loads(json.dumps(dict(state.to_json(), epoch=state.epoch, step=state.step)))  # as state.json holds it
    assert set(body) == {"history", "best_metric", "best_loss", "best_epoch", "wait", "partial_loss", "partial_count",
                         "partial_stats", "stopped_early", "data", "seed", "workers", "epoch", "step"}  # fmt: skip
    back = LoopState.from_json(body, [[1.0]], "metric", 2)
    assert back == state and not back.finished(5) and back.finished(3)


def test_a_state_written_before_this_type_existed_still_reads():
    old = {"history": [], "best_epoch": 0, "wait": 0, "epoch": 1, "step": 0}  # no best_metric, partials or seed
    state = LoopState.from_json(old, None, "loss", 0)
    assert state.best.metric == -math.inf and state.best.loss == math.inf and state.partial_stats == [0.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    write_csv(folder / "train.csv", ["text", "label"], topic_rows(90, seed=21))
    overrides = [f"data.train={folder / 'train.csv'}", "model.units=4", "model.embedding_dim=8", "train.epochs=3",
                 "train.batch_size=16", "train.verbose=false", "train.early_stopping_patience=0"]  # fmt: skip
    return load_config(None, overrides)


def test_the_epoch_loop_yields_one_result_per_epoch_and_updates_its_state(tiny, tmp_path):
    import keras

    from textclf.runtime import import_tensorflow

    import_tensorflow()
    from textclf.training.inputs import load_training_data, prepare_inputs
    from textclf.training.loop import EpochLoop
    from textclf.training.setup import build_trainable, plan_steps, setup_device
    from textclf.training.signals import StopFlag

    data = load_training_data(tiny)
    strategy, _ = setup_device("cpu", False)
    keras.utils.set_random_seed(tiny.train.seed)
    inputs = prepare_inputs(tiny, data)
    plan = plan_steps(tiny, data, strategy)
    assert plan.steps_per_epoch == math.ceil(data.train_rows / 16)
    trainable = build_trainable(tiny, data, inputs, strategy)
    state = LoopState(BestEpoch("metric", 0))
    loop = EpochLoop(tiny, data, inputs, trainable, strategy, plan, tmp_path, state)
    checkpoints = []
    with StopFlag() as stop:
        results = list(loop.epochs(stop, checkpoints.append))
    assert [r.epoch for r in results] == [1, 2, 3] and checkpoints == []  # no step checkpoints asked for
    assert all(0 <= r.val_metric <= 1 and r.val_loss > 0 and r.metric_name == "accuracy" for r in results)
    assert state.epoch == 3 and state.step == 0 and len(state.history) == 3
    assert state.best.epoch in (1, 2, 3) and state.best.weights is not None
    assert state.history[-1]["val_accuracy"] == pytest.approx(results[-1].val_metric, abs=1e-6)
    assert list(loop.epochs(stop, checkpoints.append)) == []  # every epoch done: nothing left to run


def test_a_batch_larger_than_a_worker_shard_is_a_config_error(tiny):
    from textclf.training.inputs import load_training_data
    from textclf.training.setup import plan_steps

    class TwoReplicas:
        num_replicas_in_sync = 2

    data = load_training_data(tiny.replace(train={"batch_size": 400}))
    with pytest.raises(ConfigError, match="train.batch_size 400 is larger than the 40 training rows"):
        plan_steps(tiny.replace(train={"batch_size": 400}), data, TwoReplicas(), workers=2)
