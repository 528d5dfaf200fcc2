"""textclf: a labeled table of texts in, a trained, trustworthy Keras LSTM classifier out.

The library is the product; the ``textclf`` command is a thin layer over it::

    import textclf

    cfg = textclf.load_config("configs/demo.yaml", ["train.epochs=3"])
    run = textclf.train(cfg)                          # -> Path of the run directory
    clf = textclf.Classifier.load(run)                # verified, ready to use from many threads
    clf.predict(["my parcel never arrived"])          # -> ['shipping']
    clf.predict_proba(["my parcel never arrived"])    # one column per class, in clf.classes order
    clf.evaluate(texts, labels)["accuracy"]

    textclf.predict_file(run, "data/test.csv", "preds.csv")   # what `textclf predict` does
    textclf.evaluate_file(run, "data/test.csv")               # what `textclf eval` does
    textclf.tune(cfg, "studies/demo", budget=1200)            # what `textclf tune` does (the tune extra)

TensorFlow is imported only when a function that needs it is called, so ``import textclf`` and
``textclf --help`` stay fast. See docs/architecture.md for the map of the sub-packages.
"""

from __future__ import annotations

from .config import Config, load_config
from .errors import ConfigError, DataError, ModelRejected, TextclfError, UsageError

__version__ = "0.1.0"
__all__ = [
    "Classifier",
    "Config",
    "load_config",
    "train",
    "predict_file",
    "evaluate_file",
    "export",
    "tune",
    "TextclfError",
    "ConfigError",
    "DataError",
    "ModelRejected",
    "UsageError",
    "__version__",
]

_LAZY = {
    "Classifier": "use.classifier",
    "train": "training.train",
    "predict_file": "use.prediction",
    "evaluate_file": "use.evaluation",
    "export": "use.export",
    "tune": "tuning.study",  # the tune extra (Optuna)
}


def __getattr__(name: str):
    """Import the heavier parts on first use (they pull in pandas and, when called, TensorFlow)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'textclf' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
