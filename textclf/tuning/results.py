"""What a study leaves in its folder: ``best.yaml``, ``trials.csv``, the plots, the test metrics.

``best.yaml`` is the study's config with the best trial's settings, its paths absolute, so that
``textclf train --config best.yaml`` trains it again from anywhere. ``trials.csv`` has a row per trial of the
study, from every process: number, state, value, epochs, seconds, the reason a trial was pruned, failed or
stopped, and one column per searched key. The plots are Optuna's optimization history and parameter
importances (drawn when enough trials completed). Only the best trial's run directory is kept: the others are
removed as trials finish, unless ``--keep-runs``.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

from ..config import Config
from ..io.csv_output import spreadsheet_safe
from ..io.files import atomic_write, write_bytes, write_text
from .folder import HISTORY_PNG, IMPORTANCE_PNG, RUNS, TEST_METRICS, trial_number
from .space import format_params, with_params

log = logging.getLogger(__name__)

UNFINISHED = "its process ended before the trial did (killed?)"  # a FAIL without a recorded reason


def absolute_paths(cfg: Config) -> Config:
    """``cfg`` with its data files and vectors as absolute paths (best.yaml then works from any folder)."""
    import os

    def absolute(value: Any) -> Any:
        if isinstance(value, list):
            return [os.path.abspath(v) for v in value]
        return os.path.abspath(value) if isinstance(value, str) else value

    data = {key: absolute(getattr(cfg.data, key)) for key in ("train", "valid", "test")}
    return cfg.replace(data=data, model={"pretrained_vectors": absolute(cfg.model.pretrained_vectors)})


def remove_other_runs(study_dir: Path, trials: list, best_number: int | None) -> None:
    """Remove the run directory of every finished trial but the best (a running trial's is left alone)."""
    finished = {t.number for t in trials if t.state.is_finished()}
    runs = study_dir / RUNS
    for run in sorted(runs.iterdir()) if runs.is_dir() else []:
        number = trial_number(run)
        if number is not None and number in finished and number != best_number:
            shutil.rmtree(run, ignore_errors=True)


def write_best_yaml(path: Path, cfg: Config, best: Any, objective: str, study_dir: Path) -> Config:
    """``best.yaml``: the study's config with the best trial's settings. Returns that config."""
    best_cfg = with_params(cfg, best.params)
    head = [
        f"# The best settings of the study {study_dir} (textclf tune): trial #{best.number}, "
        f"{objective} {best.value:.4f}",
        f"# searched: {format_params(best.params)}",
        f"# Train them again with: textclf train --config {path}",
        "",
    ]
    write_text(path, "\n".join(head) + best_cfg.to_yaml())
    return best_cfg


def write_trials_csv(path: Path, trials: list, space_keys: list[str]) -> None:
    """``trials.csv``: one row per trial of the study, in number order."""
    keys = list(space_keys) + sorted({k for t in trials for k in t.params} - set(space_keys))
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["number", "state", "value", "epochs", "seconds", "reason", *keys])
        for t in sorted(trials, key=lambda t: t.number):
            attrs = t.user_attrs
            reason = attrs.get("reason") or (UNFINISHED if t.state.name == "FAIL" else "")
            value = "" if t.value is None else round(float(t.value), 6)
            row = [t.number, t.state.name, value, attrs.get("epochs", ""), attrs.get("seconds", "")]
            writer.writerow(row + [spreadsheet_safe(str(reason))] + [_cell(t.params.get(k)) for k in keys])


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def draw_plots(study: Any, study_dir: Path, objective: str) -> list[Path]:
    """Optuna's optimization history (one completed trial or more) and parameter importances (two or more)."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        return []
    import matplotlib

    matplotlib.use("Agg", force=True)
    from optuna.visualization import matplotlib as plots

    drawn = []
    wanted = [(HISTORY_PNG, plots.plot_optimization_history)]
    if len(complete) >= 2 and any(len({repr(t.params.get(k)) for t in complete}) > 1 for k in complete[-1].params):
        wanted.append((IMPORTANCE_PNG, plots.plot_param_importances))
    for name, plot in wanted:
        try:
            with warnings.catch_warnings(), matplotlib.rc_context():  # Optuna sets its style for the whole process
                warnings.simplefilter("ignore")
                axes = plot(study, target_name=objective)
                write_bytes(study_dir / name, _png(axes.figure))
            drawn.append(study_dir / name)
        except Exception as exc:  # a plot is a nicety: whatever fails in drawing it is one note
            log.warning(f"note: no {name} ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})")
    return drawn


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.set_size_inches(8, 5)
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def evaluate_best(run: Path, cfg: Config, study_dir: Path) -> dict | None:
    """The test file, evaluated once, on the best run (``test_metrics.json``); None without ``data.test``."""
    if not cfg.data.test:
        return None
    from ..use.evaluation import evaluate_file

    data = cfg.data
    return evaluate_file(
        run,
        data.test,
        text_column=data.text_column,
        label_column=data.label_column,
        encoding=data.encoding,
        output=study_dir / TEST_METRICS,
    )
