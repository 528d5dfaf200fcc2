"""The vocabulary and the input pipeline: texts -> token ids -> padded, length-bucketed batches.

Two Keras ``TextVectorization`` layers are adapted on the training text only: one for the word sequence
the RNN reads, and, when ``model.ngrams > 0``, one for the bag of 1..n-grams the linear branch reads,
weighted by TF-IDF (sublinear term frequency, smoothed IDF from the training texts, L2-normalized).
They run here, in the input pipeline, never inside the trained graph (a ``TextVectorization`` inside a
model breaks under ``MirroredStrategy`` and is slow inside the training step).

Token ids are computed once per dataset and kept as ragged arrays; each epoch then shuffles, groups
texts of similar length (sorting within windows of many batches), pads each batch on the right to its
own longest text, and shuffles the batch order. Short texts do not pay for the longest one.

An empty or punctuation-only text would become an all-padding row, which crashes the cuDNN kernel
under a mask; such texts get the single out-of-vocabulary token instead.

TensorFlow is imported by the functions that run it, so that a run's vocabulary is read and checked
(:meth:`Vocabulary.from_json`) without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..config import STANDARDIZE as STANDARDIZE_MODES

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf

PAD, OOV = 0, 1
OOV_TOKEN = "[UNK]"  # TextVectorization's out-of-vocabulary token, id 1
_CONTROL = r"[\x{0}-\x{1f}\x{7f}-\x{9f}\x{2028}\x{2029}\x{feff}]"


def standardizer(mode: str):
    """A graph-friendly standardization function for ``TextVectorization``.

    Every mode first replaces control characters and Unicode line/paragraph separators with spaces, so
    that no token can hold a character that splits a line when the vocabulary is written out as text.
    """

    import tensorflow as tf

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


def make_layer(
    mode: str, max_tokens: int | None, ngrams: int | None = None, vocabulary: list[str] | None = None
) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` that outputs ragged int ids; with ``vocabulary`` it is ready to use."""
    import keras

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
    """The fitted vocabularies; ``tokens[0]`` is padding, ``tokens[1]`` the out-of-vocabulary token.

    ``ngram_idf`` holds the inverse document frequency of each n-gram on the training texts (scikit-learn's
    smoothed form, ``ln((1 + N) / (1 + df)) + 1``), used to weight the n-gram bag.
    """

    tokens: list[str]
    ngram_tokens: list[str] | None
    standardize: str
    sequence_length: int
    ngrams: int
    ngram_idf: list[float] | None = None
    ngram_length: int = 0
    ngram_standardize: str | None = None  # None: as ``standardize`` (runs made before the key existed)

    @property
    def ngram_mode(self) -> str:
        """The standardization of the n-gram branch."""
        return self.ngram_standardize or self.standardize

    @classmethod
    def fit(
        cls,
        texts: list[str],
        *,
        max_tokens: int,
        sequence_length: int,
        standardize: str,
        ngrams: int,
        ngram_max_tokens: int,
        ngram_length: int = 0,
        ngram_standardize: str | None = None,
        batch_size: int = 4096,
    ) -> Vocabulary:
        """Adapt the vocabularies on training texts (streamed through tf.data in batches)."""
        return cls.fit_encode(
            texts,
            max_tokens=max_tokens,
            sequence_length=sequence_length,
            standardize=standardize,
            ngrams=ngrams,
            ngram_max_tokens=ngram_max_tokens,
            ngram_length=ngram_length,
            ngram_standardize=ngram_standardize,
            batch_size=batch_size,
            encode=False,
        )[0]

    @classmethod
    def fit_encode(
        cls,
        texts: list[str],
        *,
        max_tokens: int,
        sequence_length: int,
        standardize: str,
        ngrams: int,
        ngram_max_tokens: int,
        ngram_length: int = 0,
        ngram_standardize: str | None = None,
        batch_size: int = 4096,
        encode: bool = True,
    ) -> tuple[Vocabulary, Encoded | None]:
        """Adapt the vocabularies and encode the same texts, reusing the n-gram ids the IDF was counted from."""
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices(_as_tensor(texts)).batch(batch_size)
        layer = make_layer(standardize, max_tokens)
        layer.adapt(ds)
        tokens = [str(t) for t in layer.get_vocabulary()]
        vocab = cls(tokens, None, standardize, sequence_length, ngrams, ngram_standardize=ngram_standardize)
        ngram_batches: list = []
        if ngrams:
            nlayer = make_layer(vocab.ngram_mode, ngram_max_tokens, ngrams)
            nlayer.adapt(ds)
            vocab.ngram_tokens = [str(t) for t in nlayer.get_vocabulary()]
            vocab.ngram_length = ngram_length or sequence_length * 8
            df = np.zeros(len(vocab.ngram_tokens), dtype=np.int64)
            encoder = Encoder(vocab, words=False)
            for start in range(0, len(texts), batch_size):
                values, lengths = encoder.ngram_ids(_as_tensor(texts[start : start + batch_size]))
                if encode:
                    ngram_batches.append((values, lengths))
                doc = np.repeat(np.arange(len(lengths)), lengths)
                pairs = np.unique(doc * len(df) + values)
                df += np.bincount(pairs % len(df), minlength=len(df))
            idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
            idf[:2] = 0.0  # padding and out-of-vocabulary n-grams carry no weight
            vocab.ngram_idf = [round(float(x), 6) for x in idf]
        if not encode:
            return vocab, None
        return vocab, vocab.encoder().encode(texts, batch_size, ngram_batches=ngram_batches or None)

    def to_json(self) -> dict:
        return {
            "tokens": self.tokens,
            "ngram_tokens": self.ngram_tokens,
            "ngram_idf": self.ngram_idf,
            "standardize": self.standardize,
            "sequence_length": self.sequence_length,
            "ngrams": self.ngrams,
            "ngram_length": self.ngram_length,
            "ngram_standardize": self.ngram_mode,
        }

    @classmethod
    def from_json(cls, obj: dict) -> Vocabulary:
        """A vocabulary read from ``vocab.json``; a ValueError names the first thing textclf never writes."""
        vocab = cls(
            list(obj["tokens"]),
            obj.get("ngram_tokens"),
            obj["standardize"],
            int(obj["sequence_length"]),
            int(obj.get("ngrams") or 0),
            obj.get("ngram_idf"),
            int(obj.get("ngram_length") or 0),
            obj.get("ngram_standardize"),
        )
        problem = vocab._problem()
        if problem:
            raise ValueError(problem)
        return vocab

    def _problem(self) -> str | None:
        """What is wrong with a vocabulary read from a file (the layers could not be built, or would give other
        ids than training did); None when it is as textclf writes it."""
        for key, mode in (("standardize", self.standardize), ("ngram_standardize", self.ngram_mode)):
            if mode not in STANDARDIZE_MODES:
                return f"unknown {key} {mode!r} (expected one of {', '.join(STANDARDIZE_MODES)})"
        if not 1 <= self.sequence_length <= 1 << 20 or not 0 <= self.ngrams <= 3 or self.ngram_length > 1 << 24:
            return "sequence_length, ngrams or ngram_length out of range"
        for name, tokens in (("tokens", self.tokens), ("ngram_tokens", self.ngram_tokens)):
            if tokens is None:
                continue
            if not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)) or tokens[:2] != [
                "",
                OOV_TOKEN,
            ]:
                return f"{name} is not a list of strings that starts with the padding and out-of-vocabulary tokens"
            if len(set(tokens)) != len(tokens):
                return f"{name} holds a token twice"
        if self.ngram_tokens is not None:
            idf = self.ngram_idf
            if not isinstance(idf, list) or len(idf) != len(self.ngram_tokens):
                return "ngram_idf does not match ngram_tokens"
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x < 1e6 for x in idf):
                return "ngram_idf holds a value that is not a finite, non-negative number"
        return None

    def encoder(self) -> Encoder:
        return Encoder(self)


