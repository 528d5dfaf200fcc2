"""`textclf init` (a commented config for a data file) and `textclf check-data` (a data lint), on real files."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from support import SMALL, assert_clean_error, cli, write_csv, write_jsonl

from textclf.config import load_config
from textclf.io.labeled import read_labeled, stratified_split
from textclf.model.tokens import tokenize
from textclf.run import directory as artifacts
from textclf.run import layout
from textclf.tools.check_data import cheap_checks, check_data
from textclf.tools.init_config import init_config, suggest_sequence_length

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda omicron sigma tau".split()


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def run_python_code(code: str) -> str:
    """Run ``code`` in a fresh interpreter; its stdout (it must exit 0)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def finding(report: dict, check: str) -> dict:
    found = [f for f in report["findings"] if f["check"] == check]
    assert found, f"no {check!r} finding in {[f['check'] for f in report['findings']]}"
    return found[0]


def checks(report: dict) -> set[str]:
    return {f["check"] for f in report["findings"]}


# --------------------------------------------------------------------------------------------------
# Tokens as the model sees them


@pytest.mark.fast
def test_tokenize_mirrors_the_model_standardization():
    # punctuation and symbols split off, control characters and U+2028 are spaces, NBSP does not split
    assert tokenize("Hello, World!! naïve—café 😀 a\u00a0b \x1cx\u2028y") == [
        "hello",
        ",",
        "world",
        "!",
        "!",
        "naïve",
        "—",
        "café",
        "😀",
        "a\u00a0b",
        "x",
        "y",
    ]
    assert tokenize("Don't STOP.", "lower_and_strip_punctuation") == ["don", "t", "stop"]
    assert tokenize("Don't STOP.", "lower") == ["don't", "stop."]
    assert tokenize("Don't STOP.", "none") == ["Don't", "STOP."]
    assert tokenize("") == [] and tokenize("\u2028 \t") == []


@pytest.mark.fast
def test_suggested_sequence_length_is_the_95th_percentile_rounded_and_clamped():
    assert suggest_sequence_length([57] * 95 + [400] * 5) == 64
    assert suggest_sequence_length([3] * 100) == 16
    assert suggest_sequence_length([2000] * 100) == 512
    assert suggest_sequence_length(list(range(1, 101))) == 96  # the 95th of 1..100 is 95


def test_python_vocabulary_equals_the_trained_vocabulary(multiclass_run):
    """The lint's tokens and validation split are training's: the same vocabulary comes out of both."""
    cfg = load_config(multiclass_run.config)
    train = read_labeled(cfg.data.train, "text", "label")
    fit, _ = stratified_split(train, cfg.data.valid_fraction, cfg.train.seed, "multiclass", "|", "label")
    counts = Counter(t for text in fit.texts for t in tokenize(text, cfg.model.standardize))
    saved = json.loads((multiclass_run.run / layout.VOCAB).read_text(encoding="utf-8"))["tokens"]
    assert saved[:2] == ["", "[UNK]"]
    assert set(saved[2:]) == set(counts)  # max_tokens 30000 keeps every token
    assert [counts[t] for t in saved[2:]] == sorted(counts.values(), reverse=True)


# --------------------------------------------------------------------------------------------------
# textclf init


