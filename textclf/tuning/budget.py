"""The time budget of ``textclf tune``: ``90s``, ``20m`` or ``1.5h`` of wall time, counted from the start.

The search keeps it so: no trial starts once it is spent, nor when the time left is shorter than the quickest
trial of this command took to finish its first epoch (that trial would stop after one epoch anyway); and the
trial that is running when it runs out stops at its next epoch boundary (see :mod:`textclf.tuning.trial`).
"""

from __future__ import annotations

import math
import re
import time

from ..errors import UsageError

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_budget(text: str) -> float:
    """Seconds of ``text``: a positive number with its unit, ``s``, ``m`` or ``h`` (``90s``, ``20m``, ``1.5h``)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", str(text))
    if match is None:
        raise UsageError(
            f"--budget: received {text!r}, expected a time such as 90s, 20m or 1.5h (a number and s, m or h)"
        )
    number, unit = float(match.group(1)), match.group(2).lower()
    if not unit:
        raise UsageError(f"--budget: received {text!r}, a number without a unit; write {text.strip()}s, "
                         f"{text.strip()}m or {text.strip()}h")  # fmt: skip
    if unit not in UNITS:
        raise UsageError(f"--budget: received {text!r}, expected the unit s, m or h (such as 90s, 20m or 1.5h)")
    seconds = number * UNITS[unit]
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"--budget: received {text!r}, expected a time above zero, such as 90s, 20m or 1.5h")
    return seconds


def format_seconds(seconds: float) -> str:
    """``45s``, ``12m 30s``, ``1h 05m``: a duration for a person."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


class Budget:
    """Wall time from ``started`` (``time.monotonic()``); ``seconds`` None is no limit."""

    def __init__(self, seconds: float | None, started: float | None = None):
        self.seconds = seconds
        self.started = time.monotonic() if started is None else started
        self.first_epoch: float | None = None  # the quickest a trial took to its first epoch's end

    def left(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - (time.monotonic() - self.started)

    def spent(self) -> bool:
        return self.left() <= 0

    def saw_first_epoch(self, seconds: float) -> None:
        """A trial finished its first epoch ``seconds`` after it started."""
        self.first_epoch = seconds if self.first_epoch is None else min(self.first_epoch, seconds)

    def room_for_a_trial(self) -> bool:
        """Whether a new trial may start: time left, and at least what the quickest trial took to one epoch."""
        return self.left() > (self.first_epoch or 0.0)

    def describe(self) -> str:
        return "no time limit" if self.seconds is None else f"a budget of {format_seconds(self.seconds)}"
