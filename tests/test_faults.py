"""Faults a user or a machine brings about, through the real CLI: config and data mistakes, prediction outputs
that are killed or run out of disk, and training that is killed, signalled, starved of disk or memory, diverges
or is resumed.

Each test drives the real CLI: in-process through click's ``CliRunner`` where nothing is killed, and in a
child process (``support.CliProcess``) where a kill, a signal or a resource limit is involved. Each checks
the exit code, the message (a regex on the key phrase) and the file system (hashes before and after, the
canary file absent). A resumed run must reproduce the uninterrupted run with the same seed exactly: weights
(``np.array_equal``) and history.

Kills are timed by polling the run's ``checkpoints/`` folder (``epoch-EEEEE-step-SSSSSSS``), never by
sleeping. Resource faults are real, not mocked: a full disk is the child's ``RLIMIT_FSIZE`` (Python ignores
SIGXFSZ, so a write fails with EFBIG), out of memory is its ``RLIMIT_AS``, both lowered with
``resource.prlimit`` on the running child once its first checkpoint is on disk.
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from support import (
    CliProcess,
    assert_refused_with,
    checkpoint_names,
    cli,
    history_epochs,
    predict_args,
    read_csv_rows,
    sha256,
    topic_rows,
    tree_hashes,
    write_csv,
)

from textclf.run import directory as artifacts

# ==================================================================================================
# Config files and the paths in them


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.fast
def test_python_yaml_tags_are_refused_with_line_and_column_and_never_run(tmp_path):
    canary = tmp_path / "canary"
    for i, text in enumerate(
        [
            f"train:\n  epochs: !!python/object/apply:os.system ['touch {canary}']\n",
            f"!!python/object/apply:os.system ['touch {canary}']\n",
            f"data:\n  train: !!python/object/new:os.system ['touch {canary}']\n",
        ]
    ):
        config = write(tmp_path / f"c{i}.yaml", text)
        out = assert_refused_with(
            cli("train", "--config", config, "--run-dir", tmp_path / "run"),
            2,
            r"unsupported YAML tag",
            r"line \d+, column \d+",
        )
        assert "python/object" in out
    plain = write(tmp_path / "plain.yaml", "train:\n  epochs: 2\n")
    result = cli(
        "train", "--config", plain, "--set", f"train.epochs=!!python/object/apply:os.system ['touch {canary}']"
    )
    assert_refused_with(result, 2, r"unsupported YAML tag")
    assert not canary.exists()
    assert not (tmp_path / "run").exists()


@pytest.mark.fast
def test_a_typo_and_two_bad_values_are_listed_together_with_key_paths_and_a_suggestion(tmp_path):
    config = write(
        tmp_path / "c.yaml", "data:\n  train: t.csv\n  valid_fraction: 2.0\ntrain:\n  epocs: 3\n  batch_size: many\n"
    )
    out = assert_refused_with(cli("train", "--config", config), 2, r"3 problems in the config")
    problems = [line for line in out.splitlines() if line.strip().startswith("- ")]
    assert len(problems) == 3, out
    assert re.search(r"train\.epocs.*line 5.*did you mean 'epochs'", out), out
    assert re.search(r"data\.valid_fraction.*line 3", out), out
    assert re.search(r"train\.batch_size.*line 6", out), out


@pytest.mark.fast
@pytest.mark.parametrize(
    "text, key, hint",
    [
        ('train:\n  batch_size: "32"\n', "train.batch_size", r"remove the quotes"),
        ("train:\n  learning_rate: 1e-3\n", "train.learning_rate", r"YAML 1\.1 reads as a string.*1\.0e-03"),
        ("data:\n  label_column: no\n", "data.label_column", r"boolean false.*quote it"),
        ("train:\n  seed: 010\n", "train.seed", r"octal number 8.*\(10\)"),
    ],
)
def test_each_wrong_type_gets_its_own_hint(tmp_path, text, key, hint):
    config = write(tmp_path / "c.yaml", text)
    out = assert_refused_with(cli("train", "--config", config), 2, re.escape(key), r"line 2")
    assert re.search(hint, out, re.S), out


@pytest.mark.fast
@pytest.mark.parametrize("case", ["duplicate_key", "empty", "top_level_list", "tabs", "2MB", "alias_bomb"])
def test_a_malformed_config_file_gets_one_clear_message(tmp_path, monkeypatch, case):
    config = tmp_path / "c.yaml"
    if case == "duplicate_key":
        write(config, "train:\n  epochs: 3\n  epochs: 4\n")
        pattern = r"train\.epochs.*duplicate key at line 3.*first at line 2"
    elif case == "empty":
        write(config, "")
        pattern = r"empty"
    elif case == "top_level_list":
        write(config, "- train\n- data\n")
        pattern = r"expected a mapping.*list.*line 1|line 1.*expected a mapping"
    elif case == "tabs":
        write(config, "train:\n\tepochs: 3\n")
        pattern = r"tabs.*line 2|line 2.*tabs"
    elif case == "2MB":
        write(config, "train:\n  epochs: 3\n" + ("# " + "x" * 1000 + "\n") * 2000)
        pattern = r"over the [\d,]+-byte limit"
    else:
        levels = ["a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']"]
        for i in range(1, 12):
            levels.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]")
        write(config, "\n".join(levels) + "\n")
        pattern = r"anchors and aliases.*line 1"
    import yaml

    composed = []
    real_compose = yaml.SafeLoader.get_single_node

    def recording_compose(loader):
        composed.append(loader)
        return real_compose(loader)

    monkeypatch.setattr(yaml.SafeLoader, "get_single_node", recording_compose)
    result = cli("train", "--config", config)
    monkeypatch.undo()
    assert_refused_with(result, 2, pattern)
    if case in ("2MB", "alias_bomb"):
        # refused before the YAML is composed into nodes: the aliases are never expanded, 2 MB never parsed
        assert composed == [], f"{case}: the YAML was composed before being refused"
    elif case == "duplicate_key":
        assert composed, "the recorder saw no composition where one is needed to find the duplicate"


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """train.csv (120 rows, 3 topics) for the config and data cases; trainings are 1 epoch of a tiny model."""
    d = tmp_path_factory.mktemp("small")
    write_csv(d / "train.csv", ["text", "label"], topic_rows(120, seed=21))
    return d


TINY = [
    "--set",
    "model.units=4",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "train.epochs=1",
    "--set",
    "train.batch_size=32",
    "--set",
    "train.verbose=false",
    "--set",
    "train.tensorboard=false",
    "--set",
    "train.device=cpu",
]


def test_data_paths_resolve_against_the_config_folder_and_special_files_are_refused(small_data, tmp_path, monkeypatch):
    conf_dir = tmp_path / "project" / "conf"
    (tmp_path / "project").mkdir(exist_ok=True)
    shutil.copyfile(small_data / "train.csv", tmp_path / "project" / "train.csv")
    config = write(conf_dir / "c.yaml", "data:\n  train: ../train.csv\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli("train", "--config", "../project/conf/c.yaml", "--run-dir", "run", *TINY)
    assert result.exit_code == 0, result.output
    saved = (elsewhere / "run" / "config.yaml").read_text(encoding="utf-8")
    assert str(tmp_path / "project" / "train.csv") in saved
    # non-regular files: refused (exit 3) without hanging, in a child process with a timeout
    fifo = tmp_path / "project" / "pipe.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "project" / "folder.csv"
    folder.mkdir()
    for path, pattern in [
        (folder, r"is a directory"),
        (fifo, r"not a regular file"),
        (Path("/dev/zero"), r"not a regular file|extension"),
    ]:
        with CliProcess("train", "--config", config, "--set", f"data.train={path}", logs=tmp_path / "logs") as p:
            p.wait(timeout=60)
        assert p.returncode == 3, p.output
        assert re.search(pattern, p.stderr) and str(path) in p.stderr, p.stderr
        assert "Traceback" not in p.output
    write(conf_dir / "missing.yaml", "data:\n  train: nope.csv\n")
    assert_refused_with(
        cli("train", "--config", conf_dir / "missing.yaml"), 2, rf"not found: {re.escape(str(conf_dir / 'nope.csv'))}"
    )


# ==================================================================================================
# Data files


def labeled_config(tmp_path: Path, train: Path, extra: str = "") -> Path:
    return write(tmp_path / "c.yaml", f"data:\n  train: {train}\n{extra}")


def train_refused(tmp_path: Path, train: Path, code: int, *patterns: str, extra: str = "") -> str:
    """``textclf train`` on ``train`` fails with ``code`` before creating any run directory."""
    runs = tmp_path / "runs"
    result = cli("train", "--config", labeled_config(tmp_path, train, extra), "--set", f"train.runs_dir={runs}")
    out = assert_refused_with(result, code, *patterns)
    assert not runs.exists() or not any(runs.iterdir()), "a run directory was created"
    return out


def test_a_latin1_byte_is_named_by_line_with_the_fix_and_boms_are_handled(multiclass_run, tmp_path):
    rows = topic_rows(12, seed=3)
    rows[6] = ("caf\u00e9 soup", "food")  # line 8: the header is line 1
    bad = tmp_path / "latin1.csv"
    write_csv(bad, ["text", "label"], rows, encoding="latin-1")
    train_refused(tmp_path, bad, 3, r"line 8: byte 0xe9", r"--encoding|data\.encoding=latin-1")
    out = assert_refused_with(
        cli(*predict_args(multiclass_run.run, bad, tmp_path / "o.csv")), 3, r"line 8", r"--encoding"
    )
    assert "Traceback" not in out
    assert cli(*predict_args(multiclass_run.run, bad, tmp_path / "o.csv", "--encoding", "latin-1")).exit_code == 0
    for enc in ("utf-8-sig", "utf-16"):
        path = tmp_path / f"{enc}.csv"
        write_csv(path, ["id", "text"], [(f"r{i}", t) for i, (t, _) in enumerate(rows)], encoding=enc)
        assert path.read_bytes()[:2] in (b"\xef\xbb", b"\xff\xfe", b"\xfe\xff")
        out_file = tmp_path / f"{enc}.out.csv"
        result = cli(*predict_args(multiclass_run.run, path, out_file, "--keep-columns", "id,text"))
        assert result.exit_code == 0, result.output
        header, got = read_csv_rows(out_file)
        assert header[:2] == ["id", "text"]
        assert [r["text"] for r in got] == [t for t, _ in rows]


def test_ragged_rows_are_named_or_skipped_into_a_rejects_file_with_a_count(small_data, tmp_path):
    lines = ["text,label", "goal team,sports", "code chip,tech,EXTRA", "soup bread,food", "orphan", "pizza,food"]
    bad = tmp_path / "ragged.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    train_refused(tmp_path, bad, 3, r"line 3: expected 2 fields as in the header, found 3", r"--on-bad-rows skip")
    lines[2] = "code chip,tech"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    train_refused(tmp_path, bad, 3, r"line 5: expected 2 fields as in the header, found 1", r"--on-bad-rows skip")
    # with skip: 200 good rows, one long row on line 3 and one short row on line 5 (1 %) are left out and listed
    rows = [",".join(r) for r in topic_rows(200, seed=5)]
    rows.insert(1, "too,many,fields")
    rows.insert(3, "toofew")
    big = tmp_path / "skip.csv"
    big.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = cli(
        "train",
        "--config",
        labeled_config(tmp_path, big, "  max_bad_fraction: 0.02\n"),
        "--run-dir",
        tmp_path / "run",
        "--on-bad-rows",
        "skip",
        *TINY,
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"2 bad rows skipped \(lines 3, 5\)", result.output), result.output
    assert re.search(r"2 bad rows were left out; they are listed in .*rejected_rows\.csv", result.output)
    _, rejects = read_csv_rows(tmp_path / "run" / "rejected_rows.csv")
    assert [int(r["line"]) for r in rejects] == [3, 5]
    assert all(r["file"] == str(big) and "expected 2 fields" in r["reason"] for r in rejects)
    assert "found 3" in rejects[0]["reason"] and "found 1" in rejects[1]["reason"]


def test_quotes_newlines_cr_and_nul_survive_predict_and_an_open_quote_is_one_error(multiclass_run, tmp_path):
    texts = ['say "hi" now', "two\nlines", "comma, inside", "trailing\r\nwindows", "nul\x00byte", ""]
    path = tmp_path / "tricky.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["id", "text"])
        w.writerows((f"r{i}", t) for i, t in enumerate(texts))
    out_file = tmp_path / "o.csv"
    result = cli(*predict_args(multiclass_run.run, path, out_file, "--keep-columns", "id,text"))
    assert result.exit_code == 0, result.output
    _, got = read_csv_rows(out_file)
    assert [r["id"] for r in got] == [f"r{i}" for i in range(len(texts))]
    assert [r["text"] for r in got] == [t.replace("\x00", "") for t in texts]
    # an unbalanced quote: one clear error naming the physical line where the bad record starts
    bad = tmp_path / "unbalanced.csv"
    bad.write_text('text,label\ngoal,sports\n"open quote,tech\nsoup,food\n', encoding="utf-8")
    out = train_refused(tmp_path, bad, 3, r"line 3", r"quot")
    assert "Traceback" not in out


@pytest.mark.fast
def test_read_labeled_returns_whatever_csv_writer_wrote(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from textclf.io.labeled import read_labeled

    folder = tmp_path_factory.mktemp("csv_round_trip")
    text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(text, text.filter(lambda s: s.strip() != "")), min_size=1, max_size=15))
    def check(rows):
        path = folder / "p.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        got = read_labeled(path, "text", "label")
        expected = [(t[:100_000], lab) for t, lab in rows]
        assert list(zip(got.texts, got.labels)) == expected

    check()


def test_na_null_number_and_boolean_lookalikes_stay_strings(binary_run, multiclass_run, tmp_path):
    traps = ["NA", "None", "null", "nan", "00123", "True", "N/A", "", "1.0"]
    labels = json.loads((binary_run.run / "labels.json").read_text())
    assert labels["classes"] == ["00123", "NA"]  # trained from labels NA and 00123
    path = tmp_path / "traps.csv"
    write_csv(path, ["id", "text"], [(t or "empty", t) for t in traps])
    out_file = tmp_path / "o.csv"
    result = cli(*predict_args(binary_run.run, path, out_file, "--keep-columns", "id,text"))
    assert result.exit_code == 0, result.output
    _, got = read_csv_rows(out_file)
    assert [r["id"] for r in got] == [t or "empty" for t in traps]
    assert [r["text"] for r in got] == traps
    assert {r["prediction"] for r in got} <= {"NA", "00123"}
    # as labels of a file the reader hands on verbatim
    from textclf.io.labeled import read_labeled

    lab = tmp_path / "labels.csv"
    write_csv(lab, ["text", "label"], [(t, t) for t in traps if t])
    got = read_labeled(lab, "text", "label")
    assert got.labels == [t for t in traps if t] and got.texts == got.labels


def test_labels_that_differ_only_in_form_and_unseen_labels_are_named_with_counts(binary_run, small_data, tmp_path):
    # at training: validation labels "1.0" and " 1" against training label "1"
    train = tmp_path / "t.csv"
    write_csv(
        train, ["text", "label"], [(t, {"sports": "1", "tech": "2", "food": "3"}[y]) for t, y in topic_rows(60, seed=8)]
    )
    valid = tmp_path / "v.csv"
    write_csv(valid, ["text", "label"], [("goal", "1.0"), ("team", "1.0"), ("chip", " 1"), ("soup", "3")])
    out = train_refused(
        tmp_path, train, 3, r"'1\.0' ×2 \(did you mean '1'", r"' 1' ×1 \(did you mean '1'", extra=f"  valid: {valid}\n"
    )
    assert "labels that the training data never has" in out
    # at evaluation: unseen labels named with their row counts; exit 0 when told to ignore them
    data = tmp_path / "e.csv"
    write_csv(data, ["text", "label"], [("goal team", "NA"), ("pizza", "123"), ("soup", "123"), ("x", "other")])
    out = assert_refused_with(
        cli("eval", "--model", binary_run.run, "--data", data), 3, r"'123' ×2 \(did you mean '00123'", r"'other' ×1"
    )
    result = cli("eval", "--model", binary_run.run, "--data", data, "--ignore-unseen")
    assert result.exit_code == 0, result.output
    assert re.search(r"3 rows?|left out|ignor", result.output), result.output


@pytest.mark.fast
def test_one_class_or_a_one_row_class_is_refused_before_any_run_dir(tmp_path):
    one = tmp_path / "one.csv"
    write_csv(one, ["text", "label"], [(t, "sports") for t, _ in topic_rows(30, seed=1)])
    train_refused(tmp_path, one, 3, r"every row has the label 'sports'", r"at least two classes")
    single = tmp_path / "single.csv"
    write_csv(single, ["text", "label"], topic_rows(30, seed=1) + [("lonely words", "rare")])
    train_refused(tmp_path, single, 3, r"class 'rare' has only one row", r"validation", r"data\.valid")


def _write_big_doc_csv(path: Path, rows, big_index: int, size: int, header=("text", "label")) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, row in enumerate(rows):
            if i == big_index:
                row = ("goal " * (size // 5),) + tuple(row[1:])
            w.writerow(row)


@pytest.mark.slow
def test_a_50MB_text_is_cut_and_reported_by_train(small_data, tmp_path):
    from textclf.io.tables import MAX_TEXT_CHARS

    train = tmp_path / "big.csv"
    _write_big_doc_csv(train, topic_rows(120, seed=21), big_index=7, size=50 << 20)
    assert train.stat().st_size > 50 << 20
    result = cli("train", "--config", labeled_config(tmp_path, train), "--run-dir", tmp_path / "run", *TINY)
    assert result.exit_code == 0, result.output
    assert re.search(rf"1 texts? longer than {MAX_TEXT_CHARS:,} characters (were|was) cut", result.output), (
        result.output
    )


def test_a_50MB_text_is_cut_and_reported_by_predict(multiclass_run, tmp_path):
    path = tmp_path / "big.csv"
    _write_big_doc_csv(
        path,
        [(t, f"r{i}") for i, (t, _) in enumerate(topic_rows(20, seed=2))],
        big_index=3,
        size=50 << 20,
        header=("text", "id"),
    )
    result = cli(*predict_args(multiclass_run.run, path, tmp_path / "o.csv", "--keep-columns", "id"))
    assert result.exit_code == 0, result.output
    _, got = read_csv_rows(tmp_path / "o.csv")
    assert [r["id"] for r in got] == [f"r{i}" for i in range(20)]
    assert re.search(r"1 texts? longer than [\d,]+ characters (were|was) cut", result.output), result.output


@pytest.fixture(scope="module")
def predict_inputs(tmp_path_factory) -> dict[int, Path]:
    """Short-text prediction inputs of 20k and 200k rows (the latter ~9 MB)."""
    d = tmp_path_factory.mktemp("predict_inputs")
    base = [t for t, _ in topic_rows(1000, seed=9)]
    out = {}
    for n in (20_000, 200_000):
        out[n] = write_csv(d / f"in{n}.csv", ["id", "text"], ((i, base[i % 1000]) for i in range(n)))
    return out


@pytest.mark.slow
def test_predict_memory_stays_flat_from_20k_to_200k_rows(multiclass_run, predict_inputs, tmp_path):
    peak = {}
    for n, path in predict_inputs.items():
        with CliProcess(*predict_args(multiclass_run.run, path, tmp_path / f"o{n}.csv"), logs=tmp_path) as p:
            assert p.wait(timeout=300) == 0, p.output
        peak[n] = p.rusage.ru_maxrss  # KiB
        assert f"wrote {n:,} rows" in p.stdout
    assert peak[200_000] <= 1.25 * peak[20_000], f"peak RSS grew from {peak[20_000]} KiB to {peak[200_000]} KiB"


# ==================================================================================================
# Prediction outputs: killed writers, full disks, skipped rows


def _temp_files(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.*.tmp"))


@pytest.mark.slow
def test_kill9_while_writing_predictions_keeps_the_old_file_and_the_next_predict_cleans_up(
    multiclass_run, predict_inputs, tmp_path
):
    out = tmp_path / "preds.csv"
    out.write_text("id,prediction\nold,1\n", encoding="utf-8")
    before = sha256(out)
    with CliProcess(*predict_args(multiclass_run.run, predict_inputs[200_000], out), logs=tmp_path / "logs") as p:
        # kill once the temporary file beside the output holds a partial result
        p.wait_until(lambda: any(t.stat().st_size > 100_000 for t in _temp_files(out)), what="a partial temp file")
        p.signal(signal.SIGKILL)
        assert p.wait(60) == -signal.SIGKILL
    assert sha256(out) == before, "the old predictions were changed by a killed writer"
    stale = _temp_files(out)
    assert len(stale) == 1
    # the next predict to the same output removes the stale temp file and writes the complete new file
    result = cli(*predict_args(multiclass_run.run, multiclass_run.predict_input, out))
    assert result.exit_code == 0, result.output
    assert not stale[0].exists() and _temp_files(out) == []
    header, rows = read_csv_rows(out)
    assert header[:2] == ["prediction", "confidence"] and len(rows) == 40


@pytest.mark.slow
def test_disk_full_while_writing_predictions_exits_5_and_keeps_the_old_file(multiclass_run, predict_inputs, tmp_path):
    out = tmp_path / "preds.csv"
    out.write_text("id,prediction\nold,1\n", encoding="utf-8")
    before = sha256(out)

    def full_disk():  # files larger than 256 KB cannot be written (EFBIG; Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, resource.RLIM_INFINITY))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    with CliProcess(
        *predict_args(multiclass_run.run, predict_inputs[20_000], out), logs=tmp_path / "logs", preexec_fn=full_disk
    ) as p:
        assert p.wait(120) == 5, p.output
    assert re.search(rf"no space left while writing {re.escape(str(out))}", p.stderr), p.stderr
    assert "Traceback" not in p.output
    assert sha256(out) == before
    assert _temp_files(out) == []


@pytest.mark.slow
def test_disk_full_while_writing_the_model_keeps_the_run_resumable(tmp_path):
    # long unique tokens make vocab.json larger than any checkpoint file: every checkpoint fits under the
    # file-size limit, the final vocab.json does not
    import random
    import string

    rng = random.Random(0)
    rows = [
        (t + " " + "".join(rng.choice(string.ascii_lowercase) for _ in range(80)), y)
        for t, y in topic_rows(600, seed=1)
    ]
    train = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    config = write(
        tmp_path / "c.yaml",
        f"data:\n  train: {train}\nmodel: {{units: 4, embedding_dim: 1, ngrams: 0, "
        "bidirectional: false}\ntrain: {epochs: 2, batch_size: 32, verbose: false, "
        "tensorboard: false, device: cpu}\n",
    )
    run = tmp_path / "run"

    def full_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (24 << 10, resource.RLIM_INFINITY))

    with CliProcess("train", "--config", config, "--run-dir", run, logs=tmp_path / "logs", preexec_fn=full_disk) as p:
        assert p.wait(240) == 5, p.output
    assert re.search(r"no space left while writing .*vocab\.json", p.stderr), p.stderr
    assert run.is_dir(), "the run directory, with two trained epochs, was deleted"
    assert checkpoint_names(run), "no checkpoint is left to resume from"
    assert "--resume" in p.output


def test_predict_skips_bad_rows_with_one_output_row_per_accepted_row_and_its_line(multiclass_run, tmp_path):
    path = tmp_path / "in.csv"
    lines = ["id,text", "a,goal team", "b,code,EXTRA", "c,soup bread", "lonely", '"d","two', 'lines"', "e,chip"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert_refused_with(cli(*predict_args(multiclass_run.run, path, out)), 3, r"line 3", r"--on-bad-rows skip")
    assert not out.exists()
    result = cli(
        *predict_args(
            multiclass_run.run, path, out, "--keep-columns", "id", "--on-bad-rows", "skip", "--max-bad-fraction", "0.5"
        )
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"skipped 2 unreadable rows \(lines 3, 5\); listed in .*o\.csv\.rejects\.csv", result.stderr)
    header, got = read_csv_rows(out)
    assert header[:3] == ["line", "id", "prediction"]
    assert [(r["line"], r["id"]) for r in got] == [("2", "a"), ("4", "c"), ("6", "d"), ("8", "e")]
    _, rejects = read_csv_rows(tmp_path / "o.csv.rejects.csv")
    assert [r["line"] for r in rejects] == ["3", "5"]
    assert all("expected 2 fields" in r["reason"] for r in rejects)


def test_predict_skip_refuses_a_file_that_is_mostly_bad_rows(multiclass_run, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\na,goal\nb,x,y\nc,z,w\nd,q,r\n", encoding="utf-8")
    assert_refused_with(
        cli(*predict_args(multiclass_run.run, path, tmp_path / "o.csv", "--on-bad-rows", "skip")),
        3,
        r"bad",
        r"limit|fraction",
    )


def test_a_stale_rejects_file_is_removed_when_no_rows_are_skipped(multiclass_run, tmp_path):
    bad, good, out = tmp_path / "bad.csv", tmp_path / "good.csv", tmp_path / "o.csv"
    bad.write_text("id,text\na,goal\nb,x,y\n", encoding="utf-8")
    good.write_text("id,text\na,goal\n", encoding="utf-8")
    assert (
        cli(*predict_args(multiclass_run.run, bad, out, "--on-bad-rows", "skip", "--max-bad-fraction", "1")).exit_code
        == 0
    )
    assert (tmp_path / "o.csv.rejects.csv").exists()
    assert cli(*predict_args(multiclass_run.run, good, out, "--on-bad-rows", "skip")).exit_code == 0
    assert not (tmp_path / "o.csv.rejects.csv").exists()


# ==================================================================================================
# Training: kills, signals, a full disk, out of memory, divergence, resume
#
# One small config trains 5 epochs of 45 batches in a few seconds. The uninterrupted run with the same
# seed (``reference_run``) is what every interrupted-then-resumed run must reproduce exactly: weights
# (np.array_equal) and history.

FAULTS_YAML = """\
task: auto
data:
  train: train.csv