def _as_tensor(texts) -> tf.Tensor:
    import tensorflow as tf

    if isinstance(texts, tf.Tensor):
        return texts
    return tf.constant(np.asarray(list(texts), dtype=object), dtype=tf.string)


@dataclass
class Encoded:
    """Ragged model inputs of many texts: ``values[offsets[i]:offsets[i+1]]`` belongs to text i.

    ``values`` are word ids in text order (for the RNN). ``ngram_values``/``ngram_weights`` are the distinct
    n-gram ids of each text with their L2-normalized TF-IDF weights (for the linear branch).
    """

    values: np.ndarray
    offsets: np.ndarray
    ngram_values: np.ndarray | None = None
    ngram_weights: np.ndarray | None = None
    ngram_offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, index: np.ndarray) -> Encoded:
        """The rows in ``index``, in that order, as a new (compact) Encoded set."""
        index = np.asarray(index, dtype=np.int64)

        def gather(values, offsets):
            starts, lengths = offsets[index], offsets[index + 1] - offsets[index]
            flat = np.repeat(starts - _offsets(lengths)[:-1], lengths) + np.arange(lengths.sum())
            return values[flat], _offsets(lengths)

        values, offsets = gather(self.values, self.offsets)
        out = Encoded(values, offsets)
        if self.ngram_values is not None:
            out.ngram_values, out.ngram_offsets = gather(self.ngram_values, self.ngram_offsets)
            out.ngram_weights, _ = gather(self.ngram_weights, self.ngram_offsets)
        return out

    @staticmethod
    def concat(parts: list[Encoded]) -> Encoded:
        """The rows of several Encoded sets, one after another."""
        out = Encoded(np.concatenate([p.values for p in parts]), _offsets(np.concatenate([p.lengths for p in parts])))
        if parts[0].ngram_values is not None:
            out.ngram_values = np.concatenate([p.ngram_values for p in parts])
            out.ngram_weights = np.concatenate([p.ngram_weights for p in parts])
            out.ngram_offsets = _offsets(np.concatenate([np.diff(p.ngram_offsets) for p in parts]))
        return out

    def batch(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """The padded model inputs for the rows in ``index``."""
        out = {"tokens": _pad(self.values, self.offsets, index)}
        if self.ngram_values is not None:
            out["ngrams"] = _pad(self.ngram_values, self.ngram_offsets, index)
            out["ngram_weights"] = _pad(self.ngram_weights, self.ngram_offsets, index)
        return out


def _pad(values: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> np.ndarray:
    starts, ends = offsets[index], offsets[index + 1]
    lengths = ends - starts
    out = np.zeros((len(index), max(int(lengths.max(initial=1)), 1)), dtype=values.dtype)
    for row, (s, n) in enumerate(zip(starts, lengths)):
        out[row, :n] = values[s : s + n]
    return out


class Encoder:
    """Turns texts into model inputs with a fitted :class:`Vocabulary`."""

    def __init__(self, vocab: Vocabulary, words: bool = True):
        self.vocab = vocab
        self.layer = make_layer(vocab.standardize, None, vocabulary=vocab.tokens) if words else None
        self.ngram_layer = (
            make_layer(vocab.ngram_mode, None, vocab.ngrams, vocabulary=vocab.ngram_tokens)
            if vocab.ngram_tokens
            else None
        )
        self.idf = np.asarray(vocab.ngram_idf, dtype=np.float32) if vocab.ngram_idf is not None else None

    @staticmethod
    def _ragged(layer, texts: tf.Tensor, limit: int) -> tuple[np.ndarray, np.ndarray]:
        ids = layer(texts)[:, :limit]
        return ids.flat_values.numpy().astype(np.int32), ids.row_lengths().numpy()

    def word_ids(self, texts: tf.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Word ids cut to the sequence length; an empty text becomes one OOV token (never an all-padding row)."""
        values, lengths = self._ragged(self.layer, texts, self.vocab.sequence_length)
        empty = np.flatnonzero(lengths == 0)
        if len(empty):
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            values = np.insert(values, offsets[empty], OOV).astype(np.int32)
            lengths[empty] = 1
        return values, lengths

    def ngram_ids(self, texts: tf.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The 1..n-gram ids of each text (in order, with repeats), cut to ``ngram_length``."""
        return self._ragged(self.ngram_layer, texts, self.vocab.ngram_length)

    def ngram_bags(self, texts: tf.Tensor, ids: tuple | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct n-gram ids per text, their L2-normalized sublinear TF-IDF weights, and the lengths.

        ``ids``: the texts' ``ngram_ids`` when already computed.
        """
        values, lengths = ids if ids is not None else self.ngram_ids(texts)
        n, size = len(lengths), len(self.idf)
        doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
        keys, counts = np.unique(doc * size + values, return_counts=True)
        ids = (keys % size).astype(np.int32)
        rows = keys // size
        weights = ((1.0 + np.log(counts)) * self.idf[ids]).astype(np.float32)
        norms = np.sqrt(np.bincount(rows, weights=weights.astype(np.float64) ** 2, minlength=n))
        weights /= np.maximum(norms[rows], 1e-12).astype(np.float32)
        bag_lengths = np.bincount(rows, minlength=n)
        empty = np.flatnonzero(bag_lengths == 0)
        if len(empty):  # keep one (zero-weight) entry per text so that no row is empty
            offsets = np.concatenate([[0], np.cumsum(bag_lengths)])
            ids = np.insert(ids, offsets[empty], OOV).astype(np.int32)
            weights = np.insert(weights, offsets[empty], 0.0).astype(np.float32)
            bag_lengths[empty] = 1
        return ids, weights, bag_lengths

    def encode(self, texts, batch_size: int = 4096, ngram_batches: list | None = None) -> Encoded:
        """Model inputs for ``texts``: word ids (and n-gram bags).

        ``ngram_batches``: the ``ngram_ids`` of each batch of ``batch_size`` texts, when already computed.
        """
        texts = list(texts) if not isinstance(texts, list) else texts
        parts, lens, nids, nws, nlens = [], [], [], [], []
        for start in range(0, len(texts), batch_size):
            chunk = _as_tensor(texts[start : start + batch_size])
            v, n = self.word_ids(chunk)
            parts.append(v)
            lens.append(n)
            if self.ngram_layer is not None:
                i, w, n = self.ngram_bags(chunk, ngram_batches[start // batch_size] if ngram_batches else None)
                nids.append(i)
                nws.append(w)
                nlens.append(n)
        values = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        lengths = np.concatenate(lens) if lens else np.zeros(0, np.int64)
        enc = Encoded(values, _offsets(lengths))
        if self.ngram_layer is not None:
            enc.ngram_values = np.concatenate(nids) if nids else np.zeros(0, np.int32)
            enc.ngram_weights = np.concatenate(nws) if nws else np.zeros(0, np.float32)
            enc.ngram_offsets = _offsets(np.concatenate(nlens) if nlens else np.zeros(0, np.int64))
        return enc


def _offsets(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def epoch_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None, window: int = 50
) -> list[np.ndarray]:
    """Row indices of each batch of one epoch.

    With ``rng``: shuffle, sort by length within windows of ``window`` batches, and shuffle the batch order.
    Without: sort all rows by length (for prediction, where the order is restored afterwards).
    """
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    perm = rng.permutation(n)
    span = batch_size * window
    parts = []
    for start in range(0, n, span):
        w = perm[start : start + span]
        parts.append(w[np.argsort(lengths[w], kind="stable")])
    order = np.concatenate(parts) if parts else perm
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    rng.shuffle(batches)
    return batches
