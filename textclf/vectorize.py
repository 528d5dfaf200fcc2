"""The vocabulary and the input pipeline: texts -> token ids -> padded, length-bucketed batches.

Two Keras ``TextVectorization`` layers are adapted on the training text only: one for the word sequence
the RNN reads, and, when ``model.ngrams > 0``, one for the bag of 1..n-grams the linear branch reads.
They run here, in the input pipeline, never inside the trained graph (a ``TextVectorization`` inside a
model breaks under ``MirroredStrategy`` and is slow inside the training step).

Token ids are computed once per dataset and kept as ragged arrays; each epoch then shuffles, groups
texts of similar length (sorting within windows of many batches), pads each batch on the right to its
own longest text, and shuffles the batch order. Short texts do not pay for the longest one.

An empty or punctuation-only text would become an all-padding row, which crashes the cuDNN kernel
under a mask; such texts get the single out-of-vocabulary token instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import tensorflow as tf
import keras

PAD, OOV = 0, 1
_CONTROL = r"[\x{0}-\x{1f}\x{7f}-\x{9f}\x{2028}\x{2029}\x{feff}]"


def standardizer(mode: str):
    """A graph-friendly standardization function for ``TextVectorization``.

    Every mode first replaces control characters and Unicode line/paragraph separators with spaces, so
    that no token can hold a character that splits a line when the vocabulary is written out as text.
    """

    def standardize(x):
        x = tf.strings.regex_replace(x, _CONTROL, " ")
        if mode == "none":
            return x
        x = tf.strings.lower(x, encoding="utf-8")
        if mode == "lower_and_split_punctuation":
            x = tf.strings.regex_replace(x, r"([\p{P}\p{S}])", r" \1 ")
        elif mode == "lower_and_strip_punctuation":
            x = tf.strings.regex_replace(x, r"[\p{P}\p{S}]", " ")
        return x

    return standardize


def make_layer(mode: str, max_tokens: int | None, ngrams: int | None = None,
               vocabulary: list[str] | None = None) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` that outputs ragged int ids; with ``vocabulary`` it is ready to use."""
    return keras.layers.TextVectorization(
        max_tokens=max_tokens if vocabulary is None else None,
        standardize=standardizer(mode),
        split="whitespace",
        ngrams=ngrams if ngrams and ngrams > 1 else None,
        output_mode="int",
        ragged=True,
        vocabulary=vocabulary,
    )


@dataclass
class Vocabulary:
    """The fitted vocabularies; ``tokens[0]`` is padding, ``tokens[1]`` the out-of-vocabulary token."""

    tokens: list[str]
    ngram_tokens: list[str] | None
    standardize: str
    sequence_length: int
    ngrams: int

    @classmethod
    def fit(cls, texts: list[str], *, max_tokens: int, sequence_length: int, standardize: str, ngrams: int,
            ngram_max_tokens: int, batch_size: int = 4096) -> "Vocabulary":
        """Adapt the vocabularies on training texts (streamed through tf.data in batches)."""
        ds = tf.data.Dataset.from_tensor_slices(_as_tensor(texts)).batch(batch_size)
        layer = make_layer(standardize, max_tokens)
        layer.adapt(ds)
        tokens = [str(t) for t in layer.get_vocabulary()]
        ngram_tokens = None
        if ngrams:
            nlayer = make_layer(standardize, ngram_max_tokens, ngrams)
            nlayer.adapt(ds)
            ngram_tokens = [str(t) for t in nlayer.get_vocabulary()]
        return cls(tokens, ngram_tokens, standardize, sequence_length, ngrams)

    def to_json(self) -> dict:
        return {"tokens": self.tokens, "ngram_tokens": self.ngram_tokens, "standardize": self.standardize,
                "sequence_length": self.sequence_length, "ngrams": self.ngrams}

    @classmethod
    def from_json(cls, obj: dict) -> "Vocabulary":
        return cls(list(obj["tokens"]), obj.get("ngram_tokens"), obj["standardize"], int(obj["sequence_length"]),
                   int(obj.get("ngrams") or 0))

    def encoder(self) -> "Encoder":
        return Encoder(self)


def _as_tensor(texts) -> tf.Tensor:
    if isinstance(texts, tf.Tensor):
        return texts
    return tf.constant(np.asarray(list(texts), dtype=object), dtype=tf.string)


