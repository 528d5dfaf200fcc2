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


def __getattr__(name: str):
    if name == "train":
        from .train import train

        return train
    if name == "predict":
        from .predict import predict

        return predict
    if name == "evaluate":
        from .evaluate import evaluate

        return evaluate
    raise AttributeError(f"module 'textclf' has no attribute {name!r}")
