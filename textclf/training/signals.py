"""Signals during training: SIGTERM or a first Ctrl-C stop the loop at the next batch boundary.

The last checkpoint is kept and the message says how to resume; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from ..errors import EXIT_SIGINT, EXIT_SIGTERM, Interrupted
from ..run.checkpoints import latest_checkpoint_name


class StopFlag:
    """SIGTERM, or a first SIGINT, asks the loop to stop after the current batch; a second SIGINT exits at once."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.signum = signum

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def interrupted(signum: int, run: Path, epoch: int, step: int) -> Interrupted:
    """The error that ends an interrupted run: what was kept, and how to resume."""
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM
    checkpoint = latest_checkpoint_name(run)
    if not checkpoint:
        return Interrupted(
            f"{name} received: stopped at epoch {epoch}, batch {step}, before the first epoch "
            "ended; there is no checkpoint to keep, so the run was removed. Start it again",
            code,
        )
    return Interrupted(
        f"{name} received: stopped at epoch {epoch}, batch {step}; the partial epoch is not counted "
        f"and the last checkpoint ({checkpoint}) is kept. Resume with:\n"
        f"  textclf train --resume {run}",
        code,
    )
