"""The training loop's state: what a checkpoint's ``state.json`` holds and what ``--resume`` restores.

:class:`LoopState` is the schema of ``state.json``; :meth:`LoopState.to_json` writes it and
:meth:`LoopState.from_json` reads it back (the keys are those of format version 2 runs, so runs checkpointed
before this type existed resume too). The weights, the optimizer state and the best weights are arrays,
saved beside it by :mod:`textclf.run.checkpoints`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .best import BestEpoch


def _zeros() -> list[float]:
    return [0.0, 0.0, 0.0]


@dataclass
class LoopState:
    """Where training stands: epochs done, batches into the next, the history and the best epoch.

    ``partial_*`` sum the losses and the metric's counts of the batches done in an unfinished epoch, so that
    a resume in the middle of an epoch reports the same epoch figures. ``data`` holds the SHA-256 of the data
    files, so that a resume refuses changed data.
    """

    best: BestEpoch = field(default_factory=BestEpoch)
    history: list[dict] = field(default_factory=list)
    epoch: int = 0  # complete epochs
    step: int = 0  # batches done in the next epoch
    partial_loss: float = 0.0
    partial_count: int = 0
    partial_stats: list[float] = field(default_factory=_zeros)
    stopped_early: bool = False
    data: dict = field(default_factory=dict)
    seed: int = 0
    workers: int = 1

    def to_json(self) -> dict:
        """``state.json`` without ``epoch``, ``step`` and ``files`` (the checkpoint adds them)."""
        return {
            "history": self.history,
            "best_metric": self.best.metric,
            "best_loss": self.best.loss,
            "best_epoch": self.best.epoch,
            "wait": self.best.wait,
            "partial_loss": self.partial_loss,
            "partial_count": self.partial_count,
            "partial_stats": list(self.partial_stats),
            "stopped_early": self.stopped_early,
            "data": self.data,
            "seed": self.seed,
            "workers": self.workers,
        }

    @classmethod
    def from_json(cls, state: dict, best_weights: list | None, monitor: str, patience: int) -> LoopState:
        """The state of a checkpoint's ``state.json`` and its best weights."""
        best = BestEpoch(
            monitor,
            patience,
            state.get("best_metric", -math.inf),
            state.get("best_loss", math.inf),
            state["best_epoch"],
            state["wait"],
            best_weights,
        )
        return cls(
            best,
            state["history"],
            state["epoch"],
            state["step"],
            state.get("partial_loss", 0.0),
            state.get("partial_count", 0),
            list(state.get("partial_stats", _zeros())),
            bool(state.get("stopped_early")),
            state.get("data", {}),
            state.get("seed", 0),
            state.get("workers", 1),
        )

    def finished(self, epochs: int) -> bool:
        """Whether the loop had already ended (early stopping, or every epoch done): only saving remains."""
        return self.stopped_early or self.epoch >= epochs
