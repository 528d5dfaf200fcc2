"""Hostile and careless input, by family: each family of failure is fixed once, where its policy lives, and
tried here on several commands and cases. A refusal is one clear message with its exit code, and changes
nothing on disk."""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import (
    SMALL,
    CliProcess,
    assert_clean_error,
    cli,
    read_csv_rows,
    sha256,
    topic_rows,
    tree_hashes,
    write_csv,
    write_jsonl,
)

from textclf.run import directory


def _unchanged(paths: list[Path]):
    """A snapshot of files and folders; calling it asserts that nothing changed."""
    before = {p: (tree_hashes(p) if p.is_dir() else sha256(p)) for p in paths}

    def check() -> None:
        for p, was in before.items():
            assert (tree_hashes(p) if p.is_dir() else sha256(p)) == was, f"{p} changed"

    return check


# --------------------------------------------------------------------------------------------------
# 1. Outputs that destroy things: one check for every file a command writes


def test_outputs_inside_a_run_directory_are_refused_by_every_command(multiclass_run, tmp_path):
    run, data = multiclass_run.run, multiclass_run.predict_input
    unchanged = _unchanged([run])
    attempts = [
        ("predict", "--model", run, "--input", data, "--output", run / "weights.npz"),
        ("predict", "--model", run, "--input", data, "--output", run / "predictions.csv"),
        ("eval", "--model", run, "--data", multiclass_run.test, "--output", run / "metrics.json"),
        ("eval", "--model", run, "--data", multiclass_run.test, "--errors", run / "logs" / "errors.csv"),
        ("explain", "--model", run, "--text", "a ball", "--html", run / "explain.html"),
        ("export", "--model", run, "--format", "tflite", "--output", run / "export"),
        ("init", "--data", multiclass_run.train, "--output", run / "config.yaml", "--force"),
        ("datasets", "download", "trec", "--to", run / "trec"),
        ("train", "--config", multiclass_run.config, "--run-dir", run / "inner", *SMALL),
        ("train", "--config", multiclass_run.config, "--set", f"train.runs_dir={run}", *SMALL),
    ]
    for args in attempts:
        assert_clean_error(cli(*args), 2, "inside the run directory")
    unchanged()
    directory.verify(run)  # still sealed by its manifest


def test_an_output_is_never_an_input_of_the_same_command(multiclass_run, tmp_path):
    run = multiclass_run.run
    data = tmp_path / "data.csv"
    shutil.copy(multiclass_run.test, data)
    rejects_named = tmp_path / "p.csv.rejects.csv"
    shutil.copy(multiclass_run.predict_input, rejects_named)
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    unchanged = _unchanged([data, rejects_named])
    attempts = [
        (("explain", "--model", run, "--input", data, "--html", data), "is the input file"),
        (("predict", "--model", run, "--input", rejects_named, "--output", tmp_path / "p.csv"), "is the input file"),
        (("predict", "--model", run, "--input", data, "--output", link), "is the input file"),
        (("eval", "--model", run, "--data", data, "--output", data), "is the data file"),
        (("eval", "--model", run, "--data", data, "--errors", link), "is the data file"),
        (("init", "--data", data, "--output", data, "--force"), "received a data file name"),
        (("export", "--model", run, "--format", "tflite", "--output", run), "inside the run directory"),
    ]
    for args, needle in attempts:
        assert_clean_error(cli(*args), 2, needle)
    unchanged()


def test_two_outputs_of_one_command_never_name_the_same_file(multiclass_run, tmp_path):
    out = tmp_path / "both.csv"
    result = cli("eval", "--model", multiclass_run.run, "--data", multiclass_run.test, "--output", out, "--errors", out)
    assert_clean_error(result, 2, "names the same file as another output")
    assert not out.exists()


# --------------------------------------------------------------------------------------------------
# 2. Rows that silently disappear