model: {units: 8, embedding_dim: 16}
train: {epochs: 5, batch_size: 16, verbose: false, tensorboard: false, early_stopping_patience: 0, device: cpu}
"""


@pytest.fixture(scope="module")
def faults(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("faults")
    write_csv(d / "train.csv", ["text", "label"], topic_rows(800, seed=11))
    write(d / "faults.yaml", FAULTS_YAML)
    return d


@pytest.fixture(scope="module")
def reference_run(faults) -> Path:
    run = faults / "reference"
    result = cli("train", "--config", faults / "faults.yaml", "--run-dir", run)
    assert result.exit_code == 0, result.output
    assert history_epochs(run) == [1, 2, 3, 4, 5]
    return run


def start_training(config: Path, run: Path, *extra, preexec_fn=None) -> CliProcess:
    return CliProcess(
        "train",
        "--config",
        config,
        "--run-dir",
        run,
        *extra,
        logs=run.parent / f"{run.name}-logs",
        preexec_fn=preexec_fn,
    )


def ckpt(epoch: int, step: int = 0) -> str:
    return f"epoch-{epoch:05d}-step-{step:07d}"


def wait_for_checkpoint(p: CliProcess, run: Path, name: str) -> float:
    p.wait_until(lambda: name in checkpoint_names(run), what=f"checkpoint {name}")
    return time.monotonic()


def wait_into_epoch_3(p: CliProcess, run: Path) -> None:
    """Return about half-way through epoch 3: the epoch length is measured from checkpoints 1 and 2."""
    t1 = wait_for_checkpoint(p, run, ckpt(1))
    t2 = wait_for_checkpoint(p, run, ckpt(2))
    until = t2 + (t2 - t1) / 2
    p.wait_until(lambda: time.monotonic() >= until, what="the middle of epoch 3")


def kill9(p: CliProcess) -> None:
    p.signal(signal.SIGKILL)
    assert p.wait(60) == -signal.SIGKILL, p.output


def copy_run(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / run.name
    shutil.copytree(run, dst)
    return dst


def assert_same_model(run: Path, reference: Path) -> None:
    with np.load(run / "weights.npz") as a, np.load(reference / "weights.npz") as b:
        assert a.files == b.files
        for key in a.files:
            assert np.array_equal(a[key], b[key]), f"{key} differs from the uninterrupted run"
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(read_csv_rows(run / "history.csv")[1]) == strip(read_csv_rows(reference / "history.csv")[1])


def resume(run: Path, *extra) -> str:
    result = cli("train", "--resume", run, *extra)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(run)
    assert (run / "manifest.json").exists() and not (run / "checkpoints").exists()
    artifacts.verify(run)
    return result.output


def assert_finished_sanely(run: Path, epochs: int = 5) -> dict:
    assert history_epochs(run) == list(range(1, epochs + 1)), "each epoch must appear once"
    _, rows = read_csv_rows(run / "history.csv")
    assert all(np.isfinite(float(r["loss"])) and np.isfinite(float(r["val_loss"])) for r in rows)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_run"] == epochs and 1 <= metrics["best_epoch"] <= epochs
    assert metrics["valid"]["accuracy"] >= 0.8, metrics["valid"]
    return metrics


def checkpoint_state(run: Path, name: str) -> dict:
    return json.loads((run / "checkpoints" / name / "state.json").read_text())


@pytest.fixture(scope="module")
def boundary_killed(faults) -> Path:
    """A run killed with SIGKILL right after checkpoint epoch-00002 appeared (tests work on copies)."""
    run = faults / "boundary"
    with start_training(faults / "faults.yaml", run) as p:
        wait_for_checkpoint(p, run, ckpt(2))
        kill9(p)
    assert not (run / "manifest.json").exists()
    assert checkpoint_names(run) == [ckpt(1), ckpt(2)]
    return run


@pytest.mark.slow
def test_kill9_mid_epoch_then_resume_gives_the_same_model(faults, reference_run, tmp_path):
    run = tmp_path / "run"
    with start_training(faults / "faults.yaml", run) as p:
        wait_into_epoch_3(p, run)
        kill9(p)
    assert not (run / "manifest.json").exists() and not (run / "weights.npz").exists()
    last = checkpoint_names(run)[-1]
    assert last in (ckpt(2), ckpt(3)), checkpoint_names(run)
    done = int(last[6:11])
    out = resume(run)
    assert re.search(rf"resuming from {last}: {done} epoch\(s\) complete\n", out), out
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("epoch ")] == [
        f"epoch {e}/5" for e in range(done + 1, 6)
    ]
    assert_finished_sanely(run)
    assert_same_model(run, reference_run)  # the replayed epoch used the same order and dropout masks


@pytest.mark.slow
def test_kill9_while_a_checkpoint_is_written_then_resume_ignores_the_partial_one(faults, reference_run, tmp_path):
    # a checkpoint after every batch; SIGKILL the moment a temporary checkpoint folder is seen
    run = tmp_path / "run"
    folder = run / "checkpoints"

    def writing_one():
        try:
            return any(n.startswith(".epoch-") and n.endswith(".tmp") for n in os.listdir(folder))
        except FileNotFoundError:
            return False

    with start_training(faults / "faults.yaml", run, "--set", "train.checkpoint_every_steps=1") as p:
        p.wait_until(
            lambda: any(n.startswith("epoch-00002-step-") and int(n[-7:]) >= 10 for n in checkpoint_names(run)),
            what="10 batches of epoch 3",
        )
        p.wait_until(writing_one, what="a checkpoint being written", interval=0)
        kill9(p)
    complete = checkpoint_names(run)
    out = resume(run)
    assert re.search(
        rf"resuming from {complete[-1]}: 2 epoch\(s\) complete, {int(complete[-1][-7:])} batch\(es\) "
        "into epoch 3",
        out,
    ), out
    assert "damaged" not in out
    assert_finished_sanely(run)
    assert_same_model(run, reference_run)


def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one_and_says_so(
    boundary_killed, reference_run, tmp_path
):
    run = copy_run(boundary_killed, tmp_path)
    latest = run / "checkpoints" / ckpt(2) / "variables.npz"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])
    leftover = run / "checkpoints" / ".epoch-00003-step-0000000.999999999.killed.tmp"  # a killed write
    leftover.mkdir()
    (leftover / "variables.npz").write_bytes(b"PK\x03\x04partial")
    out = resume(run)
    assert re.search(rf"checkpoint {ckpt(2)} is incomplete or damaged \(.+\); falling back to the previous one", out), (
        out
    )
    assert re.search(rf"resuming from {ckpt(1)}: 1 epoch\(s\) complete", out), out
    assert_finished_sanely(run)
    assert_same_model(run, reference_run)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_or_sigint_mid_epoch_keeps_the_last_checkpoint_and_prints_the_resume_command(
    faults, reference_run, tmp_path, signum, code
):
    run = tmp_path / "run"
    with start_training(faults / "faults.yaml", run) as p:
        wait_into_epoch_3(p, run)
        p.signal(signum)
        assert p.wait(120) == code, p.output
    name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
    m = re.search(
        rf"error: {name} received: stopped at epoch (\d+), batch (\d+); the partial epoch is not counted "
        rf"and the last checkpoint \((epoch-\d+-step-0000000)\) is kept\. Resume with:\n"
        rf"  textclf train --resume {re.escape(str(run))}\n",
        p.stderr,
    )
    assert m, p.output
    stopped, kept = int(m.group(1)), m.group(3)
    assert kept == ckpt(stopped - 1) == checkpoint_names(run)[-1]
    state = checkpoint_state(run, kept)
    assert state["epoch"] == stopped - 1 and [h["epoch"] for h in state["history"]] == list(range(1, stopped))
    assert not (run / "manifest.json").exists() and not (run / "history.csv").exists()
    assert not list((run / "checkpoints").glob(".tmp-*"))
    resume(run)
    assert_finished_sanely(run)
    assert_same_model(run, reference_run)


def test_resume_after_the_config_or_data_changed_is_refused_naming_the_change(faults, boundary_killed, tmp_path):
    run = copy_run(boundary_killed, tmp_path)
    before = tree_hashes(run)
    changed = write(faults / "changed.yaml", FAULTS_YAML.replace("batch_size: 16", "batch_size: 32"))
    assert_refused_with(
        cli("train", "--resume", run, "--config", changed),
        2,
        rf"cannot resume {re.escape(str(run))}: the config changed: train\.batch_size 16 → 32",
    )
    assert tree_hashes(run) == before
    train = faults / "train.csv"
    original = train.read_bytes()
    try:
        with open(train, "a", encoding="utf-8") as f:
            f.write("one more row about soup,food\n")
        assert_refused_with(
            cli("train", "--resume", run),
            2,
            rf"cannot resume {re.escape(str(run))}: the data changed since the checkpoint "
            r"\(data\.train: different SHA-256\)",
        )
    finally:
        train.write_bytes(original)
    assert tree_hashes(run) == before


def test_resume_with_set_of_a_key_that_may_differ_is_accepted(boundary_killed, tmp_path):
    run = copy_run(boundary_killed, tmp_path)
    result = cli("train", "--resume", run, "--set", "train.device=cpu")  # device may differ on a resume
    assert result.exit_code == 0, result.output


def _all_finite(run: Path) -> list[str]:
    bad = []
    for npz in sorted((run / "checkpoints").glob("*/*.npz")):
        with np.load(npz) as z:
            bad += [
                f"{npz.parent.name}/{npz.name}:{k}"
                for k in z.files
                if z[k].dtype.kind == "f" and not np.isfinite(z[k]).all()
            ]
    return bad


def _train_at_learning_rate(faults: Path, run: Path, rate: str):
    """Train the faults config into ``run`` at ``rate``, with a checkpoint after every step."""
    settings = ("--set", f"train.learning_rate={rate}", "--set", "train.checkpoint_every_steps=1")
    return cli("train", "--config", faults / "faults.yaml", "--run-dir", run, *settings)


def test_a_nan_loss_exits_6_naming_epoch_and_batch_and_leaves_no_model_and_no_nan_checkpoint(faults, tmp_path):
    # 1.0e+38: Adam's first step moves every weight by ~1e38 (still finite), the next loss is NaN
    run = tmp_path / "run"
    result = _train_at_learning_rate(faults, run, "1.0e+38")
    out = assert_refused_with(
        result, 6, r"training diverged at epoch 1, batch \d+: the loss is (nan|inf)", r"Lower train\.learning_rate"
    )
    for name in ("weights.npz", "manifest.json", "metrics.json", "history.csv", "vocab.json"):
        assert not (run / name).exists(), name
    assert checkpoint_names(run), out  # a checkpoint was written before the loss became NaN
    assert _all_finite(run) == []
    # 1e6, written without a decimal point, is a string in YAML 1.1: refused with a hint rather than trained
    assert_refused_with(
        cli("train", "--config", faults / "faults.yaml", "--set", "train.learning_rate=1e6"),
        2,
        r"YAML 1\.1 reads as a string",
    )


def test_no_checkpoint_holds_nan_weights_when_the_update_itself_overflows(faults, tmp_path):
    run = tmp_path / "run"
    result = _train_at_learning_rate(faults, run, "1.0e+39")
    assert result.exit_code in (2, 6), result.output
    assert _all_finite(run) == [] if run.exists() else True


def _lower_limit_after_first_checkpoint(p: CliProcess, run: Path, limit: int, value) -> None:
    wait_for_checkpoint(p, run, ckpt(1))
    _, hard = resource.prlimit(p.pid, limit)
    resource.prlimit(p.pid, limit, (value(p.pid), hard))


def _vm_size(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


@pytest.mark.slow
def test_disk_full_during_a_checkpoint_exits_5_and_the_previous_checkpoint_resumes(faults, reference_run, tmp_path):
    run = tmp_path / "run"
    with start_training(faults / "faults.yaml", run) as p:
        # from now on no file may grow past 4 KB: the next checkpoint's first .npz fails with EFBIG
        _lower_limit_after_first_checkpoint(p, run, resource.RLIMIT_FSIZE, lambda pid: 4096)
        assert p.wait(120) == 5, p.output
    folder = re.escape(str(run / "checkpoints"))
    assert re.search(rf"error: no space left while writing {folder}/epoch-\d+-step-\d+ \(File too large\)", p.stderr), (
        p.stderr
    )
    assert re.search(rf"textclf train --resume {re.escape(str(run))}\. The previous checkpoint is intact", p.stderr)
    assert "Traceback" not in p.output
    assert checkpoint_names(run) == [ckpt(1)] and not list((run / "checkpoints").glob(".tmp-*"))
    out = resume(run)
    assert "damaged" not in out and re.search(rf"resuming from {ckpt(1)}", out)
    assert_finished_sanely(run)
    assert_same_model(run, reference_run)


@pytest.mark.slow
def test_out_of_memory_exits_5_with_a_hint_and_the_last_checkpoint_resumes(faults, reference_run, tmp_path):
    run = tmp_path / "run"
    with start_training(faults / "faults.yaml", run) as p:
        # no more address space than the process has now: its next large allocation fails (a real
        # MemoryError / ResourceExhaustedError, not a mock, and never the kernel's OOM killer)
        _lower_limit_after_first_checkpoint(p, run, resource.RLIMIT_AS, _vm_size)
        assert p.wait(120) == 5, p.output
    assert re.search(r"error: out of memory.*(train\.batch_size|model\.sequence_length)", p.stderr), p.stderr
    assert "Traceback" not in p.output
    assert not list((run / "checkpoints").glob(".tmp-*"))
    assert checkpoint_names(run)[0] == ckpt(1)
    out = resume(run)
    assert "damaged" not in out
    assert_finished_sanely(run)
    assert_same_model(run, reference_run)


def test_kill9_at_an_epoch_boundary_then_resume_gives_the_same_model(boundary_killed, reference_run, tmp_path):
    run = copy_run(boundary_killed, tmp_path)
    out = resume(run)
    assert re.search(rf"resuming from {ckpt(2)}: 2 epoch\(s\) complete\n", out), out
    assert_finished_sanely(run)
    assert_same_model(run, reference_run)


@pytest.mark.slow
def test_the_best_epoch_before_an_interruption_survives_the_resume(faults, tmp_path):
    # validation labels rotated against the training labels: the better the model learns the training
    # data, the worse its validation loss, so the best epoch comes first and later epochs only get worse
    rotate = {"sports": "tech", "tech": "food", "food": "sports"}
    write_csv(faults / "valid_rotated.csv", ["text", "label"], [(t, rotate[y]) for t, y in topic_rows(60, seed=12)])
    config = write(
        faults / "rotated.yaml",
        FAULTS_YAML.replace("train: train.csv", "train: train.csv\n  valid: valid_rotated.csv")
        .replace("epochs: 5", "epochs: 9")
        .replace("early_stopping_patience: 0", "early_stopping_patience: 3, early_stopping_monitor: loss"),
    )
    run = tmp_path / "run"
    with start_training(config, run) as p:
        wait_for_checkpoint(p, run, ckpt(2))
        kill9(p)
    state = checkpoint_state(run, ckpt(2))
    best_before = state["best_epoch"]
    assert best_before in (1, 2) and state["wait"] == 2 - best_before
    with np.load(run / "checkpoints" / ckpt(2) / "best.npz") as z:
        best_weights = [z[k] for k in sorted(z.files)]
    out = resume(run)
    assert re.search(rf"early stopping: no better val_loss for 3 epochs; restoring epoch {best_before}", out), out
    _, rows = read_csv_rows(run / "history.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, best_before + 4))
    val = [float(r["val_loss"]) for r in rows]
    assert int(np.argmin(val)) + 1 == best_before
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["best_epoch"] == best_before and metrics["epochs_run"] == best_before + 3
    assert metrics["valid"]["accuracy"] == pytest.approx(float(rows[best_before - 1]["val_accuracy"]), abs=1e-6)
    with np.load(run / "weights.npz") as z:
        final = [z[k] for k in z.files]
    assert len(final) == len(best_weights)
    for got, want in zip(final, best_weights):
        assert np.array_equal(got, want), "the final weights are not the best epoch's weights"
