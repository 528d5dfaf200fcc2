"""Small helpers for the plain-English reports of ``init`` and ``check-data``: counts, plurals, quoted texts."""

from __future__ import annotations

import json
import math


def percentile(sorted_values: list[int], q: float) -> int:
    """The smallest value such that at least ``q`` of the values are <= it."""
    if not sorted_values:
        return 0
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def plural(n: int, word: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def verb(n: int, one: str = "is", many: str = "are") -> str:
    """The verb that agrees with ``n``: ``is``/``are``, or ``one``/``many``."""
    return one if n == 1 else many


def quoted(text: str, width: int = 60) -> str:
    """A text on one line, quoted, cut to ``width`` characters."""
    short = text if len(text) <= width else text[:width] + "…"
    return json.dumps(short, ensure_ascii=False)


def times(ratio: float) -> str:
    """``12x`` or ``3.5x``."""
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.1f}x"
