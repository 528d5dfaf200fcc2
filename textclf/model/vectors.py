"""Pretrained word vectors (``model.pretrained_vectors``): reading the text format into the embedding table.

The file is the plain text format that word2vec, GloVe and fastText all write: one word per line followed by
its numbers, separated by spaces. A first line of two integers (``<words> <dimension>``, word2vec and
fastText ``.vec``) is a header; GloVe files have none. A ``.gz`` file is read compressed. Binary word2vec
files are refused with a message that says how to convert them. Nothing in the file is ever executed or
unpickled: it is parsed as text and numbers only.

Only the words of the fitted vocabulary are kept, so a file of millions of words costs one pass and the memory
of the vocabulary's rows. A vocabulary word matches a file word exactly, or else the lowercased form of a
file word (the vocabulary is usually lowercased, many vector files are not); an exact match wins. Words the
file lacks are drawn from a normal distribution with the mean and standard deviation of the found vectors,
so that they start on the same scale; the padding row stays zero. The vectors are a starting point: they are
trained with the rest of the model and saved in the run's weights, so a run never needs the file again.

:func:`check_header` runs before TensorFlow is imported, so a wrong dimension is reported at once.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

KEY = "model.pretrained_vectors"


@dataclass
class Vectors:
    """The initial embedding table and how much of the vocabulary the file covered."""

    matrix: np.ndarray  # (vocabulary size, dimension), float32
    found: int  # vocabulary words with a vector (exact or lowercased match)
    exact: int  # of those, matched exactly
    words: int  # vocabulary words looked up (without padding and the out-of-vocabulary token)
    file_words: int  # words read from the file

    @property
    def coverage(self) -> float:
        return self.found / self.words if self.words else 0.0

    def summary(self) -> dict:
        return {
            "found": self.found,
            "exact": self.exact,
            "words": self.words,
            "file_words": self.file_words,
            "coverage": round(self.coverage, 4),
        }


def _open(path: Path):
    """The file as text lines; a binary word2vec file or a bad encoding is a DataError naming the file."""
    try:
        raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except FileNotFoundError:
        raise DataError(
            f"{KEY}: {path} does not exist; give the path of a word-vectors text file "
            "(relative paths resolve against the config file's folder)"
        ) from None
    except IsADirectoryError:
        raise DataError(f"{KEY}: {path} is a directory; give the path of a word-vectors text file") from None
    except OSError as exc:
        raise DataError(f"{KEY}: cannot open {path}: {exc.strerror or exc}") from None
    return io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline=None)


def _is_header(fields: list[str]) -> bool:
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def _bad(path: Path, line: int, what: str, fix: str) -> DataError:
    return DataError(f"{path}, line {line}: {what}; {fix}")


def _first_lines(path: Path):
    """(dimension, header line count) from the first lines, with clear errors for the usual wrong files."""
    with _open(path) as f:
        try:
            first = f.readline()
            second = f.readline() if first else ""
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as exc:
            raise DataError(
                f"{KEY}: {path} is not a UTF-8 text file of word vectors ({type(exc).__name__}); "
                "a binary word2vec file (.bin) must be converted to the text format first, e.g. with "
                "gensim: KeyedVectors.load_word2vec_format(p, binary=True).save_word2vec_format(out)"
            ) from None
    if not first.strip():
        raise _bad(path, 1, "the file is empty", "give a word-vectors text file (one word and its numbers per line)")
    fields = first.split()
    if _is_header(fields):
        if not second.strip():
            raise _bad(path, 2, "no vectors after the header line", "give a file that holds word vectors")
        dim, line, header = int(fields[1]), second.rstrip("\n").rstrip(" ").split(" "), 1
        if len(line) - 1 != dim:
            raise _bad(
                path,
                2,
                f"the header says {dim} dimensions, this line has {len(line) - 1} numbers",
                "fix the header or the file",
            )
        return dim, header
    dim = len(first.rstrip("\n").rstrip(" ").split(" ")) - 1
    if dim < 1:
        raise _bad(
            path,
            1,
            "expected a word followed by its numbers, found a single field",
            "give a word-vectors text file in the word2vec, GloVe or fastText text format",
        )
    return dim, 0


def check_header(path: str | os.PathLike, embedding_dim: int) -> int:
    """The file's dimension; a DataError when it is unreadable or differs from ``model.embedding_dim``."""
    p = Path(path)
    dim, header = _first_lines(p)
    if dim != embedding_dim:
        raise _bad(
            p,
            1 + header,
            f"the vectors have {dim} dimensions, expected model.embedding_dim = {embedding_dim}",
            f"set model.embedding_dim: {dim} (or --set model.embedding_dim={dim})",
        )
    return dim


