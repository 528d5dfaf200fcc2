"""The search space of ``textclf tune`` (the ``tune.space`` key): its YAML shape, its default, its validation.

``tune.space`` maps config keys (``section.key``) to what a trial may set them to: a list of choices
(``model.units: [32, 64, 128]``) or, for a number, a range (``train.learning_rate: {low: 1.0e-4, high: 1.0e-2,
log: true}``, with an optional ``step``). Every choice and both ends of a range are checked by the rule of the
key they set, so a range outside a key's own bounds is refused like the same value would be. With
``tune.default_space: true`` the entries change :data:`DEFAULT_SPACE` key by key (``null`` leaves a key out);
with ``false`` they are the whole space. No Optuna here: :mod:`textclf.tuning.space` samples from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import closest

SPACE_KEY = "tune.space"
RANGE_KEYS = ("low", "high", "log", "step")
SEARCHED_KINDS = ("int", "float", "bool", "choice")
NUMBER_KINDS = ("int", "float")

# keys that a trial may not change, and why (with every data.* key, and the paths and names)
_RUNS_NOT_MODELS = "it changes how training runs, not the model or its validation figure; set it in the train section"
NOT_SEARCHED = {
    "train.seed": "it also draws the validation split, and every trial must be measured on the same rows",
    "train.early_stopping_monitor": "it picks the validation figure that the search optimizes; set it in the train "
    "section",
    "train.threshold_objective": "the thresholds are tuned after training and leave the validation figure as it is",
    "train.threshold_target": "the thresholds are tuned after training and leave the validation figure as it is",
    **dict.fromkeys(
        (
            "train.checkpoint_every_steps",
            "train.mixed_precision",
            "train.device",
            "train.tensorboard",
            "train.verbose",
            "train.plots",
            "train.tracking",
        ),
        _RUNS_NOT_MODELS,
    ),  # fmt: skip
}
DATA_NOT_SEARCHED = "the data is the same in every trial, so that all are measured on the same validation rows"


@dataclass(frozen=True)
class SpaceEntry:
    """One searched key: a list of ``choices``, or a range from ``low`` to ``high`` (``log`` scale, ``step``)."""

    key: str  # section.key
    choices: tuple = ()
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def plain(self) -> list | dict:
        """The entry as it is written in YAML."""
        if not self.is_range:
            return list(self.choices)
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


DEFAULT_SPACE = (
    SpaceEntry("train.learning_rate", low=0.0003, high=0.01, log=True),
    SpaceEntry("model.units", (32, 64, 128)),
    SpaceEntry("model.embedding_dim", (64, 128, 256)),
    SpaceEntry("model.embedding_dropout", low=0.0, high=0.5),
    SpaceEntry("model.dropout", low=0.0, high=0.6),
    SpaceEntry("model.rnn", ("lstm", "gru")),
    SpaceEntry("model.bidirectional", (True, False)),
    SpaceEntry("model.sequence_length", (64, 128, 256)),
    SpaceEntry("train.batch_size", (32, 64, 128)),
    SpaceEntry("model.ngrams", (0, 1, 2, 3)),
    SpaceEntry("model.ngram_max_tokens", (100000, 500000)),
    SpaceEntry("train.ngram_learning_rate", low=0.03, high=0.3, log=True),
)


def space_mapping(entries: tuple[SpaceEntry, ...], default_space: bool) -> dict[str, Any]:
    """``tune.space`` as plain data that loads back to ``entries``: with ``default_space``, a default key that is
    not searched is written as null."""
    out: dict[str, Any] = {e.key: e.plain() for e in entries}
    if default_space:
        out.update({e.key: None for e in DEFAULT_SPACE if e.key not in out})
    return out


# A check of one value by a config key's rule: (the key's field metadata, the value's key path, the value) ->
# (the converted value, a problem or None); and the name of a key path in a message, with its line.
Check = Callable[[dict, str, Any], tuple]
Where = Callable[[str], str]


def build_space(
    value: Any, default_space: bool, config_fields: dict[str, dict], check: Check, where: Where, problems: list[str]
) -> tuple[SpaceEntry, ...]:
    """The search space ``tune.space: value`` asks for; problems are appended, each naming its key path.

    ``config_fields`` maps every ``section.key`` of the config to its field metadata (kind, choices, bounds).
    """
    if value is None:
        value = {}
    if not isinstance(value, dict):
        problems.append(
            f"{where(SPACE_KEY)}: received {value!r}, expected a mapping of config keys to search, such as "
            "model.units: [32, 64, 128]"
        )
        return ()
    chosen: dict[str, SpaceEntry | None] = {e.key: e for e in DEFAULT_SPACE} if default_space else {}
    for key, entry in value.items():
        path = f"{SPACE_KEY}.{key}"
        problem = _key_problem(str(key), config_fields)
        if problem:
            problems.append(f"{where(path)}: {problem}")
            continue
        chosen[key] = None if entry is None else _entry(key, entry, config_fields[key], check, where, problems)
    return tuple(e for e in chosen.values() if e is not None)


def _key_problem(key: str, config_fields: dict[str, dict]) -> str | None:
    """Why ``key`` cannot be searched (None when it can)."""
    if key not in config_fields:
        close = closest(key, list(config_fields))
        hint = f"did you mean {close!r}?" if close else "expected a config key such as model.units"
        return f"unknown key; {hint}"
    meta = config_fields[key]
    if key.startswith("data."):
        return f"cannot be searched: {DATA_NOT_SEARCHED}"
    if key in NOT_SEARCHED:
        return f"cannot be searched: {NOT_SEARCHED[key]}"
    if meta["kind"] not in SEARCHED_KINDS:
        return "cannot be searched: only numbers, true/false and choices can be (it is a path or a name)"
    return None


def _entry(key: str, entry: Any, meta: dict, check: Check, where: Where, problems: list[str]) -> SpaceEntry | None:
    path = f"{SPACE_KEY}.{key}"
    if isinstance(entry, list):
        return _choices(key, entry, meta, check, where, problems)
    if isinstance(entry, dict):
        if meta["kind"] not in NUMBER_KINDS:
            example = ", ".join(str(c) for c in meta["choices"]) if meta["kind"] == "choice" else "true, false"
            problems.append(f"{where(path)}: received a range, expected a list of choices such as [{example}]")
            return None
        return _range(key, entry, meta, check, where, problems)
    problems.append(
        f"{where(path)}: received {entry!r}, expected a list of choices such as [32, 64, 128] or a range such as "
        "{low: 1.0e-4, high: 1.0e-2, log: true}; null leaves the key out of the search"
    )
    return None


def _choices(key: str, items: list, meta: dict, check: Check, where: Where, problems: list[str]) -> SpaceEntry | None:
    path = f"{SPACE_KEY}.{key}"
    if not items:
        problems.append(f"{where(path)}: received an empty list, expected at least one choice")
        return None
    values, ok = [], True
    for i, item in enumerate(items):
        converted, problem = check(meta, f"{path}[{i}]", item)
        if problem:
            problems.append(problem)
            ok = False
        values.append(converted)
    if not ok:
        return None
    shown = [repr(v) for v in values]
    twice = next((values[i] for i, r in enumerate(shown) if r in shown[:i]), None)
    if len(set(shown)) < len(shown):
        problems.append(f"{where(path)}: lists {twice!r} twice; name each choice once")
        return None
    return SpaceEntry(key, tuple(values))


def _range(key: str, spec: dict, meta: dict, check: Check, where: Where, problems: list[str]) -> SpaceEntry | None:
    """A range of numbers: ``low`` and ``high`` checked by the key's own rule, ``log`` or an integer ``step``."""
    path = f"{SPACE_KEY}.{key}"
    before = len(problems)
    for name in spec:
        if name not in RANGE_KEYS:
            close = closest(str(name), RANGE_KEYS)
            hint = f"did you mean {close!r}?" if close else f"a range has {', '.join(RANGE_KEYS)}"
            problems.append(f"{where(f'{path}.{name}')}: unknown key; {hint}")
    missing = [name for name in ("low", "high") if name not in spec]
    if missing:
        problems.append(f"{where(path)}: the range has no {' and no '.join(missing)}; write {{low: L, high: H}}")
        return None
    low, problem_low = check(meta, f"{path}.low", spec["low"])
    high, problem_high = check(meta, f"{path}.high", spec["high"])
    log, problem_log = check({"kind": "bool"}, f"{path}.log", spec.get("log", False))
    step_rule = {"kind": meta["kind"], "lo": 1} if meta["kind"] == "int" else {"kind": "float", "above": 0.0}
    step, problem_step = check(step_rule, f"{path}.step", spec["step"]) if "step" in spec else (None, None)
    problems.extend(p for p in (problem_low, problem_high, problem_log, problem_step) if p)
    if len(problems) > before:
        return None
    problem = _range_problem(low, high, log, step)
    if problem:
        problems.append(f"{where(path)}: {problem}")
        return None
    return SpaceEntry(key, low=low, high=high, log=log, step=step)


def _range_problem(low: float, high: float, log: bool, step: float | None) -> str | None:
    if not low < high:
        return f"received low {low} and high {high}, expected low below high; for one value write a list: [{low}]"
    if log and low <= 0:
        return f"received low {low} with log: true, expected a low above 0 (a log scale starts above 0)"
    if log and step is not None:
        return "received both log: true and a step, expected one of them (a log scale has no step)"
    if step is not None and abs(round((high - low) / step) * step - (high - low)) > 1e-9 * max(1.0, abs(high)):
        return f"received step {step}, which does not divide high - low ({high - low:g}); choose a step that does"
    return None
