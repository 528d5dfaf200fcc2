"""The four systems under test, each run as its own process on one dataset, and their results made uniform.

Every ``run_*`` function returns a record (a dict) with the same keys:
``dataset, system, ok, task, metric, score, accuracy, macro_f1, micro_f1, phase_seconds, process_seconds,
predict_rows_per_s, peak_rss_mb`` and, when ``ok`` is false, ``error``. ``score`` is the headline figure:
accuracy, or micro-F1 for multi-label data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from measure import Child, python_command, run_child, textclf_command

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_CONFIG = REPO / "configs" / "default.yaml"


@dataclass
class Dataset:
    name: str
    train: Path  # possibly a sample of the original, in the temp dir
    test: Path
    label_column: str  # "labels" for multi-label data
    train_rows: int
    test_rows: int
    full_train_rows: int

    @property
    def multilabel(self) -> bool:
        return self.label_column == "labels"


def _record(ds: Dataset, system: str, child: Child, result: dict | None, **extra) -> dict:
    record = {
        "dataset": ds.name,
        "system": system,
        "ok": child.ok and result is not None,
        "metric": "micro_f1" if ds.multilabel else "accuracy",
        "train_rows": ds.train_rows,
        "test_rows": ds.test_rows,
        "process_seconds": round(child.wall_seconds, 2),
        "peak_rss_mb": round(child.peak_rss_mb, 1),
    }
    if not record["ok"]:
        record["returncode"] = child.returncode
        record["error"] = child.failure() if not child.ok else "the process printed no result"
        return record
    record.update(
        {
            k: result.get(k)
            for k in (
                "task",
                "accuracy",
                "macro_f1",
                "micro_f1",
                "phase_seconds",
                "predict_rows_per_s",
                "read_seconds",
                "epochs",
            )
        }
    )
    record.update(extra)
    record["score"] = record[record["metric"]]
    return {k: v for k, v in record.items() if v is not None}


def run_textclf(ds: Dataset, work: Path) -> tuple[dict, Path | None]:
    """``textclf train`` with configs/default.yaml, setting only data.* (and quiet output), then
    ``textclf predict`` on the test file. Returns the record and the run directory."""
    run_dir = work / "runs" / f"{ds.name}-textclf"
    logs = work / "logs"
    command = [
        textclf_command(),
        "train",
        "--config",
        str(DEFAULT_CONFIG),
        "--set",
        f"data.train={ds.train}",
        "--set",
        f"data.test={ds.test}",
        "--set",
        f"data.label_column={ds.label_column}",
        "--set",
        "train.verbose=false",
        "--run-dir",
        str(run_dir),
    ]
    child = run_child(command, logs, f"{ds.name}-textclf-train", cwd=REPO)
    metrics_path = run_dir / "metrics.json"
    if not child.ok or not metrics_path.exists():
        return _record(ds, "textclf", child, None), None
    metrics = json.loads(metrics_path.read_text("utf-8"))
    test = metrics.get("test", {})
    result = {
        "task": metrics.get("task"),
        "accuracy": test.get("accuracy"),
        "macro_f1": test.get("macro_f1"),
        "micro_f1": test.get("micro_f1"),
        "phase_seconds": metrics["timing"]["train_phase_seconds"],
    }

    predicted = run_child(
        [
            textclf_command(),
            "predict",
            "--model",
            str(run_dir),
            "--input",
            str(ds.test),
            "--output",
            str(work / f"{ds.name}-textclf-predictions.csv"),
        ],
        logs,
        f"{ds.name}-textclf-predict",
        cwd=REPO,
    )
    found = re.search(r"\(([\d,.]+) rows/s\)", predicted.stdout)
    if predicted.ok and found:
        result["predict_rows_per_s"] = float(found.group(1).replace(",", ""))
    record = _record(
        ds,
        "textclf",
        child,
        result,
        fit_seconds=metrics["timing"].get("fit_seconds"),
        epochs_run=metrics.get("epochs_run"),
        best_epoch=metrics.get("best_epoch"),
        predict_process_seconds=round(predicted.wall_seconds, 2),
    )
    if not predicted.ok:
        record["predict_error"] = predicted.failure()
    return record, run_dir


def run_seed(ds: Dataset, work: Path, epochs: int, save_dir: Path | None = None) -> dict:
    """bench/seed_keras.py; with ``save_dir`` it also saves the model and tokenizer for seed_predict.py."""
    command = [
        python_command(),
        str(BENCH / "seed_keras.py"),
        "--train",
        str(ds.train),
        "--test",
        str(ds.test),
        "--label-column",
        ds.label_column,
        "--epochs",
        str(epochs),
    ]
    if save_dir is not None:
        command += ["--save-dir", str(save_dir)]
    child = run_child(command, work / "logs", f"{ds.name}-seed")
    return _record(ds, "seed", child, child.result)


def run_peer(system: str, ds: Dataset, work: Path) -> dict:
    """bench/peers.py fasttext|tfidf."""
    command = [
        python_command(),
        str(BENCH / "peers.py"),
        system,
        "--train",
        str(ds.train),
        "--test",
        str(ds.test),
        "--label-column",
        ds.label_column,
    ]
    child = run_child(command, work / "logs", f"{ds.name}-{system}")
    return _record(ds, system, child, child.result)


def predict_textclf(run_dir: Path, csv_path: Path, work: Path, rows: int) -> dict:
    """``textclf predict`` end to end, CSV in and CSV out."""
    child = run_child(
        [
            textclf_command(),
            "predict",
            "--model",
            str(run_dir),
            "--input",
            str(csv_path),
            "--output",
            str(work / "textclf-out.csv"),
        ],
        work / "logs",
        f"predict-{rows}-textclf",
        cwd=REPO,
    )
    found = re.search(r"\(([\d,.]+) rows/s\)", child.stdout)
    rate = float(found.group(1).replace(",", "")) if found else None
    return _predict_record("textclf", rows, child, rate)


def predict_seed(model_dir: Path, csv_path: Path, work: Path, rows: int) -> dict:
    """bench/seed_predict.py: everything in memory at once, as the seed did it."""
    child = run_child(
        [
            python_command(),
            str(BENCH / "seed_predict.py"),
            "--model-dir",
            str(model_dir),
            "--input",
            str(csv_path),
            "--output",
            str(work / "seed-out.csv"),
        ],
        work / "logs",
        f"predict-{rows}-seed",
    )
    result = child.result or {}
    return _predict_record("seed", rows, child, result.get("rows_per_s"))


def _predict_record(system: str, rows: int, child: Child, rate: float | None) -> dict:
    record = {
        "system": system,
        "rows": rows,
        "ok": child.ok and rate is not None,
        "rows_per_s": rate,
        "process_seconds": round(child.wall_seconds, 2),
        "process_rows_per_s": rows / child.wall_seconds,
        "peak_rss_mb": round(child.peak_rss_mb, 1),
    }
    if not record["ok"]:
        record["error"] = child.failure()
    return record
