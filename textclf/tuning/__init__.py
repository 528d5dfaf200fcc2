"""``textclf tune``: hyperparameter search with Optuna (the ``tune`` extra), each trial a real training run.

* :mod:`.study`: :func:`tune`, the search: the study, its storage, the trials, the results;
* :mod:`.trial`: one trial, and the ``on_epoch`` hook that feeds the pruner and keeps the budget;
* :mod:`.space`: a trial's settings, sampled from ``tune.space`` (whose rules are in :mod:`textclf.config.space`);
* :mod:`.checks`: what is checked once, before the first trial; :mod:`.budget`: the time budget;
* :mod:`.folder`: the study folder, its lock and the storage; :mod:`.results` and :mod:`.report`: what it writes.

Optuna is imported only inside the functions that use it, so importing this package needs no Optuna.
"""

from __future__ import annotations

from .budget import parse_budget
from .checks import check_optuna
from .study import TuneResult, tune

__all__ = ["tune", "TuneResult", "parse_budget", "check_optuna"]
