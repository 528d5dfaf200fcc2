"""Real data from ../shared/datasets: skipped on a fresh clone where the folder is absent."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from support import cli, last_line, write_csv

HERE = Path(__file__).resolve()
CANDIDATES = [
    HERE.parents[2] / "shared" / "datasets",
    HERE.parents[1] / ".." / "shared" / "datasets",
    Path("..") / "shared" / "datasets",
]
DATASETS = next((p.resolve() for p in CANDIDATES if p.is_dir()), None)

pytestmark = pytest.mark.datasets


def dataset(name: str) -> Path:
    if DATASETS is None or not (DATASETS / name).is_dir():
        pytest.skip(f"{name}: ../shared/datasets is not here")
    return DATASETS / name


def test_sms_spam_sample_reaches_90_percent(tmp_path):
    folder = dataset("sms_spam")
    with open(folder / "train.csv", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    sample = random.Random(13).sample(rows, 1500)
    train = write_csv(tmp_path / "train.csv", header, sample)
    conf = tmp_path / "sms.yaml"
    conf.write_text(f"data:\n  train: {train}\n  test: {folder / 'test.csv'}\n", encoding="utf-8")
    # the default model, but only 2 epochs
    result = cli(
        "train",
        "--config",
        conf,
        "--run-dir",
        tmp_path / "run",
        "--set",
        "train.epochs=2",
        "--set",
        "train.verbose=false",
        "--set",
        "train.early_stopping_patience=0",
    )
    assert result.exit_code == 0, result.output
    run = Path(last_line(result.stdout))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["task"] == "binary" and metrics["epochs_run"] == 2
    assert metrics["test"]["rows"] == 1114
    print("sms_spam test accuracy", metrics["test"]["accuracy"])
    assert metrics["test"]["accuracy"] > 0.9, metrics["test"]
    out = tmp_path / "m.json"
    assert cli("eval", "--model", run, "--data", folder / "test.csv", "--output", out).exit_code == 0
    assert json.loads(out.read_text())["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=1e-9)
