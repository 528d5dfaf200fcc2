"""Text as the model's vocabulary sees it, in plain Python (no TensorFlow).

:func:`standardize` and :func:`tokenize` mirror :func:`textclf.model.vocabulary.standardizer` followed by a
split on ASCII whitespace, so that ``init`` and ``check-data`` count tokens exactly as the model cuts them
without starting TensorFlow. :func:`word_spans` finds, in the raw text, the spans that become one token each
(``explain`` removes them one at a time). A test keeps these equal to the TensorFlow standardization.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache


@cache
def _table(mode: str) -> dict[int, str]:
    """A ``str.translate`` table: control characters to spaces; for the punctuation modes, P* and S* too."""
    table = {c: " " for c in list(range(0x20)) + list(range(0x7F, 0xA0)) + [0x2028, 0x2029, 0xFEFF]}
    if mode in ("lower_and_split_punctuation", "lower_and_strip_punctuation"):
        split = mode == "lower_and_split_punctuation"
        for c in range(sys.maxunicode + 1):
            if unicodedata.category(chr(c))[0] in "PS":
                table[c] = f" {chr(c)} " if split else " "
    return table


_ASCII_SPACE = re.compile(r"[ \t\n\v\f\r]+")


def standardize(text: str, mode: str = "lower_and_split_punctuation") -> str:
    """The text as ``textclf.model.vocabulary.standardizer(mode)`` makes it, in plain Python."""
    if mode != "none":
        text = text.lower()
    return text.translate(_table(mode))


def tokenize(text: str, mode: str = "lower_and_split_punctuation") -> list[str]:
    """The tokens the model's vocabulary sees in ``text`` (TensorFlow splits on ASCII whitespace only)."""
    s = standardize(text, mode)
    if s.isascii():
        return s.split()
    return [t for t in _ASCII_SPACE.split(s) if t]


_ASCII_WHITESPACE = " \t\n\r\v\f"


def is_separator(ch: str) -> bool:
    """Characters that end a token: ASCII whitespace (``tf.strings.split``), and the characters the
    standardization replaces by a space (C0/C1 controls, U+2028, U+2029, U+FEFF)."""
    o = ord(ch)
    return ch in _ASCII_WHITESPACE or o <= 0x1F or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029, 0xFEFF)


def _is_punct(ch: str) -> bool:
    """``[\\p{P}\\p{S}]``: the characters the punctuation modes split off or strip."""
    return unicodedata.category(ch)[0] in "PS"


def has_token(text: str, standardize: str) -> bool:
    """Whether ``text`` gives at least one token under ``standardize`` (as :func:`tokenize` would, but cheaply:
    it stops at the first character that belongs to a token)."""
    strip = standardize == "lower_and_strip_punctuation"
    return any(not is_separator(ch) and not (strip and _is_punct(ch)) for ch in text)


def word_spans(text: str, standardize: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of ``text`` that become exactly one token each under ``standardize``.

    Consistent with :func:`textclf.model.vocabulary.standardizer` followed by a whitespace split, so that removing a
    span removes exactly one word id from the model's input.
    """
    split = standardize == "lower_and_split_punctuation"
    strip = standardize == "lower_and_strip_punctuation"
    spans: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(text):
        if is_separator(ch) or ((split or strip) and _is_punct(ch)):
            if start is not None:
                spans.append((start, i))
                start = None
            if split and not is_separator(ch):
                spans.append((i, i + 1))
            continue
        if start is None:
            start = i
    if start is not None:
        spans.append((start, len(text)))
    return spans