def _tsv_with_a_stray_quote(path: Path, rows: int = 40) -> Path:
    lines = ["text\tlabel"]
    for i in range(rows):
        text = f"the ball and goal {i}" if i % 2 else f"pizza and soup {i}"
        if i == 10:
            text = '"quoted start of ' + text  # a quote that opens a field and never closes it on this line
        if i == 30:
            text += ' closing quote"'
        lines.append(f"{text}\t{'sports' if i % 2 else 'food'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_stray_quote_that_swallows_rows_is_reported_with_its_line_span(multiclass_run, tmp_path):
    tsv = _tsv_with_a_stray_quote(tmp_path / "swallow.tsv")
    out = tmp_path / "p.csv"
    result = cli("predict", "--model", multiclass_run.run, "--input", tsv, "--output", out, "--line-numbers")
    assert result.exit_code == 0, result.output
    assert "lines 12-32" in result.stderr and "rows were read from 40 lines" in result.stderr, result.stderr
    header, rows = read_csv_rows(out)
    assert header[0] == "line" and [int(r["line"]) for r in rows][10:12] == [12, 33]  # each row names its line
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {tsv}\n", encoding="utf-8")
    report = cli("check-data", "--config", conf, "--json")
    findings = {f["check"]: f for f in json.loads(report.stdout)["findings"]}
    assert "lines 12-32" in findings["swallowed_rows_train"]["message"]
    trained = cli("train", "--config", conf, "--run-dir", tmp_path / "run", *SMALL, "--set", "train.epochs=1")
    assert trained.exit_code == 0 and "lines 12-32" in trained.output, trained.output


@pytest.mark.fast
def test_tsv_and_csv_written_by_pandas_read_back_cell_for_cell(tmp_path):
    import pandas as pd

    from textclf.io.labeled import read_labeled

    texts = ['"quoted" at the start', "a\ttab inside", "two\nlines", 'ends with a quote"', "plain", "=formula", ""]
    frame = pd.DataFrame({"text": texts, "label": [f"l{i % 3}" for i in range(len(texts))]})
    for sep, name in (("\t", "d.tsv"), (",", "d.csv")):
        frame.to_csv(tmp_path / name, sep=sep, index=False)
        data = read_labeled(tmp_path / name, "text", "label")
        assert data.texts == texts and data.labels == frame["label"].tolist()
        assert data.report.swallowed == []


# --------------------------------------------------------------------------------------------------
# 3. Output that alters values


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory) -> Path:
    """A binary run whose labels look like numbers and formulas: -1 and +1."""
    folder = tmp_path_factory.mktemp("signed")
    rows = [(t, "-1" if lab == "sports" else "+1") for t, lab in topic_rows(120, seed=31)
            if lab in ("sports", "food")]  # fmt: skip
    write_csv(folder / "train.csv", ["text", "label"], rows)
    write_csv(folder / "test.csv", ["text", "label"], rows[:20] + [("=cmd|' /C calc'!A0 goal", "-1")])
    result = cli("train", "--config", _config(folder), "--run-dir", folder / "run", *SMALL)
    assert result.exit_code == 0, result.output
    return folder / "run"


def _config(folder: Path) -> Path:
    conf = folder / "c.yaml"
    conf.write_text(f"data:\n  train: {folder / 'train.csv'}\n  test: {folder / 'test.csv'}\n", encoding="utf-8")
    return conf


