"""A trial's settings: one value per searched key, asked of Optuna's trial, and the config they make.

The search space itself (``tune.space``: its YAML shape, its default, its validation) is config, in
:mod:`textclf.config.space`. Here each entry becomes ``suggest_categorical``, ``suggest_int`` or
``suggest_float`` under its own key (``model.units``), so the study's parameters read as config keys.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..config.space import SpaceEntry


def suggest(trial: Any, space: tuple[SpaceEntry, ...]) -> dict[str, Any]:
    """A value for each key of ``space``, from an Optuna ``trial``."""
    params: dict[str, Any] = {}
    for entry in space:
        if not entry.is_range:
            params[entry.key] = trial.suggest_categorical(entry.key, list(entry.choices))
        elif isinstance(entry.low, int) and isinstance(entry.high, int):
            params[entry.key] = trial.suggest_int(entry.key, entry.low, entry.high, step=entry.step or 1, log=entry.log)
        else:
            params[entry.key] = trial.suggest_float(entry.key, entry.low, entry.high, step=entry.step, log=entry.log)
    return params


def with_params(cfg: Config, params: dict[str, Any]) -> Config:
    """``cfg`` with each ``section.key`` of ``params`` set (validated like any config)."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = value
    return cfg.replace(**sections)


def trial_config(cfg: Config, params: dict[str, Any]) -> Config:
    """The config a trial trains with: ``params`` set, no test file (never read during the search), no step bar."""
    return with_params(cfg, params).replace(data={"test": None}, train={"verbose": False})


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_params(params: dict[str, Any]) -> str:
    """``units=64 learning_rate=0.003 rnn=gru``: each key without its section."""
    return " ".join(f"{key.split('.', 1)[1]}={format_value(value)}" for key, value in params.items())


def distribution(entry: SpaceEntry) -> Any:
    """The Optuna distribution that :func:`suggest` samples ``entry`` from."""
    from optuna import distributions

    if not entry.is_range:
        return distributions.CategoricalDistribution(list(entry.choices))
    if isinstance(entry.low, int) and isinstance(entry.high, int):
        return distributions.IntDistribution(entry.low, entry.high, log=entry.log, step=int(entry.step or 1))
    return distributions.FloatDistribution(entry.low, entry.high, log=entry.log, step=entry.step)


def changed_entries(trials: list, space: tuple[SpaceEntry, ...]) -> list[str]:
    """Entries that a study going on cannot take: Optuna keeps each parameter's kind, scale and list of choices
    (a range may narrow or widen, a key may come or go)."""
    from optuna.distributions import CategoricalDistribution

    seen: dict[str, Any] = {}
    for trial in trials:
        for key, dist in trial.distributions.items():
            seen.setdefault(key, dist)
    problems = []
    for entry in space:
        old, new = seen.get(entry.key), distribution(entry)
        if old is None:
            continue
        same_kind = type(old) is type(new) and getattr(old, "log", False) == getattr(new, "log", False)
        if same_kind and (not isinstance(old, CategoricalDistribution) or tuple(old.choices) == tuple(new.choices)):
            continue
        problems.append(
            f"tune.space.{entry.key}: received {_shown(new)}, but the study searched it as {_shown(old)}; a study "
            "that goes on keeps each key's list of choices, or its range on the same scale (narrower or wider): "
            "keep it so, leave the key out (null), or start a new study"
        )
    return problems


def _shown(dist: Any) -> str:
    if hasattr(dist, "choices"):
        return "the choices [" + ", ".join(format_value(c) for c in dist.choices) + "]"
    scale = " on a log scale" if dist.log else ""
    return f"a range from {format_value(dist.low)} to {format_value(dist.high)}{scale}"
