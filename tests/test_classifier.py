"""``textclf.Classifier``: the in-memory API equals the commands, and is safe to share between threads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import cli

from textclf import Classifier, ModelRejected, UsageError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clf(multiclass_run) -> Classifier:
    return Classifier.load(multiclass_run.run)


def test_predict_frame_equals_textclf_predict_cell_for_cell(multiclass_run, tmp_path):
    """The bundled data/test.csv scored by the CLI and by predict_frame: the same table, cell for cell."""
    out = tmp_path / "cli.csv"
    data = REPO / "data" / "test.csv"
    result = cli("predict", "--model", multiclass_run.run, "--input", data, "--output", out, "--top-k", "2")
    assert result.exit_code == 0, result.output
    from_cli = pd.read_csv(out, dtype=str, keep_default_na=False)
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    table = Classifier.load(multiclass_run.run).predict_frame(frame, top_k=2)
    assert list(table.columns) == list(from_cli.columns)
    assert len(table) == len(from_cli) == len(frame) > 100
    written = tmp_path / "library.csv"
    table.to_csv(written, index=False, float_format="%.6f", lineterminator="\n")
    from_library = pd.read_csv(written, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(from_library, from_cli)


def test_predict_proba_rows_sum_to_one_in_class_order(clf):
    probs = clf.predict_proba(["the ball and the goal", "pizza with cheese", ""])
    assert probs.shape == (3, len(clf.classes)) and clf.classes == sorted(clf.classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert clf.predict(["the ball and the goal"]) == [clf.classes[int(np.argmax(probs[0]))]]


def test_properties_describe_the_run(clf, multiclass_run):
    assert clf.task == "multiclass" and clf.path == multiclass_run.run
    assert clf.thresholds == {}  # argmax: nothing to tune
    assert clf.metrics["test"]["accuracy"] == pytest.approx(
        __import__("json").loads((multiclass_run.run / "metrics.json").read_text())["test"]["accuracy"]
    )
    assert clf.config.model.units == 8 and clf.config.train.epochs == 2
    assert "multiclass" in repr(clf)


def test_evaluate_equals_textclf_eval(clf, multiclass_run, tmp_path):
    out = tmp_path / "m.json"
    result = cli("eval", "--model", multiclass_run.run, "--data", multiclass_run.test, "--output", out, "--no-plots")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(multiclass_run.test, dtype=str, keep_default_na=False)
    metrics = clf.evaluate(frame["text"].tolist(), frame["label"].tolist())
    from_cli = __import__("json").loads(out.read_text())
    for key in ("accuracy", "macro_f1", "weighted_f1", "confusion_matrix", "per_class"):
        assert metrics[key] == from_cli[key]


def test_unseen_labels_are_named_or_left_out(clf):
    from textclf.errors import DataError

    with pytest.raises(DataError, match=r"never trained on: 'weather' ×1"):
        clf.evaluate(["rain again"], ["weather"])
    kept = clf.evaluate(["rain again", "the goal"], ["weather", "sports"], ignore_unseen=True)
    assert kept["rows"] == 1


def test_binary_and_multilabel_decisions_follow_the_run_thresholds(binary_run, multilabel_run):
    binary = Classifier.load(binary_run.run)
    (positive,) = binary.thresholds
    probs = binary.predict_proba(["the goal and the coach", "pizza bread"])
    expected = [binary.classes[int(p[1] >= binary.thresholds[positive])] for p in probs]
    assert binary.predict(["the goal and the coach", "pizza bread"]) == expected
    assert binary.predict(["the goal and the coach"], threshold=1.0) == [binary.classes[0]]
    labels = Classifier.load(multilabel_run.run)
    (decided,) = labels.predict(["cherry ruby ocean sky"], threshold=0.5)
    assert isinstance(decided, list) and set(decided) <= set(labels.classes)
    with pytest.raises(UsageError, match="expected a number from 0 to 1"):
        labels.predict(["x"], threshold=1.5)


def test_safe_to_call_from_several_threads_at_once(clf):
    """Eight threads predict different batches at the same time; each gets what a lone call gets."""
    batches = [[f"the ball {i} goal", f"pizza {i} soup", "code on the laptop " * (i + 1)] for i in range(8)]
    expected = [clf.predict_proba(b) for b in batches]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(batches))

    def work(i: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                results[i] = clf.predict_proba(batches[i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, want in enumerate(expected):
        np.testing.assert_allclose(results[i], want, atol=1e-6)


def test_load_refuses_what_is_not_a_verified_run(multiclass_run, tmp_path):
    with pytest.raises(UsageError, match="must be a textclf run directory"):
        Classifier.load(tmp_path / "model.keras")
    with pytest.raises(UsageError, match="received a URL"):
        Classifier.load("https://example.org/run")
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(multiclass_run.run, copy)
    (copy / "labels.json").write_text('{"task": "multiclass", "classes": ["a", "b", "c"]}', encoding="utf-8")
    with pytest.raises(ModelRejected, match="labels.json is 50 bytes, the manifest says"):
        Classifier.load(copy)
