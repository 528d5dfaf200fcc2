"""Stage 4 of training: finishing a run with the best epoch's weights.

The final validation (and test) metrics, the decision thresholds tuned on validation, the plots, saving the
run directory (:func:`textclf.run.directory.save_run`), and the reload check: the saved run is loaded back
in textclf's own way and must predict exactly as the trained model.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import TextclfError
from ..run.directory import load_run, save_run, write_rejects
from .inputs import Inputs, TrainingData
from .loop import metric_name
from .setup import StepPlan, Trainable
from .state import LoopState

log = logging.getLogger(__name__)


@dataclass
class Timing:
    """Seconds spent: starting TensorFlow, the epoch loop, and the whole training phase (TensorFlow excluded)."""

    started: float  # time.perf_counter() when train() began
    tensorflow: float
    fit: float = 0.0


def final_metrics(cfg: Config, data: TrainingData, inputs: Inputs, inference) -> tuple[dict, dict | None]:
    """The metrics of the best weights on validation (and test), with thresholds tuned on validation.

    Returns (metrics, the content of thresholds.json or None).
    """
    from ..model.network import probabilities_from_logits
    from ..use.metrics import metrics_from_probs

    train_cfg, sep = cfg.train, cfg.data.label_separator
    probs_valid = probabilities_from_logits(data.task, inference.logits(inputs.x_valid))
    tuned, thr = None, 0.5
    if data.task != "multiclass" and train_cfg.threshold_objective != "none":
        from ..use.thresholds import tune

        tuned = tune(
            data.task,
            data.classes,
            inputs.y_valid,
            probs_valid,
            train_cfg.threshold_objective,
            train_cfg.threshold_target,
        )
        thr = np.asarray(tuned.values, dtype=np.float32)
        for note in tuned.notes:
            log.info(f"threshold: {note}")
    metrics = {"valid": metrics_from_probs(data.task, data.classes, data.valid.labels, probs_valid, sep, threshold=thr)}
    parts = [("valid", data.valid, probs_valid)]
    if data.test is not None:
        probs_test = probabilities_from_logits(data.task, inference.logits(inputs.encoder.encode(data.test.texts)))
        metrics["test"] = metrics_from_probs(data.task, data.classes, data.test.labels, probs_test, sep, threshold=thr)
        parts.append(("test", data.test, probs_test))
    if tuned is None:
        return metrics, None
    return metrics, _threshold_gains(cfg, data, tuned, metrics, parts)


def _threshold_gains(cfg: Config, data: TrainingData, tuned, metrics: dict, parts: list) -> dict:
    """thresholds.json: the tuned thresholds and what they gain over 0.5 on each split (also in ``metrics``)."""
    from ..use.decisions import output_names
    from ..use.metrics import metrics_from_probs

    train_cfg, sep = cfg.train, cfg.data.label_separator
    key = "micro_f1" if data.task == "multilabel" else "macro_f1"
    gain = {}
    for name, part, probs in parts:
        base = metrics_from_probs(data.task, data.classes, part.labels, probs, sep, threshold=0.5, brief=True)
        metrics[name]["at_0.5"] = base
        gain[name] = round(metrics[name][key] - base[key], 6)
    thresholds = tuned.to_json(output_names(data.task, data.classes))
    thresholds["gain"] = {"metric": key, **gain}
    metrics["thresholds"] = thresholds
    log.info(
        f"thresholds tuned on validation ({train_cfg.threshold_objective}"
        + (f" {train_cfg.threshold_target:g}" if train_cfg.threshold_objective != "f1" else "")
        + "): "
        + ", ".join(
            f"{name} {key.replace('_', '-')} {metrics[name]['at_0.5'][key]:.4f} → {metrics[name][key]:.4f}"
            for name, _, _ in parts
        )
    )
    return thresholds


def finish(
    cfg: Config,
    data: TrainingData,
    inputs: Inputs,
    trainable: Trainable,
    plan: StepPlan,
    run: Path,
    state: LoopState,
    inference,
    timing: Timing,
    extra: dict,
) -> None:
    """Save the finished run with the best weights (already set on the model), then check that it reloads.

    ``extra``: more entries for metrics.json (the data fingerprints, the pretrained vectors' coverage).
    """
    evaluated, thresholds = final_metrics(cfg, data, inputs, inference)
    metrics = {"task": data.task, "best_epoch": state.best.epoch, "epochs_run": len(state.history), **evaluated}
    metrics["timing"] = {
        "fit_seconds": round(timing.fit, 2),
        "tensorflow_start_seconds": round(timing.tensorflow, 2),
        "train_phase_seconds": round(time.perf_counter() - timing.started - timing.tensorflow, 2),
    }
    metrics.update(extra)
    if data.without_ngrams:
        metrics["notes"] = [data.without_ngrams]
    metrics["distribution"] = _distribution(cfg, data, plan)
    _write_rejects(run, data)
    sep = cfg.data.label_separator
    labels = {
        "task": data.task,
        "classes": data.classes,
        "separator": sep,
        "text_column": cfg.data.text_column,
        "label_column": cfg.data.label_column,
    }
    name = metric_name(data.task)
    plots = _draw_plots(state.history, name, metrics, run.name) if cfg.train.plots else {}
    hyperparameters = trainable.hyperparameters.to_json()
    card = card_text(cfg, data, run, hyperparameters, labels, state.history, metrics, thresholds)
    save_run(
        run,
        config_yaml=cfg.to_yaml(),
        hyperparameters=hyperparameters,
        vocab=inputs.vocab.to_json(),
        labels=labels,
        model=trainable.model,
        history=state.history,
        metrics=metrics,
        thresholds=thresholds,
        plots=plots,
        card=card,
    )
    check_reload(run, trainable.model, inputs.x_valid)
    summary = f"best epoch {state.best.epoch}: valid {name} {metrics['valid'][name]:.4f}"
    if "test" in metrics:
        summary += f", test {name} {metrics['test'][name]:.4f}"
    log.info(summary + f" (training {timing.fit:.1f}s)")


def card_text(
    cfg: Config,
    data: TrainingData,
    run: Path,
    hyperparameters: dict,
    labels: dict,
    history: list[dict],
    metrics: dict,
    thresholds: dict | None,
) -> str:
    """The text of MODEL_CARD.md, from what the run's files hold and what training knows of its data: the
    files, rows, label counts and the data-check warnings it logged (``textclf check-data`` would read every
    file again; see docs/run-directory.md)."""
    from ..run.card import CardFacts, render_card

    summary = {
        "files": {"train": cfg.data.train, "valid": cfg.data.valid, "test": cfg.data.test},
        "rows": {"train": data.train_rows, "valid": len(data.valid)} | ({"test": len(data.test)} if data.test else {}),
        "split_from_train": data.split_from_train,
        "label_counts": data.label_counts(cfg.data.label_separator),
        "checks": data.checks,
        "skipped_rows": sum(len(part.report.bad_rows) for part in data.read_parts()),
        "streamed": data.scan is not None,
    }
    facts = CardFacts(str(run), cfg.to_dict(), labels, hyperparameters, metrics, history, thresholds, summary)
    return render_card(facts)


def _distribution(cfg: Config, data: TrainingData, plan: StepPlan) -> dict:
    out = {
        "workers": plan.workers,
        "replicas": plan.replicas,
        "batch_per_replica": plan.per_replica,
        "steps_per_epoch": plan.steps_per_epoch,
        "streaming": data.scan is not None,
    }
    if data.scan is not None:
        out.update(
            train_rows=data.train_rows,
            vocab_sample_rows=len(data.scan.sample),
            valid_rows_evaluated=len(data.valid),
            shuffle_buffer=cfg.data.shuffle_buffer,
        )
    return out


def _write_rejects(run: Path, data: TrainingData) -> None:
    rejects = [(part.path, b.line, b.reason) for part in data.read_parts() for b in part.report.bad_rows]
    if rejects:
        path = write_rejects(run, rejects)
        log.info(f"{len(rejects):,} bad rows were left out; they are listed in {path}")


def _draw_plots(history: list[dict], metric: str, metrics: dict, name: str) -> dict[str, bytes]:
    """The training curves (the kept epoch marked) and the confusion plot of the test set (or validation)."""
    from ..use.plots import confusion_png, training_curves

    try:
        out = {"curves": training_curves(history, metric, title=name, best_epoch=metrics.get("best_epoch"))}
        part = "test" if "test" in metrics else "valid"
        confusion = confusion_png(metrics[part], title=f"{name}, {part}: {metrics[part]['rows']:,} rows")
        if confusion is not None:
            out["confusion"] = confusion
        return out
    except ImportError as exc:
        log.warning(f"note: no plots ({exc}); install matplotlib, or set train.plots: false")
        return {}


def check_reload(run: Path, model, x_valid) -> None:
    """Reload the saved run in textclf's own way and check that it predicts exactly as the trained model.

    Both models are called eagerly on up to 128 validation rows: no second graph is traced for this.
    """
    loaded = load_run(run)
    batch = x_valid.batch(np.arange(min(len(x_valid), 128)))
    before = np.asarray(model(batch, training=False))
    after = np.asarray(loaded.model(batch, training=False))
    if not np.allclose(before, after, atol=1e-5):
        raise TextclfError(
            f"the saved run in {run} does not reproduce the trained model's predictions "
            f"(max difference {np.abs(before - after).max():.3g}); this is a bug in textclf"
        )