def review_rows(n_short: int = 95, n_long: int = 5, seed: int = 1) -> list[tuple[str, str, str, str]]:
    """Rows of (id, review, sentiment, source): reviews of 20..57 words, plus a few of 200 words."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_short + n_long):
        n = 20 + (i % 38) if i < n_short else 200
        rows.append((str(1000 + i), words(rng, n), "pos" if i % 3 else "neg", ["web", "app"][i % 2]))
    return rows


@pytest.mark.fast
def test_init_csv_picks_columns_task_and_length_and_the_config_loads(tmp_path):
    data = tmp_path / "data"
    write_csv(data / "reviews_train.csv", ["id", "review", "sentiment", "source"], review_rows())
    write_csv(data / "reviews_test.csv", ["id", "review", "sentiment", "source"], review_rows(10, 0, seed=2))
    out = tmp_path / "conf" / "reviews.yaml"
    result = cli("init", "--data", data / "reviews_train.csv", "--output", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert "text column:  'review'" in result.stdout and "label column: 'sentiment'" in result.stdout

    cfg = load_config(out)
    assert cfg.task == "binary"
    assert Path(cfg.data.train) == (data / "reviews_train.csv").resolve()
    assert Path(cfg.data.test) == (data / "reviews_test.csv").resolve()  # found next to the training file
    assert cfg.data.valid is None
    assert (cfg.data.text_column, cfg.data.label_column) == ("review", "sentiment")
    assert cfg.model.sequence_length == 64
    assert cfg.train.class_weight == "none"  # 2:1

    text = out.read_text(encoding="utf-8")
    assert "train: ../data/reviews_train.csv" in text  # relative to the config's folder
    assert "all 100 rows" in text
    assert "# 95% of texts have <= 57 tokens" in text and "the longest has 200" in text
    assert "5 of 100 texts (5.0%) are cut" in text
    # every key carries a comment that explains it
    keys = [
        line
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#") and not line.endswith(":")
    ]
    assert keys and all("  # " in line for line in keys), keys


def test_init_jsonl_with_label_lists_is_multilabel_and_trains(tmp_path):
    rng = random.Random(3)
    topics = {"red": ["cherry", "ruby", "brick"], "green": ["grass", "leaf", "lime"], "blue": ["sky", "sea", "whale"]}
    records = []
    for i in range(90):
        tags = sorted(rng.sample(sorted(topics), 1 + i % 2))
        text = " ".join(rng.choice(topics[t]) for t in tags for _ in range(3)) + " " + words(rng, 4)
        records.append({"uid": i, "body": text, "tags": tags, "lang": "en"})
    write_jsonl(tmp_path / "colors.jsonl", records)
    result = cli("init", "--data", tmp_path / "colors.jsonl", "--output", tmp_path / "colors.yaml")
    assert result.exit_code == 0, result.output
    cfg = load_config(tmp_path / "colors.yaml")
    assert cfg.task == "multilabel"
    assert (cfg.data.text_column, cfg.data.label_column, cfg.data.label_separator) == ("body", "tags", "|")
    text = (tmp_path / "colors.yaml").read_text(encoding="utf-8")
    assert "one sigmoid output per label" in text and 'label_separator: "|"' in text
    assert "seeded 10% of train" in text  # a multi-label split is not stratified

    # the written config trains as it is (small model settings for speed)
    run = tmp_path / "run"
    trained = cli(
        "train",
        "--config",
        tmp_path / "colors.yaml",
        "--run-dir",
        run,
        *SMALL,
        "--set",
        "train.epochs=1",
        "--set",
        "train.tensorboard=false",
    )
    assert trained.exit_code == 0, trained.output
    assert artifacts.load_run(run).task == "multilabel"


@pytest.mark.fast
def test_init_csv_with_joined_labels_is_multilabel(tmp_path):
    rows = [(words(random.Random(i), 6), ["a|b", "a", "b|c", "c"][i % 4]) for i in range(40)]
    write_csv(tmp_path / "ml.csv", ["sentence", "categories"], rows)
    result = cli("init", "--data", tmp_path / "ml.csv", "--output", tmp_path / "ml.yaml")
    assert result.exit_code == 0, result.output
    cfg = load_config(tmp_path / "ml.yaml")
    assert (cfg.task, cfg.data.text_column, cfg.data.label_column) == ("multilabel", "sentence", "categories")
    assert "3 distinct labels in 40 rows, 50% of the cells join several labels with '|'" in result.stdout


@pytest.mark.fast
def test_init_imbalanced_classes_get_class_weights_and_parquet_names_are_quoted(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(5)
    texts = [words(rng, 5 + i % 7) for i in range(60)]
    labels = ["no"] * 50 + ["yes"] * 10  # YAML 1.1 booleans as labels, and a column name that needs quotes
    pq.write_table(pa.table({"Texte: du client": texts, "réponse": labels}), tmp_path / "d.parquet")
    result = cli("init", "--data", tmp_path / "d.parquet", "--output", tmp_path / "d.yaml")
    assert result.exit_code == 0, result.output
    cfg = load_config(tmp_path / "d.yaml")
    assert (cfg.data.text_column, cfg.data.label_column) == ("Texte: du client", "réponse")
    assert cfg.train.class_weight == "auto" and cfg.task == "binary"
    assert "imbalanced: 'no' has 50 rows, 'yes' 10 (5.0x)" in (tmp_path / "d.yaml").read_text(encoding="utf-8")


@pytest.mark.fast
def test_init_reads_a_bounded_sample_and_says_so(tmp_path):
    write_csv(tmp_path / "big.csv", ["text", "label"], [(words(random.Random(i), 8), "ab"[i % 2]) for i in range(50)])
    result = cli("init", "--data", tmp_path / "big.csv", "--output", tmp_path / "c.yaml", "--sample-rows", "20")
    assert result.exit_code == 0, result.output
    assert "read the first 20 rows (the file has more" in result.stdout
    assert "from the first 20 rows" in (tmp_path / "c.yaml").read_text(encoding="utf-8")
    # exactly as many rows as the sample: nothing more to say
    result = cli(
        "init", "--data", tmp_path / "big.csv", "--output", tmp_path / "c.yaml", "--force", "--sample-rows", "50"
    )
    assert "read all 50 rows" in result.stdout, result.output


@pytest.mark.fast
def test_init_with_empty_labels_skips_them_and_check_data_agrees(tmp_path):
    rows = [(words(random.Random(i), 7), "" if i in (3, 17) else "ab"[i % 2]) for i in range(40)]
    write_csv(tmp_path / "e.csv", ["text", "label"], rows)
    result = init_config(tmp_path / "e.csv", tmp_path / "e.yaml")
    assert result.inspection.empty_labels == 2 and result.config.data.on_bad_rows == "skip"
    assert result.config.data.max_bad_fraction == 0.06  # 5% of the rows are left out, with some room
    assert "2 rows have an empty label; the config sets data.on_bad_rows: skip" in result.summary()
    assert load_config(tmp_path / "e.yaml") == result.config
    report = check_data(result.config)
    empty = [f for f in report.findings if f.check == "empty_labels_train"]
    assert empty and empty[0].severity == "warning" and [e.line for e in empty[0].examples] == [5, 19]
    assert not report.problems


@pytest.mark.fast
def test_init_refuses_to_overwrite_without_force(tmp_path):
    write_csv(tmp_path / "d.csv", ["text", "label"], [(words(random.Random(i), 5), "xy"[i % 2]) for i in range(20)])
    out = tmp_path / "config.yaml"
    out.write_text("# mine\n", encoding="utf-8")
    result = cli("init", "--data", tmp_path / "d.csv", "--output", out)
    assert_clean_error(result, 2, f"{out} already exists", "--force")
    assert out.read_text(encoding="utf-8") == "# mine\n"
    result = cli("init", "--data", tmp_path / "d.csv", "--output", out, "--force")
    assert result.exit_code == 0, result.output
    assert load_config(out).data.label_column == "label"
    # the data file itself is never the output
    result = cli("init", "--data", tmp_path / "d.csv", "--output", tmp_path / "d.csv", "--force")
    assert_clean_error(result, 2, "expected a YAML file")


@pytest.mark.fast
def test_init_without_a_plausible_label_column_names_the_columns(tmp_path):
    rng = random.Random(7)
    write_csv(tmp_path / "u.csv", ["id", "text", "note"], [(str(i), words(rng, 9), f"note {i}") for i in range(30)])
    out = tmp_path / "c.yaml"
    result = cli("init", "--data", tmp_path / "u.csv", "--output", out)
    assert_clean_error(
        result,
        3,
        "no plausible label column",
        "'id' (numbers, 30 distinct values in 30 rows",
        "'note'",
        "--label-column",
        "--text-column",
    )
    assert not out.exists()
    result = cli("init", "--data", tmp_path / "u.csv", "--output", out, "--label-column", "labl")
    assert_clean_error(result, 2, "--label-column 'labl': no such column", "columns found: 'id', 'text', 'note'")
    result = cli("init", "--data", tmp_path / "u.csv", "--output", out, "--label-column", "id")
    assert result.exit_code == 0, result.output  # the user's word wins; the config says why
    assert "label_column: id  # given with --label-column" in out.read_text(encoding="utf-8")


@pytest.mark.fast
def test_init_explicit_columns_and_missing_file(tmp_path):
    rng = random.Random(8)
    write_csv(
        tmp_path / "q.csv",
        ["question", "coarse", "fine"],
        [(words(rng, 6) + "?", "AB"[i % 2], f"f{i % 7}") for i in range(40)],
    )
    out = tmp_path / "q.yaml"
    result = cli("init", "--data", tmp_path / "q.csv", "--output", out, "--label-column", "fine")
    assert result.exit_code == 0, result.output
    cfg = load_config(out)
    assert (cfg.task, cfg.data.text_column, cfg.data.label_column) == ("multiclass", "question", "fine")
    result = cli("init", "--data", tmp_path / "nope.csv", "--output", tmp_path / "n.yaml")
    assert_clean_error(result, 2, "data file not found", "nope.csv")


# --------------------------------------------------------------------------------------------------
# textclf check-data


@pytest.fixture
def lint_files(tmp_path) -> dict:
    """Files with known flaws, and the line of every planted row (one row per line after the header)."""
    rng = random.Random(11)
    train = [(words(rng, 8 + i % 5), "abc"[i % 3]) for i in range(60)]
    lines = {}
    train[4] = ("", "a")  # empty text, line 6
    train[9] = ("   ", "b")  # whitespace only, line 11
    for i in (20, 30, 40):
        train[i] = ("the very same text", "a")  # a duplicate group: lines 22, 32, 42
    train[50] = ("conflict here", "a")
    train[51] = ("conflict here", "b")  # lines 52, 53
    for i in (55, 56, 57):
        train[i] = (words(rng, 300), "c")  # cut by sequence_length 64: lines 57, 58, 59
    valid = [(words(rng, 8), "abc"[i % 3]) for i in range(15)]
    valid[2] = (train[12][0], train[12][1])  # overlap: valid line 4 = train line 14
    valid[5] = (train[13][0], "zeta")  # an unseen label, valid line 7, and overlap with train line 15
    test = [(words(rng, 8), "abc"[i % 3]) for i in range(12)]
    test[0] = (train[15][0], train[15][1])  # test line 2 = train line 17
    test[3] = (" " + train[16][0].upper().replace(" ", "  "), train[16][1])  # test line 5 ~ train line 18
    lines.update(empty=[6, 11], dupes=[32, 42], conflict=[52, 53], long=[57, 58, 59])
    write_csv(tmp_path / "train.csv", ["text", "label"], train)
    write_csv(tmp_path / "valid.csv", ["text", "label"], valid)
    write_csv(tmp_path / "test.csv", ["text", "label"], test)
    conf = tmp_path / "lint.yaml"
    conf.write_text(
        "data:\n  train: train.csv\n  valid: valid.csv\n  test: test.csv\n"
        "model:\n  sequence_length: 64\n  max_tokens: 10\n",
        encoding="utf-8",
    )
    return {"config": conf, "lines": lines, "train": train, "valid": valid, "test": test}


@pytest.mark.fast
def test_check_data_finds_the_planted_flaws(lint_files):
    result = cli("check-data", "--config", lint_files["config"], "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    lines = lint_files["lines"]
    assert report["task"] == "multiclass" and report["classes"] == ["a", "b", "c"]
    assert [(s["name"], s["rows"]) for s in report["splits"]] == [("train", 60), ("valid", 15), ("test", 12)]

    empty = finding(report, "empty_texts")
    assert empty["severity"] == "warning" and empty["count"] == 2
    assert [e["line"] for e in empty["examples"]] == lines["empty"]
    dupes = finding(report, "duplicate_texts")
    assert dupes["count"] == 3  # two repeats of one text, and the conflicting pair
    assert [e["line"] for e in dupes["examples"][:2]] == lines["dupes"]
    assert dupes["examples"][0]["note"] == "repeats line 22"
    conflict = finding(report, "conflicting_duplicates")
    assert conflict["severity"] == "problem" and conflict["count"] == 1
    assert conflict["examples"][0]["line"] == 52 and "'b' elsewhere" in conflict["examples"][0]["note"]

    leak_valid = finding(report, "overlap_valid")
    assert leak_valid["severity"] == "problem" and leak_valid["count"] == 2
    assert [(e["line"], e["note"]) for e in leak_valid["examples"]] == [
        (4, "= train.csv line 14"),
        (7, "= train.csv line 15"),
    ]
    assert "1 of them with a different label" in leak_valid["message"]
    leak_test = finding(report, "overlap_test")
    assert leak_test["count"] == 1 and leak_test["examples"][0]["line"] == 2
    near = finding(report, "near_overlap_test")
    assert near["severity"] == "warning" and near["count"] == 1
    assert near["examples"][0]["line"] == 5 and near["examples"][0]["note"] == "~ train.csv line 18"
    assert "differ only in case and spacing" in near["message"]

    unseen = finding(report, "unseen_labels_valid")
    assert unseen["severity"] == "problem" and "'zeta' ×1" in unseen["message"]
    assert unseen["examples"][0]["line"] == 7

    trunc = finding(report, "truncation")
    assert trunc["count"] == 3 and "cuts 3 of 60 train texts (5.0%)" in trunc["message"]
    assert sorted(e["line"] for e in trunc["examples"]) == lines["long"]

    balance = finding(report, "label_balance")
    counts = Counter(label for _, label in lint_files["train"])
    assert counts == {"a": 21, "c": 20, "b": 19}
    assert "'a' 21, 'c' 20, 'b' 19; largest/smallest = 1.1x" in balance["message"]
    assert balance["severity"] == "info"

    # out-of-vocabulary at max_tokens 10: the 8 most frequent training tokens, computed here independently
    counts = Counter(t for text, _ in lint_files["train"] for t in text.lower().split())
    vocab = {t for t, _ in counts.most_common(8)}
    valid_tokens = [t for text, _ in lint_files["valid"] for t in text.lower().split()]
    oov = sum(1 for t in valid_tokens if t not in vocab)
    found = finding(report, "oov")
    assert found["count"] == oov
    assert f"{oov / len(valid_tokens):.1%} of the {len(valid_tokens):,} validation tokens" in found["message"]
    assert report["summary"]["problem"] == 4  # conflict, two overlaps, unseen label


@pytest.mark.fast
def test_check_data_text_report_and_strict_exit_code(lint_files):
    result = cli("check-data", "--config", lint_files["config"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("PROBLEM") < out.index("WARNING") < out.index("INFO")
    assert 'valid.csv line 4: "' in out and "= train.csv line 14" in out
    assert "4 problems," in out
    strict = cli("check-data", "--config", lint_files["config"], "--strict")
    assert_clean_error(strict, 3, "check-data found 4 problems", "overlap_valid", "--strict")
    assert "PROBLEM" in strict.stdout  # the report comes first


@pytest.mark.fast
def test_check_data_clean_data_passes_strict(tmp_path):
    conf = tmp_path / "ok.yaml"
    rows = [(f"{WORDS[i % 14]} {WORDS[i // 14]} {WORDS[(i * 3) % 14]}", "xyz"[i % 3]) for i in range(90)]
    write_csv(tmp_path / "ok.csv", ["text", "label"], rows)
    conf.write_text("data:\n  train: ok.csv\n", encoding="utf-8")
    result = cli("check-data", "--config", conf, "--strict")
    assert result.exit_code == 0, result.output
    assert "0 problems, 0 warnings" in result.stdout


@pytest.mark.fast
def test_check_data_uses_the_training_split_when_valid_is_not_set(tmp_path):
    rng = random.Random(12)
    rows = [(words(rng, 6), "ab"[i % 2]) for i in range(80)]
    rows += [rows[i] for i in range(10)]  # 10 duplicated rows: some copies end up on both sides of the split
    write_csv(tmp_path / "t.csv", ["text", "label"], rows)
    conf = tmp_path / "c.yaml"
    conf.write_text("data:\n  train: t.csv\n  valid_fraction: 0.25\ntrain:\n  seed: 5\n", encoding="utf-8")
    cfg = load_config(conf)
    report = check_data(cfg)
    tr, va = stratified_split(read_labeled(tmp_path / "t.csv", "text", "label"), 0.25, 5, "binary", "|", "label")
    expected = sum(1 for t in va.texts if t in set(tr.texts))
    assert expected > 0
    assert report.splits[1].rows == len(va) and "training keeps" in report.splits[1].note
    leak = [f for f in report.findings if f.check == "overlap_valid"]
    assert leak and leak[0].count == expected and "duplicated training text" in leak[0].message
    oov = next(f for f in report.findings if f.check == "oov")
    assert "validation-split tokens" in oov.message


@pytest.mark.fast
def test_check_data_reports_unreadable_rows_and_empty_labels(tmp_path):
    (tmp_path / "t.csv").write_text(
        "text,label\nfine text,a\ntoo,many,fields\nno label here,\nmore,b\nother words,a\nsome more,b\n",
        encoding="utf-8",
    )
    conf = tmp_path / "c.yaml"
    conf.write_text("data:\n  train: t.csv\n  valid_fraction: 0.4\n", encoding="utf-8")
    result = cli("check-data", "--config", conf, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    bad = finding(report, "bad_rows_train")
    assert bad["severity"] == "problem" and bad["examples"][0]["line"] == 3
    assert "expected 2 fields" in bad["message"] and "data.on_bad_rows: skip" in bad["message"]
    empty = finding(report, "empty_labels_train")
    assert empty["severity"] == "problem" and empty["examples"][0]["line"] == 4
    # with on_bad_rows: skip, training leaves them out: warnings (the share is over max_bad_fraction though)
    result = cli(
        "check-data", "--config", conf, "--json", "--set", "data.on_bad_rows=skip", "--set", "data.max_bad_fraction=0.5"
    )
    report = json.loads(result.stdout)
    assert finding(report, "bad_rows_train")["severity"] == "warning"
    assert finding(report, "empty_labels_train")["severity"] == "warning"


@pytest.mark.fast
def test_check_data_multilabel_counts_per_label(multilabel_files):
    report = check_data(load_config(multilabel_files["config"]))
    assert report.task == "multilabel" and report.classes == ["blue", "green", "red"]
    balance = next(f for f in report.findings if f.check == "label_balance")
    assert "rows per label" in balance.message and balance.count == 3


@pytest.mark.fast
def test_check_data_errors(tmp_path):
    result = cli("check-data", "--config", tmp_path / "missing.yaml")
    assert_clean_error(result, 2, "config file not found")
    conf = tmp_path / "c.yaml"
    conf.write_text("data:\n  train: nope.csv\n", encoding="utf-8")
    assert_clean_error(cli("check-data", "--config", conf), 2, "data.train file not found", "nope.csv")
    write_csv(tmp_path / "t.csv", ["txt", "label"], [("a", "x"), ("b", "y")])
    conf.write_text("data:\n  train: t.csv\n", encoding="utf-8")
    assert_clean_error(cli("check-data", "--config", conf), 3, "column 'text' not found", "'txt'")
    conf.write_text("model:\n  max_tokens: 10\n", encoding="utf-8")
    assert_clean_error(cli("check-data", "--config", conf), 2, "data.train is not set")


# --------------------------------------------------------------------------------------------------
# The cheap subset for training, help texts, and no TensorFlow


@pytest.mark.fast
def test_cheap_checks_returns_warnings_for_training():
    train = ["a b", "a b", "", "x y z w v u", "k l"]
    labels = ["p", "q", "p", "p", "q"]
    out = cheap_checks(
        train, labels, ["a b", "m"], ["p", "r"], ["x y z w v u"], ["p"], sequence_length=3, train_lines=[2, 3, 4, 5, 6]
    )
    text = "\n".join(out)
    assert any(s.startswith("train: 1 text appears with different labels") and 'train line 2 "a b"' in s for s in out)
    assert "leakage: 1 of 2 valid texts (50.0%) also appears in train" in text and "= train line 2" in text
    assert "leakage: 1 of 1 test texts (100.0%)" in text
    assert "valid: labels that train never has: 'r' ×1" in text and 'valid row 2 "m"' in text
    assert "train: 1 of 5 texts is empty" in text
    assert "model.sequence_length 3 cuts 1 of 5 train texts" in text and "whitespace tokens" in text
    assert not any(s.startswith("info") for s in out)
    clean = [f"text {i}" for i in range(10)]
    assert cheap_checks(clean, ["x", "y"] * 5, ["e", "f"], ["x", "y"], sequence_length=8) == []
    rare = cheap_checks(clean, ["x"] * 9 + ["y"], ["e", "f"], ["x", "x"])
    assert rare[0].startswith("label balance in train (rows per class): 'x' 9, 'y' 1; largest/smallest = 9.0x")
    assert "fewer than 5 training rows ('y')" in rare[0]


@pytest.mark.fast
@pytest.mark.parametrize("command", ["init", "check-data"])
def test_help_has_an_example_block(command):
    result = cli(command, "--help")
    assert result.exit_code == 0, result.output
    after = result.stdout.split("Example:", 1)[1].splitlines()
    examples = [line.strip() for line in after[1:] if line.strip()]
    assert examples[0].startswith(f"textclf {command}"), result.stdout


@pytest.mark.fast
def test_init_and_check_data_do_not_import_tensorflow(tmp_path):
    write_csv(tmp_path / "d.csv", ["text", "label"], [(f"text number {i}", "ab"[i % 2]) for i in range(30)])
    out = run_python_code(f"""
        import sys
        from click.testing import CliRunner
        from textclf.cli import main
        r1 = CliRunner().invoke(main, ['init', '--data', {str(tmp_path / "d.csv")!r}, '--output', {str(tmp_path / "c.yaml")!r}])
        r2 = CliRunner().invoke(main, ['check-data', '--config', {str(tmp_path / "c.yaml")!r}])
        import textclf.tools.init_config, textclf.tools.check_data
        print('CODES', r1.exit_code, r2.exit_code, 'TF', 'tensorflow' in sys.modules, 'KERAS', 'keras' in sys.modules)
    """)
    assert "CODES 0 0 TF False KERAS False" in out
