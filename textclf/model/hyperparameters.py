"""The hyperparameters a run's network is rebuilt from (``model.json``), without TensorFlow.

:class:`Hyperparameters` is what :func:`textclf.model.network.build_model` builds from; it is plain data, so
``textclf show`` and the checks of a run directory read it without importing TensorFlow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Hyperparameters:
    """Everything needed to rebuild the network, saved as ``model.json`` in a run."""

    task: str
    num_outputs: int
    vocab_size: int
    ngram_vocab_size: int  # 0 = no n-gram branch
    embedding_dim: int
    rnn: str
    units: int
    layers: int
    bidirectional: bool
    pooling: str
    embedding_dropout: float
    dropout: float

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> Hyperparameters:
        """Hyperparameters read from ``model.json``; a ValueError names the first value out of its range."""
        if not isinstance(obj, dict):
            raise ValueError(f"expected a mapping, found {type(obj).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = set(obj) - names
        missing = names - set(obj)
        if unknown or missing:
            raise ValueError(f"unexpected keys {sorted(unknown)}, missing keys {sorted(missing)}")
        for key, rule in _RULES.items():
            problem = rule(obj[key])
            if problem:
                raise ValueError(f"{key} is {obj[key]!r}, expected {problem}")
        return cls(**obj)

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every weight the network has, in ``weights.npz``'s keys (``/`` as ``:``).

        Equal to what :func:`textclf.model.network.build_model` creates (a test keeps them equal), so that the
        weights file is checked against ``model.json`` before anything is built.
        """
        shapes = {"embedding:embeddings": (self.vocab_size, self.embedding_dim)}
        gates = 4 if self.rnn == "lstm" else 3
        width = self.embedding_dim
        for i in range(self.layers):
            layer = f"{self.rnn}_{i}"
            cells = [f"bi_{layer}:forward_{layer}", f"bi_{layer}:backward_{layer}"] if self.bidirectional else [layer]
            for cell in cells:
                prefix = f"{cell}:{self.rnn}_cell"
                shapes[f"{prefix}:kernel"] = (width, gates * self.units)
                shapes[f"{prefix}:recurrent_kernel"] = (self.units, gates * self.units)
                shapes[f"{prefix}:bias"] = (gates * self.units,) if self.rnn == "lstm" else (2, gates * self.units)
            width = self.units * len(cells)
        if self.ngram_vocab_size:
            shapes["ngram_embedding:embeddings"] = (self.ngram_vocab_size, self.num_outputs)
        shapes["logits:kernel"] = (width, self.num_outputs)
        shapes["logits:bias"] = (self.num_outputs,)
        return shapes


def _int_rule(lo: int, hi: int):
    def rule(value) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        return None if ok else f"an integer from {lo:,} to {hi:,}"

    return rule


def _choice_rule(*choices):
    return lambda value: None if value in choices else "one of " + ", ".join(map(str, choices))


def _rate(value) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < 1.0
    return None if ok else "a dropout rate from 0 to below 1"


# what textclf itself can build; anything else in model.json was not written by textclf
_RULES = {
    "task": _choice_rule("binary", "multiclass", "multilabel"),
    "num_outputs": _int_rule(1, 1 << 20),
    "vocab_size": _int_rule(3, 1 << 24),
    "ngram_vocab_size": _int_rule(0, 1 << 26),
    "embedding_dim": _int_rule(1, 1 << 14),
    "rnn": _choice_rule("lstm", "gru"),
    "units": _int_rule(1, 1 << 14),
    "layers": _int_rule(1, 8),
    "bidirectional": lambda value: None if isinstance(value, bool) else "true or false",
    "pooling": _choice_rule("max", "mean", "last"),
    "embedding_dropout": _rate,
    "dropout": _rate,
}


def parameter_count(hp: dict) -> int | None:
    """The number of weights of the model ``model.json`` describes, computed from its hyperparameters.

    Embedding ``V*E``; per LSTM direction ``4*(d*u + u*u + u)``, per GRU direction (``reset_after``)
    ``3*(d*u + u*u + 2u)``; the output layer ``h*C + C``; the n-gram branch ``N*C``. Equal to Keras's
    ``model.count_params()`` for :func:`textclf.model.network.build_model`, without importing TensorFlow.
    None when the hyperparameters are not in textclf's format.
    """
    try:
        v, e, u, n_layers, c = (int(hp[k]) for k in ("vocab_size", "embedding_dim", "units", "layers", "num_outputs"))
        ngram = int(hp.get("ngram_vocab_size") or 0)
        rnn, bi = hp["rnn"], bool(hp["bidirectional"])
    except (KeyError, TypeError, ValueError):
        return None
    if rnn not in ("lstm", "gru") or min(v, e, u, n_layers, c) < 1:
        return None
    directions = 2 if bi else 1
    total, width = v * e, e
    for _ in range(n_layers):
        per = 4 * (width * u + u * u + u) if rnn == "lstm" else 3 * (width * u + u * u + 2 * u)
        total += directions * per
        width = directions * u
    return total + width * c + c + ngram * c