def read_vectors(path: str | os.PathLike, tokens: list[str], dim: int, seed: int = 0) -> Vectors:
    """The initial embedding table for ``tokens`` (row 0 padding, row 1 out-of-vocabulary) from the file.

    Raises DataError naming the line of a malformed vector (wrong count of numbers, a value that is not a
    finite number) or when no vocabulary word is in the file.
    """
    p = Path(path)
    _, header = _first_lines(p)
    index = {tok: i for i, tok in enumerate(tokens) if i > 1}
    matrix = np.zeros((len(tokens), dim), dtype=np.float32)
    have = np.zeros(len(tokens), dtype=np.int8)  # 0 none, 1 from a lowercased file word, 2 exact
    file_words = 0
    lineno = header
    with _open(p) as f:
        try:
            for lineno, line in enumerate(f, start=1):
                if lineno <= header or not line.strip():
                    continue  # the header, or a blank line (often the last one)
                file_words += 1
                found = _vector(p, lineno, line, dim, index, have)
                if found is not None:
                    matrix[found[0]], have[found[0]] = found[1], found[2]
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{KEY}: {p} is not valid UTF-8 after line {lineno} ({exc.reason}); re-encode it as UTF-8"
            ) from None
    return _complete(p, matrix, have, file_words, seed)


def _vector(
    p: Path, lineno: int, line: str, dim: int, index: dict[str, int], have: np.ndarray
) -> tuple[int, np.ndarray, int] | None:
    """(row, vector, 2 for an exact match or 1 for a lowercased one) of a line, or None when it is not needed."""
    word, _, rest = line.partition(" ")
    if not rest.strip():
        raise _bad(p, lineno, f"expected a word and {dim} numbers, found one field", "remove the line or fix the file")
    i, kind = index.get(word), 2
    if i is None:
        i, kind = index.get(word.lower()), 1
        if i is None or have[i]:
            return None
    elif have[i] == 2:
        return None  # the first exact vector of a word wins
    values = rest.split()
    if len(values) != dim:
        if len(line.split()) > dim + 1:  # a GloVe "word" with spaces in it: the last dim fields are numbers
            return None
        raise _bad(
            p,
            lineno,
            f"expected {dim} numbers after {word!r}, found {len(values)}",
            "every line must have as many numbers as the first one",
        )
    try:
        vec = np.asarray(values, dtype=np.float32)
    except ValueError:
        for value in values:  # name the first value that is not a number
            try:
                float(value)
            except ValueError:
                raise _bad(
                    p, lineno, f"{value!r} in the vector of {word!r} is not a number", "fix the line or remove it"
                ) from None
        raise
    if not np.isfinite(vec).all():
        raise _bad(
            p,
            lineno,
            f"the vector of {word!r} holds a value that is not finite (nan or inf)",
            "fix the line or remove it",
        )
    return i, vec, kind


def _complete(p: Path, matrix: np.ndarray, have: np.ndarray, file_words: int, seed: int) -> Vectors:
    """Draw the rows the file lacks on the found vectors' scale (the padding row stays zero)."""
    words = max(len(matrix) - 2, 0)
    found = int((have > 0).sum())
    if not found:
        raise DataError(
            f"{KEY}: none of the {words:,} vocabulary words is in {p} ({file_words:,} words read); "
            "check that the vectors are for the language of the texts and that model.standardize "
            "produces the same kind of tokens"
        )
    known = matrix[have > 0]
    rng = np.random.default_rng(seed)
    missing = np.flatnonzero(have == 0)
    missing = missing[missing > 0]
    matrix[missing] = rng.normal(
        known.mean(axis=0), known.std(axis=0) + 1e-6, size=(len(missing), matrix.shape[1])
    ).astype(np.float32)
    return Vectors(matrix=matrix, found=found, exact=int((have == 2).sum()), words=words, file_words=file_words)
