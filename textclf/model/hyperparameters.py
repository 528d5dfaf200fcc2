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
        names = {f.name for f in fields(cls)}
        unknown = set(obj) - names
        missing = names - set(obj)
        if unknown or missing:
            raise ValueError(f"unexpected keys {sorted(unknown)}, missing keys {sorted(missing)}")
        return cls(**obj)


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