def test_labels_and_predictions_are_never_prefixed_echoed_text_is(signed_run, tmp_path):
    data = signed_run.parent / "test.csv"
    out = tmp_path / "p.csv"
    result = cli("predict", "--model", signed_run, "--input", data, "--output", out, "--keep-columns", "text,label",
                 "--top-k", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    header, rows = read_csv_rows(out)
    assert header[:4] == ["text", "label", "prediction", "confidence"] and "p_-1" in header and "p_+1" in header
    assert {r["prediction"] for r in rows} <= {"-1", "+1"} and {r["top1"] for r in rows} <= {"-1", "+1"}
    assert {r["label"] for r in rows} <= {"'-1", "'+1"}  # a kept column is echoed input: made safe
    assert rows[-1]["text"].startswith("'=cmd")
    errors = tmp_path / "e.csv"
    assert cli("eval", "--model", signed_run, "--data", data, "--errors", errors, "--threshold", "0.0").exit_code == 0
    _, mistakes = read_csv_rows(errors)
    assert mistakes and all(r["true"] in ("-1", "+1") and r["predicted"] in ("-1", "+1") for r in mistakes)


def test_kept_columns_are_copied_whole_and_never_written_twice(multiclass_run, tmp_path):
    big = "word " * 60_000  # 300,000 characters: over the 100,000 the model reads
    src = write_csv(tmp_path / "in.csv", ["text", "prediction", "p_food", "note"],
                    [("the ball and the goal", "old", "0.1", big), (big, "older", "0.2", "short")])  # fmt: skip
    out = tmp_path / "p.csv"
    result = cli("predict", "--model", multiclass_run.run, "--input", src, "--output", out,
                 "--keep-columns", "prediction,p_food,note,text")  # fmt: skip
    assert result.exit_code == 0, result.output
    header, rows = read_csv_rows(out)
    assert len(header) == len(set(header))  # no name twice
    assert header[:4] == ["input_prediction", "input_p_food", "note", "text"] and "prediction" in header
    assert rows[0]["note"] == big and rows[1]["text"] == big and rows[0]["input_prediction"] == "old"
    assert "written under new names" in result.stderr and "texts longer than 100,000" in result.stderr
    assert_clean_error(cli("predict", "--model", multiclass_run.run, "--input", src, "--output", out,
                           "--keep-columns", "note,note"), 2, "named more than once")  # fmt: skip


# --------------------------------------------------------------------------------------------------
# 4. Concurrency


def test_a_second_writer_never_removes_the_first_writers_temporary_file(multiclass_run, tmp_path):
    out = tmp_path / "shared.csv"
    code = (
        "import sys, time\nfrom textclf.io.files import atomic_write\n"
        f"with atomic_write({str(out)!r}, 'w') as f:\n"
        "    f.write('first writer\\n'); f.flush(); print(f.name, flush=True); sys.stdin.readline()\n"
    )  # the first writer holds its temporary file open until the test lets it finish
    first = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        temp = Path(first.stdout.readline().strip())
        assert temp.exists()
        second = cli("predict", "--model", multiclass_run.run, "--input", multiclass_run.predict_input, "--output", out)
        assert second.exit_code == 0, second.output
        assert temp.exists(), "the second writer removed the first writer's live temporary file"
    finally:
        first.communicate("finish\n", timeout=60)
    assert first.returncode == 0
    assert out.read_text() == "first writer\n"  # the last writer to finish wins, whole


def test_a_second_train_resume_of_one_run_is_refused_at_once(multiclass_files, tmp_path):
    run = tmp_path / "run"
    args = ["--config", multiclass_files["config"], "--run-dir", run, *SMALL, "--set", "train.epochs=50",
            "--set", "train.early_stopping_patience=0"]  # fmt: skip
    with CliProcess("train", *args, logs=tmp_path / "logs") as first:
        first.wait_until(lambda: list((run / "checkpoints").glob("epoch-*")), what="a first checkpoint")
        t0 = time.monotonic()
        second = cli("train", "--resume", run)
        assert time.monotonic() - t0 < 60  # at once: it never waits for the first
        assert_clean_error(second, 2, "is being trained by another process", f"pid {first.pid}")
        first.signal(signal.SIGTERM)
        assert first.wait(120) == 143, first.output
    from textclf.run import directory

    with directory.training_lock(run):  # the stopped trainer let go of its lock: the next resume may take it
        assert (run / ".textclf-train.lock").read_text() == str(os.getpid())


def test_sigterm_during_predict_removes_its_temporary_file(multiclass_run, tmp_path):
    big = write_csv(tmp_path / "big.csv", ["text"], [(t,) for t, _ in topic_rows(60_000, seed=5)])
    out = tmp_path / "p.csv"
    out.write_text("old output\n", encoding="utf-8")
    with CliProcess("predict", "--model", multiclass_run.run, "--input", big, "--output", out,
                    logs=tmp_path / "logs") as p:  # fmt: skip
        p.wait_until(lambda: any(n.name.endswith(".tmp") for n in tmp_path.iterdir()), what="a temporary file",
                     interval=0.01)  # fmt: skip
        p.signal(signal.SIGTERM)
        assert p.wait(60) == 143, p.output
    assert "terminated" in p.stderr and "Traceback" not in p.stderr
    assert not [n for n in tmp_path.iterdir() if n.name.endswith(".tmp")]
    assert out.read_text() == "old output\n"


# --------------------------------------------------------------------------------------------------
# 5. Every operating-system failure gets a clear exit


def test_unwritable_outputs_and_run_folders_exit_2_naming_the_path(multiclass_run, tmp_path):
    run, data = multiclass_run.run, multiclass_run.predict_input
    unwritable = Path("/sys/textclf-test")  # refused even to root
    assert_clean_error(cli("predict", "--model", run, "--input", data, "--output", "/sys/p.csv"), 2, "cannot write",
                       "/sys/p.csv")  # fmt: skip
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    train = ["train", "--config", multiclass_run.config, *SMALL]
    assert_clean_error(cli(*train, "--set", f"train.runs_dir={afile}"), 2, "train.runs_dir", str(afile))
    assert_clean_error(cli(*train, "--set", f"train.runs_dir={afile / 'deeper'}"), 2, str(afile))
    assert_clean_error(cli(*train, "--run-dir", unwritable / "run"), 2, "/sys")


def _as_nobody(args: list[str]) -> list[str]:
    """Run a command as an unprivileged user when we are root (root reads every file whatever its mode)."""
    if os.geteuid() != 0:
        return args
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args]


