"""Training a classifier, as named stages that each fit on a screen and can be tested on their own.

* :mod:`.inputs`: read and check the data (no TensorFlow), fit the vocabulary, encode;
* :mod:`.setup`: devices and distribution strategy, the model, the optimizer, the loss;
* :mod:`.state` and :mod:`.best`: the loop's state (the checkpoint's schema) and the best-epoch tracker;
* :mod:`.loop`: the epoch loop, a generator of one :class:`~.loop.EpochResult` per epoch;
* :mod:`.stream`: the batches of an epoch when the training data is streamed from disk;
* :mod:`.finish`: final metrics, thresholds, plots, saving, the reload check;
* :mod:`.train`: :func:`train`, which runs them and owns the run directory, resuming and signals.
"""

from __future__ import annotations

from .train import train

__all__ = ["train"]
