"""textclf: a labeled table of texts in, a trained, trustworthy Keras LSTM classifier out.

The library is the product; the ``textclf`` command is a thin layer over it::

    from textclf import load_config, train, predict, evaluate

    cfg = load_config("configs/demo.yaml", ["train.epochs=3"])
    run = train(cfg)                                   # -> Path of the run directory
    predict(run, "data/test.csv", "preds.csv")         # -> PredictSummary
    metrics = evaluate(run, "data/test.csv")           # -> dict

TensorFlow is imported only when a function that needs it is called, so ``import textclf`` and
``textclf --help`` stay fast.
"""

from __future__ import annotations

from .config import Config, load_config
from .errors import TextclfError

__version__ = "0.1.0"
__all__ = ["Config", "load_config", "train", "predict", "evaluate", "TextclfError", "__version__"]


_LAZY = {"train": "training", "predict": "prediction", "evaluate": "evaluation"}


def __getattr__(name: str):
    """Import the pipeline functions on first use (they pull in pandas and, when called, TensorFlow)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'textclf' has no attribute {name!r}")
    import importlib

    fn = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = fn
    return fn
