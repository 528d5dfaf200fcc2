"""Seeing a model: tuned thresholds, plots, the errors file, and progress reporting."""

from __future__ import annotations

import csv
import json
import struct

import numpy as np
import pytest
from support import assert_clean_error, cli, topic_rows, write_csv

from textclf.use.decisions import resolve_thresholds
from textclf.use.thresholds import MIN_POSITIVES, tune


def png_size(path) -> tuple[int, int]:
    """Width and height of a PNG file, read from its IHDR chunk (and the file checked to be a PNG)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --------------------------------------------------------------------------------------------------
# Threshold tuning (the function)


@pytest.mark.fast
def test_f1_threshold_separates_what_0_5_cannot():
    # positives score 0.30-0.40, negatives 0.05-0.20: at 0.5 nothing is predicted, F1 0
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(40), np.zeros(60)].astype(int)
    p = np.r_[rng.uniform(0.30, 0.40, 40), rng.uniform(0.05, 0.20, 60)].astype(np.float32)
    tuned = tune("binary", ["neg", "pos"], y.reshape(-1, 1), p.reshape(-1, 1), "f1")
    (t,) = tuned.values
    assert 0.20 < t <= 0.30  # between the two groups: every row right
    assert ((p >= t) == (y == 1)).all()
    assert tuned.to_json(["pos"])["thresholds"] == {"pos": pytest.approx(t, abs=1e-6)}


@pytest.mark.fast
def test_binary_f1_objective_maximizes_the_macro_f1_of_both_classes():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.35 * y + rng.normal(0.4, 0.2, 300), 0.001, 0.999)
    (t,) = tune("binary", ["neg", "pos"], y.reshape(-1, 1), p.reshape(-1, 1), "f1").values
    best = max(f1_score(y, (p >= c).astype(int), average="macro") for c in np.unique(p))
    assert f1_score(y, (p >= t).astype(int), average="macro") == pytest.approx(best, abs=1e-12)


@pytest.mark.fast
def test_precision_target_picks_the_most_recall_that_meets_it():
    y = np.array([1, 1, 1, 1, 0, 1, 0, 0, 0, 0])
    p = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5, 0.4, 0.3])
    (t,) = tune("binary", ["n", "y"], y.reshape(-1, 1), p.reshape(-1, 1), "precision", 1.0).values
    pred = p >= t
    assert pred.sum() == 4 and (y[pred] == 1).all()  # the 4 top rows: precision 1, the most recall
    (t,) = tune("binary", ["n", "y"], y.reshape(-1, 1), p.reshape(-1, 1), "recall", 1.0).values
    pred = p >= t
    assert pred.sum() == 6 and y[pred].sum() == 5  # all 5 positives, the fewest rows


@pytest.mark.fast
def test_unreachable_target_and_too_few_positives_are_noted():
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 1], [1, 0], [0, 0]])
    p = np.array([[0.4, 0.1], [0.6, 0.2], [0.5, 0.9], [0.3, 0.8], [0.2, 0.1], [0.7, 0.1]])
    tuned = tune("multilabel", ["a", "b"], y, p, "precision", 0.99)
    assert tuned.values[1] == 0.5  # "b" has 1 positive, fewer than MIN_POSITIVES
    assert any(n.startswith("b: 1 positive") for n in tuned.notes) and MIN_POSITIVES > 1
    assert any(n.startswith("a: precision 0.99 is not reached") for n in tuned.notes)


@pytest.mark.fast
def test_tune_refuses_multiclass():
    with pytest.raises(ValueError, match="received task 'multiclass'"):
        tune("multiclass", ["a", "b", "c"], np.zeros((3, 3)), np.zeros((3, 3)))


@pytest.mark.fast
def test_run_thresholds_apply_in_output_order_and_an_override_wins():
    stored = {"objective": "f1", "thresholds": {"red": 0.3, "blue": 0.7}}
    tuned = resolve_thresholds("multilabel", ["blue", "green", "red"], stored)
    assert np.allclose(tuned.value, [0.7, 0.5, 0.3]) and tuned.source == "tuned on validation (f1)"
    assert tuned.named == {"blue": 0.7, "green": 0.5, "red": 0.3}
    assert resolve_thresholds("multilabel", ["a"], stored, 0.2).value == 0.2
    assert resolve_thresholds("binary", ["a", "b"]).value == 0.5
    assert resolve_thresholds("multiclass", ["a", "b", "c"], stored).named == {}


# --------------------------------------------------------------------------------------------------
# Thresholds in a run


@pytest.mark.parametrize("fixture", ["binary_run", "multilabel_run"])
def test_run_saves_tuned_thresholds_and_reports_the_gain(fixture, request):
    run = request.getfixturevalue(fixture).run
    saved = json.loads((run / "thresholds.json").read_text(encoding="utf-8"))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert saved["objective"] == "f1" and all(0 < v < 1 for v in saved["thresholds"].values())
    key = saved["gain"]["metric"]
    for part in ("valid", "test"):
        gain = metrics[part][key] - metrics[part]["at_0.5"][key]
        assert saved["gain"][part] == pytest.approx(gain, abs=1e-6)
    assert saved["gain"]["valid"] >= -1e-9  # tuned on validation: never worse there than 0.5
    assert "thresholds tuned on validation (f1)" in request.getfixturevalue(fixture).stdout


def test_multiclass_run_has_no_thresholds(multiclass_run):
    assert not (multiclass_run.run / "thresholds.json").exists()


def test_threshold_objective_none_and_precision(binary_files, tmp_path):
    from support import SMALL

    run = tmp_path / "precision"
    result = cli(
        "train",
        "--config",
        binary_files["config"],
        "--run-dir",
        run,
        *SMALL,
        "--set",
        "train.epochs=1",
        "--set",
        "train.threshold_objective=precision",
        "--set",
        "train.threshold_target=0.95",
        "--set",
        "train.plots=false",
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "thresholds.json").read_text(encoding="utf-8"))
    assert saved["objective"] == "precision" and saved["target"] == 0.95
    assert not (run / "training_curves.png").exists()  # train.plots: false


def test_eval_applies_tuned_thresholds_and_threshold_overrides(binary_run):
    tuned = cli("eval", "--model", binary_run.run, "--data", binary_run.test, "--no-plots")
    assert tuned.exit_code == 0, tuned.output
    assert "(tuned on validation (f1))" in tuned.stdout and "so the thresholds gain" in tuned.stdout
    fixed = cli("eval", "--model", binary_run.run, "--data", binary_run.test, "--threshold", "0.5", "--no-plots")
    assert fixed.exit_code == 0 and "threshold: 0.500 (--threshold)" in fixed.stdout
    assert "gain" not in fixed.stdout


# --------------------------------------------------------------------------------------------------
# Plots


@pytest.mark.parametrize("fixture", ["multiclass_run", "multilabel_run"])
def test_train_draws_curves_and_confusion_plots(fixture, request):
    run = request.getfixturevalue(fixture).run
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["files"]
    for name in ("training_curves.png", "confusion_matrix.png"):
        width, height = png_size(run / name)
        assert width > 300 and height > 200
        assert name in manifest  # sealed with the rest of the run


def test_eval_draws_into_the_run_and_the_run_still_loads(run_copy, multiclass_run):
    result = cli("eval", "--model", run_copy, "--data", multiclass_run.test)
    assert result.exit_code == 0, result.output
    plot = run_copy / "evaluations" / "test" / "confusion_matrix.png"
    assert png_size(plot)[0] > 300 and f"confusion matrix plot: {plot}" in result.stdout
    again = cli("eval", "--model", run_copy, "--data", multiclass_run.test, "--no-plots")
    assert again.exit_code == 0, again.output  # the added folder does not break verification


def test_eval_refuses_a_link_in_evaluations(run_copy, multiclass_run, tmp_path):
    (run_copy / "evaluations").mkdir(exist_ok=True)
    (run_copy / "evaluations" / "x.png").symlink_to(tmp_path)
    assert_clean_error(
        cli("eval", "--model", run_copy, "--data", multiclass_run.test, "--no-plots"), 4, "symbolic link"
    )


@pytest.mark.fast
def test_plots_for_many_classes():
    from textclf.use.plots import confusion_matrix

    n = 80
    labels = [f"class-{i}" for i in range(n)]
    m = np.diag(np.arange(1, n + 1)).tolist()
    png = confusion_matrix(labels, m, "many")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------------
# The errors file


def test_errors_file_lists_exactly_the_mistakes_most_confident_first(multiclass_run, tmp_path):
    errors = tmp_path / "errors.csv"
    result = cli(
        "eval",
        "--model",
        multiclass_run.run,
        "--data",
        multiclass_run.test,
        "--errors",
        errors,
        "--output",
        tmp_path / "m.json",
        "--no-plots",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    with open(errors, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["line", "text", "true", "predicted", "confidence"] if rows else True
    wrong = metrics["rows"] - round(metrics["accuracy"] * metrics["rows"])
    assert len(rows) == wrong == metrics["errors_written"]
    assert all(r["true"] != r["predicted"] for r in rows)
    conf = [float(r["confidence"]) for r in rows]
    assert conf == sorted(conf, reverse=True)
    # each line points at the row in the data file
    with open(multiclass_run.test, newline="", encoding="utf-8") as f:
        data = list(csv.DictReader(f))
    for r in rows:
        assert data[int(r["line"]) - 2]["label"] == r["true"]


def test_errors_file_multilabel(multilabel_run, tmp_path):
    errors = tmp_path / "errors.csv"
    result = cli(
        "eval",
        "--model",
        multilabel_run.run,
        "--data",
        multilabel_run.test,
        "--errors",
        errors,
        "--threshold",
        "0.99",
        "--no-plots",
    )
    assert result.exit_code == 0, result.output
    with open(errors, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(set(r["true"].split("|")) != set(filter(None, r["predicted"].split("|"))) for r in rows)
    assert [float(r["confidence"]) for r in rows] == sorted((float(r["confidence"]) for r in rows), reverse=True)


def test_errors_file_cannot_be_the_data_or_inside_the_run(multiclass_run, tmp_path):
    assert_clean_error(
        cli("eval", "--model", multiclass_run.run, "--data", multiclass_run.test, "--errors", multiclass_run.test),
        2,
        "--errors",
        "is the data file",
    )
    assert_clean_error(
        cli(
            "eval",
            "--model",
            multiclass_run.run,
            "--data",
            multiclass_run.test,
            "--errors",
            multiclass_run.run / "e.csv",
        ),
        2,
        "inside the run directory",
    )


# --------------------------------------------------------------------------------------------------
# Progress


def test_predict_reports_progress_to_the_last_line(multiclass_run, tmp_path):
    from textclf import predict_file as predict

    src = write_csv(tmp_path / "many.csv", ["text"], [(t,) for t, _ in topic_rows(300, seed=9)])
    seen = []
    summary = predict(
        multiclass_run.run,
        src,
        tmp_path / "out.csv",
        chunk_rows=64,
        progress=lambda done, total, *rows: seen.append((done, total)),
    )
    assert summary.rows == 300
    assert len(seen) == 6 and seen[-1] == (301, 301)  # header + 300 lines; one call per chunk, one at the end
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_eval_reports_progress(multiclass_run):
    from textclf import evaluate_file as evaluate

    seen = []
    evaluate(
        multiclass_run.run,
        multiclass_run.test,
        batch_size=16,
        plots=False,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen and seen[-1][0] == seen[-1][1] == 47


@pytest.mark.parametrize(
    "fixture, metric", [("multiclass_run", "accuracy"), ("binary_run", "accuracy"), ("multilabel_run", "micro_f1")]
)
def test_history_has_the_training_metric_beside_validation(fixture, metric, request):
    with open(request.getfixturevalue(fixture).run / "history.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(0.0 <= float(r[metric]) <= 1.0 and f"val_{metric}" in r for r in rows)
    assert float(rows[-1][metric]) > 0.5  # the easy synthetic topics are learned on the training batches too