def test_unreadable_data_config_and_run_exit_with_their_code_naming_the_path(multiclass_run, tmp_path):
    tmp_path.chmod(0o755)
    for parent in tmp_path.parents:
        if str(parent).startswith("/tmp/") and parent != Path("/tmp"):
            parent.chmod(parent.stat().st_mode | 0o755)
    data = tmp_path / "data.csv"
    shutil.copy(multiclass_run.train, data)
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {data}\n", encoding="utf-8")
    conf.chmod(0o644)
    run = tmp_path / "run"
    shutil.copytree(multiclass_run.run, run)
    for p in [run, *run.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    texts = tmp_path / "texts.csv"
    shutil.copy(multiclass_run.predict_input, texts)
    texts.chmod(0o644)
    cases = [
        (data, ["check-data", "--config", conf], 3),
        (conf, ["check-data", "--config", conf], 2),
        (
            run / "weights.npz",
            ["predict", "--model", run, "--input", texts, "--output", tmp_path / "p.csv"],
            2,
        ),  # fmt: skip
    ]
    for target, args, code in cases:
        target.chmod(0o000)
        try:
            child = subprocess.run(_as_nobody([sys.executable, "-m", "textclf.cli", *map(str, args)]),
                                   capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip
        finally:
            target.chmod(0o644)
        assert child.returncode == code, child.stderr
        assert str(target) in child.stderr and "Permission denied" in child.stderr and "Traceback" not in child.stderr


def test_a_full_disk_during_export_says_the_disk_is_full(multiclass_run, tmp_path):
    import resource

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    out = tmp_path / "exported"
    with CliProcess("export", "--model", multiclass_run.run, "--format", "savedmodel", "--output", out,
                    logs=tmp_path / "logs", preexec_fn=small_files) as p:  # fmt: skip
        assert p.wait(300) == 5, p.output
    assert "no space left" in p.stderr and "out of memory" not in p.stderr and "Traceback" not in p.stderr
    assert not out.exists() and not [n for n in tmp_path.iterdir() if n.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------------
# 6. Numbers that are not numbers


@pytest.mark.fast
def test_nan_and_infinity_are_refused_in_every_config_number(multiclass_files):
    for key in ("data.valid_fraction", "data.max_bad_fraction", "model.dropout", "model.embedding_dropout",
                "train.learning_rate", "train.ngram_learning_rate", "train.threshold_target"):  # fmt: skip
        for value in (".nan", ".inf", "-.inf", "nan", "inf"):
            result = cli("check-data", "--config", multiclass_files["config"], "--set", f"{key}={value}")
            assert_clean_error(result, 2, key, "expected a finite number")
    conf = multiclass_files["dir"] / "nan.yaml"
    conf.write_text("train:\n  learning_rate: .NaN\n", encoding="utf-8")
    assert_clean_error(cli("check-data", "--config", conf), 2, "train.learning_rate (line 2)", "finite")


@pytest.mark.fast
def test_the_seed_takes_what_every_consumer_takes(multiclass_files):
    from textclf.config import load_config

    assert load_config(None, [f"train.seed={2**32 - 1}"]).train.seed == 2**32 - 1
    result = cli("check-data", "--config", multiclass_files["config"], "--set", f"train.seed={2**32}")
    assert_clean_error(result, 2, "train.seed", "at most 4294967295")


def test_nan_options_are_refused_before_the_model_is_loaded(multiclass_run, tmp_path):
    run, data = multiclass_run.run, multiclass_run.test
    for args in (
        ("predict", "--model", run, "--input", data, "--output", tmp_path / "p.csv", "--threshold", "nan"),
        ("predict", "--model", run, "--input", data, "--output", tmp_path / "p.csv", "--max-bad-fraction", "inf"),
        ("eval", "--model", run, "--data", data, "--threshold", "nan"),
        ("explain", "--model", run, "--text", "x", "--threshold", "-inf"),
        ("export", "--model", run, "--format", "tflite", "--threshold", "nan"),
    ):
        assert_clean_error(cli(*args), 2, "expected a number from 0 to 1")
    assert_clean_error(cli("datasets", "download", "trec", "--to", tmp_path / "d", "--timeout", "nan"), 2,
                       "expected a positive number of seconds")  # fmt: skip


def test_eval_json_is_valid_json_even_when_a_metric_is_undefined(binary_run, tmp_path):
    one_class = write_csv(tmp_path / "one.csv", ["text", "label"], [("the goal and the coach", "NA")] * 5)
    out = tmp_path / "m.json"
    assert cli("eval", "--model", binary_run.run, "--data", one_class, "--output", out).exit_code == 0

    def refuse(name):
        raise AssertionError(f"{name} in {out}: not JSON")

    json.loads(out.read_text(), parse_constant=refuse)


# --------------------------------------------------------------------------------------------------
# 7. Structures too deep or of the wrong kind


@pytest.mark.fast
def test_deeply_nested_yaml_is_refused_quickly(multiclass_files, tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("data:\n  train: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    t0 = time.monotonic()
    assert_clean_error(cli("check-data", "--config", deep), 2, "nested more than")
    result = cli("check-data", "--config", multiclass_files["config"], "--set", "data.train=" + "{a: " * 3000)
    assert_clean_error(result, 2, "--set")
    assert time.monotonic() - t0 < 30  # no recursion down to Python's limit


def test_a_jsonl_line_that_is_not_an_object_is_a_bad_row_even_the_first(multiclass_run, tmp_path):
    lines = ['{"text": ' + "[" * 50_000 + "]" * 50_000 + "}", "not json at all"]
    records = [{"text": t} for t, _ in topic_rows(200, seed=3)]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n" + "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "p.csv"
    base = ("predict", "--model", multiclass_run.run, "--input", src, "--output", out)
    assert_clean_error(cli(*base), 3, "line 1", "nested too deeply")
    result = cli(*base, "--on-bad-rows", "skip", "--max-bad-fraction", "0.1")
    assert result.exit_code == 0, result.output
    _, rejected = read_csv_rows(Path(str(out) + ".rejects.csv"))
    assert [r["line"] for r in rejected] == ["1", "2"] and "nested too deeply" in rejected[0]["reason"]
    wrong_key = tmp_path / "keys.jsonl"
    write_jsonl(wrong_key, [{"txt": "a"}, {"txt": "b"}])
    assert_clean_error(cli("predict", "--model", multiclass_run.run, "--input", wrong_key, "--output", out),
                       3, "column 'text' not found", "'txt'")  # fmt: skip


def test_parquet_columns_that_are_not_text_are_refused_naming_their_type(multiclass_run, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cases = {
        "struct": pa.array([{"a": 1}, {"a": 2}]),
        "list": pa.array([["x", "y"], ["z"]]),
        "binary": pa.array([b"\xff\xfe", b"ok"], type=pa.binary()),
    }
    for name, column in cases.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({"text": column}), path)
        result = cli("predict", "--model", multiclass_run.run, "--input", path, "--output", tmp_path / "p.csv")
        assert_clean_error(result, 3, "column 'text'", "Parquet type")
    labels = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"text": ["cherry ocean", "grass"], "labels": [["red", "blue"], ["green"]]}), labels)
    from textclf.io.labeled import read_labeled

    assert read_labeled(labels, "text", "labels").labels == ["red|blue", "green"]  # a list of labels is fine


def test_one_column_named_twice_is_a_usage_error(multiclass_run, multiclass_files, tmp_path):
    assert_clean_error(cli("check-data", "--config", multiclass_files["config"], "--set", "data.label_column=text"),
                       2, "data.label_column", "same column as data.text_column")  # fmt: skip
    assert_clean_error(cli("eval", "--model", multiclass_run.run, "--data", multiclass_run.test, "--text-column",
                           "text", "--label-column", "text"), 2, "both name the column 'text'")  # fmt: skip


# --------------------------------------------------------------------------------------------------
# 8. Data that leaves a model nothing to learn from


def test_texts_without_words_for_the_ngram_branch_train_without_it(tmp_path):
    rows = [(["😀 😀 !", "🎉🎉", "!!! ???", "😡 👎"][i % 4], "a" if i % 2 else "b") for i in range(120)]
    write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {tmp_path / 'train.csv'}\n", encoding="utf-8")
    result = cli("train", "--config", conf, "--run-dir", tmp_path / "run", *SMALL, "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    assert "trained without it" in result.output
    model = json.loads((tmp_path / "run" / "model.json").read_text())["hyperparameters"]
    assert model["ngram_vocab_size"] == 0
    assert "trained without it" in json.loads((tmp_path / "run" / "metrics.json").read_text())["notes"][0]


def test_texts_without_any_word_stop_before_training_with_exit_3(tmp_path):
    rows = [(["", "   ", "\t"][i % 3], "a" if i % 2 else "b") for i in range(60)]
    write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {tmp_path / 'train.csv'}\n", encoding="utf-8")
    result = cli("train", "--config", conf, "--run-dir", tmp_path / "run", *SMALL)
    assert_clean_error(result, 3, "no training text has a word once standardized")
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------------------
# 9. Tampered runs that pass the manifest


def _tamper(run: Path, tmp_path: Path, name: str, change) -> Path:
    copy = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(run, copy)
    body = json.loads((copy / name).read_text(encoding="utf-8"))
    change(body)
    (copy / name).write_text(json.dumps(body), encoding="utf-8")
    directory.write_manifest(copy)  # the attacker recomputes the manifest
    return copy


def test_tampered_run_files_that_pass_the_manifest_are_refused_quickly(binary_run, tmp_path):
    hp = lambda **kw: lambda b: b["hyperparameters"].update(kw)  # noqa: E731
    cases = [
        ("model.json", hp(layers=100_000), "layers is 100000"),
        ("model.json", hp(units=200_000), "units is 200000"),
        ("model.json", hp(units=9), "the weights and hyperparameters do not match"),
        ("model.json", hp(rnn="transformer"), "rnn is 'transformer'"),
        ("labels.json", lambda b: b["classes"].append("extra"), "not in textclf's format"),
        ("labels.json", lambda b: b.update(classes=["NA", "NA"]), "distinct class names"),
        ("thresholds.json", lambda b: b.update(thresholds={"nobody": 0.5}), "do not belong together"),
        (
            "thresholds.json",
            lambda b: b["thresholds"].update({next(iter(b["thresholds"])): float("nan")}),
            "between 0 and 1",
        ),  # fmt: skip
        ("vocab.json", lambda b: b["tokens"].append(b["tokens"][2]), "holds a token twice"),
        ("vocab.json", lambda b: b["ngram_idf"].__setitem__(3, float("inf")), "not a finite"),
    ]
    for name, change, needle in cases:
        run = _tamper(binary_run.run, tmp_path, name, change)
        t0 = time.monotonic()
        result = cli("predict", "--model", run, "--input", binary_run.test, "--output", tmp_path / "p.csv")
        assert_clean_error(result, 4, needle)
        assert time.monotonic() - t0 < 10, f"{name}: refused only after {time.monotonic() - t0:.1f}s"


# --------------------------------------------------------------------------------------------------
# 10. Options checked early


def test_options_and_input_columns_are_checked_before_the_model_is_loaded(multiclass_run, tmp_path):
    broken = tmp_path / "broken"  # a run that would be refused (exit 4) if it were loaded first
    shutil.copytree(multiclass_run.run, broken)
    (broken / "weights.npz").write_bytes(b"not weights")
    data, out = multiclass_run.predict_input, tmp_path / "p.csv"
    base = ("predict", "--model", broken, "--input", data, "--output", out)
    assert_clean_error(cli(*base, "--encoding", "klingon"), 2, "--encoding", "klingon")
    assert_clean_error(cli(*base, "--shard", "0/4"), 2, "--shard")
    assert_clean_error(cli(*base, "--threshold", "2"), 2, "--threshold")
    assert_clean_error(cli(*base, "--text-column", "body"), 3, "column 'body' not found", "--text-column")
    assert_clean_error(cli(*base, "--keep-columns", "ID"), 3, "column 'ID' not found", "did you mean 'id'")
    assert_clean_error(cli("eval", "--model", broken, "--data", data), 3, "column 'label' not found")
    assert_clean_error(cli("explain", "--model", broken, "--input", data, "--text-column", "nope"), 3, "'nope'")
    assert_clean_error(cli(*base), 4, "weights.npz")  # and only then is the run itself looked at


# --------------------------------------------------------------------------------------------------
# 11. Commands that agree


@pytest.mark.fast
def test_check_data_reads_every_form_of_data_train_that_train_reads(multiclass_files, tmp_path):
    parts = tmp_path / "parts"
    rows = topic_rows(90, seed=12)
    write_csv(parts / "a.csv", ["text", "label"], rows[:45])
    write_csv(parts / "b.csv", ["text", "label"], rows[45:])
    for value in (f"{parts}/*.csv", f"[{parts / 'a.csv'}, {parts / 'b.csv'}]"):
        conf = tmp_path / "c.yaml"
        conf.write_text(f"data:\n  train: {value}\n", encoding="utf-8")
        report = cli("check-data", "--config", conf, "--json")
        assert report.exit_code == 0, report.output
        assert json.loads(report.stdout)["splits"][0]["rows"] == 90


def test_labels_that_differ_only_in_case_or_spaces_are_flagged(tmp_path):
    rows = [(t, {"sports": "Sports", "tech": "sports ", "food": "food"}[lab]) for t, lab in topic_rows(90, seed=8)]
    write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data:\n  train: {tmp_path / 'train.csv'}\n", encoding="utf-8")
    report = cli("check-data", "--config", conf)
    assert "differs from another only in case or surrounding spaces" in report.stdout, report.stdout
    trained = cli("train", "--config", conf, "--run-dir", tmp_path / "run", *SMALL, "--set", "train.epochs=1")
    assert trained.exit_code == 0 and "only in case or surrounding spaces" in trained.output


def test_gzip_inputs_are_read_and_parquet_gz_gets_advice(multiclass_run, tmp_path):
    plain = Path(multiclass_run.test)
    packed = tmp_path / "test.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    out_plain, out_packed = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli("predict", "--model", multiclass_run.run, "--input", plain, "--output", out_plain).exit_code == 0
    assert cli("predict", "--model", multiclass_run.run, "--input", packed, "--output", out_packed).exit_code == 0
    assert out_plain.read_bytes() == out_packed.read_bytes()
    result = cli("eval", "--model", multiclass_run.run, "--data", packed, "--no-plots")
    assert result.exit_code == 0 and "accuracy" in result.stdout
    pq_gz = tmp_path / "x.parquet.gz"
    pq_gz.write_bytes(b"\x1f\x8b")
    assert_clean_error(cli("predict", "--model", multiclass_run.run, "--input", pq_gz, "--output", out_plain), 3,
                       "Parquet compresses itself")  # fmt: skip


@pytest.mark.fast
def test_csv_reader_counts_rows_against_lines(tmp_path):
    from textclf.io.tables import ReadReport, iter_chunks

    path = tmp_path / "d.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text"])
        writer.writerows([["one"], ["two\nlines"], ["three"]])
    report = ReadReport(str(path))
    rows = sum(len(c.lines) for c in iter_chunks(path, ["text"], report=report))
    assert (rows, report.lines, report.swallowed) == (3, 4, [])
