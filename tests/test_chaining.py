"""Commands that chain and output that fits where it goes: the errors file read back by explain, hints that
name the running command's own option, sniffed delimiters, runs damaged by an output inside them, progress on
terminals only, and plots that say what they show."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from support import (
    SMALL,
    assert_clean_error,
    cli,
    read_csv_rows,
    topic_rows,
    write_csv,
    write_jsonl,
)

# --------------------------------------------------------------------------------------------------
# eval --errors, then explain --input errors.csv


def _renamed_test_file(multiclass_run, path):
    """The multiclass test set under other column names, with an id and one unknown-to-nobody extra column."""
    header, rows = read_csv_rows(multiclass_run.test)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["ticket", "body", "topic", "note"])
        writer.writerows([f"t{i:03d}", r["text"], r["label"], "x"] for i, r in enumerate(rows))
    return path


def test_errors_file_keeps_the_text_column_ids_and_source_lines(multiclass_run, tmp_path):
    data = _renamed_test_file(multiclass_run, tmp_path / "renamed.csv")
    errors = tmp_path / "errors.csv"
    args = ["--text-column", "body", "--label-column", "topic", "--no-plots"]
    result = cli(
        "eval", "--model", multiclass_run.run, "--data", data, *args, "--errors", errors, "--keep-columns", "ticket"
    )
    assert result.exit_code == 0, result.output
    header, rows = read_csv_rows(errors)
    assert header == ["line", "ticket", "body", "true", "predicted", "confidence"]
    _, source = read_csv_rows(data)
    for row in rows:  # each row points back at its line in the evaluated file (line 1 is the header)
        original = source[int(row["line"]) - 2]
        assert (row["ticket"], row["true"]) == (original["ticket"], original["topic"])
        assert row["true"] != row["predicted"]


def test_explain_reads_an_errors_file_as_is_with_true_labels_and_source_lines(multiclass_run, tmp_path):
    header, rows = read_csv_rows(multiclass_run.test)
    errors = tmp_path / "errors.csv"
    # a model that has seen two epochs of tiny data still makes mistakes on a relabelled copy of the test set
    flipped = tmp_path / "flipped.csv"
    write_csv(flipped, ["id", "text", "label"], [(f"i{n}", r["text"], "food") for n, r in enumerate(rows)])
    result = cli(
        "eval",
        "--model",
        multiclass_run.run,
        "--data",
        flipped,
        "--errors",
        errors,
        "--keep-columns",
        "id",
        "--no-plots",
    )
    assert result.exit_code == 0, result.output
    _, mistakes = read_csv_rows(errors)
    assert mistakes, "the relabelled file must give mistakes"
    explained = cli("explain", "--model", multiclass_run.run, "--input", errors, "--limit", "2", "--no-color")
    assert explained.exit_code == 0, explained.output
    first = mistakes[0]
    assert f"line {first['line']}: true food, prediction {first['predicted']}" in explained.stdout


def test_keep_columns_without_an_errors_file_is_refused(multiclass_run):
    result = cli("eval", "--model", multiclass_run.run, "--data", multiclass_run.test, "--keep-columns", "id")
    assert_clean_error(result, 2, "--keep-columns", "--errors")


# --------------------------------------------------------------------------------------------------
# did you mean: close and case-insensitive matches, naming the running command's option


def test_predict_hint_names_its_own_option(multiclass_run, tmp_path):
    result = cli("predict", "--model", multiclass_run.run, "--input", multiclass_run.test, "--output",
                 tmp_path / "p.csv", "--text-column", "Text")  # fmt: skip
    out = assert_clean_error(result, 3, "did you mean 'text'? (set --text-column)")
    assert "data.text_column" not in out


@pytest.mark.fast
def test_train_hint_names_the_config_key_and_finds_close_spellings(multiclass_files, tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {multiclass_files['train']}\n  label_column: lable\n", encoding="utf-8")
    out = assert_clean_error(cli("train", "--config", conf, *SMALL), 3, "did you mean 'label'? (set data.label_column)")
    assert "--label-column" not in out and "--text-column" not in out


@pytest.mark.fast
def test_jsonl_key_hint_names_the_config_key(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"Text": f"{t}", "label": y} for t, y in topic_rows(30, seed=1)])
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {data}\n", encoding="utf-8")
    out = assert_clean_error(cli("train", "--config", conf, *SMALL), 3, "did you mean 'Text'? (set data.text_column)")
    assert "--text-column" not in out


def test_eval_label_hint_is_case_insensitive(multiclass_run, tmp_path):
    header, rows = read_csv_rows(multiclass_run.test)
    data = write_csv(tmp_path / "d.csv", ["text", "label"], [(r["text"], r["label"].capitalize()) for r in rows])
    assert_clean_error(
        cli("eval", "--model", multiclass_run.run, "--data", data, "--no-plots"),
        3,
        "'Sports'",
        "did you mean 'sports'?",
    )


@pytest.mark.fast
def test_init_hint_names_its_own_option(multiclass_files, tmp_path):
    result = cli("init", "--data", multiclass_files["train"], "--text-column", "TEXT", "--output", tmp_path / "c.yaml")
    assert_clean_error(result, 2, "--text-column 'TEXT'", "did you mean 'text'?")


@pytest.mark.fast
def test_one_closest_rule_for_keys_choices_columns_and_labels():
    from textclf.errors import closest

    assert closest("Text", ["id", "text"]) == "text"  # case first
    assert closest(" LABEL ", ["label", "labels"]) == "label"
    assert closest("lable", ["text", "label"]) == "label"  # then spelling
    assert closest("zzz", ["text", "label"]) is None


# --------------------------------------------------------------------------------------------------
# Delimiters


@pytest.mark.fast
@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_csv_with_another_delimiter_is_sniffed(tmp_path, delimiter):
    from textclf.io.labeled import read_labeled

    rows = [("3,5 stars; not bad" if delimiter != ";" else "3,5 stars, not bad", "food")] + topic_rows(20, seed=2)
    path = write_csv(tmp_path / "d.csv", ["text", "label"], rows, delimiter=delimiter)
    data = read_labeled(path, "text", "label")
    assert data.texts[0] == rows[0][0] and len(data) == len(rows)


@pytest.mark.fast
def test_data_delimiter_forces_one_and_init_reports_the_sniffed_one(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["Text", "Label"], topic_rows(40, seed=3), delimiter=";")
    init = cli("init", "--data", path, "--output", tmp_path / "c.yaml")
    assert init.exit_code == 0, init.output
    assert "delimiter:    semicolon (';')" in init.stdout
    assert "delimiter: semicolon" in (tmp_path / "c.yaml").read_text(encoding="utf-8")
    conf = tmp_path / "forced.yaml"
    conf.write_text(f"data:\n  train: {path}\n  text_column: Text\n  delimiter: comma\n", encoding="utf-8")
    assert_clean_error(cli("check-data", "--config", conf), 3, "semicolon (';')", "set data.delimiter")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"data:\n  train: {path}\n  delimiter: semicolom\n", encoding="utf-8")
    assert_clean_error(cli("check-data", "--config", bad), 2, "data.delimiter", "did you mean 'semicolon'?")


@pytest.mark.fast
def test_the_bundled_demo_data_reads_without_a_swallowed_row_warning():
    from pathlib import Path

    from textclf.io.labeled import read_labeled

    data = read_labeled(Path(__file__).parent.parent / "data" / "train.csv", "text", "label")
    assert data.report.swallowed == [] and any("\n" in t for t in data.texts)


@pytest.mark.fast
def test_a_quoted_text_holding_a_comma_table_is_not_taken_for_swallowed_rows(tmp_path):
    from textclf.io.labeled import read_labeled

    table = "Standings:\n" + "\n".join(f"{i},Tor,carter{i}  0.{i}" for i in range(1, 12))
    rows = topic_rows(20, seed=4) + [(table, "sports")] + topic_rows(5, seed=5)
    data = read_labeled(write_csv(tmp_path / "t.csv", ["text", "label"], rows), "text", "label")
    assert data.report.swallowed == [] and table in data.texts
    one_column = write_csv(tmp_path / "one.csv", ["text"], [("a\nb\nc\nd",), ("e",)])
    from textclf.io.tables import ReadReport, iter_chunks

    report = ReadReport(str(one_column))
    list(iter_chunks(one_column, ["text"], report=report))
    assert report.swallowed == []  # a single column has no delimiter to tell rows by


# --------------------------------------------------------------------------------------------------
# A run with an output written into it


def test_runs_reports_a_run_with_a_foreign_file_as_damaged(run_copy):
    (run_copy / "preds.csv").write_text("x\n", encoding="utf-8")
    listed = cli("runs", str(run_copy.parent), "--json")
    assert listed.exit_code == 0, listed.output
    (entry,) = [r for r in json.loads(listed.stdout) if r["name"] == run_copy.name]
    assert entry["status"] == "damaged" and "preds.csv" in entry["problem"]


# --------------------------------------------------------------------------------------------------
# Progress


def test_training_off_a_terminal_prints_one_line_per_epoch_and_no_bar(multiclass_run):
    assert "train.verbose=true" in multiclass_run.args  # the bar is on, but this is no terminal
    out = multiclass_run.stdout
    assert "\r" not in out and "━" not in out and "step" not in out
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]


@pytest.mark.fast
def test_the_step_bar_shows_the_epoch_mean_loss_and_clears_itself(monkeypatch):
    from textclf.training.progress import StepBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    bar = StepBar(3, epoch=1, epochs=2)
    losses = [1.0, 0.5, 0.3]
    for step in range(1, 4):
        bar.update(step, sum(losses[:step]) / step)
    drawn = screen.getvalue()
    assert "3/3 loss 0.6000" in drawn  # the mean the epoch summary reports, not the last batch's 0.3
    bar.close()
    assert screen.getvalue().endswith("\r")
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    StepBar(3, epoch=1, epochs=2).update(3, 0.1)
    assert piped.getvalue() == ""


def test_predict_counts_rows_and_leaves_start_up_out_of_its_rate(multiclass_run, tmp_path):
    texts = [f"line one {t}\nline two" for t, _ in topic_rows(30, seed=9)]
    data = write_csv(tmp_path / "multi.csv", ["text"], [(t,) for t in texts])
    calls = []
    from textclf.use.prediction import predict_file

    summary = predict_file(multiclass_run.run, data, tmp_path / "p.csv", progress=lambda *a: calls.append(a))
    done, total, rows = calls[-1]
    assert rows == summary.rows == 30 and done == total == 61  # 61 lines: the header and two per row
    assert summary.startup > 0 and "start-up" in str(summary)


# --------------------------------------------------------------------------------------------------
# Plots


@pytest.mark.fast
def test_training_curves_mark_the_kept_epoch_label_both_axes_and_name_the_run():
    from textclf.use.plots import curves_figure

    history = [
        {"epoch": e, "loss": 1 / e, "val_loss": 1 / e + 0.1, "accuracy": 0.5, "val_accuracy": v}
        for e, v in ((1, 0.6), (2, 0.8), (3, 0.7))
    ]
    fig = curves_figure(history, "accuracy", title="demo-20261202-101010", best_epoch=2)
    assert "demo-20261202-101010" in fig._suptitle.get_text()
    for ax in fig.axes:
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel()
        marks = [line for line in ax.get_lines() if line.get_label() == "kept: epoch 2"]
        assert marks and list(marks[0].get_xdata()) == [2, 2]


@pytest.mark.fast
def test_confusion_title_gives_accuracy_and_the_binary_threshold():
    from textclf.use.plots import confusion_title

    binary = {"accuracy": 0.91234, "threshold": 0.42, "threshold_source": "tuned"}
    assert confusion_title(binary, "run on test.csv") == "run on test.csv\naccuracy 0.9123, threshold 0.42 (tuned)"
    assert confusion_title({"accuracy": 0.5}, "x") == "x\naccuracy 0.5000"
