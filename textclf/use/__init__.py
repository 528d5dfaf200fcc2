"""Using a trained run: the :class:`~.classifier.Classifier` and everything built on it.

* :mod:`.classifier`: the one object for a trained run (load, predict, evaluate, explain);
* :mod:`.decisions`: thresholds and decisions (the only place probabilities become labels);
* :mod:`.metrics` and :mod:`.thresholds`: metrics from scikit-learn, and threshold tuning on validation;
* :mod:`.prediction`, :mod:`.evaluation`, :mod:`.explain`, :mod:`.export`, :mod:`.plots`: the files that
  ``predict``, ``eval``, ``explain`` and ``export`` write.
"""
