"""CSV tables written for people: the spreadsheet-safe prefix on echoed text, and one number format.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(CSV injection). Text that textclf echoes from an input into a CSV output is prefixed with ``'`` so that it
shows as text; ``--no-safe-csv`` turns that off. Probabilities are written with six decimals.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FLOAT_FORMAT = "%.6f"


def spreadsheet_safe(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def write_header(f: IO[str], names: Iterable[str], safe_columns: Iterable[int] = ()) -> None:
    """The header row; the names at the positions ``safe_columns`` (echoed from the input) are made safe."""
    safe = set(safe_columns)
    csv.writer(f, lineterminator="\n").writerow([spreadsheet_safe(n) if i in safe else n for i, n in enumerate(names)])


def write_rows(f: IO[str], frame: pd.DataFrame, safe_columns: Iterable[int] = ()) -> None:
    """Append ``frame``'s rows (no header) to ``f``; the columns at the positions ``safe_columns`` are made
    spreadsheet-safe first."""
    safe_columns = list(safe_columns)
    if safe_columns:
        frame = frame.copy()
        for i in safe_columns:
            column = frame.iloc[:, i]
            if column.dtype == object:
                text = column.astype(str)
                frame.iloc[:, i] = text.where(~text.str.startswith(FORMULA_START), "'" + text)
    frame.to_csv(f, header=False, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