@dataclass
class Encoded:
    """Ragged token ids of many texts: ``ids[offsets[i]:offsets[i+1]]`` belongs to text i."""

    values: np.ndarray
    offsets: np.ndarray
    ngram_values: np.ndarray | None = None
    ngram_offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def subset(self, index: np.ndarray) -> "Encoded":
        """The rows in ``index``, as a new ragged set."""
        values, offsets = _take(self.values, self.offsets, index)
        out = Encoded(values, offsets)
        if self.ngram_values is not None:
            out.ngram_values, out.ngram_offsets = _take(self.ngram_values, self.ngram_offsets, index)
        return out

    def batch(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """The padded model inputs for the rows in ``index``."""
        out = {"tokens": _pad(self.values, self.offsets, index)}
        if self.ngram_values is not None:
            out["ngrams"] = _pad(self.ngram_values, self.ngram_offsets, index)
        return out


def _take(values: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    parts = [values[offsets[i]:offsets[i + 1]] for i in index]
    lengths = np.asarray([len(p) for p in parts], dtype=np.int64)
    flat = np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)
    return flat, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _pad(values: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> np.ndarray:
    starts, ends = offsets[index], offsets[index + 1]
    lengths = ends - starts
    out = np.zeros((len(index), max(int(lengths.max(initial=1)), 1)), dtype=np.int32)
    for row, (s, n) in enumerate(zip(starts, lengths)):
        out[row, :n] = values[s:s + n]
    return out


class Encoder:
    """Turns texts into token ids with a fitted :class:`Vocabulary`."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.layer = make_layer(vocab.standardize, None, vocabulary=vocab.tokens)
        self.ngram_layer = (make_layer(vocab.standardize, None, vocab.ngrams, vocabulary=vocab.ngram_tokens)
                            if vocab.ngram_tokens else None)

    def _ragged(self, layer, texts: tf.Tensor, limit: int) -> tuple[np.ndarray, np.ndarray]:
        ids = layer(texts)[:, :limit]
        lengths = ids.row_lengths().numpy()
        values = ids.flat_values.numpy().astype(np.int32)
        empty = np.flatnonzero(lengths == 0)
        if len(empty):  # never feed a fully masked row: an empty text becomes one OOV token
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            values = np.insert(values, offsets[empty], OOV).astype(np.int32)
            lengths[empty] = 1
        return values, lengths

    def encode(self, texts, batch_size: int = 4096) -> Encoded:
        """Token ids (and n-gram ids) of ``texts``, truncated to the sequence length."""
        parts, lens, nparts, nlens = [], [], [], []
        texts = list(texts) if not isinstance(texts, list) else texts
        for start in range(0, max(len(texts), 1), batch_size):
            chunk = _as_tensor(texts[start:start + batch_size])
            if chunk.shape[0] == 0:
                break
            v, n = self._ragged(self.layer, chunk, self.vocab.sequence_length)
            parts.append(v)
            lens.append(n)
            if self.ngram_layer is not None:
                # unigrams and n-grams of the words the RNN sees (and as many again for the n-grams)
                v, n = self._ragged(self.ngram_layer, chunk, self.vocab.sequence_length * self.vocab.ngrams)
                nparts.append(v)
                nlens.append(n)
        values = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        lengths = np.concatenate(lens) if lens else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        enc = Encoded(values, offsets)
        if self.ngram_layer is not None:
            nl = np.concatenate(nlens) if nlens else np.zeros(0, np.int64)
            enc.ngram_values = np.concatenate(nparts) if nparts else np.zeros(0, np.int32)
            enc.ngram_offsets = np.concatenate([[0], np.cumsum(nl)]).astype(np.int64)
        return enc


def epoch_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None,
                  window: int = 50) -> list[np.ndarray]:
    """Row indices of each batch of one epoch.

    With ``rng``: shuffle, sort by length within windows of ``window`` batches, and shuffle the batch order.
    Without: sort all rows by length (for prediction, where the order is restored afterwards).
    """
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    perm = rng.permutation(n)
    span = batch_size * window
    parts = []
    for start in range(0, n, span):
        w = perm[start:start + span]
        parts.append(w[np.argsort(lengths[w], kind="stable")])
    order = np.concatenate(parts) if parts else perm
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    rng.shuffle(batches)
    return batches


def iterate(encoded: Encoded, targets: np.ndarray | None, batches: list[np.ndarray]
            ) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray | None, np.ndarray]]:
    """Yield (inputs, targets, row indices) for each batch."""
    for index in batches:
        yield encoded.batch(index), (targets[index] if targets is not None else None), index
