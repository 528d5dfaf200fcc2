"""End to end through the CLI: train -> run directory -> predict -> eval, on tiny real data.

The three session runs (multiclass, binary with the labels ``NA``/``00123``, multi-label) are trained once
in conftest.py; the tests here read them and never change them.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import (
    EDGE_TEXTS,
    SMALL,
    LogLines,
    assert_clean_error,
    assert_refused_with,
    cli,
    last_line,
    predict_args,
    read_csv_rows,
    sha256,
    tree_hashes,
    write_csv,
)

from textclf.run import directory as artifacts

RUN_FILES = {
    "config.yaml",
    "model.json",
    "weights.npz",
    "vocab.json",
    "labels.json",
    "history.csv",
    "metrics.json",
    "manifest.json",
    "training_curves.png",
    "confusion_matrix.png",
    "MODEL_CARD.md",
}


def probs_of(rows: list[dict], classes: list[str]) -> np.ndarray:
    return np.asarray([[float(r[f"p_{c}"]) for c in classes] for r in rows])


def labels_column(path: Path, column: str = "label") -> list[str]:
    return [r[column] for r in read_csv_rows(path)[1]]


# --------------------------------------------------------------------------------------------------
# Train -> run directory


def test_run_directory_holds_the_files(multiclass_run):
    run = multiclass_run.run
    names = {p.name for p in run.iterdir()} - {"evaluations"}  # what `textclf eval` adds to a shared run
    assert names == RUN_FILES | {"logs"}
    for part in ("train", "valid"):
        events = list((run / "logs" / part).glob("events.out.tfevents.*"))
        assert events and all(e.stat().st_size > 0 for e in events)


def test_last_line_of_stdout_is_the_run_directory(multiclass_run):
    assert Path(last_line(multiclass_run.stdout)) == multiclass_run.run
    assert "epoch 1/2" in multiclass_run.stdout and "epoch 2/2" in multiclass_run.stdout
    assert "device: CPU" in multiclass_run.stdout or "GPU" in multiclass_run.stdout


def test_history_has_one_row_per_epoch(multiclass_run):
    with open(multiclass_run.run / "history.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    metrics = json.loads((multiclass_run.run / "metrics.json").read_text())
    assert [int(r["epoch"]) for r in rows] == [1, 2] and metrics["epochs_run"] == 2
    for r in rows:
        for key in ("loss", "val_loss", "val_accuracy"):
            assert math.isfinite(float(r[key])), r


def test_best_epoch_has_the_highest_validation_metric_then_the_lowest_loss(multiclass_run, binary_run, multilabel_run):
    """train.early_stopping_monitor: metric (the default) keeps the epoch with the best validation metric; the
    lower validation loss breaks a tie."""
    for trained, key in (
        (multiclass_run, "val_accuracy"),
        (binary_run, "val_accuracy"),
        (multilabel_run, "val_micro_f1"),
    ):
        with open(trained.run / "history.csv", newline="", encoding="utf-8") as f:
            rows = [(float(r[key]), -float(r["val_loss"])) for r in csv.DictReader(f)]
        metrics = json.loads((trained.run / "metrics.json").read_text())
        assert metrics["best_epoch"] == max(range(len(rows)), key=lambda i: rows[i]) + 1, (trained.run, rows)


@pytest.mark.slow
def test_a_tie_in_the_metric_goes_to_the_lower_loss(multiclass_files, tmp_path):
    """Four epochs on easy data: validation accuracy reaches 1.0 and stays; the loss keeps falling, so the
    best epoch is the last tied one, not the first."""
    run = tmp_path / "ties"
    result = cli(
        "train",
        "--config",
        multiclass_files["config"],
        "--run-dir",
        run,
        *SMALL,
        "--set",
        "train.epochs=4",
        "--set",
        "train.early_stopping_patience=0",
    )
    assert result.exit_code == 0, result.output
    with open(run / "history.csv", newline="", encoding="utf-8") as f:
        rows = [(float(r["val_accuracy"]), float(r["val_loss"])) for r in csv.DictReader(f)]
    best = json.loads((run / "metrics.json").read_text())["best_epoch"]
    top = max(acc for acc, _ in rows)
    tied = [i + 1 for i, (acc, _) in enumerate(rows) if acc == top]
    assert best == min(tied, key=lambda e: rows[e - 1][1])
    assert len(tied) > 1 and best != tied[0], (
        "this data should tie; if it no longer does, the test proves nothing",
        rows,
    )


def test_metrics_have_valid_and_test(multiclass_run):
    m = json.loads((multiclass_run.run / "metrics.json").read_text())
    assert m["task"] == "multiclass" and m["best_epoch"] in (1, 2)
    n_test = len(labels_column(multiclass_run.test))
    assert m["test"]["rows"] == n_test
    for part in ("valid", "test"):
        for key in ("accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix"):
            assert key in m[part], (part, key)
        assert 0.0 <= m[part]["accuracy"] <= 1.0
        assert sum(map(sum, m[part]["confusion_matrix"]["matrix"])) == m[part]["rows"]


def test_saved_config_is_the_resolved_config(multiclass_run):
    saved = yaml.safe_load((multiclass_run.run / "config.yaml").read_text(encoding="utf-8"))
    assert saved["model"]["units"] == 8 and saved["model"]["embedding_dim"] == 16
    assert saved["train"]["epochs"] == 2 and saved["train"]["batch_size"] == 32
    assert Path(saved["data"]["train"]) == multiclass_run.train  # resolved against the config's folder
    assert Path(saved["data"]["train"]).is_absolute()


def test_labels_and_hyperparameters(multiclass_run, binary_run, multilabel_run):
    def read(run, name):
        return json.loads((run.run / name).read_text(encoding="utf-8"))

    assert read(multiclass_run, "labels.json")["classes"] == ["food", "sports", "tech"]
    assert read(multiclass_run, "model.json")["hyperparameters"]["num_outputs"] == 3
    # binary labels that pandas would read as NaN and 123: strings end to end, one sigmoid output
    assert read(binary_run, "labels.json")["classes"] == ["00123", "NA"]
    assert read(binary_run, "labels.json")["task"] == "binary"
    assert read(binary_run, "model.json")["hyperparameters"]["num_outputs"] == 1
    labels = read(multilabel_run, "labels.json")
    assert labels["task"] == "multilabel" and labels["classes"] == ["blue", "green", "red"]
    assert labels["label_column"] == "labels"


def test_edge_texts_were_in_training(multiclass_run):
    texts = labels_column(multiclass_run.train, "text")
    assert "" in texts and "!!! ..." in texts and "?" in texts
    m = json.loads((multiclass_run.run / "metrics.json").read_text())
    assert math.isfinite(m["valid"]["accuracy"])


@pytest.mark.parametrize("target", ["finished_run", pytest.param("folder_of_other_files", marks=pytest.mark.fast)])
def test_an_existing_non_empty_run_dir_is_refused_and_left_untouched(multiclass_files, request, tmp_path, target):
    if target == "finished_run":
        run = request.getfixturevalue("multiclass_run").run  # the session's run itself
    else:
        run = tmp_path / "taken"
        run.mkdir()
        (run / "notes.txt").write_text("keep me", encoding="utf-8")
        (run / "sub").mkdir()
        (run / "sub" / "x.bin").write_bytes(b"\x00\x01")
    before = tree_hashes(run)
    mtimes = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    result = cli("train", "--config", multiclass_files["config"], "--run-dir", run, *SMALL)
    assert_refused_with(result, 2, rf"--run-dir {re.escape(str(run))} exists and is not empty", "never overwrites")
    assert tree_hashes(run) == before
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == mtimes


def test_seed_makes_cpu_runs_identical(multiclass_run, library_run):
    # library_run trained the same config with the same seed, in the same process, through the library
    a = np.load(multiclass_run.run / "weights.npz")
    b = np.load(library_run / "weights.npz")
    assert sorted(a.files) == sorted(b.files) and a.files
    for key in a.files:
        assert a[key].shape == b[key].shape, key
        assert np.array_equal(a[key], b[key]), f"{key} differs between two runs with the same seed"
    assert any(np.std(a[key]) > 0 for key in a.files)
    ha = (multiclass_run.run / "history.csv").read_text().splitlines()
    hb = (library_run / "history.csv").read_text().splitlines()
    strip = lambda lines: [",".join(line.split(",")[:-1]) for line in lines]  # noqa: E731 - drop seconds
    assert strip(ha) == strip(hb)


# --------------------------------------------------------------------------------------------------
# Library API


@pytest.fixture(scope="module")
def library_run(multiclass_run, tmp_path_factory) -> Path:
    """The multiclass config trained again in this process through the library (same seed)."""
    from textclf.config import load_config
    from textclf.training import train as train_fn

    runs = tmp_path_factory.mktemp("library_runs")
    overrides = [s for s in SMALL if s != "--set"] + [f"train.runs_dir={runs}"]
    cfg = load_config(multiclass_run.config, overrides)
    with LogLines() as lines:
        run = train_fn(cfg)
    assert isinstance(run, Path)
    assert run.parent == runs and run.name.startswith("multiclass-")  # a new folder under train.runs_dir
    assert any(line.startswith("epoch 2/2") for line in lines)
    return run


@pytest.mark.fast
def test_library_api_names_are_the_functions():
    # `from textclf import train` must give the function, not the submodule textclf.training
    import inspect

    from textclf import evaluate_file as evaluate
    from textclf import load_config, train
    from textclf import predict_file as predict

    for fn in (load_config, train, predict, evaluate):
        assert inspect.isfunction(fn), f"from textclf import ... gave {fn!r}, not a function"


def test_library_api_train_predict_evaluate(multiclass_run, tmp_path):
    from textclf import evaluate_file as evaluate
    from textclf import load_config, train
    from textclf import predict_file as predict

    overrides = [s for s in SMALL if s != "--set"] + ["train.epochs=1", f"train.runs_dir={tmp_path / 'runs'}"]
    cfg = load_config(multiclass_run.config, overrides)
    run = train(cfg)
    assert isinstance(run, Path) and (run / "manifest.json").is_file()
    summary = predict(run, multiclass_run.predict_input, tmp_path / "p.csv")
    assert summary.rows == 40 and summary.output == tmp_path / "p.csv" and summary.output.is_file()
    metrics = evaluate(run, multiclass_run.test)
    assert set(metrics) >= {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix"}
    assert metrics["rows"] == len(labels_column(multiclass_run.test))


def test_library_functions_by_module(library_run, multiclass_run, tmp_path):
    from textclf.use.evaluation import evaluate_file as evaluate
    from textclf.use.prediction import predict_file as predict

    summary = predict(library_run, multiclass_run.predict_input, tmp_path / "p.csv")
    assert summary.rows == 40 and summary.output.is_file()
    metrics = evaluate(library_run, multiclass_run.test, output=tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["accuracy"] == metrics["accuracy"]


# --------------------------------------------------------------------------------------------------
# Save -> reload -> identical predictions


@pytest.fixture(scope="module")
def multiclass_predictions(multiclass_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pred") / "preds.csv"
    result = cli(
        *predict_args(
            multiclass_run.run, multiclass_run.predict_input, out, "--keep-columns", "id,text,note", "--top-k", "2"
        )
    )
    assert result.exit_code == 0, result.output
    assert "wrote 40 rows" in result.stdout
    return out


def test_predict_output_columns(multiclass_predictions):
    header, rows = read_csv_rows(multiclass_predictions)
    assert header == [
        "id",
        "text",
        "note",
        "prediction",
        "confidence",
        "top1",
        "top1_p",
        "top2",
        "top2_p",
        "p_food",
        "p_sports",
        "p_tech",
    ]
    assert len(rows) == 40 and [r["id"] for r in rows] == [f"r{i:03d}" for i in range(40)]
    classes = ["food", "sports", "tech"]
    probs = probs_of(rows, classes)
    assert np.all(np.isfinite(probs)) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    for r, p in zip(rows, probs):
        assert r["prediction"] == classes[int(np.argmax(p))] == r["top1"]
        assert float(r["confidence"]) == pytest.approx(p.max(), abs=1e-6) == float(r["top1_p"])
        assert float(r["top1_p"]) >= float(r["top2_p"]) and r["top2"] != r["top1"]


def test_predict_handles_empty_and_punctuation_texts(multiclass_predictions):
    _, rows = read_csv_rows(multiclass_predictions)
    by_text = {r["text"]: r for r in rows}
    for text in ("", "!!! ...", "?", "   "):
        assert text in by_text, text
        assert by_text[text]["prediction"] in ("food", "sports", "tech")


def test_reloaded_model_reproduces_predict_output(multiclass_run, multiclass_predictions):
    """Independent check: each text alone (no padding, batch of 1) through load_run(...).model."""
    from textclf.model.network import probabilities_from_logits
    from textclf.run.directory import load_run

    loaded = load_run(multiclass_run.run)
    _, rows = read_csv_rows(multiclass_predictions)
    texts = [r["text"] for r in read_csv_rows(multiclass_run.predict_input)[1]]
    encoded = loaded.vocab.encoder().encode(texts)
    sample = list(range(0, len(texts), 2)) + [texts.index(""), texts.index("!!! ...")]
    expected = []
    for i in sample:
        inputs = dict(encoded.batch(np.array([i])))
        assert inputs["tokens"].shape[1] >= 1 and (inputs["tokens"] != 0).all()  # unpadded, never all-masked
        logits = np.asarray(loaded.model(inputs, training=False))
        expected.append(probabilities_from_logits(loaded.task, logits)[0])
    got = probs_of([rows[i] for i in sample], loaded.classes)
    assert np.allclose(got, np.asarray(expected), atol=2e-6)
    assert [rows[i]["prediction"] for i in sample] == [loaded.classes[int(np.argmax(p))] for p in expected]


def test_chunked_prediction_equals_in_memory(multiclass_run, tmp_path):
    from textclf.use.prediction import predict_file as predict

    small = predict(
        multiclass_run.run,
        multiclass_run.predict_input,
        tmp_path / "chunked.csv",
        chunk_rows=7,
        batch_size=5,
        keep_columns=["id"],
    )
    whole = predict(
        multiclass_run.run,
        multiclass_run.predict_input,
        tmp_path / "whole.csv",
        chunk_rows=100_000,
        batch_size=512,
        keep_columns=["id"],
    )
    assert small.rows == whole.rows == 40
    ha, a = read_csv_rows(tmp_path / "chunked.csv")
    hb, b = read_csv_rows(tmp_path / "whole.csv")
    assert ha == hb
    pcols = [c for c in ha if c.startswith("p_")]
    assert [[r[c] for c in ["id"] + pcols] for r in a] == [[r[c] for c in ["id"] + pcols] for r in b]
    assert [r["prediction"] for r in a] == [r["prediction"] for r in b]


def test_prediction_other_formats(multiclass_run, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = ["goal team match", "pizza cheese soup", "", "laptop code"]
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": texts, "id": ["NA", "00123", "null", "True"]}), src)
    out = tmp_path / "out.csv"
    result = cli("predict", "--model", multiclass_run.run, "--input", src, "--output", out, "--keep-columns", "id")
    assert result.exit_code == 0, result.output
    _, rows = read_csv_rows(out)
    assert [r["id"] for r in rows] == ["NA", "00123", "null", "True"]


# --------------------------------------------------------------------------------------------------
# Predict: refusals and spreadsheet safety


def test_output_that_is_the_input_directly_or_through_a_link_is_refused(multiclass_run, tmp_path):
    data = tmp_path / "in.csv"
    shutil.copyfile(multiclass_run.predict_input, data)
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    before = sha256(data)
    for out in (data, link, tmp_path / "." / "in.csv"):
        assert_refused_with(
            cli("predict", "--model", multiclass_run.run, "--input", data, "--output", out),
            2,
            r"--output .* is the input file",
            r"input is left unchanged",
        )
        assert sha256(data) == before
    result = cli("predict", "--model", multiclass_run.run, "--input", link, "--output", data)
    assert_refused_with(result, 2, r"is the input file")
    assert sha256(data) == before and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "link.csv"]


def test_output_folder_missing(multiclass_run, tmp_path):
    assert_clean_error(
        cli(*predict_args(multiclass_run.run, multiclass_run.predict_input, tmp_path / "no" / "out.csv")),
        2,
        "does not exist",
    )


def test_input_missing_is_exit_2(multiclass_run, tmp_path):
    assert_clean_error(
        cli(
            "predict", "--model", multiclass_run.run, "--input", tmp_path / "nope.csv", "--output", tmp_path / "out.csv"
        ),
        2,
        "not found",
    )
    assert not (tmp_path / "out.csv").exists()


def test_input_without_text_column_is_exit_3(multiclass_run, tmp_path):
    src = write_csv(tmp_path / "in.csv", ["body"], [("hello",)])
    assert_clean_error(
        cli("predict", "--model", multiclass_run.run, "--input", src, "--output", tmp_path / "out.csv"),
        3,
        "'text' not found",
        "'body'",
    )
    assert not (tmp_path / "out.csv").exists()


def test_formula_texts_and_labels_are_spreadsheet_safe_unless_asked_not_to(run_copy, tmp_path):
    # class names that start with = + @ (re-sealed: a valid run whose labels are formulas)
    classes = ["=cmd|' /C calc'!A0", "+food", "@tech"]
    labels = json.loads((run_copy / "labels.json").read_text(encoding="utf-8"))
    labels["classes"] = classes
    (run_copy / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    artifacts.write_manifest(run_copy)
    texts = ['=HYPERLINK("http://x")', "+1+2", "-3 minus", "@SUM(A1)", "\tindented", "plain", *EDGE_TEXTS]
    data = write_csv(tmp_path / "in.csv", ["id", "text"], [(f"=id{i}", t) for i, t in enumerate(texts)])
    safe_out, raw_out = tmp_path / "safe.csv", tmp_path / "raw.csv"
    args = ["predict", "--model", run_copy, "--input", data, "--keep-columns", "id,text", "--top-k", "2"]
    result = cli(*args, "--output", safe_out)
    assert result.exit_code == 0, result.output
    header, got = read_csv_rows(safe_out)
    # a spreadsheet runs a cell that starts with = + - @, a tab or a carriage return: one ' in front, once
    formula = ("=", "+", "-", "@", "\t", "\r")
    assert [r["text"] for r in got] == ["'" + t if t.startswith(formula) else t for t in texts]
    assert [r["id"] for r in got] == [f"'=id{i}" for i in range(len(texts))]
    for r in got:  # the model's own values are never altered: a label stays the label
        assert {r["prediction"], r["top1"], r["top2"]} <= set(classes), r
    assert all(not h.startswith(formula) for h in header), header
    result = cli(*args, "--output", raw_out, "--no-safe-csv")
    assert result.exit_code == 0, result.output
    _, got = read_csv_rows(raw_out)
    assert [r["text"] for r in got] == texts
    assert [r["id"] for r in got] == [f"=id{i}" for i in range(len(texts))]
    assert {r["prediction"] for r in got} <= set(classes)


def test_predict_does_not_delete_unrelated_temp_files(multiclass_run, tmp_path):
    # A hidden .tmp file in the output folder that textclf did not create (another program's, or another
    # textclf predict writing there at the same time) must survive.
    other = tmp_path / ".draft.tmp"
    other.write_text("someone else's work", encoding="utf-8")
    result = cli(*predict_args(multiclass_run.run, multiclass_run.predict_input, tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    assert other.exists(), "textclf predict deleted a file it did not create"


def test_binary_predictions(binary_run, tmp_path):
    out = tmp_path / "b.csv"
    result = cli(*predict_args(binary_run.run, binary_run.test, out, "--keep-columns", "label", "--top-k", "5"))
    assert result.exit_code == 0, result.output
    header, rows = read_csv_rows(out)
    assert header == ["label", "prediction", "confidence", "top1", "top1_p", "top2", "top2_p", "p_00123", "p_NA"]
    probs = probs_of(rows, ["00123", "NA"])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=2e-6)
    cut = json.loads((binary_run.run / "thresholds.json").read_text())["thresholds"]["NA"]  # tuned for "NA"
    assert 0 < cut < 1
    for r, p in zip(rows, probs):
        if abs(p[1] - cut) < 1e-5:
            continue  # too close to the threshold to judge from 6 decimals
        assert r["prediction"] == ("NA" if p[1] >= cut else "00123")
        assert r["label"] in ("NA", "00123")
    # --threshold overrides the tuned threshold
    assert (
        cli(
            "predict", "--model", binary_run.run, "--input", binary_run.test, "--output", out, "--threshold", "0.5"
        ).exit_code
        == 0
    )
    _, rows = read_csv_rows(out)
    for r, p in zip(rows, probs_of(rows, ["00123", "NA"])):
        if abs(p[1] - 0.5) >= 1e-5:
            assert r["prediction"] == ("NA" if p[1] >= 0.5 else "00123")


def test_multilabel_predictions_join_labels(multilabel_run, tmp_path):
    out = tmp_path / "all.csv"
    result = cli(
        "predict", "--model", multilabel_run.run, "--input", multilabel_run.test, "--output", out, "--threshold", "0"
    )
    assert result.exit_code == 0, result.output
    header, rows = read_csv_rows(out)
    assert header == ["prediction", "confidence", "p_blue", "p_green", "p_red"]
    assert rows and all(r["prediction"] == "blue|green|red" for r in rows)

    out = tmp_path / "default.csv"
    assert cli("predict", "--model", multilabel_run.run, "--input", multilabel_run.test, "--output", out).exit_code == 0
    _, rows = read_csv_rows(out)
    cut = json.loads((multilabel_run.run / "thresholds.json").read_text())["thresholds"]  # tuned per label
    assert set(cut) == {"blue", "green", "red"}
    for r in rows:
        p = {c: float(r[f"p_{c}"]) for c in ("blue", "green", "red")}
        if any(abs(v - cut[c]) < 1e-5 for c, v in p.items()):
            continue  # too close to the threshold to judge from 6 decimals
        assert r["prediction"] == "|".join(c for c in ("blue", "green", "red") if p[c] >= cut[c])


# --------------------------------------------------------------------------------------------------
# Eval


def _eval(run, data, out: Path, *extra):
    result = cli("eval", "--model", run, "--data", data, "--output", out, *extra)
    return result, (json.loads(out.read_text(encoding="utf-8")) if out.exists() else None)


def test_eval_multiclass_matches_sklearn(multiclass_run, tmp_path):
    from sklearn import metrics as skm

    result, m = _eval(multiclass_run.run, multiclass_run.test, tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    for key in ("accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix"):
        assert key in m
    assert "accuracy" in result.stdout and "confusion matrix" in result.stdout and "food" in result.stdout

    preds = tmp_path / "p.csv"
    assert (
        cli("predict", "--model", multiclass_run.run, "--input", multiclass_run.test, "--output", preds).exit_code == 0
    )
    y_pred = labels_column(preds, "prediction")
    y_true = labels_column(multiclass_run.test)
    classes = ["food", "sports", "tech"]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", labels=classes, zero_division=0), abs=1e-12
    )
    assert m["weighted_f1"] == pytest.approx(
        skm.f1_score(y_true, y_pred, average="weighted", labels=classes, zero_division=0), abs=1e-12
    )
    assert m["confusion_matrix"]["labels"] == classes
    assert m["confusion_matrix"]["matrix"] == skm.confusion_matrix(y_true, y_pred, labels=classes).tolist()
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    for i, c in enumerate(classes):
        assert m["per_class"][c]["support"] == s[i]
        assert m["per_class"][c]["f1"] == pytest.approx(f[i], abs=1e-12)
        assert m["per_class"][c]["precision"] == pytest.approx(p[i], abs=1e-12)
    # the test figures saved at the end of training are the same as a later eval
    saved = json.loads((multiclass_run.run / "metrics.json").read_text())["test"]
    assert saved["accuracy"] == pytest.approx(m["accuracy"], abs=1e-12)


def test_eval_binary_matches_sklearn(binary_run, tmp_path):
    from sklearn import metrics as skm

    result, m = _eval(binary_run.run, binary_run.test, tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    preds = tmp_path / "p.csv"
    assert cli("predict", "--model", binary_run.run, "--input", binary_run.test, "--output", preds).exit_code == 0
    _, rows = read_csv_rows(preds)
    y_true = labels_column(binary_run.test)
    y_pred = [r["prediction"] for r in rows]
    assert set(m["per_class"]) == {"00123", "NA"}
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-12)
    auc = skm.roc_auc_score([y == "NA" for y in y_true], [float(r["p_NA"]) for r in rows])
    assert m["roc_auc"] == pytest.approx(auc, abs=1e-3)


def test_eval_multilabel_matches_sklearn(multilabel_run, tmp_path):
    from sklearn import metrics as skm
    from sklearn.preprocessing import MultiLabelBinarizer

    result, m = _eval(multilabel_run.run, multilabel_run.test, tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    for key in ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "per_label"):
        assert key in m
    assert "micro-F1" in result.stdout
    preds = tmp_path / "p.csv"
    assert (
        cli("predict", "--model", multilabel_run.run, "--input", multilabel_run.test, "--output", preds).exit_code == 0
    )
    classes = ["blue", "green", "red"]
    mlb = MultiLabelBinarizer(classes=classes)
    split = lambda cells: [[x for x in c.split("|") if x] for c in cells]  # noqa: E731
    y_true = mlb.fit_transform(split(labels_column(multilabel_run.test, "labels")))
    y_pred = mlb.transform(split(labels_column(preds, "prediction")))
    assert m["micro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="micro", zero_division=0), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-12)
    assert m["subset_accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    assert m["hamming_loss"] == pytest.approx(skm.hamming_loss(y_true, y_pred), abs=1e-12)
    assert set(m["per_label"]) == set(classes)
    assert [m["per_label"][c]["support"] for c in classes] == y_true.sum(axis=0).tolist()


def test_eval_unseen_labels_named_with_counts(multiclass_run, tmp_path):
    rows = [(t, y) for t, y in zip(labels_column(multiclass_run.test, "text"), labels_column(multiclass_run.test))]
    rows += [("drums and guitar", "music")] * 3 + [("a poem", "poetry")]
    data = write_csv(tmp_path / "eval.csv", ["text", "label"], rows)
    out = tmp_path / "m.json"
    result, m = _eval(multiclass_run.run, data, out)
    assert_clean_error(result, 3, "'music' ×3", "'poetry' ×1", "--ignore-unseen")
    assert m is None

    result, m = _eval(multiclass_run.run, data, out, "--ignore-unseen")
    assert result.exit_code == 0, result.output
    assert m["unseen_labels"] == {"music": 3, "poetry": 1}
    assert m["rows"] == len(rows) - 4
    assert "music" in result.stderr


def test_eval_multilabel_unseen_labels(multilabel_run, tmp_path):
    rows = [("ocean sky cherry", "blue|red"), ("grass leaf", "green|purple"), ("whale", "blue")]
    data = write_csv(tmp_path / "eval.csv", ["text", "labels"], rows)
    out = tmp_path / "m.json"
    result, _ = _eval(multilabel_run.run, data, out)
    assert_clean_error(result, 3, "'purple' ×1")
    result, m = _eval(multilabel_run.run, data, out, "--ignore-unseen")
    assert result.exit_code == 0, result.output
    assert m["unseen_labels"] == {"purple": 1} and m["per_label"]["green"]["support"] == 1


def test_eval_output_equal_to_data_refused(multiclass_run, tmp_path):
    # like predict's --output, eval's --output must never replace the labeled data it reads
    data = tmp_path / "test.csv"
    shutil.copy(multiclass_run.test, data)
    before = sha256(data)
    result = cli("eval", "--model", multiclass_run.run, "--data", data, "--output", data)
    assert sha256(data) == before, "eval --output overwrote the data file"
    assert_clean_error(result, 2, "is the data file")


def test_eval_number_like_label_hint(binary_run, tmp_path):
    data = write_csv(tmp_path / "eval.csv", ["text", "label"], [("goal team", "123"), ("pizza", "00123")])
    result, _ = _eval(binary_run.run, data, tmp_path / "m.json")
    assert_clean_error(result, 3, "'123' ×1", "did you mean '00123'")
