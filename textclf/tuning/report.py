"""The lines ``textclf tune`` logs: the search it starts, one line per trial, and what it found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .budget import Budget, format_seconds
from .space import format_params


def best_trial(study: Any) -> Any:
    """The study's best completed trial, from every process; None before one completes."""
    try:
        return study.best_trial
    except ValueError:
        return None


def header(study: Any, resumed: bool, folder: Path, keys: int, objective: str, budget: Budget, cap: int | None) -> str:
    """What is searched, for what, and until when."""
    if resumed:
        trials = study.get_trials(deepcopy=False)
        complete = sum(t.state.name == "COMPLETE" for t in trials)
        best = best_trial(study)
        so_far = f", best {objective} {best.value:.4f}" if best is not None else ""
        where = f"continuing the study in {folder}: {len(trials)} trials so far ({complete} complete{so_far})"
    else:
        where = f"a new study in {folder}"
    better = "lower" if objective == "val_loss" else "higher"
    limit = f"at most {cap} trials" if cap else "no trial cap"
    return f"tune: {where}; {keys} keys searched for the best {objective} ({better} is better); {budget.describe()}, {limit}"


def progress_line(count: int, cap: int | None, trial: Any, best: Any, objective: str, log_path: Path) -> str:
    """``trial 3/∞ #2: val_accuracy 0.9123 (best 0.9201) units=64 learning_rate=0.003 ... 12.3s``."""
    attrs = trial.user_attrs
    reason = attrs.get("reason", "")
    state = trial.state.name
    if state == "COMPLETE":
        body = f"{objective} {trial.value:.4f} (best {best.value:.4f}{'; ' + reason if reason else ''})"
    elif state == "PRUNED":
        figure = f" ({objective} {trial.value:.4f})" if trial.value is not None else ""
        body = f"{reason or 'pruned'}{figure}"
    else:
        body = f"failed: {reason or 'see its log'} (log: {log_path})"
    seconds = attrs.get("seconds")
    tail = f" {seconds:.1f}s" if isinstance(seconds, (int, float)) else ""
    return f"trial {count}/{cap or '∞'} #{trial.number}: {body} {format_params(trial.params)}{tail}".rstrip()


def summary(trials: list, count: int, seconds: float, best: Any, objective: str) -> list[str]:
    states = [t.state.name for t in trials]
    counts = ", ".join(f"{states.count(s)} {s.lower()}" for s in ("COMPLETE", "PRUNED", "FAIL") if s in states)
    return [
        f"search done: {count} trials in {format_seconds(seconds)}; the study has {len(trials)} ({counts})",
        f"best: trial #{best.number}, {objective} {best.value:.4f}: {format_params(best.params)}",
    ]


def test_line(test: dict, task: str, data: str, path: Path) -> str:
    """The test figure of the best run, as ``textclf eval`` names it."""
    name = "micro_f1" if task == "multilabel" else "accuracy"
    value = test.get(name)
    shown = f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"
    return f"test: {name} {shown} on {data} ({test.get('rows', '?')} rows; every metric in {path})"
