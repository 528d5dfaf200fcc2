"""The best epoch so far, and early stopping: which weights a run keeps, and when it stops.

The monitored figure is the validation metric (accuracy; micro-F1 for multi-label), the lower validation
loss breaking a tie (``train.early_stopping_monitor: metric``), or the validation loss alone (``loss``). An
epoch is better when its figure beats the best by more than a hair (1e-9 for the metric, 1e-6 for the
loss). After ``patience`` epochs without a better one, training stops (0: never), as Keras's
``EarlyStopping`` with ``restore_best_weights`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

METRIC_TOLERANCE = 1e-9
LOSS_TOLERANCE = 1e-6


@dataclass
class BestEpoch:
    """The best epoch so far: its figures and weights, and the epochs waited since (checkpointed with the loop).

    Args:
        monitor: ``metric`` or ``loss`` (``train.early_stopping_monitor``).
        patience: epochs without a better one before stopping; 0 never stops early.
    """

    monitor: str = "metric"
    patience: int = 0
    metric: float = -math.inf
    loss: float = math.inf
    epoch: int = 0  # 0: no epoch has finished yet
    wait: int = 0
    weights: list | None = field(default=None, repr=False)

    def better(self, metric: float, loss: float) -> bool:
        """Whether an epoch with these validation figures beats the best so far."""
        lower_loss = loss < self.loss - LOSS_TOLERANCE
        if self.monitor == "loss":
            return lower_loss
        tie = abs(metric - self.metric) <= METRIC_TOLERANCE
        return metric > self.metric + METRIC_TOLERANCE or (tie and lower_loss)

    def update(self, epoch: int, metric: float, loss: float, weights: Callable[[], list]) -> bool:
        """Record an epoch's validation figures; keeps ``weights()`` when it is the best. Returns whether it was."""
        if self.better(metric, loss):
            self.metric, self.loss, self.epoch, self.weights = metric, loss, epoch, weights()
            self.wait = 0
            return True
        self.wait += 1
        return False

    @property
    def stop(self) -> bool:
        """Whether early stopping ends training now."""
        return bool(self.patience and self.wait >= self.patience)
