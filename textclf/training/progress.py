"""The per-step progress bar of a training epoch, drawn on a terminal only.

Logs, pipes and CI get no bar, just the one summary line per epoch that training logs. The bar shows the
epoch's mean loss so far, the same running mean that the summary line then reports, so the two agree.
"""

from __future__ import annotations

import sys
import time


def on_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class StepBar:
    """``epoch 2/8 [=========>          ] 41/90 loss 0.4312 ETA 3s`` on stderr, redrawn at most ten times a second.

    Args:
        steps: the steps in the epoch. epoch, epochs: shown at the start of the bar.
        enabled: draw at all (``train.verbose``); even then, only when stderr is a terminal.
    """

    WIDTH = 30

    def __init__(self, steps: int, epoch: int, epochs: int, enabled: bool = True):
        self.stream = sys.stderr
        self.steps, self.epoch, self.epochs = max(steps, 1), epoch, epochs
        self.enabled = enabled and on_terminal(self.stream)
        self.start = self.drawn = time.perf_counter()
        self.shown = 0  # the width of the last line drawn

    def update(self, step: int, mean_loss: float, first: int = 1) -> None:
        """Show ``step`` done with the epoch's mean loss so far; ``first`` is the step this process began at."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.drawn < 0.1 and step < self.steps:
            return
        self.drawn = now
        filled = self.WIDTH * min(step, self.steps) // self.steps
        done = max(step - first + 1, 1)
        eta = (now - self.start) / done * max(self.steps - step, 0)
        line = (
            f"epoch {self.epoch}/{self.epochs} [{'=' * filled}{' ' * (self.WIDTH - filled)}] "
            f"{step}/{self.steps} loss {mean_loss:.4f} ETA {eta:.0f}s"
        )
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def close(self) -> None:
        """Clear the bar, so that the epoch's summary line takes its place."""
        if self.enabled and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0
