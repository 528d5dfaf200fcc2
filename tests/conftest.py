"""Session fixtures: tiny datasets written into a temporary folder, and one real training run per task.

Every run trains for real through the ``textclf`` CLI (click's ``CliRunner``, in-process) with small
model settings (support.SMALL), so that the whole suite stays well under a few minutes on 2 CPU cores.
Tests that change a run directory copy it first (``run_copy``).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from support import EDGE_TEXTS, FORMULA_TEXTS, SMALL, cli, multilabel_rows, topic_rows, write_csv  # noqa: E402

TRAINED_FIXTURES = {"multiclass_run", "binary_run", "multilabel_run", "run_copy"}


def pytest_collection_modifyitems(config, items):
    """The ``fast`` marker's promise, part 1: a test marked ``fast`` uses no trained run."""
    wrong = [
        item.nodeid
        for item in items
        if item.get_closest_marker("fast") and TRAINED_FIXTURES & set(getattr(item, "fixturenames", ()))
    ]
    if wrong:
        raise pytest.UsageError("marked fast but using a trained run: " + ", ".join(wrong))


@pytest.fixture(autouse=True)
def _fast_tests_do_not_start_tensorflow(request):
    """The ``fast`` marker's promise, part 2: a test marked ``fast`` does not import TensorFlow (checked where
    nothing has imported it yet, as in ``pytest -m fast``)."""
    watch = request.node.get_closest_marker("fast") is not None and "tensorflow" not in sys.modules
    yield
    if watch:
        assert "tensorflow" not in sys.modules, f"{request.node.nodeid} is marked fast but imported TensorFlow"


@dataclass
class TrainedRun:
    """One finished training: its run directory, the config used, the data files and the CLI output."""

    run: Path
    config: Path
    train: Path
    test: Path
    predict_input: Path
    stdout: str
    args: list[str]


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def multiclass_files(data_root) -> dict[str, Path]:
    """3 balanced topic classes: 150 training rows (plus edge-case texts), 45 test rows, a predict input."""
    d = data_root / "multiclass"
    d.mkdir()
    train_rows = topic_rows(150, seed=1)
    labels = ["sports", "tech", "food"]
    train_rows += [(t, labels[i % 3]) for i, t in enumerate(EDGE_TEXTS)]
    test_rows = topic_rows(45, seed=2) + [("", "food"), ("...", "tech")]
    write_csv(d / "train.csv", ["text", "label"], train_rows)
    write_csv(d / "test.csv", ["text", "label"], test_rows)
    # 40 rows for prediction: an id, the text, a note column; edge-case and formula-like texts included
    texts = [t for t, _ in topic_rows(28, seed=3)] + EDGE_TEXTS + FORMULA_TEXTS
    write_csv(
        d / "predict.csv",
        ["id", "text", "note"],
        [(f"r{i:03d}", t, '=HYPERLINK("x")' if i == 0 else f"note {i}") for i, t in enumerate(texts)],
    )
    (d / "multiclass.yaml").write_text("task: auto\ndata:\n  train: train.csv\n  test: test.csv\n", encoding="utf-8")
    return {
        "dir": d,
        "train": d / "train.csv",
        "test": d / "test.csv",
        "predict": d / "predict.csv",
        "config": d / "multiclass.yaml",
    }


@pytest.fixture(scope="session")
def binary_files(data_root) -> dict[str, Path]:
    """Two classes whose names are YAML/pandas traps: ``NA`` and ``00123`` must stay strings end to end."""
    d = data_root / "binary"
    d.mkdir()
    topics = {"NA": "goal team match score player coach".split(), "00123": "pizza bread cheese soup salad".split()}
    write_csv(d / "train.csv", ["text", "label"], topic_rows(120, seed=4, topics=topics))
    write_csv(d / "test.csv", ["text", "label"], topic_rows(40, seed=5, topics=topics))
    (d / "binary.yaml").write_text("task: binary\ndata:\n  train: train.csv\n  test: test.csv\n", encoding="utf-8")
    return {
        "dir": d,
        "train": d / "train.csv",
        "test": d / "test.csv",
        "predict": d / "test.csv",
        "config": d / "binary.yaml",
    }


@pytest.fixture(scope="session")
def multilabel_files(data_root) -> dict[str, Path]:
    """Three labels (red, green, blue), one or two per row joined with ``|``."""
    d = data_root / "multilabel"
    d.mkdir()
    write_csv(d / "train.csv", ["text", "labels"], multilabel_rows(150, seed=6))
    write_csv(d / "test.csv", ["text", "labels"], multilabel_rows(40, seed=7))
    (d / "multilabel.yaml").write_text(
        "data:\n  train: train.csv\n  test: test.csv\n  label_column: labels\n", encoding="utf-8"
    )
    return {
        "dir": d,
        "train": d / "train.csv",
        "test": d / "test.csv",
        "predict": d / "test.csv",
        "config": d / "multilabel.yaml",
    }


def _train(files: dict[str, Path], run: Path, *extra: str) -> TrainedRun:
    args = ["train", "--config", str(files["config"]), "--run-dir", str(run), *SMALL, *extra]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return TrainedRun(
        run=run,
        config=files["config"],
        train=files["train"],
        test=files["test"],
        predict_input=files["predict"],
        stdout=result.stdout,
        args=args,
    )


@pytest.fixture(scope="session")
def multiclass_run(multiclass_files, data_root) -> TrainedRun:
    return _train(multiclass_files, data_root / "runs" / "multiclass")


@pytest.fixture(scope="session")
def binary_run(binary_files, data_root) -> TrainedRun:
    return _train(binary_files, data_root / "runs" / "binary", "--set", "train.class_weight=auto")


@pytest.fixture(scope="session")
def multilabel_run(multilabel_files, data_root) -> TrainedRun:
    return _train(multilabel_files, data_root / "runs" / "multilabel", "--set", "train.class_weight=auto")


@pytest.fixture
def run_copy(multiclass_run, tmp_path) -> Path:
    """A private copy of the multiclass run directory, free to tamper with."""
    dst = tmp_path / "run"
    shutil.copytree(multiclass_run.run, dst, symlinks=True)
    return dst
